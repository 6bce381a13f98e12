//! `POST /statements`: an operator uploads a 1C bank statement (the raw file) and gets the
//! reconciliation back. Behind the same guard as the management API (IAM in AWS).

use super::admin::{Auth, guard};
use super::error::ApiError;
use crate::ports::{DocumentStore, TransferStore};
use crate::statements::reconcile::{ImportError, Reconciler};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::CONTENT_LENGTH};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::sync::Arc;

/// Statements are small text files; API Gateway and Lambda cap bodies near 6 MB anyway.
pub const MAX_STATEMENT_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

async fn import<S: TransferStore, D: DocumentStore>(
    State(reconciler): State<Arc<Reconciler<S, D>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_STATEMENT_UPLOAD_BYTES as u64) {
        return ApiError::payload_too_large().json();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_STATEMENT_UPLOAD_BYTES).await else {
        return ApiError::payload_too_large().json();
    };
    match reconciler.import_upload(&bytes).await {
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
    S: TransferStore + 'static,
    D: DocumentStore + 'static,
{
    Router::new()
        .route("/statements", post(import::<S, D>))
        .with_state(reconciler)
        .layer(axum::middleware::from_fn_with_state(Arc::new(auth), guard))
}
