//! Webhook delivery with controlled time: a fake receiver, a fake scheduler (the test decides
//! when a retry is due), the in-memory store — and, for timeouts, a real socket that never answers.
//! The AWS retry scheduler itself is tested against the local AWS at the end.

mod common;

use autobill::adapters::memory::MemoryWebhooks;
use autobill::adapters::webhooks::HttpSender;
use autobill::delivery::Webhooks;
use autobill::ports::{Clock, Response, RetryScheduler, RetryTask, StoreError, WebhookSender, WebhookStore};
use autobill::webhooks::{AttemptOutcome, Endpoint, Secret, UrlPolicy, Verdict, verify};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A clock the test moves.
struct TestClock(Mutex<DateTime<Utc>>);
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// (url, headers, body) of one request.
type Received = (String, Vec<(String, String)>, Value);
/// A retry and when it is due.
type Due = (RetryTask, DateTime<Utc>);

/// A receiver answering from a script, recording what it got.
#[derive(Default)]
struct Receiver {
    answers: Mutex<VecDeque<AttemptOutcome>>,
    got: Mutex<Vec<Received>>,
}
/// The sender side of the fake receiver.
struct Fake(Arc<Receiver>);
impl WebhookSender for Fake {
    async fn post(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Response {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        self.0
            .got
            .lock()
            .unwrap()
            .push((url.to_owned(), headers, serde_json::from_slice(&body).unwrap()));
        let outcome = self
            .0
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(AttemptOutcome::Status {
                code: 200,
                retry_after: None,
            });
        Response {
            outcome,
            latency_ms: 3,
            body: "ok".into(),
        }
    }
}

/// Retries the test runs itself, when it decides the time has come.
#[derive(Clone, Default)]
struct Retries(Arc<Mutex<Vec<Due>>>);
impl RetryScheduler for Retries {
    async fn schedule(&self, task: &RetryTask, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.lock().unwrap().push((task.clone(), at));
        Ok(())
    }
}

fn endpoint(id: &str, url: &str, events: &[&str], conditions: Value, fields: &[&str]) -> Endpoint {
    Endpoint {
        id: id.into(),
        url: url.into(),
        secret: SECRET.into(),
        events: events.iter().map(|s| s.to_string()).collect(),
        conditions: serde_json::from_value(conditions).unwrap(),
        fields: fields.iter().map(|s| s.to_string()).collect(),
        enabled: true,
    }
}

fn paid(plan: &str, total: i64) -> Value {
    json!({"id": "evt_1", "type": "invoice.paid", "timestamp": "2026-11-27T10:00:00+00:00",
           "data": {"invoice_id": "inv-1", "number": "2026-000001", "plan": plan, "total": total,
                    "buyer": {"name": "ООО «Ромашка»", "inn": "7736207543", "email": "buh@romashka.example"}}})
}

async fn setup(
    endpoints: Vec<Endpoint>,
    answers: Vec<AttemptOutcome>,
) -> (
    Webhooks<MemoryWebhooks, Fake, Retries>,
    Arc<Receiver>,
    Retries,
    Arc<TestClock>,
    MemoryWebhooks,
) {
    let store = MemoryWebhooks::default();
    for e in &endpoints {
        store.seed_endpoint(e).await.unwrap();
    }
    let receiver = Arc::new(Receiver {
        answers: Mutex::new(answers.into()),
        ..Default::default()
    });
    let retries = Retries::default();
    let clock = Arc::new(TestClock(Mutex::new("2026-11-27T10:00:00Z".parse().unwrap())));
    let webhooks = Webhooks {
        store: store.clone(),
        sender: Fake(receiver.clone()),
        scheduler: retries.clone(),
        clock: clock.clone(),
        policy: UrlPolicy::Production,
    };
    (webhooks, receiver, retries, clock, store)
}

#[tokio::test]
async fn conditions_pick_endpoints_and_fields_are_trimmed() {
    let pro_only = endpoint(
        "pro",
        "https://a.example/h",
        &["invoice.paid"],
        json!([{"path": "data.plan", "op": "eq", "value": "pro"}]),
        &[],
    );
    let big = endpoint(
        "big",
        "https://b.example/h",
        &["invoice.paid"],
        json!([{"path": "data.total", "op": "gte", "value": 1_000_000}]),
        &["data.number", "data.buyer.inn"],
    );
    let (webhooks, receiver, _, _, _) = setup(vec![pro_only, big], vec![]).await;
    assert_eq!(webhooks.on_event(&paid("start", 1_200_000)).await.unwrap(), 1);
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (url, headers, body) = &got[0];
    assert_eq!(url, "https://b.example/h");
    assert_eq!(
        body,
        &json!({"id": "evt_1", "type": "invoice.paid", "timestamp": "2026-11-27T10:00:00+00:00",
                "data": {"number": "2026-000001", "buyer": {"inn": "7736207543"}}})
    );
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(header("webhook-id"), "evt_1");
    let signed = serde_json::to_vec(body).unwrap();
    let ts: i64 = header("webhook-timestamp").parse().unwrap();
    assert!(verify(
        &Secret::parse(SECRET).unwrap(),
        "evt_1",
        ts,
        &signed,
        &header("webhook-signature"),
        ts
    ));
}

#[tokio::test]
async fn failing_twice_then_succeeding_is_delivered_on_the_third_attempt_with_the_same_id() {
    let fail = |code| AttemptOutcome::Status {
        code,
        retry_after: None,
    };
    let (webhooks, receiver, retries, clock, store) = setup(
        vec![endpoint("e", "https://a.example/h", &[], json!([]), &[])],
        vec![fail(500), fail(502)],
    )
    .await;
    webhooks.on_event(&paid("pro", 100)).await.unwrap();
    // The scheduler holds each retry until the test moves the clock to it: no real waits.
    for expected_delay in [5, 300] {
        let (task, at) = retries.0.lock().unwrap().pop().expect("a retry is scheduled");
        let now = *clock.0.lock().unwrap();
        assert_eq!((at - now).num_seconds(), expected_delay);
        *clock.0.lock().unwrap() = at;
        webhooks.attempt(&task).await.unwrap();
    }
    assert!(retries.0.lock().unwrap().is_empty());
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let ids: Vec<String> = got
        .iter()
        .map(|(_, h, _)| h.iter().find(|(k, _)| k == "webhook-id").unwrap().1.clone())
        .collect();
    assert_eq!(ids, ["evt_1", "evt_1", "evt_1"]);
    let log = store.log();
    assert_eq!(
        log.iter().map(|l| (l.attempt, l.status)).collect::<Vec<_>>(),
        [(1, Some(500)), (2, Some(502)), (3, Some(200))]
    );
    assert!(store.endpoint("e").await.unwrap().unwrap().failing_since.is_none());
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_nothing_more_is_sent() {
    let (webhooks, receiver, retries, _, store) = setup(
        vec![endpoint("e", "https://a.example/h", &[], json!([]), &[])],
        vec![AttemptOutcome::Status {
            code: 410,
            retry_after: None,
        }],
    )
    .await;
    webhooks.on_event(&paid("pro", 100)).await.unwrap();
    assert!(retries.0.lock().unwrap().is_empty());
    assert!(!store.endpoint("e").await.unwrap().unwrap().endpoint.enabled);
    assert_eq!(webhooks.on_event(&paid("pro", 100)).await.unwrap(), 0);
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn five_days_of_failures_disable_the_endpoint() {
    let (webhooks, _, retries, clock, store) = setup(
        vec![endpoint("e", "https://a.example/h", &[], json!([]), &[])],
        vec![AttemptOutcome::Network; 20],
    )
    .await;
    webhooks.on_event(&paid("pro", 100)).await.unwrap();
    // Another event keeps failing five days later: the endpoint is given up.
    *clock.0.lock().unwrap() += chrono::Duration::days(5) + chrono::Duration::seconds(1);
    retries.0.lock().unwrap().clear();
    let task = RetryTask {
        endpoint_id: "e".into(),
        attempt: 1,
        event: paid("pro", 100),
    };
    assert_eq!(webhooks.attempt(&task).await.unwrap(), Verdict::DisableEndpoint);
    assert!(!store.endpoint("e").await.unwrap().unwrap().endpoint.enabled);
}

#[tokio::test]
async fn a_receiver_that_hangs_times_out_and_is_retried() {
    // A socket that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = MemoryWebhooks::default();
    store
        .seed_endpoint(&endpoint(
            "slow",
            &format!("http://127.0.0.1:{port}/h"),
            &[],
            json!([]),
            &[],
        ))
        .await
        .unwrap();
    let retries = Retries::default();
    let webhooks = Webhooks {
        store: store.clone(),
        sender: HttpSender::new(UrlPolicy::Local, Duration::from_millis(300)).unwrap(),
        scheduler: retries.clone(),
        clock: Arc::new(common::at("2026-11-27T10:00:00Z")),
        policy: UrlPolicy::Local,
    };
    webhooks.on_event(&paid("pro", 100)).await.unwrap();
    assert_eq!(store.log()[0].outcome, "Timeout");
    assert_eq!(retries.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn production_refuses_loopback_and_plain_http() {
    let (webhooks, receiver, _, _, store) = setup(
        vec![endpoint("local", "http://127.0.0.1:9/h", &[], json!([]), &[])],
        vec![],
    )
    .await;
    assert_eq!(
        webhooks
            .attempt(&RetryTask {
                endpoint_id: "local".into(),
                attempt: 1,
                event: paid("pro", 1)
            })
            .await
            .unwrap(),
        Verdict::DisableEndpoint
    );
    assert!(receiver.got.lock().unwrap().is_empty());
    assert!(!store.endpoint("local").await.unwrap().unwrap().endpoint.enabled);
}

/// A scheduler that is down.
struct DownScheduler;
impl RetryScheduler for DownScheduler {
    async fn schedule(&self, _: &RetryTask, _: DateTime<Utc>) -> Result<(), StoreError> {
        Err(StoreError("scheduler unavailable".into()))
    }
}

#[tokio::test]
async fn a_retry_that_cannot_be_scheduled_is_an_error_not_a_silent_loss() {
    let store = MemoryWebhooks::default();
    store
        .seed_endpoint(&endpoint("e", "https://a.example/h", &[], json!([]), &[]))
        .await
        .unwrap();
    let receiver = Arc::new(Receiver {
        answers: Mutex::new(
            vec![AttemptOutcome::Status {
                code: 500,
                retry_after: None,
            }]
            .into(),
        ),
        ..Default::default()
    });
    let webhooks = Webhooks {
        store,
        sender: Fake(receiver),
        scheduler: DownScheduler,
        clock: Arc::new(common::at("2026-11-27T10:00:00Z")),
        policy: UrlPolicy::Production,
    };
    // The error makes EventBridge deliver the event again (and dead-letter it in the end).
    assert!(webhooks.on_event(&paid("pro", 1)).await.is_err());
}

/// The AWS retry scheduler against the local AWS: a one-time schedule per attempt, at the
/// attempt's time, invoking the delivery function with the task, with bounded retries and the
/// dead-letter queue; the same attempt scheduled twice is one schedule.
#[tokio::test]
async fn retries_become_one_time_schedules_with_a_dead_letter_queue() {
    use autobill::adapters::webhooks::SchedulerRetries;
    let _ = common::env("AWS_ENDPOINT_URL");
    let sdk = autobill::aws::sdk_config().await;
    let client = autobill::aws::scheduler(&sdk);
    let group = common::unique("wh-retries-");
    client.create_schedule_group().name(&group).send().await.unwrap();
    let target = "arn:aws:lambda:eu-central-1:123456789012:function:autobill-deliver-webhooks";
    let role = "arn:aws:iam::123456789012:role/autobill-webhook-retry";
    let dlq = "arn:aws:sqs:eu-central-1:123456789012:autobill-webhooks-dlq";
    let retries = SchedulerRetries::new(
        client.clone(),
        group.clone(),
        target.into(),
        role.into(),
        Some(dlq.into()),
    );
    let task = RetryTask {
        endpoint_id: "crm".into(),
        attempt: 3,
        event: json!({"id": "evt_1", "type": "invoice.paid", "data": {}}),
    };
    let at = Utc::now() + chrono::Duration::minutes(30);
    retries.schedule(&task, at).await.unwrap();
    retries.schedule(&task, at).await.unwrap();

    let listed = client.list_schedules().group_name(&group).send().await.unwrap();
    assert_eq!(listed.schedules().len(), 1, "{listed:?}");
    let name = listed.schedules()[0].name().unwrap().to_owned();
    assert!(name.starts_with("wh-3-"), "{name}");
    let schedule = client
        .get_schedule()
        .group_name(&group)
        .name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")).as_str())
    );
    let t = schedule.target().unwrap();
    assert_eq!((t.arn(), t.role_arn()), (target, role));
    let input: Value = serde_json::from_str(t.input().unwrap()).unwrap();
    assert_eq!(
        serde_json::from_value::<RetryTask>(input["retry"].clone()).unwrap(),
        task
    );
    let policy = t.retry_policy().unwrap();
    assert_eq!(
        (policy.maximum_retry_attempts(), policy.maximum_event_age_in_seconds()),
        (Some(3), Some(3600))
    );
    assert_eq!(t.dead_letter_config().and_then(|d| d.arn()), Some(dlq));
}

/// A receiver on loopback answering every request with `answer`, counting requests.
async fn loopback_receiver(answer: &'static str) -> (u16, Arc<Mutex<usize>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(Mutex::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.read(&mut [0u8; 8192]).await;
            *counted.lock().unwrap() += 1;
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (port, hits)
}

#[tokio::test]
async fn a_name_resolving_to_a_refused_address_is_never_connected_to() {
    // DNS rebinding: the URL passed its checks, but at send time the name resolves to a refused
    // address (`localhost` → 127.0.0.1 stands in for it). The resolver drops it: no connection.
    let (port, hits) = loopback_receiver("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
    let url = format!("http://localhost:{port}/h");
    let production = HttpSender::new(UrlPolicy::Production, Duration::from_secs(2)).unwrap();
    let refused = production.post(&url, &[], b"{}".to_vec()).await;
    assert_eq!(refused.outcome, AttemptOutcome::Network);
    assert_eq!(*hits.lock().unwrap(), 0, "nothing reached the refused address");
    // The same name where loopback is allowed (the local stack) is delivered: the refusal was the resolver's.
    let local = HttpSender::new(UrlPolicy::Local, Duration::from_secs(2)).unwrap();
    let delivered = local.post(&url, &[], b"{}".to_vec()).await;
    assert!(
        matches!(delivered.outcome, AttemptOutcome::Status { code: 204, .. }),
        "{:?}",
        delivered.outcome
    );
    assert_eq!(*hits.lock().unwrap(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    // A receiver redirecting to the instance metadata service: the redirect is an answer, not a hop.
    let (port, hits) =
        loopback_receiver("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://169.254.169.254/latest/meta-data/\r\ncontent-length: 0\r\n\r\n")
            .await;
    let sender = HttpSender::new(UrlPolicy::Local, Duration::from_secs(2)).unwrap();
    let response = sender
        .post(&format!("http://127.0.0.1:{port}/h"), &[], b"{}".to_vec())
        .await;
    assert!(
        matches!(response.outcome, AttemptOutcome::Status { code: 307, .. }),
        "{:?}",
        response.outcome
    );
    assert_eq!(*hits.lock().unwrap(), 1);
}
