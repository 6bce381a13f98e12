//! The local stack's mailbox: every e-mail the local SES accepted (read from moto), with its
//! attachments downloadable. A developer's view of what customers would receive.

use autobill::http::pages::escape;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mail_parser::{MessageParser, MimeHeaders};

/// The raw MIME of every message the local SES stored, oldest first.
async fn messages() -> Result<Vec<Vec<u8>>, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL is not set".to_owned())?;
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/_local/ses/raw-messages"))
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let raw = data.as_array().cloned().unwrap_or_default();
    Ok(raw
        .iter()
        .filter_map(|m| m["raw_data"].as_str())
        .map(|s| s.as_bytes().to_vec())
        .collect())
}

async fn index() -> Response {
    let all = match messages().await {
        Ok(all) => all,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("the local AWS did not answer: {e}")).into_response(),
    };
    let parser = MessageParser::default();
    let rows: String = all
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, raw)| {
            let m = parser.parse(raw)?;
            let to = m.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("");
            let links: String = m
                .attachments()
                .enumerate()
                .map(|(j, a)| {
                    let name = a.attachment_name().unwrap_or("attachment");
                    format!(r#"<a href="/mailbox/{i}/attachments/{j}">{}</a> "#, escape(name))
                })
                .collect();
            Some(format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{links}</td></tr>",
                escape(&m.date().map(|d| d.to_rfc3339()).unwrap_or_default()),
                escape(to),
                escape(m.subject().unwrap_or("")),
            ))
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Почта (local)</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}td,th{{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}}</style>
</head><body><h1>Отправленные письма ({n})</h1><table><tr><th>Дата</th><th>Кому</th><th>Тема</th><th>Вложения</th></tr>{rows}</table></body></html>"#,
        n = all.len()
    ))
    .into_response()
}

async fn attachment(Path((i, j)): Path<(usize, usize)>) -> Response {
    let all = match messages().await {
        Ok(all) => all,
        Err(e) => return (StatusCode::BAD_GATEWAY, e).into_response(),
    };
    let parsed = all.get(i).and_then(|raw| MessageParser::default().parse(raw));
    let Some(part) = parsed.as_ref().and_then(|m| m.attachments().nth(j)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = part.contents().to_vec().into_response();
    let content_type = part.content_type().map(|c| match c.subtype() {
        Some(sub) => format!("{}/{sub}", c.ctype()),
        None => c.ctype().to_owned(),
    });
    if let Ok(v) = HeaderValue::from_str(&content_type.unwrap_or_else(|| "application/octet-stream".into())) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res
}

/// `GET /mailbox` and `GET /mailbox/{message}/attachments/{n}`.
pub fn router() -> Router {
    Router::new()
        .route("/mailbox", get(index))
        .route("/mailbox/{i}/attachments/{j}", get(attachment))
}
