//! Subscriptions for the scheduled jobs, in the single table.
//!
//! - subscription: `SUBSCRIPTION#{account}#{plan}` / `SUBSCRIPTION`; gsi2 `SUBSCRIPTION#active`
//!   (or `#expired`) sorted by `{period_end}#{account}#{plan}`: the jobs' query by period end.
//!   The renewal of the current end is recorded on it: `renewal_for` (the end it renews),
//!   `renewal_invoice_id`, `reminded_days` (the closest reminder sent).
//! - job checkpoint: `JOB#{job}` / `CHECKPOINT`: `as_of`, `after` (a gsi2 sort key), `complete`.

use super::dynamo::{
    DynamoStore, Item, condition_held, date_attr, invoice_pk, n, optional_string, outbox_item, s, store_err,
    string_attr, subscription_pk,
};
use crate::ports::{Checkpoint, OutboxEvent, Renewal, RenewalRecorded, RenewalStore, StoreError, SubscriptionRecord};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

const ACTIVE: &str = "SUBSCRIPTION#active";
const EXPIRED: &str = "SUBSCRIPTION#expired";

fn job_pk(job: &str) -> String {
    format!("JOB#{job}")
}

/// The table and index keys of the subscription whose gsi2 sort key is `cursor`
/// (`{end}#{account}#{plan}`; plan ids never contain `#`, accounts may).
fn start_key(cursor: &str) -> Result<Item, StoreError> {
    let bad = || StoreError(format!("malformed subscription cursor {cursor:?}"));
    let (_, rest) = cursor.split_once('#').ok_or_else(bad)?;
    let (account, plan) = rest.rsplit_once('#').ok_or_else(bad)?;
    Ok(HashMap::from([
        ("pk".into(), s(subscription_pk(account, plan))),
        ("sk".into(), s("SUBSCRIPTION")),
        ("gsi2pk".into(), s(ACTIVE)),
        ("gsi2sk".into(), s(cursor)),
    ]))
}

/// A subscription item back into a record (also the management API's reading of it).
pub(crate) fn record(item: &Item) -> Result<SubscriptionRecord, StoreError> {
    let quantity = match item.get("quantity") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(1),
        _ => 1,
    };
    let buyer = match item.get("buyer") {
        Some(v) => Some(serde_dynamo::from_attribute_value(v.clone()).map_err(store_err)?),
        None => None,
    };
    let renewal = match (
        optional_string(item, "renewal_for"),
        optional_string(item, "renewal_invoice_id"),
    ) {
        (Some(end), Some(invoice_id)) => Some(Renewal {
            period_end: end
                .parse()
                .map_err(|e| StoreError(format!("attribute renewal_for: {e}")))?,
            invoice_id,
            reminded: match item.get("reminded_days") {
                Some(AttributeValue::N(v)) => v.parse().ok(),
                _ => None,
            },
        }),
        _ => None,
    };
    // Ids are UUIDv7: the greatest applied id is the latest invoice.
    let last_invoice = optional_string(item, "last_invoice_id").or_else(|| match item.get("applied_invoices") {
        Some(AttributeValue::Ss(ids)) => ids.iter().max().cloned(),
        _ => None,
    });
    Ok(SubscriptionRecord {
        account: string_attr(item, "account")?,
        plan: string_attr(item, "plan")?,
        period: crate::domain::subscription::Period {
            start: date_attr(item, "period_start")?,
            end: date_attr(item, "period_end")?,
        },
        quantity,
        buyer,
        last_invoice,
        renewal,
        cursor: string_attr(item, "gsi2sk")?,
    })
}

impl DynamoStore {
    fn subscription_update(
        &self,
        account: &str,
        plan: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(subscription_pk(account, plan)))
            .key("sk", s("SUBSCRIPTION"))
    }

    /// Runs a conditional update: `Ok(false)` when its condition did not hold.
    async fn conditional(
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<bool, StoreError> {
        condition_held(update.send().await)
    }
}

impl RenewalStore for DynamoStore {
    async fn ending_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<SubscriptionRecord>, Option<String>), StoreError> {
        // Sort keys start with the end date: everything from `from` up to (not into) the day after `to`.
        let upto = to.succ_opt().unwrap_or(to);
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :active AND gsi2sk BETWEEN :from AND :upto")
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":from", s(from.to_string()))
            .expression_attribute_values(":upto", s(upto.to_string()))
            .set_exclusive_start_key(after.map(start_key).transpose()?)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_err)?;
        // A damaged item is reported and skipped: it must not stop every subscription after it.
        let page = out
            .items()
            .iter()
            .filter_map(|item| match record(item) {
                Ok(sub) => Some(sub),
                Err(e) => {
                    tracing::error!(pk = ?item.get("pk"), error = %e, "unreadable subscription item skipped");
                    crate::metrics::count("SubscriptionUnreadable", "renewals");
                    None
                }
            })
            .collect();
        let next = match out.last_evaluated_key.as_ref().and_then(|k| k.get("gsi2sk")) {
            Some(AttributeValue::S(cursor)) => Some(cursor.clone()),
            _ => None,
        };
        Ok((page, next))
    }

    async fn record_renewal(
        &self,
        account: &str,
        plan: &str,
        period_end: NaiveDate,
        invoice_id: &str,
        remind: u32,
    ) -> Result<RenewalRecorded, StoreError> {
        let update = self
            .subscription_update(account, plan)
            .update_expression(
                "SET renewal_for = :end, renewal_invoice_id = :invoice, reminded_days = :days, reminded_at = :now",
            )
            .condition_expression(
                "period_end = :end AND #status = :active AND (attribute_not_exists(renewal_for) OR renewal_for <> :end)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":end", s(period_end.to_string()))
            .expression_attribute_values(":invoice", s(invoice_id))
            .expression_attribute_values(":days", n(remind))
            .expression_attribute_values(":now", s(Utc::now().to_rfc3339()))
            .expression_attribute_values(":active", s("active"));
        if Self::conditional(update).await? {
            return Ok(RenewalRecorded::Claimed);
        }
        // Recorded before (a re-run), or the subscription moved on.
        let item = self.get_item(subscription_pk(account, plan), "SUBSCRIPTION").await?;
        let recorded = item.as_ref().is_some_and(|i| {
            optional_string(i, "renewal_for") == Some(period_end.to_string())
                && optional_string(i, "renewal_invoice_id").as_deref() == Some(invoice_id)
                && optional_string(i, "period_end") == Some(period_end.to_string())
        });
        Ok(if recorded {
            RenewalRecorded::Before
        } else {
            RenewalRecorded::Moved
        })
    }

    async fn claim_reminder(
        &self,
        account: &str,
        plan: &str,
        period_end: NaiveDate,
        days: u32,
    ) -> Result<bool, StoreError> {
        let update = self
            .subscription_update(account, plan)
            .update_expression("SET reminded_days = :days, reminded_at = :now")
            .condition_expression(
                "renewal_for = :end AND period_end = :end AND #status = :active \
                 AND (attribute_not_exists(reminded_days) OR reminded_days > :days)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":end", s(period_end.to_string()))
            .expression_attribute_values(":days", n(days))
            .expression_attribute_values(":now", s(Utc::now().to_rfc3339()));
        Self::conditional(update).await
    }

    async fn release_reminder(
        &self,
        account: &str,
        plan: &str,
        period_end: NaiveDate,
        days: u32,
        previous: Option<u32>,
    ) -> Result<(), StoreError> {
        let update = self
            .subscription_update(account, plan)
            .condition_expression("renewal_for = :end AND reminded_days = :days")
            .expression_attribute_values(":end", s(period_end.to_string()))
            .expression_attribute_values(":days", n(days));
        let update = match previous {
            Some(p) => update
                .update_expression("SET reminded_days = :previous")
                .expression_attribute_values(":previous", n(p)),
            None => update.update_expression("REMOVE reminded_days, reminded_at"),
        };
        Self::conditional(update).await.map(|_| ())
    }

    async fn expire(&self, subscription: &SubscriptionRecord, event: &OutboxEvent) -> Result<bool, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .key("pk", s(subscription_pk(&subscription.account, &subscription.plan)))
            .key("sk", s("SUBSCRIPTION"))
            .update_expression("SET #status = :expired, gsi2pk = :gsi2pk, expired_at = :now")
            .condition_expression("#status = :active AND period_end = :end")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expired", s("expired"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":gsi2pk", s(EXPIRED))
            .expression_attribute_values(":now", s(event.at.to_rfc3339()))
            .expression_attribute_values(":end", s(subscription.period.end.to_string()))
            .build()
            .map_err(store_err)?;
        let mut actions = vec![
            TransactWriteItem::builder().update(update).build(),
            self.put_new(outbox_item(event), None)?,
        ];
        if let Some(renewal) = subscription.current_renewal() {
            // Not while its renewal is paid (fulfilment extends it any moment) or under review.
            let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(self.table())
                .key("pk", s(invoice_pk(&renewal.invoice_id)))
                .key("sk", s("INVOICE"))
                .condition_expression("NOT (#status IN (:paid, :review))")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":paid", s("paid"))
                .expression_attribute_values(":review", s("needs_review"))
                .build()
                .map_err(store_err)?;
            actions.push(TransactWriteItem::builder().condition_check(check).build());
        }
        match self.transact(actions).await? {
            None => Ok(true),
            Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => Ok(false),
            Some(codes) => Err(StoreError(format!(
                "subscription of {} not expired: {codes:?}",
                subscription.account
            ))),
        }
    }

    async fn checkpoint(&self, job: &str) -> Result<Option<Checkpoint>, StoreError> {
        let Some(item) = self.get_item(job_pk(job), "CHECKPOINT").await? else {
            return Ok(None);
        };
        Ok(Some(Checkpoint {
            as_of: date_attr(&item, "as_of")?,
            after: optional_string(&item, "after"),
            complete: matches!(item.get("complete"), Some(AttributeValue::Bool(true))),
        }))
    }

    async fn save_checkpoint(&self, job: &str, checkpoint: &Checkpoint, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            ("pk".to_owned(), s(job_pk(job))),
            ("sk".to_owned(), s("CHECKPOINT")),
            ("entity".to_owned(), s("checkpoint")),
            ("job".to_owned(), s(job)),
            ("as_of".to_owned(), s(checkpoint.as_of.to_string())),
            ("complete".to_owned(), AttributeValue::Bool(checkpoint.complete)),
            ("updated_at".to_owned(), s(at.to_rfc3339())),
        ]);
        if let Some(after) = &checkpoint.after {
            item.insert("after".into(), s(after));
        }
        self.put_item(item).await
    }
}
