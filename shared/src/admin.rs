//! The management service: what the vendor's backend and the operators do by hand. Every action
//! goes through the invoice's state machine, writes its domain event to the outbox and leaves an
//! audit entry; state changes and their audit entries are written in one transaction.

use crate::delivery::{NoRetries, ReplayError, Replayed, Webhooks};
use crate::domain::{Invoice, InvoiceNumber, Order, Status};
use crate::http::links::Links;
use crate::mail::{ClosingMail, InvoiceMail};
use crate::payments::{InvoiceRef, PaymentNotice};
use crate::ports::{
    AdminStore, AttemptLog, AuditEntry, DocumentStore, EndpointChangeError, EndpointRecord, FulfilStore, HistoryEntry,
    InvoiceIssuer, InvoiceRecord, MailLog, Mailer, ManualChange, OutboxEvent, Page, SendError, StoreError,
    SubscriptionState, WebhookSender,
};
use crate::service::{CreateError, Invoices, Issued};
use crate::webhooks::{Endpoint, UrlPolicy, WebhookError};
use serde_json::json;

/// The provider name of payments recorded by hand.
pub const MANUAL: &str = "manual";

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
            ReplayError::Misconfigured(why) => AdminError::InvalidEndpoint(WebhookError::Endpoint(why)),
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
    pub audit_id: String,
    pub event_id: Option<String>,
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

/// Changes to an endpoint; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub conditions: Option<Vec<crate::webhooks::Condition>>,
    pub fields: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub secret: Option<String>,
}

/// A new `whsec_…` secret from the OS's randomness.
pub fn new_secret() -> Result<String, StoreError> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| StoreError(format!("no randomness: {e}")))?;
    Ok(crate::webhooks::Secret::generate(random).1)
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

fn target(invoice: &Invoice) -> String {
    format!("invoice:{}", invoice.id)
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

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.invoices.clock.now()
    }

    fn audit(
        &self,
        actor: &str,
        action: &str,
        invoice: &Invoice,
        reason: Option<&str>,
        details: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            invoice_id: Some(invoice.id.clone()),
            ..AuditEntry::new(
                self.now(),
                actor,
                action,
                target(invoice),
                reason.map(str::to_owned),
                details,
            )
        }
    }

    /// The invoice an id or a number (`2026-000123`) names.
    pub async fn find(&self, reference: &str) -> Result<Invoice, AdminError> {
        let id = match reference.parse::<InvoiceNumber>() {
            Ok(number) => self
                .store()
                .invoice_id_by_number(&number.to_string())
                .await?
                .ok_or(AdminError::InvoiceNotFound)?,
            Err(_) => reference.to_owned(),
        };
        self.store().get_invoice(&id).await?.ok_or(AdminError::InvoiceNotFound)
    }

    /// Issues an invoice for the vendor's backend or an operator (as `POST /invoices` does).
    pub async fn create(&self, order: &Order, key: Option<&str>, actor: &str) -> Result<Issued, AdminError> {
        let issued = self.invoices.create(order, key).await?;
        if !issued.replayed {
            let details = json!({"number": issued.invoice.number.to_string(), "total": issued.invoice.total.0});
            let entry = self.audit(actor, "invoice.create", &issued.invoice, None, details);
            // The invoice stands either way; a lost audit entry is logged, not turned into an error.
            if let Err(e) = self.store().record_action(&entry, None).await {
                tracing::error!(invoice = %issued.invoice.id, error = %e, "invoice issued but its audit entry was not written");
            }
        }
        Ok(issued)
    }

    pub async fn detail(&self, reference: &str) -> Result<InvoiceDetail, AdminError> {
        let invoice = self.find(reference).await?;
        let record = self
            .store()
            .invoice_record(&invoice.id)
            .await?
            .ok_or(AdminError::InvoiceNotFound)?;
        let history = self.store().history(&invoice.id).await?;
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
        let after = self
            .store()
            .get_invoice(&invoice.id)
            .await?
            .ok_or(AdminError::InvoiceNotFound)?;
        Ok(Done {
            invoice: after,
            audit_id: change.audit.id.clone(),
            event_id: Some(change.event.id.clone()),
        })
    }

    /// Voids an unpaid invoice (`invoice.voided`).
    pub async fn void(&self, reference: &str, actor: &str, reason: &str) -> Result<Done, AdminError> {
        let invoice = self.find(reference).await?;
        let now = self.now();
        let event = crate::events::invoice_voided(&invoice, actor, reason, false, None, now);
        let audit = self.audit(
            actor,
            "invoice.void",
            &invoice,
            Some(reason),
            json!({"from": invoice.status, "to": Status::Void}),
        );
        let change = ManualChange {
            invoice: &invoice,
            from: &[Status::Issued, Status::Overdue],
            to: Status::Void,
            set: vec![
                ("void_reason", reason.to_owned()),
                ("voided_at", now.to_rfc3339()),
                ("voided_by", actor.to_owned()),
            ],
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
        let payment = PaymentNotice {
            provider: MANUAL,
            payment_id: format!("manual_{}", uuid::Uuid::now_v7().simple()),
            invoice: InvoiceRef::Id(invoice.id.clone()),
            amount: invoice.total,
            currency: invoice.currency.clone(),
            succeeded: true,
        };
        let details = json!({
            "from": invoice.status, "to": Status::Paid,
            "payment_id": payment.payment_id, "reference": payment_reference,
        });
        let audit = self.audit(actor, "invoice.mark_paid", &invoice, Some(reason), details);
        self.pay(
            &invoice,
            &payment,
            Some(&payment),
            &[Status::Issued, Status::Overdue],
            actor,
            audit,
        )
        .await
    }

    async fn pay(
        &self,
        invoice: &Invoice,
        payment: &PaymentNotice,
        record: Option<&PaymentNotice>,
        from: &[Status],
        actor: &str,
        audit: AuditEntry,
    ) -> Result<Done, AdminError> {
        let now = self.now();
        let event = crate::events::invoice_marked_paid(invoice, payment, actor, now);
        let change = ManualChange {
            invoice,
            from,
            to: Status::Paid,
            set: vec![
                ("paid_at", now.to_rfc3339()),
                ("payment_provider", payment.provider.to_owned()),
                ("payment_id", payment.payment_id.clone()),
                ("paid_by", actor.to_owned()),
            ],
            payment: record,
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
        let invoice = self.find(reference).await?;
        if invoice.status != Status::NeedsReview {
            return Err(AdminError::InvalidTransition {
                status: invoice.status,
                action: "resolved",
            });
        }
        let payment = self.reviewed_payment(&invoice).await?;
        let name = match resolution {
            Resolution::Paid => "paid",
            Resolution::RefundNeeded => "refund_needed",
        };
        let details = json!({"resolution": name, "payment_id": payment.as_ref().map(|p| &p.payment_id)});
        let audit = self.audit(actor, "invoice.resolve_review", &invoice, Some(reason), details);
        match resolution {
            Resolution::Paid => {
                // The payment is on file already (as a mismatch); accepted as it is.
                let payment = payment.unwrap_or_else(|| PaymentNotice {
                    provider: MANUAL,
                    payment_id: format!("manual_{}", uuid::Uuid::now_v7().simple()),
                    invoice: InvoiceRef::Id(invoice.id.clone()),
                    amount: invoice.total,
                    currency: invoice.currency.clone(),
                    succeeded: true,
                });
                self.pay(&invoice, &payment, None, &[Status::NeedsReview], actor, audit)
                    .await
            }
            Resolution::RefundNeeded => {
                let now = self.now();
                let event = crate::events::invoice_voided(&invoice, actor, reason, true, payment.as_ref(), now);
                let change = ManualChange {
                    invoice: &invoice,
                    from: &[Status::NeedsReview],
                    to: Status::Void,
                    set: vec![
                        ("void_reason", reason.to_owned()),
                        ("voided_at", now.to_rfc3339()),
                        ("voided_by", actor.to_owned()),
                        ("resolution", name.to_owned()),
                    ],
                    payment: None,
                    event: &event,
                    audit: &audit,
                };
                self.apply(change, "resolved").await
            }
        }
    }

    /// The payment that sent the invoice to review (the last mismatched one on file).
    async fn reviewed_payment(&self, invoice: &Invoice) -> Result<Option<PaymentNotice>, AdminError> {
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
                provider: crate::payments::provider_name(&provider).unwrap_or(MANUAL),
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
    /// with its PDF and page link (`base`: the public URL the link starts with).
    pub async fn resend(
        &self,
        reference: &str,
        actor: &str,
        to: Option<&str>,
        reason: Option<&str>,
        base: &str,
    ) -> Result<Resent, AdminError> {
        let invoice = self.find(reference).await?;
        // The letter is addressed to whoever receives it.
        let mut addressed = invoice.clone();
        if let Some(to) = to {
            addressed.buyer.email = to.to_owned();
        }
        let invoice_pdf = match self.invoices.ensure_pdf(&invoice).await? {
            Some(pdf) => pdf,
            None => self.document(&invoice.pdf_key()).await?,
        };
        let (mail, mime) = match invoice.status {
            Status::Paid => {
                let state = self.store().fulfilment(&invoice.id).await?;
                let (Some(act_key), Some(extension)) = (state.act_key, state.extension) else {
                    return Err(AdminError::NotFulfilled);
                };
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
            Status::Issued | Status::Overdue => {
                let url = self.links.invoice_url(base, &invoice.id);
                let letter = InvoiceMail {
                    invoice: &addressed,
                    invoice_url: &url,
                    from: &self.from,
                    invoice_pdf: &invoice_pdf,
                };
                ("invoice", letter.to_mime()?)
            }
            status => {
                return Err(AdminError::InvalidTransition {
                    status,
                    action: "sent again",
                });
            }
        };
        let recipient = addressed.buyer.email.clone();
        let message_id = self.mailer.send_raw(&recipient, mime).await?;
        let now = self.now();
        tracing::info!(invoice = %invoice.id, message_id = %message_id, mail, "documents e-mailed again by an operator");
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
        let audit = self.audit(actor, "invoice.resend", &invoice, reason, details);
        self.store().record_action(&audit, Some(&event)).await?;
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
        let event = self
            .store()
            .outbox_event(event_id)
            .await?
            .ok_or(AdminError::EventNotFound)?;
        let deliveries = self.store().deliveries(event_id).await?;
        Ok((event, deliveries))
    }

    /// Sends an event to an endpoint once more, numbered after its earlier attempts there.
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
        self.store().record_action(&audit, None).await?;
        Ok((replayed, audit.id))
    }

    pub async fn endpoints(&self) -> Result<Vec<EndpointRecord>, AdminError> {
        Ok(self.store().endpoints().await?)
    }

    pub async fn endpoint(&self, id: &str) -> Result<EndpointRecord, AdminError> {
        self.store().endpoint(id).await?.ok_or(AdminError::EndpointNotFound)
    }

    fn endpoint_audit(&self, actor: &str, action: &str, endpoint: &Endpoint) -> AuditEntry {
        let details = json!({
            "url": endpoint.url, "events": endpoint.events, "conditions": endpoint.conditions,
            "fields": endpoint.fields, "enabled": endpoint.enabled,
        });
        AuditEntry::new(
            self.now(),
            actor,
            action,
            format!("webhook_endpoint:{}", endpoint.id),
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
        let audit = self.endpoint_audit(actor, "webhook_endpoint.create", &endpoint);
        self.store().create_endpoint(&endpoint, &audit).await?;
        Ok(endpoint)
    }

    pub async fn update_endpoint(
        &self,
        id: &str,
        patch: EndpointPatch,
        actor: &str,
    ) -> Result<EndpointRecord, AdminError> {
        let mut endpoint = self.endpoint(id).await?.endpoint;
        let rotated = patch.secret.is_some();
        endpoint.url = patch.url.unwrap_or(endpoint.url);
        endpoint.events = patch.events.unwrap_or(endpoint.events);
        endpoint.conditions = patch.conditions.unwrap_or(endpoint.conditions);
        endpoint.fields = patch.fields.unwrap_or(endpoint.fields);
        endpoint.enabled = patch.enabled.unwrap_or(endpoint.enabled);
        endpoint.secret = patch.secret.unwrap_or(endpoint.secret);
        endpoint.validate(self.webhooks.policy)?;
        let mut audit = self.endpoint_audit(actor, "webhook_endpoint.update", &endpoint);
        audit.details["secret_rotated"] = json!(rotated);
        self.store().update_endpoint(&endpoint, &audit).await?;
        self.endpoint(id).await
    }

    pub async fn delete_endpoint(&self, id: &str, actor: &str) -> Result<(), AdminError> {
        let audit = AuditEntry::new(
            self.now(),
            actor,
            "webhook_endpoint.delete",
            format!("webhook_endpoint:{id}"),
            None,
            json!({}),
        );
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

    /// The webhook URL policy endpoints are checked against.
    pub fn policy(&self) -> UrlPolicy {
        self.webhooks.policy
    }
}
