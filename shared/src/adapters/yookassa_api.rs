//! YooKassa's API, to re-read a payment its (unsigned) notification names:
//! `GET {base}/v3/payments/{id}` with Basic auth `shopId:secretKey`.

use crate::ports::{PaymentLookup, StoreError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::time::Duration;

/// Everything but RFC 3986's unreserved characters is escaped in the path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

#[derive(Clone)]
pub struct YooKassaApi {
    http: reqwest::Client,
    base_url: String,
    shop_id: String,
    secret_key: String,
}

impl std::fmt::Debug for YooKassaApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YooKassaApi")
            .field("base_url", &self.base_url)
            .field("shop_id", &self.shop_id)
            .finish()
    }
}

impl YooKassaApi {
    pub fn new(base_url: &str, shop_id: String, secret_key: String) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StoreError(format!("http client: {e}")))?;
        Ok(YooKassaApi {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            shop_id,
            secret_key,
        })
    }
}

impl PaymentLookup for YooKassaApi {
    async fn fetch(&self, payment_id: &str) -> Result<Vec<u8>, StoreError> {
        let id: String = utf8_percent_encode(payment_id, SEGMENT).collect();
        let res = self
            .http
            .get(format!("{}/v3/payments/{id}", self.base_url))
            .basic_auth(&self.shop_id, Some(&self.secret_key))
            .send()
            .await
            .map_err(|e| StoreError(format!("YooKassa API: {}", e.without_url())))?;
        let status = res.status();
        if !status.is_success() {
            return Err(StoreError(format!(
                "YooKassa API answered {status} for payment {payment_id}"
            )));
        }
        Ok(res
            .bytes()
            .await
            .map_err(|e| StoreError(format!("YooKassa API body: {}", e.without_url())))?
            .to_vec())
    }
}
