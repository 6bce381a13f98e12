//! The management API's store against the local AWS (moto): manual moves, histories, listings,
//! the audit log and endpoint changes. Each test gets a table of its own (listings read whole
//! index partitions such as `AUDIT` and `STATUS#…`), shaped like the shared one.

mod common;

use autobill::adapters::DynamoStore;
use autobill::adapters::admin::valid_cursor;
use autobill::domain::order::issue;
use autobill::domain::subscription::{Extension, Period};
use autobill::domain::{Invoice, Status};
use autobill::payments::{InvoiceRef, PaymentNotice};
use autobill::ports::{
    AdminStore, AttemptLog, AuditEntry, EndpointChangeError, EndpointPatch, Fact, FulfilStore, HistoryEntry,
    InvoiceIssuer, MailJournal, MailLog, ManualChange, OutboxEvent, RenewalStore, WebhookStore,
};
use autobill::webhooks::Endpoint;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::Arc;

const PAYABLE: &[Status] = &[Status::Issued, Status::Overdue];

struct World {
    store: DynamoStore,
    client: aws_sdk_dynamodb::Client,
    table: String,
    seq: std::sync::atomic::AtomicU64,
}

async fn world() -> World {
    let sdk = autobill::aws::sdk_config().await;
    let client = autobill::aws::dynamodb(&sdk);
    let table = common::fresh_table(&client, "admin-").await;
    World {
        store: DynamoStore::new(client.clone(), &table),
        client,
        table,
        seq: 0.into(),
    }
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// An event about `invoice` (the events module makes the real ones; only its shape matters here).
fn event(kind: &str, invoice: &Invoice, at: DateTime<Utc>) -> OutboxEvent {
    let id = common::unique("evt_");
    OutboxEvent {
        detail: json!({"id": id, "type": kind, "timestamp": at.to_rfc3339(), "data": {"invoice_id": invoice.id}}),
        id,
        kind: kind.into(),
        at,
    }
}

fn audit(action: &str, invoice: &Invoice, at: DateTime<Utc>) -> AuditEntry {
    let mut entry = AuditEntry::new(
        at,
        "arn:aws:sts::123456789012:assumed-role/Operator/alice",
        action,
        format!("invoice:{}", invoice.id),
        Some(format!("{action} by hand")),
        json!({"to": action}),
    );
    entry.invoice_id = Some(invoice.id.clone());
    entry
}

fn endpoint(id: &str) -> Endpoint {
    Endpoint {
        id: id.into(),
        url: "https://crm.example.com/hooks".into(),
        secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into(),
        events: vec!["invoice.paid".into()],
        conditions: vec![autobill::webhooks::Condition {
            path: "data.total".into(),
            op: autobill::webhooks::Op::Gte,
            value: json!(100000),
        }],
        fields: vec!["data.number".into()],
        enabled: true,
    }
}

fn endpoint_audit(action: &str, id: &str, at: &str) -> AuditEntry {
    AuditEntry::new(
        t(at),
        "api-key:local",
        action,
        format!("webhook_endpoint:{id}"),
        None,
        json!({}),
    )
}

impl World {
    /// Issues an invoice for `account` at `at` (numbered in this test's table).
    async fn issued(&self, account: &str, at: &str) -> Invoice {
        let mut order = common::order();
        order.account = account.into();
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let invoice = issue(
            &order,
            &common::billing("").seller,
            uuid::Uuid::now_v7().to_string(),
            seq,
            t(at),
        )
        .unwrap();
        self.store
            .insert_issued(&invoice, &autobill::events::invoice_issued(&invoice, t(at)), None)
            .await
            .unwrap();
        invoice
    }

    /// Every item of one entity in this test's table.
    async fn count(&self, entity: &str) -> usize {
        common::count_entity(&self.client, &self.table, entity).await
    }

    async fn counts(&self) -> [usize; 4] {
        [
            self.count("invoice").await,
            self.count("outbox").await,
            self.count("audit").await,
            self.count("payment").await,
        ]
    }

    async fn void(&self, invoice: &Invoice, at: &str) -> bool {
        let (event, audit) = (
            event("invoice.voided", invoice, t(at)),
            audit("invoice.void", invoice, t(at)),
        );
        self.store
            .apply_manual(&ManualChange {
                invoice,
                from: PAYABLE,
                to: Status::Void,
                facts: vec![(Fact::VoidReason, "issued by mistake".into())],
                payment: None,
                event: &event,
                audit: &audit,
            })
            .await
            .unwrap()
    }

    async fn all_of_account(&self, account: &str, limit: usize) -> Vec<Invoice> {
        let (mut all, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let page = self
                .store
                .invoices_of_account(account, limit, cursor.as_deref())
                .await
                .unwrap();
            assert!(page.items.len() <= limit);
            all.extend(page.items);
            match page.next {
                Some(next) => {
                    assert!(valid_cursor(&next), "{next}");
                    cursor = Some(next);
                }
                None => return all,
            }
        }
    }
}

fn ids(invoices: &[Invoice]) -> Vec<&str> {
    invoices.iter().map(|i| i.id.as_str()).collect()
}

#[tokio::test]
async fn a_void_applies_once_and_a_refusal_writes_nothing() {
    let w = world().await;
    let invoice = w.issued("acc-void", "2026-11-27T10:00:00Z").await;
    assert_eq!(w.counts().await, [1, 1, 0, 0]);

    assert!(w.void(&invoice, "2026-11-28T09:00:00Z").await);
    let record = w.store.invoice_record(&invoice.id).await.unwrap().unwrap();
    assert_eq!(record.invoice.status, Status::Void);
    assert_eq!(record.void_reason.as_deref(), Some("issued by mistake"));
    assert_eq!((record.paid_at, record.review_reason), (None, None));
    assert_eq!(w.counts().await, [1, 2, 1, 0]);

    // Void again: the invoice's condition refuses, and neither the event nor the audit is written.
    assert!(!w.void(&invoice, "2026-11-28T09:05:00Z").await);
    assert_eq!(w.counts().await, [1, 2, 1, 0]);

    // A paid invoice cannot be voided either (a payment through the callback service).
    let paid = w.issued("acc-void", "2026-11-27T11:00:00Z").await;
    common::pay(&w.store, &paid, Arc::new(common::at("2026-11-27T12:00:00Z"))).await;
    let before = w.counts().await;
    assert!(!w.void(&paid, "2026-11-28T09:10:00Z").await);
    assert_eq!(w.counts().await, before);
    let history = w.store.history(&paid.id).await.unwrap();
    assert!(
        matches!(&history[..], [
            HistoryEntry::Event { event_type: issued, .. },
            HistoryEntry::Payment { provider, outcome, amount, .. },
            HistoryEntry::Event { event_type: paid_event, .. },
        ] if issued == "invoice.issued" && provider == "sandbox" && outcome == "paid"
            && *amount == paid.total.0 && paid_event == "invoice.paid"),
        "{history:#?}"
    );

    assert_eq!(w.store.invoice_record("no-such-invoice").await.unwrap(), None);
}

#[tokio::test]
async fn a_manual_payment_shows_in_the_history_in_order() {
    let w = world().await;
    let invoice = w.issued("acc-paid", "2026-11-27T10:00:00Z").await;
    let sent = MailLog {
        invoice_id: invoice.id.clone(),
        message_id: common::unique("msg-"),
        to: "buh@romashka.example".into(),
        mail: "invoice".into(),
        at: t("2026-11-27T10:00:01Z"),
    };
    w.store.log_mail(&sent).await.unwrap();

    let at = t("2026-11-28T09:00:00Z");
    let payment = PaymentNotice {
        provider: "manual",
        payment_id: common::unique("manual_"),
        invoice: InvoiceRef::Id(invoice.id.clone()),
        amount: invoice.total,
        currency: "RUB".into(),
        succeeded: true,
    };
    let paid = autobill::events::invoice_paid(&invoice, &payment, at);
    let mut entry = audit("invoice.mark_paid", &invoice, at);
    // Unset: a manual move files its audit entry under its invoice.
    entry.invoice_id = None;
    let change = ManualChange {
        invoice: &invoice,
        from: PAYABLE,
        to: Status::Paid,
        facts: vec![
            (Fact::PaidAt, at.to_rfc3339()),
            (Fact::PaymentProvider, "manual".into()),
            (Fact::PaymentReference, "п/п № 512".into()),
        ],
        payment: Some(&payment),
        event: &paid,
        audit: &entry,
    };
    assert!(w.store.apply_manual(&change).await.unwrap());
    let record = w.store.invoice_record(&invoice.id).await.unwrap().unwrap();
    assert_eq!(record.invoice.status, Status::Paid);
    assert_eq!(record.paid_at, Some(at));
    assert_eq!(w.counts().await, [1, 2, 1, 1]);

    // The same change again: refused, nothing written (not even the payment).
    let again = ManualChange {
        audit: &audit("invoice.mark_paid", &invoice, at),
        ..change.clone()
    };
    assert!(!w.store.apply_manual(&again).await.unwrap());
    assert_eq!(w.counts().await, [1, 2, 1, 1]);

    let closing = MailLog {
        message_id: common::unique("msg-"),
        mail: "closing".into(),
        at: t("2026-11-28T09:00:05Z"),
        ..sent.clone()
    };
    w.store.log_mail(&closing).await.unwrap();
    let history = w.store.history(&invoice.id).await.unwrap();
    let issued_at = invoice.created_at;
    assert_eq!(
        history,
        vec![
            HistoryEntry::Event {
                at: issued_at,
                event_id: history_event_id(&history[0]),
                event_type: "invoice.issued".into()
            },
            HistoryEntry::Email {
                at: sent.at,
                message_id: sent.message_id.clone(),
                to: sent.to.clone(),
                mail: "invoice".into()
            },
            HistoryEntry::Audit {
                at,
                audit_id: entry.id.clone(),
                action: "invoice.mark_paid".into(),
                actor: entry.actor.clone(),
                reason: entry.reason.clone()
            },
            HistoryEntry::Payment {
                at,
                provider: "manual".into(),
                payment_id: payment.payment_id.clone(),
                amount: invoice.total.0,
                currency: "RUB".into(),
                outcome: "paid".into()
            },
            HistoryEntry::Event {
                at,
                event_id: paid.id.clone(),
                event_type: "invoice.paid".into()
            },
            HistoryEntry::Email {
                at: closing.at,
                message_id: closing.message_id.clone(),
                to: closing.to.clone(),
                mail: "closing".into()
            },
        ]
    );
    assert_eq!(w.store.history("no-such-invoice").await.unwrap(), vec![]);
}

fn history_event_id(entry: &HistoryEntry) -> String {
    match entry {
        HistoryEntry::Event { event_id, .. } => event_id.clone(),
        other => panic!("not an event: {other:?}"),
    }
}

#[tokio::test]
async fn an_accounts_invoices_page_newest_first() {
    let w = world().await;
    let mut issued = Vec::new();
    for day in ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"] {
        issued.push(w.issued("acc-list", &format!("{day}T10:00:00Z")).await);
    }
    w.issued("acc-other", "2026-11-25T10:00:00Z").await;
    issued.reverse();

    for limit in [1, 2, 3, 5, 50] {
        assert_eq!(
            ids(&w.all_of_account("acc-list", limit).await),
            ids(&issued),
            "limit {limit}"
        );
    }
    let first = w.store.invoices_of_account("acc-list", 2, None).await.unwrap();
    assert_eq!(ids(&first.items), ids(&issued[..2]));
    let cursor = first.next.unwrap();
    assert_eq!(
        ids(&w
            .store
            .invoices_of_account("acc-list", 2, Some(&cursor))
            .await
            .unwrap()
            .items),
        ids(&issued[2..4])
    );
    // Another listing's cursor reads as the end; garbage is not a cursor at all.
    let elsewhere = w
        .store
        .invoices_of_account("acc-other", 2, Some(&cursor))
        .await
        .unwrap();
    assert_eq!((elsewhere.items.len(), elsewhere.next), (0, None));
    let by_status = w
        .store
        .invoices_with_status(Status::Issued, 2, Some(&cursor))
        .await
        .unwrap();
    assert_eq!((by_status.items.len(), by_status.next), (0, None));
    assert!(!valid_cursor("garbage"));
    assert!(!valid_cursor(""));

    let none = w.store.invoices_of_account("acc-none", 10, None).await.unwrap();
    assert_eq!((none.items.len(), none.next), (0, None));
}

#[tokio::test]
async fn invoices_in_a_status_come_by_due_date() {
    let w = world().await;
    let late = w.issued("acc-a", "2026-11-24T10:00:00Z").await;
    let early = w.issued("acc-b", "2026-11-20T10:00:00Z").await;
    let middle = w.issued("acc-a", "2026-11-22T10:00:00Z").await;
    let voided = w.issued("acc-c", "2026-11-21T10:00:00Z").await;
    assert!(w.void(&voided, "2026-11-23T10:00:00Z").await);

    let first = w.store.invoices_with_status(Status::Issued, 2, None).await.unwrap();
    assert_eq!(ids(&first.items), vec![early.id.as_str(), middle.id.as_str()]);
    let rest = w
        .store
        .invoices_with_status(Status::Issued, 2, first.next.as_deref())
        .await
        .unwrap();
    assert_eq!(ids(&rest.items), vec![late.id.as_str()]);
    assert_eq!(rest.next, None);

    let void = w.store.invoices_with_status(Status::Void, 10, None).await.unwrap();
    assert_eq!(void.items.len(), 1);
    assert_eq!(void.items[0].id, voided.id);
    assert_eq!(void.items[0].status, Status::Void);
    assert!(
        w.store
            .invoices_with_status(Status::Paid, 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn an_accounts_subscriptions_with_their_current_renewal() {
    let w = world().await;
    let account = "acc-subs";
    let invoice = w.issued(account, "2026-11-27T10:00:00Z").await;
    let period = Period {
        start: "2026-11-27".parse().unwrap(),
        end: "2026-12-27".parse().unwrap(),
    };
    let extension = Extension {
        covered: period,
        after: period,
        from_end: None,
    };
    let activated = autobill::events::subscription_activated(&invoice, &extension, t("2026-11-27T11:00:00Z"));
    w.store.apply_extension(&invoice, &extension, &activated).await.unwrap();
    let subscription = |renewal| autobill::ports::SubscriptionState {
        account: account.into(),
        plan: invoice.plan.clone(),
        status: "active".into(),
        period_start: period.start,
        period_end: period.end,
        quantity: 1,
        last_invoice_id: Some(invoice.id.clone()),
        renewal_invoice_id: renewal,
    };
    assert_eq!(
        w.store.subscriptions_of_account(account).await.unwrap(),
        vec![subscription(None)]
    );

    // The renewal of the current end shows; one of an earlier end does not.
    w.store
        .record_renewal(account, &invoice.plan, period.end, "renewal-1", 7)
        .await
        .unwrap();
    assert_eq!(
        w.store.subscriptions_of_account(account).await.unwrap(),
        vec![subscription(Some("renewal-1".into()))]
    );
    w.client
        .update_item()
        .table_name(&w.table)
        .key(
            "pk",
            AttributeValue::S(format!("SUBSCRIPTION#{account}#{}", invoice.plan)),
        )
        .key("sk", AttributeValue::S("SUBSCRIPTION".into()))
        .update_expression("SET renewal_for = :earlier")
        .expression_attribute_values(":earlier", AttributeValue::S("2026-11-27".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        w.store.subscriptions_of_account(account).await.unwrap(),
        vec![subscription(None)]
    );
    // The activation event is in the invoice's history.
    let history = w.store.history(&invoice.id).await.unwrap();
    assert!(
        matches!(history.last(), Some(HistoryEntry::Event { event_type, .. }) if event_type == "subscription.activated")
    );
    assert_eq!(w.store.subscriptions_of_account("acc-none").await.unwrap(), vec![]);
}

#[tokio::test]
async fn an_event_with_its_deliveries() {
    let w = world().await;
    let invoice = w.issued("acc-events", "2026-11-27T10:00:00Z").await;
    let voided = event("invoice.voided", &invoice, t("2026-11-28T09:00:00Z"));
    let entry = audit("invoice.void", &invoice, voided.at);
    assert!(
        w.store
            .apply_manual(&ManualChange {
                invoice: &invoice,
                from: PAYABLE,
                to: Status::Void,
                facts: vec![],
                payment: None,
                event: &voided,
                audit: &entry,
            })
            .await
            .unwrap()
    );
    assert_eq!(w.store.outbox_event(&voided.id).await.unwrap(), Some(voided.clone()));
    assert_eq!(w.store.outbox_event("evt_none").await.unwrap(), None);

    let attempt = |endpoint: &str, n: u32, at: &str, status: Option<u16>| AttemptLog {
        event_id: voided.id.clone(),
        event_type: voided.kind.clone(),
        endpoint_id: endpoint.into(),
        attempt: n,
        at: t(at),
        status,
        outcome: match status {
            Some(code) => format!("HTTP {code}"),
            None => "timeout".into(),
        },
        latency_ms: 35,
        response: "ok".into(),
    };
    let logged = [
        attempt("crm", 1, "2026-11-28T09:00:01Z", None),
        attempt("analytics", 1, "2026-11-28T09:00:02Z", Some(200)),
        attempt("crm", 2, "2026-11-28T09:00:31Z", Some(200)),
    ];
    for a in &logged {
        w.store.log_attempt(a).await.unwrap();
    }
    assert_eq!(w.store.deliveries(&voided.id).await.unwrap(), logged.to_vec());
    assert_eq!(w.store.deliveries("evt_none").await.unwrap(), vec![]);
}

#[tokio::test]
async fn the_audit_log_pages_newest_first() {
    let w = world().await;
    let invoice = w.issued("acc-audit", "2026-11-27T10:00:00Z").await;
    let mut written = Vec::new();
    for minute in 0..5 {
        let mut entry = audit("invoice.resend", &invoice, t(&format!("2026-11-28T09:0{minute}:00Z")));
        if minute % 2 == 0 {
            entry.invoice_id = None;
            entry.reason = None;
        }
        w.store.record_action(&entry, None).await.unwrap();
        written.push(entry);
    }
    // An id is recorded once.
    assert!(w.store.record_action(&written[0], None).await.is_err());
    written.reverse();

    let (mut read, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = w.store.audit_log(2, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 2);
        read.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(read, written);
    // The entries with an invoice are in its history.
    let audits = w
        .store
        .history(&invoice.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e, HistoryEntry::Audit { .. }))
        .count();
    assert_eq!(audits, 2);
}

#[tokio::test]
async fn endpoints_are_created_updated_and_deleted_with_their_audit() {
    let w = world().await;
    let crm = endpoint("crm");
    w.store
        .create_endpoint(
            &crm,
            &endpoint_audit("webhook_endpoint.create", "crm", "2026-11-28T09:00:00Z"),
        )
        .await
        .unwrap();
    let record = w.store.endpoint("crm").await.unwrap().unwrap();
    assert_eq!(record.endpoint, crm);
    assert!(matches!(
        w.store
            .create_endpoint(
                &crm,
                &endpoint_audit("webhook_endpoint.create", "crm", "2026-11-28T09:01:00Z")
            )
            .await,
        Err(EndpointChangeError::Exists)
    ));
    assert!(matches!(
        w.store
            .update_endpoint(
                "nope",
                &EndpointPatch {
                    enabled: Some(false),
                    ..Default::default()
                },
                &endpoint_audit("webhook_endpoint.update", "nope", "2026-11-28T09:01:00Z")
            )
            .await,
        Err(EndpointChangeError::NotFound)
    ));
    assert_eq!(w.count("audit").await, 1);

    // Disabled by its receiver (410); an operator's edit that keeps it disabled keeps why.
    w.store.endpoint_failed("crm", t("2026-11-28T09:02:00Z")).await.unwrap();
    w.store
        .disable_endpoint("crm", "the receiver answered 410 Gone", t("2026-11-28T09:03:00Z"))
        .await
        .unwrap();
    let moved = Endpoint {
        url: "https://crm.example.com/v2/hooks".into(),
        enabled: false,
        fields: vec![],
        ..crm.clone()
    };
    let patch = EndpointPatch {
        url: Some(moved.url.clone()),
        enabled: Some(false),
        fields: Some(vec![]),
        ..Default::default()
    };
    w.store
        .update_endpoint(
            "crm",
            &patch,
            &endpoint_audit("webhook_endpoint.update", "crm", "2026-11-28T09:04:00Z"),
        )
        .await
        .unwrap();
    let record = w.store.endpoint("crm").await.unwrap().unwrap();
    assert_eq!(record.endpoint, moved);
    assert_eq!(
        record.disabled_reason.as_deref(),
        Some("the receiver answered 410 Gone")
    );
    assert_eq!(record.disabled_at, Some(t("2026-11-28T09:03:00Z")));

    // Enabling clears the failure record.
    let enabled = Endpoint {
        enabled: true,
        ..moved.clone()
    };
    w.store.endpoint_failed("crm", t("2026-11-28T09:05:00Z")).await.unwrap();
    w.store
        .update_endpoint(
            "crm",
            &EndpointPatch {
                enabled: Some(true),
                ..Default::default()
            },
            &endpoint_audit("webhook_endpoint.update", "crm", "2026-11-28T09:06:00Z"),
        )
        .await
        .unwrap();
    let record = w.store.endpoint("crm").await.unwrap().unwrap();
    assert_eq!(
        (
            record.endpoint,
            record.failing_since,
            record.disabled_reason,
            record.disabled_at
        ),
        (enabled.clone(), None, None, None)
    );

    // Disabled by an operator.
    w.store
        .update_endpoint(
            "crm",
            &EndpointPatch {
                enabled: Some(false),
                ..Default::default()
            },
            &endpoint_audit("webhook_endpoint.update", "crm", "2026-11-28T09:07:00Z"),
        )
        .await
        .unwrap();
    let record = w.store.endpoint("crm").await.unwrap().unwrap();
    assert_eq!(record.disabled_reason.as_deref(), Some("disabled by an operator"));
    assert_eq!(record.disabled_at, Some(t("2026-11-28T09:07:00Z")));

    // A patch of another setting writes only that one: the state left by others stays.
    w.store
        .update_endpoint(
            "crm",
            &EndpointPatch {
                fields: Some(vec!["data.number".into()]),
                ..Default::default()
            },
            &endpoint_audit("webhook_endpoint.update", "crm", "2026-11-28T09:07:30Z"),
        )
        .await
        .unwrap();
    let record = w.store.endpoint("crm").await.unwrap().unwrap();
    assert_eq!(record.endpoint.fields, vec!["data.number".to_owned()]);
    assert!(!record.endpoint.enabled);
    assert_eq!(record.disabled_reason.as_deref(), Some("disabled by an operator"));

    // Deleted: gone from reads, not seeded again, not changed further; created anew over it.
    w.store
        .delete_endpoint(
            "crm",
            &endpoint_audit("webhook_endpoint.delete", "crm", "2026-11-28T09:08:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(w.store.endpoint("crm").await.unwrap(), None);
    assert!(
        w.store
            .endpoints()
            .await
            .unwrap()
            .iter()
            .all(|r| r.endpoint.id != "crm")
    );
    assert!(!w.store.seed_endpoint(&crm).await.unwrap());
    assert_eq!(w.store.endpoint("crm").await.unwrap(), None);
    assert!(w.store.endpoint_failed("crm", t("2026-11-28T09:09:00Z")).await.is_err());
    assert_eq!(w.store.endpoint("crm").await.unwrap(), None);
    let audits = w.count("audit").await;
    for result in [
        w.store
            .delete_endpoint(
                "crm",
                &endpoint_audit("webhook_endpoint.delete", "crm", "2026-11-28T09:10:00Z"),
            )
            .await,
        w.store
            .update_endpoint(
                "crm",
                &EndpointPatch {
                    url: Some(crm.url.clone()),
                    ..Default::default()
                },
                &endpoint_audit("webhook_endpoint.update", "crm", "2026-11-28T09:10:00Z"),
            )
            .await,
    ] {
        assert!(matches!(result, Err(EndpointChangeError::NotFound)), "{result:?}");
    }
    assert_eq!(w.count("audit").await, audits);

    w.store
        .create_endpoint(
            &crm,
            &endpoint_audit("webhook_endpoint.create", "crm", "2026-11-28T09:11:00Z"),
        )
        .await
        .unwrap();
    let record = w.store.endpoint("crm").await.unwrap().unwrap();
    assert_eq!((record.endpoint, record.disabled_reason), (crm.clone(), None));
    assert_eq!(
        w.store
            .endpoints()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.endpoint.id)
            .collect::<Vec<_>>(),
        vec!["crm".to_owned()]
    );
    let actions: Vec<String> = w
        .store
        .audit_log(50, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "webhook_endpoint.create",
            "webhook_endpoint.delete",
            "webhook_endpoint.update",
            "webhook_endpoint.update",
            "webhook_endpoint.update",
            "webhook_endpoint.update",
            "webhook_endpoint.create",
        ]
    );
}
