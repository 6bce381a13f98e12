//! `POST /statements`: an operator uploads a 1C bank statement (the raw file) and gets the
//! reconciliation back. Behind the same guard as the management API (IAM in AWS).

use super::admin::{Actor, Auth, guard};
use super::error::ApiError;
use crate::ports::{AdminStore, DocumentStore, TransferStore};
use crate::statements::reconcile::{ImportError, Reconciler};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::sync::Arc;

/// Statements are small text files. A cp1251 body reaches Lambda base64-encoded (send it as
/// `application/octet-stream`), and Lambda takes at most 6 MB: 4 MiB encodes to 5.6 MB.
pub const MAX_STATEMENT_UPLOAD_BYTES: usize = 4 * 1024 * 1024;

async fn import<S: TransferStore + AdminStore, D: DocumentStore>(
    State(reconciler): State<Arc<Reconciler<S, D>>>,
    actor: Actor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match super::body::read_capped(&headers, body, MAX_STATEMENT_UPLOAD_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => return e.json(),
    };
    match reconciler.import_upload(&bytes, &actor.0).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(ImportError::Malformed(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": "malformed_statement",
                "message": format!("Выписка не принята, ничего не проведено: строка {}: {}", e.line, e.reason),
                "fields": {},
                "line": e.line,
            })),
        )
            .into_response(),
        Err(ImportError::Store(e)) => ApiError::unavailable("statement import failed", &e).json(),
    }
}

/// `POST /statements`, behind `auth`.
pub fn statements_router<S, D>(reconciler: Arc<Reconciler<S, D>>, auth: Auth) -> Router
where
    S: TransferStore + AdminStore + 'static,
    D: DocumentStore + 'static,
{
    Router::new()
        .route("/statements", post(import::<S, D>))
        .with_state(reconciler)
        .layer(axum::middleware::from_fn_with_state(Arc::new(auth), guard))
}
