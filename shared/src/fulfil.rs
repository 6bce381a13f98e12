//! Fulfilment of a paid invoice: the act, the subscription, the closing e-mail. Each step is
//! recorded on the invoice when done, so a retry (the bus's, or the sweeper's) resumes where
//! the last attempt failed, and nothing happens twice.

use crate::config::BillingConfig;
use crate::domain::subscription::{Extension, extend};
use crate::domain::{Invoice, Status};
use crate::mail::ClosingMail;
use crate::ports::{
    Applied, Clock, DocumentStore, EmailClaim, FulfilStore, MailJournal, MailLog, Mailer, SendError, StoreError,
};
use crate::render::{ActDetails, RenderError, render_act, render_invoice};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum FulfilError {
    #[error("invoice {0} not found")]
    NotFound(String),
    #[error("plan {0:?} of the invoice is no longer in the catalogue")]
    UnknownPlan(String),
    #[error("another attempt is sending the e-mail right now")]
    Busy,
    #[error("the subscription was extended by another invoice meanwhile; deciding again on retry")]
    SubscriptionMoved,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sending the e-mail: {0}")]
    Send(#[from] crate::ports::SendError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("building the e-mail: {0}")]
    Mime(#[from] std::io::Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Fulfilled,
    AlreadyFulfilled,
    /// Not paid (yet): nothing to fulfil.
    NotPaid,
}

pub struct Fulfil<S, D, M> {
    pub store: S,
    pub documents: D,
    pub mailer: M,
    pub billing: Arc<BillingConfig>,
    pub clock: Arc<dyn Clock>,
    /// The verified sender address.
    pub from: String,
}

/// `acts/YYYY/MM/<number>.pdf`, by the act's date.
pub fn act_key(invoice: &Invoice, act: &ActDetails) -> String {
    format!("acts/{}/{}.pdf", act.date.format("%Y/%m"), invoice.number)
}

/// How often one call decides the period again when other invoices keep extending the same
/// subscription meanwhile.
const DECISIONS: u32 = 3;

impl<S: FulfilStore + MailJournal, D: DocumentStore, M: Mailer> Fulfil<S, D, M> {
    pub async fn fulfil(&self, invoice_id: &str) -> Result<Outcome, FulfilError> {
        for attempt in 1..=DECISIONS {
            match self.fulfil_once(invoice_id).await {
                // Overtaken by another invoice of the same account: decide again right away.
                Err(FulfilError::SubscriptionMoved) if attempt < DECISIONS => continue,
                outcome => return outcome,
            }
        }
        Err(FulfilError::SubscriptionMoved)
    }

    async fn fulfil_once(&self, invoice_id: &str) -> Result<Outcome, FulfilError> {
        let (invoice, state) = self
            .store
            .invoice_and_fulfilment(invoice_id)
            .await?
            .ok_or_else(|| FulfilError::NotFound(invoice_id.to_owned()))?;
        if invoice.status != Status::Paid {
            return Ok(Outcome::NotPaid);
        }
        if state.fulfilled_at.is_some() {
            return Ok(Outcome::AlreadyFulfilled);
        }
        let now = self.clock.now();
        let paid_day = self.billing.seller.local_date(state.paid_at.unwrap_or(now));

        // 1. What the payment buys, decided once: every retry reuses it.
        let extension = match state.extension {
            Some(e) => e,
            None => {
                let plan = self
                    .billing
                    .plans
                    .get(&invoice.plan)
                    .ok_or_else(|| FulfilError::UnknownPlan(invoice.plan.clone()))?;
                let current = self.store.subscription(&invoice.account, &invoice.plan).await?;
                let months = plan.period_months.saturating_mul(invoice.quantity);
                let grace = self.billing.grace_days(plan);
                self.store
                    .decide_extension(invoice_id, &extend(current, paid_day, months, grace))
                    .await?
            }
        };

        // 2. The act (a pure function of the invoice and the decided period).
        let act = ActDetails {
            number: invoice.number.to_string(),
            date: paid_day,
            period_start: extension.covered.start,
            period_end: extension.covered.end.pred_opt().unwrap_or(extension.covered.end),
        };
        let act_pdf = render_act(&invoice, &act)?;
        if state.act_key.is_none() {
            let key = act_key(&invoice, &act);
            self.documents.put_pdf(&key, act_pdf.clone()).await?;
            self.store.record_act(invoice_id, &key).await?;
        }

        // 3. The subscription, once per invoice, announced through the outbox.
        if !state.subscription_applied {
            let event = crate::events::subscription_activated(&invoice, &extension, now);
            if self.store.apply_extension(&invoice, &extension, &event).await? == Applied::Moved {
                // Nothing was sent yet (the e-mail comes last): decide the period and the act again.
                self.store.forget_extension(invoice_id).await?;
                return Err(FulfilError::SubscriptionMoved);
            }
        }

        // 4. The closing e-mail, guarded by a claim (SES has no idempotency token).
        if state.email_message_id.is_none() {
            self.send_closing_mail(&invoice, &extension, &act_pdf).await?;
        }

        self.store.mark_fulfilled(invoice_id, now).await?;
        tracing::info!(invoice = %invoice.id, number = %invoice.number, "invoice fulfilled");
        Ok(Outcome::Fulfilled)
    }

    async fn send_closing_mail(
        &self,
        invoice: &Invoice,
        extension: &Extension,
        act_pdf: &[u8],
    ) -> Result<(), FulfilError> {
        let token = match self.store.claim_email(&invoice.id, self.clock.now()).await? {
            EmailClaim::Sent { message_id } => {
                // Sent by an attempt that could not record it on the invoice.
                self.store.record_email_message(&invoice.id, &message_id).await?;
                return Ok(());
            }
            EmailClaim::Busy => return Err(FulfilError::Busy),
            EmailClaim::Claimed { token } => token,
        };
        let sent = async {
            let invoice_pdf = render_invoice(invoice)?;
            let mail = ClosingMail {
                invoice,
                period: extension.covered,
                from: &self.from,
                invoice_pdf: &invoice_pdf,
                act_pdf,
            };
            Ok::<_, FulfilError>(self.mailer.send_raw(&invoice.buyer.email, mail.to_mime()?).await?)
        }
        .await;
        match sent {
            Ok(message_id) => {
                self.store.email_sent(&invoice.id, &token, &message_id).await?;
                tracing::info!(invoice = %invoice.id, message_id = %message_id, "closing documents e-mailed");
                crate::metrics::count("EmailsSent", "closing");
                self.store
                    .note_mail(MailLog {
                        invoice_id: invoice.id.clone(),
                        message_id,
                        to: invoice.buyer.email.clone(),
                        mail: "closing".into(),
                        at: self.clock.now(),
                    })
                    .await;
                Ok(())
            }
            // Refused outright: certainly not sent, so release the claim for a retry.
            Err(e @ FulfilError::Send(SendError::Refused(_)))
            | Err(e @ (FulfilError::Render(_) | FulfilError::Mime(_))) => {
                if let Err(release) = self.store.email_failed(&invoice.id, &token).await {
                    tracing::warn!(invoice = %invoice.id, error = %release, "e-mail claim not released; it expires");
                }
                Err(e)
            }
            // Unclear: it may have gone out. Keep the claim; it expires, and only then is the
            // e-mail tried again (at least once, never twice in a burst).
            Err(e) => {
                tracing::error!(invoice = %invoice.id, error = %e, "e-mail outcome unknown; the claim is kept until it expires");
                crate::metrics::count("EmailOutcomeUnknown", "fulfil");
                Err(e)
            }
        }
    }

    /// Re-drives paid invoices whose fulfilment is still incomplete after `after`, for at most
    /// `budget` (stopping between invoices, well before the invocation's deadline: a timeout in
    /// the middle of a send would leave its outcome unknown). Returns (fulfilled, still failing).
    pub async fn sweep(&self, after: Duration, budget: Duration) -> Result<(usize, usize), StoreError> {
        let started = std::time::Instant::now();
        let cutoff = self.clock.now() - chrono::Duration::from_std(after).unwrap_or_default();
        let (mut done, mut failed) = (0, 0);
        for id in self.store.unfulfilled(cutoff).await? {
            if started.elapsed() > budget {
                tracing::info!(done, failed, "sweep budget used; the next sweep continues");
                break;
            }
            match self.fulfil(&id).await {
                Ok(_) => done += 1,
                Err(e) => {
                    failed += 1;
                    tracing::error!(invoice = %id, error = %e, "fulfilment still failing");
                    crate::metrics::count("FulfilmentFailing", "fulfil");
                }
            }
        }
        Ok((done, failed))
    }
}
