//! Wiring: builds configuration and AWS clients once per process and hands out the routers.
//! Function binaries and the local runner call only this.

use crate::adapters::{DynamoStore, S3Documents};
use crate::config::{BillingConfig, ConfigError, Settings};
use crate::http::links::Links;
use crate::http::{CatalogueApi, InvoiceApi};
use crate::ports::SystemClock;
use crate::service::Invoices;
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

pub async fn invoice_api() -> Result<(Arc<AwsInvoiceApi>, Settings), ConfigError> {
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
        links: Links::new(settings.link_secret.clone(), settings.public_url.clone()),
        pdf_link_ttl: settings.pdf_link_ttl,
    };
    Ok((Arc::new(api), settings))
}
