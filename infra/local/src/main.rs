//! The local stack's one process: every HTTP function's routes on one port, the outbox
//! publisher on a timer, against the local AWS that `AWS_ENDPOINT_URL` points at. Production
//! code paths, local endpoint.

mod jobs;
mod mailbox;
mod receiver;

use autobill::app::{AwsFulfil, AwsWebhooks};
use autobill::http::sandbox::{SandboxPay, sandbox_pay_router};
use autobill::ports::{OutboxStore, SystemClock};
use autobill::ports::{RetryScheduler, RetryTask, StoreError, WebhookStore};
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The order form, from the configured plans, with a fresh idempotency token in each copy served
/// (a double click or a refresh of the result issues one invoice).
async fn order_form(State(catalogue): State<Arc<autobill::http::CatalogueApi>>) -> impl IntoResponse {
    let token = autobill::http::pages::form_token();
    let plans = autobill::http::offered_plans(&catalogue.billing, catalogue.clock.now());
    let form = autobill::http::pages::FormState {
        action: "/invoices",
        token: &token,
        notice: None,
    };
    let page = autobill::http::pages::order_form(&plans, &Default::default(), &Default::default(), &form);
    // Never cached: each copy carries its own token (Back after a success must not resend one).
    ([(axum::http::header::CACHE_CONTROL, "no-store")], Html(page))
}

/// Webhook retries: in AWS one-time EventBridge Scheduler schedules; here a timer in this process.
#[derive(Clone)]
struct LocalRetries(mpsc::UnboundedSender<(RetryTask, DateTime<Utc>)>);

impl RetryScheduler for LocalRetries {
    async fn schedule(&self, task: &RetryTask, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0
            .send((task.clone(), at))
            .map_err(|_| StoreError("the local retry timer stopped".into()))
    }
}

type LocalWebhooks = AwsWebhooks<LocalRetries>;

async fn retry_loop(webhooks: Arc<LocalWebhooks>, mut due: mpsc::UnboundedReceiver<(RetryTask, DateTime<Utc>)>) {
    while let Some((task, at)) = due.recv().await {
        let webhooks = webhooks.clone();
        tokio::spawn(async move {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            if let Err(e) = webhooks.attempt(&task).await {
                tracing::warn!(endpoint = %task.endpoint_id, error = %e, "webhook retry failed");
            }
        });
    }
}

/// The demo receiver, and the developer's own endpoint from `AUTOBILL_WEBHOOK_URL` /
/// `AUTOBILL_WEBHOOK_SECRET` when set: both for every event.
async fn register_local_endpoints(webhooks: &LocalWebhooks, base: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut endpoints = vec![autobill::webhooks::Endpoint {
        id: "local-receiver".into(),
        url: format!("{base}/webhook-receiver/demo"),
        secret: receiver::DEMO_SECRET.into(),
        events: vec![],
        conditions: vec![],
        fields: vec![],
        enabled: true,
    }];
    if let Ok(url) = std::env::var("AUTOBILL_WEBHOOK_URL") {
        let secret = std::env::var("AUTOBILL_WEBHOOK_SECRET")
            .map_err(|_| "AUTOBILL_WEBHOOK_URL is set: set AUTOBILL_WEBHOOK_SECRET (whsec_…) too")?;
        endpoints.push(autobill::webhooks::Endpoint {
            id: "local-custom".into(),
            url,
            secret,
            events: vec![],
            conditions: vec![],
            fields: vec![],
            enabled: true,
        });
    }
    for endpoint in endpoints {
        endpoint
            .validate(webhooks.policy)
            .map_err(|e| format!("webhook endpoint {}: {e}", endpoint.id))?;
        webhooks.store.seed_endpoint(&endpoint).await?;
    }
    Ok(())
}

/// What the table's stream and the bus's rules do in AWS: publish new outbox events (every
/// 250 ms here), deliver `invoice.paid` to fulfilment and every event to the webhooks.
async fn outbox_loop(fulfil: Arc<AwsFulfil>, webhooks: Arc<LocalWebhooks>) -> Result<(), Box<dyn std::error::Error>> {
    let (store, bus) = autobill::app::outbox_parts().await?;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let pending = match store.pending(100).await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(error = %e, "outbox read failed; will retry");
                continue;
            }
        };
        // What the bus accepted is delivered (as EventBridge would), even if marking it sent failed.
        let published = autobill::outbox::publish(&store, &bus, &SystemClock, &pending).await;
        if let Some(e) = &published.error {
            tracing::warn!(error = %e, "outbox publishing failed in part; will retry");
        }
        let events = pending.into_iter().filter(|e| published.accepted.contains(&e.id));
        for event in events {
            let webhooks = webhooks.clone();
            let detail = event.detail.clone();
            tokio::spawn(async move { deliver(&webhooks, &detail).await });
            if event.kind != "invoice.paid" {
                continue;
            }
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

/// Hands an event to the webhooks, retried as Lambda retries a failed asynchronous invocation
/// of deliver-webhooks (there twice, then its DLQ; here six times in about a minute). A retry
/// sends with the same `webhook-id`, so receivers see one delivery sequence.
async fn deliver(webhooks: &LocalWebhooks, detail: &serde_json::Value) {
    let mut delay = Duration::from_secs(1);
    for retry in 0.. {
        match webhooks.on_event(detail).await {
            Ok(_) => return,
            Err(e) if retry < 6 => {
                tracing::warn!(error = %e, retry, "webhook delivery failed; will retry");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::error!(error = %e, event = %detail["id"], "webhook delivery failed for good (in AWS: the deliver-webhooks DLQ); replay it with POST /admin/events/{{id}}/replay");
                return;
            }
        }
    }
}

/// `POST /_local/s3-events/statements?key=statements/…`: the S3 event of a statement put in the
/// bucket (moto sends no notifications), handled as `import-statement` handles it in AWS.
fn statement_events(reconciler: Arc<autobill::app::AwsReconciler>) -> axum::Router {
    use axum::extract::{Query, State};
    #[derive(serde::Deserialize)]
    struct Key {
        key: String,
    }
    axum::Router::new()
        .route(
            "/_local/s3-events/statements",
            axum::routing::post(
                |State(reconciler): State<Arc<autobill::app::AwsReconciler>>, Query(Key { key }): Query<Key>| async move {
                    use axum::response::IntoResponse;
                    match reconciler.import_object(&key).await {
                        Ok(report) => axum::Json(serde_json::json!({"report": report})).into_response(),
                        Err(autobill::statements::reconcile::ImportError::Malformed(e)) => (
                            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                            axum::Json(serde_json::json!({"line": e.line, "reason": e.reason})),
                        )
                            .into_response(),
                        Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
                    }
                },
            ),
        )
        .with_state(reconciler)
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
    let form = axum::Router::new()
        .route("/", get(order_form))
        .with_state(catalogue.clone());
    let mut router = autobill::http::plans_router(catalogue)
        .merge(autobill::http::create_invoice_router(invoices.clone()))
        .merge(autobill::http::get_invoice_router(invoices.clone()))
        .merge(autobill::http::callbacks::callback_router(callbacks.clone()))
        .merge(mailbox::router())
        .merge(receiver::router())
        .merge(form);
    if let Ok(secret) = std::env::var("AUTOBILL_SANDBOX_SECRET") {
        let sandbox = SandboxPay {
            invoices,
            callbacks,
            secret: secret.into_bytes(),
        };
        router = router.merge(sandbox_pay_router(Arc::new(sandbox)));
    }
    let base = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
    let renewals = Arc::new(autobill::app::renewals_service(Some(base.clone())).await?);
    let router = router.merge(jobs::router(renewals.clone()));
    // What S3's notification does in AWS: a statement put under `statements/` is reconciled.
    let reconciler = autobill::app::reconciler().await?;
    let router = router.merge(statement_events(reconciler.clone()));
    let router = autobill::http::with_cors(router, &settings.cors_origins);
    // The management API, behind the local API key (IAM stands in for it in AWS); no CORS:
    // it is for servers and the CLI, not browsers.
    let router = match std::env::var("AUTOBILL_ADMIN_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        Some(key) => {
            let (admin, _) = autobill::app::admin_api().await?;
            let auth = autobill::http::admin::Auth::ApiKey(key);
            let statements = autobill::http::statements::statements_router(reconciler.clone(), auth.clone());
            router
                .merge(autobill::http::admin::admin_router(admin, auth))
                .merge(statements)
        }
        None => {
            tracing::warn!("AUTOBILL_ADMIN_API_KEY is not set: the /admin/ routes are off");
            router
        }
    };

    let fulfil = Arc::new(autobill::app::fulfil_service().await?);
    let sweeper = tokio::spawn(sweep_loop(fulfil.clone(), autobill::app::sweep_after()?));
    let (retries, due) = mpsc::unbounded_channel();
    let webhooks = Arc::new(autobill::app::webhooks_with(LocalRetries(retries)).await?);
    register_local_endpoints(&webhooks, &base).await?;
    let retrier = tokio::spawn(retry_loop(webhooks.clone(), due));
    let every = match std::env::var("AUTOBILL_LOCAL_JOBS_EVERY_SECONDS") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("AUTOBILL_LOCAL_JOBS_EVERY_SECONDS={v:?}: whole seconds, 0 for never"))?,
        Err(_) => 3600,
    };
    let scheduler = (every > 0).then(|| tokio::spawn(jobs::schedule(renewals, Duration::from_secs(every))));
    let publisher = tokio::spawn(async {
        if let Err(e) = outbox_loop(fulfil, webhooks).await {
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
    retrier.abort();
    sweeper.abort();
    if let Some(s) = scheduler {
        s.abort();
    }
    Ok(())
}
