//! The HTTP surface as axum routers. Each Lambda function hosts only its own router; the local
//! runner merges them all; tests call them with `oneshot`.

pub mod admin;
pub mod body;
pub mod callbacks;
pub mod error;
pub mod links;
pub mod pages;
pub mod sandbox;
pub mod statements;
pub mod view;

use crate::config::BillingConfig;
use crate::domain::{Catalogue, Order};
use crate::ports::{Clock, DocumentStore, InvoiceIssuer, InvoiceReader};
use crate::service::Invoices;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use error::ApiError;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderName, LOCATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use links::Links;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use view::InvoiceView;

/// Everything the invoice routes need.
pub struct InvoiceApi<S, D> {
    pub service: Invoices<S, D>,
    pub links: Links,
    pub pdf_link_ttl: Duration,
    /// Show the local stack's «Оплатить (sandbox)» button (never in a deployment).
    pub sandbox_pay: bool,
}

/// Everything the catalogue route needs: no AWS at all.
pub struct CatalogueApi {
    pub billing: Arc<BillingConfig>,
    pub clock: Arc<dyn Clock>,
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(media))
}

pub(crate) fn idempotency_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s) if !s.trim().is_empty() && s.len() <= 128 && s.bytes().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(s.to_owned()))
        }
        _ => Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key: от 1 до 128 печатных ASCII-символов.",
        )),
    }
}

pub(crate) fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn create_invoice<S: InvoiceIssuer + 'static, D: DocumentStore + 'static>(
    State(api): State<Arc<InvoiceApi<S, D>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A browser posting a plain HTML form wants a page, everyone else JSON.
    let html = accepts(&headers, "text/html");
    let mut posted = None;
    let issued = async {
        let key = idempotency_header(&headers)?;
        let input = body::read_order(&headers, body).await?;
        let validated = Order::validate(&input, &api.service.billing.plans);
        posted = Some(input);
        let order = validated.map_err(ApiError::validation)?;
        let key = key.or_else(|| order.idempotency_key.clone());
        Ok::<_, ApiError>(api.service.create(&order, key.as_deref()).await?)
    }
    .await;
    let issued = match issued {
        Ok(i) => i,
        // A form with mistakes comes back to the browser with the errors next to the fields and
        // what was typed kept (nothing was written, so the same token is still good, unless it
        // was itself the mistake); a form sent again after its invoice was issued comes back
        // with a fresh token and a word on why.
        Err(e) if html && posted.is_some() && (!e.fields.is_empty() || e.code == "idempotency_key_reused") => {
            let values = posted.unwrap_or_default();
            let reused = e.code == "idempotency_key_reused";
            let token = match values.get("idempotency_key") {
                Some(t) if !reused && !e.fields.contains_key("idempotency_key") => t.clone(),
                _ => pages::form_token(),
            };
            let action = format!("{}/invoices", api.links.base(&headers));
            let notice = reused.then_some(
                "По этой форме счёт уже выставлен, а данные изменились. Проверьте их и отправьте форму ещё раз — будет выставлен новый счёт.",
            );
            let form = pages::FormState {
                action: &action,
                token: &token,
                notice,
            };
            let plans = offered_plans(&api.service.billing, api.service.clock.now());
            let page = pages::order_form(&plans, &values, &e.fields, &form);
            return no_store((e.status, Html(page)).into_response());
        }
        Err(e) => return no_store(e.respond(html)),
    };
    let base = api.links.base(&headers);
    let invoice_url = api.links.invoice_url(&base, &issued.invoice.id);
    if html {
        return no_store(Redirect::to(&invoice_url).into_response());
    }
    let pdf_url = match api.service.pdf_link(&issued.invoice, api.pdf_link_ttl).await {
        Ok(u) => u,
        Err(e) => return ApiError::unavailable("presigning failed", &e).json(),
    };
    let view = InvoiceView::new(&issued.invoice, pdf_url, invoice_url.clone());
    let mut res = (StatusCode::CREATED, axum::Json(view)).into_response();
    let h = res.headers_mut();
    h.insert(
        LOCATION,
        HeaderValue::from_str(&invoice_url).unwrap_or(HeaderValue::from_static("/")),
    );
    if issued.replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    no_store(res)
}

/// Loads the invoice a link points to; a wrong token looks exactly like a missing invoice.
pub(crate) async fn linked_invoice<S: InvoiceReader, D: DocumentStore>(
    api: &InvoiceApi<S, D>,
    id: &str,
    query: &HashMap<String, String>,
) -> Result<crate::domain::Invoice, ApiError> {
    let token = query.get("token").map(String::as_str).unwrap_or("");
    if !api.links.verify(id, token) {
        return Err(ApiError::not_found());
    }
    let invoice = api
        .service
        .get(id)
        .await
        .map_err(|e| ApiError::unavailable("reading invoice failed", &e))?
        .ok_or_else(ApiError::not_found)?;
    api.service.ensure_pdf(&invoice).await?;
    Ok(invoice)
}

async fn get_invoice<S: InvoiceReader + 'static, D: DocumentStore + 'static>(
    State(api): State<Arc<InvoiceApi<S, D>>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let json = accepts(&headers, "application/json");
    let invoice = match linked_invoice(&api, &id, &query).await {
        Ok(i) => i,
        Err(e) => return no_store(e.respond(!json)),
    };
    let base = api.links.base(&headers);
    let invoice_url = api.links.invoice_url(&base, &id);
    let act_url = match api.service.store.act_key(&id).await {
        Ok(key) => key.map(|_| api.links.act_url(&base, &id)),
        Err(e) => return ApiError::unavailable("reading invoice failed", &e).respond(!json),
    };
    if json {
        let pdf_url = match api.service.pdf_link(&invoice, api.pdf_link_ttl).await {
            Ok(u) => u,
            Err(e) => return ApiError::unavailable("presigning failed", &e).json(),
        };
        let mut view = InvoiceView::new(&invoice, pdf_url, invoice_url);
        view.act_url = act_url;
        return no_store(axum::Json(view).into_response());
    }
    let mut view = InvoiceView::new(&invoice, api.links.pdf_url(&base, &id), invoice_url);
    view.act_url = act_url;
    let lang = pages::Lang::from_query(&query);
    let sandbox = api.sandbox_pay.then(|| {
        let english = if lang == pages::Lang::En { "&lang=en" } else { "" };
        format!("/invoices/{id}/sandbox-pay?token={}{english}", api.links.token(&id))
    });
    let page = pages::invoice_page(&invoice, &view, sandbox.as_deref(), lang, &view.invoice_url);
    no_store(Html(page).into_response())
}

/// Which document a permanent link serves.
#[derive(Clone, Copy)]
enum Document {
    Invoice,
    Act,
}

/// A permanent document link: redirects to a fresh presigned URL every time; 404 for a wrong
/// token or a document that does not exist yet (the act before fulfilment).
async fn download<S: InvoiceReader, D: DocumentStore>(
    api: &InvoiceApi<S, D>,
    id: &str,
    query: &HashMap<String, String>,
    document: Document,
) -> Result<String, ApiError> {
    let invoice = linked_invoice(api, id, query).await?;
    let key = match document {
        Document::Invoice => invoice.pdf_key(),
        Document::Act => api
            .service
            .store
            .act_key(&invoice.id)
            .await
            .map_err(|e| ApiError::unavailable("reading invoice failed", &e))?
            .ok_or_else(ApiError::not_found)?,
    };
    api.service
        .documents
        .presign_get(&key, api.pdf_link_ttl)
        .await
        .map_err(|e| ApiError::unavailable("presigning failed", &e))
}

fn redirect(result: Result<String, ApiError>, headers: &HeaderMap) -> Response {
    match result {
        Ok(url) => no_store(Redirect::to(&url).into_response()),
        Err(e) => no_store(e.respond(!accepts(headers, "application/json"))),
    }
}

async fn download_pdf<S: InvoiceReader + 'static, D: DocumentStore + 'static>(
    State(api): State<Arc<InvoiceApi<S, D>>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    redirect(download(&api, &id, &query, Document::Invoice).await, &headers)
}

async fn download_act<S: InvoiceReader + 'static, D: DocumentStore + 'static>(
    State(api): State<Arc<InvoiceApi<S, D>>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    redirect(download(&api, &id, &query, Document::Act).await, &headers)
}

#[derive(Serialize)]
struct PlanView<'a> {
    id: &'a str,
    title: &'a str,
    /// Kopecks per period, VAT included.
    price: i64,
    period_months: u32,
    /// The VAT rate in force today: "22%", "10%", "0%" or "none" (без НДС).
    vat: String,
    currency: &'static str,
}

/// The plans on offer now: those with a VAT rate in force today (as `GET /plans` lists them).
pub fn offered_plans(billing: &BillingConfig, now: chrono::DateTime<chrono::Utc>) -> Catalogue {
    let today = billing.seller.local_date(now);
    Catalogue(
        billing
            .plans
            .0
            .iter()
            .filter(|p| billing.seller.vat_rates.rate(p.vat, today).is_some())
            .cloned()
            .collect(),
    )
}

async fn list_plans(State(api): State<Arc<CatalogueApi>>) -> Response {
    let today = api.billing.seller.local_date(api.clock.now());
    let rates = &api.billing.seller.vat_rates;
    let plans: Vec<PlanView> = api
        .billing
        .plans
        .0
        .iter()
        .filter_map(|p| {
            let vat = rates.rate(p.vat, today)?;
            Some(PlanView {
                id: &p.id,
                title: &p.title,
                price: p.price.0,
                period_months: p.period_months,
                vat: vat.to_string(),
                currency: "RUB",
            })
        })
        .collect();
    let mut res = axum::Json(plans).into_response();
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    res
}

/// Every route of the deployed public HTTP API, as `openapi.yaml` documents it (method, path).
pub const PUBLIC_ROUTES: [(&str, &str); 7] = [
    ("GET", "/plans"),
    ("POST", "/invoices"),
    ("GET", "/invoices/{id}"),
    ("GET", "/invoices/{id}/pdf"),
    ("GET", "/invoices/{id}/act"),
    ("GET", "/callbacks/{provider}"),
    ("POST", "/callbacks/{provider}"),
];

/// `GET /plans`.
pub fn plans_router(api: Arc<CatalogueApi>) -> Router {
    Router::new().route("/plans", get(list_plans)).with_state(api)
}

/// `POST /invoices`.
pub fn create_invoice_router<S, D>(api: Arc<InvoiceApi<S, D>>) -> Router
where
    S: InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
{
    Router::new()
        .route("/invoices", post(create_invoice::<S, D>))
        .with_state(api)
}

/// `GET /invoices/{id}` and `GET /invoices/{id}/pdf`.
pub fn get_invoice_router<S, D>(api: Arc<InvoiceApi<S, D>>) -> Router
where
    S: InvoiceReader + 'static,
    D: DocumentStore + 'static,
{
    Router::new()
        .route("/invoices/{id}", get(get_invoice::<S, D>))
        .route("/invoices/{id}/pdf", get(download_pdf::<S, D>))
        .route("/invoices/{id}/act", get(download_act::<S, D>))
        .with_state(api)
}

/// Browser calls are allowed from the configured origins only; with none, same-origin only.
pub fn with_cors(router: Router, origins: &[String]) -> Router {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if allowed.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([CONTENT_TYPE, ACCEPT, HeaderName::from_static("idempotency-key")])
            .expose_headers([LOCATION])
            .max_age(Duration::from_secs(600)),
    )
}
