//! Robokassa ResultURL: parameters in the query string (GET) or a form body (POST).
//! `SignatureValue` = hex hash of `OutSum:InvId:Password2[:Shp_key=value…]`, the `Shp_` parameters
//! sorted by name, over the raw (URL-decoded) `OutSum` text; MD5 unless configured otherwise.
//! ResultURL is only called for a completed payment. `InvId` is our invoice number as `YYYYNNNNNN`.

use super::decimal::{ct_eq, parse_form, to_kopecks};
use super::{Answer, Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use crate::domain::InvoiceNumber;
use http::{Method, StatusCode};
use md5::Md5;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::fmt;

/// The shop's "hash calculation algorithm" setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HashAlg {
    #[default]
    Md5,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// Lowercase hex digest.
    pub fn hex(self, data: &[u8]) -> String {
        match self {
            HashAlg::Md5 => hex::encode(Md5::digest(data)),
            HashAlg::Sha256 => hex::encode(Sha256::digest(data)),
            HashAlg::Sha384 => hex::encode(Sha384::digest(data)),
            HashAlg::Sha512 => hex::encode(Sha512::digest(data)),
        }
    }
}

pub struct Robokassa {
    password2: String,
    algorithm: HashAlg,
    prefix: String,
}

impl Robokassa {
    /// `password2`: the shop's "Password #2" (ResultURL); `prefix`: the seller's invoice number
    /// prefix, which `InvId` (`YYYYNNNNNN`) cannot carry.
    pub fn new(password2: String, algorithm: HashAlg, prefix: String) -> Self {
        Robokassa {
            password2,
            algorithm,
            prefix,
        }
    }

    /// The `InvId` for one of our invoice numbers: `{year}{seq:06}`. `None` for another prefix or
    /// numbers that do not fit (a four-digit year, a six-digit sequence).
    pub fn inv_id(&self, number: &InvoiceNumber) -> Option<u64> {
        let year = u64::try_from(number.year).ok().filter(|y| (1000..=9999).contains(y))?;
        (number.prefix == self.prefix && number.seq < 1_000_000).then(|| year * 1_000_000 + number.seq)
    }

    /// Our invoice number for a notice's [`InvoiceRef::Number`].
    pub fn invoice_number(&self, invoice: &InvoiceRef) -> Option<InvoiceNumber> {
        match invoice {
            InvoiceRef::Number { year, seq } => Some(InvoiceNumber {
                prefix: self.prefix.clone(),
                year: *year,
                seq: *seq,
            }),
            InvoiceRef::Id(_) => None,
        }
    }
}

impl fmt::Debug for Robokassa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Robokassa")
            .field("password2", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn malformed(why: &str) -> Rejection {
    Rejection::Malformed(why.to_owned())
}

/// `YYYYNNNNNN`: the first four digits the year, the rest the sequence.
fn parse_inv_id(inv_id: &str) -> Option<InvoiceRef> {
    if inv_id.len() < 5 || !inv_id.bytes().all(|b| b.is_ascii_digit()) || inv_id.starts_with('0') {
        return None;
    }
    let (year, seq) = inv_id.split_at(4);
    Some(InvoiceRef::Number {
        year: year.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

impl Provider for Robokassa {
    fn name(&self) -> &'static str {
        "robokassa"
    }

    fn verify(&self, callback: &RawCallback<'_>) -> Result<Verified, Rejection> {
        let source =
            if *callback.method == Method::GET || (*callback.method == Method::POST && callback.body.is_empty()) {
                callback.query
            } else if *callback.method == Method::POST {
                std::str::from_utf8(callback.body).map_err(|_| malformed("body is not UTF-8"))?
            } else {
                return Err(malformed("GET or POST expected"));
            };
        let params = parse_form(source).map_err(Rejection::Malformed)?;
        let out_sum = params.get("OutSum").ok_or_else(|| malformed("no OutSum"))?;
        let inv_id = params.get("InvId").ok_or_else(|| malformed("no InvId"))?;
        let given = params
            .get("SignatureValue")
            .ok_or_else(|| Rejection::Unauthenticated("no SignatureValue".into()))?;

        // BTreeMap: the Shp_ parameters come out sorted by name.
        let mut signed = format!("{out_sum}:{inv_id}:{}", self.password2);
        for (name, value) in &params {
            if name.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("shp_")) {
                signed.push_str(&format!(":{name}={value}"));
            }
        }
        let expected = self.algorithm.hex(signed.as_bytes());
        if !ct_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
            return Err(Rejection::Unauthenticated("signature mismatch".into()));
        }

        Ok(Verified::Notice(PaymentNotice {
            provider: "robokassa",
            payment_id: inv_id.clone(),
            invoice: parse_inv_id(inv_id).ok_or_else(|| malformed("InvId is not YYYYNNNNNN"))?,
            amount: to_kopecks(out_sum).ok_or_else(|| malformed("OutSum is not an exact decimal"))?,
            currency: "RUB".to_owned(),
            succeeded: true,
        }))
    }

    fn answer(&self, handled: Handled, notice: Option<&PaymentNotice>) -> Answer {
        match handled {
            Handled::UnknownInvoice => Answer::new(StatusCode::BAD_REQUEST, "text/plain", "unknown InvId"),
            _ => {
                let inv_id = notice.map_or("", |n| n.payment_id.as_str());
                Answer::new(StatusCode::OK, "text/plain", format!("OK{inv_id}"))
            }
        }
    }

    fn reject(&self, _rejection: &Rejection) -> Answer {
        Answer::new(StatusCode::BAD_REQUEST, "text/plain", "bad sign")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kopecks;
    use http::HeaderMap;

    const PASSWORD2: &str = "pass2_secret";

    fn verify_with(alg: HashAlg, method: &Method, query: &str, body: &[u8]) -> Result<Verified, Rejection> {
        let headers = HeaderMap::new();
        Robokassa::new(PASSWORD2.into(), alg, "АБ-".into()).verify(&RawCallback {
            method,
            headers: &headers,
            query,
            body,
            source_ip: None,
            now: 0,
        })
    }

    fn notice(amount: i64) -> Verified {
        Verified::Notice(PaymentNotice {
            provider: "robokassa",
            payment_id: "2026000123".into(),
            invoice: InvoiceRef::Number { year: 2026, seq: 123 },
            amount: Kopecks(amount),
            currency: "RUB".into(),
            succeeded: true,
        })
    }

    #[test]
    fn known_answer_md5() {
        // By hand: raw OutSum, Shp_ sorted by name (Shp_a before Shp_b), URL-decoded values.
        let signed = "10.000000:2026000123:pass2_secret:Shp_a=x y:Shp_b=2";
        let sig = hex::encode(Md5::digest(signed.as_bytes()));
        // python3 -c 'import hashlib;print(hashlib.md5(b"10.000000:2026000123:pass2_secret:Shp_a=x y:Shp_b=2").hexdigest())'
        assert_eq!(sig, PRECOMPUTED_MD5);
        let query =
            format!("OutSum=10.000000&InvId=2026000123&Shp_b=2&SignatureValue={sig}&Shp_a=x+y&EMail=a%40b.ru&IsTest=1");
        assert_eq!(
            verify_with(HashAlg::Md5, &Method::GET, &query, b"").unwrap(),
            notice(1_000)
        );
        // Upper-case hex, as Robokassa sends it, and a POST form body.
        let body = query.replace(&sig, &sig.to_uppercase());
        assert_eq!(
            verify_with(HashAlg::Md5, &Method::POST, "", body.as_bytes()).unwrap(),
            notice(1_000)
        );
    }

    const PRECOMPUTED_MD5: &str = "4947a7d2d85b10f951e7d82374c4cb1c";
    const PRECOMPUTED_SHA256: &str = "1e7e7c6e22410248de5fcd87b6aa9ab4a9f250214c793cea790cbc9b2a27b2e1";

    #[test]
    fn known_answer_sha256_without_shp() {
        let signed = "1200.50:2026000123:pass2_secret";
        let sig = hex::encode(Sha256::digest(signed.as_bytes()));
        // python3 -c 'import hashlib;print(hashlib.sha256(b"1200.50:2026000123:pass2_secret").hexdigest())'
        assert_eq!(sig, PRECOMPUTED_SHA256);
        let body = format!("OutSum=1200.50&InvId=2026000123&SignatureValue={sig}");
        assert_eq!(
            verify_with(HashAlg::Sha256, &Method::POST, "", body.as_bytes()).unwrap(),
            notice(120_050)
        );
        // The same signature is not an MD5 one.
        let r = verify_with(HashAlg::Md5, &Method::POST, "", body.as_bytes());
        assert!(matches!(r, Err(Rejection::Unauthenticated(_))));
    }

    fn md5_query(out_sum: &str, inv_id: &str) -> String {
        let sig = hex::encode(Md5::digest(format!("{out_sum}:{inv_id}:{PASSWORD2}").as_bytes()));
        format!("OutSum={out_sum}&InvId={inv_id}&SignatureValue={sig}")
    }

    #[test]
    fn inv_id_mapping() {
        let got = verify_with(HashAlg::Md5, &Method::GET, &md5_query("1", "20261"), b"").unwrap();
        let Verified::Notice(n) = got else {
            panic!("notice expected")
        };
        assert_eq!(
            (n.invoice, n.payment_id.as_str(), n.amount),
            (InvoiceRef::Number { year: 2026, seq: 1 }, "20261", Kopecks(100))
        );

        let r = Robokassa::new(PASSWORD2.into(), HashAlg::Md5, "АБ-".into());
        let number = InvoiceNumber {
            prefix: "АБ-".into(),
            year: 2026,
            seq: 123,
        };
        assert_eq!(r.inv_id(&number), Some(2_026_000_123));
        assert_eq!(
            r.invoice_number(&InvoiceRef::Number { year: 2026, seq: 123 }),
            Some(number.clone())
        );
        assert_eq!(
            r.inv_id(&InvoiceNumber {
                prefix: String::new(),
                ..number.clone()
            }),
            None
        );
        assert_eq!(
            r.inv_id(&InvoiceNumber {
                seq: 1_000_000,
                ..number
            }),
            None
        );
    }

    #[test]
    fn refusals() {
        let good = md5_query("10.00", "2026000123");
        let unauth = |method: &Method, query: &str, body: &str| {
            let r = verify_with(HashAlg::Md5, method, query, body.as_bytes());
            assert!(matches!(r, Err(Rejection::Unauthenticated(_))), "{query} {body}: {r:?}");
        };
        unauth(&Method::GET, &good.replace("OutSum=10.00", "OutSum=10.01"), "");
        unauth(&Method::GET, &good.replace("OutSum=10.00", "OutSum=10.000"), "");
        unauth(&Method::GET, &good.replace("InvId=2026000123", "InvId=2026000124"), "");
        unauth(&Method::GET, &format!("{good}&Shp_x=1"), "");
        unauth(&Method::GET, &format!("{good}&shp_x=1"), "");
        unauth(&Method::GET, &good.replace("SignatureValue=", "SignatureValue=0"), "");
        unauth(&Method::GET, &good.replace("SignatureValue=", "Other="), "");
        unauth(&Method::POST, "", &good.replace("SignatureValue=", "SignatureValue=00"));
        let wrong = hex::encode(Md5::digest(b"10.00:2026000123:guess"));
        unauth(
            &Method::GET,
            &format!("OutSum=10.00&InvId=2026000123&SignatureValue={wrong}"),
            "",
        );
        // A SHA-256 signature while MD5 is configured.
        let sha = hex::encode(Sha256::digest(b"10.00:2026000123:pass2_secret"));
        unauth(
            &Method::GET,
            &format!("OutSum=10.00&InvId=2026000123&SignatureValue={sha}"),
            "",
        );

        let malformed = |method: &Method, query: &str, body: &[u8]| {
            let r = verify_with(HashAlg::Md5, method, query, body);
            assert!(matches!(r, Err(Rejection::Malformed(_))), "{query}: {r:?}");
        };
        malformed(&Method::GET, &md5_query("10.00", "2026"), b"");
        malformed(&Method::GET, &md5_query("10.00", "0202612"), b"");
        malformed(&Method::GET, &md5_query("10.00", "2026-1"), b"");
        malformed(&Method::GET, &md5_query("10.005", "2026000123"), b"");
        malformed(&Method::GET, &md5_query("-1", "2026000123"), b"");
        malformed(&Method::GET, &md5_query("1e3", "2026000123"), b"");
        malformed(&Method::GET, "InvId=2026000123&SignatureValue=00", b"");
        malformed(&Method::GET, &format!("{good}&InvId=2026000123"), b"");
        malformed(&Method::POST, "", b"OutSum=\xff");
        malformed(&Method::POST, "", b"OutSum=%FF");
        malformed(&Method::PUT, &good, b"");
    }

    #[test]
    fn answers_and_debug() {
        let r = Robokassa::new(PASSWORD2.into(), HashAlg::default(), String::new());
        let Verified::Notice(n) = notice(100) else {
            unreachable!()
        };
        assert_eq!(
            r.answer(Handled::Paid, Some(&n)),
            Answer::new(StatusCode::OK, "text/plain", "OK2026000123")
        );
        assert_eq!(r.answer(Handled::Duplicate, Some(&n)).body, "OK2026000123");
        assert_eq!(r.answer(Handled::Mismatch, Some(&n)).body, "OK2026000123");
        assert_eq!(
            r.answer(Handled::UnknownInvoice, Some(&n)),
            Answer::new(StatusCode::BAD_REQUEST, "text/plain", "unknown InvId")
        );
        assert_eq!(
            r.reject(&Rejection::Unauthenticated(String::new())),
            Answer::new(StatusCode::BAD_REQUEST, "text/plain", "bad sign")
        );
        assert!(!format!("{r:?}").contains(PASSWORD2));
    }
}
