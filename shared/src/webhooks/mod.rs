//! Outgoing webhooks, the pure core: Standard Webhooks signing, the endpoints an operator
//! configures (event types, conditions, fields to send), SSRF rules and the retry policy.
//!
//! Nothing here does I/O: the delivery code resolves names, sends requests and keeps the log,
//! and asks these functions what to sign, whom to call and when to try again.

mod endpoint;
mod safety;
mod schedule;
mod sign;

pub use endpoint::{Condition, Endpoint, Op};
pub use safety::{UrlPolicy, check_ip, check_url};
pub use schedule::{
    AttemptOutcome, DISABLE_AFTER, MAX_ATTEMPTS, RETRY_AFTER_CAP, SCHEDULE, Verdict, after_attempt, parse_retry_after,
    should_disable,
};
pub use sign::{ROTATION_OVERLAP, Secret, TOLERANCE_SECONDS, sign, signed_headers, verify};

use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `whsec_<base64 of 24–64 bytes>`. The message never contains the secret.
    #[error("invalid webhook secret: {0}")]
    Secret(&'static str),
    /// The URL is malformed or not allowed by the policy (scheme, userinfo, host, port).
    #[error("invalid webhook URL: {0}")]
    Url(String),
    /// The URL's host is, or resolved to, an address the policy refuses (SSRF).
    #[error("webhook address {ip} is not allowed: {reason}")]
    Address { ip: IpAddr, reason: &'static str },
    /// Another field of the endpoint is invalid; the message names the field.
    #[error("invalid webhook endpoint: {0}")]
    Endpoint(String),
}
