//! The single DynamoDB table: invoices, numbering counters and idempotency claims.
//!
//! Items are plain and readable in the console: `pk`/`sk` keys, `entity`, human status label.
//! - invoice: `INVOICE#{id}` / `INVOICE`; gsi1 = invoices per account, gsi2 = by status and due date
//! - counter: `COUNTER#INVOICE#{prefix}{year}` / `COUNTER`, attribute `last`
//! - idempotency claim: `IDEMPOTENCY#{key}` / `IDEMPOTENCY`, TTL attribute `expires_at`

use crate::domain::Invoice;
use crate::ports::{IdempotencyClaim, InsertError, InvoiceIssuer, InvoiceReader, StoreError};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
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

fn invoice_pk(id: &str) -> String {
    format!("INVOICE#{id}")
}

fn counter_pk(prefix: &str, year: i32) -> String {
    format!("COUNTER#INVOICE#{prefix}{year}")
}

fn claim_pk(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn store_err(e: impl std::error::Error) -> StoreError {
    StoreError(DisplayErrorContext(e).to_string())
}

fn number_attr(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError(format!("attribute {name}: not an integer: {v}"))),
        _ => Err(StoreError(format!("attribute {name}: missing or not a number"))),
    }
}

fn string_attr(item: &Item, name: &str) -> Result<String, StoreError> {
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

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
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

    fn put_new(&self, item: Item, extra_condition: Option<(&str, i64)>) -> Result<TransactWriteItem, StoreError> {
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
    async fn get_invoice(&self, id: &str) -> Result<Option<Invoice>, StoreError> {
        match self.get_item(invoice_pk(id), "INVOICE").await? {
            None => Ok(None),
            Some(item) => {
                let rec: InvoiceItem = serde_dynamo::from_item(item).map_err(store_err)?;
                Ok(Some(rec.invoice))
            }
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

    async fn insert_issued(&self, invoice: &Invoice, claim: Option<&IdempotencyClaim>) -> Result<(), InsertError> {
        let invoice_item = serde_dynamo::to_item(InvoiceItem::new(invoice)).map_err(store_err)?;
        let mut actions = vec![self.counter_update(invoice)?, self.put_new(invoice_item, None)?];
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
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
            let codes: Vec<&str> = e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect();
            let failed = |i: usize| codes.get(i).is_some_and(|c| *c == "ConditionalCheckFailed");
            if failed(2) {
                return Err(InsertError::KeyClaimed);
            }
            if failed(0) || codes.contains(&"TransactionConflict") {
                return Err(InsertError::NumberTaken);
            }
            if failed(1) {
                return Err(InsertError::Store(StoreError(format!(
                    "invoice id {} already exists",
                    invoice.id
                ))));
            }
        }
        if let Some(TransactWriteItemsError::TransactionInProgressException(_)) = err.as_service_error() {
            return Err(InsertError::NumberTaken);
        }
        Err(InsertError::Store(store_err(err)))
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
