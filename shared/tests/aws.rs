//! Adapter integration tests against the local AWS (moto), through the real SDK clients.
//! `make test` starts moto, creates the table and bucket from template.yaml, and sets
//! AWS_ENDPOINT_URL, AUTOBILL_TABLE and AUTOBILL_BUCKET.

mod common;

use autobill::adapters::{DynamoStore, S3Documents};
use autobill::domain::order::issue;
use autobill::ports::{DocumentStore, IdempotencyClaim, InsertError, InvoiceIssuer, InvoiceReader};
use autobill::service::Invoices;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run these tests with `make test`, which starts the local AWS"))
}

async fn adapters() -> (DynamoStore, S3Documents) {
    env("AWS_ENDPOINT_URL");
    let sdk = autobill::aws::sdk_config().await;
    (
        DynamoStore::new(autobill::aws::dynamodb(&sdk), env("AUTOBILL_TABLE")),
        S3Documents::new(autobill::aws::s3(&sdk), env("AUTOBILL_BUCKET")),
    )
}

#[tokio::test]
async fn an_invoice_round_trips_through_dynamodb() {
    let (store, _) = adapters().await;
    let billing = common::billing(&common::unique("RT"));
    let invoice = issue(
        &common::order(),
        &billing.seller,
        common::unique("id-"),
        1,
        "2026-11-27T10:00:00Z".parse().unwrap(),
    )
    .unwrap();
    store
        .insert_issued(
            &invoice,
            &autobill::events::invoice_issued(&invoice, invoice.created_at),
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.get_invoice(&invoice.id).await.unwrap(), Some(invoice.clone()));
    assert_eq!(store.last_seq(&billing.seller.number_prefix, 2026).await.unwrap(), 1);
    assert_eq!(store.get_invoice("no-such-id").await.unwrap(), None);

    // Seq 1 again: the counter's condition refuses it, and nothing else is written.
    let mut again = invoice.clone();
    again.id = common::unique("id-");
    assert!(matches!(
        store
            .insert_issued(
                &again,
                &autobill::events::invoice_issued(&again, again.created_at),
                None
            )
            .await,
        Err(InsertError::NumberTaken)
    ));
    assert_eq!(store.get_invoice(&again.id).await.unwrap(), None);
}

#[tokio::test]
async fn an_idempotency_claim_is_taken_once_until_it_expires() {
    let (store, _) = adapters().await;
    let prefix = common::unique("IK");
    let billing = common::billing(&prefix);
    let now = "2026-11-27T10:00:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let claim = |id: &str, expires_at| IdempotencyClaim {
        key: format!("{prefix}-key"),
        fingerprint: "f".into(),
        invoice_id: id.into(),
        expires_at,
    };
    let first = issue(&common::order(), &billing.seller, common::unique("id-"), 1, now).unwrap();
    store
        .insert_issued(
            &first,
            &autobill::events::invoice_issued(&first, first.created_at),
            Some(&claim(&first.id, now.timestamp() + 60)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_claim(&format!("{prefix}-key")).await.unwrap(),
        Some(claim(&first.id, now.timestamp() + 60))
    );

    // The key is claimed: the whole transaction fails, the counter does not move.
    let second = issue(&common::order(), &billing.seller, common::unique("id-"), 2, now).unwrap();
    assert!(matches!(
        store
            .insert_issued(
                &second,
                &autobill::events::invoice_issued(&second, second.created_at),
                Some(&claim(&second.id, now.timestamp() + 60))
            )
            .await,
        Err(InsertError::KeyClaimed)
    ));
    assert_eq!(store.last_seq(&prefix, 2026).await.unwrap(), 1);

    // After expiry (checked in code, TTL deletion lags) the key may be claimed again.
    let later = now + chrono::Duration::seconds(120);
    let third = issue(&common::order(), &billing.seller, common::unique("id-"), 2, later).unwrap();
    store
        .insert_issued(
            &third,
            &autobill::events::invoice_issued(&third, third.created_at),
            Some(&claim(&third.id, later.timestamp() + 60)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get_claim(&format!("{prefix}-key"))
            .await
            .unwrap()
            .unwrap()
            .invoice_id,
        third.id
    );
}

#[tokio::test]
async fn documents_are_stored_checked_and_presigned() {
    let (_, docs) = adapters().await;
    let key = format!("invoices/2026/11/{}.pdf", common::unique("doc-"));
    assert!(!docs.exists(&key).await.unwrap());
    docs.put_pdf(&key, b"%PDF-1.7 test".to_vec()).await.unwrap();
    assert!(docs.exists(&key).await.unwrap());
    let url = docs.presign_get(&key, Duration::from_secs(300)).await.unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/{}/{key}?",
            env("AWS_ENDPOINT_URL"),
            env("AUTOBILL_BUCKET")
        )),
        "{url}"
    );
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=300"),
        "{url}"
    );
}

/// 200 invoices, 20 at a time, through the service and the real SDK: numbers 1..=200 exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn numbering_is_gapless_under_concurrency() {
    let (store, docs) = adapters().await;
    let prefix = common::unique("GAP");
    let service = Arc::new(Invoices {
        store,
        documents: docs,
        billing: Arc::new(common::billing(&prefix)),
        clock: Arc::new(common::at("2026-11-27T10:00:00Z")),
    });
    let permits = Arc::new(Semaphore::new(20));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (service, permits) = (service.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            service.create(&common::order(), None).await.map(|i| i.invoice)
        });
    }
    let mut seqs = Vec::new();
    let mut last = None;
    while let Some(done) = tasks.join_next().await {
        let invoice = done.unwrap().unwrap();
        assert_eq!(invoice.number.prefix, prefix);
        seqs.push(invoice.number.seq);
        last = Some(invoice);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
    assert_eq!(service.store.last_seq(&prefix, 2026).await.unwrap(), 200);
    let last = last.unwrap();
    assert!(service.documents.exists(&last.pdf_key()).await.unwrap());
}

mod payments {
    use super::*;
    use autobill::adapters::EventBridgeBus;
    use autobill::domain::{Kopecks, Status};
    use autobill::events::invoice_paid as invoice_paid_event;
    use autobill::payments::{InvoiceRef, PaymentNotice};
    use autobill::ports::{OutboxStore, PaymentStore, Recorded};

    async fn issued() -> (DynamoStore, autobill::domain::Invoice) {
        let (store, _) = adapters().await;
        let billing = common::billing(&common::unique("PAY"));
        let invoice = issue(
            &common::order(),
            &billing.seller,
            common::unique("id-"),
            1,
            "2026-11-27T10:00:00Z".parse().unwrap(),
        )
        .unwrap();
        store
            .insert_issued(
                &invoice,
                &autobill::events::invoice_issued(&invoice, invoice.created_at),
                None,
            )
            .await
            .unwrap();
        (store, invoice)
    }

    fn notice(invoice: &autobill::domain::Invoice, amount: i64, currency: &str) -> PaymentNotice {
        PaymentNotice {
            provider: "sandbox",
            payment_id: common::unique("pay-"),
            invoice: InvoiceRef::Id(invoice.id.clone()),
            amount: Kopecks(amount),
            currency: currency.into(),
            succeeded: true,
        }
    }

    #[tokio::test]
    async fn a_payment_pays_in_one_transaction_once() {
        let (store, invoice) = issued().await;
        assert_eq!(
            store.invoice_id_by_number(&invoice.number.to_string()).await.unwrap(),
            Some(invoice.id.clone())
        );
        let n = notice(&invoice, 1_200_000, "RUB");
        let at = "2026-11-27T11:00:00Z".parse().unwrap();
        let event = invoice_paid_event(&invoice, &n, at);
        assert_eq!(
            store.record_payment(&invoice, &n, &event).await.unwrap(),
            Recorded::Applied
        );
        let again = invoice_paid_event(&invoice, &n, at);
        assert_eq!(
            store.record_payment(&invoice, &n, &again).await.unwrap(),
            Recorded::Duplicate
        );
        assert_eq!(
            store.get_invoice(&invoice.id).await.unwrap().unwrap().status,
            Status::Paid
        );
        let pending: Vec<_> = store
            .pending(100)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.id == event.id)
            .collect();
        assert_eq!(pending, vec![event.clone()]);
        assert!(!store.pending(100).await.unwrap().iter().any(|e| e.id == again.id));

        // A second, different payment for the paid invoice is kept, the invoice untouched.
        let other = notice(&invoice, 1_200_000, "RUB");
        let unapplied = store
            .record_payment(&invoice, &other, &invoice_paid_event(&invoice, &other, at))
            .await;
        assert_eq!(unapplied.unwrap(), Recorded::Unapplied);
    }

    fn transfer(amount: i64) -> autobill::ports::Transfer {
        autobill::ports::Transfer {
            id: common::unique("20261127-512-40702810900000000001-"),
            date: "2026-11-27".parse().unwrap(),
            number: "512".into(),
            payer_inn: Some("7736207543".into()),
            payer_name: Some("ООО «Ромашка»".into()),
            payer_account: Some("40702810900000000001".into()),
            amount: Kopecks(amount),
            purpose: "Оплата по счету".into(),
            statement_id: "st-1".into(),
            line: 20,
        }
    }

    fn share<'a>(
        invoice: &'a autobill::domain::Invoice,
        transfer: &autobill::ports::Transfer,
        amount: i64,
    ) -> autobill::ports::TransferShare<'a> {
        let payment = PaymentNotice {
            provider: "bank",
            payment_id: format!("{}/{}", transfer.id, invoice.number),
            ..notice(invoice, amount, "RUB")
        };
        let paid_after = invoice.amount_paid + Kopecks(amount);
        let at = "2026-11-27T11:00:00Z".parse().unwrap();
        let event = match paid_after >= invoice.total {
            true => invoice_paid_event(invoice, &payment, at),
            false => autobill::events::invoice_partially_paid(invoice, &payment, paid_after, at),
        };
        autobill::ports::TransferShare {
            invoice,
            payment,
            paid_after,
            event,
        }
    }

    #[tokio::test]
    async fn a_transfer_pays_in_parts_once_and_refuses_a_stale_balance() {
        use autobill::ports::TransferStore;
        let (store, invoice) = issued().await;
        let at = "2026-11-27T11:00:00Z".parse().unwrap();
        let first = transfer(500_000);
        assert!(!store.transfer_seen(&first.id).await.unwrap());
        let part = [share(&invoice, &first, 500_000)];
        assert_eq!(
            store.record_transfer(&first, &part, Kopecks(0), at).await.unwrap(),
            Recorded::Applied
        );
        assert!(store.transfer_seen(&first.id).await.unwrap());
        let after = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(
            (after.status, after.amount_paid, after.balance_due()),
            (Status::PartiallyPaid, Kopecks(500_000), Kopecks(700_000))
        );
        // The same transfer again (an overlapping statement): nothing more.
        assert_eq!(
            store.record_transfer(&first, &part, Kopecks(0), at).await.unwrap(),
            Recorded::Duplicate
        );
        // Another transfer computed on the invoice as it was before the first: refused whole.
        let stale = transfer(700_000);
        let stale_share = [share(&invoice, &stale, 700_000)];
        assert_eq!(
            store
                .record_transfer(&stale, &stale_share, Kopecks(0), at)
                .await
                .unwrap(),
            Recorded::Unapplied
        );
        assert!(
            !store.transfer_seen(&stale.id).await.unwrap(),
            "nothing of it was written"
        );
        // Computed on the invoice as it is now, with 100 roubles too many: paid, the excess kept.
        let rest = transfer(710_000);
        let rest_share = [share(&after, &rest, 710_000)];
        assert_eq!(
            store
                .record_transfer(&rest, &rest_share, Kopecks(10_000), at)
                .await
                .unwrap(),
            Recorded::Applied
        );
        let paid = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(
            (paid.status, paid.amount_paid, paid.balance_due()),
            (Status::Paid, Kopecks(1_210_000), Kopecks(0))
        );
        let events: Vec<String> = store
            .pending(100)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.detail["data"]["invoice_id"] == invoice.id.as_str())
            .map(|e| e.kind)
            .collect();
        assert_eq!(events, ["invoice.issued", "invoice.partially_paid", "invoice.paid"]);
    }

    #[tokio::test]
    async fn a_transfer_for_review_is_queued_once() {
        use autobill::ports::TransferStore;
        let (store, _) = adapters().await;
        let t = transfer(100);
        let at = "2026-11-27T11:00:00Z".parse().unwrap();
        assert!(store.queue_transfer_review(&t, "no invoice number", at).await.unwrap());
        assert!(!store.queue_transfer_review(&t, "no invoice number", at).await.unwrap());
        assert!(store.transfer_seen(&t.id).await.unwrap());
    }

    #[tokio::test]
    async fn a_mismatch_sends_the_invoice_to_review() {
        let (store, invoice) = issued().await;
        let short = notice(&invoice, 1_199_999, "RUB");
        let at = "2026-11-27T11:00:00Z".parse().unwrap();
        // The amount condition guards the transaction itself, not only the service's check.
        let event = invoice_paid_event(&invoice, &short, at);
        assert_eq!(
            store.record_payment(&invoice, &short, &event).await.unwrap(),
            Recorded::Unapplied
        );
        assert_eq!(
            store.get_invoice(&invoice.id).await.unwrap().unwrap().status,
            Status::Issued
        );
        let usd = notice(&invoice, 1_200_000, "USD");
        assert_eq!(
            store
                .record_mismatch(
                    &invoice,
                    &usd,
                    &autobill::events::invoice_needs_review(&invoice, &usd, at)
                )
                .await
                .unwrap(),
            Recorded::Applied
        );
        assert_eq!(
            store
                .record_mismatch(
                    &invoice,
                    &usd,
                    &autobill::events::invoice_needs_review(&invoice, &usd, at)
                )
                .await
                .unwrap(),
            Recorded::Duplicate
        );
        assert_eq!(
            store.get_invoice(&invoice.id).await.unwrap().unwrap().status,
            Status::NeedsReview
        );
    }

    #[tokio::test]
    async fn an_unreachable_bus_leaves_events_unsent_and_the_next_run_sends_them_once() {
        let (store, invoice) = issued().await;
        let n = notice(&invoice, 1_200_000, "RUB");
        let event = invoice_paid_event(&invoice, &n, "2026-11-27T11:00:00Z".parse().unwrap());
        store.record_payment(&invoice, &n, &event).await.unwrap();
        let clock = common::at("2026-11-27T11:00:01Z");

        let sdk = autobill::aws::sdk_config().await;
        let closed = aws_sdk_eventbridge::config::Builder::from(&sdk)
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let down = EventBridgeBus::new(
            aws_sdk_eventbridge::Client::from_conf(closed),
            env("AUTOBILL_EVENT_BUS"),
        );
        let refused = autobill::outbox::publish(&store, &down, &clock, std::slice::from_ref(&event)).await;
        assert!(refused.accepted.is_empty() && refused.error.is_some());
        assert!(store.pending(100).await.unwrap().iter().any(|e| e.id == event.id));

        let up = EventBridgeBus::new(autobill::aws::eventbridge(&sdk), env("AUTOBILL_EVENT_BUS"));
        let mine = |events: Vec<autobill::ports::OutboxEvent>| {
            events.into_iter().filter(|e| e.id == event.id).collect::<Vec<_>>()
        };
        let sent = autobill::outbox::publish(&store, &up, &clock, &mine(store.pending(100).await.unwrap())).await;
        assert_eq!((sent.accepted, sent.error.is_none()), (vec![event.id.clone()], true));
        assert!(mine(store.pending(100).await.unwrap()).is_empty());
    }
}
