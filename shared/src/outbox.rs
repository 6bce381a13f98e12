//! The outbox publisher: moves events written with their state change to the event bus, and
//! marks them sent only after the bus accepted them. At-least-once; consumers dedupe on the id.

use crate::ports::{Clock, EventBus, OutboxEvent, OutboxStore, StoreError};

/// EventBridge takes at most 10 entries per PutEvents.
const BATCH: usize = 10;

/// Publishes the given events; returns the ids that were accepted and marked sent.
pub async fn publish<O: OutboxStore, B: EventBus>(
    store: &O,
    bus: &B,
    clock: &dyn Clock,
    events: &[OutboxEvent],
) -> Result<Vec<String>, StoreError> {
    let mut sent = Vec::new();
    for chunk in events.chunks(BATCH) {
        let accepted = bus.publish(chunk).await?;
        for (event, ok) in chunk.iter().zip(accepted) {
            if ok {
                store.mark_sent(&event.id, clock.now()).await?;
                sent.push(event.id.clone());
            }
        }
    }
    Ok(sent)
}

/// One sweep over the unsent events (the local stack's loop, and a safety net in AWS).
pub async fn publish_pending<O: OutboxStore, B: EventBus>(
    store: &O,
    bus: &B,
    clock: &dyn Clock,
) -> Result<usize, StoreError> {
    let pending = store.pending(100).await?;
    let sent = publish(store, bus, clock, &pending).await?;
    if !sent.is_empty() {
        tracing::info!(published = sent.len(), "outbox events published");
    }
    Ok(sent.len())
}

/// The stream trigger (AWS): each new `OUTBOX#` item is published and marked sent. On the first
/// failure the batch stops and reports that record, so Lambda retries from it (bounded, then
/// the DLQ); items already sent are skipped by consumers' dedupe on the event id.
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
        let result = match crate::adapters::dynamo::outbox_event(&item) {
            Ok(event) => publish(store, bus, clock, std::slice::from_ref(&event))
                .await
                .and_then(|sent| {
                    if sent.is_empty() {
                        Err(StoreError(format!("event {} refused by the bus", event.id)))
                    } else {
                        Ok(())
                    }
                }),
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
