//! Ports: what the services need from the outside world, one trait per capability, so that a
//! function receives only what it may do (matching its IAM policy in template.yaml).

use crate::domain::Invoice;
use std::future::Future;
use std::time::Duration;

/// A failure of the outside world (network, throttling, permissions). Never caused by input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// An idempotency key remembered with the invoice it produced (Powertools' idea, one record per
/// key: a fingerprint of the request detects reuse of a key for another order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    pub fingerprint: String,
    pub invoice_id: String,
    /// Unix seconds; also the table's TTL attribute. Checked in code: TTL deletion lags.
    pub expires_at: i64,
}

/// Why an issued invoice was not inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// Another invoice took this number first (or the transaction collided): read and retry.
    #[error("the invoice number was taken concurrently")]
    NumberTaken,
    /// The idempotency key is already claimed: replay its invoice or refuse.
    #[error("the idempotency key is already claimed")]
    KeyClaimed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub trait InvoiceReader: Send + Sync {
    fn get_invoice(&self, id: &str) -> impl Future<Output = Result<Option<Invoice>, StoreError>> + Send;
}

pub trait InvoiceIssuer: InvoiceReader {
    /// The last number issued in a numbering sequence (0 before the first).
    fn last_seq(&self, prefix: &str, year: i32) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// In one transaction: move the sequence from `seq - 1` to `seq`, put the invoice, and claim
    /// the idempotency key if any. Either all happen or none.
    fn insert_issued(
        &self,
        invoice: &Invoice,
        claim: Option<&IdempotencyClaim>,
    ) -> impl Future<Output = Result<(), InsertError>> + Send;

    fn get_claim(&self, key: &str) -> impl Future<Output = Result<Option<IdempotencyClaim>, StoreError>> + Send;
}

pub trait DocumentStore: Send + Sync {
    fn put_pdf(&self, key: &str, pdf: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A time-limited download link.
    fn presign_get(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// Where "now" comes from, so tests and the local stack can travel in time.
pub trait Clock: Send + Sync {
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}
