//! The management API (`/admin/…`): authenticated routes for the vendor's backend and the
//! operators. In AWS, API Gateway's IAM authoriser checks the SigV4 signature and the caller's
//! policy before the function runs; the caller's ARN comes in the request context. On the local
//! stack a bearer API key stands in for IAM.

use super::error::ApiError;
use super::view::InvoiceView;
use super::{body, idempotency_header, no_store};
use crate::admin::Done;
use crate::admin::{Admin, AdminError, Resolution};
use crate::domain::{Buyer, Invoice, Order, Status};
use crate::ports::{
    AdminStore, AttemptLog, AuditEntry, DocumentStore, EndpointPatch, EndpointRecord, FulfilStore, HistoryEntry,
    InvoiceIssuer, Mailer, Page, SendError, SubscriptionState, WebhookSender,
};
use crate::webhooks::{Condition, Endpoint, WebhookError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use http::header::{AUTHORIZATION, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Every management route (method, path), as `openapi.yaml` documents it.
pub const ADMIN_ROUTES: [(&str, &str); 18] = [
    ("POST", "/admin/invoices"),
    ("GET", "/admin/invoices"),
    ("GET", "/admin/invoices/{ref}"),
    ("POST", "/admin/invoices/{ref}/void"),
    ("POST", "/admin/invoices/{ref}/mark-paid"),
    ("POST", "/admin/invoices/{ref}/resolve"),
    ("POST", "/admin/invoices/{ref}/resend"),
    ("GET", "/admin/accounts/{account}/invoices"),
    ("GET", "/admin/accounts/{account}/subscriptions"),
    ("GET", "/admin/webhooks"),
    ("POST", "/admin/webhooks"),
    ("GET", "/admin/webhooks/{id}"),
    ("PATCH", "/admin/webhooks/{id}"),
    ("DELETE", "/admin/webhooks/{id}"),
    ("GET", "/admin/events/{event_id}"),
    ("POST", "/admin/events/{event_id}/replay"),
    ("GET", "/admin/audit"),
    // An operator's bank statement (`http::statements`, served by the admin-api function).
    ("POST", "/statements"),
];

/// How callers prove who they are.
#[derive(Clone)]
pub enum Auth {
    /// AWS: the IAM authoriser verified the request; the caller is the request context's
    /// `authorizer.iam.userArn`. A request without one is refused (a route deployed without its
    /// authoriser fails closed).
    Iam,
    /// The local stack: `Authorization: Bearer <key>`; the actor is named by `X-Autobill-Actor`.
    ApiKey(String),
}

/// Who is calling, as recorded in audit entries (put there by the guard before any route).
#[derive(Clone, Debug)]
pub struct Actor(pub String);

impl<T: Send + Sync> axum::extract::FromRequestParts<T> for Actor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &T) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .ok_or_else(|| unauthenticated("Не удалось установить, кто вызывает API.").json())
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// A refusal; a 401 of the local key says which scheme to use.
fn refusal(e: ApiError, auth: &Auth) -> Response {
    let mut res = e.json();
    if res.status() == StatusCode::UNAUTHORIZED && matches!(auth, Auth::ApiKey(_)) {
        res.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"autobill\""));
    }
    res
}

/// `X-Autobill-Actor`: 1–64 of letters, digits, `.`, `_`, `@`, `-`.
fn actor_name(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(v) = headers.get("x-autobill-actor") else {
        return Ok("local".into());
    };
    match v.to_str() {
        Ok(s)
            if (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b)) =>
        {
            Ok(s.to_owned())
        }
        _ => Err(ApiError::bad_request(
            "invalid_actor",
            "X-Autobill-Actor: от 1 до 64 латинских букв, цифр и символов . _ @ -.",
        )),
    }
}

/// The caller's IAM identity from API Gateway's request context.
fn iam_caller<B>(request: &http::Request<B>) -> Option<String> {
    use lambda_http::request::RequestContext;
    match request.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .authorizer
            .as_ref()?
            .iam
            .as_ref()?
            .user_arn
            .clone()
            .filter(|arn| !arn.is_empty()),
        _ => None,
    }
}

/// Decides who the caller is before any route runs; refuses everyone else.
pub fn authenticate<B>(auth: &Auth, request: &http::Request<B>) -> Result<Actor, ApiError> {
    match auth {
        Auth::Iam => iam_caller(request)
            .map(Actor)
            .ok_or_else(|| unauthenticated("Запрос без подписи AWS IAM (SigV4).")),
        Auth::ApiKey(key) => {
            let presented = request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            let Some(presented) = presented.filter(|p| !p.is_empty()) else {
                return Err(unauthenticated("Нужен заголовок Authorization: Bearer <ключ API>."));
            };
            // Digests compare in time independent of where the key differs.
            if Sha256::digest(presented.as_bytes()) != Sha256::digest(key.as_bytes()) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Неверный ключ API."));
            }
            let name = actor_name(request.headers())?;
            Ok(Actor(format!("api-key:{name}")))
        }
    }
}

pub(crate) async fn guard(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    match authenticate(&auth, &request) {
        Ok(actor) => {
            request.extensions_mut().insert(actor);
            no_store(next.run(request).await)
        }
        Err(refused) => no_store(refusal(refused, &auth)),
    }
}

/// Everything the management routes need.
pub struct AdminApi<S, D, M, H> {
    pub admin: Admin<S, D, M, H>,
    pub pdf_link_ttl: Duration,
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::InvoiceNotFound => ApiError::new(StatusCode::NOT_FOUND, "invoice_not_found", "Счёт не найден."),
            AdminError::EventNotFound => ApiError::new(StatusCode::NOT_FOUND, "event_not_found", "Событие не найдено."),
            AdminError::EndpointNotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "endpoint_not_found", "Адрес вебхуков не найден.")
            }
            AdminError::EndpointExists => ApiError::new(
                StatusCode::CONFLICT,
                "endpoint_exists",
                "Адрес вебхуков с таким id уже есть.",
            ),
            AdminError::EndpointDisabled => ApiError::new(
                StatusCode::CONFLICT,
                "endpoint_disabled",
                "Адрес вебхуков отключён: включите его, прежде чем повторять доставку.",
            ),
            AdminError::InvalidTransition { status, action } => ApiError {
                invoice_status: Some(status.as_str()),
                ..ApiError::new(
                    StatusCode::CONFLICT,
                    "invalid_transition",
                    format!(
                        "Счёт в статусе «{}» не может быть {}.",
                        status.label_ru(),
                        action_ru(action)
                    ),
                )
            },
            AdminError::EndpointNotSubscribed => ApiError::new(
                StatusCode::CONFLICT,
                "endpoint_not_subscribed",
                "Этот адрес вебхуков не принимает такое событие (его события или условия).",
            ),
            AdminError::EndpointMisconfigured(ref why) => {
                tracing::warn!(reason = %why, "replay to a misconfigured endpoint refused");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "endpoint_misconfigured",
                    "Адрес или секрет этого адреса вебхуков неисправен: исправьте его, затем повторите.",
                )
            }
            AdminError::Send(SendError::Refused(ref why)) => {
                tracing::error!(reason = %why, "resend refused by the mail service");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "email_refused",
                    "Почтовый сервис отказался отправить письмо; оно не отправлено.",
                )
            }
            AdminError::Send(SendError::Unknown(ref why)) => {
                tracing::error!(reason = %why, "resend outcome unknown");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "email_outcome_unknown",
                    "Неизвестно, ушло ли письмо: проверьте историю счёта, прежде чем отправлять снова.",
                )
            }
            AdminError::NotFulfilled => ApiError::new(
                StatusCode::CONFLICT,
                "not_fulfilled",
                "Счёт оплачен, но закрывающие документы ещё готовятся. Повторите позже.",
            ),
            AdminError::InvalidEndpoint(e) => endpoint_invalid(&e),
            AdminError::Create(e) => e.into(),
            AdminError::Store(ref s) => ApiError::unavailable("store failed", s),
            e @ (AdminError::Mime(_) | AdminError::MissingDocument(_)) => ApiError::internal("resend failed", &e),
        }
    }
}

fn action_ru(action: &str) -> &'static str {
    match action {
        "voided" => "аннулирован",
        "paid" => "отмечен оплаченным",
        "resolved" => "разобран: он не на проверке",
        _ => "отправлен повторно",
    }
}

/// An endpoint an operator set up wrong: 422 with the field at fault.
fn endpoint_invalid(e: &WebhookError) -> ApiError {
    let (field, code) = match e {
        WebhookError::Secret(_) => ("secret", "invalid_format"),
        WebhookError::Url(_) => ("url", "invalid_format"),
        WebhookError::Address { .. } => ("url", "not_allowed"),
        WebhookError::Endpoint(m) if m.starts_with("id") => ("id", "invalid_format"),
        WebhookError::Endpoint(m) if m.starts_with("event") => ("events", "invalid_format"),
        WebhookError::Endpoint(m) if m.starts_with("conditions") => ("conditions", "invalid_format"),
        WebhookError::Endpoint(_) => ("fields", "invalid_format"),
    };
    ApiError {
        message: format!("Проверьте настройки адреса вебхуков: {e}."),
        ..ApiError::validation([(field.to_owned(), code)].into_iter().collect())
    }
}

/// A JSON object body, size-capped; its keys are then taken one by one, and any left over are
/// reported as unknown.
struct Fields {
    map: Map<String, Value>,
    errors: crate::domain::FieldErrors,
}

impl Fields {
    async fn read(headers: &HeaderMap, body: Body) -> Result<Fields, ApiError> {
        let map = body::read_json_object(headers, body).await?;
        Ok(Fields {
            map,
            errors: Default::default(),
        })
    }

    /// A trimmed string of at most `max` characters.
    fn text(&mut self, key: &str, required: bool, max: usize) -> Option<String> {
        match self.map.remove(key) {
            None | Some(Value::Null) if required => {
                self.errors.insert(key.to_owned(), "required");
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let s = s.trim().to_owned();
                if s.is_empty() && required {
                    self.errors.insert(key.to_owned(), "required");
                } else if s.chars().count() > max {
                    self.errors.insert(key.to_owned(), "too_long");
                } else if s.chars().any(char::is_control) {
                    self.errors.insert(key.to_owned(), "invalid_characters");
                } else if !s.is_empty() {
                    return Some(s);
                }
                None
            }
            Some(_) => {
                self.errors.insert(key.to_owned(), "invalid_type");
                None
            }
        }
    }

    /// Any JSON value of a serde type.
    fn value<T: serde::de::DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let v = self.map.remove(key).filter(|v| !v.is_null())?;
        match serde_json::from_value(v) {
            Ok(t) => Some(t),
            Err(_) => {
                self.errors.insert(key.to_owned(), "invalid_type");
                None
            }
        }
    }

    /// Fails with every field error, unknown keys included.
    fn finish(mut self) -> Result<(), ApiError> {
        for key in std::mem::take(&mut self.map).keys().cloned() {
            self.errors.insert(key, "unknown_field");
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

const REASON_MAX: usize = 500;

#[derive(Serialize)]
struct InvoiceSummary<'a> {
    id: &'a str,
    number: String,
    status: &'static str,
    status_label: &'static str,
    total: i64,
    amount_paid: i64,
    balance_due: i64,
    currency: &'a str,
    plan: &'a str,
    account: &'a str,
    buyer_name: &'a str,
    issue_date: String,
    due_date: String,
}

fn summary(i: &Invoice) -> InvoiceSummary<'_> {
    InvoiceSummary {
        id: &i.id,
        number: i.number.to_string(),
        status: i.status.as_str(),
        status_label: i.status.label_ru(),
        total: i.total.0,
        amount_paid: i.amount_paid.0,
        balance_due: i.balance_due().0,
        currency: &i.currency,
        plan: &i.plan,
        account: &i.account,
        buyer_name: &i.buyer.name,
        issue_date: i.issue_date.to_string(),
        due_date: i.due_date.to_string(),
    }
}

fn invoice_list(page: Page<Invoice>) -> Response {
    let invoices: Vec<InvoiceSummary> = page.items.iter().map(summary).collect();
    axum::Json(json!({"invoices": invoices, "next_cursor": page.next})).into_response()
}

#[derive(Serialize)]
struct AttemptView<'a> {
    event_id: &'a str,
    event_type: &'a str,
    endpoint_id: &'a str,
    attempt: u32,
    at: DateTime<Utc>,
    status: Option<u16>,
    outcome: &'a str,
    latency_ms: u64,
}

fn attempts(logs: &[AttemptLog]) -> Vec<AttemptView<'_>> {
    logs.iter()
        .map(|a| AttemptView {
            event_id: &a.event_id,
            event_type: &a.event_type,
            endpoint_id: &a.endpoint_id,
            attempt: a.attempt,
            at: a.at,
            status: a.status,
            outcome: &a.outcome,
            latency_ms: a.latency_ms,
        })
        .collect()
}

#[derive(Serialize)]
struct DetailView<'a> {
    invoice: InvoiceView,
    buyer: &'a Buyer,
    period: Option<crate::domain::subscription::Period>,
    paid_at: Option<DateTime<Utc>>,
    fulfilled_at: Option<DateTime<Utc>>,
    review_reason: Option<&'a str>,
    void_reason: Option<&'a str>,
    documents: Vec<Value>,
    history: &'a [HistoryEntry],
    deliveries: Vec<AttemptView<'a>>,
}

#[derive(Serialize)]
struct EndpointView<'a> {
    id: &'a str,
    url: &'a str,
    events: &'a [String],
    conditions: &'a [Condition],
    fields: &'a [String],
    enabled: bool,
    /// The secret's last four characters, to tell secrets apart.
    secret_hint: String,
    failing_since: Option<DateTime<Utc>>,
    disabled_reason: Option<&'a str>,
    disabled_at: Option<DateTime<Utc>>,
    /// After a rotation: until when the old secret signs deliveries beside the current one.
    previous_secret_until: Option<DateTime<Utc>>,
    /// Only when it is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

fn endpoint_view(r: &EndpointRecord) -> EndpointView<'_> {
    let e = &r.endpoint;
    let tail: String = e
        .secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    EndpointView {
        id: &e.id,
        url: &e.url,
        events: &e.events,
        conditions: &e.conditions,
        fields: &e.fields,
        enabled: e.enabled,
        secret_hint: format!("whsec_…{tail}"),
        failing_since: r.failing_since,
        disabled_reason: r.disabled_reason.as_deref(),
        disabled_at: r.disabled_at,
        previous_secret_until: r.previous_secret_until,
        secret: None,
    }
}

#[derive(Serialize)]
struct AuditView<'a> {
    id: &'a str,
    at: DateTime<Utc>,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    invoice_id: Option<&'a str>,
    reason: Option<&'a str>,
    details: &'a Value,
}

fn audit_view(a: &AuditEntry) -> AuditView<'_> {
    AuditView {
        id: &a.id,
        at: a.at,
        actor: &a.actor,
        action: &a.action,
        target: &a.target,
        invoice_id: a.invoice_id.as_deref(),
        reason: a.reason.as_deref(),
        details: &a.details,
    }
}

type St<S, D, M, H> = State<Arc<AdminApi<S, D, M, H>>>;
type Q = Query<HashMap<String, String>>;

impl<S, D, M, H> AdminApi<S, D, M, H>
where
    S: AdminStore + FulfilStore + InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
    M: Mailer + 'static,
    H: WebhookSender + 'static,
{
    /// The public view of an invoice with a fresh download link (the permanent one if
    /// presigning fails: the answer must not fail after an action was done).
    async fn view(&self, invoice: &Invoice, base: &str, act: bool) -> InvoiceView {
        let links = &self.admin.links;
        let pdf_url = match self.admin.invoices.pdf_link(invoice, self.pdf_link_ttl).await {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(invoice = %invoice.id, error = %e, "presigning failed; the permanent link is shown");
                links.pdf_url(base, &invoice.id)
            }
        };
        let mut view = InvoiceView::new(invoice, pdf_url, links.invoice_url(base, &invoice.id));
        view.act_url = act.then(|| links.act_url(base, &invoice.id));
        view
    }

    /// `limit` (1–100, default 50) and `cursor` from the query.
    fn paging<'q>(&self, query: &'q HashMap<String, String>) -> Result<(usize, Option<&'q str>), ApiError> {
        let limit = match query.get("limit") {
            None => 50,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(
                        [("limit".to_owned(), "out_of_range")].into_iter().collect(),
                    ));
                }
            },
        };
        let cursor = query.get("cursor").map(String::as_str).filter(|c| !c.is_empty());
        if cursor.is_some_and(|c| !self.admin.valid_cursor(c)) {
            return Err(ApiError::bad_request("invalid_cursor", "Курсор страницы повреждён."));
        }
        Ok((limit, cursor))
    }

    async fn done(&self, done: Result<Done, AdminError>, headers: &HeaderMap) -> Result<Response, ApiError> {
        let done = done?;
        let view = self
            .view(&done.invoice, &self.admin.links.base(headers), done.act)
            .await;
        Ok(axum::Json(json!({"invoice": view, "audit_id": done.audit_id, "event_id": done.event_id})).into_response())
    }

    async fn create(&self, actor: &Actor, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
        let key = idempotency_header(headers)?;
        let input = body::read_order(headers, body).await?;
        let order = Order::validate(&input, &self.admin.invoices.billing.plans).map_err(ApiError::validation)?;
        let key = key.or_else(|| order.idempotency_key.clone());
        let issued = self.admin.create(&order, key.as_deref(), &actor.0).await?;
        let view = self.view(&issued.invoice, &self.admin.links.base(headers), false).await;
        let location = HeaderValue::from_str(&view.invoice_url).unwrap_or(HeaderValue::from_static("/"));
        let mut res = (StatusCode::CREATED, axum::Json(view)).into_response();
        res.headers_mut().insert(LOCATION, location);
        if issued.replayed {
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        Ok(res)
    }

    async fn list_by_status(&self, query: &HashMap<String, String>) -> Result<Response, ApiError> {
        let status = match query.get("status").map(String::as_str) {
            Some("issued") => Status::Issued,
            Some("paid") => Status::Paid,
            Some("partially_paid") => Status::PartiallyPaid,
            Some("overdue") => Status::Overdue,
            Some("void") => Status::Void,
            Some("needs_review") => Status::NeedsReview,
            other => {
                let code = if other.is_some() { "invalid_format" } else { "required" };
                return Err(ApiError::validation(
                    [("status".to_owned(), code)].into_iter().collect(),
                ));
            }
        };
        let (limit, cursor) = self.paging(query)?;
        Ok(invoice_list(
            self.admin.invoices_with_status(status, limit, cursor).await?,
        ))
    }

    async fn show(&self, reference: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
        let detail = self.admin.detail(reference).await?;
        let r = &detail.record;
        let view = self
            .view(&r.invoice, &self.admin.links.base(headers), r.act_key.is_some())
            .await;
        let mut documents = vec![json!({"kind": "invoice", "key": r.invoice.pdf_key()})];
        if let Some(act) = &r.act_key {
            documents.push(json!({"kind": "act", "key": act}));
        }
        let body = DetailView {
            invoice: view,
            buyer: &r.invoice.buyer,
            period: r.invoice.period,
            paid_at: r.paid_at,
            fulfilled_at: r.fulfilled_at,
            review_reason: r.review_reason.as_deref(),
            void_reason: r.void_reason.as_deref(),
            documents,
            history: &detail.history,
            deliveries: attempts(&detail.deliveries),
        };
        Ok(axum::Json(body).into_response())
    }

    /// `POST /admin/invoices/{ref}/{action}`: void, mark-paid, resolve, resend.
    async fn act(
        &self,
        reference: &str,
        action: &str,
        actor: &Actor,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        match action {
            "void" => self.void(reference, actor, headers, body).await,
            "mark-paid" => self.mark_paid(reference, actor, headers, body).await,
            "resolve" => self.resolve(reference, actor, headers, body).await,
            "resend" => self.resend(reference, actor, headers, body).await,
            _ => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Нет такого действия со счётом.",
            )),
        }
    }

    async fn void(
        &self,
        reference: &str,
        actor: &Actor,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let mut f = Fields::read(headers, body).await?;
        let reason = f.text("reason", true, REASON_MAX);
        f.finish()?;
        let reason = reason.unwrap_or_default();
        self.done(self.admin.void(reference, &actor.0, &reason).await, headers)
            .await
    }

    async fn mark_paid(
        &self,
        reference: &str,
        actor: &Actor,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let mut f = Fields::read(headers, body).await?;
        let reason = f.text("reason", true, REASON_MAX);
        let payment_reference = f.text("reference", false, 200);
        f.finish()?;
        let done = self
            .admin
            .mark_paid(
                reference,
                &actor.0,
                &reason.unwrap_or_default(),
                payment_reference.as_deref(),
            )
            .await;
        self.done(done, headers).await
    }

    async fn resolve(
        &self,
        reference: &str,
        actor: &Actor,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let mut f = Fields::read(headers, body).await?;
        let resolution = f.text("resolution", true, 20);
        let reason = f.text("reason", true, REASON_MAX);
        let resolution = match resolution.as_deref() {
            Some("paid") => Some(Resolution::Paid),
            Some("refund_needed") => Some(Resolution::RefundNeeded),
            Some(_) => {
                f.errors.insert("resolution".into(), "invalid_format");
                None
            }
            None => None,
        };
        f.finish()?;
        let (Some(resolution), Some(reason)) = (resolution, reason) else {
            return Err(ApiError::validation(Default::default()));
        };
        self.done(
            self.admin.resolve(reference, &actor.0, resolution, &reason).await,
            headers,
        )
        .await
    }

    async fn resend(
        &self,
        reference: &str,
        actor: &Actor,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let mut f = Fields::read(headers, body).await?;
        let to = f.text("email", false, 254);
        let reason = f.text("reason", false, REASON_MAX);
        if let Some(to) = &to
            && crate::domain::order::check_email(to).is_err()
        {
            f.errors.insert("email".into(), "invalid_email");
        }
        f.finish()?;
        let base = self.admin.links.base(headers);
        let r = self
            .admin
            .resend(reference, &actor.0, to.as_deref(), reason.as_deref(), &base)
            .await?;
        Ok(axum::Json(json!({
            "message_id": r.message_id, "to": r.to, "mail": r.mail,
            "audit_id": r.audit_id, "event_id": r.event_id,
        }))
        .into_response())
    }

    async fn account_invoices(&self, account: &str, query: &HashMap<String, String>) -> Result<Response, ApiError> {
        let (limit, cursor) = self.paging(query)?;
        Ok(invoice_list(
            self.admin.invoices_of_account(account, limit, cursor).await?,
        ))
    }

    async fn account_subscriptions(&self, account: &str) -> Result<Response, ApiError> {
        let subscriptions: Vec<SubscriptionState> = self.admin.subscriptions_of_account(account).await?;
        Ok(axum::Json(json!({"subscriptions": subscriptions})).into_response())
    }

    async fn endpoints(&self) -> Result<Response, ApiError> {
        let all = self.admin.endpoints().await?;
        let views: Vec<EndpointView> = all.iter().map(endpoint_view).collect();
        Ok(axum::Json(json!({"endpoints": views})).into_response())
    }

    async fn endpoint(&self, id: &str) -> Result<Response, ApiError> {
        let record = self.admin.endpoint(id).await?;
        Ok(axum::Json(endpoint_view(&record)).into_response())
    }

    async fn create_endpoint(&self, actor: &Actor, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
        let mut f = Fields::read(headers, body).await?;
        let id = f.text("id", true, 64);
        let url = f.text("url", true, 2048);
        let events = f.value("events");
        let conditions = f.value("conditions");
        let fields = f.value("fields");
        let enabled = f.value("enabled");
        let secret = f.text("secret", false, 200);
        f.finish()?;
        let endpoint = Endpoint {
            id: id.unwrap_or_default(),
            url: url.unwrap_or_default(),
            secret: secret.unwrap_or_default(),
            events: events.unwrap_or_default(),
            conditions: conditions.unwrap_or_default(),
            fields: fields.unwrap_or_default(),
            enabled: enabled.unwrap_or(true),
        };
        let created = self.admin.create_endpoint(endpoint, &actor.0).await?;
        let record = EndpointRecord::new(created);
        let mut view = endpoint_view(&record);
        view.secret = Some(&record.endpoint.secret);
        Ok((StatusCode::CREATED, axum::Json(view)).into_response())
    }

    async fn update_endpoint(
        &self,
        id: &str,
        actor: &Actor,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let mut f = Fields::read(headers, body).await?;
        let patch = EndpointPatch {
            url: f.text("url", false, 2048),
            events: f.value("events"),
            conditions: f.value("conditions"),
            fields: f.value("fields"),
            enabled: f.value("enabled"),
            secret: f.text("secret", false, 200),
            ..EndpointPatch::default()
        };
        f.finish()?;
        let record = self.admin.update_endpoint(id, patch, &actor.0).await?;
        Ok(axum::Json(endpoint_view(&record)).into_response())
    }

    async fn delete_endpoint(&self, id: &str, actor: &Actor) -> Result<Response, ApiError> {
        self.admin.delete_endpoint(id, &actor.0).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    async fn event(&self, event_id: &str) -> Result<Response, ApiError> {
        let (event, deliveries) = self.admin.event(event_id).await?;
        Ok(axum::Json(json!({"event": event.detail, "deliveries": attempts(&deliveries)})).into_response())
    }

    async fn replay(
        &self,
        event_id: &str,
        actor: &Actor,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let mut f = Fields::read(headers, body).await?;
        let endpoint_id = f.text("endpoint_id", true, 64);
        f.finish()?;
        let endpoint_id = endpoint_id.unwrap_or_default();
        let (r, audit_id) = self.admin.replay(event_id, &endpoint_id, &actor.0).await?;
        Ok(axum::Json(json!({
            "event_id": event_id, "endpoint_id": endpoint_id, "attempt": r.attempt,
            "status": r.status, "outcome": r.outcome, "delivered": r.delivered, "audit_id": audit_id,
        }))
        .into_response())
    }

    async fn audit(&self, query: &HashMap<String, String>) -> Result<Response, ApiError> {
        let (limit, cursor) = self.paging(query)?;
        let page = self.admin.audit_log(limit, cursor).await?;
        let entries: Vec<AuditView> = page.items.iter().map(audit_view).collect();
        Ok(axum::Json(json!({"entries": entries, "next_cursor": page.next})).into_response())
    }
}

fn answer(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(ApiError::json)
}

/// Invoices, accounts and the audit log (the `admin-api` function).
fn invoice_routes<S, D, M, H>() -> Router<Arc<AdminApi<S, D, M, H>>>
where
    S: AdminStore + FulfilStore + InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
    M: Mailer + 'static,
    H: WebhookSender + 'static,
{
    Router::new()
        .route(
            "/admin/invoices",
            post(
                |State(api): St<S, D, M, H>, actor: Actor, headers: HeaderMap, body: Body| async move {
                    answer(api.create(&actor, &headers, body).await)
                },
            )
            .get(|State(api): St<S, D, M, H>, Query(q): Q| async move { answer(api.list_by_status(&q).await) }),
        )
        .route(
            "/admin/invoices/{ref}",
            get(
                |State(api): St<S, D, M, H>, Path(r): Path<String>, headers: HeaderMap| async move {
                    answer(api.show(&r, &headers).await)
                },
            ),
        )
        .route(
            "/admin/invoices/{ref}/{action}",
            post(
                |State(api): St<S, D, M, H>,
                 Path((r, action)): Path<(String, String)>,
                 actor: Actor,
                 headers: HeaderMap,
                 body: Body| async move { answer(api.act(&r, &action, &actor, &headers, body).await) },
            ),
        )
        .route(
            "/admin/accounts/{account}/invoices",
            get(
                |State(api): St<S, D, M, H>, Path(a): Path<String>, Query(q): Q| async move {
                    answer(api.account_invoices(&a, &q).await)
                },
            ),
        )
        .route(
            "/admin/accounts/{account}/subscriptions",
            get(|State(api): St<S, D, M, H>, Path(a): Path<String>| async move {
                answer(api.account_subscriptions(&a).await)
            }),
        )
        .route(
            "/admin/audit",
            get(|State(api): St<S, D, M, H>, Query(q): Q| async move { answer(api.audit(&q).await) }),
        )
}

/// Webhook endpoints and events, with replays (the `admin-webhooks` function: the only
/// management function that sends HTTP requests out).
fn webhook_routes<S, D, M, H>() -> Router<Arc<AdminApi<S, D, M, H>>>
where
    S: AdminStore + FulfilStore + InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
    M: Mailer + 'static,
    H: WebhookSender + 'static,
{
    Router::new()
        .route(
            "/admin/webhooks",
            get(|State(api): St<S, D, M, H>| async move { answer(api.endpoints().await) }).post(
                |State(api): St<S, D, M, H>, actor: Actor, headers: HeaderMap, body: Body| async move {
                    answer(api.create_endpoint(&actor, &headers, body).await)
                },
            ),
        )
        .route(
            "/admin/webhooks/{id}",
            get(|State(api): St<S, D, M, H>, Path(id): Path<String>| async move { answer(api.endpoint(&id).await) })
                .patch(
                    |State(api): St<S, D, M, H>, Path(id): Path<String>, actor: Actor, headers: HeaderMap, body: Body| async move {
                        answer(api.update_endpoint(&id, &actor, &headers, body).await)
                    },
                )
                .delete(
                    |State(api): St<S, D, M, H>, Path(id): Path<String>, actor: Actor| async move {
                        answer(api.delete_endpoint(&id, &actor).await)
                    },
                ),
        )
        .route(
            "/admin/events/{event_id}",
            get(|State(api): St<S, D, M, H>, Path(id): Path<String>| async move { answer(api.event(&id).await) }),
        )
        .route(
            "/admin/events/{event_id}/replay",
            post(
                |State(api): St<S, D, M, H>, Path(id): Path<String>, actor: Actor, headers: HeaderMap, body: Body| async move {
                    answer(api.replay(&id, &actor, &headers, body).await)
                },
            ),
        )
}

fn guarded<S, D, M, H>(routes: Router<Arc<AdminApi<S, D, M, H>>>, api: Arc<AdminApi<S, D, M, H>>, auth: Auth) -> Router
where
    S: AdminStore + FulfilStore + InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
    M: Mailer + 'static,
    H: WebhookSender + 'static,
{
    routes
        .with_state(api)
        .layer(axum::middleware::from_fn_with_state(Arc::new(auth), guard))
}

/// Every `/admin/…` route, behind `auth` (the local stack).
pub fn admin_router<S, D, M, H>(api: Arc<AdminApi<S, D, M, H>>, auth: Auth) -> Router
where
    S: AdminStore + FulfilStore + InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
    M: Mailer + 'static,
    H: WebhookSender + 'static,
{
    guarded(invoice_routes().merge(webhook_routes()), api, auth)
}

/// The invoice routes, behind `auth`.
pub fn admin_invoices_router<S, D, M, H>(api: Arc<AdminApi<S, D, M, H>>, auth: Auth) -> Router
where
    S: AdminStore + FulfilStore + InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
    M: Mailer + 'static,
    H: WebhookSender + 'static,
{
    guarded(invoice_routes(), api, auth)
}

/// The webhook and event routes, behind `auth`.
pub fn admin_webhooks_router<S, D, M, H>(api: Arc<AdminApi<S, D, M, H>>, auth: Auth) -> Router
where
    S: AdminStore + FulfilStore + InvoiceIssuer + 'static,
    D: DocumentStore + 'static,
    M: Mailer + 'static,
    H: WebhookSender + 'static,
{
    guarded(webhook_routes(), api, auth)
}

/// The management function on its own: unknown paths answer in the API's error shape.
pub fn with_not_found(router: Router) -> Router {
    router.fallback(|| async {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Нет такого адреса.").json()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP API (payload 2.0) event as API Gateway hands it to the function, through
    /// lambda_http's own conversion (which puts the request context in the extensions).
    fn lambda_request(authorizer: &str, headers: &str) -> lambda_http::Request {
        let event = format!(
            r#"{{"version":"2.0","routeKey":"ANY /admin/{{proxy+}}","rawPath":"/admin/audit","rawQueryString":"",
            "headers":{{{headers}}},
            "requestContext":{{"accountId":"123456789012","apiId":"api","stage":"$default","requestId":"r",
              {authorizer}
              "http":{{"method":"GET","path":"/admin/audit","protocol":"HTTP/1.1","sourceIp":"203.0.113.9","userAgent":"t"}},
              "timeEpoch":1764230400000}},
            "isBase64Encoded":false}}"#
        );
        lambda_http::request::from_str(&event).expect("a valid API Gateway event")
    }

    fn refused(result: Result<Actor, ApiError>) -> StatusCode {
        result.expect_err("refused").status
    }

    #[test]
    fn iam_callers_are_named_by_their_arn() {
        let arn = "arn:aws:sts::123456789012:assumed-role/Operator/alice";
        let iam = format!(
            r#""authorizer":{{"iam":{{"accessKey":"ASIA","accountId":"123456789012","userArn":"{arn}","userId":"AROA:alice"}}}},"#
        );
        let actor = authenticate(&Auth::Iam, &lambda_request(&iam, "")).expect("signed by IAM");
        assert_eq!(actor.0, arn);
        // No authoriser on the route (a misdeployment), or an empty identity: refused.
        assert_eq!(
            refused(authenticate(&Auth::Iam, &lambda_request("", ""))),
            StatusCode::UNAUTHORIZED
        );
        let empty = r#""authorizer":{"iam":{"userArn":""}},"#;
        assert_eq!(
            refused(authenticate(&Auth::Iam, &lambda_request(empty, ""))),
            StatusCode::UNAUTHORIZED
        );
        // The local key means nothing in AWS.
        let keyed = lambda_request("", r#""authorization":"Bearer k""#);
        assert_eq!(refused(authenticate(&Auth::Iam, &keyed)), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn the_local_key_is_required_and_checked() {
        let auth = Auth::ApiKey("right-key".into());
        let with = |headers: &[(&'static str, &str)]| {
            let mut req = http::Request::new(());
            for (k, v) in headers {
                req.headers_mut().insert(*k, HeaderValue::from_str(v).unwrap());
            }
            authenticate(&auth, &req)
        };
        let missing = refusal(with(&[]).expect_err("no key"), &auth);
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert!(missing.headers().contains_key(WWW_AUTHENTICATE));
        assert_eq!(
            refused(with(&[("authorization", "Basic right-key")])),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            refused(with(&[("authorization", "Bearer wrong-key")])),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            refused(with(&[("authorization", "Bearer right-key-")])),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            with(&[("authorization", "Bearer right-key")]).unwrap().0,
            "api-key:local"
        );
        let named = with(&[
            ("authorization", "Bearer right-key"),
            ("x-autobill-actor", "alice@example.com"),
        ]);
        assert_eq!(named.unwrap().0, "api-key:alice@example.com");
        let forged = with(&[
            ("authorization", "Bearer right-key"),
            ("x-autobill-actor", "arn:aws:iam::1:root"),
        ]);
        assert_eq!(refused(forged), StatusCode::BAD_REQUEST);
    }

    /// Each admin function answers its own routes (behind the guard) and 404 for the other's,
    /// as API Gateway splits them; the local stack merges both.
    #[tokio::test]
    async fn the_two_admin_functions_split_the_routes_as_the_template_does() {
        use tower::ServiceExt;
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .build();
        let billing = crate::config::BillingConfig::parse(
            include_str!("../../../infra/local/config.toml"),
            crate::config::ConfigFormat::Toml,
        )
        .unwrap();
        let store = crate::adapters::DynamoStore::new(crate::aws::dynamodb(&sdk), "t");
        let clock: Arc<dyn crate::ports::Clock> = Arc::new(crate::ports::SystemClock);
        let api = Arc::new(AdminApi {
            admin: Admin {
                invoices: crate::service::Invoices {
                    store: store.clone(),
                    documents: crate::adapters::S3Documents::new(crate::aws::s3(&sdk), "b"),
                    billing: Arc::new(billing),
                    clock: clock.clone(),
                },
                mailer: crate::adapters::SesMailer::new(crate::aws::sesv2(&sdk), "a@example.com", None),
                webhooks: crate::delivery::Webhooks {
                    store,
                    sender: crate::delivery::NoSender,
                    scheduler: crate::delivery::NoRetries,
                    clock,
                    policy: crate::webhooks::UrlPolicy::Production,
                },
                links: super::super::links::Links::new(b"k".to_vec(), None),
                from: "a@example.com".into(),
            },
            pdf_link_ttl: Duration::from_secs(60),
        });
        let auth = Auth::ApiKey("k".into());
        async fn status(router: Router, path: &str) -> StatusCode {
            let request = http::Request::builder().uri(path).body(Body::empty()).unwrap();
            router.oneshot(request).await.unwrap().status()
        }
        let webhook_side = ["/admin/webhooks", "/admin/webhooks/crm", "/admin/events/evt_1"];
        let invoice_side = [
            "/admin/invoices?status=paid",
            "/admin/invoices/2026-000001",
            "/admin/audit",
        ];
        for path in webhook_side {
            let webhooks = with_not_found(admin_webhooks_router(api.clone(), auth.clone()));
            let invoices = with_not_found(admin_invoices_router(api.clone(), auth.clone()));
            assert_eq!(status(webhooks, path).await, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(status(invoices, path).await, StatusCode::NOT_FOUND, "{path}");
        }
        for path in invoice_side {
            let webhooks = with_not_found(admin_webhooks_router(api.clone(), auth.clone()));
            let invoices = with_not_found(admin_invoices_router(api.clone(), auth.clone()));
            assert_eq!(status(webhooks, path).await, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(status(invoices, path).await, StatusCode::UNAUTHORIZED, "{path}");
        }
    }

    #[test]
    fn refusals_name_the_invoice_status() {
        let e: ApiError = AdminError::InvalidTransition {
            status: Status::Paid,
            action: "voided",
        }
        .into();
        assert_eq!(
            (e.status, e.code, e.invoice_status),
            (StatusCode::CONFLICT, "invalid_transition", Some("paid"))
        );
        assert!(e.message.contains("Оплачен"), "{}", e.message);
        let invalid: ApiError = AdminError::InvalidEndpoint(WebhookError::Url("not https".into())).into();
        assert_eq!(invalid.fields.get("url").copied(), Some("invalid_format"));
    }
}
