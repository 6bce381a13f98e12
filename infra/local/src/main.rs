//! The local stack's one process: every HTTP function's routes on one port, against the local
//! AWS that `AWS_ENDPOINT_URL` points at. Production code paths, local endpoint.

use axum::response::Html;
use axum::routing::get;
use std::net::SocketAddr;

/// The sample order form, with a fresh idempotency token in each copy served.
async fn order_form() -> Html<String> {
    let token = format!("form-{}", uuid::Uuid::now_v7().simple());
    Html(include_str!("../order-form.html").replace("{{idempotency_key}}", &token))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    autobill::telemetry::init();
    let port: u16 = match std::env::var("AUTOBILL_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("AUTOBILL_PORT={p:?} is not a port number"))?,
        Err(_) => 3000,
    };
    let (catalogue, _) = autobill::app::catalogue_api()?;
    let (invoices, settings) = autobill::app::invoice_api().await?;
    let router = autobill::http::plans_router(catalogue)
        .merge(autobill::http::create_invoice_router(invoices.clone()))
        .merge(autobill::http::get_invoice_router(invoices))
        .route("/", get(order_form));
    let router = autobill::http::with_cors(router, &settings.cors_origins);

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "autobill local stack is serving: open http://{addr}/");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
