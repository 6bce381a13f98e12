//! The scheduled jobs: renewal reminders (the renewal invoice, issued once per subscription and
//! period, e-mailed with the reminders) and expiry of subscriptions left unpaid after grace.
//!
//! Both read subscriptions by period end from the table's gsi2, page by page, and stop cleanly
//! at their time budget. Exactly-once comes from the table, not from the job's memory: the
//! renewal invoice is keyed by subscription and period end (an idempotency claim in the same
//! transaction as its number), each reminder is claimed on the subscription before it is sent,
//! and expiry is a conditional transition. A re-run, a concurrent run or a resumed run finds
//! the work done and does nothing twice.

use crate::config::BillingConfig;
use crate::domain::renewal::{Progress, Step, expires_on, next_period, pay_by, step};
use crate::domain::subscription::add_days;
use crate::domain::{Invoice, Order, Status};
use crate::http::links::Links;
use crate::mail::ReminderMail;
use crate::ports::{
    Checkpoint, DocumentStore, FixedClock, MailJournal, MailLog, Mailer, RenewalRecorded, RenewalStore, SendError,
    StoreError, SubscriptionRecord,
};
use crate::render::render_invoice;
use crate::service::{CreateError, Invoices, SequenceCache};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The reminder job's name: its checkpoint item is `JOB#renewal-reminders`.
pub const REMINDERS: &str = "renewal-reminders";
pub const EXPIRY: &str = "expire-subscriptions";
/// Subscriptions read per page; the checkpoint is saved after each page.
const PAGE: usize = 500;
/// Subscriptions renewed at once.
const CONCURRENCY: usize = 8;
/// How long a renewal's idempotency key outlives the subscription's expiry date.
const KEY_KEPT_DAYS: u32 = 400;

#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("plan {0:?} is no longer in the catalogue")]
    UnknownPlan(String),
    #[error("no buyer requisites on file for the subscription")]
    NoBuyer,
    #[error("invoice {0} is missing")]
    MissingInvoice(String),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error("building the e-mail: {0}")]
    Mime(#[from] std::io::Error),
    #[error("sending the e-mail: {0}")]
    Send(#[from] SendError),
}

/// Whether a renewal invoice still waits for its money (reminders stop otherwise); a part paid
/// by transfer still waits for the rest.
fn unpaid(invoice: &Invoice) -> bool {
    matches!(invoice.status, Status::Issued | Status::Overdue | Status::PartiallyPaid)
}

/// What one run did, as the function returns it and logs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub as_of: Option<NaiveDate>,
    /// Subscriptions looked at.
    pub seen: usize,
    /// Renewal invoices issued.
    pub issued: usize,
    /// Subscriptions expired.
    pub expired: usize,
    /// Reminder e-mails sent.
    pub reminded: usize,
    pub failed: usize,
    /// `false` when the time budget ran out first: the next run continues.
    pub complete: bool,
}

/// What was done for one subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Done {
    Nothing,
    Issued { reminded: bool },
    Reminded,
}

pub struct Renewals<S, D, M> {
    pub store: S,
    pub documents: D,
    pub mailer: M,
    pub billing: Arc<BillingConfig>,
    /// Signs the invoice page link in the reminder.
    pub links: Links,
    /// The public base URL of the API (`AUTOBILL_PUBLIC_URL`): e-mailed links point there.
    pub base_url: String,
    /// The verified sender address.
    pub from: String,
}

impl<S: RenewalStore + MailJournal + Clone, D: DocumentStore + Clone, M: Mailer> Renewals<S, D, M> {
    /// Runs the job named `job` ([`REMINDERS`] or [`EXPIRY`]) as of `now`; `None` for another name.
    pub async fn run(&self, job: &str, now: DateTime<Utc>, budget: Duration) -> Result<Option<Report>, StoreError> {
        match job {
            REMINDERS => self.remind(now, budget).await.map(Some),
            EXPIRY => self.expire(now, budget).await.map(Some),
            _ => Ok(None),
        }
    }

    /// The reminder job as of `now`: issues renewal invoices and sends the reminders due on
    /// the seller's business date, for at most `budget`.
    pub async fn remind(&self, now: DateTime<Utc>, budget: Duration) -> Result<Report, StoreError> {
        let started = Instant::now();
        let today = self.billing.seller.local_date(now);
        let max_grace = self
            .billing
            .plans
            .0
            .iter()
            .map(|p| self.billing.grace_days(p))
            .max()
            .unwrap_or(0);
        let (from, to) = self.billing.renewals.window(today, max_grace);
        let mut report = Report {
            as_of: Some(today),
            ..Report::default()
        };
        // Continue a run of the same day that its time limit cut short; a day whose run is
        // complete has nothing left (the hourly repeats of the schedule return here).
        let mut after = match self.store.checkpoint(REMINDERS).await? {
            Some(cp) if cp.as_of == today && cp.complete => {
                report.complete = true;
                return Ok(report);
            }
            Some(cp) if cp.as_of == today => cp.after,
            _ => None,
        };
        // This run is the sequence's only writer most of the time: remember the last number.
        let invoices = Invoices {
            store: SequenceCache::new(self.store.clone()),
            documents: self.documents.clone(),
            billing: self.billing.clone(),
            clock: Arc::new(FixedClock(now)),
        };
        let numbering = tokio::sync::Mutex::new(());
        loop {
            let (page, next) = self.store.ending_between(from, to, after.as_deref(), PAGE).await?;
            // A few subscriptions at a time, so that rendering and the S3, DynamoDB and SES calls
            // of one overlap with the others'; numbering itself takes turns.
            let mut results = futures_util::stream::iter(page)
                .map(|sub| async {
                    if started.elapsed() >= budget {
                        return None;
                    }
                    let done = self.renew(&invoices, &numbering, &sub, today).await;
                    Some((sub, done))
                })
                .buffered(CONCURRENCY);
            while let Some(result) = results.next().await {
                let Some((sub, done)) = result else {
                    // Out of time: save where the finished run of subscriptions ends.
                    drop(results);
                    let cp = Checkpoint {
                        as_of: today,
                        after,
                        complete: false,
                    };
                    self.store.save_checkpoint(REMINDERS, &cp, now).await?;
                    tracing::info!(?report, "time budget used; the next run continues");
                    return Ok(report);
                };
                report.seen += 1;
                match done {
                    Ok(Done::Nothing) => {}
                    Ok(Done::Issued { reminded }) => {
                        report.issued += 1;
                        report.reminded += usize::from(reminded);
                    }
                    Ok(Done::Reminded) => report.reminded += 1,
                    Err(e) => {
                        report.failed += 1;
                        tracing::error!(account = %sub.account, plan = %sub.plan, period_end = %sub.period.end, error = %e, "renewal failed; the next run tries again");
                        crate::metrics::count("RenewalFailed", REMINDERS);
                    }
                }
                after = Some(sub.cursor);
            }
            let complete = next.is_none();
            if next.is_some() {
                after = next;
            }
            let cp = Checkpoint {
                as_of: today,
                after: after.clone(),
                complete,
            };
            self.store.save_checkpoint(REMINDERS, &cp, now).await?;
            if cp.complete {
                break;
            }
        }
        report.complete = true;
        crate::metrics::count_n("RenewalInvoicesIssued", REMINDERS, report.issued);
        crate::metrics::count_n("RenewalRemindersSent", REMINDERS, report.reminded);
        tracing::info!(?report, "renewal reminders done");
        Ok(report)
    }

    async fn renew(
        &self,
        invoices: &Invoices<SequenceCache<S>, D>,
        numbering: &tokio::sync::Mutex<()>,
        sub: &SubscriptionRecord,
        today: NaiveDate,
    ) -> Result<Done, RenewError> {
        let plan = self
            .billing
            .plans
            .get(&sub.plan)
            .ok_or_else(|| RenewError::UnknownPlan(sub.plan.clone()))?;
        let policy = &self.billing.renewals;
        let current = sub.current_renewal();
        let progress = current.map(|r| Progress { reminded: r.reminded });
        let end = sub.period.end;
        match step(
            &policy.offsets(plan.billing),
            self.billing.grace_days(plan),
            end,
            today,
            progress,
        ) {
            Step::Nothing => Ok(Done::Nothing),
            Step::Issue { remind } => {
                let (buyer, quantity) = self.last_terms(sub).await?;
                let grace = self.billing.grace_days(plan);
                let order = Order {
                    plan: plan.clone(),
                    quantity,
                    buyer,
                    account: sub.account.clone(),
                    idempotency_key: None,
                    service_period: Some(next_period(end, plan.period_months.saturating_mul(quantity))),
                    due_by: Some(pay_by(end, grace, today)),
                };
                // One invoice per subscription and period end, however often this runs.
                let key = format!("renewal:{}:{}:{end}", sub.account, sub.plan);
                let keep_until = add_days(expires_on(end, grace), KEY_KEPT_DAYS);
                let ttl = (keep_until - today).num_days().max(1) * 86_400;
                let issued = {
                    let _turn = numbering.lock().await;
                    invoices.issue_once(&order, &key, ttl).await
                };
                let mut issued = match issued {
                    // Extended (or expired) since the page was read: nothing to invoice.
                    Err(CreateError::Superseded) => return Ok(Done::Nothing),
                    other => other?,
                };
                if !issued.replayed {
                    issued.pdf = Some(invoices.store_pdf(&issued.invoice).await?);
                }
                let recorded = self
                    .store
                    .record_renewal(&sub.account, &sub.plan, end, &issued.invoice.id, remind)
                    .await?;
                let reminded = match recorded {
                    // Extended (or expired) meanwhile: the next run sees its new state.
                    RenewalRecorded::Moved => return Ok(Done::Nothing),
                    RenewalRecorded::Claimed => self.deliver(sub, &issued.invoice, issued.pdf, remind, None).await?,
                    RenewalRecorded::Before if !unpaid(&issued.invoice) => false,
                    RenewalRecorded::Before => self.remind_once(sub, &issued.invoice, issued.pdf, remind, None).await?,
                };
                if !issued.replayed {
                    tracing::info!(account = %sub.account, plan = %sub.plan, period_end = %end, number = %issued.invoice.number, "renewal invoice issued");
                }
                Ok(match (issued.replayed, reminded) {
                    (false, reminded) => Done::Issued { reminded },
                    (true, true) => Done::Reminded,
                    (true, false) => Done::Nothing,
                })
            }
            Step::Remind(days) => {
                let Some(renewal) = current else {
                    return Ok(Done::Nothing);
                };
                let invoice = self
                    .store
                    .get_invoice(&renewal.invoice_id)
                    .await?
                    .ok_or_else(|| RenewError::MissingInvoice(renewal.invoice_id.clone()))?;
                if !unpaid(&invoice) {
                    return Ok(Done::Nothing);
                }
                let sent = self.remind_once(sub, &invoice, None, days, renewal.reminded).await?;
                Ok(if sent { Done::Reminded } else { Done::Nothing })
            }
        }
    }

    /// The buyer and quantity a renewal repeats: those on the subscription, or, for one recorded
    /// before they were kept there, those of its last invoice.
    async fn last_terms(&self, sub: &SubscriptionRecord) -> Result<(crate::domain::Buyer, u32), RenewError> {
        if let Some(buyer) = &sub.buyer {
            return Ok((buyer.clone(), sub.quantity));
        }
        let id = sub.last_invoice.as_deref().ok_or(RenewError::NoBuyer)?;
        let last = self
            .store
            .get_invoice(id)
            .await?
            .ok_or_else(|| RenewError::MissingInvoice(id.to_owned()))?;
        Ok((last.buyer, last.quantity))
    }

    /// Claims the reminder on the subscription, then sends it: at most once.
    async fn remind_once(
        &self,
        sub: &SubscriptionRecord,
        invoice: &Invoice,
        pdf: Option<Vec<u8>>,
        days: u32,
        previous: Option<u32>,
    ) -> Result<bool, RenewError> {
        if !self
            .store
            .claim_reminder(&sub.account, &sub.plan, sub.period.end, days)
            .await?
        {
            return Ok(false);
        }
        self.deliver(sub, invoice, pdf, days, previous).await
    }

    /// Sends a claimed reminder. A refused send gives the claim back for the next run; an
    /// unclear one keeps it (a lost reminder is better than two, and the next reminder day
    /// re-sends the invoice anyway).
    async fn deliver(
        &self,
        sub: &SubscriptionRecord,
        invoice: &Invoice,
        pdf: Option<Vec<u8>>,
        days: u32,
        previous: Option<u32>,
    ) -> Result<bool, RenewError> {
        let end = sub.period.end;
        let sent = async {
            let pdf = match pdf {
                Some(pdf) => pdf,
                None => render_invoice(invoice)?,
            };
            let url = self.links.invoice_url(&self.base_url, &invoice.id);
            let mail = ReminderMail {
                invoice,
                access_until: end,
                invoice_url: &url,
                from: &self.from,
                invoice_pdf: &pdf,
            };
            Ok::<_, RenewError>(self.mailer.send_raw(&invoice.buyer.email, mail.to_mime()?).await?)
        }
        .await;
        match sent {
            Ok(message_id) => {
                tracing::info!(invoice = %invoice.id, number = %invoice.number, days, message_id = %message_id, "renewal reminder e-mailed");
                crate::metrics::count("EmailsSent", "reminder");
                self.store
                    .note_mail(MailLog {
                        invoice_id: invoice.id.clone(),
                        message_id,
                        to: invoice.buyer.email.clone(),
                        mail: "reminder".into(),
                        at: chrono::Utc::now(),
                    })
                    .await;
                Ok(true)
            }
            Err(e @ RenewError::Send(SendError::Unknown(_))) => {
                tracing::error!(invoice = %invoice.id, days, error = %e, "reminder outcome unknown; not sent again");
                crate::metrics::count("EmailOutcomeUnknown", REMINDERS);
                Err(e)
            }
            Err(e) => {
                if let Err(release) = self
                    .store
                    .release_reminder(&sub.account, &sub.plan, end, days, previous)
                    .await
                {
                    tracing::warn!(invoice = %invoice.id, error = %release, "reminder claim not given back");
                }
                Err(e)
            }
        }
    }

    /// The expiry job as of `now`: subscriptions whose grace after the period end has passed
    /// with the renewal unpaid become `expired`, announced as `subscription.expired`.
    pub async fn expire(&self, now: DateTime<Utc>, budget: Duration) -> Result<Report, StoreError> {
        let started = Instant::now();
        let today = self.billing.seller.local_date(now);
        let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
        // Every plan's grace is at least the policy's: nothing ending later can be due.
        let last_end = today
            .checked_sub_days(chrono::Days::new(u64::from(self.billing.renewals.grace_days)))
            .unwrap_or(first);
        let mut report = Report {
            as_of: Some(today),
            ..Report::default()
        };
        let mut after: Option<String> = None;
        loop {
            let (page, next) = self
                .store
                .ending_between(first, last_end, after.as_deref(), PAGE)
                .await?;
            for sub in page {
                if started.elapsed() >= budget {
                    tracing::info!(?report, "time budget used; the next run continues");
                    return Ok(report);
                }
                report.seen += 1;
                match self.expire_one(&sub, today, now).await {
                    Ok(true) => report.expired += 1,
                    Ok(false) => {}
                    Err(e) => {
                        report.failed += 1;
                        tracing::error!(account = %sub.account, plan = %sub.plan, error = %e, "expiry failed; the next run tries again");
                        crate::metrics::count("ExpiryFailed", EXPIRY);
                    }
                }
            }
            if next.is_none() {
                break;
            }
            after = next;
        }
        report.complete = true;
        crate::metrics::count_n("SubscriptionsExpired", EXPIRY, report.expired);
        tracing::info!(?report, "expiry done");
        Ok(report)
    }

    async fn expire_one(
        &self,
        sub: &SubscriptionRecord,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let grace = match self.billing.plans.get(&sub.plan) {
            Some(plan) => self.billing.grace_days(plan),
            None => self.billing.renewals.grace_days,
        };
        let expires = expires_on(sub.period.end, grace);
        if today < expires {
            return Ok(false);
        }
        // The transaction refuses while the renewal is paid (fulfilment extends it any moment) or
        // under review, and when the subscription moved meanwhile.
        let event = crate::events::subscription_expired(sub, expires, now);
        let expired = self.store.expire(sub, &event).await?;
        if expired {
            tracing::info!(account = %sub.account, plan = %sub.plan, period_end = %sub.period.end, "subscription expired");
        } else {
            tracing::info!(account = %sub.account, plan = %sub.plan, "not expired: renewal paid or under review, or the subscription moved");
        }
        Ok(expired)
    }
}
