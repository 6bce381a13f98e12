//! Payment callbacks: one adapter per payment system behind [`Provider`]. Each verifies the raw
//! request with the provider's own scheme, normalises it to a [`PaymentNotice`], and shapes the
//! answer the provider expects. Pure: no I/O (YooKassa's API re-read happens in the service).

pub mod cloudpayments;
pub mod decimal;
pub mod robokassa;
pub mod sandbox;
pub mod stripe;
pub mod tbank;
pub mod yookassa;

use crate::domain::Kopecks;
use http::HeaderMap;
use std::net::IpAddr;

/// A callback exactly as it arrived. Verification works on these raw bytes, before any parsing.
#[derive(Clone, Copy, Debug)]
pub struct RawCallback<'a> {
    pub method: &'a http::Method,
    pub headers: &'a HeaderMap,
    /// The raw query string without `?` (Robokassa may call with GET).
    pub query: &'a str,
    pub body: &'a [u8],
    /// The client address as the platform saw it (API Gateway's `sourceIp`, or the socket).
    pub source_ip: Option<IpAddr>,
    /// Unix seconds, for timestamp tolerance.
    pub now: i64,
}

impl<'a> RawCallback<'a> {
    /// A POST with these headers and body, no query, from an unknown address.
    pub fn post(headers: &'a HeaderMap, body: &'a [u8], now: i64) -> Self {
        RawCallback {
            method: &http::Method::POST,
            headers,
            query: "",
            body,
            source_ip: None,
            now,
        }
    }
}

/// Every payment source's name as recorded on payments: the providers, and `manual` for
/// payments an operator recorded.
pub const SOURCES: [&str; 7] = [
    "cloudpayments",
    "robokassa",
    "sandbox",
    "stripe",
    "tbank",
    "yookassa",
    "manual",
];

/// The recorded name of a payment source, as the `'static` name a notice carries.
pub fn provider_name(name: &str) -> Option<&'static str> {
    SOURCES.into_iter().find(|s| *s == name)
}

/// How the callback names our invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvoiceRef {
    /// Our invoice id (uuid), carried in metadata / OrderId / InvoiceId.
    Id(String),
    /// Robokassa's integer `InvId`: our invoice number's year and sequence, `YYYYNNNNNN`.
    Number { year: i32, seq: u64 },
}

/// A verified payment event, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentNotice {
    pub provider: &'static str,
    /// The provider's payment id (the dedupe key together with the provider).
    pub payment_id: String,
    pub invoice: InvoiceRef,
    /// Exact minor units, converted without floats.
    pub amount: Kopecks,
    /// Upper-case ISO 4217.
    pub currency: String,
    /// Money captured. Anything else (authorised, pending, refunded, failed) changes nothing.
    pub succeeded: bool,
}

/// What verification produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verified {
    Notice(PaymentNotice),
    /// YooKassa: the body is unsigned; act only on the API's answer for this payment id.
    Fetch {
        payment_id: String,
    },
    /// Authentic, but not an event we act on (e.g. another Stripe event type).
    Ignored(String),
}

/// Why a callback was refused. Nothing changes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Missing or wrong signature, stale timestamp, address not allowed.
    #[error("not authentic: {0}")]
    Unauthenticated(String),
    /// Authentic framing but unreadable content.
    #[error("malformed: {0}")]
    Malformed(String),
}

/// What we did with an authentic notice; the provider is told in its own protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// The invoice moved to paid now.
    Paid,
    /// This payment was recorded before (a retry or a duplicate delivery).
    Duplicate,
    /// Amount or currency differ from the invoice: not paid, sent to review.
    Mismatch,
    /// No such invoice.
    UnknownInvoice,
    /// Nothing to do (not a captured payment, or an event we ignore).
    Ignored,
}

/// An answer in the provider's own protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: http::StatusCode,
    pub content_type: &'static str,
    pub body: String,
}

impl Answer {
    pub fn new(status: http::StatusCode, content_type: &'static str, body: impl Into<String>) -> Self {
        Answer {
            status,
            content_type,
            body: body.into(),
        }
    }
}

pub trait Provider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Verifies the raw request and normalises it. Must never panic on any input.
    fn verify(&self, callback: &RawCallback<'_>) -> Result<Verified, Rejection>;
    /// The answer for a handled notice.
    fn answer(&self, handled: Handled, notice: Option<&PaymentNotice>) -> Answer;
    /// The answer for a refused request.
    fn reject(&self, rejection: &Rejection) -> Answer;
}
