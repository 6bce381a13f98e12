//! `/admin/webhooks…` and `/admin/events…`: webhook endpoints, events and replays, behind API
//! Gateway's IAM authoriser. The only management function that sends HTTP requests out.

use autobill::http::admin::{Auth, admin_webhooks_router, with_not_found};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let (api, _) = autobill::app::admin_api().await?;
    lambda_http::run(with_not_found(admin_webhooks_router(api, Auth::Iam))).await
}
