//! E-mail through SESv2 as Raw MIME: exactly the message we built, attachments included.

use crate::ports::{Mailer, StoreError};
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        SesMailer {
            client,
            from: from.into(),
            configuration_set,
        }
    }

    pub fn from(&self) -> &str {
        &self.from
    }
}

impl Mailer for SesMailer {
    async fn send_raw(&self, to: &str, mime: Vec<u8>) -> Result<String, StoreError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mime))
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| StoreError(DisplayErrorContext(e).to_string()))?;
        out.message_id
            .ok_or_else(|| StoreError("SES answered without a message id".into()))
    }
}
