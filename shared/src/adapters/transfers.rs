//! Bank transfers in DynamoDB. `TRANSFER#{id}` is written once per transfer, whatever happened
//! to it (applied, or queued for an operator: then it is in gsi2 `REVIEW#transfers`). Each
//! invoice's share is a payment `PAYMENT#bank#{transfer}/{number}` written in the same
//! transaction as the invoice's move and its event, as a callback's payment is.

use super::dynamo::{DynamoStore, Item, condition_held, n, outbox_item, s};
use crate::domain::{Kopecks, Status};
use crate::ports::{Recorded, StoreError, Transfer, TransferShare, TransferStore};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The statuses a transfer can pay into.
const PAYABLE_BY_TRANSFER: &[Status] = &[Status::Issued, Status::Overdue, Status::PartiallyPaid];
/// The gsi2 partition of transfers waiting for an operator, oldest first.
pub(crate) const TRANSFERS_FOR_REVIEW: &str = "REVIEW#transfers";

fn transfer_pk(id: &str) -> String {
    format!("TRANSFER#{id}")
}

fn transfer_item(transfer: &Transfer, outcome: &str, excess: Kopecks, reason: Option<&str>, at: DateTime<Utc>) -> Item {
    let mut item: Item = HashMap::from([
        ("pk".into(), s(transfer_pk(&transfer.id))),
        ("sk".into(), s("TRANSFER")),
        ("entity".into(), s("bank_transfer")),
        ("transfer_id".into(), s(&transfer.id)),
        ("date".into(), s(transfer.date.to_string())),
        ("number".into(), s(&transfer.number)),
        ("amount".into(), n(transfer.amount.0)),
        ("purpose".into(), s(&transfer.purpose)),
        ("statement_id".into(), s(&transfer.statement_id)),
        ("line".into(), n(transfer.line)),
        ("outcome".into(), s(outcome)),
        ("recorded_at".into(), s(at.to_rfc3339())),
    ]);
    let optional = [
        ("payer_inn", &transfer.payer_inn),
        ("payer_name", &transfer.payer_name),
        ("payer_account", &transfer.payer_account),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    if !excess.is_zero() {
        item.insert("excess".into(), n(excess.0));
    }
    if let Some(reason) = reason {
        item.insert("reason".into(), s(reason));
        item.insert("gsi2pk".into(), s(TRANSFERS_FOR_REVIEW));
        item.insert("gsi2sk".into(), s(format!("{}#{}", at.to_rfc3339(), transfer.id)));
    }
    item
}

impl TransferStore for DynamoStore {
    async fn transfer_seen(&self, transfer_id: &str) -> Result<bool, StoreError> {
        Ok(self.get_item(transfer_pk(transfer_id), "TRANSFER").await?.is_some())
    }

    async fn record_transfer(
        &self,
        transfer: &Transfer,
        shares: &[TransferShare<'_>],
        excess: Kopecks,
        at: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let mut actions = vec![self.put_new(transfer_item(transfer, "applied", excess, None, at), None)?];
        for share in shares {
            let invoice = share.invoice;
            let to = invoice.status_after(share.paid_after);
            let paid = to == Status::Paid;
            let mut set = vec![("amount_paid", n(share.paid_after.0))];
            if paid {
                set.extend([
                    ("paid_at", s(at.to_rfc3339())),
                    ("payment_provider", s(share.payment.provider)),
                    ("payment_id", s(&share.payment.payment_id)),
                ]);
            }
            if share.paid_after > invoice.total {
                set.push(("overpaid", n(share.paid_after.0 - invoice.total.0)));
            }
            // Only from the state this share was computed on: another transfer in between
            // cancels the transaction, and the caller reads the invoice again.
            let moved = self.invoice_transition(
                invoice,
                PAYABLE_BY_TRANSFER,
                to,
                &set,
                " AND (attribute_not_exists(amount_paid) OR amount_paid = :before)",
                &[],
                &[(":before", n(invoice.amount_paid.0))],
            )?;
            let outcome = if paid { "paid" } else { "partial" };
            actions.extend([
                self.put_new(Self::payment_item(&share.payment, &invoice.id, outcome, at), None)?,
                moved,
                self.put_new(outbox_item(&share.event), None)?,
            ]);
        }
        match self.transact(actions).await? {
            None => Ok(Recorded::Applied),
            Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => Ok(Recorded::Duplicate),
            Some(codes)
                if codes
                    .iter()
                    .any(|c| c == "ConditionalCheckFailed" || c == "TransactionConflict") =>
            {
                Ok(Recorded::Unapplied)
            }
            Some(codes) => Err(StoreError(format!("transfer {} not recorded: {codes:?}", transfer.id))),
        }
    }

    async fn queue_transfer_review(
        &self,
        transfer: &Transfer,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(transfer_item(transfer, "review", Kopecks::ZERO, Some(reason), at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        condition_held(put)
    }
}
