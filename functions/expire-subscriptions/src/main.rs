//! Expiry, on its daily schedule: subscriptions still unpaid when their grace period after the
//! period end is over become `expired`, and `subscription.expired` goes out through the outbox
//! (the vendor closes access on that webhook).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autobill::app::serve_job(autobill::renewals::EXPIRY).await
}
