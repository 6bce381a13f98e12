//! The payment-callback service: verify with the provider's scheme, find the invoice, record
//! the payment exactly once, and answer in the provider's protocol.

use crate::domain::{Invoice, InvoiceNumber};
use crate::payments::{Answer, Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use crate::ports::{Clock, PaymentLookup, PaymentStore, Recorded, StoreError};
use http::StatusCode;
use std::sync::Arc;

pub struct Callbacks<S, L> {
    pub store: S,
    /// YooKassa's API; `None` when YooKassa is not configured.
    pub lookup: Option<L>,
    /// The seller's number prefix, to turn Robokassa's `InvId` back into an invoice number.
    pub number_prefix: String,
    pub clock: Arc<dyn Clock>,
}

/// Provider retries are how a temporary failure heals: answer 503 and change nothing.
fn retry_later() -> Answer {
    Answer::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "application/json",
        r#"{"error":"unavailable"}"#,
    )
}

impl<S: PaymentStore, L: PaymentLookup> Callbacks<S, L> {
    pub async fn handle(&self, provider: &dyn Provider, callback: &RawCallback<'_>) -> Answer {
        let name = provider.name();
        let verified = match provider.verify(callback) {
            Ok(v) => v,
            Err(rejection) => {
                tracing::warn!(provider = name, reason = %rejection, "payment callback refused");
                crate::metrics::count("CallbackRejected", name);
                return provider.reject(&rejection);
            }
        };
        let notice = match verified {
            Verified::Notice(notice) => notice,
            Verified::Ignored(what) => {
                tracing::info!(provider = name, event = %what, "payment callback ignored");
                return provider.answer(Handled::Ignored, None);
            }
            Verified::Fetch { payment_id } => match self.fetch(&payment_id).await {
                Ok(notice) => notice,
                Err(Ok(rejection)) => {
                    // The API's own answer is authentic: a payment we cannot use (not ours, no
                    // invoice in its metadata) is acknowledged, not retried for a day.
                    tracing::warn!(provider = name, payment = %payment_id, reason = %rejection, "payment not usable: ignored");
                    crate::metrics::count("CallbackIgnored", name);
                    return provider.answer(Handled::Ignored, None);
                }
                Err(Err(e)) => {
                    tracing::error!(provider = name, payment = %payment_id, error = %e, "payment lookup failed");
                    return retry_later();
                }
            },
        };
        match self.apply(&notice).await {
            Ok(handled) => provider.answer(handled, Some(&notice)),
            Err(e) => {
                tracing::error!(provider = name, payment = %notice.payment_id, error = %e, "recording payment failed");
                retry_later()
            }
        }
    }

    /// YooKassa: act on the API's answer only.
    async fn fetch(&self, payment_id: &str) -> Result<PaymentNotice, Result<Rejection, StoreError>> {
        let Some(lookup) = &self.lookup else {
            return Err(Err(StoreError("YooKassa API is not configured".into())));
        };
        let body = lookup.fetch(payment_id).await.map_err(Err)?;
        let notice = crate::payments::yookassa::notice_from_api(&body).map_err(Ok)?;
        if notice.payment_id != payment_id {
            return Err(Ok(Rejection::Unauthenticated(format!(
                "API answered for another payment than {payment_id}"
            ))));
        }
        Ok(notice)
    }

    async fn invoice(&self, reference: &InvoiceRef) -> Result<Option<Invoice>, StoreError> {
        let id = match reference {
            InvoiceRef::Id(id) => id.clone(),
            InvoiceRef::Number { year, seq } => {
                let number = InvoiceNumber {
                    prefix: self.number_prefix.clone(),
                    year: *year,
                    seq: *seq,
                };
                match self.store.invoice_id_by_number(&number.to_string()).await? {
                    Some(id) => id,
                    None => return Ok(None),
                }
            }
        };
        self.store.get_invoice(&id).await
    }

    /// Records an authentic notice; what it did decides the provider's answer.
    pub async fn apply(&self, notice: &PaymentNotice) -> Result<Handled, StoreError> {
        let (provider, payment) = (notice.provider, notice.payment_id.as_str());
        if !notice.succeeded {
            tracing::info!(provider, payment, "payment not captured yet: nothing to do");
            return Ok(Handled::Ignored);
        }
        let Some(invoice) = self.invoice(&notice.invoice).await? else {
            tracing::warn!(provider, payment, invoice = ?notice.invoice, "payment for an unknown invoice");
            crate::metrics::count("PaymentUnknownInvoice", provider);
            return Ok(Handled::UnknownInvoice);
        };
        let now = self.clock.now();
        if notice.amount != invoice.total || notice.currency != invoice.currency {
            return Ok(
                match self
                    .store
                    .record_mismatch(
                        &invoice,
                        notice,
                        &crate::events::invoice_needs_review(&invoice, notice, now),
                    )
                    .await?
                {
                    Recorded::Applied => {
                        tracing::error!(
                            provider, payment, invoice = %invoice.id, number = %invoice.number,
                            received = notice.amount.0, received_currency = %notice.currency,
                            expected = invoice.total.0, expected_currency = %invoice.currency,
                            "payment does not match its invoice: not paid, sent to review"
                        );
                        crate::metrics::count("PaymentMismatch", provider);
                        Handled::Mismatch
                    }
                    Recorded::Duplicate => Handled::Duplicate,
                    Recorded::Unapplied => self.unapplied(notice, &invoice),
                },
            );
        }
        match self
            .store
            .record_payment(&invoice, notice, &crate::events::invoice_paid(&invoice, notice, now))
            .await?
        {
            Recorded::Applied => {
                tracing::info!(provider, payment, invoice = %invoice.id, number = %invoice.number, "invoice paid");
                crate::metrics::count("PaymentsRecorded", provider);
                Ok(Handled::Paid)
            }
            Recorded::Duplicate => Ok(Handled::Duplicate),
            Recorded::Unapplied => Ok(self.unapplied(notice, &invoice)),
        }
    }

    /// The payment is on file but its invoice cannot take it (already paid, void, under
    /// review): an operator decides. The provider is told we have it, so it stops retrying.
    fn unapplied(&self, notice: &PaymentNotice, invoice: &Invoice) -> Handled {
        tracing::error!(
            provider = notice.provider, payment = %notice.payment_id, invoice = %invoice.id, status = %invoice.status,
            "payment for an invoice that cannot take it: kept for an operator"
        );
        crate::metrics::count("PaymentUnapplied", notice.provider);
        Handled::Duplicate
    }
}
