//! Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 over
//! `"{t}.{raw body}"` keyed with the endpoint secret as given (`whsec_…` included).

use super::decimal::minor_units;
use super::{Answer, Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use hmac::{Hmac, Mac};
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

pub const SIGNATURE_HEADER: &str = "stripe-signature";

pub struct Stripe {
    endpoint_secret: String,
    tolerance_secs: i64,
}

impl Stripe {
    /// `endpoint_secret` exactly as Stripe shows it (`whsec_…`); `tolerance_secs` normally 300.
    pub fn new(endpoint_secret: String, tolerance_secs: i64) -> Self {
        Stripe {
            endpoint_secret,
            tolerance_secs,
        }
    }
}

impl fmt::Debug for Stripe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stripe")
            .field("endpoint_secret", &"<redacted>")
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}

/// Checks a `t=<unix>,v1=<hex>[,v1=<hex>…]` header (Stripe's scheme, reused by the sandbox):
/// any `v1` equal to HMAC-SHA256(key, "{t}.{body}") and `|now − t| <= tolerance`.
pub(super) fn verify_timestamped(
    key: &[u8],
    header: Option<&HeaderValue>,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), Rejection> {
    let unauthenticated = |why: &str| Rejection::Unauthenticated(why.to_owned());
    let header = header.ok_or_else(|| unauthenticated("missing signature header"))?;
    let header = header
        .to_str()
        .map_err(|_| unauthenticated("unreadable signature header"))?;
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<&str> = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) if timestamp.is_none() => timestamp = Some(t),
            Some(("t", _)) => return Err(unauthenticated("repeated timestamp in signature header")),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let t_text = timestamp.ok_or_else(|| unauthenticated("no timestamp in signature header"))?;
    if t_text.is_empty() || !t_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unauthenticated("bad timestamp in signature header"));
    }
    let t: i64 = t_text
        .parse()
        .map_err(|_| unauthenticated("bad timestamp in signature header"))?;
    if signatures.is_empty() {
        return Err(unauthenticated("no v1 signature in signature header"));
    }

    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(t_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    let matched = signatures
        .iter()
        .filter_map(|sig| hex::decode(sig).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok());
    if !matched {
        return Err(unauthenticated("signature mismatch"));
    }
    let skew = now.checked_sub(t).map_or(u64::MAX, i64::unsigned_abs);
    if skew > tolerance_secs.max(0).unsigned_abs() {
        return Err(unauthenticated("timestamp outside tolerance"));
    }
    Ok(())
}

fn malformed(why: impl Into<String>) -> Rejection {
    Rejection::Malformed(why.into())
}

fn str_field<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn invoice_id(object: &Value) -> Result<InvoiceRef, Rejection> {
    object
        .get("metadata")
        .and_then(|m| str_field(m, "invoice_id"))
        .map(|id| InvoiceRef::Id(id.to_owned()))
        .ok_or_else(|| malformed("no metadata.invoice_id"))
}

fn currency(object: &Value) -> Result<String, Rejection> {
    str_field(object, "currency")
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| malformed("no currency"))
}

fn amount(object: &Value, key: &str) -> Result<crate::domain::Kopecks, Rejection> {
    object
        .get(key)
        .and_then(minor_units)
        .ok_or_else(|| malformed(format!("no integer {key}")))
}

/// The event as a notice, or `None` for event types we do not act on.
fn notice(event: &Value) -> Result<Option<PaymentNotice>, Rejection> {
    let kind = str_field(event, "type").ok_or_else(|| malformed("no event type"))?;
    if kind != "checkout.session.completed" && kind != "payment_intent.succeeded" {
        return Ok(None);
    }
    let object = event
        .get("data")
        .and_then(|d| d.get("object"))
        .filter(|o| o.is_object());
    let object = object.ok_or_else(|| malformed("no data.object"))?;
    // A payment made outside autobill (no invoice of ours in its metadata) is not ours to act
    // on; refusing it would only make Stripe retry it for days.
    if invoice_id(object).is_err() {
        return Ok(None);
    }
    let notice = if kind == "checkout.session.completed" {
        // The payment intent's id, so that this and `payment_intent.succeeded` dedupe together.
        let payment_intent = match object.get("payment_intent") {
            Some(Value::String(id)) if !id.is_empty() => Some(id.as_str()),
            Some(expanded @ Value::Object(_)) => str_field(expanded, "id"),
            _ => None,
        };
        let payment_id = payment_intent.or_else(|| str_field(object, "id"));
        PaymentNotice {
            provider: "stripe",
            payment_id: payment_id.ok_or_else(|| malformed("no payment id"))?.to_owned(),
            invoice: invoice_id(object)?,
            amount: amount(object, "amount_total")?,
            currency: currency(object)?,
            succeeded: str_field(object, "payment_status") == Some("paid"),
        }
    } else {
        PaymentNotice {
            provider: "stripe",
            payment_id: str_field(object, "id")
                .ok_or_else(|| malformed("no payment intent id"))?
                .to_owned(),
            invoice: invoice_id(object)?,
            amount: amount(object, "amount_received")?,
            currency: currency(object)?,
            // The event says so; an explicit other status (never seen in practice) wins.
            succeeded: object.get("status").is_none_or(|s| s.as_str() == Some("succeeded")),
        }
    };
    Ok(Some(notice))
}

impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn verify(&self, callback: &RawCallback<'_>) -> Result<Verified, Rejection> {
        verify_timestamped(
            self.endpoint_secret.as_bytes(),
            callback.headers.get(SIGNATURE_HEADER),
            callback.body,
            callback.now,
            self.tolerance_secs,
        )?;
        let event: Value = serde_json::from_slice(callback.body).map_err(|_| malformed("body is not JSON"))?;
        match notice(&event)? {
            Some(notice) => Ok(Verified::Notice(notice)),
            None => Ok(Verified::Ignored(format!(
                "stripe event {}",
                str_field(&event, "type").unwrap_or("?")
            ))),
        }
    }

    fn answer(&self, _handled: Handled, _notice: Option<&PaymentNotice>) -> Answer {
        // Any 2xx stops Stripe's retries; a mismatch or an unknown invoice is ours to review.
        Answer::new(StatusCode::OK, "application/json", r#"{"received":true}"#)
    }

    fn reject(&self, rejection: &Rejection) -> Answer {
        let body = match rejection {
            Rejection::Unauthenticated(_) => r#"{"error":"signature verification failed"}"#,
            Rejection::Malformed(_) => r#"{"error":"malformed event"}"#,
        };
        Answer::new(StatusCode::BAD_REQUEST, "application/json", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kopecks;
    use http::HeaderMap;

    const SECRET: &str = "whsec_test_secret";
    const T: i64 = 1_700_000_000;

    fn checkout_body() -> Vec<u8> {
        serde_json::json!({
            "id": "evt_1",
            "type": "checkout.session.completed",
            "data": {"object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "amount_total": 120_000,
                "currency": "rub",
                "payment_status": "paid",
                "payment_intent": "pi_1",
                "metadata": {"invoice_id": "0190-inv"}
            }}
        })
        .to_string()
        .into_bytes()
    }

    /// The expected header built step by step with the hmac crate, independent of the adapter.
    fn header_for(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn verify_with(headers: &HeaderMap, body: &[u8], now: i64) -> Result<Verified, Rejection> {
        let stripe = Stripe::new(SECRET.into(), 300);
        stripe.verify(&RawCallback::post(headers, body, now))
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("Stripe-Signature", value.parse().unwrap());
        h
    }

    #[test]
    fn known_answer_precomputed() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec_test_secret",
        //   b"1700000000.{\"id\":\"evt_1\"}",hashlib.sha256).hexdigest())'
        let body = br#"{"id":"evt_1"}"#;
        let header = "t=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";
        assert_eq!(header_for(SECRET, T, body), header);
        assert_eq!(verify_with(&headers(header), body, T), Err(malformed("no event type")));
        let body = br#"{"type":"ping"}"#;
        assert_eq!(
            verify_with(&headers(&header_for(SECRET, T, body)), body, T).unwrap(),
            Verified::Ignored("stripe event ping".into())
        );
    }

    #[test]
    fn checkout_session_completed() {
        let body = checkout_body();
        let got = verify_with(&headers(&header_for(SECRET, T, &body)), &body, T + 299).unwrap();
        assert_eq!(
            got,
            Verified::Notice(PaymentNotice {
                provider: "stripe",
                payment_id: "pi_1".into(),
                invoice: InvoiceRef::Id("0190-inv".into()),
                amount: Kopecks(120_000),
                currency: "RUB".into(),
                succeeded: true,
            })
        );
    }

    #[test]
    fn any_v1_matches_and_header_name_is_case_insensitive() {
        let body = checkout_body();
        let good = header_for(SECRET, T, &body);
        let v1 = good.split_once(",v1=").unwrap().1;
        let value = format!("t={T},v1={},v0=abc,v1={v1}", "00".repeat(32));
        let mut h = HeaderMap::new();
        h.insert("STRIPE-SIGNATURE", value.parse().unwrap());
        assert!(matches!(verify_with(&h, &body, T), Ok(Verified::Notice(_))));
    }

    #[test]
    fn payment_intent_succeeded_and_unpaid_checkout() {
        let body = serde_json::json!({
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_9", "amount_received": 50, "currency": "usd", "status": "succeeded",
                "metadata": {"invoice_id": "inv-9"}}}
        })
        .to_string();
        let Verified::Notice(n) =
            verify_with(&headers(&header_for(SECRET, T, body.as_bytes())), body.as_bytes(), T).unwrap()
        else {
            panic!("notice expected")
        };
        assert_eq!(
            (n.payment_id.as_str(), n.amount, n.currency.as_str(), n.succeeded),
            ("pi_9", Kopecks(50), "USD", true)
        );

        let body = String::from_utf8(checkout_body())
            .unwrap()
            .replace(r#""paid""#, r#""unpaid""#);
        let body = body.replace(r#""payment_intent":"pi_1""#, r#""payment_intent":null"#);
        let Verified::Notice(n) =
            verify_with(&headers(&header_for(SECRET, T, body.as_bytes())), body.as_bytes(), T).unwrap()
        else {
            panic!("notice expected")
        };
        assert!(!n.succeeded);
        assert_eq!(n.payment_id, "cs_test_1");
    }

    #[test]
    fn other_events_are_ignored() {
        let body = br#"{"type":"customer.created","data":{"object":{}}}"#;
        assert_eq!(
            verify_with(&headers(&header_for(SECRET, T, body)), body, T).unwrap(),
            Verified::Ignored("stripe event customer.created".into())
        );
    }

    #[test]
    fn refusals() {
        let body = checkout_body();
        let unauth = |r: Result<Verified, Rejection>| assert!(matches!(r, Err(Rejection::Unauthenticated(_))), "{r:?}");
        let good = header_for(SECRET, T, &body);
        // Forged signature, tampered body, wrong secret (also without the whsec_ prefix).
        unauth(verify_with(
            &headers(&format!("t={T},v1={}", "ab".repeat(32))),
            &body,
            T,
        ));
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        unauth(verify_with(&headers(&good), &tampered, T));
        unauth(verify_with(&headers(&header_for("whsec_other", T, &body)), &body, T));
        unauth(verify_with(&headers(&header_for("test_secret", T, &body)), &body, T));
        // Stale or future timestamps.
        unauth(verify_with(&headers(&good), &body, T + 301));
        unauth(verify_with(&headers(&good), &body, T - 301));
        unauth(verify_with(&headers(&good), &body, i64::MIN));
        // Missing or broken header.
        unauth(verify_with(&HeaderMap::new(), &body, T));
        unauth(verify_with(&headers(&format!("t={T}")), &body, T));
        unauth(verify_with(&headers("v1=00"), &body, T));
        unauth(verify_with(
            &headers(&format!("t=x,{}", good.split_once(',').unwrap().1)),
            &body,
            T,
        ));
        unauth(verify_with(&headers(&format!("{good},t={T}")), &body, T));
        // Authentic but unreadable.
        let malformed = |body: &[u8]| {
            let r = verify_with(&headers(&header_for(SECRET, T, body)), body, T);
            assert!(matches!(r, Err(Rejection::Malformed(_))), "{r:?}");
        };
        malformed(b"not json");
        malformed(b"\xff\xfe");
        // A payment made outside autobill (no invoice of ours in its metadata) is acknowledged
        // and ignored, not refused: refusing it would make Stripe retry it for days.
        let foreign = br#"{"type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount_received":1,"currency":"rub"}}}"#;
        let r = verify_with(&headers(&header_for(SECRET, T, foreign)), foreign, T);
        assert!(matches!(r, Ok(Verified::Ignored(_))), "{r:?}");
        malformed(br#"{"type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount_received":1.5,"currency":"rub","metadata":{"invoice_id":"x"}}}}"#);
        malformed(br#"{"type":"checkout.session.completed","data":{}}"#);
    }

    #[test]
    fn answers_and_debug() {
        let stripe = Stripe::new(SECRET.into(), 300);
        let a = stripe.answer(Handled::Mismatch, None);
        assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, r#"{"received":true}"#));
        let r = stripe.reject(&Rejection::Unauthenticated("x".into()));
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(serde_json::from_str::<Value>(&r.body).unwrap()["error"].is_string());
        assert!(!format!("{stripe:?}").contains("test_secret"));
    }
}
