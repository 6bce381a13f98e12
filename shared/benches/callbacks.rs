//! Time to verify one valid payment callback per provider:
//! `cargo bench -p autobill --bench callbacks`.

use autobill::payments::cloudpayments::CloudPayments;
use autobill::payments::robokassa::{HashAlg, Robokassa};
use autobill::payments::sandbox::{self, Sandbox};
use autobill::payments::stripe::Stripe;
use autobill::payments::tbank::TBank;
use autobill::payments::yookassa::YooKassa;
use autobill::payments::{Provider, RawCallback, Verified};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::net::IpAddr;

const NOW: i64 = 1_700_000_000;

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

struct Case {
    name: &'static str,
    provider: Box<dyn Provider>,
    method: Method,
    headers: HeaderMap,
    query: String,
    body: Vec<u8>,
    source_ip: Option<IpAddr>,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();

    let secret = "whsec_bench_secret";
    let body = serde_json::json!({
        "id": "evt_1", "object": "event", "type": "checkout.session.completed", "livemode": false,
        "data": {"object": {"id": "cs_1", "object": "checkout.session", "amount_total": 120_000,
            "currency": "rub", "payment_status": "paid", "payment_intent": "pi_1", "status": "complete",
            "customer_details": {"email": "buyer@example.ru", "name": "Buyer"},
            "metadata": {"invoice_id": "0190c3e2-7b1a-7c3e-9f00-000000000001"}}}
    })
    .to_string()
    .into_bytes();
    let sig = hex::encode(hmac_sha256(secret.as_bytes(), &[format!("{NOW}.").as_bytes(), &body]));
    let mut headers = HeaderMap::new();
    headers.insert("stripe-signature", format!("t={NOW},v1={sig}").parse().unwrap());
    cases.push(Case {
        name: "stripe",
        provider: Box::new(Stripe::new(secret.into(), 300)),
        method: Method::POST,
        headers,
        query: String::new(),
        body,
        source_ip: None,
    });

    let body = br#"{"type":"notification","event":"payment.succeeded","object":{"id":"2d9f5c36-000f-5000-9000-1d3b6a4a1b4c","status":"succeeded","paid":true,"amount":{"value":"1200.00","currency":"RUB"},"metadata":{"invoice_id":"0190c3e2-7b1a-7c3e-9f00-000000000001"}}}"#;
    cases.push(Case {
        name: "yookassa",
        provider: Box::new(YooKassa::published()),
        method: Method::POST,
        headers: HeaderMap::new(),
        query: String::new(),
        body: body.to_vec(),
        // The last IPv4 range, the worst case before IPv6.
        source_ip: Some("77.75.154.200".parse().unwrap()),
    });

    let secret = "cp_bench_secret";
    let body = b"TransactionId=1504&Amount=1200.00&Currency=RUB&PaymentAmount=1200.00&PaymentCurrency=RUB\
&DateTime=2026-01-05+10%3A00%3A00&CardFirstSix=424242&CardLastFour=4242&CardType=Visa&CardExpDate=12%2F30\
&TestMode=0&Status=Completed&OperationType=Payment&GatewayName=Test\
&InvoiceId=0190c3e2-7b1a-7c3e-9f00-000000000001&AccountId=buyer%40example.ru&Email=buyer%40example.ru"
        .to_vec();
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-hmac",
        STANDARD
            .encode(hmac_sha256(secret.as_bytes(), &[&body]))
            .parse()
            .unwrap(),
    );
    headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
    cases.push(Case {
        name: "cloudpayments",
        provider: Box::new(CloudPayments::new(secret.into())),
        method: Method::POST,
        headers,
        query: String::new(),
        body,
        source_ip: None,
    });

    let (terminal, password) = ("1321054611234DEMO", "bench_password");
    let concat = format!(
        "120000322264011220190c3e2-7b1a-7c3e-9f00-000000000001430000******0777{password}8742591CONFIRMEDtrue{terminal}"
    );
    let token = hex::encode(Sha256::digest(concat.as_bytes()));
    let body = format!(
        r#"{{"TerminalKey":"{terminal}","OrderId":"0190c3e2-7b1a-7c3e-9f00-000000000001","Success":true,"Status":"CONFIRMED","PaymentId":8742591,"ErrorCode":"0","Amount":120000,"CardId":322264,"Pan":"430000******0777","ExpDate":"1122","Token":"{token}"}}"#
    );
    cases.push(Case {
        name: "tbank",
        provider: Box::new(TBank::new(terminal.into(), password.into())),
        method: Method::POST,
        headers: HeaderMap::new(),
        query: String::new(),
        body: body.into_bytes(),
        source_ip: None,
    });

    let password2 = "bench_password2";
    let sig = hex::encode(md5::Md5::digest(
        format!("1200.000000:2026000123:{password2}:Shp_plan=pro").as_bytes(),
    ));
    let body = format!(
        "out_summ=1200.000000&OutSum=1200.000000&inv_id=2026000123&InvId=2026000123&crc={sig}\
&SignatureValue={sig}&PaymentMethod=BankCard&IncSum=1200.000000&IncCurrLabel=BankCardPSR&IsTest=1\
&EMail=buyer%40example.ru&Fee=0.0&Shp_plan=pro"
    );
    cases.push(Case {
        name: "robokassa",
        provider: Box::new(Robokassa::new(password2.into(), HashAlg::Md5, String::new())),
        method: Method::POST,
        headers: HeaderMap::new(),
        query: String::new(),
        body: body.into_bytes(),
        source_ip: None,
    });

    let secret = b"sandbox_bench_secret".to_vec();
    let body = br#"{"invoice_id":"0190c3e2-7b1a-7c3e-9f00-000000000001","payment_id":"sbx_1","amount":120000,"currency":"RUB"}"#;
    let mut headers = HeaderMap::new();
    headers.insert("sandbox-signature", sandbox::sign(&secret, NOW, body).parse().unwrap());
    cases.push(Case {
        name: "sandbox",
        provider: Box::new(Sandbox::new(secret, 300)),
        method: Method::POST,
        headers,
        query: String::new(),
        body: body.to_vec(),
        source_ip: None,
    });

    cases
}

fn verify(c: &mut Criterion) {
    let cases = cases();
    let mut group = c.benchmark_group("verify");
    for case in &cases {
        let callback = RawCallback {
            method: &case.method,
            headers: &case.headers,
            query: &case.query,
            body: &case.body,
            source_ip: case.source_ip,
            now: NOW,
        };
        // Only valid callbacks are measured.
        let verified = case.provider.verify(&callback);
        assert!(
            matches!(verified, Ok(Verified::Notice(_) | Verified::Fetch { .. })),
            "{}: {verified:?}",
            case.name
        );
        group.bench_function(case.name, |b| b.iter(|| case.provider.verify(black_box(&callback))));
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
