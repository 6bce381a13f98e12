//! Properties over structured inputs, where generating the shape beats mutating bytes (the
//! byte-level fuzz targets are in `fuzz/`, their harnesses in `autobill::fuzzing`):
//! - every payment provider: a callback signed with the secret is accepted and read back to the
//!   same amount, invoice and payment id; any one changed byte of the body or the signature, or
//!   any changed signed field, is refused as unauthentic;
//! - exact amounts: kopecks → decimal text → kopecks, with any padding, against a model;
//! - the order form: any body never panics and fails with a 4xx; fields round-trip through both
//!   encodings; validation errors are 422 with known codes;
//! - webhook endpoints: conditions and trimmed payloads over arbitrary events and settings.
//!
//! Default case counts (256 per property); the whole file runs in a few seconds in debug.

use autobill::domain::{Kopecks, Order, OrderInput};
use autobill::fuzzing::{self, Request};
use autobill::http::body::read_order;
use autobill::payments::cloudpayments::CloudPayments;
use autobill::payments::decimal::to_kopecks;
use autobill::payments::robokassa::{HashAlg, Robokassa};
use autobill::payments::sandbox::Sandbox;
use autobill::payments::stripe::Stripe;
use autobill::payments::tbank::TBank;
use autobill::payments::yookassa::{YooKassa, notice_from_api};
use autobill::payments::{InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use autobill::webhooks::{Condition, Endpoint, Op};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

// ---------------------------------------------------------------------------------------------
// Shared helpers.

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn timestamped(secret: &str, t: i64, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(mac))
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    h
}

fn post(provider: &dyn Provider, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Verified, Rejection> {
    provider.verify(&RawCallback::post(headers, body, now))
}

fn unauthenticated(r: &Result<Verified, Rejection>) -> bool {
    matches!(r, Err(Rejection::Unauthenticated(_)))
}

fn notice(r: Result<Verified, Rejection>) -> PaymentNotice {
    match r {
        Ok(Verified::Notice(n)) => n,
        other => panic!("a notice expected, got {other:?}"),
    }
}

/// `bytes` with the byte at `at` changed by a non-zero `delta`.
fn with_byte_changed(bytes: &[u8], at: &Index, delta: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let i = at.index(out.len());
    out[i] ^= delta;
    out
}

/// `text` with one character replaced by a different visible ASCII one that is not the same
/// letter in the other case (hex signatures are case-insensitive by design).
fn with_char_changed(text: &str, at: &Index, pick: &Index) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let i = at.index(bytes.len());
    let old = bytes[i];
    let choices: Vec<u8> = (b'!'..=b'~').filter(|c| !c.eq_ignore_ascii_case(&old)).collect();
    bytes[i] = choices[pick.index(choices.len())];
    String::from_utf8(bytes).unwrap()
}

/// Money as providers write it: `1200.50`, with 0–4 extra trailing zeros (`1200.500000`).
fn decimal_text(k: i64, extra_zeros: usize) -> String {
    format!("{}{}", Kopecks(k).decimal(), "0".repeat(extra_zeros))
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,40}"
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![0..=10_000_000_i64, 0..=i64::MAX]
}

const T0: i64 = 1_700_000_000;

/// The default case count; failures are reported, not written next to the sources.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Providers.

proptest! {
    #![proptest_config(config())]
    #[test]
    fn sandbox_signed_is_read_back_and_any_change_is_refused(
        k in amount(), invoice in token(), payment in token(), currency in "[a-z]{3}",
        skew in -300_i64..=300, at in any::<Index>(), delta in 1..=255_u8, pick in any::<Index>(),
    ) {
        let sandbox = Sandbox::new(fuzzing::SANDBOX_SECRET.into(), 300);
        let body = json!({"invoice_id": invoice, "payment_id": payment, "amount": k, "currency": currency})
            .to_string().into_bytes();
        let sig = timestamped(fuzzing::SANDBOX_SECRET, T0, &body);
        let h = headers(&[("sandbox-signature", sig.as_str())]);
        let n = notice(post(&sandbox, &h, &body, T0 + skew));
        prop_assert_eq!(
            (n.amount, n.invoice, n.payment_id, n.currency),
            (Kopecks(k), InvoiceRef::Id(invoice), payment, currency.to_ascii_uppercase())
        );
        prop_assert!(unauthenticated(&post(&sandbox, &h, &with_byte_changed(&body, &at, delta), T0)));
        let forged = headers(&[("sandbox-signature", with_char_changed(&sig, &at, &pick).as_str())]);
        prop_assert!(unauthenticated(&post(&sandbox, &forged, &body, T0)));
        prop_assert!(unauthenticated(&post(&sandbox, &h, &body, T0 + 301)));
        prop_assert!(unauthenticated(&post(&sandbox, &h, &body, T0 - 301)));
    }

    #[test]
    fn stripe_signed_is_read_back_and_any_change_is_refused(
        k in amount(), invoice in token(), intent in token(), checkout in any::<bool>(),
        at in any::<Index>(), delta in 1..=255_u8, pick in any::<Index>(),
    ) {
        let stripe = Stripe::new(fuzzing::STRIPE_SECRET.into(), 300);
        let event = if checkout {
            json!({"type": "checkout.session.completed", "data": {"object": {"id": "cs_1", "amount_total": k,
                "currency": "rub", "payment_status": "paid", "payment_intent": intent,
                "metadata": {"invoice_id": invoice}}}})
        } else {
            json!({"type": "payment_intent.succeeded", "data": {"object": {"id": intent, "amount_received": k,
                "currency": "rub", "status": "succeeded", "metadata": {"invoice_id": invoice}}}})
        };
        let body = event.to_string().into_bytes();
        let sig = timestamped(fuzzing::STRIPE_SECRET, T0, &body);
        let h = headers(&[("stripe-signature", sig.as_str())]);
        let n = notice(post(&stripe, &h, &body, T0));
        prop_assert_eq!((n.amount, n.invoice, n.payment_id, n.succeeded),
            (Kopecks(k), InvoiceRef::Id(invoice), intent, true));
        prop_assert!(unauthenticated(&post(&stripe, &h, &with_byte_changed(&body, &at, delta), T0)));
        let forged = headers(&[("stripe-signature", with_char_changed(&sig, &at, &pick).as_str())]);
        prop_assert!(unauthenticated(&post(&stripe, &forged, &body, T0)));
    }

    #[test]
    fn cloudpayments_signed_is_read_back_and_any_change_is_refused(
        k in amount(), zeros in 0..5_usize, invoice in token(), transaction in 1..u64::MAX, as_json in any::<bool>(),
        at in any::<Index>(), delta in 1..=255_u8, pick in any::<Index>(),
    ) {
        let cp = CloudPayments::new(fuzzing::CLOUDPAYMENTS_SECRET.into());
        let amount = decimal_text(k, zeros);
        let (body, content_type) = if as_json {
            // The amount as a JSON number, exactly as written: never through a float.
            let body = format!(
                r#"{{"TransactionId":{transaction},"Amount":{amount},"Currency":"RUB","InvoiceId":"{invoice}","Status":"Completed","OperationType":"Payment"}}"#
            );
            (body.into_bytes(), "application/json")
        } else {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("TransactionId", &transaction.to_string())
                .append_pair("Amount", &amount)
                .append_pair("Currency", "RUB")
                .append_pair("InvoiceId", &invoice)
                .append_pair("Status", "Completed")
                .append_pair("OperationType", "Payment")
                .finish();
            (body.into_bytes(), "application/x-www-form-urlencoded")
        };
        let sig = STANDARD.encode(hmac_sha256(fuzzing::CLOUDPAYMENTS_SECRET.as_bytes(), &[&body]));
        let h = headers(&[("content-hmac", sig.as_str()), ("content-type", content_type)]);
        let n = notice(post(&cp, &h, &body, T0));
        prop_assert_eq!((n.amount, n.invoice, n.payment_id, n.succeeded),
            (Kopecks(k), InvoiceRef::Id(invoice), transaction.to_string(), true));
        prop_assert!(unauthenticated(&post(&cp, &h, &with_byte_changed(&body, &at, delta), T0)));
        // Base64 is case-sensitive: any other character is another signature (or none).
        let mut forged = sig.into_bytes();
        let i = at.index(forged.len());
        let choices: Vec<u8> = (b'!'..=b'~').filter(|c| *c != forged[i]).collect();
        forged[i] = choices[pick.index(choices.len())];
        let forged = headers(&[("content-hmac", std::str::from_utf8(&forged).unwrap()), ("content-type", content_type)]);
        prop_assert!(unauthenticated(&post(&cp, &forged, &body, T0)));
    }

    #[test]
    fn tbank_signed_is_read_back_and_any_signed_change_is_refused(
        k in 0..i64::MAX, order in token(), payment in 1..u64::MAX, status in "CONFIRMED|AUTHORIZED|REJECTED",
        success in any::<bool>(), extra in "[A-Za-z0-9 ]{0,12}", which in 0..4_usize,
        at in any::<Index>(), pick in any::<Index>(),
    ) {
        let tbank = TBank::new(fuzzing::TBANK_TERMINAL.into(), fuzzing::TBANK_PASSWORD.into());
        let mut fields = json!({"TerminalKey": fuzzing::TBANK_TERMINAL, "OrderId": order, "Success": success,
            "Status": status, "PaymentId": payment, "ErrorCode": "0", "Amount": k, "Pan": extra,
            "Data": {"Phone": "+7"}, "Items": [1, 2]});
        let signed = tbank_token(fields.as_object().unwrap());
        fields["Token"] = json!(signed);
        let body = fields.to_string().into_bytes();
        let n = notice(post(&tbank, &HeaderMap::new(), &body, T0));
        prop_assert_eq!((n.amount, n.invoice, n.payment_id, n.succeeded),
            (Kopecks(k), InvoiceRef::Id(order.clone()), payment.to_string(), status == "CONFIRMED" && success));
        // Nested objects are not signed; every root scalar is.
        let mut changed = fields.clone();
        match which {
            0 => changed["Amount"] = json!(k + 1),
            1 => changed["OrderId"] = json!(format!("{order}x")),
            2 => changed["Success"] = json!(!success),
            _ => changed["Token"] = json!(with_char_changed(&signed, &at, &pick)),
        }
        prop_assert!(unauthenticated(&post(&tbank, &HeaderMap::new(), changed.to_string().as_bytes(), T0)));
        changed = fields.clone();
        changed["Data"] = json!({"Phone": "+8"});
        prop_assert!(post(&tbank, &HeaderMap::new(), changed.to_string().as_bytes(), T0).is_ok());
    }

    #[test]
    fn robokassa_signed_is_read_back_and_any_signed_change_is_refused(
        k in amount(), zeros in 0..5_usize, year in 1000..=9999_i32, seq in 0..1_000_000_u64,
        shp in proptest::collection::btree_map("Shp_[a-z]{1,8}", "[^&]{0,12}", 0..3),
        alg in prop_oneof![Just(HashAlg::Md5), Just(HashAlg::Sha256), Just(HashAlg::Sha384), Just(HashAlg::Sha512)],
        by_get in any::<bool>(), upper in any::<bool>(), which in 0..4_usize, at in any::<Index>(), pick in any::<Index>(),
    ) {
        let robokassa = Robokassa::new(fuzzing::ROBOKASSA_PASSWORD2.into(), alg, String::new());
        let out_sum = decimal_text(k, zeros);
        let inv_id = format!("{year}{seq:06}");
        let sign = |out_sum: &str, inv_id: &str, shp: &BTreeMap<String, String>| {
            let mut base = format!("{out_sum}:{inv_id}:{}", fuzzing::ROBOKASSA_PASSWORD2);
            for (name, value) in shp {
                base.push_str(&format!(":{name}={value}"));
            }
            alg.hex(base.as_bytes())
        };
        let query = |out_sum: &str, inv_id: &str, shp: &BTreeMap<String, String>, sig: &str| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("OutSum", out_sum).append_pair("InvId", inv_id).append_pair("IsTest", "1");
            for (name, value) in shp {
                q.append_pair(name, value);
            }
            q.append_pair("SignatureValue", sig).finish()
        };
        let verify = |params: &str| {
            let h = HeaderMap::new();
            let (method, query, body) = if by_get { (Method::GET, params, &b""[..]) } else { (Method::POST, "", params.as_bytes()) };
            robokassa.verify(&RawCallback { method: &method, headers: &h, query, body, source_ip: None, now: T0 })
        };
        let sig = sign(&out_sum, &inv_id, &shp);
        let sig = if upper { sig.to_ascii_uppercase() } else { sig };
        let n = notice(verify(&query(&out_sum, &inv_id, &shp, &sig)));
        prop_assert_eq!((n.amount, n.invoice, n.payment_id), (Kopecks(k), InvoiceRef::Number { year, seq }, inv_id.clone()));
        let forged = match which {
            0 => query(&format!("{out_sum}0"), &inv_id, &shp, &sig),
            1 => query(&out_sum, &format!("{}", year * 10 + 1), &shp, &sig),
            2 => {
                let mut more = shp.clone();
                more.insert("Shp_ZZ".into(), "1".into());
                query(&out_sum, &inv_id, &more, &sig)
            }
            _ => query(&out_sum, &inv_id, &shp, &with_char_changed(&sig, &at, &pick)),
        };
        let r = verify(&forged);
        prop_assert!(unauthenticated(&r), "{:?}", r);
    }

    #[test]
    fn yookassa_acts_on_published_addresses_and_reads_the_api_exactly(
        k in amount(), zeros in 0..5_usize, id in "[a-f0-9-]{1,64}", invoice in token(), paid in any::<bool>(),
        status in "succeeded|pending|waiting_for_capture|canceled", from in 0..7_usize, ip in any::<[u8; 4]>(),
    ) {
        let yookassa = YooKassa::published();
        let note = json!({"type": "notification", "event": "payment.succeeded", "object": {"id": id}}).to_string();
        let sources = ["185.71.76.1", "185.71.77.31", "77.75.153.127", "77.75.154.128", "77.75.156.11",
            "2a02:5180::1", "::ffff:77.75.156.35"];
        let h = HeaderMap::new();
        let call = |ip: IpAddr| yookassa.verify(&RawCallback { source_ip: Some(ip), ..RawCallback::post(&h, note.as_bytes(), T0) });
        prop_assert_eq!(call(sources[from].parse().unwrap()), Ok(Verified::Fetch { payment_id: id.clone() }));
        let other = IpAddr::V4(Ipv4Addr::from(ip));
        if !fuzzing::yookassa_address(other) {
            prop_assert!(unauthenticated(&call(other)));
        }
        let api = json!({"id": id, "status": status, "paid": paid,
            "amount": {"value": decimal_text(k, zeros), "currency": "rub"}, "metadata": {"invoice_id": invoice}});
        let n = notice_from_api(api.to_string().as_bytes()).unwrap();
        prop_assert_eq!((n.amount, n.invoice, n.payment_id, n.currency, n.succeeded),
            (Kopecks(k), InvoiceRef::Id(invoice), id, "RUB".to_owned(), paid && status == "succeeded"));
    }
}

/// T-Bank's token, from its documentation (the e2e tests' Python does the same).
fn tbank_token(fields: &Map<String, Value>) -> String {
    let mut values: BTreeMap<String, String> = fields
        .iter()
        .filter(|(k, _)| *k != "Token")
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Number(n) => Some((k.clone(), n.to_string())),
            Value::Bool(b) => Some((k.clone(), b.to_string())),
            _ => None,
        })
        .collect();
    values.insert("Password".into(), fuzzing::TBANK_PASSWORD.into());
    hex::encode(Sha256::digest(values.into_values().collect::<String>()))
}

// ---------------------------------------------------------------------------------------------
// Exact amounts.

proptest! {
    #![proptest_config(config())]
    #[test]
    fn kopecks_round_trip_through_decimal_text(k in 0..=i64::MAX, zeros in 0..8_usize, lead in 0..4_usize) {
        let text = format!("{}{}", "0".repeat(lead), decimal_text(k, zeros));
        prop_assert_eq!(to_kopecks(&text), Some(Kopecks(k)));
        // Whole roubles need no decimals.
        if k % 100 == 0 {
            prop_assert_eq!(to_kopecks(&(k / 100).to_string()), Some(Kopecks(k)));
        }
    }

    #[test]
    fn signs_exponents_and_extra_precision_are_refused(k in 1..=i64::MAX / 10, e in 0..5_u8, digit in 1..=9_u8) {
        let text = Kopecks(k).decimal();
        for bad in [format!("-{text}"), format!("+{text}"), format!("{text}e{e}"), format!("{text}{digit}"),
                    format!(" {text}"), text.replace('.', ",")] {
            prop_assert_eq!(to_kopecks(&bad), None, "{}", bad);
        }
    }

    #[test]
    fn any_digits_and_dots_agree_with_the_model(s in "[0-9.]{0,24}") {
        prop_assert_eq!(to_kopecks(&s), fuzzing::reference_kopecks(&s));
        fuzzing::amount(s.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// The order form.

const CONTENT_TYPES: [&str; 6] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded; charset=\"UTF-8\"",
    "text/plain",
    "application/json; charset=latin1",
];

fn read(content_type: &str, body: Vec<u8>) -> Result<OrderInput, autobill::http::error::ApiError> {
    let h = headers(&[("content-type", content_type)]);
    fuzzing::ready(read_order(&h, axum::body::Body::from(body)))
}

/// A form field: a real one or not, with a value that is valid, nearly valid or anything.
fn order_fields() -> impl Strategy<Value = BTreeMap<String, String>> {
    let name = prop_oneof![
        4 => proptest::sample::select(autobill::domain::order::FIELDS.to_vec()).prop_map(str::to_owned),
        1 => "[a-z_]{1,10}",
    ];
    let value = prop_oneof![
        Just("pro".to_owned()),
        Just("7736207543".to_owned()),
        Just("500100732259".to_owned()),
        Just("770401001".to_owned()),
        Just("buh@romashka.ru".to_owned()),
        Just("ООО «Ромашка»".to_owned()),
        "[0-9]{1,4}",
        "-?[0-9]{1,25}",
        "\\PC{0,20}",
        ".{0,20}",
    ];
    proptest::collection::btree_map(name, value, 0..10)
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn any_body_is_a_4xx_or_an_order(ct in 0..CONTENT_TYPES.len(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut data = format!("Content-Type: {}\n\n", CONTENT_TYPES[ct]).into_bytes();
        data.extend_from_slice(&body);
        fuzzing::form(&data);
        if let Err(e) = read(CONTENT_TYPES[ct], body) {
            prop_assert!(e.status.is_client_error(), "{} {}", e.status, e.code);
        }
    }

    #[test]
    fn fields_round_trip_through_both_encodings(fields in proptest::collection::btree_map("\\PC{0,12}", ".{0,30}", 0..8)) {
        let form = form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        prop_assert_eq!(read("application/x-www-form-urlencoded", form.into_bytes()).unwrap(), fields.clone());
        let json = serde_json::to_vec(&fields).unwrap();
        prop_assert_eq!(read("application/json", json).unwrap(), fields);
    }

    #[test]
    fn orders_validate_or_fail_with_known_codes(fields in order_fields(), as_json in any::<bool>()) {
        // The harness checks 4xx and known codes, a valid order's limits, and the escaped form page.
        let (ct, body) = if as_json {
            ("application/json", serde_json::to_vec(&fields).unwrap())
        } else {
            ("application/x-www-form-urlencoded",
             form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish().into_bytes())
        };
        let mut data = format!("Content-Type: {ct}\n\n").into_bytes();
        data.extend_from_slice(&body);
        fuzzing::form(&data);
        let input: OrderInput = fields.into_iter().collect();
        if let Err(errors) = Order::validate(&input, &autobill::samples::catalogue()) {
            prop_assert!(!errors.is_empty());
            let e = autobill::http::error::ApiError::validation(errors);
            prop_assert_eq!(e.status.as_u16(), 422);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook endpoints.

const KEYS: [&str; 8] = ["id", "type", "data", "total", "plan", "buyer", "inn", "a.b"];

fn key() -> impl Strategy<Value = String> {
    proptest::sample::select(KEYS.to_vec()).prop_map(str::to_owned)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5..5_i64).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Quarters are exact in decimal text: serde_json's default float parsing may be one ulp off
        // for other fractions (it lacks `float_roundtrip`), which no integer amount ever meets.
        (-4_000_000..4_000_000_i32).prop_map(|q| Value::from(f64::from(q) / 4.0)),
        proptest::sample::select(vec![
            "pro",
            "basic",
            "invoice.paid",
            "2025-03-01",
            "2025-03-01T10:00:00Z",
            "2025-03-01T13:00:00+03:00",
            "",
        ])
        .prop_map(Value::from),
        "[a-c]{0,3}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn event() -> impl Strategy<Value = Value> {
    (
        proptest::option::of("invoice\\.paid|subscription\\.renewed"),
        proptest::collection::btree_map(key(), json_value(), 0..6),
    )
        .prop_map(|(kind, data)| {
            let mut event = json!({"id": "evt_1", "timestamp": "2025-03-01T10:00:00+00:00", "data": data.clone()});
            if let Some(kind) = kind {
                event["type"] = json!(kind);
            }
            for (k, v) in data.into_iter().take(2) {
                event[k] = v;
            }
            event
        })
}

fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec(key(), 1..4).prop_map(|segments| segments.join("."))
}

fn condition() -> impl Strategy<Value = Condition> {
    let op = prop_oneof![Just(Op::Eq), Just(Op::In), Just(Op::Gte), Just(Op::Lte)];
    (path(), op, json_value()).prop_map(|(path, op, value)| Condition { path, op, value })
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (
        proptest::collection::vec(
            prop_oneof![Just("*"), Just("invoice.paid"), Just("subscription.renewed")],
            0..3,
        ),
        proptest::collection::vec(condition(), 0..4),
        proptest::collection::vec(path(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(events, conditions, fields, enabled)| Endpoint {
            id: "crm".into(),
            url: "https://hooks.example.com/autobill".into(),
            secret: fuzzing::WEBHOOK_SECRET.into(),
            events: events.into_iter().map(str::to_owned).collect(),
            conditions,
            fields,
            enabled,
        })
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |node, key| node.as_object()?.get(key))
}

proptest! {
    #![proptest_config(config())]
    /// The harness's contract checks (what each op means, totality, `wants`, payload trimming)
    /// over generated settings and events.
    #[test]
    fn endpoints_keep_their_contract(endpoint in endpoint(), event in event()) {
        let mut data = serde_json::to_vec(&endpoint).unwrap();
        data.push(b'\n');
        data.extend(serde_json::to_vec(&event).unwrap());
        fuzzing::webhook_conditions(&data);
    }

    #[test]
    fn a_condition_on_a_present_field_with_its_own_value_holds(event in event(), path in path()) {
        if let Some(field) = lookup(&event, &path) {
            let holds = |op, value: &Value| Condition { path: path.clone(), op, value: value.clone() }.matches(&event);
            prop_assert!(holds(Op::Eq, field));
            prop_assert!(holds(Op::In, &json!([1, field, "x"])));
            if field.is_number() || field.is_string() {
                prop_assert!(holds(Op::Gte, field) && holds(Op::Lte, field));
            }
        } else {
            for op in [Op::Eq, Op::In, Op::Gte, Op::Lte] {
                let missing = Condition { path: path.clone(), op, value: Value::Null };
                prop_assert!(!missing.matches(&event), "{:?}", op);
            }
        }
    }

    #[test]
    fn integers_compare_exactly_within_i64(a in any::<i64>(), b in any::<i64>()) {
        let event = json!({"data": {"total": a}});
        let holds = |op| Condition { path: "data.total".into(), op, value: json!(b) }.matches(&event);
        prop_assert_eq!((holds(Op::Gte), holds(Op::Lte)), (a >= b, a <= b));
    }

    /// Integers beyond i64 (u64 in JSON) compare exactly too: fuzzing found them compared as f64,
    /// where 2^63 `lte` i64::MAX held.
    #[test]
    fn integers_compare_exactly_beyond_i64(a in (1_u64 << 63)..=u64::MAX, d in 1..4096_u64, above in any::<bool>()) {
        // Integers a few units apart above i64::MAX, where f64 has no unit precision.
        let b = if above { a.saturating_add(d) } else { a - d };
        let event = json!({"data": {"total": a}});
        let holds = |op| Condition { path: "data.total".into(), op, value: json!(b) }.matches(&event);
        prop_assert_eq!((holds(Op::Gte), holds(Op::Lte)), (a >= b, a <= b), "{} vs {}", a, b);
    }

    #[test]
    fn settings_read_back_from_json(endpoint in endpoint()) {
        let text = serde_json::to_string(&endpoint).unwrap();
        prop_assert_eq!(serde_json::from_str::<Endpoint>(&text).unwrap(), endpoint);
    }
}

/// The request format of the byte-level targets and their seeds (see `autobill::fuzzing`).
#[test]
fn the_request_format_reads_pseudo_headers_headers_and_body() {
    let r =
        Request::parse(b"@method: GET\n@query: a=1\n@ip: 185.71.76.1\n@now: 5\n@alg: sha512\nX-A: b\n\n{\"x\":1}\n\n");
    assert_eq!(r.method, Method::GET);
    assert_eq!(r.query, "a=1");
    assert_eq!(r.source_ip, Some("185.71.76.1".parse().unwrap()));
    assert_eq!((r.now, r.alg), (5, HashAlg::Sha512));
    assert_eq!(r.headers["x-a"], "b");
    assert_eq!(r.body, b"{\"x\":1}\n\n");
    let bare = Request::parse(b"just a body");
    assert_eq!(
        (bare.method, bare.body.as_slice(), bare.now),
        (Method::POST, &b"just a body"[..], fuzzing::NOW)
    );
}
