//! Fuzzing harnesses: one `fn(&[u8])` per target of `fuzz/` (cargo-fuzz, nightly), replayed on
//! stable by `tests/fuzz_seeds.rs` over the committed seeds and regressions. Each harness feeds the
//! bytes to the crate's real parsing and verifying code and asserts invariants: a panic is a
//! finding, whether it comes from the code under test or from a broken invariant.
//!
//! Callback and form targets read the bytes as a small HTTP-like request, so that seeds stay
//! readable and the fuzzer can reach every input the code sees:
//!
//! ```text
//! @method: GET                  pseudo-headers (optional): method (default POST),
//! @query: OutSum=1&InvId=20261  query string, client address, `now` in unix seconds
//! @ip: 185.71.76.1              (default 1700000000) and Robokassa's hash algorithm
//! @now: 1700000000              (md5, sha256, sha384, sha512; default md5)
//! @alg: md5
//! Content-Type: application/json      headers: `Name: value`, repeats appended
//!                               an empty line, then the body, byte for byte
//! {"invoice_id": …}
//! ```
//!
//! Input without an empty line is all body. Lines that make no valid header are skipped.
//!
//! The `*_signed` targets sign whatever body (or parameters) the fuzzer made with the fixed test
//! secrets below, so that mutations get past the signature check into the parsers; they assert
//! that a correctly signed request is never refused as unauthentic, and (for the HMAC schemes)
//! that one changed byte of the body is. The plain targets take the request as it comes and
//! assert that nothing the fuzzer forged is accepted.

use crate::domain::Kopecks;
use crate::domain::order::{Order, issue};
use crate::domain::requisites::{check_inn, check_kpp};
use crate::http::body::{read_json_object, read_order};
use crate::http::error::{ApiError, field_message};
use crate::http::pages::{FormState, error_page, order_form};
use crate::payments::cloudpayments::CloudPayments;
use crate::payments::decimal::{minor_units, raw_text, to_kopecks};
use crate::payments::robokassa::{HashAlg, Robokassa};
use crate::payments::sandbox::Sandbox;
use crate::payments::stripe::Stripe;
use crate::payments::tbank::TBank;
use crate::payments::yookassa::{self, YooKassa};
use crate::payments::{Handled, InvoiceRef, PaymentNotice, Provider, RawCallback, Rejection, Verified};
use crate::webhooks::{Condition, Endpoint, Op, UrlPolicy};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

/// A fuzz target's harness: panics on a finding.
pub type Harness = fn(&[u8]);

/// Every target by name: `fuzz/fuzz_targets/<name>.rs` calls the function, and
/// `fuzz/seeds/<name>/` (plus `fuzz/regressions/<name>/`) holds its committed inputs.
pub const TARGETS: &[(&str, Harness)] = &[
    ("form", form),
    ("amount", amount),
    ("webhook_conditions", webhook_conditions),
    ("sandbox", sandbox),
    ("sandbox_signed", sandbox_signed),
    ("stripe", stripe),
    ("stripe_signed", stripe_signed),
    ("cloudpayments", cloudpayments),
    ("cloudpayments_signed", cloudpayments_signed),
    ("tbank", tbank),
    ("tbank_signed", tbank_signed),
    ("robokassa", robokassa),
    ("robokassa_signed", robokassa_signed),
    ("yookassa", yookassa),
    ("yookassa_signed", yookassa_signed),
    ("statement", statement),
    ("purpose", purpose),
];

/// `now` when a request names none.
pub const NOW: i64 = 1_700_000_000;
/// The timestamp tolerance the sandbox and Stripe adapters are built with here.
pub const TOLERANCE_SECS: i64 = 300;
pub const SANDBOX_SECRET: &str = "fuzz-sandbox-secret";
pub const STRIPE_SECRET: &str = "whsec_fuzz_endpoint_secret";
pub const CLOUDPAYMENTS_SECRET: &str = "fuzz_cp_api_secret";
pub const TBANK_TERMINAL: &str = "1321054611234DEMO";
pub const TBANK_PASSWORD: &str = "fuzz_tbank_password";
pub const ROBOKASSA_PASSWORD2: &str = "fuzz_pass2";
/// A valid Standard Webhooks secret for endpoints the fuzzer leaves without one.
pub const WEBHOOK_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| Sandbox::new(SANDBOX_SECRET.into(), TOLERANCE_SECS));
static STRIPE: LazyLock<Stripe> = LazyLock::new(|| Stripe::new(STRIPE_SECRET.into(), TOLERANCE_SECS));
static CLOUDPAYMENTS: LazyLock<CloudPayments> = LazyLock::new(|| CloudPayments::new(CLOUDPAYMENTS_SECRET.into()));
static TBANK: LazyLock<TBank> = LazyLock::new(|| TBank::new(TBANK_TERMINAL.into(), TBANK_PASSWORD.into()));
static YOOKASSA: LazyLock<YooKassa> = LazyLock::new(YooKassa::published);

fn robokassa_with(alg: HashAlg) -> Robokassa {
    Robokassa::new(ROBOKASSA_PASSWORD2.into(), alg, String::new())
}

// ---------------------------------------------------------------------------------------------
// The request format.

/// A request decoded from fuzz bytes (the format is in the module docs).
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub headers: HeaderMap,
    pub query: String,
    pub body: Vec<u8>,
    pub source_ip: Option<IpAddr>,
    pub now: i64,
    pub alg: HashAlg,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Request {
    pub fn parse(data: &[u8]) -> Request {
        let (head, body) = match find(data, b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (&data[..0], data),
        };
        let mut request = Request {
            method: Method::POST,
            headers: HeaderMap::new(),
            query: String::new(),
            body: body.to_vec(),
            source_ip: None,
            now: NOW,
            alg: HashAlg::Md5,
        };
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let name = line[..colon].trim_ascii();
            let value = line[colon + 1..].trim_ascii_start();
            let text = String::from_utf8_lossy(value);
            match name {
                b"@method" => {
                    if let Ok(m) = Method::from_bytes(value) {
                        request.method = m;
                    }
                }
                b"@query" => request.query = text.into_owned(),
                b"@ip" => request.source_ip = text.trim().parse().ok(),
                b"@now" => request.now = text.trim().parse().unwrap_or(NOW),
                b"@alg" => {
                    request.alg = match text.trim() {
                        "sha256" => HashAlg::Sha256,
                        "sha384" => HashAlg::Sha384,
                        "sha512" => HashAlg::Sha512,
                        _ => HashAlg::Md5,
                    }
                }
                _ => {
                    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                        request.headers.append(n, v);
                    }
                }
            }
        }
        request
    }

    pub fn raw(&self) -> RawCallback<'_> {
        RawCallback {
            method: &self.method,
            headers: &self.headers,
            query: &self.query,
            body: &self.body,
            source_ip: self.source_ip,
            now: self.now,
        }
    }

    /// Sets a header, replacing any the fuzzer sent.
    fn set(&mut self, name: &'static str, value: &str) {
        let value = HeaderValue::from_str(value).expect("signatures are visible ASCII");
        self.headers.insert(name, value);
    }
}

/// A stable spread of the input over `0..n` (n > 0), to pick a byte to change.
fn pick(data: &[u8], n: usize) -> usize {
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (h % n as u64) as usize
}

/// The request with one byte of the body changed (`None` for an empty body).
fn tampered(request: &Request, data: &[u8]) -> Option<Request> {
    if request.body.is_empty() {
        return None;
    }
    let mut t = request.clone();
    let i = pick(data, t.body.len());
    t.body[i] ^= 1 << (data.len() % 8);
    Some(t)
}

// ---------------------------------------------------------------------------------------------
// Invariants shared by every provider.

fn is_unauthenticated(r: &Result<Verified, Rejection>) -> bool {
    matches!(r, Err(Rejection::Unauthenticated(_)))
}

/// Verifies twice (the same answer), checks what came out, and that every answer the provider
/// can give for it is not a server error.
fn verify(provider: &dyn Provider, request: &Request) -> Result<Verified, Rejection> {
    let raw = request.raw();
    let first = provider.verify(&raw);
    assert_eq!(first, provider.verify(&raw), "verification is deterministic");
    let notice = match &first {
        Ok(Verified::Notice(n)) => {
            check_notice(provider.name(), n);
            Some(n)
        }
        Ok(Verified::Fetch { payment_id }) => {
            assert!(
                !payment_id.is_empty()
                    && payment_id.len() <= 64
                    && payment_id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "only a plain token goes into the API path: {payment_id:?}"
            );
            None
        }
        Ok(Verified::Ignored(_)) => None,
        Err(rejection) => {
            let answer = provider.reject(rejection);
            assert!(
                answer.status.is_client_error() || answer.status.is_success(),
                "a refusal is never a server error: {}",
                answer.status
            );
            None
        }
    };
    for handled in [
        Handled::Paid,
        Handled::Duplicate,
        Handled::Mismatch,
        Handled::UnknownInvoice,
        Handled::Ignored,
    ] {
        let answer = provider.answer(handled, notice);
        assert!(!answer.status.is_server_error(), "{handled:?}: {}", answer.status);
    }
    first
}

fn check_notice(provider: &str, n: &PaymentNotice) {
    assert_eq!(n.provider, provider);
    assert!(!n.payment_id.is_empty(), "a notice has a payment id");
    assert!(
        n.amount.0 >= 0,
        "a notice never carries a negative amount: {:?}",
        n.amount
    );
    assert!(
        !n.currency.is_empty() && n.currency == n.currency.to_ascii_uppercase(),
        "currency is upper-case: {:?}",
        n.currency
    );
    match &n.invoice {
        InvoiceRef::Id(id) => assert!(!id.is_empty(), "an invoice id is never empty"),
        InvoiceRef::Number { year, .. } => assert!((1000..=9999).contains(year), "year {year}"),
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `t=<now>,v1=<hex HMAC-SHA256 of "{t}.{body}">`, computed here independently of the adapters.
fn timestamped_header(secret: &str, t: i64, body: &[u8]) -> String {
    let t = t.to_string();
    let mac = hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(mac))
}

/// Whether a `t=…,v1=…` header really signs `body` within the tolerance (the oracle for the
/// plain sandbox and Stripe targets: whatever they accept must pass this).
fn timestamped_genuine(secret: &str, header: Option<&HeaderValue>, body: &[u8], now: i64) -> bool {
    let Some(header) = header.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let items: Vec<(&str, &str)> = header
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
        .collect();
    let Some(t) = items.iter().find(|(k, _)| *k == "t").map(|(_, v)| *v) else {
        return false;
    };
    let Ok(t_value) = t.parse::<i64>() else {
        return false;
    };
    let mac = hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body]);
    let fresh = i128::from(now).abs_diff(i128::from(t_value)) <= TOLERANCE_SECS as u128;
    fresh
        && items
            .iter()
            .any(|(k, v)| *k == "v1" && hex::decode(v).is_ok_and(|sig| sig == mac))
}

/// A request signed with the given header must get past authentication; with one byte of the
/// body changed, or outside the tolerance, it must not. Returns the signed request's result.
fn check_timestamped_signed(
    provider: &dyn Provider,
    header: &'static str,
    secret: &str,
    data: &[u8],
) -> (Request, Result<Verified, Rejection>) {
    let mut request = Request::parse(data);
    // A timestamp is digits (no sign), and `now` ± the tolerance must not saturate.
    if request.now < 0 {
        request.now = NOW;
    }
    request.now = request.now.min(i64::MAX - TOLERANCE_SECS - 1);
    request.set(header, &timestamped_header(secret, request.now, &request.body));
    let verified = verify(provider, &request);
    assert!(
        !is_unauthenticated(&verified),
        "correctly signed, refused: {verified:?}"
    );
    if let Some(t) = tampered(&request, data) {
        assert!(
            is_unauthenticated(&verify(provider, &t)),
            "a changed body must be refused"
        );
    }
    for skew in [TOLERANCE_SECS + 1, -(TOLERANCE_SECS + 1)] {
        let mut late = request.clone();
        late.now = request.now.saturating_add(skew);
        assert!(is_unauthenticated(&verify(provider, &late)), "outside the tolerance");
    }
    let mut edge = request.clone();
    edge.now = request.now.saturating_add(TOLERANCE_SECS);
    assert_eq!(verify(provider, &edge), verified, "at the edge of the tolerance");
    (request, verified)
}

// ---------------------------------------------------------------------------------------------
// Sandbox and Stripe: `t=…,v1=…` HMAC headers.

/// The sandbox as the request comes: anything accepted is genuinely signed and parses to what
/// the body says.
pub fn sandbox(data: &[u8]) {
    let request = Request::parse(data);
    let verified = verify(&*SANDBOX, &request);
    if let Ok(v) = &verified {
        let header = request.headers.get(crate::payments::sandbox::SIGNATURE_HEADER);
        assert!(
            timestamped_genuine(SANDBOX_SECRET, header, &request.body, request.now),
            "accepted a forgery: {v:?}"
        );
        check_sandbox_fields(&request.body, v);
    }
}

/// The sandbox with the fuzzer's body correctly signed.
pub fn sandbox_signed(data: &[u8]) {
    let header = crate::payments::sandbox::SIGNATURE_HEADER;
    let (request, verified) = check_timestamped_signed(&*SANDBOX, header, SANDBOX_SECRET, data);
    if let Ok(v) = &verified {
        check_sandbox_fields(&request.body, v);
    }
}

fn check_sandbox_fields(body: &[u8], verified: &Verified) {
    let Verified::Notice(n) = verified else {
        panic!("the sandbox only ever gives notices: {verified:?}");
    };
    let json: Value = serde_json::from_slice(body).expect("accepted bodies are JSON");
    assert_eq!(json["payment_id"].as_str(), Some(n.payment_id.as_str()));
    assert_eq!(
        json["invoice_id"].as_str().map(|s| InvoiceRef::Id(s.into())),
        Some(n.invoice.clone())
    );
    match &json["amount"] {
        Value::Number(k) => assert_eq!(k.as_i64(), Some(n.amount.0)),
        Value::String(k) => assert_eq!(k.parse::<i64>().ok(), Some(n.amount.0)),
        other => panic!("amount {other} accepted"),
    }
}

/// Stripe as the request comes: anything accepted (notice or ignored event) is genuinely signed.
pub fn stripe(data: &[u8]) {
    let request = Request::parse(data);
    let verified = verify(&*STRIPE, &request);
    if let Ok(v) = &verified {
        let header = request.headers.get(crate::payments::stripe::SIGNATURE_HEADER);
        assert!(
            timestamped_genuine(STRIPE_SECRET, header, &request.body, request.now),
            "accepted a forgery: {v:?}"
        );
    }
}

/// Stripe with the fuzzer's event correctly signed: the event parser, and its metadata rules.
pub fn stripe_signed(data: &[u8]) {
    let header = crate::payments::stripe::SIGNATURE_HEADER;
    let (request, verified) = check_timestamped_signed(&*STRIPE, header, STRIPE_SECRET, data);
    if let Ok(Verified::Notice(n)) = &verified {
        let event: Value = serde_json::from_slice(&request.body).expect("accepted bodies are JSON");
        let object = &event["data"]["object"];
        assert_eq!(
            object["metadata"]["invoice_id"]
                .as_str()
                .map(|s| InvoiceRef::Id(s.into())),
            Some(n.invoice.clone()),
            "the invoice comes from the metadata"
        );
        let key = match event["type"].as_str() {
            Some("checkout.session.completed") => "amount_total",
            Some("payment_intent.succeeded") => "amount_received",
            other => panic!("a notice from event type {other:?}"),
        };
        assert_eq!(minor_units(&object[key]), Some(n.amount));
    }
}

// ---------------------------------------------------------------------------------------------
// CloudPayments: `Content-HMAC` = base64(HMAC-SHA256(body)).

fn content_hmac(body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(CLOUDPAYMENTS_SECRET.as_bytes(), &[body]))
}

pub fn cloudpayments(data: &[u8]) {
    let request = Request::parse(data);
    let verified = verify(&*CLOUDPAYMENTS, &request);
    if let Ok(v) = &verified {
        let given = request
            .headers
            .get(crate::payments::cloudpayments::SIGNATURE_HEADER)
            .and_then(|h| STANDARD.decode(h.as_bytes()).ok());
        let expected = hmac_sha256(CLOUDPAYMENTS_SECRET.as_bytes(), &[&request.body]);
        assert_eq!(given, Some(expected), "accepted a forgery: {v:?}");
    }
}

pub fn cloudpayments_signed(data: &[u8]) {
    let mut request = Request::parse(data);
    request.set(
        crate::payments::cloudpayments::SIGNATURE_HEADER,
        &content_hmac(&request.body),
    );
    let verified = verify(&*CLOUDPAYMENTS, &request);
    assert!(
        !is_unauthenticated(&verified),
        "correctly signed, refused: {verified:?}"
    );
    if let Some(t) = tampered(&request, data) {
        assert!(
            is_unauthenticated(&verify(&*CLOUDPAYMENTS, &t)),
            "a changed body must be refused"
        );
    }
    if let Ok(Verified::Notice(n)) = &verified {
        // The amount is the exact decimal sent: two decimals back give the same kopecks.
        assert_eq!(to_kopecks(&n.amount.decimal()), Some(n.amount));
    }
}

// ---------------------------------------------------------------------------------------------
// T-Bank: a `Token` inside the JSON body.

/// The token over a notification's fields, written here from T-Bank's documentation: the values
/// of the root scalars except `Token` (nulls left out), plus `Password`, sorted by key, joined.
fn tbank_token(fields: &Map<String, Value>, password: &str) -> String {
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for (key, value) in fields {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        if key != "Token" {
            values.insert(key, text);
        }
    }
    values.insert("Password", password.to_owned());
    hex::encode(Sha256::digest(values.into_values().collect::<String>().as_bytes()))
}

pub fn tbank(data: &[u8]) {
    let request = Request::parse(data);
    let verified = verify(&*TBANK, &request);
    if let Ok(v) = &verified {
        let fields: Map<String, Value> = serde_json::from_slice(&request.body).expect("accepted bodies are objects");
        let given = fields["Token"].as_str().map(str::to_ascii_lowercase);
        assert_eq!(
            given,
            Some(tbank_token(&fields, TBANK_PASSWORD)),
            "accepted a forgery: {v:?}"
        );
        assert_eq!(fields["TerminalKey"], TBANK_TERMINAL);
    }
}

/// T-Bank with the right `Token` put first into whatever JSON object the fuzzer made.
pub fn tbank_signed(data: &[u8]) {
    let mut request = Request::parse(data);
    let original = serde_json::from_slice::<Map<String, Value>>(&request.body).ok();
    let open = request
        .body
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let (Some(fields), Some(open)) = (original, open) else {
        let _ = verify(&*TBANK, &request);
        return;
    };
    let empty = request.body[open + 1..]
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'}');
    let token = format!(
        r#""Token":"{}"{}"#,
        tbank_token(&fields, TBANK_PASSWORD),
        if empty { "" } else { "," }
    );
    request.body.splice(open + 1..open + 1, token.into_bytes());
    let verified = verify(&*TBANK, &request);
    let ours = fields.get("TerminalKey").and_then(Value::as_str) == Some(TBANK_TERMINAL);
    if ours && !fields.contains_key("Token") {
        assert!(
            !is_unauthenticated(&verified),
            "correctly signed, refused: {verified:?}"
        );
    }
    if let Ok(Verified::Notice(n)) = &verified {
        let field = |key: &str| fields.get(key).and_then(crate::payments::decimal::scalar_text);
        assert_eq!(fields.get("Amount").and_then(minor_units), Some(n.amount));
        assert_eq!(field("OrderId").map(InvoiceRef::Id), Some(n.invoice.clone()));
        assert_eq!(field("PaymentId").as_deref(), Some(n.payment_id.as_str()));
    }
}

// ---------------------------------------------------------------------------------------------
// Robokassa: `SignatureValue` = hash of `OutSum:InvId:Password2[:Shp_x=…]`.

fn digest_hex(alg: HashAlg, data: &[u8]) -> String {
    match alg {
        HashAlg::Md5 => hex::encode(md5::Md5::digest(data)),
        HashAlg::Sha256 => hex::encode(Sha256::digest(data)),
        HashAlg::Sha384 => hex::encode(Sha384::digest(data)),
        HashAlg::Sha512 => hex::encode(Sha512::digest(data)),
    }
}

/// The signature over decoded parameters, from Robokassa's documentation.
fn robokassa_signature(alg: HashAlg, params: &BTreeMap<String, String>) -> Option<String> {
    let mut signed = format!(
        "{}:{}:{ROBOKASSA_PASSWORD2}",
        params.get("OutSum")?,
        params.get("InvId")?
    );
    for (name, value) in params {
        if name.len() >= 4 && name.as_bytes()[..4].eq_ignore_ascii_case(b"shp_") {
            signed.push_str(&format!(":{name}={value}"));
        }
    }
    Some(digest_hex(alg, signed.as_bytes()))
}

/// Whether Robokassa reads its parameters from the body (POST with one) or the query.
fn robokassa_reads_body(request: &Request) -> bool {
    request.method == Method::POST && !request.body.is_empty()
}

pub fn robokassa(data: &[u8]) {
    let request = Request::parse(data);
    let verified = verify(&robokassa_with(request.alg), &request);
    if let Ok(v) = &verified {
        let source = if robokassa_reads_body(&request) {
            std::str::from_utf8(&request.body).expect("accepted bodies are UTF-8")
        } else {
            &request.query
        };
        let params = crate::payments::decimal::parse_form(source).expect("accepted parameters parse");
        let given = params["SignatureValue"].to_ascii_lowercase();
        assert_eq!(
            Some(given),
            robokassa_signature(request.alg, &params),
            "accepted a forgery: {v:?}"
        );
        let Verified::Notice(n) = v else {
            panic!("Robokassa only ever gives notices: {v:?}")
        };
        assert_eq!(to_kopecks(&params["OutSum"]), Some(n.amount));
        assert_eq!(n.payment_id, params["InvId"]);
    }
}

/// Robokassa with a correct `SignatureValue` appended to the parameters the fuzzer made.
pub fn robokassa_signed(data: &[u8]) {
    let mut request = Request::parse(data);
    let provider = robokassa_with(request.alg);
    let is_source_method = request.method == Method::GET || request.method == Method::POST;
    let text = if robokassa_reads_body(&request) {
        String::from_utf8(request.body.clone()).ok()
    } else {
        Some(request.query.clone())
    };
    let params = text
        .as_deref()
        .and_then(|t| crate::payments::decimal::parse_form(t).ok());
    let signature = params
        .as_ref()
        .filter(|p| is_source_method && !p.contains_key("SignatureValue"))
        .and_then(|p| robokassa_signature(request.alg, p));
    let Some(signature) = signature else {
        let _ = verify(&provider, &request);
        return;
    };
    // Upper case as Robokassa sends it, or lower, as the input falls.
    let signature = if data.len().is_multiple_of(2) {
        signature.to_ascii_uppercase()
    } else {
        signature
    };
    let text = text.unwrap_or_default();
    let sep = if text.is_empty() || text.ends_with('&') {
        ""
    } else {
        "&"
    };
    let signed = format!("{text}{sep}SignatureValue={signature}");
    if robokassa_reads_body(&request) {
        request.body = signed.into_bytes();
    } else {
        request.query = signed;
    }
    let verified = verify(&provider, &request);
    assert!(
        !is_unauthenticated(&verified),
        "correctly signed, refused: {verified:?}"
    );
    if let (Ok(Verified::Notice(n)), Some(params)) = (&verified, &params) {
        assert_eq!(to_kopecks(&params["OutSum"]), Some(n.amount));
        let InvoiceRef::Number { year, seq } = n.invoice else {
            panic!("Robokassa names invoices by number: {n:?}")
        };
        let inv_id = &params["InvId"];
        assert_eq!(inv_id[..4].parse::<i32>().ok(), Some(year));
        assert_eq!(inv_id[4..].parse::<u64>().ok(), Some(seq));
    }
}

// ---------------------------------------------------------------------------------------------
// YooKassa: an unsigned body from published addresses, then the API's answer.

/// Whether an address is in YooKassa's published ranges, written out here by hand.
pub fn yookassa_address(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            matches!((a, b, c), (185, 71, 76) | (185, 71, 77)) && d < 32
                || (a, b, c) == (77, 75, 153) && d < 128
                || (a, b, c) == (77, 75, 154) && d >= 128
                || (a, b, c) == (77, 75, 156) && (d == 11 || d == 35)
        }
        IpAddr::V6(v6) => v6.segments()[..2] == [0x2a02, 0x5180],
    }
}

const YOOKASSA_SOURCES: [&str; 7] = [
    "185.71.76.1",
    "185.71.77.31",
    "77.75.153.127",
    "77.75.154.128",
    "77.75.156.11",
    "2a02:5180::1",
    "::ffff:77.75.156.35",
];

pub fn yookassa(data: &[u8]) {
    let request = Request::parse(data);
    let verified = verify(&*YOOKASSA, &request);
    if let Ok(v) = &verified {
        assert!(
            request.source_ip.is_some_and(yookassa_address),
            "accepted from {:?}: {v:?}",
            request.source_ip
        );
    } else if !request.source_ip.is_some_and(yookassa_address) {
        assert!(is_unauthenticated(&verified), "only the address decides first");
    }
}

/// From a published address (the only authentication there is), the notification parser; and
/// the same bytes as the API's answer for a payment (`notice_from_api`), which is what pays.
pub fn yookassa_signed(data: &[u8]) {
    let mut request = Request::parse(data);
    let from = YOOKASSA_SOURCES[pick(data, YOOKASSA_SOURCES.len())];
    request.source_ip = Some(from.parse().expect("a valid address"));
    let verified = verify(&*YOOKASSA, &request);
    assert!(!is_unauthenticated(&verified), "from {from}: {verified:?}");

    let api = yookassa::notice_from_api(&request.body);
    assert_eq!(api, yookassa::notice_from_api(&request.body), "deterministic");
    if let Ok(n) = &api {
        check_notice("yookassa", n);
        let payment: Value = serde_json::from_slice(&request.body).expect("accepted answers are JSON");
        let value = payment["amount"]["value"].as_str().and_then(to_kopecks);
        assert_eq!(value, Some(n.amount), "the amount is the exact decimal string");
        assert_eq!(payment["id"].as_str(), Some(n.payment_id.as_str()));
        let paid = payment["status"] == "succeeded" && payment["paid"] == true;
        assert_eq!(n.succeeded, paid, "succeeded means status succeeded and paid");
    }
}

// ---------------------------------------------------------------------------------------------
// Amounts.

/// An independent model of [`to_kopecks`]: the same grammar, computed in `u128`.
pub fn reference_kopecks(s: &str) -> Option<Kopecks> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    if !digits(int) || frac.is_some_and(|f| !digits(f) || f.bytes().skip(2).any(|b| b != b'0')) {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() > 20 {
        return None;
    }
    let roubles: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac = frac.unwrap_or("").as_bytes();
    let kopecks = frac
        .iter()
        .chain(b"00")
        .take(2)
        .fold(0u128, |k, b| k * 10 + u128::from(b - b'0'));
    i64::try_from(roubles * 100 + kopecks).ok().map(Kopecks)
}

/// The exact decimal parser against its model, its round trip, and the JSON amount readers.
pub fn amount(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let got = to_kopecks(s);
    assert_eq!(got, reference_kopecks(s), "{s:?}");
    if let Some(k) = got {
        assert!(k.0 >= 0);
        assert_eq!(to_kopecks(&k.decimal()), Some(k), "round trip");
    }
    // A JSON scalar's raw text (CloudPayments' JSON amounts) never sees a float.
    if let Ok(raw) = serde_json::from_str::<Box<serde_json::value::RawValue>>(s)
        && let Some(text) = raw_text(&raw)
    {
        let trimmed = raw.get().trim();
        if !trimmed.starts_with('"') {
            assert_eq!(text, trimmed, "numbers keep their text");
        }
        assert_eq!(to_kopecks(&text), reference_kopecks(&text));
    }
    // Integer minor units (sandbox, Stripe, T-Bank).
    if let Ok(value) = serde_json::from_str::<Value>(s)
        && let Some(k) = minor_units(&value)
    {
        assert!(k.0 >= 0);
        match &value {
            Value::Number(n) => assert_eq!(n.as_i64(), Some(k.0)),
            Value::String(t) => assert_eq!(t.parse::<i64>().ok(), Some(k.0)),
            other => panic!("minor units from {other}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The order form.

/// Drives an in-memory future: the body is already there, so no real waiting ever happens.
pub fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1_000 {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("an in-memory body never finished");
}

fn known_code(code: &str) -> bool {
    field_message(code) != field_message("")
}

fn check_api_error(e: &ApiError) {
    assert!(
        e.status.is_client_error(),
        "a bad request is the client's: {} {}",
        e.status,
        e.code
    );
    assert!(!e.code.is_empty());
    for (field, code) in &e.fields {
        assert!(known_code(code), "{field}: unexplained code {code}");
    }
    if e.status == StatusCode::UNPROCESSABLE_ENTITY {
        assert!(!e.fields.is_empty(), "a validation error names its fields");
    }
    let _ = error_page(e);
}

/// `POST /invoices` and the admin's JSON bodies: JSON or a form (by the request's Content-Type),
/// then validation, then the invoice. Every refusal is a 4xx with known field codes; a valid order
/// is within its limits and issues; the form page shown back escapes what was posted.
pub fn form(data: &[u8]) {
    let request = Request::parse(data);
    let body = || axum::body::Body::from(request.body.clone());
    if let Err(e) = ready(read_json_object(&request.headers, body())) {
        check_api_error(&e);
    }
    let input = match ready(read_order(&request.headers, body())) {
        Ok(input) => input,
        Err(e) => return check_api_error(&e),
    };
    let catalogue = crate::samples::catalogue();
    match Order::validate(&input, &catalogue) {
        Ok(order) => check_order(&input, &order),
        Err(fields) => {
            let e = ApiError::validation(fields);
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
            check_api_error(&e);
            check_form_page(&catalogue, &input, &e);
        }
    }
}

fn check_order(input: &crate::domain::OrderInput, order: &Order) {
    assert!((1..=crate::domain::order::MAX_QUANTITY).contains(&order.quantity));
    assert_eq!(Some(order.plan.id.as_str()), input.get("plan").map(|p| p.trim()));
    let name = &order.buyer.name;
    assert!(!name.is_empty() && name.chars().count() <= 300 && !name.chars().any(char::is_control));
    assert_eq!(
        *name,
        name.split_whitespace().collect::<Vec<_>>().join(" "),
        "spaces collapsed"
    );
    assert!(check_inn(&order.buyer.inn).is_ok());
    assert_eq!(
        order.buyer.kpp.is_some(),
        order.buyer.inn.len() == 10,
        "a КПП exactly for organisations"
    );
    if let Some(kpp) = &order.buyer.kpp {
        assert!(check_kpp(kpp).is_ok());
    }
    assert!(order.buyer.email.contains('@'));
    assert!(!order.account.is_empty() && order.account.len() <= 128);
    let at = "2026-11-27T09:00:00Z".parse().expect("a valid instant");
    let invoice = issue(order, &crate::samples::profile(), "inv-fuzz".into(), 1, at).expect("a valid order issues");
    assert_eq!(Some(invoice.total), order.plan.price.checked_mul(order.quantity));
    assert!(invoice.total.0 >= 0 && invoice.due_date >= invoice.issue_date);
}

/// The form comes back with the posted values; none of them may add markup. With every value
/// replaced by a harmless `x`, the page has exactly the same `<`, `>`, `"` and `'`.
fn check_form_page(catalogue: &crate::domain::Catalogue, input: &crate::domain::OrderInput, e: &ApiError) {
    let render = |values: &crate::domain::OrderInput| {
        let token = values.get("idempotency_key").cloned().unwrap_or_default();
        let form = FormState {
            action: "https://billing.example.com/invoices",
            token: &token,
            notice: None,
        };
        order_form(catalogue, values, &e.fields, &form)
    };
    let page = render(input);
    let harmless: crate::domain::OrderInput = input
        .iter()
        .map(|(k, v)| {
            let v = if k == "plan" || v.is_empty() {
                v.clone()
            } else {
                "x".to_owned()
            };
            (k.clone(), v)
        })
        .collect();
    let baseline = render(&harmless);
    for markup in ['<', '>', '"', '\''] {
        assert_eq!(
            page.matches(markup).count(),
            baseline.matches(markup).count(),
            "a posted value added {markup:?} to the page"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook endpoints: conditions and trimmed payloads.

const ALWAYS_SENT: [&str; 3] = ["id", "type", "timestamp"];

fn sample_event() -> Value {
    serde_json::json!({
        "id": "evt_0190a",
        "type": "invoice.paid",
        "timestamp": "2025-03-01T10:00:00+00:00",
        "data": {
            "invoice_id": "inv_1", "number": "ACME-000042", "plan": "pro", "quantity": 3,
            "total": 1_500_000, "currency": "RUB",
            "buyer": {"name": "ООО Ромашка", "inn": "7707083893"},
            "paid_at": "2025-03-01T10:00:00+00:00", "tags": ["a", "b"], "note": null
        }
    })
}

fn at<'a, S: AsRef<str>>(value: &'a Value, path: &[S]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |node, key| node.as_object()?.get(key.as_ref()))
}

/// Paths (as key lists) of the leaves of `value`: non-objects and empty objects.
fn leaves(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                prefix.push(key.clone());
                leaves(child, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push(prefix.clone()),
    }
}

/// One line of endpoint settings as an operator saves them (`events`, `conditions`, `fields`,
/// `enabled`; `id`, `url` and `secret` filled in when missing), then the event JSON (a sample
/// event if it does not parse). Asserts the evaluator's contract, not its code.
pub fn webhook_conditions(data: &[u8]) {
    let (config, event) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let mut config = match serde_json::from_slice::<Value>(config) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (key, default) in [
        ("id", "fuzz"),
        ("url", "https://hooks.example.com/autobill"),
        ("secret", WEBHOOK_SECRET),
    ] {
        config.entry(key).or_insert_with(|| default.into());
    }
    let Ok(endpoint) = serde_json::from_value::<Endpoint>(Value::Object(config)) else {
        return;
    };
    let event = serde_json::from_slice::<Value>(event).unwrap_or_else(|_| sample_event());

    let _ = endpoint.validate(UrlPolicy::Production);
    let _ = endpoint.validate(UrlPolicy::Local);
    let back: Endpoint =
        serde_json::from_value(serde_json::to_value(&endpoint).expect("serialises")).expect("an endpoint reads back");
    assert_eq!(back, endpoint, "settings round trip");

    for condition in &endpoint.conditions {
        check_condition(condition, &event);
    }
    let kind = event.get("type").and_then(Value::as_str);
    let type_wanted =
        endpoint.events.is_empty() || endpoint.events.iter().any(|e| e == "*" || Some(e.as_str()) == kind);
    let expected = endpoint.enabled && type_wanted && endpoint.conditions.iter().all(|c| c.matches(&event));
    assert_eq!(
        endpoint.wants(&event),
        expected,
        "wants = enabled, type and every condition"
    );

    check_payload(&endpoint, &event);
}

fn check_condition(condition: &Condition, event: &Value) {
    let with = |op: Op| {
        Condition {
            op,
            ..condition.clone()
        }
        .matches(event)
    };
    let path: Vec<&str> = condition.path.split('.').collect();
    let Some(field) = at(event, &path) else {
        for op in [Op::Eq, Op::In, Op::Gte, Op::Lte] {
            assert!(!with(op), "a missing field never matches ({op:?} {})", condition.path);
        }
        return;
    };
    let value = &condition.value;
    assert_eq!(with(Op::Eq), field == value, "eq is JSON equality");
    assert_eq!(
        with(Op::In),
        value.as_array().is_some_and(|a| a.contains(field)),
        "in is membership in an array"
    );
    let (gte, lte) = (with(Op::Gte), with(Op::Lte));
    match (field, value) {
        (Value::Number(a), Value::Number(b)) => {
            assert!(gte || lte, "numbers are totally ordered: {a} {b}");
            let exact = |n: &serde_json::Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
            if let (Some(a), Some(b)) = (exact(a), exact(b)) {
                assert_eq!((gte, lte), (a >= b, a <= b), "integers compare exactly, beyond i64 too");
            }
        }
        (Value::String(a), Value::String(b)) => {
            assert!(gte || lte, "strings are totally ordered: {a:?} {b:?}");
            if a == b {
                assert!(gte && lte);
            }
        }
        _ => assert!(!gte && !lte, "mixed types never compare: {field} {value}"),
    }
}

fn check_payload(endpoint: &Endpoint, event: &Value) {
    let payload = endpoint.payload(event);
    if endpoint.fields.is_empty() {
        assert_eq!(&payload, event, "no fields: the whole event");
        return;
    }
    assert!(payload.is_object());
    let chosen: Vec<Vec<&str>> = ALWAYS_SENT
        .iter()
        .copied()
        .chain(endpoint.fields.iter().map(String::as_str))
        .map(|p| p.split('.').collect())
        .filter(|p: &Vec<&str>| at(event, p).is_some())
        .collect();
    for path in &chosen {
        assert_eq!(
            at(&payload, path),
            at(event, path),
            "a chosen field is sent as it is: {path:?}"
        );
    }
    let mut found = Vec::new();
    if payload.as_object().is_some_and(|m| !m.is_empty()) {
        leaves(&payload, &mut Vec::new(), &mut found);
    }
    for leaf in found {
        assert!(
            chosen
                .iter()
                .any(|p| p.len() <= leaf.len() && p.iter().zip(&leaf).all(|(a, b)| a == b)),
            "only chosen fields are sent, not {leaf:?}"
        );
        assert_eq!(at(&payload, &leaf), at(event, &leaf), "sent as it is in the event");
    }
}

/// A 1C bank statement, any bytes: parsed or refused with a line inside the file, never a
/// panic; what parses holds only positive amounts and documents in file order.
pub fn statement(data: &[u8]) {
    match crate::statements::parse::parse(data) {
        Ok(statement) => {
            let lines = data.split(|b| *b == b'\n').count();
            let mut last = 0;
            for doc in &statement.documents {
                assert!(doc.amount.0 > 0, "amount {:?}", doc.amount);
                assert!(!doc.number.is_empty());
                assert!(doc.line > last && doc.line <= lines, "line {} of {lines}", doc.line);
                last = doc.line;
            }
            assert!(matches!(statement.version.as_str(), "1.02" | "1.03"));
            // The same bytes parse the same way.
            assert_eq!(crate::statements::parse::parse(data).ok(), Some(statement));
        }
        Err(e) => {
            assert!(
                e.line <= data.split(|b| *b == b'\n').count().max(1),
                "line {} out of the file",
                e.line
            );
            assert!(!e.reason.is_empty());
        }
    }
}

/// A payment purpose and amounts: the invoices found are named in the text (their sequence's
/// digits appear in it), without repeats; a split never creates or loses a kopeck.
pub fn purpose(data: &[u8]) {
    use crate::statements::matching::{allocate, invoice_numbers};
    if data.len() < 9 {
        return;
    }
    let (head, text) = data.split_at(9);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let found = invoice_numbers(text, "", 2026);
    let mut seen = std::collections::HashSet::new();
    for number in &found {
        assert!(seen.insert(number.to_string()), "{number} twice in {text:?}");
        assert!(text.contains(&number.seq.to_string()), "{number} not in {text:?}");
    }
    // The amount and up to four balances from the first bytes.
    let amount = Kopecks(i64::from(u32::from_le_bytes([head[0], head[1], head[2], head[3]])));
    let dues: Vec<Kopecks> = head[4..4 + usize::from(head[8] % 5).min(4)]
        .iter()
        .map(|b| Kopecks(i64::from(*b) * 1000))
        .collect();
    let split = allocate(amount, &dues);
    let allocated: i64 = split.allocations.iter().map(|a| a.amount.0).sum();
    assert_eq!(
        allocated + split.excess.0,
        amount.0,
        "{amount:?} over {dues:?}: {split:?}"
    );
    for a in &split.allocations {
        assert!(a.amount.0 > 0 && a.amount <= dues[a.index], "{a:?} of {dues:?}");
    }
    let indexes: Vec<usize> = split.allocations.iter().map(|a| a.index).collect();
    assert!(indexes.windows(2).all(|w| w[0] < w[1]), "in order: {indexes:?}");
}
