//! `POST /invoices`: a website form (or a script) becomes a numbered invoice with its PDF.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let (api, settings) = autobill::app::invoice_api(false).await?;
    let router = autobill::http::with_cors(autobill::http::create_invoice_router(api), &settings.cors_origins);
    lambda_http::run(router).await
}
