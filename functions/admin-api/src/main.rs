//! `/admin/…`: the management API for the vendor's backend and the operators, behind API
//! Gateway's IAM authoriser (the caller's ARN is recorded on every action).

use autobill::http::admin::{Auth, admin_router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let (api, _) = autobill::app::admin_api().await?;
    lambda_http::run(autobill::http::admin::with_not_found(admin_router(api, Auth::Iam))).await
}
