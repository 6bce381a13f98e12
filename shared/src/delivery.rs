//! Delivering domain events to the vendor's endpoints: matched by type and conditions, trimmed
//! to the chosen fields, signed by the Standard Webhooks scheme (`webhook-id` = the event id,
//! the same on every retry), logged per attempt, retried on the schedule through the
//! scheduler, endpoints disabled on `410 Gone` or after 5 days of failures.

use crate::ports::{
    AttemptLog, Clock, EndpointRecord, Response, RetryScheduler, RetryTask, StoreError, WebhookSender, WebhookStore,
};
use crate::webhooks::{AttemptOutcome, Secret, UrlPolicy, Verdict, after_attempt, check_url, should_disable, sign};
use serde_json::Value;
use std::sync::Arc;

pub struct Webhooks<S, H, R> {
    pub store: S,
    pub sender: H,
    pub scheduler: R,
    pub clock: Arc<dyn Clock>,
    pub policy: UrlPolicy,
}

fn text(event: &Value, key: &str) -> String {
    event[key].as_str().unwrap_or_default().to_owned()
}

impl<S: WebhookStore, H: WebhookSender, R: RetryScheduler> Webhooks<S, H, R> {
    /// A new domain event: a first attempt to every endpoint that wants it, all at once (one
    /// slow endpoint neither holds up the others nor the function's deadline). Returns how
    /// many endpoints it went to.
    pub async fn on_event(&self, event: &Value) -> Result<usize, StoreError> {
        let tasks: Vec<RetryTask> = self
            .store
            .endpoints()
            .await?
            .into_iter()
            .filter(|r| r.endpoint.wants(event))
            .map(|r| RetryTask {
                endpoint_id: r.endpoint.id,
                attempt: 1,
                event: event.clone(),
            })
            .collect();
        let results = futures_util::future::join_all(tasks.iter().map(|task| self.attempt(task))).await;
        let mut failed = None;
        for (task, result) in tasks.iter().zip(results) {
            if let Err(e) = result {
                tracing::error!(endpoint = %task.endpoint_id, error = %e, "webhook attempt not completed");
                failed = Some(e);
            }
        }
        // An attempt whose retry could not be arranged must not vanish: the error makes the
        // event be delivered again (receivers dedupe on webhook-id), then dead-lettered.
        match failed {
            Some(e) => Err(e),
            None => Ok(tasks.len()),
        }
    }

    /// Disables an endpoint and tells the operator (metric → alarm).
    async fn disable(
        &self,
        endpoint_id: &str,
        reason: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.store.disable_endpoint(endpoint_id, reason, now).await?;
        crate::metrics::count("WebhookEndpointDisabled", "webhooks");
        tracing::error!(endpoint = %endpoint_id, %reason, "webhook endpoint disabled");
        Ok(())
    }

    /// One attempt (the first, or a retry the scheduler handed back).
    pub async fn attempt(&self, task: &RetryTask) -> Result<Verdict, StoreError> {
        let Some(record) = self.store.endpoint(&task.endpoint_id).await? else {
            return Ok(Verdict::GiveUp);
        };
        let endpoint = &record.endpoint;
        if !endpoint.enabled {
            tracing::info!(endpoint = %endpoint.id, "endpoint disabled: attempt skipped");
            return Ok(Verdict::GiveUp);
        }
        let now = self.clock.now();
        let response = match self.post_logged(&record, &task.event, task.attempt, now).await? {
            Ok(response) => response,
            Err(broken) => {
                self.disable(&endpoint.id, &broken, now).await?;
                return Ok(Verdict::DisableEndpoint);
            }
        };
        let event_id = text(&task.event, "id");

        // Timed from the answer, not the request: after a 15 s timeout "in 5 s" starts now.
        let answered = self.clock.now();
        let verdict = after_attempt(task.attempt, &response.outcome, answered);
        match &verdict {
            Verdict::Delivered => self.store.endpoint_succeeded(&endpoint.id).await?,
            Verdict::DisableEndpoint => {
                self.disable(&endpoint.id, "answered 410 Gone", now).await?;
            }
            Verdict::Retry { at } => {
                let failing_since = self.store.endpoint_failed(&endpoint.id, now).await?;
                if should_disable(failing_since, now) {
                    self.disable(&endpoint.id, "failing for 5 days", now).await?;
                    return Ok(Verdict::DisableEndpoint);
                }
                let next = RetryTask {
                    attempt: task.attempt + 1,
                    ..task.clone()
                };
                self.scheduler.schedule(&next, *at).await?;
            }
            Verdict::GiveUp => {
                let failing_since = self.store.endpoint_failed(&endpoint.id, now).await?;
                if should_disable(failing_since, now) {
                    self.disable(&endpoint.id, "failing for 5 days", now).await?;
                }
                crate::metrics::count("WebhookDeliveryAbandoned", "webhooks");
                tracing::error!(endpoint = %endpoint.id, event = %event_id, "webhook delivery abandoned after all retries");
            }
        }
        Ok(verdict)
    }

    /// Signs and POSTs the event (trimmed to the endpoint's fields) once, and logs the attempt.
    /// `Ok(Err(why))` when the endpoint's URL or secret is unusable (nothing was sent).
    async fn post_logged(
        &self,
        record: &EndpointRecord,
        event: &Value,
        attempt: u32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<Response, String>, StoreError> {
        let endpoint = &record.endpoint;
        let (event_id, event_type) = (text(event, "id"), text(event, "type"));
        let body = serde_json::to_vec(&endpoint.payload(event)).map_err(|e| StoreError(e.to_string()))?;
        // A URL or secret an operator broke in the console: nothing can be sent until fixed.
        let checked =
            Secret::parse(&endpoint.secret).and_then(|secret| Ok((secret, check_url(&endpoint.url, self.policy)?)));
        let secret = match checked {
            Ok((secret, _)) => secret,
            Err(e) => return Ok(Err(format!("endpoint misconfigured: {e}"))),
        };
        let timestamp = now.timestamp();
        let mut signature = sign(&secret, &event_id, timestamp, &body);
        // During a rotation the old secret's signature goes too (space-separated, as Standard
        // Webhooks receivers expect); a previous secret that no longer parses is left out.
        if let Some(Ok(previous)) = record.previous_secret_at(now).map(Secret::parse) {
            signature = format!("{signature} {}", sign(&previous, &event_id, timestamp, &body));
        }
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("webhook-id", event_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        let response = self.sender.post(&endpoint.url, &headers, body).await;
        let status = match &response.outcome {
            AttemptOutcome::Status { code, .. } => Some(*code),
            _ => None,
        };
        crate::metrics::count("WebhookAttempts", "webhooks");
        if !status.is_some_and(|code| (200..300).contains(&code)) {
            crate::metrics::count("WebhookAttemptsFailed", "webhooks");
        }
        self.store
            .log_attempt(&AttemptLog {
                event_id,
                event_type,
                endpoint_id: endpoint.id.clone(),
                attempt,
                at: now,
                status,
                outcome: format!("{:?}", response.outcome),
                latency_ms: response.latency_ms,
                response: response.body.chars().take(1024).collect(),
            })
            .await?;
        Ok(Ok(response))
    }

    /// An operator's replay: one attempt now, numbered `attempt`, signed as every attempt of the
    /// event (the same `webhook-id`), with no retries of its own. A success clears the endpoint's
    /// failure record; a failure only reports.
    pub async fn replay(&self, endpoint_id: &str, event: &Value, attempt: u32) -> Result<Replayed, ReplayError> {
        let record = self
            .store
            .endpoint(endpoint_id)
            .await?
            .ok_or(ReplayError::EndpointNotFound)?;
        if !record.endpoint.enabled {
            return Err(ReplayError::EndpointDisabled);
        }
        // Only what the endpoint asked for (its events and conditions): a replay must not
        // send a vendor's system data it chose not to receive.
        if !record.endpoint.wants(event) {
            return Err(ReplayError::NotSubscribed);
        }
        let now = self.clock.now();
        let response = self
            .post_logged(&record, event, attempt, now)
            .await?
            .map_err(ReplayError::Misconfigured)?;
        let (status, delivered) = match response.outcome {
            AttemptOutcome::Status { code, .. } => (Some(code), (200..300).contains(&code)),
            _ => (None, false),
        };
        if delivered {
            self.store.endpoint_succeeded(endpoint_id).await?;
        } else if status == Some(410) {
            self.disable(endpoint_id, "answered 410 Gone", now).await?;
        }
        Ok(Replayed {
            attempt,
            status,
            outcome: format!("{:?}", response.outcome),
            delivered,
        })
    }
}

/// For users of [`Webhooks::replay`] only: replays are never retried.
pub struct NoRetries;

impl RetryScheduler for NoRetries {
    async fn schedule(&self, _task: &RetryTask, _at: chrono::DateTime<chrono::Utc>) -> Result<(), StoreError> {
        Err(StoreError("this process does not schedule webhook retries".into()))
    }
}

/// For processes that never send webhooks (the invoice side of the management API): linking no
/// HTTP client keeps their binaries small. Every "attempt" fails as a network error.
pub struct NoSender;

impl WebhookSender for NoSender {
    async fn post(&self, _url: &str, _headers: &[(&str, String)], _body: Vec<u8>) -> Response {
        Response {
            outcome: AttemptOutcome::Network,
            latency_ms: 0,
            body: "this process sends no webhooks".into(),
        }
    }
}

/// What a replay did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replayed {
    pub attempt: u32,
    /// The HTTP status, or `None` for a timeout or a network failure.
    pub status: Option<u16>,
    pub outcome: String,
    pub delivered: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no such webhook endpoint")]
    EndpointNotFound,
    #[error("the endpoint is disabled")]
    EndpointDisabled,
    #[error("the endpoint's events or conditions do not take this event")]
    NotSubscribed,
    #[error("{0}")]
    Misconfigured(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
