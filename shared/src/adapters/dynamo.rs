//! The single DynamoDB table: invoices, numbering counters and idempotency claims.
//!
//! Items are plain and readable in the console: `pk`/`sk` keys, `entity`, human status label.
//! - invoice: `INVOICE#{id}` / `INVOICE`; gsi1 = invoices per account, gsi2 = by status and due date
//! - counter: `COUNTER#INVOICE#{prefix}{year}` / `COUNTER`, attribute `last`
//! - idempotency claim: `IDEMPOTENCY#{key}` / `IDEMPOTENCY`, TTL attribute `expires_at`
//! - number → invoice: `NUMBER#{number}` / `NUMBER` (Robokassa and bank transfers name numbers)
//! - payment: `PAYMENT#{provider}#{payment id}` / `PAYMENT`, put once
//! - outbox event: `OUTBOX#{event id}` / `OUTBOX`; gsi2 `OUTBOX#pending` until sent (sparse)
//!
//! Payments and events about an invoice are also in its history (gsi1 `HISTORY#{invoice id}`,
//! see [`super::admin`]).

use crate::domain::{Invoice, Status};
use crate::payments::PaymentNotice;
use crate::ports::{
    IdempotencyClaim, InsertError, InvoiceIssuer, InvoiceReader, OutboxEvent, OutboxStore, PaymentStore, Recorded,
    StoreError,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
}

#[derive(Serialize, Deserialize)]
struct InvoiceItem {
    pk: String,
    sk: String,
    entity: String,
    gsi1pk: String,
    gsi1sk: String,
    gsi2pk: String,
    gsi2sk: String,
    status_label: String,
    pdf_key: String,
    #[serde(flatten)]
    invoice: Invoice,
}

impl InvoiceItem {
    fn new(invoice: &Invoice) -> Self {
        InvoiceItem {
            pk: invoice_pk(&invoice.id),
            sk: "INVOICE".into(),
            entity: "invoice".into(),
            gsi1pk: format!("ACCOUNT#{}", invoice.account),
            gsi1sk: format!("INVOICE#{}#{}", invoice.issue_date, invoice.number),
            gsi2pk: format!("STATUS#{}", invoice.status),
            gsi2sk: format!("{}#{}", invoice.due_date, invoice.number),
            status_label: invoice.status.label_ru().into(),
            pdf_key: invoice.pdf_key(),
            invoice: invoice.clone(),
        }
    }
}

/// An invoice item back into the invoice (extra attributes, like fulfilment's, are ignored).
pub(crate) fn invoice_from_item(item: Item) -> Result<Invoice, StoreError> {
    let rec: InvoiceItem = serde_dynamo::from_item(item).map_err(store_err)?;
    Ok(rec.invoice)
}

pub(crate) fn invoice_pk(id: &str) -> String {
    format!("INVOICE#{id}")
}

fn counter_pk(prefix: &str, year: i32) -> String {
    format!("COUNTER#INVOICE#{prefix}{year}")
}

fn number_pk(number: &str) -> String {
    format!("NUMBER#{number}")
}

fn payment_pk(provider: &str, payment_id: &str) -> String {
    format!("PAYMENT#{provider}#{payment_id}")
}

pub(crate) fn outbox_pk(event_id: &str) -> String {
    format!("OUTBOX#{event_id}")
}

const OUTBOX_PENDING: &str = "OUTBOX#pending";

/// The statuses a payment (or an operator) can move an invoice from.
pub(crate) const PAYABLE: &[Status] = &[Status::Issued, Status::Overdue];

fn claim_pk(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn store_err(e: impl std::error::Error) -> StoreError {
    StoreError(DisplayErrorContext(e).to_string())
}

/// `Ok(true)` when a conditional write happened, `Ok(false)` when its condition did not hold.
pub(crate) fn condition_held<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(store_err(e)),
    }
}

pub(crate) fn number_attr(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError(format!("attribute {name}: not an integer: {v}"))),
        _ => Err(StoreError(format!("attribute {name}: missing or not a number"))),
    }
}

pub(crate) fn string_attr(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError(format!("attribute {name}: missing or not a string"))),
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Puts an item unconditionally (logs, checkpoints).
    pub(crate) async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    pub(crate) async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_err)?;
        Ok(out.item)
    }

    fn counter_update(&self, invoice: &Invoice) -> Result<TransactWriteItem, StoreError> {
        let seq = invoice.number.seq;
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(counter_pk(&invoice.number.prefix, invoice.number.year)))
            .key("sk", s("COUNTER"))
            .update_expression("SET #last = :seq, entity = :entity, updated_at = :now")
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":seq", n(seq))
            .expression_attribute_values(":entity", s("counter"))
            .expression_attribute_values(":now", s(invoice.created_at.to_rfc3339()));
        update = if seq <= 1 {
            update.condition_expression("attribute_not_exists(pk)")
        } else {
            update
                .condition_expression("#last = :prev")
                .expression_attribute_values(":prev", n(seq - 1))
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(store_err)?)
            .build())
    }

    /// Runs a transaction. `Ok(None)` when it committed; `Ok(Some(reasons))` when DynamoDB
    /// cancelled it (one code per action: `None`, `ConditionalCheckFailed`, `TransactionConflict`…).
    pub(crate) async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Option<Vec<String>>, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => Ok(Some(
                    e.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_owned())
                        .collect(),
                )),
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    Ok(Some(vec!["TransactionConflict".into()]))
                }
                _ => Err(store_err(err)),
            },
        }
    }

    pub(crate) fn payment_item(payment: &PaymentNotice, invoice_id: &str, outcome: &str, at: DateTime<Utc>) -> Item {
        let mut item = HashMap::from([
            ("pk".into(), s(payment_pk(payment.provider, &payment.payment_id))),
            ("sk".into(), s("PAYMENT")),
            ("entity".into(), s("payment")),
            ("provider".into(), s(payment.provider)),
            ("payment_id".into(), s(&payment.payment_id)),
            ("invoice_id".into(), s(invoice_id)),
            ("amount".into(), n(payment.amount.0)),
            ("currency".into(), s(&payment.currency)),
            ("outcome".into(), s(outcome)),
            ("received_at".into(), s(at.to_rfc3339())),
        ]);
        let id = format!("{}#{}", payment.provider, payment.payment_id);
        super::admin::index_in_history(&mut item, invoice_id, at, "PAYMENT", &id);
        item
    }

    /// Moves an invoice that is in one of `from` to `to`, setting `set` too (names aliased:
    /// some are reserved words), if `condition` (extra clauses over `names` and `values`)
    /// holds. `gsi2pk` follows the status; `gsi2sk` (due date and number) stays.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn invoice_transition(
        &self,
        invoice: &Invoice,
        from: &[Status],
        to: Status,
        set: &[(&str, AttributeValue)],
        condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        if from.is_empty() {
            return Err(StoreError(format!("invoice {}: no status to move from", invoice.id)));
        }
        let mut assignments = vec![
            "#status = :to".to_owned(),
            "status_label = :label".into(),
            "gsi2pk = :gsi2pk".into(),
        ];
        assignments.extend((0..set.len()).map(|i| format!("#set{i} = :set{i}")));
        let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(invoice_pk(&invoice.id)))
            .key("sk", s("INVOICE"))
            .update_expression(format!("SET {}", assignments.join(", ")))
            .condition_expression(format!("#status IN ({}){condition}", allowed.join(", ")))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":label", s(to.label_ru()))
            .expression_attribute_values(":gsi2pk", s(format!("STATUS#{to}")));
        for (i, status) in from.iter().enumerate() {
            update = update.expression_attribute_values(format!(":from{i}"), s(status.as_str()));
        }
        for (i, (k, v)) in set.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#set{i}"), *k)
                .expression_attribute_values(format!(":set{i}"), v.clone());
        }
        for (k, v) in names {
            update = update.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            update = update.expression_attribute_values(*k, v.clone());
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(store_err)?)
            .build())
    }

    /// A payment transaction cancelled by a conflict (the same delivery arriving twice at once):
    /// if the other one recorded the payment, this one is a duplicate; otherwise retry later.
    async fn settle_conflict(&self, payment: &PaymentNotice, codes: &[String]) -> Result<Recorded, StoreError> {
        match self
            .get_item(payment_pk(payment.provider, &payment.payment_id), "PAYMENT")
            .await?
        {
            Some(_) => Ok(Recorded::Duplicate),
            None => Err(StoreError(format!(
                "payment {} not recorded: {codes:?}",
                payment.payment_id
            ))),
        }
    }

    pub(crate) fn put_new(
        &self,
        item: Item,
        extra_condition: Option<(&str, i64)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = match extra_condition {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some((attr, now)) => put
                .condition_expression("attribute_not_exists(pk) OR #exp < :now")
                .expression_attribute_names("#exp", attr)
                .expression_attribute_values(":now", n(now)),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(store_err)?)
            .build())
    }
}

impl InvoiceReader for DynamoStore {
    async fn act_key(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_item(invoice_pk(id), "INVOICE")
            .await?
            .and_then(|item| optional_string(&item, "act_key")))
    }

    async fn get_invoice(&self, id: &str) -> Result<Option<Invoice>, StoreError> {
        match self.get_item(invoice_pk(id), "INVOICE").await? {
            None => Ok(None),
            Some(item) => invoice_from_item(item).map(Some),
        }
    }
}

impl InvoiceIssuer for DynamoStore {
    async fn last_seq(&self, prefix: &str, year: i32) -> Result<u64, StoreError> {
        match self.get_item(counter_pk(prefix, year), "COUNTER").await? {
            None => Ok(0),
            Some(item) => Ok(number_attr(&item, "last")? as u64),
        }
    }

    async fn insert_issued(
        &self,
        invoice: &Invoice,
        event: &OutboxEvent,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<(), InsertError> {
        let invoice_item = serde_dynamo::to_item(InvoiceItem::new(invoice)).map_err(store_err)?;
        let pointer: Item = HashMap::from([
            ("pk".into(), s(number_pk(&invoice.number.to_string()))),
            ("sk".into(), s("NUMBER")),
            ("entity".into(), s("invoice_number")),
            ("invoice_id".into(), s(&invoice.id)),
        ]);
        let mut actions = vec![
            self.counter_update(invoice)?,
            self.put_new(invoice_item, None)?,
            self.put_new(pointer, None)?,
            self.put_new(outbox_item(event), None)?,
        ];
        if let Some(c) = claim {
            let item: Item = HashMap::from([
                ("pk".into(), s(claim_pk(&c.key))),
                ("sk".into(), s("IDEMPOTENCY")),
                ("entity".into(), s("idempotency")),
                ("fingerprint".into(), s(&c.fingerprint)),
                ("invoice_id".into(), s(&c.invoice_id)),
                ("expires_at".into(), n(c.expires_at)),
            ]);
            actions.push(self.put_new(item, Some(("expires_at", invoice.created_at.timestamp())))?);
        }
        let guard = actions.len();
        if let Some(period) = invoice.period {
            let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", s(subscription_pk(&invoice.account, &invoice.plan)))
                .key("sk", s("SUBSCRIPTION"))
                .condition_expression("period_end = :start AND #status = :active")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":start", s(period.start.to_string()))
                .expression_attribute_values(":active", s("active"))
                .build()
                .map_err(store_err)?;
            actions.push(TransactWriteItem::builder().condition_check(check).build());
        }
        let Some(codes) = self.transact(actions).await? else {
            return Ok(());
        };
        let failed = |i: usize| codes.get(i).is_some_and(|c| c == "ConditionalCheckFailed");
        if claim.is_some() && failed(4) {
            Err(InsertError::KeyClaimed)
        } else if invoice.period.is_some() && failed(guard) {
            Err(InsertError::Superseded)
        } else if failed(0) || failed(2) || codes.iter().any(|c| c == "TransactionConflict") {
            Err(InsertError::NumberTaken)
        } else {
            Err(InsertError::Store(StoreError(format!(
                "invoice {} not inserted: {codes:?}",
                invoice.id
            ))))
        }
    }

    async fn get_claim(&self, key: &str) -> Result<Option<IdempotencyClaim>, StoreError> {
        let Some(item) = self.get_item(claim_pk(key), "IDEMPOTENCY").await? else {
            return Ok(None);
        };
        Ok(Some(IdempotencyClaim {
            key: key.to_owned(),
            fingerprint: string_attr(&item, "fingerprint")?,
            invoice_id: string_attr(&item, "invoice_id")?,
            expires_at: number_attr(&item, "expires_at")?,
        }))
    }
}

/// An outbox item: pending (in the sparse gsi2) until the publisher marks it sent; in its
/// invoice's history when the event names one (`data.invoice_id`).
pub(crate) fn outbox_item(event: &OutboxEvent) -> Item {
    let at = event.at.to_rfc3339();
    let mut item = HashMap::from([
        ("pk".into(), s(outbox_pk(&event.id))),
        ("sk".into(), s("OUTBOX")),
        ("entity".into(), s("outbox")),
        ("event_id".into(), s(&event.id)),
        ("type".into(), s(&event.kind)),
        ("created_at".into(), s(&at)),
        ("detail".into(), s(event.detail.to_string())),
        ("gsi2pk".into(), s(OUTBOX_PENDING)),
        ("gsi2sk".into(), s(format!("{at}#{}", event.id))),
    ]);
    if let Some(invoice_id) = event.detail["data"]["invoice_id"].as_str() {
        super::admin::index_in_history(&mut item, invoice_id, event.at, "EVENT", &event.id);
    }
    item
}

/// How a cancelled payment transaction is read: action 0 is always the payment record, action 1
/// the invoice update.
fn payment_outcome(codes: &[String]) -> Option<Recorded> {
    let failed = |i: usize| codes.get(i).is_some_and(|c| c == "ConditionalCheckFailed");
    if failed(0) {
        Some(Recorded::Duplicate)
    } else if failed(1) {
        Some(Recorded::Unapplied)
    } else {
        None
    }
}

impl PaymentStore for DynamoStore {
    async fn invoice_id_by_number(&self, number: &str) -> Result<Option<String>, StoreError> {
        match self.get_item(number_pk(number), "NUMBER").await? {
            None => Ok(None),
            Some(item) => string_attr(&item, "invoice_id").map(Some),
        }
    }

    async fn record_payment(
        &self,
        invoice: &Invoice,
        payment: &PaymentNotice,
        event: &OutboxEvent,
    ) -> Result<Recorded, StoreError> {
        let at = event.at.to_rfc3339();
        let paid = self.invoice_transition(
            invoice,
            PAYABLE,
            Status::Paid,
            &[
                ("paid_at", s(&at)),
                ("payment_provider", s(payment.provider)),
                ("payment_id", s(&payment.payment_id)),
            ],
            " AND #total = :amount AND currency = :currency",
            &[("#total", "total")],
            &[(":amount", n(payment.amount.0)), (":currency", s(&payment.currency))],
        )?;
        let actions = vec![
            self.put_new(Self::payment_item(payment, &invoice.id, "paid", event.at), None)?,
            paid,
            self.put_new(outbox_item(event), None)?,
        ];
        match self.transact(actions).await? {
            None => Ok(Recorded::Applied),
            Some(codes) => match payment_outcome(&codes) {
                // The invoice moved on meanwhile (paid by another payment, voided): keep the money on file.
                Some(Recorded::Unapplied) => self.record_unapplied(payment, &invoice.id, event.at).await,
                Some(outcome) => Ok(outcome),
                None => self.settle_conflict(payment, &codes).await,
            },
        }
    }

    async fn record_mismatch(
        &self,
        invoice: &Invoice,
        payment: &PaymentNotice,
        event: &OutboxEvent,
    ) -> Result<Recorded, StoreError> {
        let at = event.at;
        let reason = format!(
            "{} payment {}: received {} {}, invoice is {} {}",
            payment.provider,
            payment.payment_id,
            payment.amount.display_ru(),
            payment.currency,
            invoice.total.display_ru(),
            invoice.currency
        );
        let review = self.invoice_transition(
            invoice,
            PAYABLE,
            Status::NeedsReview,
            &[
                ("review_reason", s(reason)),
                // The payment under review, for the operator who settles it.
                ("review_provider", s(payment.provider)),
                ("review_payment_id", s(&payment.payment_id)),
                ("review_amount", n(payment.amount.0)),
                ("review_currency", s(&payment.currency)),
            ],
            "",
            &[],
            &[],
        )?;
        let actions = vec![
            self.put_new(Self::payment_item(payment, &invoice.id, "mismatch", at), None)?,
            review,
            self.put_new(outbox_item(event), None)?,
        ];
        match self.transact(actions).await? {
            None => Ok(Recorded::Applied),
            Some(codes) => match payment_outcome(&codes) {
                Some(Recorded::Unapplied) => self.record_unapplied(payment, &invoice.id, at).await,
                Some(outcome) => Ok(outcome),
                None => self.settle_conflict(payment, &codes).await,
            },
        }
    }

    async fn record_unapplied(
        &self,
        payment: &PaymentNotice,
        invoice_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::payment_item(payment, invoice_id, "unapplied", at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Recorded::Unapplied),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Recorded::Duplicate)
            }
            Err(e) => Err(store_err(e)),
        }
    }
}

impl OutboxStore for DynamoStore {
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :pending")
            .expression_attribute_values(":pending", s(OUTBOX_PENDING))
            .limit(limit.clamp(1, 100) as i32)
            .send()
            .await
            .map_err(store_err)?;
        out.items().iter().map(outbox_event).collect()
    }

    async fn mark_sent(&self, event_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(outbox_pk(event_id)))
            .key("sk", s("OUTBOX"))
            .update_expression("SET sent_at = :at REMOVE gsi2pk, gsi2sk")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }
}

/// An outbox item back into an event (from a query, or from a stream record's new image).
pub fn outbox_event(item: &Item) -> Result<OutboxEvent, StoreError> {
    let detail = string_attr(item, "detail")?;
    Ok(OutboxEvent {
        id: string_attr(item, "event_id")?,
        kind: string_attr(item, "type")?,
        at: string_attr(item, "created_at")?
            .parse()
            .map_err(|e| StoreError(format!("outbox created_at: {e}")))?,
        detail: serde_json::from_str(&detail).map_err(|e| StoreError(format!("outbox detail: {e}")))?,
    })
}

fn fulfilment_from_item(item: &Item) -> Result<crate::ports::Fulfilment, StoreError> {
    let extension = match item.get("extension") {
        Some(v) => Some(serde_dynamo::from_attribute_value(v.clone()).map_err(store_err)?),
        None => None,
    };
    Ok(crate::ports::Fulfilment {
        paid_at: optional_time(item, "paid_at"),
        extension,
        act_key: optional_string(item, "act_key"),
        subscription_applied: matches!(item.get("subscription_applied"), Some(AttributeValue::Bool(true))),
        email_message_id: optional_string(item, "email_message_id"),
        fulfilled_at: optional_time(item, "fulfilled_at"),
    })
}

pub(crate) fn subscription_pk(account: &str, plan: &str) -> String {
    format!("SUBSCRIPTION#{account}#{plan}")
}

fn email_pk(invoice_id: &str) -> String {
    format!("EMAIL#{invoice_id}")
}

pub(crate) fn optional_string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

pub(crate) fn optional_time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    optional_string(item, name).and_then(|v| v.parse().ok())
}

pub(crate) fn date_attr(item: &Item, name: &str) -> Result<chrono::NaiveDate, StoreError> {
    string_attr(item, name)?
        .parse()
        .map_err(|e| StoreError(format!("attribute {name}: {e}")))
}

impl DynamoStore {
    async fn update_invoice(
        &self,
        invoice_id: &str,
        set: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(invoice_pk(invoice_id)))
            .key("sk", s("INVOICE"))
            .update_expression(set)
            .condition_expression("attribute_exists(pk)");
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        update.send().await.map_err(store_err)?;
        Ok(())
    }

    async fn applied_to_subscription(&self, invoice: &Invoice) -> Result<bool, StoreError> {
        let item = self
            .get_item(subscription_pk(&invoice.account, &invoice.plan), "SUBSCRIPTION")
            .await?;
        Ok(
            matches!(item.as_ref().and_then(|i| i.get("applied_invoices")), Some(AttributeValue::Ss(ids)) if ids.contains(&invoice.id)),
        )
    }
}

impl crate::ports::FulfilStore for DynamoStore {
    async fn fulfilment(&self, invoice_id: &str) -> Result<crate::ports::Fulfilment, StoreError> {
        let item = self
            .get_item(invoice_pk(invoice_id), "INVOICE")
            .await?
            .ok_or_else(|| StoreError(format!("invoice {invoice_id} not found")))?;
        fulfilment_from_item(&item)
    }

    async fn invoice_and_fulfilment(
        &self,
        invoice_id: &str,
    ) -> Result<Option<(Invoice, crate::ports::Fulfilment)>, StoreError> {
        let Some(item) = self.get_item(invoice_pk(invoice_id), "INVOICE").await? else {
            return Ok(None);
        };
        let state = fulfilment_from_item(&item)?;
        Ok(Some((invoice_from_item(item)?, state)))
    }

    async fn subscription(
        &self,
        account: &str,
        plan: &str,
    ) -> Result<Option<crate::domain::subscription::Current>, StoreError> {
        match self.get_item(subscription_pk(account, plan), "SUBSCRIPTION").await? {
            None => Ok(None),
            Some(item) => Ok(Some(crate::domain::subscription::Current {
                period: crate::domain::subscription::Period {
                    start: date_attr(&item, "period_start")?,
                    end: date_attr(&item, "period_end")?,
                },
                expired: optional_string(&item, "status").as_deref() == Some("expired"),
            })),
        }
    }

    async fn decide_extension(
        &self,
        invoice_id: &str,
        extension: &crate::domain::subscription::Extension,
    ) -> Result<crate::domain::subscription::Extension, StoreError> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(extension).map_err(store_err)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(invoice_pk(invoice_id)))
            .key("sk", s("INVOICE"))
            .update_expression("SET extension = :e")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(extension)")
            .expression_attribute_values(":e", value)
            .send()
            .await;
        match result {
            Ok(_) => Ok(*extension),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.fulfilment(invoice_id)
                    .await?
                    .extension
                    .ok_or_else(|| StoreError(format!("invoice {invoice_id} has no extension after a conflict")))
            }
            Err(e) => Err(store_err(e)),
        }
    }

    async fn forget_extension(&self, invoice_id: &str) -> Result<(), StoreError> {
        self.update_invoice(invoice_id, "REMOVE extension, act_key", vec![])
            .await
    }

    async fn record_act(&self, invoice_id: &str, key: &str) -> Result<(), StoreError> {
        self.update_invoice(invoice_id, "SET act_key = :k", vec![(":k", s(key))])
            .await
    }

    async fn apply_extension(
        &self,
        invoice: &Invoice,
        extension: &crate::domain::subscription::Extension,
        event: &OutboxEvent,
    ) -> Result<crate::ports::Applied, StoreError> {
        let after = extension.after;
        let mut subscription = Update::builder()
            .table_name(&self.table)
            .key("pk", s(subscription_pk(&invoice.account, &invoice.plan)))
            .key("sk", s("SUBSCRIPTION"))
            // Every name aliased: `plan` (and others) are DynamoDB reserved words.
            .update_expression(
                "SET #entity = :entity, #account = :account, #plan = :plan, #start = :start, #end = :end, \
                 #status = :active, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk, gsi2pk = :gsi2pk, gsi2sk = :gsi2sk, \
                 #updated = :now, #buyer = :buyer, #quantity = :quantity, #last = :invoice_id \
                 ADD #applied :invoices",
            )
            .expression_attribute_names("#buyer", "buyer")
            .expression_attribute_names("#quantity", "quantity")
            .expression_attribute_names("#last", "last_invoice_id")
            .expression_attribute_values(
                ":buyer",
                serde_dynamo::to_attribute_value(&invoice.buyer).map_err(store_err)?,
            )
            .expression_attribute_values(":quantity", n(invoice.quantity))
            .expression_attribute_values(":invoice_id", s(&invoice.id))
            .expression_attribute_names("#entity", "entity")
            .expression_attribute_names("#account", "account")
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_names("#start", "period_start")
            .expression_attribute_names("#end", "period_end")
            .expression_attribute_names("#updated", "updated_at")
            .expression_attribute_names("#applied", "applied_invoices")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":entity", s("subscription"))
            .expression_attribute_values(":account", s(&invoice.account))
            .expression_attribute_values(":plan", s(&invoice.plan))
            .expression_attribute_values(":start", s(after.start.to_string()))
            .expression_attribute_values(":end", s(after.end.to_string()))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":gsi1pk", s(format!("ACCOUNT#{}", invoice.account)))
            .expression_attribute_values(":gsi1sk", s(format!("SUBSCRIPTION#{}", invoice.plan)))
            .expression_attribute_values(":gsi2pk", s("SUBSCRIPTION#active"))
            .expression_attribute_values(
                ":gsi2sk",
                s(format!("{}#{}#{}", after.end, invoice.account, invoice.plan)),
            )
            .expression_attribute_values(":now", s(event.at.to_rfc3339()))
            .expression_attribute_values(":invoices", AttributeValue::Ss(vec![invoice.id.clone()]));
        subscription = match extension.from_end {
            // Only from the end this extension was computed from, and once per invoice.
            Some(from) => subscription
                .condition_expression("#end = :from AND NOT contains(#applied, :invoice_id)")
                .expression_attribute_values(":from", s(from.to_string())),
            None => subscription.condition_expression("attribute_not_exists(pk)"),
        };
        let flag = Update::builder()
            .table_name(&self.table)
            .key("pk", s(invoice_pk(&invoice.id)))
            .key("sk", s("INVOICE"))
            .update_expression("SET subscription_applied = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .build()
            .map_err(store_err)?;
        let actions = vec![
            TransactWriteItem::builder()
                .update(subscription.build().map_err(store_err)?)
                .build(),
            TransactWriteItem::builder().update(flag).build(),
            self.put_new(outbox_item(event), None)?,
        ];
        let Some(codes) = self.transact(actions).await? else {
            return Ok(crate::ports::Applied::Now);
        };
        if self.applied_to_subscription(invoice).await? {
            // Applied by an earlier attempt that failed before (or while) marking the invoice.
            self.update_invoice(
                &invoice.id,
                "SET subscription_applied = :t",
                vec![(":t", AttributeValue::Bool(true))],
            )
            .await?;
            return Ok(crate::ports::Applied::Before);
        }
        if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") {
            return Ok(crate::ports::Applied::Moved);
        }
        Err(StoreError(format!(
            "subscription of {} not extended: {codes:?}",
            invoice.account
        )))
    }

    async fn claim_email(&self, invoice_id: &str, now: DateTime<Utc>) -> Result<crate::ports::EmailClaim, StoreError> {
        use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
        let token = uuid::Uuid::now_v7().to_string();
        let item: Item = HashMap::from([
            ("pk".into(), s(email_pk(invoice_id))),
            ("sk".into(), s("EMAIL")),
            ("entity".into(), s("email")),
            ("invoice_id".into(), s(invoice_id)),
            ("status".into(), s("sending")),
            ("token".into(), s(&token)),
            // A sender that died mid-way loses its claim after this.
            ("sending_until".into(), n(now.timestamp() + 120)),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR (#status = :sending AND sending_until < :now)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(crate::ports::EmailClaim::Claimed { token }),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                    let old = c.item();
                    match old.and_then(|old| optional_string(old, "message_id")) {
                        Some(message_id) => Ok(crate::ports::EmailClaim::Sent { message_id }),
                        // Our own claim: the SDK retried a put whose answer was lost.
                        None if old.and_then(|old| optional_string(old, "token")).as_deref() == Some(&token) => {
                            Ok(crate::ports::EmailClaim::Claimed { token })
                        }
                        None => Ok(crate::ports::EmailClaim::Busy),
                    }
                }
                other => Err(store_err(other)),
            },
        }
    }

    async fn email_sent(&self, invoice_id: &str, token: &str, message_id: &str) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            let marked = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(email_pk(invoice_id)))
                .key("sk", s("EMAIL"))
                .update_expression("SET #status = :sent, message_id = :id REMOVE sending_until")
                .condition_expression("#token = :token")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":sent", s("sent"))
                .expression_attribute_values(":id", s(message_id))
                .expression_attribute_values(":token", s(token))
                .send()
                .await;
            match marked {
                Ok(_) => break,
                Err(e) if attempt < 3 => {
                    attempt += 1;
                    tracing::warn!(invoice = %invoice_id, error = %DisplayErrorContext(&e), "marking the e-mail sent; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
                Err(e) => {
                    tracing::error!(invoice = %invoice_id, message_id, "e-mail sent but not recorded: a retry after the claim expires may send it again");
                    return Err(store_err(e));
                }
            }
        }
        self.record_email_message(invoice_id, message_id).await
    }

    async fn record_email_message(&self, invoice_id: &str, message_id: &str) -> Result<(), StoreError> {
        self.update_invoice(invoice_id, "SET email_message_id = :id", vec![(":id", s(message_id))])
            .await
    }

    async fn email_failed(&self, invoice_id: &str, token: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(email_pk(invoice_id)))
            .key("sk", s("EMAIL"))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        match result {
            Err(e)
                if !e
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(store_err(e))
            }
            _ => Ok(()),
        }
    }

    async fn mark_fulfilled(&self, invoice_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update_invoice(invoice_id, "SET fulfilled_at = :at", vec![(":at", s(at.to_rfc3339()))])
            .await
    }

    async fn unfulfilled(&self, cutoff: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi2")
                .key_condition_expression("gsi2pk = :paid")
                .filter_expression("attribute_not_exists(fulfilled_at) AND paid_at <= :cutoff")
                .expression_attribute_values(":paid", s(format!("STATUS#{}", Status::Paid)))
                .expression_attribute_values(":cutoff", s(cutoff.to_rfc3339()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(store_err)?;
            for item in out.items() {
                ids.push(string_attr(item, "id")?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || ids.len() >= 500 {
                return Ok(ids);
            }
        }
    }
}
