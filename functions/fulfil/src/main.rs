//! Fulfilment. On `invoice.paid` (EventBridge rule: bounded retries, then a DLQ) it renders
//! and stores the act, extends the subscription and e-mails the closing documents; on its
//! schedule it sweeps paid invoices left unfulfilled beyond their retries.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    autobill::telemetry::init();
    let fulfil = autobill::app::fulfil_service().await?;
    let sweep_after = autobill::app::sweep_after()?;
    let fulfil = &fulfil;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let payload = &event.payload;
        if payload["source"] == "autobill" && payload["detail-type"] == "invoice.paid" {
            let invoice_id = payload["detail"]["data"]["invoice_id"]
                .as_str()
                .ok_or("invoice.paid without data.invoice_id")?;
            // An error makes EventBridge retry (and dead-letter after its policy).
            let outcome = fulfil.fulfil(invoice_id).await?;
            Ok::<_, Error>(json!({ "invoice_id": invoice_id, "outcome": format!("{outcome:?}") }))
        } else if payload["action"] == "sweep" {
            // The schedule's input. 40 s of work at most: the function times out at 60 s.
            let (done, failing) = fulfil.sweep(sweep_after, Duration::from_secs(40)).await?;
            Ok(json!({ "fulfilled": done, "failing": failing }))
        } else {
            Err("unexpected event: neither autobill invoice.paid nor the sweep schedule".into())
        }
    }))
    .await
}
