//! The outbox publisher: moves events written with their state change to the event bus, and
//! marks them sent only after the bus accepted them. At-least-once; consumers dedupe on the id.

use crate::ports::{Clock, EventBus, OutboxEvent, OutboxStore, StoreError};

/// EventBridge takes at most 10 entries per PutEvents.
const BATCH: usize = 10;

/// What a publishing run did.
#[derive(Debug, Default)]
pub struct Published {
    /// The events the bus accepted: they are on their way, whatever happened after.
    pub accepted: Vec<String>,
    /// The first failure: the bus refusing a batch (that batch and the rest wait in the
    /// outbox), or an accepted event not marked sent (it stays pending and goes out again
    /// later; consumers dedupe on the event id).
    pub error: Option<StoreError>,
}

/// Publishes the given events, marking each accepted one sent. Never loses track of an
/// accepted event: a failure after the bus took it is reported beside it, not instead of it.
pub async fn publish<O: OutboxStore, B: EventBus>(
    store: &O,
    bus: &B,
    clock: &dyn Clock,
    events: &[OutboxEvent],
) -> Published {
    let mut published = Published::default();
    for chunk in events.chunks(BATCH) {
        let accepted = match bus.publish(chunk).await {
            Ok(accepted) => accepted,
            Err(e) => {
                published.error.get_or_insert(e);
                break;
            }
        };
        for (event, ok) in chunk.iter().zip(accepted) {
            if !ok {
                continue;
            }
            published.accepted.push(event.id.clone());
            if let Err(e) = store.mark_sent(&event.id, clock.now()).await {
                tracing::warn!(event = %event.id, error = %e, "event published but not marked sent: it goes out again later");
                published.error.get_or_insert(e);
            }
        }
        // The table is in trouble: the rest waits rather than going out unmarked.
        if published.error.is_some() {
            break;
        }
    }
    published
}

/// One sweep over the unsent events (the local stack's loop, and a safety net in AWS).
pub async fn publish_pending<O: OutboxStore, B: EventBus>(
    store: &O,
    bus: &B,
    clock: &dyn Clock,
) -> Result<usize, StoreError> {
    let pending = store.pending(100).await?;
    let published = publish(store, bus, clock, &pending).await;
    if !published.accepted.is_empty() {
        tracing::info!(published = published.accepted.len(), "outbox events published");
    }
    match published.error {
        Some(e) if published.accepted.is_empty() => Err(e),
        Some(e) => {
            tracing::warn!(error = %e, "outbox publishing stopped part way; the rest goes out on the next run");
            Ok(published.accepted.len())
        }
        None => Ok(published.accepted.len()),
    }
}

/// The stream trigger (AWS): each new `OUTBOX#` item is published and marked sent. On the first
/// record the bus did not take, the batch stops and reports it, so Lambda retries from it
/// (bounded, then the DLQ); items already sent are skipped by consumers' dedupe on the event id.
/// A record the bus took but that could not be marked sent counts as done: it stays pending
/// and the publisher's sweep sends it again (a duplicate, deduped the same way).
pub async fn publish_stream_batch<O: OutboxStore, B: EventBus>(
    store: &O,
    bus: &B,
    clock: &dyn Clock,
    batch: aws_lambda_events::event::dynamodb::Event,
) -> aws_lambda_events::event::streams::DynamoDbEventResponse {
    use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
    let mut response = DynamoDbEventResponse::default();
    for record in batch.records {
        let change = record.change;
        if record.event_name != "INSERT" {
            continue;
        }
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> = change.new_image.into();
        let is_outbox =
            matches!(item.get("pk"), Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) if pk.starts_with("OUTBOX#"));
        if !is_outbox {
            continue;
        }
        // Accepted by the bus is done: a failure to mark it sent only means it goes out again.
        let result = match crate::adapters::dynamo::outbox_event(&item) {
            Ok(event) => {
                let published = publish(store, bus, clock, std::slice::from_ref(&event)).await;
                match (published.accepted.is_empty(), published.error) {
                    (false, _) => Ok(()),
                    (true, Some(e)) => Err(e),
                    (true, None) => Err(StoreError(format!("event {} refused by the bus", event.id))),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "outbox record not published; Lambda will retry from it");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = change.sequence_number;
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}
