//! The payment-callback service and the outbox publisher, on the in-memory adapters.

mod common;

use autobill::adapters::memory::MemoryStore;
use autobill::callbacks::Callbacks;
use autobill::domain::{Kopecks, Status};
use autobill::payments::sandbox::{Sandbox, sign};
use autobill::payments::{Handled, InvoiceRef, PaymentNotice, RawCallback};
use autobill::ports::{EventBus, InvoiceReader, OutboxEvent, OutboxStore, PaymentLookup, StoreError};
use autobill::service::Invoices;
use http::{HeaderMap, HeaderValue, StatusCode};
use std::sync::Arc;

/// No YooKassa in these tests.
struct NoLookup;
impl PaymentLookup for NoLookup {
    async fn fetch(&self, _: &str) -> Result<Vec<u8>, StoreError> {
        Err(StoreError("not configured".into()))
    }
}

async fn setup() -> (MemoryStore, Callbacks<MemoryStore, NoLookup>, autobill::domain::Invoice) {
    let store = MemoryStore::default();
    let clock = Arc::new(common::at("2026-11-27T12:00:00Z"));
    let invoices = Invoices {
        store: store.clone(),
        documents: store.clone(),
        billing: Arc::new(common::billing("")),
        clock: clock.clone(),
    };
    let invoice = invoices.create(&common::order(), None).await.unwrap().invoice;
    let callbacks = Callbacks {
        store: store.clone(),
        lookup: None,
        number_prefix: String::new(),
        clock,
    };
    (store, callbacks, invoice)
}

/// The outbox events of one type.
fn outbox_of(store: &MemoryStore, kind: &str) -> Vec<(OutboxEvent, bool)> {
    store.outbox().into_iter().filter(|(e, _)| e.kind == kind).collect()
}

fn notice(invoice_id: &str, payment_id: &str, amount: i64, currency: &str) -> PaymentNotice {
    PaymentNotice {
        provider: "sandbox",
        payment_id: payment_id.into(),
        invoice: InvoiceRef::Id(invoice_id.into()),
        amount: Kopecks(amount),
        currency: currency.into(),
        succeeded: true,
    }
}

async fn status(store: &MemoryStore, id: &str) -> Status {
    store.get_invoice(id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_matching_payment_pays_once_and_announces_it_once() {
    let (store, callbacks, invoice) = setup().await;
    let n = notice(&invoice.id, "pay-1", 1_200_000, "RUB");
    assert_eq!(callbacks.apply(&n).await.unwrap(), Handled::Paid);
    assert_eq!(callbacks.apply(&n).await.unwrap(), Handled::Duplicate);
    assert_eq!(status(&store, &invoice.id).await, Status::Paid);
    let outbox = outbox_of(&store, "invoice.paid");
    assert_eq!(outbox.len(), 1);
    let event = &outbox[0].0;
    assert_eq!(event.kind, "invoice.paid");
    assert_eq!(event.detail["id"], event.id.as_str());
    assert_eq!(event.detail["data"]["number"], invoice.number.to_string());
    assert_eq!(event.detail["data"]["total"], 1_200_000);

    // Another payment for the paid invoice is kept for an operator and changes nothing.
    let extra = notice(&invoice.id, "pay-2", 1_200_000, "RUB");
    assert_eq!(callbacks.apply(&extra).await.unwrap(), Handled::Duplicate);
    assert_eq!(outbox_of(&store, "invoice.paid").len(), 1);
    assert!(
        store
            .payments()
            .iter()
            .any(|((_, id), outcome)| id == "pay-2" && *outcome == "unapplied")
    );
}

#[tokio::test]
async fn a_kopeck_short_or_another_currency_never_pays() {
    for (amount, currency) in [(1_199_999, "RUB"), (1_200_000, "USD")] {
        let (store, callbacks, invoice) = setup().await;
        let n = notice(&invoice.id, "pay-x", amount, currency);
        assert_eq!(callbacks.apply(&n).await.unwrap(), Handled::Mismatch);
        assert_eq!(status(&store, &invoice.id).await, Status::NeedsReview);
        assert!(outbox_of(&store, "invoice.paid").is_empty());
        assert_eq!(outbox_of(&store, "invoice.needs_review").len(), 1);
        // The notice is kept; a retry of it changes nothing.
        assert_eq!(callbacks.apply(&n).await.unwrap(), Handled::Duplicate);
        assert_eq!(store.payments().len(), 1);
    }
}

#[tokio::test]
async fn unknown_invoices_and_uncaptured_payments_change_nothing() {
    let (store, callbacks, invoice) = setup().await;
    assert_eq!(
        callbacks.apply(&notice("nope", "p", 1_200_000, "RUB")).await.unwrap(),
        Handled::UnknownInvoice
    );
    let mut pending = notice(&invoice.id, "p", 1_200_000, "RUB");
    pending.succeeded = false;
    assert_eq!(callbacks.apply(&pending).await.unwrap(), Handled::Ignored);
    assert_eq!(status(&store, &invoice.id).await, Status::Issued);
    assert!(store.payments().is_empty());
}

#[tokio::test]
async fn robokassa_names_the_invoice_by_number() {
    let (store, callbacks, invoice) = setup().await;
    let mut n = notice("", "InvId-1", 1_200_000, "RUB");
    n.invoice = InvoiceRef::Number {
        year: invoice.number.year,
        seq: invoice.number.seq,
    };
    assert_eq!(callbacks.apply(&n).await.unwrap(), Handled::Paid);
    assert_eq!(status(&store, &invoice.id).await, Status::Paid);
    n.invoice = InvoiceRef::Number { year: 2026, seq: 999 };
    n.payment_id = "InvId-2".into();
    assert_eq!(callbacks.apply(&n).await.unwrap(), Handled::UnknownInvoice);
}

#[tokio::test]
async fn a_forged_callback_is_refused_and_changes_nothing() {
    let (store, callbacks, invoice) = setup().await;
    let sandbox = Sandbox::new(b"right-secret".to_vec(), 300);
    let body =
        serde_json::json!({"invoice_id": invoice.id, "payment_id": "p1", "amount": 1_200_000, "currency": "RUB"})
            .to_string();
    let now = 1_790_000_000;
    let call = |secret: &[u8]| {
        let mut headers = HeaderMap::new();
        headers.insert(
            "sandbox-signature",
            HeaderValue::from_str(&sign(secret, now, body.as_bytes())).unwrap(),
        );
        headers
    };
    let raw = |headers| RawCallback::post(headers, body.as_bytes(), now);
    let forged = call(b"wrong-secret");
    assert_eq!(
        callbacks.handle(&sandbox, &raw(&forged)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status(&store, &invoice.id).await, Status::Issued);
    let good = call(b"right-secret");
    let answer = callbacks.handle(&sandbox, &raw(&good)).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, r#"{"status":"ok"}"#)
    );
    assert_eq!(status(&store, &invoice.id).await, Status::Paid);
}

/// A bus that refuses everything, like EventBridge unreachable.
struct DownBus;
impl EventBus for DownBus {
    async fn publish(&self, _: &[OutboxEvent]) -> Result<Vec<bool>, StoreError> {
        Err(StoreError("connection refused".into()))
    }
}

/// A paid invoice: invoice.issued and invoice.paid wait in the outbox.
async fn paid_with_two_events() -> (MemoryStore, common::FixedClock) {
    let (store, callbacks, invoice) = setup().await;
    callbacks
        .apply(&notice(&invoice.id, "pay-1", 1_200_000, "RUB"))
        .await
        .unwrap();
    (store, common::at("2026-11-27T12:00:01Z"))
}

#[tokio::test]
async fn the_publisher_sends_each_event_once_even_after_a_failure() {
    let (store, clock) = paid_with_two_events().await;
    assert!(
        autobill::outbox::publish_pending(&store, &DownBus, &clock)
            .await
            .is_err()
    );
    // invoice.issued and invoice.paid wait in the outbox; each is published once.
    assert_eq!(store.outbox().iter().filter(|(_, sent)| !sent).count(), 2);
    assert_eq!(
        autobill::outbox::publish_pending(&store, &store, &clock).await.unwrap(),
        2
    );
    assert_eq!(
        autobill::outbox::publish_pending(&store, &store, &clock).await.unwrap(),
        0
    );
    let kinds: Vec<String> = store.published().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["invoice.issued", "invoice.paid"]);
}

/// The outbox of `MemoryStore`, but marking the first event sent fails (a throttle that outlasted
/// the SDK's retries) after the bus took it.
struct FirstMarkFails<'a>(&'a MemoryStore, std::sync::atomic::AtomicBool);
impl autobill::ports::OutboxStore for FirstMarkFails<'_> {
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.0.pending(limit).await
    }
    async fn mark_sent(&self, event_id: &str, at: chrono::DateTime<chrono::Utc>) -> Result<(), StoreError> {
        match self.1.swap(false, std::sync::atomic::Ordering::SeqCst) {
            true => Err(StoreError("throttled".into())),
            false => self.0.mark_sent(event_id, at).await,
        }
    }
}

#[tokio::test]
async fn an_event_the_bus_took_is_reported_even_when_marking_it_sent_fails() {
    let (store, clock) = paid_with_two_events().await;
    let flaky = FirstMarkFails(&store, true.into());
    let pending = store.pending(100).await.unwrap();
    let published = autobill::outbox::publish(&flaky, &store, &clock, &pending).await;
    // Both went out (the caller delivers both) and the failure is reported beside them.
    assert_eq!(
        published.accepted,
        pending.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    );
    assert!(published.error.is_some());
    // The unmarked one stays pending and goes out again: consumers dedupe on its id.
    let again = store.pending(100).await.unwrap();
    assert_eq!(again.iter().map(|e| &e.id).collect::<Vec<_>>(), [&pending[0].id]);
    assert_eq!(
        autobill::outbox::publish_pending(&store, &store, &clock).await.unwrap(),
        1
    );
    assert!(store.pending(100).await.unwrap().is_empty());
}

fn stream_batch() -> aws_lambda_events::event::dynamodb::Event {
    let image = |id: &str| {
        serde_json::json!({
            "pk": {"S": format!("OUTBOX#{id}")}, "sk": {"S": "OUTBOX"}, "event_id": {"S": id},
            "type": {"S": "invoice.paid"}, "created_at": {"S": "2026-11-27T12:00:00+00:00"},
            "detail": {"S": format!("{{\"id\":\"{id}\",\"type\":\"invoice.paid\"}}")},
        })
    };
    let record = |name: &str, id: &str, seq: &str| {
        serde_json::json!({
            "eventID": seq, "eventName": name, "eventSource": "aws:dynamodb", "awsRegion": "eu-central-1",
            "dynamodb": {"Keys": {"pk": {"S": format!("OUTBOX#{id}")}, "sk": {"S": "OUTBOX"}},
                         "NewImage": image(id), "SequenceNumber": seq, "SizeBytes": 256, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        })
    };
    serde_json::from_value(serde_json::json!({"Records": [
        record("INSERT", "evt_1", "100"),
        record("MODIFY", "evt_1", "101"),
        record("INSERT", "evt_2", "102"),
    ]}))
    .unwrap()
}

#[tokio::test]
async fn the_stream_trigger_publishes_new_outbox_items_and_reports_the_first_failure() {
    let store = MemoryStore::default();
    let clock = common::at("2026-11-27T12:00:01Z");
    let ok = autobill::outbox::publish_stream_batch(&store, &store, &clock, stream_batch()).await;
    assert!(ok.batch_item_failures.is_empty());
    let published: Vec<String> = store.published().into_iter().map(|e| e.id).collect();
    assert_eq!(published, ["evt_1", "evt_2"]);

    let down = autobill::outbox::publish_stream_batch(&store, &DownBus, &clock, stream_batch()).await;
    let failed: Vec<_> = down
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, [Some("100".to_owned())]);
}

#[tokio::test]
async fn a_mismatch_after_the_invoice_is_paid_is_kept_but_changes_nothing() {
    let (store, callbacks, invoice) = setup().await;
    assert_eq!(
        callbacks
            .apply(&notice(&invoice.id, "pay-1", 1_200_000, "RUB"))
            .await
            .unwrap(),
        Handled::Paid
    );
    let late = notice(&invoice.id, "pay-2", 1_000, "RUB");
    assert_eq!(callbacks.apply(&late).await.unwrap(), Handled::Duplicate);
    assert_eq!(callbacks.apply(&late).await.unwrap(), Handled::Duplicate);
    assert_eq!(status(&store, &invoice.id).await, Status::Paid);
    assert_eq!(store.payments().len(), 2);
}
