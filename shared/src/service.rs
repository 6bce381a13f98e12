//! The invoice service: what `create-invoice` and `get-invoice` do, independent of HTTP and AWS.

use crate::config::BillingConfig;
use crate::domain::order::{IssueError, issue};
use crate::domain::{Invoice, Order};
use crate::ports::{Clock, DocumentStore, IdempotencyClaim, InsertError, InvoiceIssuer, InvoiceReader, StoreError};
use crate::render::{RenderError, render_invoice};
use sha2::{Digest, Sha256};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;
/// Attempts at taking the next number before giving up (each collision means another
/// invoice was issued meanwhile, so progress is always being made).
const NUMBER_ATTEMPTS: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the idempotency key was already used for a different order")]
    KeyReused,
    #[error("the subscription this invoice would continue has moved on")]
    Superseded,
    #[error("the numbering sequence stayed contended after {NUMBER_ATTEMPTS} attempts")]
    Contended,
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// An issued invoice, and whether it was issued by an earlier request with the same key.
#[derive(Debug)]
pub struct Issued {
    pub invoice: Invoice,
    pub replayed: bool,
    /// The PDF, when this call rendered it (so a caller that mails it need not render again).
    pub pdf: Option<Vec<u8>>,
}

pub struct Invoices<S, D> {
    pub store: S,
    pub documents: D,
    pub billing: Arc<BillingConfig>,
    pub clock: Arc<dyn Clock>,
}

/// A stable digest of what was ordered, so a reused key with another order is detected
/// whether it came as JSON or as a form.
pub fn fingerprint(order: &Order) -> String {
    let b = &order.buyer;
    let mut canonical = serde_json::json!([
        order.plan.id,
        order.quantity,
        b.name,
        b.inn,
        b.kpp,
        b.address,
        b.email,
        order.account
    ]);
    if let (Some(p), Some(list)) = (order.service_period, canonical.as_array_mut()) {
        list.extend([p.start.to_string().into(), p.end.to_string().into()]);
    }
    hex::encode(Sha256::digest(canonical.to_string()))
}

/// Exponential backoff with full jitter (5 ms doubling, capped at 320 ms), so that contenders
/// for the next number spread out instead of colliding again.
async fn backoff(attempt: u32) {
    let cap = 5u64 << attempt.min(6);
    let jitter = RandomState::new().hash_one((attempt, std::time::Instant::now())) % cap;
    tokio::time::sleep(Duration::from_millis(jitter)).await;
}

impl<S: InvoiceReader, D: DocumentStore> Invoices<S, D> {
    pub async fn get(&self, id: &str) -> Result<Option<Invoice>, StoreError> {
        self.store.get_invoice(id).await
    }

    /// Makes sure the invoice's PDF is in the document store; renders it if it is missing
    /// (the document is a pure function of the stored invoice, so re-rendering is safe).
    pub async fn ensure_pdf(&self, invoice: &Invoice) -> Result<Option<Vec<u8>>, CreateError> {
        let key = invoice.pdf_key();
        if self.documents.exists(&key).await? {
            return Ok(None);
        }
        self.store_pdf(invoice).await.map(Some)
    }

    /// Renders the invoice's PDF and stores it; returns the document.
    pub async fn store_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, CreateError> {
        let pdf = render_invoice(invoice)?;
        self.documents.put_pdf(&invoice.pdf_key(), pdf.clone()).await?;
        Ok(pdf)
    }

    pub async fn pdf_link(&self, invoice: &Invoice, ttl: Duration) -> Result<String, StoreError> {
        self.documents.presign_get(&invoice.pdf_key(), ttl).await
    }
}

impl<S: InvoiceIssuer, D: DocumentStore> Invoices<S, D> {
    /// Issues the next invoice for a validated order: numbers it without gaps, stores it,
    /// and stores its PDF before returning. With an idempotency key, a repeat of the same
    /// order returns the first invoice; the same key with another order is refused.
    pub async fn create(&self, order: &Order, key: Option<&str>) -> Result<Issued, CreateError> {
        self.create_remembered(order, key, IDEMPOTENCY_TTL_SECONDS).await
    }

    /// [`Self::create`] with the key remembered for `ttl_seconds` (renewals keep theirs for as
    /// long as their period could still be invoiced).
    pub async fn create_remembered(
        &self,
        order: &Order,
        key: Option<&str>,
        ttl_seconds: i64,
    ) -> Result<Issued, CreateError> {
        let fingerprint = fingerprint(order);
        if let Some(key) = key
            && let Some(issued) = self.replay(key, &fingerprint).await?
        {
            return Ok(issued);
        }
        self.issue_new(order, key, &fingerprint, ttl_seconds, true).await
    }

    /// Issues the invoice of `key` unless it was issued before (then returns that one), without
    /// looking first: for callers that expect the key to be new (a job's renewals), one read less.
    /// A new invoice comes back without its PDF: the caller stores it with [`Self::store_pdf`]
    /// before showing the invoice to anyone (so that numbering, the serial part, stays short).
    pub async fn issue_once(&self, order: &Order, key: &str, ttl_seconds: i64) -> Result<Issued, CreateError> {
        self.issue_new(order, Some(key), &fingerprint(order), ttl_seconds, false)
            .await
    }

    async fn issue_new(
        &self,
        order: &Order,
        key: Option<&str>,
        fingerprint: &str,
        ttl_seconds: i64,
        with_pdf: bool,
    ) -> Result<Issued, CreateError> {
        let profile = &self.billing.seller;
        for attempt in 0..NUMBER_ATTEMPTS {
            let now = self.clock.now();
            let seq = self
                .store
                .last_seq(&profile.number_prefix, profile.number_year(now))
                .await?
                + 1;
            let invoice = issue(order, profile, uuid::Uuid::now_v7().to_string(), seq, now)?;
            let claim = key.map(|k| IdempotencyClaim {
                key: k.to_owned(),
                fingerprint: fingerprint.to_owned(),
                invoice_id: invoice.id.clone(),
                expires_at: now.timestamp().saturating_add(ttl_seconds),
            });
            let event = crate::events::invoice_issued(&invoice, now);
            let mut outcome = self.store.insert_issued(&invoice, &event, claim.as_ref()).await;
            if matches!(outcome, Err(InsertError::NumberTaken | InsertError::Store(_))) {
                // An ambiguous failure (a timeout, a retried request) may hide a commit of ours:
                // if our invoice is there, it was issued, and must not be issued again.
                if let Ok(Some(_)) = self.store.get_invoice(&invoice.id).await {
                    outcome = Ok(());
                }
            }
            match outcome {
                Ok(()) => {
                    // The number is taken for good; the PDF follows before anyone sees the invoice.
                    let pdf = match with_pdf {
                        true => Some(self.store_pdf(&invoice).await?),
                        false => None,
                    };
                    tracing::info!(invoice = %invoice.id, number = %invoice.number, total = invoice.total.0, "invoice issued");
                    crate::metrics::count("InvoicesIssued", "invoices");
                    return Ok(Issued {
                        invoice,
                        replayed: false,
                        pdf,
                    });
                }
                Err(InsertError::NumberTaken) => backoff(attempt).await,
                Err(InsertError::KeyClaimed) => {
                    // A concurrent request with the same key won; answer as it did.
                    let key = key.unwrap_or_default();
                    return self
                        .replay(key, fingerprint)
                        .await?
                        .ok_or_else(|| CreateError::Store(StoreError(format!("idempotency claim {key:?} vanished"))));
                }
                Err(InsertError::Superseded) => return Err(CreateError::Superseded),
                Err(InsertError::Store(e)) => return Err(e.into()),
            }
        }
        Err(CreateError::Contended)
    }

    async fn replay(&self, key: &str, fingerprint: &str) -> Result<Option<Issued>, CreateError> {
        let Some(claim) = self.store.get_claim(key).await? else {
            return Ok(None);
        };
        if claim.expires_at < self.clock.now().timestamp() {
            return Ok(None);
        }
        if claim.fingerprint != fingerprint {
            return Err(CreateError::KeyReused);
        }
        let invoice = self
            .store
            .get_invoice(&claim.invoice_id)
            .await?
            .ok_or_else(|| StoreError(format!("invoice {} of idempotency claim is missing", claim.invoice_id)))?;
        let pdf = self.ensure_pdf(&invoice).await?;
        Ok(Some(Issued {
            invoice,
            replayed: true,
            pdf,
        }))
    }
}

/// Remembers the last number this process issued in each sequence, so that a single writer
/// issuing many invoices in a row (the renewal job) skips reading the counter each time. A stale
/// guess is harmless: the counter's condition refuses it and the next attempt reads it again.
pub struct SequenceCache<S> {
    inner: S,
    last: std::sync::Mutex<std::collections::HashMap<(String, i32), u64>>,
}

impl<S> SequenceCache<S> {
    pub fn new(inner: S) -> Self {
        SequenceCache {
            inner,
            last: Default::default(),
        }
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<(String, i32), u64>> {
        self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: InvoiceReader> InvoiceReader for SequenceCache<S> {
    async fn get_invoice(&self, id: &str) -> Result<Option<Invoice>, StoreError> {
        self.inner.get_invoice(id).await
    }

    async fn act_key(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.act_key(id).await
    }
}

impl<S: InvoiceIssuer> InvoiceIssuer for SequenceCache<S> {
    async fn last_seq(&self, prefix: &str, year: i32) -> Result<u64, StoreError> {
        let known = self.remembered().get(&(prefix.to_owned(), year)).copied();
        match known {
            Some(seq) => Ok(seq),
            None => self.inner.last_seq(prefix, year).await,
        }
    }

    async fn insert_issued(
        &self,
        invoice: &Invoice,
        event: &crate::ports::OutboxEvent,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<(), InsertError> {
        let sequence = (invoice.number.prefix.clone(), invoice.number.year);
        let outcome = self.inner.insert_issued(invoice, event, claim).await;
        let mut last = self.remembered();
        match &outcome {
            Ok(()) => {
                last.insert(sequence, invoice.number.seq);
            }
            Err(_) => {
                last.remove(&sequence);
            }
        }
        outcome
    }

    async fn get_claim(&self, key: &str) -> Result<Option<IdempotencyClaim>, StoreError> {
        self.inner.get_claim(key).await
    }
}
