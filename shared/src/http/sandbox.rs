//! The local stack's «Оплатить (sandbox)» button: signs a sandbox callback for the invoice,
//! exactly as a payment system would send it, and runs it through `/callbacks/sandbox`'s code
//! path. Hosted by the local runner only: a deployed API has no such route.

use super::callbacks::CallbackApi;
use super::error::ApiError;
use super::{InvoiceApi, linked_invoice};
use crate::payments::RawCallback;
use crate::payments::sandbox::sign;
use crate::ports::{DocumentStore, InvoiceReader, PaymentLookup, PaymentStore};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Arc;

pub struct SandboxPay<S, D, P, L> {
    pub invoices: Arc<InvoiceApi<S, D>>,
    pub callbacks: Arc<CallbackApi<P, L>>,
    pub secret: Vec<u8>,
}

async fn pay<S, D, P, L>(
    State(sandbox): State<Arc<SandboxPay<S, D, P, L>>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response
where
    S: InvoiceReader + 'static,
    D: DocumentStore + 'static,
    P: PaymentStore + 'static,
    L: PaymentLookup + 'static,
{
    let invoice = match linked_invoice(&sandbox.invoices, &id, &query).await {
        Ok(invoice) => invoice,
        Err(e) => return e.html(),
    };
    let Some(provider) = sandbox.callbacks.providers.get("sandbox") else {
        return ApiError::not_found().html();
    };
    let body = serde_json::json!({
        "invoice_id": invoice.id,
        "payment_id": format!("sandbox-{}", uuid::Uuid::now_v7().simple()),
        "amount": invoice.total.0,
        "currency": invoice.currency,
    })
    .to_string();
    let now = sandbox.callbacks.callbacks.clock.now().timestamp();
    let mut callback_headers = HeaderMap::new();
    callback_headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(signature) = HeaderValue::from_str(&sign(&sandbox.secret, now, body.as_bytes())) {
        callback_headers.insert("sandbox-signature", signature);
    }
    let raw = RawCallback::post(&callback_headers, body.as_bytes(), now);
    let answer = sandbox.callbacks.callbacks.handle(provider.as_ref(), &raw).await;
    tracing::info!(invoice = %invoice.id, status = %answer.status, "sandbox payment sent");
    let base = sandbox.invoices.links.base(&headers);
    let mut page = sandbox.invoices.links.invoice_url(&base, &invoice.id);
    if query.get("lang").is_some_and(|l| l == "en") {
        page.push_str("&lang=en");
    }
    Redirect::to(&page).into_response()
}

/// `POST /invoices/{id}/sandbox-pay?token=…` (local stack only).
pub fn sandbox_pay_router<S, D, P, L>(sandbox: Arc<SandboxPay<S, D, P, L>>) -> Router
where
    S: InvoiceReader + 'static,
    D: DocumentStore + 'static,
    P: PaymentStore + 'static,
    L: PaymentLookup + 'static,
{
    Router::new()
        .route("/invoices/{id}/sandbox-pay", post(pay::<S, D, P, L>))
        .with_state(sandbox)
}
