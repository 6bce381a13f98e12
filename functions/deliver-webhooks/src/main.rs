//! Signed outgoing webhooks. On every domain event (EventBridge rule on `source: autobill`) it
//! makes a first attempt to each endpoint that wants the event; each failure schedules the
//! next attempt as a one-time EventBridge Scheduler schedule that calls this function back
//! with `{"retry": …}`.

use autobill::ports::RetryTask;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    autobill::telemetry::init();
    let webhooks = autobill::app::webhooks_with(autobill::app::scheduler_retries().await?).await?;
    let webhooks = &webhooks;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        if payload["source"] == "autobill" {
            let endpoints = webhooks.on_event(&payload["detail"]).await?;
            Ok::<_, Error>(json!({ "endpoints": endpoints }))
        } else if let Some(retry) = payload.get("retry") {
            let task: RetryTask = serde_json::from_value(retry.clone())?;
            let verdict = webhooks.attempt(&task).await?;
            Ok(json!({ "verdict": format!("{verdict:?}") }))
        } else {
            Err("unexpected event: neither an autobill event nor a webhook retry".into())
        }
    }))
    .await
}
