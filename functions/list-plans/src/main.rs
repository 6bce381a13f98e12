//! `GET /plans`: the plan catalogue. Touches no AWS service.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let (api, settings) = autobill::app::catalogue_api()?;
    let router = autobill::http::with_cors(autobill::http::plans_router(api), &settings.cors_origins);
    lambda_http::run(router).await
}
