//! YooKassa's API, to re-read a payment its (unsigned) notification names:
//! `GET {base}/v3/payments/{id}` with Basic auth `shopId:secretKey`.

use crate::ports::{PaymentLookup, StoreError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::time::Duration;

/// A payment object is a few KiB: an answer far larger is not one, and is not read whole.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

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
        let mut res = self
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
        let too_large = || StoreError(format!("YooKassa API answer is over {MAX_ANSWER_BYTES} bytes"));
        if res.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| StoreError(format!("YooKassa API body: {}", e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server answering every request with `body` (chunked when `chunked`, so without a length).
    async fn serve(body: Vec<u8>, chunked: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let _ = socket.read(&mut [0u8; 4096]).await;
                    let head = match chunked {
                        true => format!(
                            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n",
                            body.len()
                        ),
                        false => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()),
                    };
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    if chunked {
                        let _ = socket.write_all(b"\r\n0\r\n\r\n").await;
                    }
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn an_answer_is_read_up_to_a_bound() {
        let api = |url: String| YooKassaApi::new(&url, "1".into(), "k".into()).unwrap();
        let small = br#"{"id":"p1","status":"succeeded"}"#.to_vec();
        assert_eq!(api(serve(small.clone(), false).await).fetch("p1").await.unwrap(), small);
        assert_eq!(api(serve(small.clone(), true).await).fetch("p1").await.unwrap(), small);
        for chunked in [false, true] {
            let huge = vec![b' '; MAX_ANSWER_BYTES + 1];
            let refused = api(serve(huge, chunked).await).fetch("p1").await.unwrap_err();
            assert!(refused.0.contains("over"), "{refused}");
        }
    }
}
