//! Reading an order from a request body: JSON or a plain HTML form, size-capped, strict UTF-8.

use super::error::ApiError;
use crate::domain::OrderInput;
use axum::body::Body;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use std::collections::btree_map::Entry;

/// Orders are a few hundred bytes; anything near this is not a form.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

enum Kind {
    Json,
    Form,
}

fn kind(headers: &HeaderMap) -> Result<Kind, ApiError> {
    let raw = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = raw.split(';').map(|p| p.trim().to_ascii_lowercase());
    let essence = parts.next().unwrap_or_default();
    let charset_ok = parts.all(|p| match p.split_once('=') {
        Some(("charset", cs)) => matches!(cs.trim_matches('"'), "utf-8" | "utf8"),
        _ => true,
    });
    match essence.as_str() {
        _ if !charset_ok => Err(ApiError::unsupported_media_type()),
        "application/json" => Ok(Kind::Json),
        "application/x-www-form-urlencoded" => Ok(Kind::Form),
        _ => Err(ApiError::unsupported_media_type()),
    }
}

/// A body of at most `limit` bytes: refused by its declared length first, then by what arrives.
pub async fn read_capped(headers: &HeaderMap, body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::payload_too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::payload_too_large())
}

/// The raw bytes of a body of at most [`MAX_BODY_BYTES`], as UTF-8 text.
async fn read_text(headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let bytes = read_capped(headers, body, MAX_BODY_BYTES).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::invalid_utf8())
}

fn json_object(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match serde_json::from_str(text).map_err(|e| ApiError::malformed_json(&e))? {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request(
            "invalid_body",
            "Тело запроса должно быть JSON-объектом.",
        )),
    }
}

/// A JSON object body (management actions); an empty body without a type is an empty object.
pub async fn read_json_object(
    headers: &HeaderMap,
    body: Body,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let text = read_text(headers, body).await?;
    if text.trim().is_empty() && headers.get(CONTENT_TYPE).is_none() {
        return Ok(Default::default());
    }
    match kind(headers)? {
        Kind::Json => json_object(&text),
        Kind::Form => Err(ApiError::unsupported_media_type()),
    }
}

/// Reads and parses the body into raw fields. Errors here are about the envelope; the fields
/// themselves are judged by `Order::validate`.
pub async fn read_order(headers: &HeaderMap, body: Body) -> Result<OrderInput, ApiError> {
    let kind = kind(headers)?;
    let text = read_text(headers, body).await?;
    match kind {
        Kind::Json => parse_json(&text),
        Kind::Form => parse_form(&text),
    }
}

fn parse_json(text: &str) -> Result<OrderInput, ApiError> {
    let map = json_object(text)?;
    let mut input = OrderInput::new();
    let mut type_errors = crate::domain::FieldErrors::new();
    for (k, v) in map {
        match v {
            serde_json::Value::String(s) => {
                input.insert(k, s);
            }
            serde_json::Value::Number(n) => {
                input.insert(k, n.to_string());
            }
            serde_json::Value::Null => {}
            _ => {
                type_errors.insert(k, "invalid_type");
            }
        }
    }
    if type_errors.is_empty() {
        Ok(input)
    } else {
        Err(ApiError::validation(type_errors))
    }
}

fn decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn parse_form(text: &str) -> Result<OrderInput, ApiError> {
    let mut input = OrderInput::new();
    let mut dup = crate::domain::FieldErrors::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (decode(k), decode(v)) else {
            return Err(ApiError::invalid_utf8());
        };
        match input.entry(k) {
            Entry::Vacant(e) => {
                e.insert(v);
            }
            Entry::Occupied(e) => {
                dup.insert(e.key().clone(), "duplicate");
            }
        }
    }
    if dup.is_empty() {
        Ok(input)
    } else {
        Err(ApiError::validation(dup))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_strictly() {
        let f = parse_form("company=%D0%9E%D0%9E%D0%9E+%C2%AB%D0%A0%C2%BB&inn=7736207543&empty=").unwrap();
        assert_eq!(f["company"], "ООО «Р»");
        assert_eq!(f["empty"], "");
        assert_eq!(parse_form("company=%FF").unwrap_err().code, "invalid_utf8");
        assert_eq!(parse_form("inn=1&inn=2").unwrap_err().fields["inn"], "duplicate");
    }

    #[test]
    fn json_values_become_text() {
        let j = parse_json(r#"{"quantity": 3, "plan": "pro", "kpp": null}"#).unwrap();
        assert_eq!(j["quantity"], "3");
        assert!(!j.contains_key("kpp"));
        assert_eq!(
            parse_json(r#"{"plan": ["pro"]}"#).unwrap_err().fields["plan"],
            "invalid_type"
        );
        assert_eq!(parse_json("[1]").unwrap_err().code, "invalid_body");
        assert_eq!(parse_json("{").unwrap_err().code, "malformed_json");
    }
}
