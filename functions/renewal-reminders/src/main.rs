//! Renewal reminders, on its daily schedule (EventBridge Scheduler, seller's time zone): for
//! subscriptions whose period ends within the configured days it issues the renewal invoice
//! once and e-mails it; later reminder days re-send it while unpaid. It stops 30 s before the
//! invocation's deadline and the next run continues from its checkpoint.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autobill::app::serve_job(autobill::renewals::REMINDERS).await
}
