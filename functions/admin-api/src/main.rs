//! `/admin/…` (invoices, accounts, the audit log): the management API for the vendor's backend
//! and the operators, behind API Gateway's IAM authoriser (the caller's ARN is recorded on every
//! action). Webhook endpoints and replays are `admin-webhooks`'. Also `POST /statements`: an
//! operator's 1C bank statement, reconciled.

use autobill::http::admin::{Auth, admin_invoices_router, with_not_found};
use autobill::http::statements::statements_router;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let (api, _) = autobill::app::admin_invoices_api().await?;
    let statements = statements_router(autobill::app::statements_of(&api), Auth::Iam);
    lambda_http::run(with_not_found(admin_invoices_router(api, Auth::Iam).merge(statements))).await
}
