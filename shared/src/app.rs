//! Wiring: builds configuration and AWS clients once per process and hands out the routers.
//! Function binaries and the local runner call only this.

use crate::adapters::{DynamoStore, EventBridgeBus, S3Documents, YooKassaApi};
use crate::callbacks::Callbacks;
use crate::config::{BillingConfig, ConfigError, Settings};
use crate::http::callbacks::CallbackApi;
use crate::http::links::Links;
use crate::http::{CatalogueApi, InvoiceApi};
use crate::payments::Provider;
use crate::payments::cloudpayments::CloudPayments;
use crate::payments::robokassa::{HashAlg, Robokassa};
use crate::payments::sandbox::Sandbox;
use crate::payments::stripe::Stripe;
use crate::payments::tbank::TBank;
use crate::payments::yookassa::{Cidr, YooKassa};
use crate::ports::SystemClock;
use crate::service::Invoices;
use std::collections::HashMap;
use std::sync::Arc;

pub type AwsInvoiceApi = InvoiceApi<DynamoStore, S3Documents>;

pub fn catalogue_api() -> Result<(Arc<CatalogueApi>, Settings), ConfigError> {
    let billing = Arc::new(BillingConfig::from_env()?);
    let settings = Settings::from_env()?;
    Ok((
        Arc::new(CatalogueApi {
            billing,
            clock: Arc::new(SystemClock),
        }),
        settings,
    ))
}

/// `sandbox_pay` shows the sandbox pay button: the local stack only.
pub async fn invoice_api(sandbox_pay: bool) -> Result<(Arc<AwsInvoiceApi>, Settings), ConfigError> {
    let billing = Arc::new(BillingConfig::from_env()?);
    let settings = Settings::from_env()?;
    let sdk = crate::aws::sdk_config().await;
    let service = Invoices {
        store: DynamoStore::new(crate::aws::dynamodb(&sdk), &settings.table),
        documents: S3Documents::new(crate::aws::s3(&sdk), &settings.bucket),
        billing,
        clock: Arc::new(SystemClock),
    };
    let api = InvoiceApi {
        service,
        links: links(&settings),
        pdf_link_ttl: settings.pdf_link_ttl,
        sandbox_pay,
    };
    Ok((Arc::new(api), settings))
}

pub type AwsCallbackApi = CallbackApi<DynamoStore, YooKassaApi>;

/// Invoice links under the link secret, old links still opening under the previous one if set.
fn links(settings: &Settings) -> Links {
    Links::new(settings.link_secret.clone(), settings.public_url.clone())
        .with_previous(settings.previous_link_secret.clone())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn invalid(name: &'static str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

/// The payment systems this deployment accepts: each is on when its secrets are set.
pub fn providers_from_env(number_prefix: &str) -> Result<HashMap<&'static str, Box<dyn Provider>>, ConfigError> {
    let mut providers: HashMap<&'static str, Box<dyn Provider>> = HashMap::new();
    let mut add = |p: Box<dyn Provider>| providers.insert(p.name(), p);
    if let Some(secret) = var("AUTOBILL_SANDBOX_SECRET") {
        if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
            tracing::warn!("the sandbox payment provider is enabled: anyone with its secret can mark invoices paid");
        }
        add(Box::new(Sandbox::new(secret.into_bytes(), 300)));
    }
    if let Some(secret) = var("AUTOBILL_STRIPE_WEBHOOK_SECRET") {
        add(Box::new(Stripe::new(secret, 300)));
    }
    if var("AUTOBILL_YOOKASSA_SHOP_ID").is_some() != var("AUTOBILL_YOOKASSA_SECRET_KEY").is_some() {
        return Err(invalid(
            "AUTOBILL_YOOKASSA_SECRET_KEY",
            "set both YooKassa shop id and secret key, or neither",
        ));
    }
    if var("AUTOBILL_YOOKASSA_SHOP_ID").is_some() {
        let yookassa = match var("AUTOBILL_YOOKASSA_IPS") {
            None => YooKassa::published(),
            Some(list) => YooKassa::new(
                list.split(',')
                    .map(|c| {
                        c.trim()
                            .parse::<Cidr>()
                            .map_err(|e| invalid("AUTOBILL_YOOKASSA_IPS", format!("{c}: {e:?}")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        add(Box::new(yookassa));
    }
    if let Some(secret) = var("AUTOBILL_CLOUDPAYMENTS_API_SECRET") {
        add(Box::new(CloudPayments::new(secret)));
    }
    if let (Some(terminal), Some(password)) = (var("AUTOBILL_TBANK_TERMINAL_KEY"), var("AUTOBILL_TBANK_PASSWORD")) {
        add(Box::new(TBank::new(terminal, password)));
    }
    if let Some(password2) = var("AUTOBILL_ROBOKASSA_PASSWORD2") {
        let algorithm = match var("AUTOBILL_ROBOKASSA_HASH").as_deref().unwrap_or("md5") {
            "md5" => HashAlg::Md5,
            "sha256" => HashAlg::Sha256,
            other => {
                return Err(invalid(
                    "AUTOBILL_ROBOKASSA_HASH",
                    format!("{other:?}: use md5 or sha256"),
                ));
            }
        };
        add(Box::new(Robokassa::new(password2, algorithm, number_prefix.to_owned())));
    }
    Ok(providers)
}

/// YooKassa's API client, when YooKassa is configured (`AUTOBILL_YOOKASSA_API_URL` points it
/// elsewhere, e.g. at a test server).
fn yookassa_api() -> Result<Option<YooKassaApi>, ConfigError> {
    let (Some(shop), Some(key)) = (var("AUTOBILL_YOOKASSA_SHOP_ID"), var("AUTOBILL_YOOKASSA_SECRET_KEY")) else {
        return Ok(None);
    };
    let base = var("AUTOBILL_YOOKASSA_API_URL").unwrap_or_else(|| "https://api.yookassa.ru".into());
    YooKassaApi::new(&base, shop, key)
        .map(Some)
        .map_err(|e| invalid("AUTOBILL_YOOKASSA_API_URL", e))
}

pub async fn callback_api() -> Result<Arc<AwsCallbackApi>, ConfigError> {
    let billing = BillingConfig::from_env()?;
    let settings = Settings::from_env()?;
    let sdk = crate::aws::sdk_config().await;
    let prefix = billing.seller.number_prefix.clone();
    Ok(Arc::new(CallbackApi {
        callbacks: Callbacks {
            store: DynamoStore::new(crate::aws::dynamodb(&sdk), &settings.table),
            lookup: yookassa_api()?,
            number_prefix: prefix.clone(),
            clock: Arc::new(SystemClock),
        },
        providers: providers_from_env(&prefix)?,
    }))
}

/// The outbox's two ends: the table and the event bus (`AUTOBILL_EVENT_BUS`).
pub async fn outbox_parts() -> Result<(DynamoStore, EventBridgeBus), ConfigError> {
    let table = var("AUTOBILL_TABLE").ok_or(ConfigError::Missing("AUTOBILL_TABLE"))?;
    let bus = var("AUTOBILL_EVENT_BUS").ok_or(ConfigError::Missing("AUTOBILL_EVENT_BUS"))?;
    let sdk = crate::aws::sdk_config().await;
    Ok((
        DynamoStore::new(crate::aws::dynamodb(&sdk), table),
        EventBridgeBus::new(crate::aws::eventbridge(&sdk), bus),
    ))
}

pub type AwsFulfil = crate::fulfil::Fulfil<DynamoStore, S3Documents, crate::adapters::SesMailer>;

/// Fulfilment: the table, the bucket, SES from `AUTOBILL_SENDER_EMAIL` (with
/// `AUTOBILL_SES_CONFIGURATION_SET` when set).
pub async fn fulfil_service() -> Result<AwsFulfil, ConfigError> {
    let billing = Arc::new(BillingConfig::from_env()?);
    let settings = Settings::from_env()?;
    let from = var("AUTOBILL_SENDER_EMAIL").ok_or(ConfigError::Missing("AUTOBILL_SENDER_EMAIL"))?;
    let sdk = crate::aws::sdk_config().await;
    Ok(crate::fulfil::Fulfil {
        store: DynamoStore::new(crate::aws::dynamodb(&sdk), &settings.table),
        documents: S3Documents::new(crate::aws::s3(&sdk), &settings.bucket),
        mailer: crate::adapters::SesMailer::new(crate::aws::sesv2(&sdk), &from, var("AUTOBILL_SES_CONFIGURATION_SET")),
        billing,
        clock: Arc::new(SystemClock),
        from,
    })
}

/// How long a paid invoice may stay unfulfilled before the sweeper re-drives it.
pub fn sweep_after() -> Result<std::time::Duration, ConfigError> {
    match var("AUTOBILL_FULFIL_SWEEP_AFTER_SECONDS") {
        None => Ok(std::time::Duration::from_secs(600)),
        Some(v) => v
            .parse()
            .map(std::time::Duration::from_secs)
            .map_err(|_| invalid("AUTOBILL_FULFIL_SWEEP_AFTER_SECONDS", "whole seconds")),
    }
}

/// Where webhooks may go: anywhere public over HTTPS, or also loopback over HTTP when
/// `AUTOBILL_WEBHOOKS_ALLOW_LOOPBACK` is true (the local stack).
pub fn webhook_policy() -> crate::webhooks::UrlPolicy {
    match var("AUTOBILL_WEBHOOKS_ALLOW_LOOPBACK").as_deref() {
        Some("true" | "1") => crate::webhooks::UrlPolicy::Local,
        _ => crate::webhooks::UrlPolicy::Production,
    }
}

/// The configured endpoints, validated: a bad one stops the function with a clear message.
pub fn configured_endpoints(
    billing: &BillingConfig,
    policy: crate::webhooks::UrlPolicy,
) -> Result<Vec<crate::webhooks::Endpoint>, ConfigError> {
    billing
        .webhooks
        .iter()
        .map(|w| {
            let endpoint = w.endpoint().map_err(|e| invalid("webhooks", e))?;
            endpoint
                .validate(policy)
                .map_err(|e| invalid("webhooks", format!("{}: {e}", w.id)))?;
            Ok(endpoint)
        })
        .collect()
}

pub type AwsWebhooks<R> = crate::delivery::Webhooks<DynamoStore, crate::adapters::webhooks::HttpSender, R>;

/// Webhook delivery with the given retry scheduler; seeds the configured endpoints.
pub async fn webhooks_with<R: crate::ports::RetryScheduler>(scheduler: R) -> Result<AwsWebhooks<R>, ConfigError> {
    use crate::ports::WebhookStore;
    let billing = BillingConfig::from_env()?;
    let settings = Settings::from_env()?;
    let policy = webhook_policy();
    let sdk = crate::aws::sdk_config().await;
    let store = DynamoStore::new(crate::aws::dynamodb(&sdk), &settings.table);
    for endpoint in configured_endpoints(&billing, policy)? {
        store
            .seed_endpoint(&endpoint)
            .await
            .map_err(|e| invalid("webhooks", e))?;
    }
    let sender = crate::adapters::webhooks::HttpSender::new(policy, std::time::Duration::from_secs(15))
        .map_err(|e| invalid("webhooks", e))?;
    Ok(crate::delivery::Webhooks {
        store,
        sender,
        scheduler,
        clock: Arc::new(SystemClock),
        policy,
    })
}

/// The AWS retry scheduler: one-time EventBridge Scheduler schedules calling this function.
pub async fn scheduler_retries() -> Result<crate::adapters::webhooks::SchedulerRetries, ConfigError> {
    let need = |name: &'static str| var(name).ok_or(ConfigError::Missing(name));
    let sdk = crate::aws::sdk_config().await;
    Ok(crate::adapters::webhooks::SchedulerRetries::new(
        crate::aws::scheduler(&sdk),
        need("AUTOBILL_WEBHOOK_RETRY_GROUP")?,
        need("AUTOBILL_WEBHOOK_RETRY_TARGET_ARN")?,
        need("AUTOBILL_WEBHOOK_RETRY_ROLE_ARN")?,
        var("AUTOBILL_WEBHOOK_RETRY_DLQ_ARN"),
    ))
}

pub type AwsRenewals = crate::renewals::Renewals<DynamoStore, S3Documents, crate::adapters::SesMailer>;

/// The scheduled renewal and expiry jobs. E-mailed links point at `AUTOBILL_PUBLIC_URL`, or at
/// `fallback_url` when it is not set (the local stack); in AWS it is required.
pub async fn renewals_service(fallback_url: Option<String>) -> Result<AwsRenewals, ConfigError> {
    let billing = Arc::new(BillingConfig::from_env()?);
    let settings = Settings::from_env()?;
    let from = var("AUTOBILL_SENDER_EMAIL").ok_or(ConfigError::Missing("AUTOBILL_SENDER_EMAIL"))?;
    let base_url = settings
        .public_url
        .clone()
        .or(fallback_url)
        .ok_or(ConfigError::Missing("AUTOBILL_PUBLIC_URL"))?;
    let sdk = crate::aws::sdk_config().await;
    Ok(crate::renewals::Renewals {
        store: DynamoStore::new(crate::aws::dynamodb(&sdk), &settings.table),
        documents: S3Documents::new(crate::aws::s3(&sdk), &settings.bucket),
        mailer: crate::adapters::SesMailer::new(crate::aws::sesv2(&sdk), &from, var("AUTOBILL_SES_CONFIGURATION_SET")),
        billing,
        links: links(&settings),
        base_url,
        from,
    })
}

/// A scheduled job's time budget: until 30 s before the invocation's deadline, so that it
/// stops between two subscriptions, never in the middle of a send.
pub fn job_budget(deadline: std::time::SystemTime) -> std::time::Duration {
    deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(std::time::Duration::from_secs(30))
}

/// A scheduled job's Lambda: `job` as of the invocation, on any event (the schedule's input is
/// not read), within the invocation's time; the answer is the run's report.
pub async fn serve_job(job: &'static str) -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{LambdaEvent, run, service_fn};
    crate::telemetry::init();
    let jobs = renewals_service(None).await?;
    let jobs = &jobs;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let budget = job_budget(event.context.deadline());
        let report = jobs
            .run(job, chrono::Utc::now(), budget)
            .await?
            .ok_or_else(|| format!("no scheduled job is called {job:?}"))?;
        Ok::<_, lambda_http::Error>(serde_json::to_value(report)?)
    }))
    .await
}

pub type AwsReconciler = crate::statements::reconcile::Reconciler<DynamoStore, S3Documents>;

/// Bank statements over the given table, bucket and clock, for the seller's account and number
/// prefix.
fn reconciler_over(invoices: &Invoices<DynamoStore, S3Documents>) -> Arc<AwsReconciler> {
    let seller = &invoices.billing.seller;
    Arc::new(crate::statements::reconcile::Reconciler {
        store: invoices.store.clone(),
        documents: invoices.documents.clone(),
        clock: invoices.clock.clone(),
        account: seller.requisites.account.clone(),
        number_prefix: seller.number_prefix.clone(),
    })
}

/// Bank statements for the `import-statement` function: the table, the bucket, the config.
pub async fn reconciler() -> Result<Arc<AwsReconciler>, ConfigError> {
    let billing = Arc::new(BillingConfig::from_env()?);
    let table = var("AUTOBILL_TABLE").ok_or(ConfigError::Missing("AUTOBILL_TABLE"))?;
    let bucket = var("AUTOBILL_BUCKET").ok_or(ConfigError::Missing("AUTOBILL_BUCKET"))?;
    let sdk = crate::aws::sdk_config().await;
    Ok(reconciler_over(&Invoices {
        store: DynamoStore::new(crate::aws::dynamodb(&sdk), table),
        documents: S3Documents::new(crate::aws::s3(&sdk), bucket),
        billing,
        clock: Arc::new(SystemClock),
    }))
}

/// Bank statements beside the management API (`POST /statements`), on its clients and config:
/// nothing more to load.
pub fn statements_of<H>(api: &AwsAdminApi<H>) -> Arc<AwsReconciler> {
    reconciler_over(&api.admin.invoices)
}

/// An S3 event's object key as stored: URL-encoded, spaces as `+`.
fn url_decoded(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The statement keys an event names: S3's "Object Created" through EventBridge (the template's
/// rule: `detail.object.key`, as stored) or an S3 notification (`Records[].s3.object.key`,
/// URL-encoded with spaces as `+`). Only keys under `statements/`.
pub fn statement_keys(event: &serde_json::Value) -> Vec<String> {
    let keys: Vec<String> = match event["detail"]["object"]["key"].as_str() {
        Some(key) => vec![key.to_owned()],
        None => event["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["s3"]["object"]["key"].as_str())
            .map(url_decoded)
            .collect(),
    };
    keys.into_iter().filter(|k| k.starts_with("statements/")).collect()
}

/// The `import-statement` Lambda: each statement put under `statements/` in the bucket is
/// reconciled and its report written. A malformed file is reported, not retried.
pub async fn serve_statement_import() -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{LambdaEvent, run, service_fn};
    crate::telemetry::init();
    let reconciler = reconciler().await?;
    let reconciler = &reconciler;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        for key in statement_keys(&event.payload) {
            let mut result = reconciler.import_object(&key).await;
            // Not found as named: in case EventBridge's key came URL-encoded after all.
            if matches!(result, Ok(None)) && url_decoded(&key) != key {
                result = reconciler.import_object(&url_decoded(&key)).await;
            }
            match result {
                Ok(Some(_)) | Err(crate::statements::reconcile::ImportError::Malformed(_)) => {}
                // Never silently: the retries, then the DLQ and its alarm.
                Ok(None) => return Err(format!("statement {key} not found in the bucket").into()),
                Err(crate::statements::reconcile::ImportError::Store(e)) => return Err(e.into()),
            }
        }
        Ok::<_, lambda_http::Error>(())
    }))
    .await
}

pub type AwsAdminApi<H = crate::adapters::webhooks::HttpSender> =
    crate::http::admin::AdminApi<DynamoStore, S3Documents, crate::adapters::SesMailer, H>;

/// The management API: the table, the bucket, SES (resends) and webhook delivery (replays).
pub async fn admin_api() -> Result<(Arc<AwsAdminApi>, Settings), ConfigError> {
    let sender = crate::adapters::webhooks::HttpSender::new(webhook_policy(), std::time::Duration::from_secs(15))
        .map_err(|e| invalid("webhooks", e))?;
    admin_api_with(sender).await
}

/// The management API's invoice side (the `admin-api` function): everything but replays, so no
/// HTTP client is linked in.
pub async fn admin_invoices_api() -> Result<(Arc<AwsAdminApi<crate::delivery::NoSender>>, Settings), ConfigError> {
    admin_api_with(crate::delivery::NoSender).await
}

async fn admin_api_with<H: crate::ports::WebhookSender>(
    sender: H,
) -> Result<(Arc<AwsAdminApi<H>>, Settings), ConfigError> {
    let billing = Arc::new(BillingConfig::from_env()?);
    let settings = Settings::from_env()?;
    let from = var("AUTOBILL_SENDER_EMAIL").ok_or(ConfigError::Missing("AUTOBILL_SENDER_EMAIL"))?;
    let sdk = crate::aws::sdk_config().await;
    let store = DynamoStore::new(crate::aws::dynamodb(&sdk), &settings.table);
    let clock: Arc<dyn crate::ports::Clock> = Arc::new(SystemClock);
    let admin = crate::admin::Admin {
        invoices: Invoices {
            store: store.clone(),
            documents: S3Documents::new(crate::aws::s3(&sdk), &settings.bucket),
            billing,
            clock: clock.clone(),
        },
        mailer: crate::adapters::SesMailer::new(crate::aws::sesv2(&sdk), &from, var("AUTOBILL_SES_CONFIGURATION_SET")),
        webhooks: crate::delivery::Webhooks {
            store,
            sender,
            scheduler: crate::delivery::NoRetries,
            clock,
            policy: webhook_policy(),
        },
        links: links(&settings),
        from,
    };
    let api = crate::http::admin::AdminApi {
        admin,
        pdf_link_ttl: settings.pdf_link_ttl,
    };
    Ok((Arc::new(api), settings))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn statement_keys_come_from_eventbridge_or_s3_notifications() {
        let bridge = json!({"source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "statements/Выписка 11.txt", "size": 10}}});
        assert_eq!(super::statement_keys(&bridge), ["statements/Выписка 11.txt"]);
        let notification = json!({"Records": [
            {"s3": {"bucket": {"name": "b"}, "object": {"key": "statements/%D0%92%D1%8B%D0%BF%D0%B8%D1%81%D0%BA%D0%B0+11.txt"}}},
            {"s3": {"bucket": {"name": "b"}, "object": {"key": "reports/statements/x.csv"}}}]});
        assert_eq!(super::statement_keys(&notification), ["statements/Выписка 11.txt"]);
        assert!(super::statement_keys(&json!({"detail": {"object": {"key": "invoices/x.pdf"}}})).is_empty());
        assert!(super::statement_keys(&json!({})).is_empty());
    }
}
