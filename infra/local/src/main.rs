//! The local stack's one process: every HTTP function's routes on one port, the outbox
//! publisher on a timer, against the local AWS that `AWS_ENDPOINT_URL` points at. Production
//! code paths, local endpoint.

mod mailbox;

use autobill::app::AwsFulfil;
use autobill::http::sandbox::{SandboxPay, sandbox_pay_router};
use autobill::ports::{OutboxStore, SystemClock};
use axum::response::Html;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The sample order form, with a fresh idempotency token in each copy served.
async fn order_form() -> Html<String> {
    let token = format!("form-{}", uuid::Uuid::now_v7().simple());
    Html(include_str!("../order-form.html").replace("{{idempotency_key}}", &token))
}

/// What the table's stream and the bus's rules do in AWS: publish new outbox events (every
/// 250 ms here) and deliver `invoice.paid` to fulfilment, as the `fulfil` rule would.
async fn outbox_loop(fulfil: Arc<AwsFulfil>) -> Result<(), Box<dyn std::error::Error>> {
    let (store, bus) = autobill::app::outbox_parts().await?;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let published = async {
            let pending = store.pending(100).await?;
            let sent = autobill::outbox::publish(&store, &bus, &SystemClock, &pending).await?;
            Ok::<_, autobill::ports::StoreError>(pending.into_iter().filter(move |e| sent.contains(&e.id)))
        };
        let events = match published.await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "outbox publishing failed; will retry");
                continue;
            }
        };
        for event in events.filter(|e| e.kind == "invoice.paid") {
            let Some(invoice_id) = event.detail["data"]["invoice_id"].as_str().map(str::to_owned) else {
                continue;
            };
            let fulfil = fulfil.clone();
            tokio::spawn(async move {
                if let Err(e) = fulfil.fulfil(&invoice_id).await {
                    tracing::warn!(invoice = %invoice_id, error = %e, "fulfilment failed; the sweeper will retry");
                }
            });
        }
    }
}

/// The scheduled sweeper (every 10 minutes in AWS), here every 2 seconds.
async fn sweep_loop(fulfil: Arc<AwsFulfil>, after: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if let Err(e) = fulfil.sweep(after, Duration::from_secs(10)).await {
            tracing::warn!(error = %e, "fulfilment sweep failed");
        }
    }
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
    let (invoices, settings) = autobill::app::invoice_api(true).await?;
    let callbacks = autobill::app::callback_api().await?;
    let mut router = autobill::http::plans_router(catalogue)
        .merge(autobill::http::create_invoice_router(invoices.clone()))
        .merge(autobill::http::get_invoice_router(invoices.clone()))
        .merge(autobill::http::callbacks::callback_router(callbacks.clone()))
        .merge(mailbox::router())
        .route("/", get(order_form));
    if let Ok(secret) = std::env::var("AUTOBILL_SANDBOX_SECRET") {
        let sandbox = SandboxPay {
            invoices,
            callbacks,
            secret: secret.into_bytes(),
        };
        router = router.merge(sandbox_pay_router(Arc::new(sandbox)));
    }
    let router = autobill::http::with_cors(router, &settings.cors_origins);

    let fulfil = Arc::new(autobill::app::fulfil_service().await?);
    let sweeper = tokio::spawn(sweep_loop(fulfil.clone(), autobill::app::sweep_after()?));
    let publisher = tokio::spawn(async {
        if let Err(e) = outbox_loop(fulfil).await {
            tracing::error!(error = %e, "the outbox publisher could not start");
        }
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "autobill local stack is serving: open http://{addr}/");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    publisher.abort();
    sweeper.abort();
    Ok(())
}
