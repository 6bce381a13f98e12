//! The management service: what the vendor's backend and the operators do by hand. Every action
//! goes through the invoice's state machine, writes its domain event to the outbox and leaves an
//! audit entry. A state change, its event and its audit entry are one transaction; actions that
//! change nothing in the table of their own (a resend, a replay, an invoice issued through the
//! API) are audited once they happened.

use crate::delivery::{NoRetries, ReplayError, Replayed, Webhooks};
use crate::domain::{Invoice, InvoiceNumber, Order, Status};
use crate::http::links::Links;
use crate::mail::{ClosingMail, InvoiceMail};
use crate::payments::{InvoiceRef, PaymentNotice};
use crate::ports::{
    AdminStore, AttemptLog, AuditEntry, DocumentStore, EndpointChangeError, EndpointPatch, EndpointRecord, Fact,
    FulfilStore, HistoryEntry, InvoiceIssuer, InvoiceRecord, MailLog, Mailer, ManualChange, OutboxEvent, Page,
    SendError, StoreError, SubscriptionState, WebhookSender,
};
use crate::service::{CreateError, Invoices, Issued};
use crate::webhooks::{Endpoint, WebhookError};
use chrono::{DateTime, Utc};
use serde_json::json;

/// The provider name of payments recorded by hand.
pub const MANUAL: &str = "manual";

/// Longer references name nothing (and would not fit a table key).
const MAX_REFERENCE: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invoice not found")]
    InvoiceNotFound,
    #[error("event not found")]
    EventNotFound,
    #[error("webhook endpoint not found")]
    EndpointNotFound,
    #[error("an endpoint with this id exists")]
    EndpointExists,
    #[error("the endpoint is disabled")]
    EndpointDisabled,
    /// Its events or conditions do not take this event.
    #[error("the endpoint does not take this event")]
    EndpointNotSubscribed,
    /// Its stored URL or secret is unusable (edited by hand).
    #[error("the endpoint is misconfigured: {0}")]
    EndpointMisconfigured(String),
    /// The invoice's status does not allow the action.
    #[error("an invoice in status {status} cannot be {action}")]
    InvalidTransition { status: Status, action: &'static str },
    /// The closing documents do not exist yet (fulfilment has not made the act).
    #[error("the invoice is paid but its act is not made yet")]
    NotFulfilled,
    #[error(transparent)]
    InvalidEndpoint(#[from] WebhookError),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sending the e-mail: {0}")]
    Send(#[from] SendError),
    #[error("building the e-mail: {0}")]
    Mime(#[from] std::io::Error),
    #[error("stored document {0} is missing")]
    MissingDocument(String),
}

impl From<EndpointChangeError> for AdminError {
    fn from(e: EndpointChangeError) -> Self {
        match e {
            EndpointChangeError::Exists => AdminError::EndpointExists,
            EndpointChangeError::NotFound => AdminError::EndpointNotFound,
            EndpointChangeError::Store(e) => AdminError::Store(e),
        }
    }
}

impl From<ReplayError> for AdminError {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::EndpointNotFound => AdminError::EndpointNotFound,
            ReplayError::EndpointDisabled => AdminError::EndpointDisabled,
            ReplayError::NotSubscribed => AdminError::EndpointNotSubscribed,
            ReplayError::Misconfigured(why) => AdminError::EndpointMisconfigured(why),
            ReplayError::Store(e) => AdminError::Store(e),
        }
    }
}

/// An invoice with everything that happened to it.
#[derive(Debug)]
pub struct InvoiceDetail {
    pub record: InvoiceRecord,
    pub history: Vec<HistoryEntry>,
    /// Webhook attempts of the invoice's events, in the order of the events.
    pub deliveries: Vec<AttemptLog>,
}

/// The invoice after an action, and what the action wrote.
#[derive(Debug)]
pub struct Done {
    pub invoice: Invoice,
    /// Whether its act exists (its link can be shown).
    pub act: bool,
    pub audit_id: String,
    pub event_id: String,
}

/// What a resend sent.
#[derive(Debug)]
pub struct Resent {
    pub message_id: String,
    pub to: String,
    /// `closing` or `invoice`.
    pub mail: &'static str,
    pub audit_id: String,
    pub event_id: String,
}

/// How an operator settles an invoice whose payment did not match it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Accept the payment: the invoice is paid and fulfilled.
    Paid,
    /// Refuse it: the invoice is voided and the money is to be returned.
    RefundNeeded,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Paid => "paid",
            Resolution::RefundNeeded => "refund_needed",
        }
    }
}

/// A new `whsec_…` secret from the OS's randomness.
pub fn new_secret() -> Result<String, StoreError> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| StoreError(format!("no randomness: {e}")))?;
    Ok(crate::webhooks::Secret::generate(random).1)
}

/// A payment an operator records: the full amount, under a fresh id.
/// What an operator records by hand: the balance due (the total, unless transfers paid a part).
fn manual_payment(invoice: &Invoice) -> PaymentNotice {
    PaymentNotice {
        provider: MANUAL,
        payment_id: format!("manual_{}", uuid::Uuid::now_v7().simple()),
        invoice: InvoiceRef::Id(invoice.id.clone()),
        amount: invoice.balance_due(),
        currency: invoice.currency.clone(),
        succeeded: true,
    }
}

/// The invoice number a reference gives, if it is one. Ids first: some UUIDs also read as a
/// prefixed number (`0190…-7abc-8123-123456789012`).
fn as_number(reference: &str) -> Option<InvoiceNumber> {
    match uuid::Uuid::parse_str(reference) {
        Ok(_) => None,
        Err(_) => reference.parse().ok(),
    }
}

fn void_facts(reason: &str, actor: &str, now: DateTime<Utc>) -> Vec<(Fact, String)> {
    vec![
        (Fact::VoidReason, reason.to_owned()),
        (Fact::VoidedAt, now.to_rfc3339()),
        (Fact::VoidedBy, actor.to_owned()),
    ]
}

pub struct Admin<S, D, M, H> {
    /// The store, the documents, the catalogue and the clock (issuing goes through it).
    pub invoices: Invoices<S, D>,
    pub mailer: M,
    /// Replays go through webhook delivery's own signing and logging.
    pub webhooks: Webhooks<S, H, NoRetries>,
    pub links: Links,
    /// The verified sender address.
    pub from: String,
}

impl<S, D, M, H> Admin<S, D, M, H>
where
    S: AdminStore + FulfilStore + InvoiceIssuer,
    D: DocumentStore,
    M: Mailer,
    H: WebhookSender,
{
    fn store(&self) -> &S {
        &self.invoices.store
    }

    fn now(&self) -> DateTime<Utc> {
        self.invoices.clock.now()
    }

    /// An audit entry about `invoice`, shown in its history.
    fn audit(
        now: DateTime<Utc>,
        actor: &str,
        action: &str,
        invoice: &Invoice,
        reason: Option<&str>,
        details: serde_json::Value,
    ) -> AuditEntry {
        let target = format!("invoice:{}", invoice.id);
        AuditEntry {
            invoice_id: Some(invoice.id.clone()),
            ..AuditEntry::new(now, actor, action, target, reason.map(str::to_owned), details)
        }
    }

    /// Whether a listing cursor could be one of ours (an unusable one is a client's mistake).
    pub fn valid_cursor(&self, cursor: &str) -> bool {
        self.store().valid_cursor(cursor)
    }

    /// The invoice an id or a number (`2026-000123`) names.
    pub async fn find(&self, reference: &str) -> Result<Invoice, AdminError> {
        let id = self.find_id(reference).await?;
        self.store().get_invoice(&id).await?.ok_or(AdminError::InvoiceNotFound)
    }

    /// The invoice with its recorded facts, in one read.
    async fn find_record(&self, reference: &str) -> Result<InvoiceRecord, AdminError> {
        let id = self.find_id(reference).await?;
        self.store()
            .invoice_record(&id)
            .await?
            .ok_or(AdminError::InvoiceNotFound)
    }

    async fn find_id(&self, reference: &str) -> Result<String, AdminError> {
        if reference.is_empty() || reference.len() > MAX_REFERENCE {
            return Err(AdminError::InvoiceNotFound);
        }
        match as_number(reference) {
            Some(number) => self
                .store()
                .invoice_id_by_number(&number.to_string())
                .await?
                .ok_or(AdminError::InvoiceNotFound),
            None => Ok(reference.to_owned()),
        }
    }

    /// Issues an invoice for the vendor's backend or an operator (as `POST /invoices` does).
    pub async fn create(&self, order: &Order, key: Option<&str>, actor: &str) -> Result<Issued, AdminError> {
        let issued = self.invoices.create(order, key).await?;
        if !issued.replayed {
            let invoice = &issued.invoice;
            let details = json!({"number": invoice.number.to_string(), "total": invoice.total.0});
            let entry = Self::audit(self.now(), actor, "invoice.create", invoice, None, details);
            // The invoice stands either way; a lost audit entry is logged, not turned into an error.
            if let Err(e) = self.store().record_action(&entry, None).await {
                tracing::error!(invoice = %invoice.id, error = %e, "invoice issued but its audit entry was not written");
            }
        }
        Ok(issued)
    }

    pub async fn detail(&self, reference: &str) -> Result<InvoiceDetail, AdminError> {
        let record = self.find_record(reference).await?;
        let history = self.store().history(&record.invoice.id).await?;
        let events: Vec<&str> = history
            .iter()
            .filter_map(|h| match h {
                HistoryEntry::Event { event_id, .. } => Some(event_id.as_str()),
                _ => None,
            })
            .collect();
        let mut deliveries = Vec::new();
        for attempts in futures_util::future::join_all(events.iter().map(|id| self.store().deliveries(id))).await {
            deliveries.extend(attempts?);
        }
        Ok(InvoiceDetail {
            record,
            history,
            deliveries,
        })
    }

    /// Applies a manual move; refused (nothing written) when the invoice is not in `from`.
    async fn apply(&self, change: ManualChange<'_>, action: &'static str) -> Result<Done, AdminError> {
        let invoice = change.invoice;
        if !change.from.contains(&invoice.status) {
            return Err(AdminError::InvalidTransition {
                status: invoice.status,
                action,
            });
        }
        if !self.store().apply_manual(&change).await? {
            // It moved meanwhile: report where it is now.
            let now = self
                .store()
                .get_invoice(&invoice.id)
                .await?
                .ok_or(AdminError::InvoiceNotFound)?;
            return Err(AdminError::InvalidTransition {
                status: now.status,
                action,
            });
        }
        tracing::info!(invoice = %invoice.id, number = %invoice.number, to = %change.to, actor = %change.audit.actor, "manual action applied");
        match change.to {
            Status::Paid => {
                let provider = change.event.detail["data"]["payment"]["provider"].as_str();
                crate::metrics::count("PaymentsRecorded", provider.unwrap_or(MANUAL));
            }
            Status::Void => crate::metrics::count("InvoicesVoided", MANUAL),
            _ => {}
        }
        // Done for good: what follows only describes it, and must not turn it into an error.
        let after = match self.store().get_invoice(&invoice.id).await {
            Ok(Some(after)) => after,
            _ => Invoice {
                status: change.to,
                ..invoice.clone()
            },
        };
        let act = matches!(self.store().act_key(&invoice.id).await, Ok(Some(_)));
        Ok(Done {
            invoice: after,
            act,
            audit_id: change.audit.id.clone(),
            event_id: change.event.id.clone(),
        })
    }

    /// Voids an unpaid invoice (`invoice.voided`).
    pub async fn void(&self, reference: &str, actor: &str, reason: &str) -> Result<Done, AdminError> {
        let invoice = self.find(reference).await?;
        let now = self.now();
        let event = crate::events::invoice_voided(&invoice, actor, reason, false, None, now);
        let details = json!({"from": invoice.status, "to": Status::Void});
        let audit = Self::audit(now, actor, "invoice.void", &invoice, Some(reason), details);
        let change = ManualChange {
            invoice: &invoice,
            from: &[Status::Issued, Status::Overdue],
            to: Status::Void,
            facts: void_facts(reason, actor, now),
            payment: None,
            event: &event,
            audit: &audit,
        };
        self.apply(change, "voided").await
    }

    /// Marks an unpaid invoice paid by hand: a `manual` payment of the full amount, then the
    /// same `invoice.paid` as after a callback, so fulfilment and webhooks follow.
    pub async fn mark_paid(
        &self,
        reference: &str,
        actor: &str,
        reason: &str,
        payment_reference: Option<&str>,
    ) -> Result<Done, AdminError> {
        let invoice = self.find(reference).await?;
        let payment = manual_payment(&invoice);
        let paid = Paid {
            invoice: &invoice,
            payment: &payment,
            record: true,
            reference: payment_reference,
            from: &[Status::Issued, Status::Overdue, Status::PartiallyPaid],
        };
        let details = json!({
            "from": invoice.status, "to": Status::Paid, "amount": payment.amount.0,
            "payment_id": payment.payment_id, "reference": payment_reference,
        });
        self.pay(paid, actor, "invoice.mark_paid", reason, details).await
    }

    async fn pay(
        &self,
        paid: Paid<'_>,
        actor: &str,
        action: &str,
        reason: &str,
        details: serde_json::Value,
    ) -> Result<Done, AdminError> {
        let (invoice, payment) = (paid.invoice, paid.payment);
        let now = self.now();
        let event = crate::events::invoice_marked_paid(invoice, payment, actor, paid.reference, now);
        let audit = Self::audit(now, actor, action, invoice, Some(reason), details);
        let mut facts = vec![
            (Fact::PaidAt, now.to_rfc3339()),
            (Fact::PaymentProvider, payment.provider.to_owned()),
            (Fact::PaymentId, payment.payment_id.clone()),
            (Fact::PaidBy, actor.to_owned()),
        ];
        if let Some(r) = paid.reference {
            facts.push((Fact::PaymentReference, r.to_owned()));
        }
        let change = ManualChange {
            invoice,
            from: paid.from,
            to: Status::Paid,
            facts,
            payment: paid.record.then_some(payment),
            event: &event,
            audit: &audit,
        };
        self.apply(change, "paid").await
    }

    /// Settles an invoice under review: accept its payment, or void it for a refund.
    pub async fn resolve(
        &self,
        reference: &str,
        actor: &str,
        resolution: Resolution,
        reason: &str,
    ) -> Result<Done, AdminError> {
        let record = self.find_record(reference).await?;
        let invoice = &record.invoice;
        if invoice.status != Status::NeedsReview {
            return Err(AdminError::InvalidTransition {
                status: invoice.status,
                action: "resolved",
            });
        }
        let reviewed = self.reviewed_payment(&record).await?;
        let details = json!({
            "resolution": resolution.as_str(),
            "payment_id": reviewed.as_ref().map(|p| &p.payment_id),
        });
        match resolution {
            Resolution::Paid => {
                // Accepted as it is (it is on file already, as a mismatch). Without one on file
                // (an invoice sent to review before payments were noted on it) the operator's
                // decision is recorded as a manual payment, so that nothing is paid by a phantom.
                let (payment, record) = match reviewed {
                    Some(p) => (p, false),
                    None => (manual_payment(invoice), true),
                };
                let paid = Paid {
                    invoice,
                    payment: &payment,
                    record,
                    reference: None,
                    from: &[Status::NeedsReview],
                };
                self.pay(paid, actor, "invoice.resolve_review", reason, details).await
            }
            Resolution::RefundNeeded => {
                let now = self.now();
                let event = crate::events::invoice_voided(invoice, actor, reason, true, reviewed.as_ref(), now);
                let audit = Self::audit(now, actor, "invoice.resolve_review", invoice, Some(reason), details);
                let mut facts = void_facts(reason, actor, now);
                facts.push((Fact::Resolution, resolution.as_str().to_owned()));
                let change = ManualChange {
                    invoice,
                    from: &[Status::NeedsReview],
                    to: Status::Void,
                    facts,
                    payment: None,
                    event: &event,
                    audit: &audit,
                };
                self.apply(change, "resolved").await
            }
        }
    }

    /// The payment that sent the invoice to review: as noted on the invoice, else the last
    /// mismatched one in its history.
    async fn reviewed_payment(&self, record: &InvoiceRecord) -> Result<Option<PaymentNotice>, AdminError> {
        if record.review_payment.is_some() {
            return Ok(record.review_payment.clone());
        }
        let invoice = &record.invoice;
        let history = self.store().history(&invoice.id).await?;
        Ok(history.into_iter().rev().find_map(|h| match h {
            HistoryEntry::Payment {
                provider,
                payment_id,
                amount,
                currency,
                outcome,
                ..
            } if outcome == "mismatch" => Some(PaymentNotice {
                provider: crate::payments::provider_name(&provider)?,
                payment_id,
                invoice: InvoiceRef::Id(invoice.id.clone()),
                amount: crate::domain::Kopecks(amount),
                currency,
                succeeded: true,
            }),
            _ => None,
        }))
    }

    /// E-mails the documents again: a paid invoice's closing documents, or an unpaid invoice
    /// with its PDF and page link (`base`: the public URL the link starts with). Checked before
    /// anything is read or written: a refusal changes nothing.
    pub async fn resend(
        &self,
        reference: &str,
        actor: &str,
        to: Option<&str>,
        reason: Option<&str>,
        base: &str,
    ) -> Result<Resent, AdminError> {
        let invoice = self.find(reference).await?;
        let closing = match invoice.status {
            Status::Paid => {
                let state = self.store().fulfilment(&invoice.id).await?;
                match (state.act_key, state.extension) {
                    (Some(act_key), Some(extension)) => Some((act_key, extension)),
                    _ => return Err(AdminError::NotFulfilled),
                }
            }
            Status::Issued | Status::Overdue => None,
            status => {
                return Err(AdminError::InvalidTransition {
                    status,
                    action: "sent again",
                });
            }
        };
        // The letter is addressed to whoever receives it.
        let mut addressed = invoice.clone();
        if let Some(to) = to {
            addressed.buyer.email = to.to_owned();
        }
        let invoice_pdf = match self.invoices.ensure_pdf(&invoice).await? {
            Some(pdf) => pdf,
            None => self.document(&invoice.pdf_key()).await?,
        };
        let (mail, mime) = match closing {
            Some((act_key, extension)) => {
                let act_pdf = self.document(&act_key).await?;
                let letter = ClosingMail {
                    invoice: &addressed,
                    period: extension.covered,
                    from: &self.from,
                    invoice_pdf: &invoice_pdf,
                    act_pdf: &act_pdf,
                };
                ("closing", letter.to_mime()?)
            }
            None => {
                let url = self.links.invoice_url(base, &invoice.id);
                let letter = InvoiceMail {
                    invoice: &addressed,
                    invoice_url: &url,
                    from: &self.from,
                    invoice_pdf: &invoice_pdf,
                };
                ("invoice", letter.to_mime()?)
            }
        };
        let recipient = addressed.buyer.email.clone();
        let message_id = self.mailer.send_raw(&recipient, mime).await?;
        let now = self.now();
        tracing::info!(invoice = %invoice.id, message_id = %message_id, mail, "documents e-mailed again by an operator");
        crate::metrics::count("EmailsSent", mail);
        self.store()
            .note_mail(MailLog {
                invoice_id: invoice.id.clone(),
                message_id: message_id.clone(),
                to: recipient.clone(),
                mail: mail.into(),
                at: now,
            })
            .await;
        let event = crate::events::invoice_documents_resent(&invoice, &recipient, mail, &message_id, actor, now);
        let details = json!({"to": recipient, "mail": mail, "message_id": message_id});
        let audit = Self::audit(now, actor, "invoice.resend", &invoice, reason, details);
        // The e-mail is out: a failure from here on must not invite a retry that sends it again.
        if let Err(e) = self.store().record_action(&audit, Some(&event)).await {
            tracing::error!(invoice = %invoice.id, message_id = %message_id, error = %e, "documents resent, but the audit entry and event were not written");
        }
        Ok(Resent {
            message_id,
            to: recipient,
            mail,
            audit_id: audit.id,
            event_id: event.id,
        })
    }

    async fn document(&self, key: &str) -> Result<Vec<u8>, AdminError> {
        self.invoices
            .documents
            .get_pdf(key)
            .await?
            .ok_or_else(|| AdminError::MissingDocument(key.to_owned()))
    }

    /// An event as it was announced, with every delivery attempt.
    pub async fn event(&self, event_id: &str) -> Result<(OutboxEvent, Vec<AttemptLog>), AdminError> {
        if event_id.is_empty() || event_id.len() > MAX_REFERENCE {
            return Err(AdminError::EventNotFound);
        }
        let event = self
            .store()
            .outbox_event(event_id)
            .await?
            .ok_or(AdminError::EventNotFound)?;
        let deliveries = self.store().deliveries(event_id).await?;
        Ok((event, deliveries))
    }

    /// Sends an event to an endpoint that takes it once more, numbered after its earlier
    /// attempts there.
    pub async fn replay(
        &self,
        event_id: &str,
        endpoint_id: &str,
        actor: &str,
    ) -> Result<(Replayed, String), AdminError> {
        let (event, deliveries) = self.event(event_id).await?;
        let attempt = deliveries
            .iter()
            .filter(|d| d.endpoint_id == endpoint_id)
            .map(|d| d.attempt)
            .max()
            .unwrap_or(0)
            + 1;
        let replayed = self.webhooks.replay(endpoint_id, &event.detail, attempt).await?;
        let details = json!({
            "endpoint_id": endpoint_id, "attempt": attempt,
            "status": replayed.status, "delivered": replayed.delivered,
        });
        let mut audit = AuditEntry::new(
            self.now(),
            actor,
            "webhook.replay",
            format!("event:{event_id}"),
            None,
            details,
        );
        audit.invoice_id = event.detail["data"]["invoice_id"].as_str().map(str::to_owned);
        // Sent: the answer reports it even if the audit entry could not be written.
        if let Err(e) = self.store().record_action(&audit, None).await {
            tracing::error!(event = %event_id, endpoint = %endpoint_id, error = %e, "replayed, but the audit entry was not written");
        }
        Ok((replayed, audit.id))
    }

    pub async fn endpoints(&self) -> Result<Vec<EndpointRecord>, AdminError> {
        Ok(self.store().endpoints().await?)
    }

    pub async fn endpoint(&self, id: &str) -> Result<EndpointRecord, AdminError> {
        if id.is_empty() || id.len() > MAX_REFERENCE {
            return Err(AdminError::EndpointNotFound);
        }
        self.store().endpoint(id).await?.ok_or(AdminError::EndpointNotFound)
    }

    fn endpoint_audit(&self, actor: &str, action: &str, id: &str, details: serde_json::Value) -> AuditEntry {
        AuditEntry::new(
            self.now(),
            actor,
            action,
            format!("webhook_endpoint:{id}"),
            None,
            details,
        )
    }

    /// Adds an endpoint (with a generated secret unless one is given); returns it with its secret.
    pub async fn create_endpoint(&self, mut endpoint: Endpoint, actor: &str) -> Result<Endpoint, AdminError> {
        if endpoint.secret.is_empty() {
            endpoint.secret = new_secret()?;
        }
        endpoint.validate(self.webhooks.policy)?;
        let details = json!({
            "url": endpoint.url, "events": endpoint.events, "conditions": endpoint.conditions,
            "fields": endpoint.fields, "enabled": endpoint.enabled,
        });
        let audit = self.endpoint_audit(actor, "webhook_endpoint.create", &endpoint.id, details);
        self.store().create_endpoint(&endpoint, &audit).await?;
        Ok(endpoint)
    }

    /// Changes the given settings only (checked together with the others); an empty patch
    /// changes nothing.
    pub async fn update_endpoint(
        &self,
        id: &str,
        patch: EndpointPatch,
        actor: &str,
    ) -> Result<EndpointRecord, AdminError> {
        let current = self.endpoint(id).await?;
        if patch.is_empty() {
            return Ok(current);
        }
        let mut patch = patch;
        let rotated = patch.secret.as_ref().is_some_and(|new| *new != current.endpoint.secret);
        patch
            .applied_to(current.endpoint.clone())
            .validate(self.webhooks.policy)?;
        // The audit entry never carries a secret.
        let shown = EndpointPatch {
            secret: None,
            previous_secret: None,
            ..patch.clone()
        };
        let mut details = serde_json::to_value(&shown).unwrap_or_default();
        details["secret_rotated"] = json!(rotated);
        if rotated {
            // The old secret keeps signing beside the new one for a while (Standard Webhooks'
            // several signatures), so the receiver can switch without refusing a delivery.
            let until = self.now() + crate::webhooks::ROTATION_OVERLAP;
            patch.previous_secret = Some(current.endpoint.secret);
            patch.previous_secret_until = Some(until);
            details["previous_secret_until"] = json!(until);
        }
        let audit = self.endpoint_audit(actor, "webhook_endpoint.update", id, details);
        self.store().update_endpoint(id, &patch, &audit).await?;
        self.endpoint(id).await
    }

    pub async fn delete_endpoint(&self, id: &str, actor: &str) -> Result<(), AdminError> {
        if id.is_empty() || id.len() > MAX_REFERENCE {
            return Err(AdminError::EndpointNotFound);
        }
        let audit = self.endpoint_audit(actor, "webhook_endpoint.delete", id, json!({}));
        Ok(self.store().delete_endpoint(id, &audit).await?)
    }

    pub async fn invoices_of_account(
        &self,
        account: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Invoice>, AdminError> {
        Ok(self.store().invoices_of_account(account, limit, cursor).await?)
    }

    pub async fn invoices_with_status(
        &self,
        status: Status,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Invoice>, AdminError> {
        Ok(self.store().invoices_with_status(status, limit, cursor).await?)
    }

    pub async fn subscriptions_of_account(&self, account: &str) -> Result<Vec<SubscriptionState>, AdminError> {
        Ok(self.store().subscriptions_of_account(account).await?)
    }

    pub async fn audit_log(&self, limit: usize, cursor: Option<&str>) -> Result<Page<AuditEntry>, AdminError> {
        Ok(self.store().audit_log(limit, cursor).await?)
    }
}

/// How an invoice gets paid by an operator's decision.
struct Paid<'a> {
    invoice: &'a Invoice,
    payment: &'a PaymentNotice,
    /// Record the payment with the move (not when it is on file already).
    record: bool,
    /// The operator's reference for the money.
    reference: Option<&'a str>,
    from: &'a [Status],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_ids_before_numbers() {
        let id = "0190a1b2-c3d4-7abc-8123-123456789012";
        assert!(id.parse::<InvoiceNumber>().is_ok(), "this id also reads as a number");
        assert_eq!(as_number(id), None);
        assert_eq!(as_number("2026-000123").map(|n| n.seq), Some(123));
        assert_eq!(as_number("АБ-2026-000007").map(|n| n.prefix), Some("АБ-".to_owned()));
        assert_eq!(as_number("nonsense"), None);
    }
}
