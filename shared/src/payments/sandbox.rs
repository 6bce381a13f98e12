//! Our own test payment system (the local stack's pay button): `POST` JSON
//! `{"invoice_id","payment_id","amount" (integer kopecks),"currency"}` with
//! `Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">`.

use super::decimal::minor_units;
use super::stripe::verify_timestamped;
use super::{Answer, Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use hmac::{Hmac, Mac};
use http::StatusCode;
use serde_json::Value;
use sha2::Sha256;
use std::fmt;

pub const SIGNATURE_HEADER: &str = "sandbox-signature";

pub struct Sandbox {
    secret: Vec<u8>,
    tolerance_secs: i64,
}

impl Sandbox {
    /// `tolerance_secs` normally 300.
    pub fn new(secret: Vec<u8>, tolerance_secs: i64) -> Self {
        Sandbox { secret, tolerance_secs }
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("secret", &"<redacted>")
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}

/// The `Sandbox-Signature` header value for `body` sent at unix time `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn malformed(why: &str) -> Rejection {
    Rejection::Malformed(why.to_owned())
}

impl Provider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn verify(&self, callback: &RawCallback<'_>) -> Result<Verified, Rejection> {
        verify_timestamped(
            &self.secret,
            callback.headers.get(SIGNATURE_HEADER),
            callback.body,
            callback.now,
            self.tolerance_secs,
        )?;
        if callback.method != http::Method::POST {
            return Err(malformed("POST expected"));
        }
        let body: Value = serde_json::from_slice(callback.body).map_err(|_| malformed("body is not JSON"))?;
        let text = |key: &str| body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
        Ok(Verified::Notice(PaymentNotice {
            provider: "sandbox",
            payment_id: text("payment_id").ok_or_else(|| malformed("no payment_id"))?.to_owned(),
            invoice: InvoiceRef::Id(text("invoice_id").ok_or_else(|| malformed("no invoice_id"))?.to_owned()),
            amount: body
                .get("amount")
                .and_then(minor_units)
                .ok_or_else(|| malformed("no integer amount"))?,
            currency: text("currency")
                .ok_or_else(|| malformed("no currency"))?
                .to_ascii_uppercase(),
            succeeded: true,
        }))
    }

    fn answer(&self, handled: Handled, _notice: Option<&PaymentNotice>) -> Answer {
        let json = "application/json";
        match handled {
            Handled::Paid | Handled::Duplicate | Handled::Ignored => {
                Answer::new(StatusCode::OK, json, r#"{"status":"ok"}"#)
            }
            Handled::Mismatch => Answer::new(StatusCode::OK, json, r#"{"status":"needs_review"}"#),
            Handled::UnknownInvoice => Answer::new(StatusCode::NOT_FOUND, json, r#"{"error":"unknown_invoice"}"#),
        }
    }

    fn reject(&self, rejection: &Rejection) -> Answer {
        match rejection {
            Rejection::Unauthenticated(_) => Answer::new(
                StatusCode::UNAUTHORIZED,
                "application/json",
                r#"{"error":"bad_signature"}"#,
            ),
            Rejection::Malformed(_) => {
                Answer::new(StatusCode::BAD_REQUEST, "application/json", r#"{"error":"malformed"}"#)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kopecks;
    use http::{HeaderMap, Method};

    const SECRET: &[u8] = b"sandbox-secret";
    const T: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"invoice_id":"inv-1","payment_id":"sbx_1","amount":120050,"currency":"rub"}"#;

    fn verify_with(method: &Method, signature: Option<&str>, body: &[u8], now: i64) -> Result<Verified, Rejection> {
        let mut headers = HeaderMap::new();
        if let Some(sig) = signature {
            headers.insert("Sandbox-Signature", sig.parse().unwrap());
        }
        Sandbox::new(SECRET.to_vec(), 300).verify(&RawCallback {
            method,
            headers: &headers,
            query: "",
            body,
            source_ip: None,
            now,
        })
    }

    #[test]
    fn known_answer() {
        // Step by step with the hmac crate.
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(b"1700000000.");
        mac.update(BODY);
        let expected = format!("t=1700000000,v1={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sign(SECRET, T, BODY), expected);
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"sandbox-secret",b"1700000000.{\"invoice_id\":
        //   \"inv-1\",\"payment_id\":\"sbx_1\",\"amount\":120050,\"currency\":\"rub\"}",hashlib.sha256).hexdigest())'
        assert_eq!(expected, format!("t=1700000000,v1={PRECOMPUTED}"));

        assert_eq!(
            verify_with(&Method::POST, Some(&expected), BODY, T - 300).unwrap(),
            Verified::Notice(PaymentNotice {
                provider: "sandbox",
                payment_id: "sbx_1".into(),
                invoice: InvoiceRef::Id("inv-1".into()),
                amount: Kopecks(120_050),
                currency: "RUB".into(),
                succeeded: true,
            })
        );
    }

    const PRECOMPUTED: &str = "4e037ab484f476f678842cfbcd1eb2d588ce2ce931da3a4b48cbe37728a1e1b5";

    #[test]
    fn refusals() {
        let good = sign(SECRET, T, BODY);
        let unauth = |r: Result<Verified, Rejection>| assert!(matches!(r, Err(Rejection::Unauthenticated(_))), "{r:?}");
        unauth(verify_with(
            &Method::POST,
            Some(&format!("t={T},v1={}", "0".repeat(64))),
            BODY,
            T,
        ));
        unauth(verify_with(&Method::POST, Some(&good), &BODY[..BODY.len() - 1], T));
        unauth(verify_with(&Method::POST, Some(&good), &[BODY, b" "].concat(), T));
        unauth(verify_with(&Method::POST, Some(&sign(b"other", T, BODY)), BODY, T));
        unauth(verify_with(&Method::POST, Some(&good), BODY, T + 301));
        unauth(verify_with(&Method::POST, Some(&good), BODY, T - 301));
        unauth(verify_with(&Method::POST, None, BODY, T));
        unauth(verify_with(&Method::POST, Some("garbage"), BODY, T));

        let malformed = |method: &Method, body: &[u8]| {
            let r = verify_with(method, Some(&sign(SECRET, T, body)), body, T);
            assert!(matches!(r, Err(Rejection::Malformed(_))), "{r:?}");
        };
        malformed(&Method::GET, BODY);
        malformed(&Method::POST, b"\xff");
        malformed(&Method::POST, b"[]");
        malformed(
            &Method::POST,
            br#"{"invoice_id":"i","payment_id":"p","amount":"12.00","currency":"RUB"}"#,
        );
        malformed(
            &Method::POST,
            br#"{"invoice_id":"i","payment_id":"p","amount":1.5,"currency":"RUB"}"#,
        );
        malformed(
            &Method::POST,
            br#"{"invoice_id":"i","payment_id":"p","amount":-1,"currency":"RUB"}"#,
        );
        malformed(
            &Method::POST,
            br#"{"invoice_id":"","payment_id":"p","amount":1,"currency":"RUB"}"#,
        );
        malformed(&Method::POST, br#"{"invoice_id":"i","amount":1,"currency":"RUB"}"#);
        malformed(&Method::POST, br#"{"invoice_id":"i","payment_id":"p","amount":1}"#);
    }

    #[test]
    fn answers_and_debug() {
        let s = Sandbox::new(SECRET.to_vec(), 300);
        let a = |h| s.answer(h, None);
        assert_eq!(
            (a(Handled::Paid).status, a(Handled::Paid).body),
            (StatusCode::OK, r#"{"status":"ok"}"#.into())
        );
        assert_eq!(a(Handled::Duplicate).body, r#"{"status":"ok"}"#);
        assert_eq!(a(Handled::Ignored).body, r#"{"status":"ok"}"#);
        assert_eq!(
            (a(Handled::Mismatch).status, a(Handled::Mismatch).body),
            (StatusCode::OK, r#"{"status":"needs_review"}"#.into())
        );
        assert_eq!(a(Handled::UnknownInvoice).status, StatusCode::NOT_FOUND);
        assert_eq!(a(Handled::UnknownInvoice).body, r#"{"error":"unknown_invoice"}"#);
        let r = s.reject(&Rejection::Unauthenticated(String::new()));
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::UNAUTHORIZED, r#"{"error":"bad_signature"}"#)
        );
        let r = s.reject(&Rejection::Malformed(String::new()));
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::BAD_REQUEST, r#"{"error":"malformed"}"#)
        );
        assert!(!format!("{s:?}").contains("sandbox-secret"));
        assert!(!format!("{s:?}").contains("115"), "no secret bytes either");
    }
}
