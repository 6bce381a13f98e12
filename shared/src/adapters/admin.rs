//! What the management API reads and does by hand, in the single table.
//!
//! - audit entry: `AUDIT#{id}` / `AUDIT`: `audit_id`, `at`, `actor`, `action`, `target`,
//!   `invoice_id`?, `reason`?, `details` (JSON text); gsi2 `AUDIT` by `{at}#{id}`: the audit log,
//!   read newest first (one partition: manual actions are few).
//! - e-mail sent: `MAIL#{message id}` / `MAIL`: `invoice_id`, `message_id`, `recipient`, `mail`,
//!   `at`. (Not `EMAIL#…`: that is fulfilment's claim of the closing e-mail.)
//! - an invoice's history: every item about an invoice (its events in the outbox, payments,
//!   audit entries, e-mails) carries gsi1 `HISTORY#{invoice id}` / `{at}#{KIND}#{id}` (`at`
//!   fixed width, to the nanosecond), so the history is one query. Entries of the same instant
//!   read in causal order: the action, the payment, the event, the e-mail.
//! - deleted webhook endpoint: a tombstone under the endpoint's key (see [`super::webhooks`]).
//!
//! Listings page with an opaque cursor: the last key read, as JSON in URL-safe base64.

use super::dynamo::{
    DynamoStore, Item, condition_held, invoice_from_item, invoice_pk, number_attr, optional_string, optional_time,
    outbox_event, outbox_item, outbox_pk, s, store_err, string_attr,
};
use super::webhooks::{DELETED, LIVE, endpoint_item, endpoint_pk};
use crate::domain::{Invoice, Status};
use crate::ports::{
    AdminStore, AttemptLog, AuditEntry, EndpointChangeError, EndpointPatch, Fact, HistoryEntry, InvoiceRecord,
    MailJournal, MailLog, ManualChange, OutboxEvent, Page, StoreError, SubscriptionState,
};
use crate::webhooks::Endpoint;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

const AUDIT_LOG: &str = "AUDIT";
/// Why an endpoint an operator disabled is disabled (unless it was disabled before).
const OPERATOR_DISABLED: &str = "disabled by an operator";
/// Far longer than any cursor made here.
const CURSOR_MAX: usize = 2048;

/// An instant in a sort key: fixed width (nanoseconds, `Z`), so that keys sort as instants do.
fn key_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Puts `item` in the history of `invoice_id` (gsi1), as `kind` (`EVENT`, `PAYMENT`, `AUDIT`,
/// `MAIL`) `id` at `at`.
pub(crate) fn index_in_history(item: &mut Item, invoice_id: &str, at: DateTime<Utc>, kind: &str, id: &str) {
    item.insert("gsi1pk".into(), s(format!("HISTORY#{invoice_id}")));
    item.insert("gsi1sk".into(), s(format!("{}#{kind}#{id}", key_time(at))));
}

fn time_attr(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    string_attr(item, name)?
        .parse()
        .map_err(|e| StoreError(format!("attribute {name}: {e}")))
}

fn int_attr<T: TryFrom<i64>>(item: &Item, name: &str) -> Result<T, StoreError> {
    let v = number_attr(item, name)?;
    T::try_from(v).map_err(|_| StoreError(format!("attribute {name}: out of range: {v}")))
}

/// Which key a query reads: the table's or an index's.
#[derive(Clone, Copy)]
enum Index {
    Table,
    Gsi1,
    Gsi2,
}

impl Index {
    fn name(self) -> Option<String> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some("gsi1".into()),
            Index::Gsi2 => Some("gsi2".into()),
        }
    }

    /// The partition and sort key attributes.
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
            Index::Gsi2 => ("gsi2pk", "gsi2sk"),
        }
    }
}

/// One partition of the table or an index, optionally only the sort keys with a prefix.
struct Query<'a> {
    index: Index,
    partition: &'a str,
    prefix: Option<&'a str>,
    newest_first: bool,
}

impl Query<'_> {
    /// Whether a decoded cursor was made by this query (a cursor of another listing is not).
    fn made(&self, key: &BTreeMap<String, String>) -> bool {
        let (pk, sk) = self.index.keys();
        key.get(pk).is_some_and(|v| v == self.partition)
            && key
                .get(sk)
                .is_some_and(|v| self.prefix.is_none_or(|p| v.starts_with(p)))
    }
}

/// The cursor of the last key read: its string attributes as JSON, in URL-safe base64.
fn encode_cursor(key: &Item) -> Result<String, StoreError> {
    let mut map = BTreeMap::new();
    for (name, value) in key {
        match value {
            AttributeValue::S(v) => map.insert(name.as_str(), v.as_str()),
            _ => return Err(StoreError(format!("key attribute {name} is not a string"))),
        };
    }
    let json = serde_json::to_vec(&map).map_err(|e| StoreError(format!("cursor: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// A cursor back into a key: the table's key and one index's, nothing else.
fn decode_cursor(cursor: &str) -> Option<BTreeMap<String, String>> {
    if cursor.is_empty() || cursor.len() > CURSOR_MAX {
        return None;
    }
    let json = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let key: BTreeMap<String, String> = serde_json::from_slice(&json).ok()?;
    let has = |(pk, sk): (&str, &str)| {
        [pk, sk]
            .iter()
            .all(|name| key.get(*name).is_some_and(|v| !v.is_empty()))
    };
    let indexes = [Index::Gsi1, Index::Gsi2].into_iter().filter(|i| has(i.keys())).count();
    (key.len() == 4 && has(Index::Table.keys()) && indexes == 1).then_some(key)
}

/// Whether `cursor` could have come from a listing's `next` (the HTTP layer answers 400
/// `invalid_cursor` when not). A well-formed cursor of another listing is not detected here:
/// that listing reads it as its end (an empty last page).
pub fn valid_cursor(cursor: &str) -> bool {
    decode_cursor(cursor).is_some()
}

/// Items read with `read`; one that cannot be read (broken by hand in the console) is skipped,
/// loudly, so that it does not hide every other one.
fn readable<T>(items: Vec<Item>, what: &str, read: impl Fn(Item) -> Result<T, StoreError>) -> Vec<T> {
    items
        .into_iter()
        .filter_map(|item| {
            let pk = item.get("pk").cloned();
            match read(item) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(?pk, what, error = %e, "unreadable item skipped");
                    crate::metrics::count("AdminItemUnreadable", what);
                    None
                }
            }
        })
        .collect()
}

fn audit_item(entry: &AuditEntry) -> Item {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(format!("AUDIT#{}", entry.id))),
        ("sk".to_owned(), s("AUDIT")),
        ("entity".to_owned(), s("audit")),
        ("audit_id".to_owned(), s(&entry.id)),
        ("at".to_owned(), s(entry.at.to_rfc3339())),
        ("actor".to_owned(), s(&entry.actor)),
        ("action".to_owned(), s(&entry.action)),
        ("target".to_owned(), s(&entry.target)),
        ("details".to_owned(), s(entry.details.to_string())),
        ("gsi2pk".to_owned(), s(AUDIT_LOG)),
        ("gsi2sk".to_owned(), s(format!("{}#{}", key_time(entry.at), entry.id))),
    ]);
    if let Some(reason) = &entry.reason {
        item.insert("reason".into(), s(reason));
    }
    if let Some(invoice_id) = &entry.invoice_id {
        item.insert("invoice_id".into(), s(invoice_id));
        index_in_history(&mut item, invoice_id, entry.at, "AUDIT", &entry.id);
    }
    item
}

fn audit_entry(item: Item) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: string_attr(&item, "audit_id")?,
        at: time_attr(&item, "at")?,
        actor: string_attr(&item, "actor")?,
        action: string_attr(&item, "action")?,
        target: string_attr(&item, "target")?,
        invoice_id: optional_string(&item, "invoice_id"),
        reason: optional_string(&item, "reason"),
        details: serde_json::from_str(&string_attr(&item, "details")?)
            .map_err(|e| StoreError(format!("attribute details: {e}")))?,
    })
}

fn mail_item(entry: &MailLog) -> Item {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(format!("MAIL#{}", entry.message_id))),
        ("sk".to_owned(), s("MAIL")),
        ("entity".to_owned(), s("email_log")),
        ("invoice_id".to_owned(), s(&entry.invoice_id)),
        ("message_id".to_owned(), s(&entry.message_id)),
        ("recipient".to_owned(), s(&entry.to)),
        ("mail".to_owned(), s(&entry.mail)),
        ("at".to_owned(), s(entry.at.to_rfc3339())),
    ]);
    index_in_history(&mut item, &entry.invoice_id, entry.at, "MAIL", &entry.message_id);
    item
}

/// An item of an invoice's history, by its `entity`.
fn history_entry(item: Item) -> Result<HistoryEntry, StoreError> {
    let text = |name| string_attr(&item, name);
    Ok(match text("entity")?.as_str() {
        "outbox" => HistoryEntry::Event {
            at: time_attr(&item, "created_at")?,
            event_id: text("event_id")?,
            event_type: text("type")?,
        },
        "payment" => HistoryEntry::Payment {
            at: time_attr(&item, "received_at")?,
            provider: text("provider")?,
            payment_id: text("payment_id")?,
            amount: number_attr(&item, "amount")?,
            currency: text("currency")?,
            outcome: text("outcome")?,
        },
        "audit" => HistoryEntry::Audit {
            at: time_attr(&item, "at")?,
            audit_id: text("audit_id")?,
            action: text("action")?,
            actor: text("actor")?,
            reason: optional_string(&item, "reason"),
        },
        "email_log" => HistoryEntry::Email {
            at: time_attr(&item, "at")?,
            message_id: text("message_id")?,
            to: text("recipient")?,
            mail: text("mail")?,
        },
        other => return Err(StoreError(format!("entity {other} in an invoice's history"))),
    })
}

/// Among entries of the same instant: the action, the money, the consequence, the e-mail.
fn causal_rank(entry: &HistoryEntry) -> u8 {
    match entry {
        HistoryEntry::Audit { .. } => 0,
        HistoryEntry::Payment { .. } => 1,
        HistoryEntry::Event { .. } => 2,
        HistoryEntry::Email { .. } => 3,
    }
}

/// The invoice attribute a manual fact is kept in.
fn fact_attribute(fact: Fact) -> &'static str {
    match fact {
        Fact::VoidReason => "void_reason",
        Fact::VoidedAt => "voided_at",
        Fact::VoidedBy => "voided_by",
        Fact::Resolution => "resolution",
        Fact::PaidAt => "paid_at",
        Fact::PaymentProvider => "payment_provider",
        Fact::PaymentId => "payment_id",
        Fact::PaymentReference => "payment_reference",
        Fact::PaidBy => "paid_by",
    }
}

/// The payment `record_mismatch` noted on an invoice it sent to review.
fn review_payment(item: &Item, invoice_id: &str) -> Option<crate::payments::PaymentNotice> {
    Some(crate::payments::PaymentNotice {
        provider: crate::payments::provider_name(&optional_string(item, "review_provider")?)?,
        payment_id: optional_string(item, "review_payment_id")?,
        invoice: crate::payments::InvoiceRef::Id(invoice_id.to_owned()),
        amount: crate::domain::Kopecks(number_attr(item, "review_amount").ok()?),
        currency: optional_string(item, "review_currency")?,
        succeeded: true,
    })
}

fn attempt_log(event_id: &str, item: Item) -> Result<AttemptLog, StoreError> {
    Ok(AttemptLog {
        event_id: event_id.to_owned(),
        event_type: string_attr(&item, "event_type")?,
        endpoint_id: string_attr(&item, "endpoint_id")?,
        attempt: int_attr(&item, "attempt")?,
        at: time_attr(&item, "at")?,
        status: match item.get("status_code") {
            Some(_) => Some(int_attr(&item, "status_code")?),
            None => None,
        },
        outcome: string_attr(&item, "outcome")?,
        latency_ms: int_attr(&item, "latency_ms")?,
        response: optional_string(&item, "response").unwrap_or_default(),
    })
}

fn subscription_state(item: Item) -> Result<SubscriptionState, StoreError> {
    let record = super::subscriptions::record(&item)?;
    Ok(SubscriptionState {
        status: string_attr(&item, "status")?,
        renewal_invoice_id: record.current_renewal().map(|r| r.invoice_id.clone()),
        account: record.account,
        plan: record.plan,
        period_start: record.period.start,
        period_end: record.period.end,
        quantity: record.quantity,
        last_invoice_id: record.last_invoice,
    })
}

/// The outcome of a transaction whose first action is the one that may be refused.
fn refused_first(codes: Option<Vec<String>>, what: &str) -> Result<bool, StoreError> {
    match codes {
        None => Ok(true),
        Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => Ok(false),
        Some(codes) => Err(StoreError(format!("{what}: transaction cancelled: {codes:?}"))),
    }
}

impl DynamoStore {
    fn query(&self, q: &Query<'_>) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk, sk) = q.index.keys();
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .set_index_name(q.index.name())
            .scan_index_forward(!q.newest_first)
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", s(q.partition));
        match q.prefix {
            None => query.key_condition_expression("#pk = :pk"),
            Some(prefix) => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":prefix", s(prefix)),
        }
    }

    /// At most `limit` items after `cursor`, and the cursor of the next page. A cursor made by
    /// another listing reads as the end.
    async fn page(&self, q: &Query<'_>, limit: usize, cursor: Option<&str>) -> Result<Page<Item>, StoreError> {
        let start = match cursor {
            None => None,
            Some(cursor) => match decode_cursor(cursor).filter(|key| q.made(key)) {
                Some(key) => Some(key.into_iter().map(|(k, v)| (k, s(v))).collect()),
                None => {
                    return Ok(Page {
                        items: vec![],
                        next: None,
                    });
                }
            },
        };
        let out = self
            .query(q)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_err)?;
        Ok(Page {
            next: out.last_evaluated_key.as_ref().map(encode_cursor).transpose()?,
            items: out.items.unwrap_or_default(),
        })
    }

    /// Every item of the query, through all its pages.
    async fn all(&self, q: &Query<'_>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .query(q)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(store_err)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    async fn invoice_page(
        &self,
        q: &Query<'_>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Invoice>, StoreError> {
        let page = self.page(q, limit, cursor).await?;
        Ok(Page {
            items: readable(page.items, "invoice", invoice_from_item),
            next: page.next,
        })
    }

    /// Puts an endpoint change (action 0, refused with `refused`) with its audit entry.
    async fn endpoint_change(
        &self,
        change: TransactWriteItem,
        audit: &AuditEntry,
        refused: EndpointChangeError,
    ) -> Result<(), EndpointChangeError> {
        let actions = vec![change, self.put_new(audit_item(audit), None)?];
        let codes = self.transact(actions).await?;
        match refused_first(codes, &format!("endpoint {}", audit.target))? {
            true => Ok(()),
            false => Err(refused),
        }
    }
}

impl MailJournal for DynamoStore {
    async fn log_mail(&self, entry: &MailLog) -> Result<(), StoreError> {
        self.put_item(mail_item(entry)).await
    }
}

impl AdminStore for DynamoStore {
    fn valid_cursor(&self, cursor: &str) -> bool {
        valid_cursor(cursor)
    }

    async fn invoice_record(&self, id: &str) -> Result<Option<InvoiceRecord>, StoreError> {
        let Some(item) = self.get_item(invoice_pk(id), "INVOICE").await? else {
            return Ok(None);
        };
        let text = |name| optional_string(&item, name);
        Ok(Some(InvoiceRecord {
            paid_at: optional_time(&item, "paid_at"),
            fulfilled_at: optional_time(&item, "fulfilled_at"),
            act_key: text("act_key"),
            review_reason: text("review_reason"),
            review_payment: review_payment(&item, id),
            email_message_id: text("email_message_id"),
            void_reason: text("void_reason"),
            invoice: invoice_from_item(item)?,
        }))
    }

    async fn invoices_of_account(
        &self,
        account: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Invoice>, StoreError> {
        let partition = format!("ACCOUNT#{account}");
        let q = Query {
            index: Index::Gsi1,
            partition: &partition,
            prefix: Some("INVOICE#"),
            newest_first: true,
        };
        self.invoice_page(&q, limit, cursor).await
    }

    async fn invoices_with_status(
        &self,
        status: Status,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Invoice>, StoreError> {
        let partition = format!("STATUS#{status}");
        let q = Query {
            index: Index::Gsi2,
            partition: &partition,
            prefix: None,
            newest_first: false,
        };
        self.invoice_page(&q, limit, cursor).await
    }

    async fn subscriptions_of_account(&self, account: &str) -> Result<Vec<SubscriptionState>, StoreError> {
        let partition = format!("ACCOUNT#{account}");
        let items = self
            .all(&Query {
                index: Index::Gsi1,
                partition: &partition,
                prefix: Some("SUBSCRIPTION#"),
                newest_first: false,
            })
            .await?;
        Ok(readable(items, "subscription", subscription_state))
    }

    async fn history(&self, invoice_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let partition = format!("HISTORY#{invoice_id}");
        let items = self
            .all(&Query {
                index: Index::Gsi1,
                partition: &partition,
                prefix: None,
                newest_first: false,
            })
            .await?;
        let mut entries = readable(items, "history", history_entry);
        // Already by time; a stable sort only orders entries of the same instant.
        entries.sort_by_key(|e| (e.at(), causal_rank(e)));
        Ok(entries)
    }

    async fn outbox_event(&self, event_id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        self.get_item(outbox_pk(event_id), "OUTBOX")
            .await?
            .map(|item| outbox_event(&item))
            .transpose()
    }

    /// By time (the log's key orders them by endpoint and attempt).
    async fn deliveries(&self, event_id: &str) -> Result<Vec<AttemptLog>, StoreError> {
        let partition = format!("DELIVERY#{event_id}");
        let items = self
            .all(&Query {
                index: Index::Table,
                partition: &partition,
                prefix: None,
                newest_first: false,
            })
            .await?;
        let mut attempts = readable(items, "delivery", |item| attempt_log(event_id, item));
        attempts.sort_by_key(|a| a.at);
        Ok(attempts)
    }

    /// Actions, in this order: (0) the invoice's move, the only one refused in the normal
    /// course; (1) the event; (2) the audit entry, shown in the invoice's history (its
    /// `invoice_id` is the invoice's when unset); (3) the payment, if any, as `paid`.
    async fn apply_manual(&self, change: &ManualChange<'_>) -> Result<bool, StoreError> {
        let invoice = change.invoice;
        let set: Vec<(&str, AttributeValue)> = change.facts.iter().map(|(k, v)| (fact_attribute(*k), s(v))).collect();
        let audit = AuditEntry {
            invoice_id: Some(change.audit.invoice_id.clone().unwrap_or_else(|| invoice.id.clone())),
            ..change.audit.clone()
        };
        let mut actions = vec![
            self.invoice_transition(invoice, change.from, change.to, &set, "", &[], &[])?,
            self.put_new(outbox_item(change.event), None)?,
            self.put_new(audit_item(&audit), None)?,
        ];
        if let Some(payment) = change.payment {
            let item = Self::payment_item(payment, &invoice.id, "paid", change.event.at);
            actions.push(self.put_new(item, None)?);
        }
        let codes = self.transact(actions).await?;
        refused_first(codes, &format!("manual change of invoice {}", invoice.id))
    }

    async fn record_action(&self, entry: &AuditEntry, event: Option<&OutboxEvent>) -> Result<(), StoreError> {
        let Some(event) = event else {
            let put = self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(audit_item(entry)))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            return match condition_held(put)? {
                true => Ok(()),
                false => Err(StoreError(format!("audit entry {} exists", entry.id))),
            };
        };
        let actions = vec![
            self.put_new(audit_item(entry), None)?,
            self.put_new(outbox_item(event), None)?,
        ];
        match self.transact(actions).await? {
            None => Ok(()),
            Some(codes) => Err(StoreError(format!("audit entry {} not written: {codes:?}", entry.id))),
        }
    }

    async fn audit_log(&self, limit: usize, cursor: Option<&str>) -> Result<Page<AuditEntry>, StoreError> {
        let q = Query {
            index: Index::Gsi2,
            partition: AUDIT_LOG,
            prefix: None,
            newest_first: true,
        };
        let page = self.page(&q, limit, cursor).await?;
        Ok(Page {
            items: readable(page.items, "audit", audit_entry),
            next: page.next,
        })
    }

    async fn create_endpoint(&self, endpoint: &Endpoint, audit: &AuditEntry) -> Result<(), EndpointChangeError> {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(endpoint_item(endpoint)?))
            .condition_expression("attribute_not_exists(pk) OR entity = :deleted")
            .expression_attribute_values(":deleted", s(DELETED))
            .build()
            .map_err(store_err)?;
        let change = TransactWriteItem::builder().put(put).build();
        self.endpoint_change(change, audit, EndpointChangeError::Exists).await
    }

    /// An update, not a put: what the delivery function recorded (`last_failure_at`) stays, and
    /// an endpoint disabled before keeps why and when.
    async fn update_endpoint(
        &self,
        id: &str,
        patch: &EndpointPatch,
        audit: &AuditEntry,
    ) -> Result<(), EndpointChangeError> {
        let settings: Item = serde_dynamo::to_item(patch).map_err(store_err)?;
        let mut update = Update::builder()
            .table_name(self.table())
            .key("pk", s(endpoint_pk(id)))
            .key("sk", s("ENDPOINT"))
            .condition_expression("entity = :live")
            .expression_attribute_values(":live", s(LIVE));
        let mut sets = vec!["updated_at = :now".to_owned()];
        update = update.expression_attribute_values(":now", s(audit.at.to_rfc3339()));
        for (i, (name, value)) in settings.into_iter().enumerate() {
            sets.push(format!("#f{i} = :f{i}"));
            update = update
                .expression_attribute_names(format!("#f{i}"), name)
                .expression_attribute_values(format!(":f{i}"), value);
        }
        let removed = match patch.enabled {
            Some(true) => " REMOVE failing_since, disabled_reason, disabled_at",
            Some(false) => {
                sets.push("disabled_reason = if_not_exists(disabled_reason, :reason)".into());
                sets.push("disabled_at = if_not_exists(disabled_at, :at)".into());
                update = update
                    .expression_attribute_values(":reason", s(OPERATOR_DISABLED))
                    .expression_attribute_values(":at", s(audit.at.to_rfc3339()));
                " REMOVE failing_since"
            }
            None => "",
        };
        let update = update
            .update_expression(format!("SET {}{removed}", sets.join(", ")))
            .build()
            .map_err(store_err)?;
        let change = TransactWriteItem::builder().update(update).build();
        self.endpoint_change(change, audit, EndpointChangeError::NotFound).await
    }

    async fn delete_endpoint(&self, id: &str, audit: &AuditEntry) -> Result<(), EndpointChangeError> {
        let tombstone: Item = HashMap::from([
            ("pk".to_owned(), s(endpoint_pk(id))),
            ("sk".to_owned(), s("ENDPOINT")),
            ("entity".to_owned(), s(DELETED)),
            ("id".to_owned(), s(id)),
            ("deleted_at".to_owned(), s(audit.at.to_rfc3339())),
            ("deleted_by".to_owned(), s(&audit.actor)),
        ]);
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(tombstone))
            .condition_expression("entity = :live")
            .expression_attribute_values(":live", s(LIVE))
            .build()
            .map_err(store_err)?;
        let change = TransactWriteItem::builder().put(put).build();
        self.endpoint_change(change, audit, EndpointChangeError::NotFound).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let key: Item = HashMap::from([
            ("pk".to_owned(), s("INVOICE#1")),
            ("sk".to_owned(), s("INVOICE")),
            ("gsi1pk".to_owned(), s("ACCOUNT#a")),
            ("gsi1sk".to_owned(), s("INVOICE#2026-11-27#2026-000001")),
        ]);
        let cursor = encode_cursor(&key).unwrap();
        assert!(valid_cursor(&cursor));
        let decoded = decode_cursor(&cursor).unwrap();
        let q = |partition, prefix| Query {
            index: Index::Gsi1,
            partition,
            prefix,
            newest_first: true,
        };
        assert!(q("ACCOUNT#a", Some("INVOICE#")).made(&decoded));
        assert!(!q("ACCOUNT#b", Some("INVOICE#")).made(&decoded));
        assert!(!q("ACCOUNT#a", Some("SUBSCRIPTION#")).made(&decoded));

        let encode = |json: &str| URL_SAFE_NO_PAD.encode(json);
        for bad in [
            String::new(),
            "not base64!".into(),
            encode("[]"),
            encode(r#"{"pk":"a","sk":"b"}"#),
            encode(r#"{"pk":"a","sk":"b","gsi1pk":"c","gsi1sk":1}"#),
            encode(r#"{"pk":"a","sk":"b","gsi1pk":"c","gsi2sk":"d"}"#),
            encode(r#"{"pk":"a","sk":"b","gsi1pk":"c","gsi1sk":""}"#),
            "A".repeat(CURSOR_MAX + 1),
        ] {
            assert!(!valid_cursor(&bad), "{bad}");
        }
    }

    #[test]
    fn sort_key_times_sort_as_instants() {
        let t = |s: &str| key_time(s.parse().unwrap());
        assert_eq!(t("2026-11-27T10:00:00Z"), "2026-11-27T10:00:00.000000000Z");
        assert!(t("2026-11-27T10:00:00Z") < t("2026-11-27T10:00:00.5Z"));
        assert!(t("2026-11-27T10:00:00.25Z") < t("2026-11-27T10:00:00.5Z"));
    }
}
