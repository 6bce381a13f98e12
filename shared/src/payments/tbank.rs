//! T-Bank (Tinkoff) acquiring notifications: a JSON body whose `Token` is the lowercase hex
//! SHA-256 of the values of all root-level scalar fields except `Token` (nested objects and arrays
//! excluded), plus `Password` = the terminal password, sorted by key name and concatenated.

use super::decimal::{ct_eq, minor_units, scalar_text};
use super::{Answer, Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use http::StatusCode;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

pub struct TBank {
    terminal_key: String,
    password: String,
}

impl TBank {
    pub fn new(terminal_key: String, password: String) -> Self {
        TBank { terminal_key, password }
    }
}

impl fmt::Debug for TBank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TBank")
            .field("terminal_key", &self.terminal_key)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// SHA-256 of the sorted scalar values with our password as `Password`. Nulls count as absent
/// (as an empty string would in T-Bank's PHP SDK).
fn token(fields: &Map<String, Value>, password: &str) -> [u8; 32] {
    let mut values: BTreeMap<&str, String> = fields
        .iter()
        .filter(|(key, _)| key.as_str() != "Token")
        .filter_map(|(key, value)| scalar_text(value).map(|text| (key.as_str(), text)))
        .collect();
    // Ours, whatever the body says.
    values.insert("Password", password.to_owned());
    let mut hasher = Sha256::new();
    for value in values.values() {
        hasher.update(value.as_bytes());
    }
    hasher.finalize().into()
}

fn malformed(why: &str) -> Rejection {
    Rejection::Malformed(why.to_owned())
}

impl Provider for TBank {
    fn name(&self) -> &'static str {
        "tbank"
    }

    fn verify(&self, callback: &RawCallback<'_>) -> Result<Verified, Rejection> {
        let unauthenticated = |why: &str| Rejection::Unauthenticated(why.to_owned());
        // The token lives inside the body: it has to be read as JSON first.
        let fields = match serde_json::from_slice(callback.body) {
            Ok(Value::Object(fields)) => fields,
            _ => return Err(malformed("body is not a JSON object")),
        };
        let given = fields
            .get("Token")
            .and_then(Value::as_str)
            .ok_or_else(|| unauthenticated("no Token"))?;
        let given = hex::decode(given).map_err(|_| unauthenticated("Token is not hex"))?;
        if !ct_eq(&given, &token(&fields, &self.password)) {
            return Err(unauthenticated("Token mismatch"));
        }
        if fields.get("TerminalKey").and_then(Value::as_str) != Some(self.terminal_key.as_str()) {
            return Err(unauthenticated("another terminal"));
        }

        let text = |key: &str| fields.get(key).and_then(scalar_text).filter(|t| !t.is_empty());
        let status = text("Status").ok_or_else(|| malformed("no Status"))?;
        let success = match fields.get("Success") {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) => false,
            Some(_) => return Err(malformed("Success is not a boolean")),
        };
        Ok(Verified::Notice(PaymentNotice {
            provider: "tbank",
            payment_id: text("PaymentId").ok_or_else(|| malformed("no PaymentId"))?,
            invoice: InvoiceRef::Id(text("OrderId").ok_or_else(|| malformed("no OrderId"))?),
            amount: fields
                .get("Amount")
                .and_then(minor_units)
                .ok_or_else(|| malformed("Amount is not kopecks"))?,
            currency: "RUB".to_owned(),
            succeeded: status == "CONFIRMED" && success,
        }))
    }

    fn answer(&self, _handled: Handled, _notice: Option<&PaymentNotice>) -> Answer {
        // Exactly `OK`, or T-Bank keeps retrying.
        Answer::new(StatusCode::OK, "text/plain", "OK")
    }

    fn reject(&self, _rejection: &Rejection) -> Answer {
        Answer::new(StatusCode::BAD_REQUEST, "text/plain", "ERROR")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kopecks;
    use http::HeaderMap;

    const TERMINAL: &str = "1321054611234DEMO";
    const PASSWORD: &str = "Dfsfh56dgKl";

    fn verify_with(body: &[u8]) -> Result<Verified, Rejection> {
        let headers = HeaderMap::new();
        TBank::new(TERMINAL.into(), PASSWORD.into()).verify(&RawCallback::post(&headers, body, 0))
    }

    /// The notification with `token` in place.
    fn body(status: &str, success: bool, token: &str) -> String {
        format!(
            r#"{{"TerminalKey":"{TERMINAL}","OrderId":"inv-1","Success":{success},"Status":"{status}","PaymentId":8742591,"ErrorCode":"0","Amount":120050,"CardId":322264,"Pan":"430000******0777","ExpDate":"1122","Data":{{"Phone":"+7"}},"Items":[1,2],"Token":"{token}"}}"#
        )
    }

    /// By hand, keys sorted: Amount CardId Data(skip) ErrorCode ExpDate Items(skip) OrderId Pan
    /// Password PaymentId Status Success TerminalKey.
    fn concatenation(status: &str, success: bool) -> String {
        format!("12005032226401122inv-1430000******0777{PASSWORD}8742591{status}{success}{TERMINAL}")
    }

    fn sha256_hex(s: &str) -> String {
        hex::encode(Sha256::digest(s.as_bytes()))
    }

    #[test]
    fn known_answer() {
        let concat = concatenation("CONFIRMED", true);
        assert_eq!(
            concat,
            "12005032226401122inv-1430000******0777Dfsfh56dgKl8742591CONFIRMEDtrue1321054611234DEMO"
        );
        // python3 -c 'import hashlib;print(hashlib.sha256(b"12005032226401122inv-1430000******0777
        //   Dfsfh56dgKl8742591CONFIRMEDtrue1321054611234DEMO").hexdigest())'
        assert_eq!(sha256_hex(&concat), PRECOMPUTED);
        assert_eq!(
            verify_with(body("CONFIRMED", true, PRECOMPUTED).as_bytes()).unwrap(),
            Verified::Notice(PaymentNotice {
                provider: "tbank",
                payment_id: "8742591".into(),
                invoice: InvoiceRef::Id("inv-1".into()),
                amount: Kopecks(120_050),
                currency: "RUB".into(),
                succeeded: true,
            })
        );
        // Upper-case hex is the same digest.
        assert!(verify_with(body("CONFIRMED", true, &PRECOMPUTED.to_uppercase()).as_bytes()).is_ok());
    }

    const PRECOMPUTED: &str = "c9d68a9bd88c75bb37b6689759ce2fbd16c5e11edb9e6e144f07607fd4b245cc";

    #[test]
    fn statuses_and_id_shapes() {
        for (status, success, succeeded) in [
            ("CONFIRMED", true, true),
            ("CONFIRMED", false, false),
            ("AUTHORIZED", true, false),
            ("REJECTED", false, false),
            ("REFUNDED", true, false),
        ] {
            let token = sha256_hex(&concatenation(status, success));
            let Verified::Notice(n) = verify_with(body(status, success, &token).as_bytes()).unwrap() else {
                panic!("notice expected");
            };
            assert_eq!(n.succeeded, succeeded, "{status} {success}");
        }
        // PaymentId as a string, Amount as a digit string, a null field, a float.
        let fields = r#""Amount":"500","OrderId":"o-2","PaymentId":"pay-7","Status":"CONFIRMED","Success":true,"TerminalKey":"1321054611234DEMO","Fee":null,"Rate":1.5"#;
        let concat = format!("500o-2{PASSWORD}pay-71.5CONFIRMEDtrue{TERMINAL}");
        let json = format!(r#"{{{fields},"Token":"{}"}}"#, sha256_hex(&concat));
        let Verified::Notice(n) = verify_with(json.as_bytes()).unwrap() else {
            panic!("notice expected")
        };
        assert_eq!(
            (n.payment_id.as_str(), n.amount, n.succeeded),
            ("pay-7", Kopecks(500), true)
        );
    }

    #[test]
    fn refusals() {
        let good = sha256_hex(&concatenation("CONFIRMED", true));
        let unauth = |body: &str| {
            let r = verify_with(body.as_bytes());
            assert!(matches!(r, Err(Rejection::Unauthenticated(_))), "{r:?}");
        };
        unauth(&body("CONFIRMED", true, &"0".repeat(64)));
        unauth(&body("CONFIRMED", true, &good).replace("120050", "120051"));
        unauth(&body("CONFIRMED", true, &good).replace(r#""Status":"CONFIRMED""#, r#""Status":"CONFIRMED ""#));
        unauth(&body("CONFIRMED", true, &good[..62]));
        unauth(&body("CONFIRMED", true, "not hex"));
        unauth(&body("CONFIRMED", true, &good).replace(r#","Token""#, r#","Other""#));
        // Wrong password.
        let wrong = concatenation("CONFIRMED", true).replace(PASSWORD, "guess");
        unauth(&body("CONFIRMED", true, &sha256_hex(&wrong)));
        // A body field named Password does not replace ours: a token made with it fails, and the
        // field is simply left out of the string (ours takes its place).
        let with_x = concatenation("CONFIRMED", true).replace(PASSWORD, "x");
        unauth(&body("CONFIRMED", true, &sha256_hex(&with_x)).replace(r#""Token""#, r#""Password":"x","Token""#));
        let injected = body("CONFIRMED", true, &good).replace(r#""Token""#, r#""Password":"x","Token""#);
        assert!(verify_with(injected.as_bytes()).is_ok());
        // Right token, another terminal.
        let other = concatenation("CONFIRMED", true).replace(TERMINAL, "OTHER");
        unauth(&body("CONFIRMED", true, &sha256_hex(&other)).replace(TERMINAL, "OTHER"));

        let malformed = |body: &[u8]| {
            let r = verify_with(body);
            assert!(matches!(r, Err(Rejection::Malformed(_))), "{r:?}");
        };
        malformed(b"");
        malformed(b"\xff");
        malformed(b"[]");
        malformed(b"OK");
        // Authentic, but the amount is not kopecks.
        let fields = r#""Amount":12.5,"OrderId":"o","PaymentId":1,"Status":"CONFIRMED","Success":true,"TerminalKey":"1321054611234DEMO""#;
        let token = sha256_hex(&format!("12.5o{PASSWORD}1CONFIRMEDtrue{TERMINAL}"));
        malformed(format!(r#"{{{fields},"Token":"{token}"}}"#).as_bytes());
    }

    #[test]
    fn answers_and_debug() {
        let t = TBank::new(TERMINAL.into(), PASSWORD.into());
        assert_eq!(
            t.answer(Handled::Mismatch, None),
            Answer::new(StatusCode::OK, "text/plain", "OK")
        );
        assert_eq!(
            t.reject(&Rejection::Malformed(String::new())),
            Answer::new(StatusCode::BAD_REQUEST, "text/plain", "ERROR")
        );
        assert!(!format!("{t:?}").contains(PASSWORD));
    }
}
