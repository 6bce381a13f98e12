//! API errors: `{"error": code, "message": text, "fields": {field: code}}`, or an HTML page
//! for a browser form post. Internal details go to the log, never to the client.

use super::pages;
use crate::domain::FieldErrors;
use crate::service::CreateError;
use axum::Json;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: FieldErrors,
    /// Where the invoice is, when its status refused an action.
    pub invoice_status: Option<&'static str>,
}

/// What a field error code means, for people.
pub fn field_message(code: &str) -> &'static str {
    match code {
        "required" => "обязательное поле",
        "unknown_plan" => "такого тарифа нет",
        "out_of_range" => "число вне допустимого диапазона (от 1 до 120)",
        "not_an_integer" => "нужно целое число",
        "invalid_checksum" => "не сходится контрольная цифра",
        "invalid_format" => "неверный формат",
        "not_allowed" => "не указывается для этого ИНН",
        "invalid_email" => "неверный адрес электронной почты",
        "too_long" => "слишком длинное значение",
        "invalid_characters" => "недопустимые символы",
        "unknown_field" => "неизвестное поле",
        "duplicate" => "поле передано несколько раз",
        "invalid_type" => "значение должно быть строкой или числом",
        _ => "неверное значение",
    }
}

pub fn field_label(field: &str) -> &str {
    match field {
        "plan" => "Тариф",
        "quantity" => "Количество периодов",
        "company" => "Название организации",
        "inn" => "ИНН",
        "kpp" => "КПП",
        "address" => "Адрес",
        "email" => "E-mail",
        "account" => "Учётная запись",
        "idempotency_key" => "Ключ идемпотентности",
        other => other,
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: FieldErrors::new(),
            invoice_status: None,
        }
    }

    pub fn bad_request(code: &'static str, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn validation(fields: FieldErrors) -> Self {
        let detail: Vec<String> = fields
            .iter()
            .map(|(f, c)| format!("{}: {}", field_label(f), field_message(c)))
            .collect();
        ApiError {
            fields,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("Проверьте данные: {}.", detail.join("; ")),
            )
        }
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Отправьте заказ как application/json или application/x-www-form-urlencoded в UTF-8.",
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Тело запроса больше {} байт.", super::body::MAX_BODY_BYTES),
        )
    }

    pub fn invalid_utf8() -> Self {
        Self::bad_request("invalid_utf8", "Тело запроса не является корректным UTF-8.")
    }

    pub fn malformed_json(e: &serde_json::Error) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("Некорректный JSON (строка {}, позиция {}).", e.line(), e.column()),
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Счёт не найден.")
    }

    pub fn internal(what: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{what}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Внутренняя ошибка. Повторите запрос позже.",
        )
    }

    pub fn unavailable(what: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{what}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Сервис временно недоступен. Повторите запрос позже.",
        )
    }

    pub fn json(self) -> Response {
        let mut body = json!({"error": self.code, "message": self.message, "fields": self.fields});
        if let Some(status) = self.invoice_status {
            body["status"] = json!(status);
        }
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        }
        res
    }

    pub fn html(self) -> Response {
        (self.status, Html(pages::error_page(&self))).into_response()
    }

    pub fn respond(self, html: bool) -> Response {
        if html { self.html() } else { self.json() }
    }
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::KeyReused => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "Этот ключ идемпотентности уже использован для другого заказа.",
            ),
            CreateError::Contended | CreateError::Superseded => ApiError::unavailable("numbering contended", &e),
            CreateError::Store(ref s) => ApiError::unavailable("store failed", s),
            CreateError::Issue(ref i) => ApiError::internal("seller configuration", i),
            CreateError::Render(ref r) => ApiError::internal("pdf rendering failed", r),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.json()
    }
}
