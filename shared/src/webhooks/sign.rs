//! Standard Webhooks signatures: `v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`,
//! verifiable with the scheme's official libraries.

use super::WebhookError;
use base64::Engine;
use base64::alphabet::STANDARD as STANDARD_ALPHABET;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// How long after a rotation deliveries carry the old secret's signature beside the new one's:
/// a day for the receiver to switch keys without refusing a delivery.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);
const MIN_KEY: usize = 24;
const MAX_KEY: usize = 64;
/// Receivers reject timestamps further than this from their clock (5 minutes).
pub const TOLERANCE_SECONDS: u64 = 300;

/// Standard base64, with or without `=` padding: secrets pasted from other tools vary.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD_ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An endpoint's signing key. Shown to the vendor as `whsec_<base64>`; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Parses `whsec_<base64>`; the key (the decoded part) must be 24–64 bytes.
    pub fn parse(s: &str) -> Result<Secret, WebhookError> {
        let encoded = s
            .strip_prefix(PREFIX)
            .ok_or(WebhookError::Secret("must start with `whsec_`"))?;
        let key = LENIENT
            .decode(encoded)
            .map_err(|_| WebhookError::Secret("the part after `whsec_` is not base64"))?;
        if !(MIN_KEY..=MAX_KEY).contains(&key.len()) {
            return Err(WebhookError::Secret("the key must be 24 to 64 bytes"));
        }
        Ok(Secret(key))
    }

    /// A new secret from 32 random bytes the caller supplies (from the OS: this module does no
    /// I/O), with its `whsec_…` form to store and show to the vendor.
    pub fn generate(random: [u8; 32]) -> (Secret, String) {
        let secret = Secret(random.to_vec());
        let shown = secret.display();
        (secret, shown)
    }

    /// The `whsec_…` form.
    pub fn display(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The `webhook-signature` value for one attempt: `v1,<base64 HMAC-SHA256>`.
pub fn sign(secret: &Secret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret.mac(msg_id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// What a receiver does: true when the timestamp is within 5 minutes of `now` and any of the
/// space-separated signatures is a matching `v1,…` (several appear while a secret is rotated).
/// Signatures are compared in constant time.
pub fn verify(secret: &Secret, msg_id: &str, timestamp: i64, body: &[u8], signatures: &str, now: i64) -> bool {
    if now.abs_diff(timestamp) > TOLERANCE_SECONDS {
        return false;
    }
    let mac = secret.mac(msg_id, timestamp, body);
    let mut matched = false;
    for candidate in signatures.split_ascii_whitespace() {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue; // another scheme (e.g. `v1a,` asymmetric): not ours to check
        };
        let Ok(tag) = LENIENT.decode(encoded) else {
            continue;
        };
        // `verify_slice` compares in constant time; keep checking the rest to leak nothing.
        matched |= mac.clone().verify_slice(&tag).is_ok();
    }
    matched
}

/// The three Standard Webhooks headers of one attempt. `msg_id` must stay the same across the
/// retries of a message (the receiver's dedupe key); `timestamp` is this attempt's unix time.
pub fn signed_headers(secret: &Secret, msg_id: &str, timestamp: i64, body: &[u8]) -> [(&'static str, String); 3] {
    [
        ("webhook-id", msg_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", sign(secret, msg_id, timestamp, body)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const EXPECTED: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn secret() -> Secret {
        Secret::parse(SECRET).unwrap()
    }

    #[test]
    fn reference_vector() {
        assert_eq!(sign(&secret(), ID, TS, BODY), EXPECTED);
        assert!(verify(&secret(), ID, TS, BODY, EXPECTED, TS));
    }

    #[test]
    fn display_round_trips() {
        assert_eq!(secret().display(), SECRET);
        assert_eq!(Secret::parse(&secret().display()).unwrap(), secret());
    }

    #[test]
    fn parse_rejects_bad_secrets() {
        for bad in [
            "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",       // no prefix
            "WHSEC_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", // prefix is case-sensitive
            "whsec_",                                 // empty
            "whsec_not base64!",                      // not base64
            "whsec_c2hvcnQ=",                         // 5 bytes
        ] {
            assert!(Secret::parse(bad).is_err(), "{bad}");
        }
        let too_short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        assert_eq!(
            Secret::parse(&too_short),
            Err(WebhookError::Secret("the key must be 24 to 64 bytes"))
        );
        let too_long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(
            Secret::parse(&too_long),
            Err(WebhookError::Secret("the key must be 24 to 64 bytes"))
        );
    }

    #[test]
    fn parse_accepts_key_sizes_and_missing_padding() {
        assert!(Secret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 24]))).is_ok());
        assert!(Secret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 64]))).is_ok());
        let padded = format!("whsec_{}", STANDARD.encode([9u8; 32]));
        assert!(padded.ends_with('='));
        assert_eq!(
            Secret::parse(padded.trim_end_matches('=')).unwrap(),
            Secret::parse(&padded).unwrap()
        );
    }

    #[test]
    fn errors_do_not_leak_the_secret() {
        let err = Secret::parse("whsec_sup3r-s3cret-but-broken!").unwrap_err().to_string();
        assert!(!err.contains("sup3r"), "{err}");
    }

    #[test]
    fn generate_uses_the_given_bytes() {
        let (secret, shown) = Secret::generate([42u8; 32]);
        assert!(shown.starts_with("whsec_"));
        assert_eq!(Secret::parse(&shown).unwrap(), secret);
        assert_eq!(secret.display(), shown);
        let (other, _) = Secret::generate([43u8; 32]);
        assert_ne!(sign(&secret, ID, TS, BODY), sign(&other, ID, TS, BODY));
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", secret()), "Secret(<redacted>)");
        assert_eq!(format!("{:#?}", secret()), "Secret(<redacted>)");
    }

    #[test]
    fn verify_accepts_any_of_rotated_signatures() {
        let (old, _) = Secret::generate([1u8; 32]);
        let both = format!("{} {}", sign(&old, ID, TS, BODY), EXPECTED);
        assert!(verify(&secret(), ID, TS, BODY, &both, TS));
        assert!(verify(&old, ID, TS, BODY, &both, TS));
        let reversed = format!("{EXPECTED}  {}", sign(&old, ID, TS, BODY));
        assert!(verify(&secret(), ID, TS, BODY, &reversed, TS));
        // Other schemes and garbage around the match are skipped.
        let mixed = format!("v1a,AAAA v1,!!! v2,{} {EXPECTED}", &EXPECTED[3..]);
        assert!(verify(&secret(), ID, TS, BODY, &mixed, TS));
    }

    #[test]
    fn verify_rejects_wrong_secret_and_tampering() {
        let (wrong, _) = Secret::generate([2u8; 32]);
        assert!(!verify(&wrong, ID, TS, BODY, EXPECTED, TS));
        assert!(!verify(&secret(), ID, TS, b"{}", EXPECTED, TS));
        assert!(!verify(&secret(), "msg_other", TS, BODY, EXPECTED, TS));
        assert!(!verify(&secret(), ID, TS + 1, BODY, EXPECTED, TS));
        assert!(!verify(&secret(), ID, TS, BODY, "", TS));
        assert!(!verify(&secret(), ID, TS, BODY, &format!("v2,{}", &EXPECTED[3..]), TS));
        assert!(
            !verify(&secret(), ID, TS, BODY, &EXPECTED[3..], TS),
            "no version prefix"
        );
    }

    #[test]
    fn verify_rejects_stale_and_future_timestamps() {
        assert!(verify(&secret(), ID, TS, BODY, EXPECTED, TS + 300));
        assert!(verify(&secret(), ID, TS, BODY, EXPECTED, TS - 300));
        assert!(!verify(&secret(), ID, TS, BODY, EXPECTED, TS + 301));
        assert!(!verify(&secret(), ID, TS, BODY, EXPECTED, TS - 301));
        assert!(!verify(&secret(), ID, TS, BODY, EXPECTED, i64::MAX));
        assert!(!verify(&secret(), ID, TS, BODY, EXPECTED, i64::MIN));
    }

    #[test]
    fn headers_carry_id_timestamp_and_signature() {
        let headers = signed_headers(&secret(), ID, TS, BODY);
        assert_eq!(
            headers,
            [
                ("webhook-id", ID.to_string()),
                ("webhook-timestamp", TS.to_string()),
                ("webhook-signature", EXPECTED.to_string()),
            ]
        );
        for (name, value) in &headers {
            http::HeaderName::from_static(name);
            http::HeaderValue::from_str(value).unwrap();
        }
    }
}
