//! `/admin/…` (invoices, accounts, the audit log): the management API for the vendor's backend
//! and the operators, behind API Gateway's IAM authoriser (the caller's ARN is recorded on every
//! action). Webhook endpoints and replays are `admin-webhooks`'.

use autobill::http::admin::{Auth, admin_invoices_router, with_not_found};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let (api, _) = autobill::app::admin_invoices_api().await?;
    lambda_http::run(with_not_found(admin_invoices_router(api, Auth::Iam))).await
}
