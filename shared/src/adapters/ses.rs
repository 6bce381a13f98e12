//! E-mail through SESv2 as Raw MIME: exactly the message we built, attachments included.

use crate::ports::{Mailer, SendError};
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
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
}

impl Mailer for SesMailer {
    async fn send_raw(&self, to: &str, mime: Vec<u8>) -> Result<String, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mime))
            .build()
            .map_err(|e| SendError::Refused(e.to_string()))?;
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            // No automatic retries: after an unclear failure SES may have sent the message.
            .customize()
            .config_override(aws_sdk_sesv2::config::Builder::default().retry_config(RetryConfig::disabled()))
            .send()
            .await;
        match result {
            Ok(out) => out
                .message_id
                .ok_or_else(|| SendError::Unknown("SES answered without a message id".into())),
            // A 4xx from SES refuses the request (unverified sender, bad request, throttled):
            // nothing was sent.
            Err(SdkError::ServiceError(e)) if e.raw().status().is_client_error() => {
                Err(SendError::Refused(DisplayErrorContext(e.into_err()).to_string()))
            }
            Err(e) => Err(SendError::Unknown(DisplayErrorContext(e).to_string())),
        }
    }
}
