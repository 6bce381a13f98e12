//! The local stack's webhook receiver: the default demo endpoint. It keeps every delivery and
//! shows whether its Standard Webhooks signature verifies.

use autobill::http::pages::escape;
use autobill::webhooks::{Secret, verify};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// The demo endpoint's secret: documented, local only.
pub const DEMO_SECRET: &str = "whsec_bG9jYWwtZGVtby13ZWJob29rLXNlY3JldC0zMmI=";

#[derive(Clone, Serialize)]
struct Delivery {
    received_at: String,
    webhook_id: String,
    timestamp: String,
    signature: String,
    verified: bool,
    event_type: String,
    body: String,
}

#[derive(Default)]
struct Inbox(Mutex<Vec<Delivery>>);

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    if name != "demo" {
        return StatusCode::NOT_FOUND;
    }
    let (id, ts, sig) = (
        header(&headers, "webhook-id"),
        header(&headers, "webhook-timestamp"),
        header(&headers, "webhook-signature"),
    );
    let now = chrono::Utc::now().timestamp();
    let verified = match (Secret::parse(DEMO_SECRET), ts.parse::<i64>()) {
        (Ok(secret), Ok(t)) => verify(&secret, &id, t, body.as_bytes(), &sig, now),
        _ => false,
    };
    let event_type = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let delivery = Delivery {
        received_at: chrono::Utc::now().to_rfc3339(),
        webhook_id: id,
        timestamp: ts,
        signature: sig,
        verified,
        event_type,
        body,
    };
    inbox.0.lock().unwrap_or_else(|p| p.into_inner()).push(delivery);
    StatusCode::NO_CONTENT
}

fn deliveries(inbox: &Inbox) -> Vec<Delivery> {
    inbox.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

async fn page(State(inbox): State<Arc<Inbox>>) -> Response {
    let rows: String = deliveries(&inbox)
        .iter()
        .rev()
        .map(|d| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                escape(&d.received_at),
                escape(&d.event_type),
                escape(&d.webhook_id),
                if d.verified {
                    "✔ подпись верна"
                } else {
                    "✘ подпись неверна"
                },
                escape(&d.body),
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Вебхуки (local)</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}td,th{{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}}pre{{white-space:pre-wrap;margin:0}}</style>
</head><body><h1>Полученные вебхуки</h1><p>Demo endpoint <code>/webhook-receiver/demo</code>, secret <code>{DEMO_SECRET}</code> (local only).</p>
<table><tr><th>Получен</th><th>Событие</th><th>webhook-id</th><th>Подпись</th><th>Тело</th></tr>{rows}</table></body></html>"#
    ))
    .into_response()
}

async fn json(State(inbox): State<Arc<Inbox>>) -> Response {
    axum::Json(deliveries(&inbox)).into_response()
}

/// `POST /webhook-receiver/demo`, `GET /webhook-receiver` (page), `GET /webhook-receiver.json`.
pub fn router() -> Router {
    Router::new()
        .route("/webhook-receiver/{name}", post(receive))
        .route("/webhook-receiver", get(page))
        .route("/webhook-receiver.json", get(json))
        .with_state(Arc::new(Inbox::default()))
}
