//! CloudPayments notifications: header `Content-HMAC` = base64(HMAC-SHA256(key = API secret,
//! msg = raw body)). The body is form-urlencoded by default, JSON when the notification is set up
//! so (`Content-Type: application/json`). Point only the Pay (and Confirm) notifications here,
//! never Check: a Check request carries the same fields before any money moves.

use super::decimal::{parse_form, raw_text, to_kopecks};
use super::{Answer, Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;

pub const SIGNATURE_HEADER: &str = "content-hmac";

pub struct CloudPayments {
    api_secret: String,
}

impl CloudPayments {
    /// `api_secret`: the site's "API Secret" (API password) from the CloudPayments back office.
    pub fn new(api_secret: String) -> Self {
        CloudPayments { api_secret }
    }
}

impl fmt::Debug for CloudPayments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudPayments")
            .field("api_secret", &"<redacted>")
            .finish()
    }
}

fn malformed(why: &str) -> Rejection {
    Rejection::Malformed(why.to_owned())
}

/// The notification's fields, from either body format.
enum Fields {
    Form(BTreeMap<String, String>),
    /// Raw JSON values: amounts keep the exact text they were sent with.
    Json(BTreeMap<String, Box<serde_json::value::RawValue>>),
}

impl Fields {
    /// A non-empty textual value; JSON numbers keep their JSON text.
    fn text(&self, key: &str) -> Option<String> {
        let value = match self {
            Fields::Form(f) => f.get(key).cloned(),
            Fields::Json(j) => j.get(key).and_then(|v| raw_text(v)),
        };
        value.filter(|v| !v.is_empty())
    }

    fn amount(&self) -> Option<crate::domain::Kopecks> {
        match self {
            Fields::Form(f) => f.get("Amount").and_then(|a| to_kopecks(a)),
            Fields::Json(j) => j.get("Amount").and_then(|v| raw_text(v)).and_then(|a| to_kopecks(&a)),
        }
    }
}

fn is_json(callback: &RawCallback<'_>) -> bool {
    let content_type = callback
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case("application/json")
}

impl Provider for CloudPayments {
    fn name(&self) -> &'static str {
        "cloudpayments"
    }

    fn verify(&self, callback: &RawCallback<'_>) -> Result<Verified, Rejection> {
        let unauthenticated = |why: &str| Rejection::Unauthenticated(why.to_owned());
        let header = callback
            .headers
            .get(SIGNATURE_HEADER)
            .ok_or_else(|| unauthenticated("missing Content-HMAC"))?;
        let signature = STANDARD
            .decode(header.as_bytes())
            .map_err(|_| unauthenticated("Content-HMAC is not base64"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.api_secret.as_bytes()).expect("HMAC takes any key");
        mac.update(callback.body);
        mac.verify_slice(&signature)
            .map_err(|_| unauthenticated("signature mismatch"))?;

        let fields = if is_json(callback) {
            match serde_json::from_slice(callback.body) {
                Ok(map) => Fields::Json(map),
                Err(_) => return Err(malformed("body is not a JSON object")),
            }
        } else {
            let body = std::str::from_utf8(callback.body).map_err(|_| malformed("body is not UTF-8"))?;
            Fields::Form(parse_form(body).map_err(Rejection::Malformed)?)
        };

        // Refunds and payouts share the field names (and `Status=Completed`): not payments.
        let operation = fields
            .text("OperationType")
            .ok_or_else(|| malformed("no OperationType"))?;
        if operation != "Payment" {
            return Ok(Verified::Ignored(format!("cloudpayments operation {operation}")));
        }
        // A Fail notification carries a non-zero ReasonCode.
        let declined = fields.text("ReasonCode").is_some_and(|code| code != "0");
        Ok(Verified::Notice(PaymentNotice {
            provider: "cloudpayments",
            payment_id: fields
                .text("TransactionId")
                .ok_or_else(|| malformed("no TransactionId"))?,
            invoice: InvoiceRef::Id(fields.text("InvoiceId").ok_or_else(|| malformed("no InvoiceId"))?),
            amount: fields
                .amount()
                .ok_or_else(|| malformed("Amount is not an exact decimal"))?,
            currency: fields
                .text("Currency")
                .ok_or_else(|| malformed("no Currency"))?
                .to_ascii_uppercase(),
            succeeded: fields.text("Status").as_deref() == Some("Completed") && !declined,
        }))
    }

    fn answer(&self, handled: Handled, _notice: Option<&PaymentNotice>) -> Answer {
        let body = match handled {
            Handled::Paid | Handled::Duplicate | Handled::Ignored => r#"{"code":0}"#,
            Handled::UnknownInvoice => r#"{"code":10}"#,
            Handled::Mismatch => r#"{"code":12}"#,
        };
        Answer::new(StatusCode::OK, "application/json", body)
    }

    fn reject(&self, rejection: &Rejection) -> Answer {
        let status = match rejection {
            Rejection::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Rejection::Malformed(_) => StatusCode::OK,
        };
        Answer::new(status, "application/json", r#"{"code":13}"#)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kopecks;
    use http::HeaderMap;

    const SECRET: &str = "cp_api_secret";
    const FORM: &[u8] = b"TransactionId=1504&Amount=1200.00&Currency=RUB&PaymentAmount=1200.00&PaymentCurrency=RUB\
&DateTime=2026-01-05+10%3A00%3A00&InvoiceId=inv-1&AccountId=user%40example.ru&Status=Completed\
&OperationType=Payment&TestMode=0&Email=user%40example.ru";

    /// base64(HMAC-SHA256(secret, body)), step by step with the hmac crate.
    fn content_hmac(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }

    fn verify_with(signature: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Result<Verified, Rejection> {
        let mut headers = HeaderMap::new();
        if let Some(sig) = signature {
            headers.insert("Content-HMAC", sig.parse().unwrap());
        }
        if let Some(ct) = content_type {
            headers.insert("Content-Type", ct.parse().unwrap());
        }
        CloudPayments::new(SECRET.into()).verify(&RawCallback::post(&headers, body, 0))
    }

    fn signed(body: &[u8], content_type: Option<&str>) -> Result<Verified, Rejection> {
        verify_with(Some(&content_hmac(SECRET, body)), content_type, body)
    }

    fn expected(amount: i64, succeeded: bool) -> Verified {
        Verified::Notice(PaymentNotice {
            provider: "cloudpayments",
            payment_id: "1504".into(),
            invoice: InvoiceRef::Id("inv-1".into()),
            amount: Kopecks(amount),
            currency: "RUB".into(),
            succeeded,
        })
    }

    #[test]
    fn known_answer_precomputed() {
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"cp_api_secret",
        //   b"TransactionId=1&Amount=1.00",hashlib.sha256).digest()).decode())'
        assert_eq!(content_hmac(SECRET, b"TransactionId=1&Amount=1.00"), PRECOMPUTED);
        let r = verify_with(Some(PRECOMPUTED), None, b"TransactionId=1&Amount=1.00");
        assert_eq!(r, Err(malformed("no OperationType")), "authentic, then read");
    }

    const PRECOMPUTED: &str = "lEybVSM03uqF/iQQxM3nHkJVpPVPmvOvSwjsrOos/2w=";

    #[test]
    fn form_pay_notification() {
        assert_eq!(
            signed(FORM, Some("application/x-www-form-urlencoded")).unwrap(),
            expected(120_000, true)
        );
        assert_eq!(signed(FORM, None).unwrap(), expected(120_000, true));
        let authorized = String::from_utf8(FORM.to_vec())
            .unwrap()
            .replace("Completed", "Authorized");
        assert_eq!(signed(authorized.as_bytes(), None).unwrap(), expected(120_000, false));
        let odd = String::from_utf8(FORM.to_vec())
            .unwrap()
            .replace("1200.00&Currency", "10.500000&Currency");
        assert_eq!(signed(odd.as_bytes(), None).unwrap(), expected(1_050, true));
        let refund = String::from_utf8(FORM.to_vec()).unwrap().replace("=Payment", "=Refund");
        assert_eq!(
            signed(refund.as_bytes(), None).unwrap(),
            Verified::Ignored("cloudpayments operation Refund".into())
        );
    }

    #[test]
    fn json_pay_notification_with_number_amounts() {
        for (amount, kopecks) in [
            ("1200", 120_000),
            ("1200.5", 120_050),
            ("1200.50", 120_050),
            (r#""1200.00""#, 120_000),
        ] {
            let body = format!(
                r#"{{"TransactionId":1504,"Amount":{amount},"Currency":"rub","InvoiceId":"inv-1","Status":"Completed","OperationType":"Payment","TestMode":false,"Data":{{"x":1}}}}"#
            );
            for ct in ["application/json", "Application/JSON; charset=utf-8"] {
                assert_eq!(
                    signed(body.as_bytes(), Some(ct)).unwrap(),
                    expected(kopecks, true),
                    "{amount} {ct}"
                );
            }
        }
    }

    #[test]
    fn refusals() {
        let unauth = |r: Result<Verified, Rejection>| assert!(matches!(r, Err(Rejection::Unauthenticated(_))), "{r:?}");
        unauth(verify_with(Some(&STANDARD.encode([0u8; 32])), None, FORM));
        unauth(verify_with(Some(&content_hmac("other", FORM)), None, FORM));
        unauth(verify_with(Some(&content_hmac(SECRET, FORM)), None, &FORM[1..]));
        unauth(verify_with(Some("!!not base64!!"), None, FORM));
        unauth(verify_with(Some(""), None, FORM));
        unauth(verify_with(None, None, FORM));
        // The hex form of the right HMAC is not the scheme.
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(FORM);
        unauth(verify_with(Some(&hex::encode(mac.finalize().into_bytes())), None, FORM));

        let malformed = |body: &[u8], ct: Option<&str>| {
            let r = signed(body, ct);
            assert!(matches!(r, Err(Rejection::Malformed(_))), "{r:?}");
        };
        malformed(b"\xff\xfe", None);
        malformed(b"Amount=%FF", None);
        malformed(FORM, Some("application/json"));
        malformed(b"[1]", Some("application/json"));
        let form = String::from_utf8(FORM.to_vec()).unwrap();
        malformed(form.replace("1200.00&Currency", "1200.005&Currency").as_bytes(), None);
        malformed(form.replace("1200.00&Currency", "-1&Currency").as_bytes(), None);
        malformed(form.replace("1200.00&Currency", "1,5&Currency").as_bytes(), None);
        malformed(form.replace("InvoiceId=inv-1", "InvoiceId=").as_bytes(), None);
        malformed(
            form.replace("&TransactionId=1504", "")
                .replace("TransactionId=1504&", "")
                .as_bytes(),
            None,
        );
        malformed(format!("{form}&Amount=1.00").as_bytes(), None);
        malformed(
            br#"{"TransactionId":1,"Amount":1.005,"Currency":"RUB","InvoiceId":"i","OperationType":"Payment"}"#,
            Some("application/json"),
        );
    }

    #[test]
    fn answers_and_debug() {
        let cp = CloudPayments::new(SECRET.into());
        for (h, body) in [
            (Handled::Paid, r#"{"code":0}"#),
            (Handled::Duplicate, r#"{"code":0}"#),
            (Handled::Ignored, r#"{"code":0}"#),
            (Handled::UnknownInvoice, r#"{"code":10}"#),
            (Handled::Mismatch, r#"{"code":12}"#),
        ] {
            assert_eq!(
                cp.answer(h, None),
                Answer::new(StatusCode::OK, "application/json", body)
            );
        }
        assert_eq!(
            cp.reject(&Rejection::Unauthenticated(String::new())),
            Answer::new(StatusCode::UNAUTHORIZED, "application/json", r#"{"code":13}"#)
        );
        assert_eq!(
            cp.reject(&Rejection::Malformed(String::new())),
            Answer::new(StatusCode::OK, "application/json", r#"{"code":13}"#)
        );
        assert!(!format!("{cp:?}").contains(SECRET));
    }
}
