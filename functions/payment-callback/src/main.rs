//! `GET|POST /callbacks/{provider}`: payment systems report payments; verified with each
//! provider's own scheme, recorded exactly once, answered in the provider's protocol.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    autobill::telemetry::init();
    let api = autobill::app::callback_api().await?;
    lambda_http::run(autobill::http::callbacks::callback_router(api)).await
}
