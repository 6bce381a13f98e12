//! Unguessable links without accounts: `?token=` is an HMAC of the invoice id under a server
//! secret, so only whoever was given the link can open the invoice. A rotated-out secret can be
//! kept as the previous one for a while: links made with it still open, new links use the new.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

/// 128 bits of the MAC, hex: short enough for a URL, far beyond guessing.
const TOKEN_BYTES: usize = 16;

#[derive(Clone)]
pub struct Links {
    secret: Vec<u8>,
    previous: Option<Vec<u8>>,
    public_url: Option<String>,
}

fn mac(secret: &[u8], id: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"invoice:");
    mac.update(id.as_bytes());
    mac
}

impl Links {
    pub fn new(secret: Vec<u8>, public_url: Option<String>) -> Self {
        Links {
            secret,
            previous: None,
            public_url,
        }
    }

    /// Tokens made with `previous` (the secret before a rotation) still verify.
    pub fn with_previous(mut self, previous: Option<Vec<u8>>) -> Self {
        self.previous = previous;
        self
    }

    pub fn token(&self, id: &str) -> String {
        hex::encode(&mac(&self.secret, id).finalize().into_bytes()[..TOKEN_BYTES])
    }

    /// Constant-time check of a presented token, under the current secret or the previous one.
    pub fn verify(&self, id: &str, token: &str) -> bool {
        match hex::decode(token) {
            Ok(raw) if raw.len() == TOKEN_BYTES => std::iter::once(&self.secret)
                .chain(&self.previous)
                .any(|secret| mac(secret, id).verify_truncated_left(&raw).is_ok()),
            _ => false,
        }
    }

    /// The configured public URL, or the one the request came in on.
    pub fn base(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.public_url {
            return u.clone();
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let local = host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]");
        let proto = headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .unwrap_or(if local { "http" } else { "https" });
        format!("{proto}://{host}")
    }

    pub fn invoice_url(&self, base: &str, id: &str) -> String {
        format!("{base}/invoices/{id}?token={}", self.token(id))
    }

    /// The act's permanent link (it exists once the invoice is paid and fulfilled).
    pub fn act_url(&self, base: &str, id: &str) -> String {
        format!("{base}/invoices/{id}/act?token={}", self.token(id))
    }

    /// A link that never expires: it redirects to a fresh presigned download each time.
    pub fn pdf_url(&self, base: &str, id: &str) -> String {
        format!("{base}/invoices/{id}/pdf?token={}", self.token(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_invoice() {
        let l = Links::new(b"0123456789abcdef0123".to_vec(), None);
        let t = l.token("a");
        assert_eq!(t.len(), 32);
        assert!(l.verify("a", &t));
        assert!(!l.verify("b", &t));
        assert!(!l.verify("a", &t[..30]));
        assert!(!l.verify("a", "zz"));
        assert!(!Links::new(b"another-secret-of-20".to_vec(), None).verify("a", &t));
    }

    #[test]
    fn after_a_rotation_old_links_open_while_the_previous_secret_is_kept() {
        let old = Links::new(b"the-old-secret".to_vec(), None);
        let rotated = Links::new(b"the-new-secret".to_vec(), None).with_previous(Some(b"the-old-secret".to_vec()));
        let (old_token, new_token) = (old.token("a"), rotated.token("a"));
        assert_ne!(old_token, new_token, "new links use the new secret");
        assert!(rotated.verify("a", &old_token) && rotated.verify("a", &new_token));
        assert!(!rotated.verify("b", &old_token));
        // Once the previous secret is dropped, the old links stop opening.
        assert!(!Links::new(b"the-new-secret".to_vec(), None).verify("a", &old_token));
    }
}
