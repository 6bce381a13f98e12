//! The outbox publisher, triggered by the table's stream (new `OUTBOX#` items only): puts each
//! event to EventBridge and marks it sent. Failed records are reported for a bounded retry.

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autobill::telemetry::init();
    let (store, bus) = autobill::app::outbox_parts().await?;
    let (store, bus, clock) = (&store, &bus, &autobill::ports::SystemClock);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, lambda_runtime::Error>(autobill::outbox::publish_stream_batch(store, bus, clock, event.payload).await)
    }))
    .await
}
