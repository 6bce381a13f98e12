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
    let canonical = serde_json::json!([
        order.plan.id,
        order.quantity,
        b.name,
        b.inn,
        b.kpp,
        b.address,
        b.email,
        order.account
    ]);
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
    pub async fn ensure_pdf(&self, invoice: &Invoice) -> Result<(), CreateError> {
        let key = invoice.pdf_key();
        if !self.documents.exists(&key).await? {
            self.store_pdf(invoice).await?;
        }
        Ok(())
    }

    async fn store_pdf(&self, invoice: &Invoice) -> Result<(), CreateError> {
        let pdf = render_invoice(invoice)?;
        self.documents.put_pdf(&invoice.pdf_key(), pdf).await?;
        Ok(())
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
        let fingerprint = fingerprint(order);
        if let Some(key) = key
            && let Some(issued) = self.replay(key, &fingerprint).await?
        {
            return Ok(issued);
        }
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
                fingerprint: fingerprint.clone(),
                invoice_id: invoice.id.clone(),
                expires_at: now.timestamp() + IDEMPOTENCY_TTL_SECONDS,
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
                    self.store_pdf(&invoice).await?;
                    tracing::info!(invoice = %invoice.id, number = %invoice.number, total = invoice.total.0, "invoice issued");
                    return Ok(Issued {
                        invoice,
                        replayed: false,
                    });
                }
                Err(InsertError::NumberTaken) => backoff(attempt).await,
                Err(InsertError::KeyClaimed) => {
                    // A concurrent request with the same key won; answer as it did.
                    let key = key.unwrap_or_default();
                    return self
                        .replay(key, &fingerprint)
                        .await?
                        .ok_or_else(|| CreateError::Store(StoreError(format!("idempotency claim {key:?} vanished"))));
                }
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
        self.ensure_pdf(&invoice).await?;
        Ok(Some(Issued {
            invoice,
            replayed: true,
        }))
    }
}
