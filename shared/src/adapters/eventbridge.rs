//! Domain events to EventBridge: `Source` autobill, `DetailType` the event type, `Detail` the
//! event (with its stable id). Partial failures are reported per entry, never ignored.

use crate::ports::{EventBus, OutboxEvent, StoreError};
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

pub const SOURCE: &str = "autobill";

#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        EventBridgeBus {
            client,
            bus: bus.into(),
        }
    }
}

impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<bool>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let entries = events
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(SOURCE)
                    .detail_type(&e.kind)
                    .detail(e.detail.to_string())
                    .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(e.at.timestamp()))
                    .build()
            })
            .collect();
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| StoreError(DisplayErrorContext(e).to_string()))?;
        let results = out.entries();
        if out.failed_entry_count() > 0 {
            tracing::warn!(
                failed = out.failed_entry_count(),
                "EventBridge refused some events; they stay in the outbox"
            );
        }
        // One result per entry, in order; a missing one counts as failed.
        Ok((0..events.len())
            .map(|i| results.get(i).is_some_and(|r| r.error_code().is_none()))
            .collect())
    }
}
