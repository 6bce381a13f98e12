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
    /// A renewal whose subscription no longer ends where the invoice's period starts (it was
    /// extended or expired meanwhile): nothing to invoice.
    #[error("the subscription this invoice would continue has moved on")]
    Superseded,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub trait InvoiceReader: Send + Sync {
    fn get_invoice(&self, id: &str) -> impl Future<Output = Result<Option<Invoice>, StoreError>> + Send;

    /// Where the invoice's act is stored, once fulfilment made it.
    fn act_key(&self, _id: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        async { Ok(None) }
    }
}

pub trait InvoiceIssuer: InvoiceReader {
    /// The last number issued in a numbering sequence (0 before the first).
    fn last_seq(&self, prefix: &str, year: i32) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// In one transaction: move the sequence from `seq - 1` to `seq`, put the invoice, put the
    /// `invoice.issued` event in the outbox, and claim the idempotency key if any. Either all
    /// happen or none. An invoice that continues a subscription (its `period` is set: renewals)
    /// is only inserted while the account's subscription to the plan is active and ends where
    /// that period starts.
    fn insert_issued(
        &self,
        invoice: &Invoice,
        event: &OutboxEvent,
        claim: Option<&IdempotencyClaim>,
    ) -> impl Future<Output = Result<(), InsertError>> + Send;

    fn get_claim(&self, key: &str) -> impl Future<Output = Result<Option<IdempotencyClaim>, StoreError>> + Send;
}

pub trait DocumentStore: Send + Sync {
    fn put_pdf(&self, key: &str, pdf: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The stored document, `None` if there is none under `key`.
    fn get_pdf(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// A time-limited download link.
    fn presign_get(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Any other file (a statement kept, its report).
    fn put_file(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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

/// A clock stopped at one instant: a scheduled job's "as of".
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub chrono::DateTime<chrono::Utc>);

impl Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

/// What recording a payment did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded now, and the invoice changed (paid, or sent to review).
    Applied,
    /// This (provider, payment id) was recorded before: nothing changed.
    Duplicate,
    /// Recorded now, but the invoice could not take it (already paid, void, under review):
    /// the money is on file for an operator, the invoice is unchanged.
    Unapplied,
}

/// A domain event waiting in the outbox, written in the same transaction as the state change.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    /// Stable across retries: consumers dedupe on it.
    pub id: String,
    /// Dot-separated, e.g. `invoice.paid`.
    pub kind: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The full event as consumers receive it (`{"id","type","timestamp","data"}`).
    pub detail: serde_json::Value,
}

pub trait PaymentStore: InvoiceReader {
    /// The invoice id behind a number like `2026-000123` (Robokassa names invoices by number).
    fn invoice_id_by_number(&self, number: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// In one transaction: record the payment once, move the invoice `issued|overdue → paid` on
    /// the condition that amount and currency match, and put the event in the outbox.
    fn record_payment(
        &self,
        invoice: &Invoice,
        payment: &crate::payments::PaymentNotice,
        event: &OutboxEvent,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// A payment that must not pay the invoice (amount or currency differ): record it once,
    /// send an `issued|overdue` invoice to `needs_review`, and put the event in the outbox.
    fn record_mismatch(
        &self,
        invoice: &Invoice,
        payment: &crate::payments::PaymentNotice,
        event: &OutboxEvent,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Records a payment without touching its invoice (see [`Recorded::Unapplied`]).
    fn record_unapplied(
        &self,
        payment: &crate::payments::PaymentNotice,
        invoice_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;
}

/// An incoming bank transfer from a statement, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Transfer {
    /// Date, number, payer account and amount: the same transfer in overlapping statements.
    pub id: String,
    pub date: chrono::NaiveDate,
    pub number: String,
    pub payer_inn: Option<String>,
    pub payer_name: Option<String>,
    pub payer_account: Option<String>,
    pub amount: crate::domain::Kopecks,
    pub purpose: String,
    /// The statement it was first read from, and its line there.
    pub statement_id: String,
    pub line: usize,
}

/// One invoice's share of a transfer: the payment recorded for it, the invoice's move
/// (`paid` once covered, `partially_paid` before) and its event.
#[derive(Clone, Debug)]
pub struct TransferShare<'a> {
    pub invoice: &'a Invoice,
    /// `bank` / `{transfer id}/{invoice number}`, for the amount allocated.
    pub payment: crate::payments::PaymentNotice,
    /// `amount_paid` after this share (may exceed the total: an overpayment).
    pub paid_after: crate::domain::Kopecks,
    pub event: OutboxEvent,
}

/// Bank transfers, applied once however many statements list them.
pub trait TransferStore: PaymentStore {
    /// Whether this transfer was applied or queued for review before.
    fn transfer_seen(&self, transfer_id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// In one transaction: the transfer once, and for each share its payment once, the
    /// invoice's move on the condition that its status and `amount_paid` are still as read,
    /// and its event. `Duplicate` if the transfer was applied before; `Unapplied` if an
    /// invoice changed meanwhile (nothing was written: read again and retry).
    fn record_transfer(
        &self,
        transfer: &Transfer,
        shares: &[TransferShare<'_>],
        excess: crate::domain::Kopecks,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// A transfer an operator must look at (no invoice named, unknown invoice, another payer):
    /// queued once (`false` if it was queued before).
    fn queue_transfer_review(
        &self,
        transfer: &Transfer,
        reason: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Reads a payment back from the provider's API (YooKassa: the notification body is unsigned).
pub trait PaymentLookup: Send + Sync {
    /// The provider's JSON for this payment.
    fn fetch(&self, payment_id: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
}

pub trait OutboxStore: Send + Sync {
    /// Unsent events, oldest first.
    fn pending(&self, limit: usize) -> impl Future<Output = Result<Vec<OutboxEvent>, StoreError>> + Send;
    fn mark_sent(
        &self,
        event_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait EventBus: Send + Sync {
    /// Publishes up to 10 events; returns, per event, whether the bus accepted it.
    fn publish(&self, events: &[OutboxEvent]) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;
}

/// How far fulfilment of a paid invoice got; each step is recorded on the invoice when done,
/// so a retry resumes where the last attempt failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fulfilment {
    pub paid_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The extension decided for this invoice (decided once, then reused by every retry).
    pub extension: Option<crate::domain::subscription::Extension>,
    pub act_key: Option<String>,
    pub subscription_applied: bool,
    pub email_message_id: Option<String>,
    pub fulfilled_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What applying an extension did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Now,
    /// By an earlier attempt.
    Before,
    /// The subscription no longer ends where the extension was computed from (another invoice
    /// extended it meanwhile): decide again.
    Moved,
}

/// The outcome of claiming the closing e-mail of an invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailClaim {
    /// Ours to send now; `token` identifies this attempt.
    Claimed { token: String },
    /// Sent before: this SES message id.
    Sent { message_id: String },
    /// Another attempt is sending it right now.
    Busy,
}

pub trait FulfilStore: InvoiceReader {
    fn fulfilment(&self, invoice_id: &str) -> impl Future<Output = Result<Fulfilment, StoreError>> + Send;

    /// The invoice and how far its fulfilment got, as one snapshot (one read where they are
    /// stored together).
    fn invoice_and_fulfilment(
        &self,
        invoice_id: &str,
    ) -> impl Future<Output = Result<Option<(Invoice, Fulfilment)>, StoreError>> + Send {
        async move {
            match self.get_invoice(invoice_id).await? {
                None => Ok(None),
                Some(invoice) => Ok(Some((invoice, self.fulfilment(invoice_id).await?))),
            }
        }
    }

    /// The account's subscription to a plan, if it ever had one.
    fn subscription(
        &self,
        account: &str,
        plan: &str,
    ) -> impl Future<Output = Result<Option<crate::domain::subscription::Current>, StoreError>> + Send;

    /// Records the extension decided for the invoice, unless one is recorded already; returns
    /// the one that stands.
    fn decide_extension(
        &self,
        invoice_id: &str,
        extension: &crate::domain::subscription::Extension,
    ) -> impl Future<Output = Result<crate::domain::subscription::Extension, StoreError>> + Send;

    fn record_act(&self, invoice_id: &str, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// In one transaction: apply the extension to the account's subscription (once per invoice,
    /// and only from the end it was computed from), mark it applied on the invoice, and put
    /// the `subscription.activated` event in the outbox.
    fn apply_extension(
        &self,
        invoice: &Invoice,
        extension: &crate::domain::subscription::Extension,
        event: &OutboxEvent,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Forgets the decided extension and the act of an invoice whose extension can no longer be
    /// applied (the subscription moved meanwhile), so that the next attempt decides again.
    fn forget_extension(&self, invoice_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn claim_email(
        &self,
        invoice_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<EmailClaim, StoreError>> + Send;
    /// Marks the claim sent with SES's message id (first, on its own, so that nothing can send
    /// again), then records the id on the invoice.
    fn email_sent(
        &self,
        invoice_id: &str,
        token: &str,
        message_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records the message id on the invoice (also when an earlier attempt could not).
    fn record_email_message(
        &self,
        invoice_id: &str,
        message_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Releases a failed attempt's claim so that a retry can send.
    fn email_failed(&self, invoice_id: &str, token: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn mark_fulfilled(
        &self,
        invoice_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Paid invoices not fulfilled, paid at or before `cutoff`.
    fn unfulfilled(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// Why a message was not (known to be) sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Refused outright (e.g. an unverified sender): certainly not sent, safe to try again.
    #[error("refused: {0}")]
    Refused(String),
    /// No clear answer (timeout, connection lost, server error): it may have been sent.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

/// Sending a ready MIME message.
pub trait Mailer: Send + Sync {
    /// Returns the provider's message id. Must not retry by itself: a blind retry after an
    /// unclear failure could send the message twice.
    fn send_raw(&self, to: &str, mime: Vec<u8>) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// A webhook endpoint as stored, with its delivery health.
#[derive(Clone, PartialEq)]
pub struct EndpointRecord {
    pub endpoint: crate::webhooks::Endpoint,
    /// Set at the first failure after a success; 5 days of failures disable the endpoint.
    pub failing_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Why and when it was disabled (by a 410, 5 days of failures, or a broken setting).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The secret before the last rotation: deliveries carry its signature too until
    /// `previous_secret_until`, so the receiver can switch without refusing any.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl std::fmt::Debug for EndpointRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRecord")
            .field("endpoint", &self.endpoint)
            .field("failing_since", &self.failing_since)
            .field("disabled_reason", &self.disabled_reason)
            .field("disabled_at", &self.disabled_at)
            .field("previous_secret", &self.previous_secret.as_ref().map(|_| "<redacted>"))
            .field("previous_secret_until", &self.previous_secret_until)
            .finish()
    }
}

impl EndpointRecord {
    /// A new endpoint: no failures, not disabled by anyone, no rotation under way.
    pub fn new(endpoint: crate::webhooks::Endpoint) -> Self {
        EndpointRecord {
            endpoint,
            failing_since: None,
            disabled_reason: None,
            disabled_at: None,
            previous_secret: None,
            previous_secret_until: None,
        }
    }

    /// The rotated-out secret, while deliveries still sign with it at `now`.
    pub fn previous_secret_at(&self, now: chrono::DateTime<chrono::Utc>) -> Option<&str> {
        match (&self.previous_secret, self.previous_secret_until) {
            (Some(secret), Some(until)) if now < until => Some(secret),
            _ => None,
        }
    }
}

/// One delivery attempt, for the delivery log an operator reads first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptLog {
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    pub attempt: u32,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The HTTP status, or `None` for a timeout or a network failure.
    pub status: Option<u16>,
    pub outcome: String,
    pub latency_ms: u64,
    /// The first 1 KB of the answer.
    pub response: String,
}

/// A retry waiting for its time: what the scheduler hands back to the delivery function.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RetryTask {
    pub endpoint_id: String,
    pub attempt: u32,
    /// The whole event: a retry needs nothing else.
    pub event: serde_json::Value,
}

pub trait WebhookStore: Send + Sync {
    fn endpoints(&self) -> impl Future<Output = Result<Vec<EndpointRecord>, StoreError>> + Send;
    fn endpoint(&self, id: &str) -> impl Future<Output = Result<Option<EndpointRecord>, StoreError>> + Send;
    /// Puts a configured endpoint unless it exists (operators' edits in the console win).
    fn seed_endpoint(
        &self,
        endpoint: &crate::webhooks::Endpoint,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn log_attempt(&self, entry: &AttemptLog) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a failure; returns when the endpoint started failing.
    fn endpoint_failed(
        &self,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<chrono::DateTime<chrono::Utc>, StoreError>> + Send;
    fn endpoint_succeeded(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn disable_endpoint(
        &self,
        id: &str,
        reason: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What came back from one POST.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub outcome: crate::webhooks::AttemptOutcome,
    pub latency_ms: u64,
    pub body: String,
}

pub trait WebhookSender: Send + Sync {
    /// POSTs without following redirects, within the sender's timeout; never fails: a network
    /// problem is an outcome like any other.
    fn post(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> impl Future<Output = Response> + Send;
}

pub trait RetryScheduler: Send + Sync {
    /// Calls the delivery function back with `task` at `at` (an AWS-native delay, never a sleep
    /// inside a function).
    fn schedule(
        &self,
        task: &RetryTask,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The renewal of one period end: its invoice and how far its reminders got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewal {
    /// The period end it renews.
    pub period_end: chrono::NaiveDate,
    pub invoice_id: String,
    /// The smallest reminder offset sent (days before the end), if any.
    pub reminded: Option<u32>,
}

/// A subscription as the scheduled jobs see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub account: String,
    pub plan: String,
    pub period: crate::domain::subscription::Period,
    pub quantity: u32,
    /// The buyer of the last invoice applied, whose requisites the renewal invoice reuses.
    pub buyer: Option<crate::domain::Buyer>,
    /// The last invoice applied (where the buyer is read from when not kept on the subscription).
    pub last_invoice: Option<String>,
    /// The renewal recorded on the subscription, possibly of an earlier period end.
    pub renewal: Option<Renewal>,
    /// Where a listing resumes after this subscription.
    pub cursor: String,
}

impl SubscriptionRecord {
    /// The renewal of the current period end, if it was issued.
    pub fn current_renewal(&self) -> Option<&Renewal> {
        self.renewal.as_ref().filter(|r| r.period_end == self.period.end)
    }
}

/// What recording a renewal invoice on its subscription did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenewalRecorded {
    /// Recorded now, with its first reminder claimed: ours to send.
    Claimed,
    /// Recorded by an earlier run (its reminders go through their own claims).
    Before,
    /// The subscription was extended or expired meanwhile.
    Moved,
}

/// How far a scheduled job got on a business date, so that a run cut short by its time budget
/// is continued by the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub as_of: chrono::NaiveDate,
    /// The cursor of the last subscription done; `None` at the start.
    pub after: Option<String>,
    pub complete: bool,
}

pub trait RenewalStore: InvoiceIssuer {
    /// Active subscriptions whose period ends within `from..=to`, by end date, at most `limit`
    /// read, after `after` (a cursor). Returns the page and the cursor of the next one, if more
    /// may follow.
    fn ending_between(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<SubscriptionRecord>, Option<String>), StoreError>> + Send;

    /// Records the renewal invoice of the period ending on `period_end` together with the claim
    /// of its first reminder (`remind` days), on the condition that the subscription still ends
    /// then and is active.
    fn record_renewal(
        &self,
        account: &str,
        plan: &str,
        period_end: chrono::NaiveDate,
        invoice_id: &str,
        remind: u32,
    ) -> impl Future<Output = Result<RenewalRecorded, StoreError>> + Send;

    /// Claims the reminder of `days` for the renewal of `period_end`: `true` when it is ours to
    /// send (no reminder this close to the end was sent before).
    fn claim_reminder(
        &self,
        account: &str,
        plan: &str,
        period_end: chrono::NaiveDate,
        days: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a claimed reminder back (it was certainly not sent), restoring `previous`.
    fn release_reminder(
        &self,
        account: &str,
        plan: &str,
        period_end: chrono::NaiveDate,
        days: u32,
        previous: Option<u32>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// In one transaction: mark the subscription expired (if it is still active and still
    /// ends on its recorded end) and put the `subscription.expired` event in the outbox.
    /// `false` when it moved or was expired meanwhile.
    fn expire(
        &self,
        subscription: &SubscriptionRecord,
        event: &OutboxEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn checkpoint(&self, job: &str) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;
    fn save_checkpoint(
        &self,
        job: &str,
        checkpoint: &Checkpoint,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One e-mail sent about an invoice, for its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailLog {
    pub invoice_id: String,
    /// SES's message id.
    pub message_id: String,
    pub to: String,
    /// `closing` (act and invoice), `reminder` (a renewal invoice), `invoice` (an unpaid invoice
    /// sent again by an operator).
    pub mail: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Where sent e-mails are noted (best effort: the e-mail is out either way).
pub trait MailJournal: Send + Sync {
    fn log_mail(&self, entry: &MailLog) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Notes a sent e-mail; a failure is logged, not returned.
    fn note_mail(&self, entry: MailLog) -> impl Future<Output = ()> + Send {
        async move {
            if let Err(e) = self.log_mail(&entry).await {
                tracing::warn!(invoice = %entry.invoice_id, message_id = %entry.message_id, error = %e, "sent e-mail not noted in the invoice's history");
            }
        }
    }
}

/// Who did a manual action, when, what and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// `aud_…` (time-ordered).
    pub id: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The IAM principal's ARN, or `api-key:<name>` on the local stack.
    pub actor: String,
    /// `invoice.void`, `invoice.mark_paid`, `invoice.resolve_review`, `invoice.resend`,
    /// `invoice.create`, `webhook.replay`, `webhook_endpoint.create|update|delete`,
    /// `statement.import`.
    pub action: String,
    /// `invoice:<id>`, `webhook_endpoint:<id>`, `event:<id>` or `statement:<id>`.
    pub target: String,
    /// The invoice whose history shows this entry, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What changed, e.g. `{"from": "issued", "to": "void"}`.
    #[serde(default)]
    pub details: serde_json::Value,
}

impl AuditEntry {
    pub fn new(
        at: chrono::DateTime<chrono::Utc>,
        actor: &str,
        action: &str,
        target: String,
        reason: Option<String>,
        details: serde_json::Value,
    ) -> Self {
        AuditEntry {
            id: format!("aud_{}", uuid::Uuid::now_v7().simple()),
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target,
            invoice_id: None,
            reason,
            details,
        }
    }
}

/// One line of an invoice's history, oldest first.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryEntry {
    /// A domain event about the invoice (`invoice.issued`, `invoice.paid`, `invoice.voided`, …).
    Event {
        at: chrono::DateTime<chrono::Utc>,
        event_id: String,
        #[serde(rename = "type")]
        event_type: String,
    },
    /// A payment received for it (`outcome`: `paid`, `mismatch`, `unapplied`).
    Payment {
        at: chrono::DateTime<chrono::Utc>,
        provider: String,
        payment_id: String,
        /// Kopecks.
        amount: i64,
        currency: String,
        outcome: String,
    },
    /// A manual action.
    Audit {
        at: chrono::DateTime<chrono::Utc>,
        audit_id: String,
        action: String,
        actor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An e-mail sent about it.
    Email {
        at: chrono::DateTime<chrono::Utc>,
        message_id: String,
        to: String,
        mail: String,
    },
}

impl HistoryEntry {
    pub fn at(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            HistoryEntry::Event { at, .. }
            | HistoryEntry::Payment { at, .. }
            | HistoryEntry::Audit { at, .. }
            | HistoryEntry::Email { at, .. } => *at,
        }
    }
}

/// An invoice with what happened to it since it was issued, as the table keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceRecord {
    pub invoice: Invoice,
    pub paid_at: Option<chrono::DateTime<chrono::Utc>>,
    pub fulfilled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub act_key: Option<String>,
    pub review_reason: Option<String>,
    /// The payment that sent it to review (recorded on the invoice since the management API).
    pub review_payment: Option<crate::payments::PaymentNotice>,
    pub email_message_id: Option<String>,
    pub void_reason: Option<String>,
}

/// A subscription as an operator reads it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubscriptionState {
    pub account: String,
    pub plan: String,
    /// `active` or `expired`.
    pub status: String,
    pub period_start: chrono::NaiveDate,
    /// Exclusive: access lasts until this day starts.
    pub period_end: chrono::NaiveDate,
    pub quantity: u32,
    pub last_invoice_id: Option<String>,
    /// The renewal invoice of the current period end, once issued.
    pub renewal_invoice_id: Option<String>,
}

/// One page of a listing, and the cursor of the next page if there may be one.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// What a manual move records on the invoice, besides its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    VoidReason,
    VoidedAt,
    VoidedBy,
    /// How a review was settled: `paid` or `refund_needed`.
    Resolution,
    PaidAt,
    PaymentProvider,
    PaymentId,
    /// The operator's reference for money seen outside a provider (a bank order, a receipt).
    PaymentReference,
    PaidBy,
}

/// A manual move of an invoice: the status change (if the invoice is still in one of `from`),
/// the facts it records, the payment it records (if any), its event and its audit entry, all
/// in one transaction.
#[derive(Clone, Debug)]
pub struct ManualChange<'a> {
    pub invoice: &'a Invoice,
    pub from: &'a [crate::domain::Status],
    pub to: crate::domain::Status,
    pub facts: Vec<(Fact, String)>,
    /// A payment put once with the move (outcome `paid`): marking paid by hand.
    pub payment: Option<&'a crate::payments::PaymentNotice>,
    pub event: &'a OutboxEvent,
    pub audit: &'a AuditEntry,
}

/// Changes to a webhook endpoint's settings; `None` leaves a setting as it is.
#[derive(Clone, Default, PartialEq, serde::Serialize)]
pub struct EndpointPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<crate::webhooks::Condition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Set by the service with a new `secret`: the one it replaces, and until when it still signs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl std::fmt::Debug for EndpointPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("EndpointPatch")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("conditions", &self.conditions)
            .field("fields", &self.fields)
            .field("enabled", &self.enabled)
            .field("secret", &redacted(&self.secret))
            .field("previous_secret", &redacted(&self.previous_secret))
            .field("previous_secret_until", &self.previous_secret_until)
            .finish()
    }
}

impl EndpointPatch {
    pub fn is_empty(&self) -> bool {
        *self == EndpointPatch::default()
    }

    /// The endpoint with this patch applied.
    pub fn applied_to(&self, mut endpoint: crate::webhooks::Endpoint) -> crate::webhooks::Endpoint {
        let p = self.clone();
        endpoint.url = p.url.unwrap_or(endpoint.url);
        endpoint.events = p.events.unwrap_or(endpoint.events);
        endpoint.conditions = p.conditions.unwrap_or(endpoint.conditions);
        endpoint.fields = p.fields.unwrap_or(endpoint.fields);
        endpoint.enabled = p.enabled.unwrap_or(endpoint.enabled);
        endpoint.secret = p.secret.unwrap_or(endpoint.secret);
        endpoint
    }
}

/// Why an endpoint change was not made.
#[derive(Debug, thiserror::Error)]
pub enum EndpointChangeError {
    #[error("an endpoint with this id exists")]
    Exists,
    #[error("no such endpoint")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What operators and the vendor's backend read and do by hand (the management API).
pub trait AdminStore: InvoiceReader + PaymentStore + WebhookStore + MailJournal {
    /// Whether a listing cursor is one this store could have handed out.
    fn valid_cursor(&self, cursor: &str) -> bool;

    /// The invoice with its fulfilment and review facts.
    fn invoice_record(&self, id: &str) -> impl Future<Output = Result<Option<InvoiceRecord>, StoreError>> + Send;

    /// The account's invoices, newest first (gsi1).
    fn invoices_of_account(
        &self,
        account: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Invoice>, StoreError>> + Send;

    /// Invoices in a status, by due date (gsi2).
    fn invoices_with_status(
        &self,
        status: crate::domain::Status,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Invoice>, StoreError>> + Send;

    /// The account's subscriptions, by plan (gsi1).
    fn subscriptions_of_account(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<SubscriptionState>, StoreError>> + Send;

    /// Events, payments, manual actions and e-mails about the invoice, oldest first.
    fn history(&self, invoice_id: &str) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send;

    /// An event from the outbox (sent or not).
    fn outbox_event(&self, event_id: &str) -> impl Future<Output = Result<Option<OutboxEvent>, StoreError>> + Send;

    /// Every delivery attempt of an event, to every endpoint.
    fn deliveries(&self, event_id: &str) -> impl Future<Output = Result<Vec<AttemptLog>, StoreError>> + Send;

    /// Applies a manual move in one transaction; `false` when the invoice is no longer in one
    /// of `change.from` (nothing written).
    fn apply_manual(&self, change: &ManualChange<'_>) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Puts an audit entry, with its event if any, in one transaction (actions with no state
    /// change of their own in the table: a resend, a replay, an invoice issued through the API).
    fn record_action(
        &self,
        entry: &AuditEntry,
        event: Option<&OutboxEvent>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The audit log, newest first.
    fn audit_log(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<AuditEntry>, StoreError>> + Send;

    /// Puts a new endpoint (also over a deleted one's tombstone) with its audit entry.
    fn create_endpoint(
        &self,
        endpoint: &crate::webhooks::Endpoint,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<(), EndpointChangeError>> + Send;

    /// Writes the patched settings of an existing endpoint (only those: a concurrent change of
    /// another setting, or delivery disabling it meanwhile, is kept) with its audit entry;
    /// enabling it clears its failure record.
    fn update_endpoint(
        &self,
        id: &str,
        patch: &EndpointPatch,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<(), EndpointChangeError>> + Send;

    /// Deletes an endpoint, leaving a tombstone so that a configured endpoint is not seeded
    /// again on the next cold start.
    fn delete_endpoint(
        &self,
        id: &str,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<(), EndpointChangeError>> + Send;
}
