//! YooKassa: the notification body is not signed. Accept it only from YooKassa's published
//! address ranges, and act only on the payment as re-read from the API
//! (`GET /v3/payments/{id}`, see [`notice_from_api`]), never on the body.

use super::decimal::to_kopecks;
use super::{Answer, Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use http::StatusCode;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// YooKassa's published notification source addresses.
pub const PUBLISHED_RANGES: &[&str] = &[
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11",
    "77.75.156.35",
    "77.75.154.128/25",
    "2a02:5180::/32",
];

/// An IPv4 or IPv6 network: `185.71.76.0/27`, `2a02:5180::/32`, or one address without a slash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network address, host bits cleared.
    network: IpAddr,
    prefix: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid network {0:?}: expected an IP address with an optional /prefix")]
pub struct CidrError(String);

impl Cidr {
    /// The network `addr/prefix`; host bits in `addr` are cleared. `None` if the prefix is too long.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let network = match addr {
            IpAddr::V4(a) if prefix <= 32 => IpAddr::V4((u32::from(a) & mask_v4(prefix)).into()),
            IpAddr::V6(a) if prefix <= 128 => IpAddr::V6((u128::from(a) & mask_v6(prefix)).into()),
            _ => return None,
        };
        Some(Cidr { network, prefix })
    }

    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as a dual-stack
    /// socket reports IPv4 clients) count as their IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & mask_v4(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip) & mask_v6(self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix = match prefix {
            None if addr.is_ipv4() => 32,
            None => 128,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        Cidr::new(addr, prefix).ok_or_else(bad)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cidr({self})")
    }
}

#[derive(Clone, Debug)]
pub struct YooKassa {
    allowed: Vec<Cidr>,
}

impl YooKassa {
    pub fn new(allowed: Vec<Cidr>) -> Self {
        YooKassa { allowed }
    }

    /// Accepting exactly [`PUBLISHED_RANGES`].
    pub fn published() -> Self {
        let allowed = PUBLISHED_RANGES
            .iter()
            .map(|r| r.parse().expect("published ranges parse"));
        YooKassa::new(allowed.collect())
    }

    pub fn allowed(&self) -> &[Cidr] {
        &self.allowed
    }
}

fn malformed(why: &str) -> Rejection {
    Rejection::Malformed(why.to_owned())
}

/// YooKassa ids are short tokens (`2d9f5c36-000f-5000-9000-1d3b6a4a1b4c`); anything else is not
/// put into an API path.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The payment object from `GET /v3/payments/{id}`, normalised. Succeeded means
/// `status == "succeeded"` and `paid == true`. The caller checks that `payment_id` is the id it
/// asked for.
pub fn notice_from_api(json: &[u8]) -> Result<PaymentNotice, Rejection> {
    let payment: Value = serde_json::from_slice(json).map_err(|_| malformed("payment is not JSON"))?;
    let text = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let id = text(&payment, "id").ok_or_else(|| malformed("payment has no id"))?;
    let status = text(&payment, "status").ok_or_else(|| malformed("payment has no status"))?;
    let paid = payment
        .get("paid")
        .and_then(Value::as_bool)
        .ok_or_else(|| malformed("payment has no paid flag"))?;
    let amount = payment
        .get("amount")
        .ok_or_else(|| malformed("payment has no amount"))?;
    let value = amount.get("value").and_then(Value::as_str).and_then(to_kopecks);
    let invoice = payment.get("metadata").and_then(|m| text(m, "invoice_id"));
    Ok(PaymentNotice {
        provider: "yookassa",
        payment_id: id,
        invoice: InvoiceRef::Id(invoice.ok_or_else(|| malformed("payment has no metadata.invoice_id"))?),
        amount: value.ok_or_else(|| malformed("payment amount is not a decimal string"))?,
        currency: text(amount, "currency")
            .ok_or_else(|| malformed("payment has no currency"))?
            .to_ascii_uppercase(),
        succeeded: status == "succeeded" && paid,
    })
}

impl Provider for YooKassa {
    fn name(&self) -> &'static str {
        "yookassa"
    }

    fn verify(&self, callback: &RawCallback<'_>) -> Result<Verified, Rejection> {
        let ip = callback
            .source_ip
            .ok_or_else(|| Rejection::Unauthenticated("no source address".into()))?;
        if !self.allowed.iter().any(|net| net.contains(ip)) {
            return Err(Rejection::Unauthenticated(format!(
                "source address {ip} is not YooKassa's"
            )));
        }
        let body: Value = serde_json::from_slice(callback.body).map_err(|_| malformed("body is not JSON"))?;
        if body.get("type").and_then(Value::as_str) != Some("notification") {
            return Err(malformed("not a notification"));
        }
        let event = body
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("no event"))?;
        if event != "payment.succeeded" {
            // Including payment.waiting_for_capture: payments are created with capture = true.
            return Ok(Verified::Ignored(format!("yookassa event {event}")));
        }
        let id = body.get("object").and_then(|o| o.get("id")).and_then(Value::as_str);
        match id {
            Some(id) if plausible_id(id) => Ok(Verified::Fetch {
                payment_id: id.to_owned(),
            }),
            _ => Err(malformed("no usable object.id")),
        }
    }

    fn answer(&self, _handled: Handled, _notice: Option<&PaymentNotice>) -> Answer {
        Answer::new(StatusCode::OK, "application/json", "{}")
    }

    fn reject(&self, rejection: &Rejection) -> Answer {
        match rejection {
            Rejection::Unauthenticated(_) => {
                Answer::new(StatusCode::FORBIDDEN, "application/json", r#"{"error":"forbidden"}"#)
            }
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
    use http::HeaderMap;

    const BODY: &[u8] = br#"{"type":"notification","event":"payment.succeeded","object":{"id":"2d9f5c36-000f-5000-9000-1d3b6a4a1b4c","status":"succeeded","paid":true,"amount":{"value":"1234.00","currency":"RUB"},"metadata":{"invoice_id":"inv-1"}}}"#;

    fn verify_from(ip: Option<&str>, body: &[u8]) -> Result<Verified, Rejection> {
        let headers = HeaderMap::new();
        YooKassa::published().verify(&RawCallback {
            source_ip: ip.map(|ip| ip.parse().unwrap()),
            ..RawCallback::post(&headers, body, 0)
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_and_membership() {
        let net: Cidr = "185.71.76.0/27".parse().unwrap();
        assert!(net.contains(ip("185.71.76.0")));
        assert!(net.contains(ip("185.71.76.31")));
        assert!(!net.contains(ip("185.71.76.32")));
        assert!(!net.contains(ip("185.71.75.255")));
        assert!(net.contains(ip("::ffff:185.71.76.5")), "IPv4-mapped");
        assert!(!net.contains(ip("2a02:5180::1")));

        let one: Cidr = "77.75.156.11".parse().unwrap();
        assert_eq!(one.to_string(), "77.75.156.11/32");
        assert!(one.contains(ip("77.75.156.11")));
        assert!(!one.contains(ip("77.75.156.12")));

        let v6: Cidr = "2a02:5180::/32".parse().unwrap();
        assert!(v6.contains(ip("2a02:5180::1")));
        assert!(v6.contains(ip("2a02:5180:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!v6.contains(ip("2a02:5181::1")));
        assert!(!v6.contains(ip("185.71.76.1")));
        assert_eq!("2a02:5180::1".parse::<Cidr>().unwrap().prefix(), 128);

        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("2001:db8::1")));
        assert_eq!("10.1.2.3/8".parse::<Cidr>().unwrap().to_string(), "10.0.0.0/8");

        for bad in [
            "",
            "/",
            "185.71.76.0/",
            "185.71.76.0/33",
            "2a02:5180::/129",
            "185.71.76.0/+1",
            "185.71.76.0/ 27",
            " 185.71.76.0",
            "185.71.76/24",
            "185.71.76.0/27/1",
            "host.example",
            "185.71.76.0/0027",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        assert_eq!(YooKassa::published().allowed().len(), PUBLISHED_RANGES.len());
    }

    #[test]
    fn from_published_ranges() {
        let fetch = Verified::Fetch {
            payment_id: "2d9f5c36-000f-5000-9000-1d3b6a4a1b4c".into(),
        };
        for from in [
            "185.71.76.1",
            "185.71.77.30",
            "77.75.153.127",
            "77.75.156.11",
            "77.75.156.35",
            "77.75.154.200",
        ] {
            assert_eq!(verify_from(Some(from), BODY).unwrap(), fetch, "{from}");
        }
        assert_eq!(verify_from(Some("2a02:5180:0:1::10"), BODY).unwrap(), fetch);
        assert_eq!(verify_from(Some("::ffff:77.75.156.35"), BODY).unwrap(), fetch);
    }

    #[test]
    fn other_events_are_ignored() {
        for event in ["payment.waiting_for_capture", "payment.canceled", "refund.succeeded"] {
            let body = format!(r#"{{"type":"notification","event":"{event}","object":{{"id":"x"}}}}"#);
            assert_eq!(
                verify_from(Some("185.71.76.1"), body.as_bytes()).unwrap(),
                Verified::Ignored(format!("yookassa event {event}"))
            );
        }
    }

    #[test]
    fn refusals() {
        let unauth = |r: Result<Verified, Rejection>| assert!(matches!(r, Err(Rejection::Unauthenticated(_))), "{r:?}");
        unauth(verify_from(None, BODY));
        unauth(verify_from(Some("185.71.76.32"), BODY));
        unauth(verify_from(Some("77.75.156.12"), BODY));
        unauth(verify_from(Some("127.0.0.1"), BODY));
        unauth(verify_from(Some("2a02:5181::1"), BODY));
        unauth(verify_from(Some("::1"), BODY));
        unauth(verify_from(Some("::ffff:10.0.0.1"), BODY));
        // Unsigned body: the address check comes first, the body is irrelevant to it.
        unauth(verify_from(Some("10.0.0.1"), b"\xff"));

        let malformed = |body: &[u8]| {
            let r = verify_from(Some("185.71.76.1"), body);
            assert!(matches!(r, Err(Rejection::Malformed(_))), "{r:?}");
        };
        malformed(b"");
        malformed(b"\xff\xfe");
        malformed(br#"{"type":"other","event":"payment.succeeded","object":{"id":"a"}}"#);
        malformed(br#"{"type":"notification","object":{"id":"a"}}"#);
        malformed(br#"{"type":"notification","event":"payment.succeeded","object":{}}"#);
        malformed(br#"{"type":"notification","event":"payment.succeeded","object":{"id":"../refunds"}}"#);
        malformed(br#"{"type":"notification","event":"payment.succeeded","object":{"id":7}}"#);
    }

    #[test]
    fn api_payment_is_normalised() {
        let api = |status: &str, paid: bool, value: &str| {
            format!(
                r#"{{"id":"p1","status":"{status}","paid":{paid},"amount":{{"value":"{value}","currency":"rub"}},"metadata":{{"invoice_id":"inv-1"}},"test":false}}"#
            )
        };
        assert_eq!(
            notice_from_api(api("succeeded", true, "1234.00").as_bytes()).unwrap(),
            PaymentNotice {
                provider: "yookassa",
                payment_id: "p1".into(),
                invoice: InvoiceRef::Id("inv-1".into()),
                amount: Kopecks(123_400),
                currency: "RUB".into(),
                succeeded: true,
            }
        );
        assert_eq!(
            notice_from_api(api("succeeded", true, "0.5").as_bytes())
                .unwrap()
                .amount,
            Kopecks(50)
        );
        assert!(
            !notice_from_api(api("succeeded", false, "1.00").as_bytes())
                .unwrap()
                .succeeded
        );
        assert!(
            !notice_from_api(api("waiting_for_capture", true, "1.00").as_bytes())
                .unwrap()
                .succeeded
        );
        assert!(
            !notice_from_api(api("canceled", false, "1.00").as_bytes())
                .unwrap()
                .succeeded
        );

        let malformed = |json: &str| {
            let r = notice_from_api(json.as_bytes());
            assert!(matches!(r, Err(Rejection::Malformed(_))), "{json}: {r:?}");
        };
        malformed(&api("succeeded", true, "1.005"));
        malformed(&api("succeeded", true, "-1.00"));
        malformed(&api("succeeded", true, "1e3"));
        malformed(&api("succeeded", true, "1234.00").replace(r#""metadata":{"invoice_id":"inv-1"},"#, ""));
        malformed(&api("succeeded", true, "1234.00").replace(r#""value":"1234.00""#, r#""value":1234.00"#));
        malformed(&api("succeeded", true, "1234.00").replace(r#""paid":true"#, r#""paid":"true""#));
        malformed("not json");
        malformed("{}");
    }

    #[test]
    fn answers() {
        let y = YooKassa::published();
        let a = y.answer(Handled::UnknownInvoice, None);
        assert_eq!(
            (a.status, a.body.as_str(), a.content_type),
            (StatusCode::OK, "{}", "application/json")
        );
        assert_eq!(
            y.reject(&Rejection::Unauthenticated(String::new())).status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            y.reject(&Rejection::Malformed(String::new())).status,
            StatusCode::BAD_REQUEST
        );
    }
}
