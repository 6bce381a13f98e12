//! The scheduled renewal and expiry jobs against the local AWS (moto). Each test gets a table of
//! its own (the jobs read every subscription in the table), shaped like the shared one.

mod common;

use autobill::adapters::{DynamoStore, S3Documents, SesMailer};
use autobill::config::BillingConfig;
use autobill::domain::subscription::{Billing, Period};
use autobill::domain::{Invoice, Status};
use autobill::fulfil::Fulfil;
use autobill::http::links::Links;
use autobill::ports::{Clock, DocumentStore, FulfilStore, InvoiceReader, Mailer, SendError, StoreError};
use autobill::renewals::{Renewals, Report};
use autobill::service::Invoices;
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const SENDER: &str = "billing@example.com";
const LONG: Duration = Duration::from_secs(600);

struct World {
    store: DynamoStore,
    client: aws_sdk_dynamodb::Client,
    table: String,
    documents: S3Documents,
    ses: aws_sdk_sesv2::Client,
    billing: Arc<BillingConfig>,
}

async fn world_with(billing: BillingConfig) -> World {
    let sdk = autobill::aws::sdk_config().await;
    let client = autobill::aws::dynamodb(&sdk);
    let table = common::fresh_table(&client, "renewals-").await;
    World {
        store: DynamoStore::new(client.clone(), &table),
        client,
        table,
        documents: S3Documents::new(autobill::aws::s3(&sdk), common::env("AUTOBILL_BUCKET")),
        ses: autobill::aws::sesv2(&sdk),
        billing: Arc::new(billing),
    }
}

async fn world() -> World {
    world_with(common::billing("")).await
}

fn clock(at: &str) -> Arc<dyn Clock> {
    Arc::new(common::at(at))
}

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

fn now(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

impl World {
    fn jobs(&self) -> Renewals<DynamoStore, S3Documents, SesMailer> {
        Renewals {
            store: self.store.clone(),
            documents: self.documents.clone(),
            mailer: SesMailer::new(self.ses.clone(), SENDER, None),
            billing: self.billing.clone(),
            links: Links::new(b"renewal-test-link-secret-of-32-bytes!".to_vec(), None),
            base_url: "https://billing.example.com".into(),
            from: SENDER.into(),
        }
    }

    fn fulfil(&self, at: &str) -> Fulfil<DynamoStore, S3Documents, SesMailer> {
        Fulfil {
            store: self.store.clone(),
            documents: self.documents.clone(),
            mailer: SesMailer::new(self.ses.clone(), SENDER, None),
            billing: self.billing.clone(),
            clock: clock(at),
            from: SENDER.into(),
        }
    }

    /// Pays `invoice` at `at` and fulfils it (act, subscription, e-mail).
    async fn pay(&self, invoice: &Invoice, at: &str) {
        common::pay(&self.store, invoice, clock(at)).await;
        self.fulfil(at).fulfil(&invoice.id).await.unwrap();
    }

    /// A new customer of `plan` who orders and pays at `at`; returns (account, e-mail).
    async fn subscriber(&self, plan: &str, at: &str) -> (String, String) {
        let (account, email) = (common::unique("acc-"), format!("{}@buyer.example", common::unique("r")));
        let mut order = common::order();
        order.plan = self.billing.plans.get(plan).unwrap().clone();
        order.account = account.clone();
        order.buyer.email = email.clone();
        let invoices = Invoices {
            store: self.store.clone(),
            documents: self.documents.clone(),
            billing: self.billing.clone(),
            clock: clock(at),
        };
        let invoice = invoices.create(&order, None).await.unwrap().invoice;
        self.pay(&invoice, at).await;
        (account, email)
    }

    async fn subscription(&self, account: &str, plan: &str) -> std::collections::HashMap<String, AttributeValue> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("SUBSCRIPTION#{account}#{plan}")))
            .key("sk", AttributeValue::S("SUBSCRIPTION".into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    }

    async fn renewal_invoice(&self, account: &str, plan: &str) -> Option<Invoice> {
        let item = self.subscription(account, plan).await;
        let id = item.get("renewal_invoice_id")?.as_s().ok()?.clone();
        self.store.get_invoice(&id).await.unwrap()
    }

    /// Every item of one entity in this test's table.
    async fn count(&self, entity: &str) -> usize {
        common::count_entity(&self.client, &self.table, entity).await
    }

    async fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("entity = :e AND #type = :kind")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":e", AttributeValue::S("outbox".into()))
            .expression_attribute_values(":kind", AttributeValue::S(kind.into()))
            .send()
            .await
            .unwrap();
        out.items()
            .iter()
            .map(|i| serde_json::from_str(i["detail"].as_s().unwrap()).unwrap())
            .collect()
    }
}

/// 09:00 in Moscow on `date` (06:00 UTC), when the schedule fires.
fn morning(date: &str) -> chrono::DateTime<chrono::Utc> {
    now(&format!("{date}T06:00:00Z"))
}

#[tokio::test]
async fn a_period_ending_in_seven_days_gets_one_invoice_and_one_email_however_often_the_job_runs() {
    let w = world().await;
    // Paid on 24 November (Moscow): access until 24 December (exclusive).
    let (account, email) = w.subscriber("start", "2026-11-24T10:00:00Z").await;
    let jobs = w.jobs();
    assert_eq!(
        jobs.remind(morning("2026-12-16"), LONG).await.unwrap().issued,
        0,
        "8 days ahead"
    );
    assert!(w.renewal_invoice(&account, "start").await.is_none());

    let reports: Vec<Report> = futures_run(3, || jobs.remind(morning("2026-12-17"), LONG)).await;
    assert_eq!(reports.iter().map(|r| r.issued).sum::<usize>(), 1, "{reports:?}");
    for day in ["2026-12-18", "2026-12-19", "2026-12-23"] {
        let r = jobs.remind(morning(day), LONG).await.unwrap();
        assert_eq!((r.issued, r.reminded, r.failed), (0, 0, 0), "{day}");
    }

    let renewal = w.renewal_invoice(&account, "start").await.unwrap();
    assert_eq!(renewal.status, Status::Issued);
    assert_eq!(renewal.issue_date, d("2026-12-17"));
    assert_eq!(
        renewal.period,
        Some(Period {
            start: d("2026-12-24"),
            end: d("2027-01-24")
        })
    );
    // Due before access would end, within the payment terms.
    assert_eq!(renewal.due_date, d("2026-12-22"));
    assert!(
        renewal.lines[0].title.contains("с 24.12.2026 по 23.01.2027"),
        "{}",
        renewal.lines[0].title
    );
    assert_eq!(renewal.buyer.email, email);
    assert!(w.documents.exists(&renewal.pdf_key()).await.unwrap());
    assert_eq!(w.count("invoice").await, 2, "the first invoice and one renewal");

    // One reminder (and the first purchase's closing documents).
    let reminders = reminders_of(&email, &renewal).await;
    assert_eq!(reminders.len(), 1, "exactly one reminder");
    let reminder = &reminders[0];
    assert_eq!(
        reminder.subject,
        format!(
            "Продление подписки: счёт № {} — доступ оплачен до 23.12.2026",
            renewal.number
        )
    );
    let link = Links::new(b"renewal-test-link-secret-of-32-bytes!".to_vec(), None)
        .invoice_url("https://billing.example.com", &renewal.id);
    assert!(reminder.text.contains(&link), "the pay link: {}", reminder.text);
    assert!(reminder.text.contains("заканчивается 23.12.2026"), "{}", reminder.text);
    assert_eq!(reminder.attachments, vec![format!("Счёт {}.pdf", renewal.number)]);

    let issued = w.events("invoice.issued").await;
    let event = issued
        .iter()
        .find(|e| e["data"]["invoice_id"] == renewal.id.as_str())
        .unwrap();
    assert_eq!(event["data"]["period_start"], "2026-12-24");

    // Paid on the 20th: the subscription continues from the old end, not from the payment day.
    w.pay(&renewal, "2026-12-20T10:00:00Z").await;
    let current = w.store.subscription(&account, "start").await.unwrap().unwrap();
    assert_eq!(current.period.end, d("2027-01-24"));
    assert!(!current.expired);
    // Nothing more until the next period's reminder.
    let r = jobs.remind(morning("2026-12-24"), LONG).await.unwrap();
    assert_eq!((r.issued, r.reminded), (0, 0));
    assert_eq!(jobs.remind(morning("2027-01-17"), LONG).await.unwrap().issued, 1);
}

/// The reminders of `renewal` in the local SES.
async fn reminders_of(email: &str, renewal: &Invoice) -> Vec<common::Mail> {
    let number = renewal.number.to_string();
    common::read_mails_to(email)
        .await
        .into_iter()
        .filter(|m| m.subject.contains(&number) && !m.subject.starts_with("Оплата получена"))
        .collect()
}

/// Runs `n` copies of a job at once (two schedules firing together, a retry overlapping).
async fn futures_run<F, Fut>(n: usize, job: F) -> Vec<Report>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Report, StoreError>>,
{
    let runs = (0..n).map(|_| job());
    futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn later_reminders_resend_the_same_invoice_and_missed_days_send_one() {
    let mut billing = common::billing("");
    billing.renewals.reminder_days = vec![7, 3, 1];
    let w = world_with(billing).await;
    let (a, a_mail) = w.subscriber("start", "2026-11-24T10:00:00Z").await;
    let jobs = w.jobs();
    // Every day from the 16th to the 23rd.
    for day in 16..=23 {
        jobs.remind(morning(&format!("2026-12-{day}")), LONG).await.unwrap();
    }
    let renewal = w.renewal_invoice(&a, "start").await.unwrap();
    assert_eq!(
        reminders_of(&a_mail, &renewal).await.len(),
        3,
        "on the 17th, 21st and 23rd"
    );
    assert_eq!(w.count("invoice").await, 2);

    // A customer whose invoice was paid stops getting reminders.
    let (b, b_mail) = w.subscriber("start", "2026-11-25T10:00:00Z").await;
    jobs.remind(morning("2026-12-18"), LONG).await.unwrap();
    let b_renewal = w.renewal_invoice(&b, "start").await.unwrap();
    common::pay(&w.store, &b_renewal, clock("2026-12-19T10:00:00Z")).await;
    jobs.remind(morning("2026-12-22"), LONG).await.unwrap();
    assert_eq!(reminders_of(&b_mail, &b_renewal).await.len(), 1);

    // First seen within grace (the period ended on the 20th, expiry on the 23rd): due before expiry.
    let (d_account, _) = w.subscriber("start", "2026-11-20T10:00:00Z").await;
    jobs.remind(morning("2026-12-21"), LONG).await.unwrap();
    let late = w.renewal_invoice(&d_account, "start").await.unwrap();
    assert_eq!((late.issue_date, late.due_date), (d("2026-12-21"), d("2026-12-22")));

    // The job did not run for a week: one invoice, one reminder (the nearest).
    let (c, c_mail) = w.subscriber("start", "2026-11-26T10:00:00Z").await;
    let r = jobs.remind(morning("2026-12-25"), LONG).await.unwrap();
    assert!(r.complete);
    let c_renewal = w.renewal_invoice(&c, "start").await.unwrap();
    assert_eq!(c_renewal.issue_date, d("2026-12-25"));
    assert_eq!(reminders_of(&c_mail, &c_renewal).await.len(), 1);
}

#[tokio::test]
async fn reminders_follow_the_moscow_calendar_and_month_ends() {
    let w = world().await;
    // Paid on 1 December (Moscow): ends 1 January.
    let (a, _) = w.subscriber("start", "2026-12-01T10:00:00Z").await;
    let jobs = w.jobs();
    // 23:59 on 24 December in Moscow (still 8 days ahead).
    assert_eq!(jobs.remind(now("2026-12-24T20:59:00Z"), LONG).await.unwrap().issued, 0);
    // 00:30 on 25 December in Moscow, still the 24th in UTC: 7 days ahead in Moscow.
    assert_eq!(jobs.remind(now("2026-12-24T21:30:00Z"), LONG).await.unwrap().issued, 1);
    let renewal = w.renewal_invoice(&a, "start").await.unwrap();
    assert_eq!(renewal.issue_date, d("2026-12-25"));
    assert_eq!(renewal.period.unwrap().start, d("2027-01-01"));

    // Paid on 31 January: February has 28 days, so the period ends on 28 February.
    let (b, _) = w.subscriber("start", "2027-01-31T10:00:00Z").await;
    assert_eq!(
        w.store.subscription(&b, "start").await.unwrap().unwrap().period.end,
        d("2027-02-28")
    );
    assert_eq!(jobs.remind(morning("2027-02-20"), LONG).await.unwrap().issued, 0);
    jobs.remind(morning("2027-02-21"), LONG).await.unwrap();
    let renewal = w.renewal_invoice(&b, "start").await.unwrap();
    assert_eq!(
        renewal.period,
        Some(Period {
            start: d("2027-02-28"),
            end: d("2027-03-28")
        })
    );
}

#[tokio::test]
async fn unpaid_subscriptions_expire_after_grace_and_a_renewal_paid_in_grace_prevents_it() {
    let w = world().await;
    let jobs = w.jobs();
    let (unpaid, _) = w.subscriber("start", "2026-11-24T10:00:00Z").await;
    let (late_payer, _) = w.subscriber("start", "2026-11-24T11:00:00Z").await;
    jobs.remind(morning("2026-12-17"), LONG).await.unwrap();
    // Ends 24 December; grace 24, 25, 26; expired from the 27th.
    for day in ["2026-12-24", "2026-12-26"] {
        assert_eq!(jobs.expire(morning(day), LONG).await.unwrap().expired, 0, "{day}");
    }
    // The late payer pays the renewal on the 26th, within grace.
    let renewal = w.renewal_invoice(&late_payer, "start").await.unwrap();
    w.pay(&renewal, "2026-12-26T10:00:00Z").await;
    let extended = w.store.subscription(&late_payer, "start").await.unwrap().unwrap();
    assert_eq!(
        extended.period.end,
        d("2027-01-24"),
        "from the old end: no gap, no lost days"
    );

    let r = jobs.expire(morning("2026-12-27"), LONG).await.unwrap();
    assert_eq!(r.expired, 1, "{r:?}");
    assert!(w.store.subscription(&unpaid, "start").await.unwrap().unwrap().expired);
    assert!(
        !w.store
            .subscription(&late_payer, "start")
            .await
            .unwrap()
            .unwrap()
            .expired
    );
    assert_eq!(
        w.subscription(&unpaid, "start").await["status"].as_s().unwrap(),
        "expired"
    );
    let expired = w.events("subscription.expired").await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["data"]["account"], unpaid.as_str());
    assert_eq!(expired[0]["data"]["period_end"], "2026-12-24");
    assert_eq!(expired[0]["data"]["expired_on"], "2026-12-27");
    // Once only, and no more reminders for an expired subscription.
    assert_eq!(jobs.expire(morning("2026-12-28"), LONG).await.unwrap().expired, 0);
    assert_eq!(w.events("subscription.expired").await.len(), 1);

    // Paying the old renewal after expiry restarts access from the payment day.
    let old = w.renewal_invoice(&unpaid, "start").await.unwrap();
    w.pay(&old, "2027-01-05T10:00:00Z").await;
    let restarted = w.store.subscription(&unpaid, "start").await.unwrap().unwrap();
    assert_eq!(
        restarted.period,
        Period {
            start: d("2027-01-05"),
            end: d("2027-02-05")
        }
    );
    assert!(!restarted.expired);
}

#[tokio::test]
async fn a_renewal_paid_but_not_yet_fulfilled_is_not_expired() {
    let w = world().await;
    let jobs = w.jobs();
    let (account, _) = w.subscriber("start", "2026-11-24T10:00:00Z").await;
    jobs.remind(morning("2026-12-17"), LONG).await.unwrap();
    let renewal = w.renewal_invoice(&account, "start").await.unwrap();
    // The money is in, fulfilment has not run yet: the period still ends on the 24th.
    common::pay(&w.store, &renewal, clock("2026-12-26T10:00:00Z")).await;
    assert_eq!(jobs.expire(morning("2026-12-27"), LONG).await.unwrap().expired, 0);
    assert!(!w.store.subscription(&account, "start").await.unwrap().unwrap().expired);
    assert!(w.events("subscription.expired").await.is_empty());
}

#[tokio::test]
async fn postpaid_plans_are_invoiced_when_each_period_starts() {
    let mut billing = common::billing("");
    let mut plan = billing.plans.get("start").unwrap().clone();
    plan.id = "metered".into();
    plan.billing = Billing::Postpaid;
    billing.plans.0.push(plan);
    let w = world_with(billing).await;
    let jobs = w.jobs();
    let (account, email) = w.subscriber("metered", "2026-11-24T10:00:00Z").await;
    // Nothing ahead of the period, unlike prepaid plans.
    assert_eq!(jobs.remind(morning("2026-12-17"), LONG).await.unwrap().issued, 0);
    assert_eq!(jobs.remind(morning("2026-12-23"), LONG).await.unwrap().issued, 0);
    // On the day the new period starts: its invoice, once.
    assert_eq!(jobs.remind(morning("2026-12-24"), LONG).await.unwrap().issued, 1);
    assert_eq!(jobs.remind(morning("2026-12-25"), LONG).await.unwrap().issued, 0);
    let invoice = w.renewal_invoice(&account, "metered").await.unwrap();
    assert_eq!(invoice.due_date, d("2026-12-29"), "the seller's payment terms");
    let mails = reminders_of(&email, &invoice).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        format!("Счёт № {} за период с 24.12.2026", invoice.number)
    );
    assert!(mails[0].text.contains("Начался новый период"), "{}", mails[0].text);
    // Access stays open through the terms and the grace: 5 + 3 days.
    assert_eq!(jobs.expire(morning("2026-12-31"), LONG).await.unwrap().expired, 0);
    assert_eq!(jobs.expire(morning("2027-01-01"), LONG).await.unwrap().expired, 1);
}

#[tokio::test]
async fn a_refused_reminder_is_sent_by_a_later_run_with_the_same_invoice() {
    let w = world().await;
    let (account, email) = w.subscriber("start", "2026-11-24T10:00:00Z").await;
    // SES refuses an unverified sender: the invoice stands, the reminder's claim is given back.
    let refused = Renewals {
        mailer: SesMailer::new(w.ses.clone(), "nobody@unverified.example", None),
        from: "nobody@unverified.example".into(),
        ..w.jobs()
    };
    let r = refused.remind(morning("2026-12-17"), LONG).await.unwrap();
    assert_eq!((r.issued, r.reminded, r.failed), (0, 0, 1), "{r:?}");
    let renewal = w.renewal_invoice(&account, "start").await.unwrap();
    assert!(reminders_of(&email, &renewal).await.is_empty());
    // The next day's run sends it, for the same invoice; nothing is issued again.
    let r = w.jobs().remind(morning("2026-12-18"), LONG).await.unwrap();
    assert_eq!((r.issued, r.reminded, r.failed), (0, 1, 0), "{r:?}");
    assert_eq!(reminders_of(&email, &renewal).await.len(), 1);
    assert_eq!(w.count("invoice").await, 2);
}

#[tokio::test]
async fn no_renewal_invoice_for_a_subscription_that_moved_on() {
    let w = world().await;
    let (account, _) = w.subscriber("start", "2026-11-24T10:00:00Z").await;
    let invoices = Invoices {
        store: w.store.clone(),
        documents: w.documents.clone(),
        billing: w.billing.clone(),
        clock: clock("2026-12-17T06:00:00Z"),
    };
    let mut order = common::order();
    order.account = account.clone();
    // A job that read the subscription before a payment moved its end from the 24th.
    order.service_period = Some(Period {
        start: d("2026-12-20"),
        end: d("2027-01-20"),
    });
    let err = invoices.issue_once(&order, "renewal:stale", 86_400).await.unwrap_err();
    assert!(matches!(err, autobill::service::CreateError::Superseded), "{err:?}");
    assert_eq!(w.count("invoice").await, 1, "nothing numbered, nothing announced");
    assert_eq!(w.events("invoice.issued").await.len(), 1);
    // For the end it really has, the same call issues.
    order.service_period = Some(Period {
        start: d("2026-12-24"),
        end: d("2027-01-24"),
    });
    assert!(
        !invoices
            .issue_once(&order, "renewal:fresh", 86_400)
            .await
            .unwrap()
            .replayed
    );
}

/// A document store and a mailer that only count: the 10,000-renewal run is about the table
/// (paging, numbering, claims, the checkpoint); PDFs and e-mails through S3 and SES are covered
/// above, and 10,000 × 45 KB would only fill the local AWS's memory.
#[derive(Clone, Default)]
struct Counting {
    pdfs: Arc<AtomicUsize>,
    mails: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

impl DocumentStore for Counting {
    async fn put_pdf(&self, _: &str, _: Vec<u8>) -> Result<(), StoreError> {
        self.pdfs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn exists(&self, _: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn get_pdf(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    async fn presign_get(&self, key: &str, _: Duration) -> Result<String, StoreError> {
        Ok(key.to_owned())
    }
    async fn put_file(&self, _: &str, _: Vec<u8>, _: &'static str) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Mailer for Counting {
    async fn send_raw(&self, to: &str, _: Vec<u8>) -> Result<String, SendError> {
        *self.mails.lock().unwrap().entry(to.to_owned()).or_default() += 1;
        Ok(common::unique("msg-"))
    }
}

/// Writes `n` active subscriptions ending on `end`, as fulfilment leaves them.
async fn seed(w: &World, n: usize, end: &str) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let buyer: AttributeValue = serde_dynamo::to_attribute_value(&common::order().buyer).unwrap();
    let requests: Vec<WriteRequest> = (0..n)
        .map(|i| {
            let account = format!("bulk-{i:05}");
            let mut buyer = buyer.clone();
            if let AttributeValue::M(m) = &mut buyer {
                m.insert("email".into(), AttributeValue::S(format!("{account}@bulk.example")));
            }
            let item = [
                ("pk", AttributeValue::S(format!("SUBSCRIPTION#{account}#start"))),
                ("sk", AttributeValue::S("SUBSCRIPTION".into())),
                ("entity", AttributeValue::S("subscription".into())),
                ("account", AttributeValue::S(account.clone())),
                ("plan", AttributeValue::S("start".into())),
                ("period_start", AttributeValue::S("2026-11-24".into())),
                ("period_end", AttributeValue::S(end.into())),
                ("status", AttributeValue::S("active".into())),
                ("quantity", AttributeValue::N("1".into())),
                ("buyer", buyer),
                ("gsi2pk", AttributeValue::S("SUBSCRIPTION#active".into())),
                ("gsi2sk", AttributeValue::S(format!("{end}#{account}#start"))),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            let out = w
                .client
                .batch_write_item()
                .request_items(&w.table, pending)
                .send()
                .await
                .unwrap();
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&w.table))
                .unwrap_or_default();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_renewals_due_the_same_day_are_invoiced_once_across_interrupted_runs() {
    const N: usize = 10_000;
    let w = world().await;
    seed(&w, N, "2026-12-24").await;
    let counting = Counting::default();
    let jobs = Renewals {
        store: w.store.clone(),
        documents: counting.clone(),
        mailer: counting.clone(),
        billing: w.billing.clone(),
        links: Links::new(b"renewal-test-link-secret-of-32-bytes!".to_vec(), None),
        base_url: "https://billing.example.com".into(),
        from: SENDER.into(),
    };
    let at = morning("2026-12-17");
    // The first run's budget runs out part-way: it stops cleanly and saves where it was.
    let first = jobs.remind(at, Duration::from_secs(5)).await.unwrap();
    assert!(!first.complete && first.issued > 0 && first.issued < N, "{first:?}");
    // The next run continues from the checkpoint; a third finds nothing left to do.
    let second = jobs.remind(at, Duration::from_secs(1200)).await.unwrap();
    assert!(second.complete, "{second:?}");
    assert_eq!(first.issued + second.issued, N, "{first:?} {second:?}");
    assert!(
        second.seen <= N - first.seen + 100,
        "resumed, not restarted: {second:?}"
    );
    let third = jobs.remind(at, Duration::from_secs(1200)).await.unwrap();
    assert_eq!((third.issued, third.reminded, third.failed), (0, 0, 0), "{third:?}");

    // Numbers 1..=N without gaps, each subscription one invoice, each buyer one e-mail.
    assert_eq!(w.count("invoice").await, N);
    assert_eq!(counting.pdfs.load(Ordering::SeqCst), N);
    let mails = counting.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), N);
    assert!(mails.values().all(|&n| n == 1));
    let counter = w
        .client
        .get_item()
        .table_name(&w.table)
        .key("pk", AttributeValue::S("COUNTER#INVOICE#2026".into()))
        .key("sk", AttributeValue::S("COUNTER".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(counter["last"].as_n().unwrap(), &N.to_string());
}
