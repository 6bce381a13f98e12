//! The outbox publisher. Triggered by the table's stream (new `OUTBOX#` items only), it puts
//! each event to EventBridge and marks it sent, reporting failed records for a bounded retry.
//! Every 5 minutes a schedule also sweeps whatever is still pending (events whose stream
//! retries ran out land in the DLQ as pointers only; the items themselves wait here).

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autobill::telemetry::init();
    let (store, bus) = autobill::app::outbox_parts().await?;
    let (store, bus, clock) = (&store, &bus, &autobill::ports::SystemClock);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        if event.payload.get("Records").is_some() {
            let batch: Event = serde_json::from_value(event.payload)?;
            let response = autobill::outbox::publish_stream_batch(store, bus, clock, batch).await;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(response)?)
        } else if event.payload["action"] == "sweep" {
            let published = autobill::outbox::publish_pending(store, bus, clock).await?;
            Ok(json!({ "published": published }))
        } else {
            Err("unexpected event: neither stream records nor the sweep schedule".into())
        }
    }))
    .await
}
