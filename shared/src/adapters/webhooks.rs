//! Webhook delivery's outside world: endpoints and the delivery log in DynamoDB, HTTP through
//! reqwest (no redirects, a timeout, SSRF-safe name resolution), retries as EventBridge
//! Scheduler one-time schedules.

use crate::adapters::DynamoStore;
use crate::ports::{
    AttemptLog, EndpointRecord, Response, RetryScheduler, RetryTask, StoreError, WebhookSender, WebhookStore,
};
use crate::webhooks::{AttemptOutcome, Endpoint, UrlPolicy, check_ip};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Attempts are kept for a month (the table's TTL attribute).
const LOG_DAYS: i64 = 30;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn store_err(e: impl std::error::Error) -> StoreError {
    StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

pub(crate) fn endpoint_pk(id: &str) -> String {
    format!("WEBHOOK#{id}")
}

/// The `entity` of a live endpoint item.
pub(crate) const LIVE: &str = "webhook_endpoint";
/// The `entity` of a deleted endpoint's tombstone (same key, no index attributes), which keeps
/// a configured endpoint from being seeded again.
pub(crate) const DELETED: &str = "webhook_endpoint_deleted";

#[derive(serde::Serialize, serde::Deserialize)]
struct EndpointItem {
    pk: String,
    sk: String,
    entity: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    endpoint: Endpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failing_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disabled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_secret_until: Option<DateTime<Utc>>,
}

/// A new endpoint's item: listed (gsi1 `WEBHOOKS`), no failure record.
pub(crate) fn endpoint_item(endpoint: &Endpoint) -> Result<super::dynamo::Item, StoreError> {
    let item = EndpointItem {
        pk: endpoint_pk(&endpoint.id),
        sk: "ENDPOINT".into(),
        entity: LIVE.into(),
        gsi1pk: "WEBHOOKS".into(),
        gsi1sk: endpoint.id.clone(),
        endpoint: endpoint.clone(),
        failing_since: None,
        disabled_reason: None,
        disabled_at: None,
        previous_secret: None,
        previous_secret_until: None,
    };
    serde_dynamo::to_item(item).map_err(store_err)
}

fn record(item: std::collections::HashMap<String, AttributeValue>) -> Result<EndpointRecord, StoreError> {
    let item: EndpointItem = serde_dynamo::from_item(item).map_err(store_err)?;
    Ok(EndpointRecord {
        endpoint: item.endpoint,
        failing_since: item.failing_since,
        disabled_reason: item.disabled_reason,
        disabled_at: item.disabled_at,
        previous_secret: item.previous_secret,
        previous_secret_until: item.previous_secret_until,
    })
}

impl DynamoStore {
    /// An update of a live endpoint (a deleted one's tombstone, like a missing item, fails it).
    fn endpoint_update(&self, id: &str) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(endpoint_pk(id)))
            .key("sk", s("ENDPOINT"))
            .condition_expression("entity = :live")
            .expression_attribute_values(":live", s(LIVE))
    }
}

impl WebhookStore for DynamoStore {
    async fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :all")
            .expression_attribute_values(":all", s("WEBHOOKS"))
            .send()
            .await
            .map_err(store_err)?;
        // One item an operator broke in the console must not stop every delivery: skip it, loudly.
        Ok(out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| match record(item) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::error!(error = %e, "unreadable webhook endpoint item skipped");
                    crate::metrics::count("WebhookEndpointUnreadable", "webhooks");
                    None
                }
            })
            .collect())
    }

    async fn endpoint(&self, id: &str) -> Result<Option<EndpointRecord>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(endpoint_pk(id)))
            .key("sk", s("ENDPOINT"))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_err)?;
        match out.item {
            Some(item) if item.get("entity") == Some(&s(DELETED)) => Ok(None),
            item => item.map(record).transpose(),
        }
    }

    async fn seed_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        // A tombstone counts as existing: a deleted endpoint stays deleted.
        let put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(endpoint_item(endpoint)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        super::dynamo::condition_held(put)
    }

    async fn log_attempt(&self, entry: &AttemptLog) -> Result<(), StoreError> {
        let mut item = std::collections::HashMap::from([
            ("pk".to_owned(), s(format!("DELIVERY#{}", entry.event_id))),
            (
                "sk".to_owned(),
                // The time too: an operator's replay may take the number of a retry still pending.
                s(format!(
                    "{}#{:02}#{}",
                    entry.endpoint_id,
                    entry.attempt,
                    entry.at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                )),
            ),
            ("entity".to_owned(), s("webhook_attempt")),
            ("event_type".to_owned(), s(&entry.event_type)),
            ("endpoint_id".to_owned(), s(&entry.endpoint_id)),
            ("attempt".to_owned(), AttributeValue::N(entry.attempt.to_string())),
            ("at".to_owned(), s(entry.at.to_rfc3339())),
            ("outcome".to_owned(), s(&entry.outcome)),
            ("latency_ms".to_owned(), AttributeValue::N(entry.latency_ms.to_string())),
            ("response".to_owned(), s(&entry.response)),
            (
                "expires_at".to_owned(),
                AttributeValue::N((entry.at.timestamp() + LOG_DAYS * 86_400).to_string()),
            ),
        ]);
        if let Some(status) = entry.status {
            item.insert("status_code".into(), AttributeValue::N(status.to_string()));
        }
        self.put_item(item).await
    }

    async fn endpoint_failed(&self, id: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        let out = self
            .endpoint_update(id)
            .update_expression("SET failing_since = if_not_exists(failing_since, :at), last_failure_at = :at")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(store_err)?;
        match out.attributes.as_ref().and_then(|a| a.get("failing_since")) {
            Some(AttributeValue::S(v)) => v.parse().map_err(|e| StoreError(format!("failing_since: {e}"))),
            _ => Ok(at),
        }
    }

    async fn endpoint_succeeded(&self, id: &str) -> Result<(), StoreError> {
        self.endpoint_update(id)
            .update_expression("REMOVE failing_since")
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn disable_endpoint(&self, id: &str, reason: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.endpoint_update(id)
            // A re-enabled endpoint starts with a clean slate.
            .update_expression("SET enabled = :f, disabled_reason = :r, disabled_at = :at REMOVE failing_since")
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":r", s(reason))
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }
}

/// Resolves names and keeps only the addresses the policy allows, so that what is checked is
/// what is connected to (no DNS rebinding between a check and the connection).
struct SafeResolver(UrlPolicy);

impl reqwest::dns::Resolve for SafeResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all.into_iter().filter(|a| check_ip(a.ip(), policy).is_ok()).collect();
            if allowed.is_empty() {
                return Err(format!("{host}: no address that webhooks may be sent to").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[derive(Clone, Debug)]
pub struct HttpSender {
    client: reqwest::Client,
}

impl HttpSender {
    /// `timeout`: 15 s in production.
    pub fn new(policy: UrlPolicy, timeout: Duration) -> Result<Self, StoreError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .dns_resolver(Arc::new(SafeResolver(policy)))
            // A proxy would resolve the name itself, around the resolver above.
            .no_proxy()
            .user_agent("autobill-webhooks/1")
            .build()
            .map_err(|e| StoreError(format!("http client: {e}")))?;
        Ok(HttpSender { client })
    }
}

impl WebhookSender for HttpSender {
    async fn post(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Response {
        let started = Instant::now();
        let mut request = self.client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let elapsed = |started: Instant| started.elapsed().as_millis() as u64;
        match request.send().await {
            Ok(res) => {
                let code = res.status().as_u16();
                let retry_after = res
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // Only the first 1 KB is kept: a hostile receiver cannot make us read more.
                let mut head = Vec::new();
                let mut res = res;
                while head.len() < 1024 {
                    match res.chunk().await {
                        Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                head.truncate(1024);
                Response {
                    outcome: AttemptOutcome::Status { code, retry_after },
                    latency_ms: elapsed(started),
                    body: String::from_utf8_lossy(&head).into_owned(),
                }
            }
            Err(e) => Response {
                outcome: if e.is_timeout() {
                    AttemptOutcome::Timeout
                } else {
                    AttemptOutcome::Network
                },
                latency_ms: elapsed(started),
                body: e.without_url().to_string().chars().take(1024).collect(),
            },
        }
    }
}

/// Retries as EventBridge Scheduler one-time schedules (`at(…)`, deleted after they fire),
/// invoking the delivery function with the task. Chosen over SQS delays, which stop at 15
/// minutes: the schedule reaches 10 hours in one hop, and each pending retry is visible in the
/// console by name.
#[derive(Clone, Debug)]
pub struct SchedulerRetries {
    client: aws_sdk_scheduler::Client,
    group: String,
    target_arn: String,
    role_arn: String,
    /// Where a retry the scheduler could not hand to the function goes (not silently dropped).
    dead_letter_arn: Option<String>,
}

impl SchedulerRetries {
    pub fn new(
        client: aws_sdk_scheduler::Client,
        group: String,
        target_arn: String,
        role_arn: String,
        dead_letter_arn: Option<String>,
    ) -> Self {
        SchedulerRetries {
            client,
            group,
            target_arn,
            role_arn,
            dead_letter_arn,
        }
    }
}

impl RetryScheduler for SchedulerRetries {
    async fn schedule(&self, task: &RetryTask, at: DateTime<Utc>) -> Result<(), StoreError> {
        use aws_sdk_scheduler::types::{
            ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
        };
        // At least a minute ahead (schedules fire to the minute), and named after the attempt
        // itself: a second chain for the same message collides with the first and is dropped.
        let at = at.max(Utc::now() + chrono::Duration::seconds(60));
        let name = {
            use sha2::Digest;
            let event_id = task.event["id"].as_str().unwrap_or_default();
            let digest = sha2::Sha256::digest(format!("{event_id}|{}|{}", task.endpoint_id, task.attempt));
            format!("wh-{}-{}", task.attempt, &hex::encode(digest)[..40])
        };
        let input = serde_json::json!({ "retry": task }).to_string();
        // Bounded: the invocation is asynchronous (the function has its own retries and DLQ);
        // these cover only the scheduler failing to hand it over.
        let retry = RetryPolicy::builder()
            .maximum_retry_attempts(3)
            .maximum_event_age_in_seconds(3600)
            .build();
        let target = Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(input)
            .retry_policy(retry)
            .set_dead_letter_config(
                self.dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let created = self
            .client
            .create_schedule()
            .name(name)
            .group_name(&self.group)
            .schedule_expression(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conflict_exception()) => Ok(()),
            Err(e) => Err(StoreError(aws_sdk_scheduler::error::DisplayErrorContext(e).to_string())),
        }
    }
}
