//! Fulfilment against the local AWS (moto): DynamoDB, S3 and SES through the real SDK.
//! `make test` starts moto and sets AWS_ENDPOINT_URL, AUTOBILL_TABLE and AUTOBILL_BUCKET.

mod common;

use autobill::adapters::{DynamoStore, S3Documents, SesMailer};
use autobill::domain::subscription::Period;
use autobill::fulfil::{Fulfil, Outcome};
use autobill::ports::{DocumentStore, FulfilStore, InvoiceReader};
use autobill::service::Invoices;
use std::sync::Arc;
use std::time::Duration;

struct World {
    store: DynamoStore,
    documents: S3Documents,
    ses: aws_sdk_sesv2::Client,
    clock: Arc<common::FixedClock>,
}

async fn world(now: &str) -> World {
    let sdk = autobill::aws::sdk_config().await;
    World {
        store: DynamoStore::new(autobill::aws::dynamodb(&sdk), common::env("AUTOBILL_TABLE")),
        documents: S3Documents::new(autobill::aws::s3(&sdk), common::env("AUTOBILL_BUCKET")),
        ses: autobill::aws::sesv2(&sdk),
        clock: Arc::new(common::at(now)),
    }
}

impl World {
    fn fulfil(&self, sender: &str) -> Fulfil<DynamoStore, S3Documents, SesMailer> {
        Fulfil {
            store: self.store.clone(),
            documents: self.documents.clone(),
            mailer: SesMailer::new(self.ses.clone(), sender, None),
            billing: Arc::new(common::billing("")),
            clock: self.clock.clone(),
            from: sender.to_owned(),
        }
    }

    /// An invoice for `account`, paid through the callback service.
    async fn paid_invoice(&self, account: &str, email: &str) -> autobill::domain::Invoice {
        let mut order = common::order();
        order.account = account.to_owned();
        order.buyer.email = email.to_owned();
        let invoices = Invoices {
            store: self.store.clone(),
            documents: self.documents.clone(),
            billing: Arc::new(common::billing("")),
            clock: self.clock.clone(),
        };
        let invoice = invoices.create(&order, None).await.unwrap().invoice;
        common::pay(&self.store, &invoice, self.clock.clone()).await;
        invoice
    }
}

/// The outbox events of a type that mention `needle` (read straight from the table: the shared
/// test table holds more pending events than one page of `pending`).
async fn outbox_events(needle: &str, kind: &str) -> Vec<serde_json::Value> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let sdk = autobill::aws::sdk_config().await;
    let client = autobill::aws::dynamodb(&sdk);
    let (mut found, mut start) = (Vec::new(), None);
    loop {
        let out = client
            .scan()
            .table_name(common::env("AUTOBILL_TABLE"))
            .filter_expression("begins_with(pk, :outbox) AND #type = :kind AND contains(detail, :needle)")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":outbox", AttributeValue::S("OUTBOX#".into()))
            .expression_attribute_values(":kind", AttributeValue::S(kind.into()))
            .expression_attribute_values(":needle", AttributeValue::S(needle.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in out.items() {
            if let Some(AttributeValue::S(detail)) = item.get("detail") {
                found.push(serde_json::from_str(detail).unwrap());
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return found;
        }
    }
}

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_payment_delivered_three_times_fulfils_once() {
    let w = world("2026-11-27T10:00:00Z").await;
    let (account, email) = (common::unique("acc-"), format!("{}@buyer.example", common::unique("b")));
    let invoice = w.paid_invoice(&account, &email).await;
    let fulfil = w.fulfil("billing@example.com");

    // Two deliveries at once, then a third.
    let (a, b) = tokio::join!(fulfil.fulfil(&invoice.id), fulfil.fulfil(&invoice.id));
    let third = fulfil.fulfil(&invoice.id).await;
    // Whoever wins the race (a parallel test's sweeper may join it), the loser is at most told
    // to retry (the e-mail was being sent) — never a second send.
    for outcome in [&a, &b, &third] {
        assert!(
            matches!(outcome, Ok(_) | Err(autobill::fulfil::FulfilError::Busy)),
            "{outcome:?}"
        );
    }
    for _ in 0..20 {
        if fulfil.fulfil(&invoice.id).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mails = common::mails_to(&email).await;
    assert_eq!(mails.len(), 1, "exactly one e-mail");
    assert!(mails[0].contains("application/pdf"));
    let state = w.store.fulfilment(&invoice.id).await.unwrap();
    assert!(state.fulfilled_at.is_some() && state.subscription_applied && state.email_message_id.is_some());
    let act = state.act_key.unwrap();
    assert_eq!(act, format!("acts/2026/11/{}.pdf", invoice.number));
    assert!(w.documents.exists(&act).await.unwrap());
    assert_eq!(w.store.act_key(&invoice.id).await.unwrap(), Some(act));
    // One extension: a month from the payment day.
    assert_eq!(
        w.store.subscription(&account, "start").await.unwrap().map(|c| c.period),
        Some(Period {
            start: d("2026-11-27"),
            end: d("2026-12-27")
        })
    );
    let activated = outbox_events(&account, "subscription.activated").await;
    assert_eq!(activated.len(), 1);
    assert_eq!(activated[0]["data"]["period_end"], "2026-12-27");
}

#[tokio::test]
async fn a_renewal_paid_early_extends_from_the_old_end() {
    let w = world("2026-11-27T10:00:00Z").await;
    let (account, email) = (common::unique("acc-"), format!("{}@buyer.example", common::unique("b")));
    let fulfil = w.fulfil("billing@example.com");
    let first = w.paid_invoice(&account, &email).await;
    fulfil.fulfil(&first.id).await.unwrap();
    // Paid again five days later, while the first month still runs.
    let w2 = World {
        clock: Arc::new(common::at("2026-12-02T10:00:00Z")),
        ..world("2026-12-02T10:00:00Z").await
    };
    let second = w2.paid_invoice(&account, &email).await;
    w2.fulfil("billing@example.com").fulfil(&second.id).await.unwrap();
    assert_eq!(
        w.store.subscription(&account, "start").await.unwrap().map(|c| c.period),
        Some(Period {
            start: d("2026-11-27"),
            end: d("2027-01-27")
        })
    );
}

#[tokio::test]
async fn ses_refusing_the_sender_leaves_it_incomplete_until_the_sweeper_completes_it() {
    let w = world("2026-11-27T10:00:00Z").await;
    let (account, email) = (common::unique("acc-"), format!("{}@buyer.example", common::unique("b")));
    let sender = format!("{}@seller.example", common::unique("unverified-"));
    let invoice = w.paid_invoice(&account, &email).await;
    let fulfil = w.fulfil(&sender);

    assert!(
        fulfil.fulfil(&invoice.id).await.is_err(),
        "an unverified sender is refused by SES"
    );
    let state = w.store.fulfilment(&invoice.id).await.unwrap();
    assert!(state.fulfilled_at.is_none() && state.email_message_id.is_none());
    assert!(common::mails_to(&email).await.is_empty());
    // A retry before the sender is verified changes nothing and sends nothing.
    assert!(fulfil.fulfil(&invoice.id).await.is_err());
    assert!(common::mails_to(&email).await.is_empty());

    w.ses
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    fulfil.sweep(Duration::ZERO, Duration::from_secs(30)).await.unwrap();
    let state = w.store.fulfilment(&invoice.id).await.unwrap();
    assert!(state.fulfilled_at.is_some(), "the sweeper completed it");
    assert_eq!(common::mails_to(&email).await.len(), 1);
    // The subscription was extended once, not once per attempt.
    assert_eq!(
        w.store.subscription(&account, "start").await.unwrap().map(|c| c.period),
        Some(Period {
            start: d("2026-11-27"),
            end: d("2026-12-27")
        })
    );
}

#[tokio::test]
async fn an_extension_overtaken_by_another_invoice_is_decided_again_at_once() {
    let w = world("2026-11-27T10:00:00Z").await;
    let (account, email) = (common::unique("acc-"), format!("{}@buyer.example", common::unique("b")));
    let fulfil = w.fulfil("billing@example.com");
    let first = w.paid_invoice(&account, &email).await;
    let second = w.paid_invoice(&account, &email).await;
    // The second invoice's period is decided while the subscription does not exist yet…
    let stale = autobill::domain::subscription::extend(None, d("2026-11-27"), 1, 3);
    w.store.decide_extension(&second.id, &stale).await.unwrap();
    // …then the first invoice is fulfilled and creates the subscription.
    fulfil.fulfil(&first.id).await.unwrap();

    // Its extension no longer fits: decided again within the same call.
    assert_eq!(fulfil.fulfil(&second.id).await.unwrap(), Outcome::Fulfilled);
    // Both months count, one after the other; the act was redone for the real period.
    assert_eq!(
        w.store.subscription(&account, "start").await.unwrap().map(|c| c.period),
        Some(Period {
            start: d("2026-11-27"),
            end: d("2027-01-27")
        })
    );
    assert_eq!(
        w.store.fulfilment(&second.id).await.unwrap().extension.unwrap().covered,
        Period {
            start: d("2026-12-27"),
            end: d("2027-01-27")
        }
    );
    assert_eq!(common::mails_to(&email).await.len(), 2);
}

/// A mailer whose every send ends without a clear answer (a timeout after SES took it).
struct UnclearMailer(std::sync::atomic::AtomicUsize);
impl autobill::ports::Mailer for UnclearMailer {
    async fn send_raw(&self, _: &str, _: Vec<u8>) -> Result<String, autobill::ports::SendError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(autobill::ports::SendError::Unknown("timed out".into()))
    }
}

#[tokio::test]
async fn an_unclear_send_keeps_the_claim_so_a_retry_does_not_send_again() {
    let w = world("2026-11-27T10:00:00Z").await;
    let (account, email) = (common::unique("acc-"), format!("{}@buyer.example", common::unique("b")));
    let invoice = w.paid_invoice(&account, &email).await;
    let fulfil = Fulfil {
        store: w.store.clone(),
        documents: w.documents.clone(),
        mailer: UnclearMailer(Default::default()),
        billing: Arc::new(common::billing("")),
        clock: w.clock.clone(),
        from: "billing@example.com".into(),
    };
    assert!(matches!(
        fulfil.fulfil(&invoice.id).await,
        Err(autobill::fulfil::FulfilError::Send(_))
    ));
    // An immediate retry finds the claim held: it waits instead of sending again.
    assert!(matches!(
        fulfil.fulfil(&invoice.id).await,
        Err(autobill::fulfil::FulfilError::Busy)
    ));
    assert_eq!(fulfil.mailer.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(w.store.fulfilment(&invoice.id).await.unwrap().fulfilled_at.is_none());
}
