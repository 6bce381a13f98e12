//! Documents in S3: `invoices/YYYY/MM/<number>.pdf`, private, handed out as presigned links.

use crate::ports::{DocumentStore, StoreError};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct S3Documents {
    client: Client,
    bucket: String,
}

fn store_err(e: impl std::error::Error) -> StoreError {
    StoreError(DisplayErrorContext(e).to_string())
}

impl S3Documents {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Documents {
            client,
            bucket: bucket.into(),
        }
    }
}

impl DocumentStore for S3Documents {
    async fn put_pdf(&self, key: &str, pdf: Vec<u8>) -> Result<(), StoreError> {
        let file_name = key.rsplit('/').next().unwrap_or(key);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/pdf")
            .content_disposition(format!("inline; filename=\"{file_name}\""))
            .body(pdf.into())
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn put_file(&self, key: &str, body: Vec<u8>, content_type: &'static str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn get_pdf(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(store_err)?.to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, StoreError> {
        let config = PresigningConfig::expires_in(ttl).map_err(store_err)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(store_err)?;
        Ok(req.uri().to_owned())
    }
}
