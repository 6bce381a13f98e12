//! `GET /invoices/{id}` (JSON or the hosted page) and `GET /invoices/{id}/pdf` (download).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let (api, settings) = autobill::app::invoice_api(false).await?;
    let router = autobill::http::with_cors(autobill::http::get_invoice_router(api), &settings.cors_origins);
    lambda_http::run(router).await
}
