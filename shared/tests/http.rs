//! The HTTP contract, driven through the routers with in-memory adapters.

mod common;

use autobill::adapters::memory::MemoryStore;
use autobill::http::links::Links;
use autobill::http::{CatalogueApi, InvoiceApi, create_invoice_router, get_invoice_router, plans_router, with_cors};
use autobill::service::Invoices;
use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const SECRET: &[u8] = b"test-link-secret-0123456789";

fn app(store: &MemoryStore) -> Router {
    let billing = Arc::new(common::billing(""));
    let clock = Arc::new(common::at("2026-11-27T12:00:00Z"));
    let api = Arc::new(InvoiceApi {
        service: Invoices {
            store: store.clone(),
            documents: store.clone(),
            billing: billing.clone(),
            clock: clock.clone(),
        },
        links: Links::new(SECRET.to_vec(), Some("https://billing.example".into())),
        pdf_link_ttl: Duration::from_secs(600),
        sandbox_pay: false,
    });
    let router = plans_router(Arc::new(CatalogueApi { billing, clock }))
        .merge(create_invoice_router(api.clone()))
        .merge(get_invoice_router(api));
    with_cors(router, &["https://shop.example".to_owned()])
}

fn order() -> Value {
    json!({
        "plan": "start",
        "company": "ООО «Ромашка»",
        "inn": "7736207543",
        "kpp": "770401001",
        "address": "Москва, ул. Льва Толстого, 16",
        "email": "buh@romashka.example"
    })
}

fn post_json() -> http::request::Builder {
    Request::post("/invoices").header("content-type", "application/json")
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    (
        parts.status,
        parts.headers,
        axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec(),
    )
}

async fn send_json(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = send(app, req).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn plans_list_the_catalogue_in_kopecks() {
    let (status, body) = send_json(
        &app(&MemoryStore::default()),
        Request::get("/plans").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body[0],
        json!({"id": "start", "title": "Старт", "price": 1200000, "period_months": 1, "vat": "22%", "currency": "RUB"})
    );
}

#[tokio::test]
async fn a_json_order_becomes_an_issued_invoice_with_links() {
    let store = MemoryStore::default();
    let app = app(&store);
    let req = post_json().body(Body::from(order().to_string())).unwrap();
    let (status, headers, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["number"], "2026-000001");
    assert_eq!(v["status"], "issued");
    assert_eq!(v["status_label"], "Не оплачен");
    assert_eq!(v["total"], 1_200_000);
    assert_eq!(v["vat_total"], 216_393);
    assert_eq!(v["currency"], "RUB");
    assert_eq!(v["amount_in_words"], "Двенадцать тысяч рублей 00 копеек");
    assert_eq!(v["due_date"], "2026-12-02");
    let id = v["id"].as_str().unwrap();
    let invoice_url = v["invoice_url"].as_str().unwrap();
    assert!(invoice_url.starts_with(&format!("https://billing.example/invoices/{id}?token=")));
    assert_eq!(headers["location"], invoice_url);
    assert!(
        v["pdf_url"]
            .as_str()
            .unwrap()
            .contains("invoices/2026/11/2026-000001.pdf")
    );
    // The PDF exists before the answer.
    assert!(
        store
            .document("invoices/2026/11/2026-000001.pdf")
            .unwrap()
            .starts_with(b"%PDF-")
    );

    // The invoice link answers JSON with the same keys, or a page.
    let path = invoice_url.trim_start_matches("https://billing.example");
    let req = Request::get(path)
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let (status, got) = send_json(&app, req).await;
    assert_eq!(status, StatusCode::OK);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&v));
    assert_eq!(got["number"], v["number"]);
    let (status, _, page) = send(
        &app,
        Request::get(path)
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("Не оплачен") && page.contains("2026-000001") && page.contains("12 000,00"),
        "{page}"
    );

    // A wrong token looks like a missing invoice; so does a missing one.
    let wrong = format!("/invoices/{id}?token=00000000000000000000000000000000");
    let (status, body) = send_json(
        &app,
        Request::get(&wrong)
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let missing = format!(
        "/invoices/nope?token={}",
        Links::new(SECRET.to_vec(), None).token("nope")
    );
    let (status, body) = send_json(
        &app,
        Request::get(&missing)
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // The permanent PDF link redirects to a fresh presigned one.
    let pdf = path.replacen('?', "/pdf?", 1);
    let (status, headers, _) = send(&app, Request::get(&pdf).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().contains("2026-000001.pdf"));
}

#[tokio::test]
async fn a_browser_form_post_is_redirected_to_the_invoice_page() {
    let store = MemoryStore::default();
    let form = "plan=pro&quantity=2&company=%D0%9E%D0%9E%D0%9E+%C2%AB%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0%C2%BB\
                &inn=500100732259&kpp=&address=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&email=ip%40example.ru";
    let req = Request::post("/invoices")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .body(Body::from(form))
        .unwrap();
    let (status, headers, _) = send(&app(&store), req).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .starts_with("https://billing.example/invoices/")
    );
    assert_eq!(store.invoice_count(), 1);
}

#[tokio::test]
async fn a_browser_form_with_mistakes_comes_back_with_errors_next_to_the_fields() {
    let store = MemoryStore::default();
    let form = "idempotency_key=form-1&plan=pro&quantity=1&company=%D0%9E%D0%9E%D0%9E+%D0%A0%D0%BE%D0%B3%D0%B0\
                &inn=7736207544&kpp=770401001&address=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&email=not-an-email";
    let req = Request::post("/invoices")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .body(Body::from(form))
        .unwrap();
    let (status, _, body) = send(&app(&store), req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains(r#"<form id="order-form" method="post" action="https://billing.example/invoices""#),
        "{page}"
    );
    assert!(page.contains(r#"id="email-error" data-code="invalid_email""#), "{page}");
    assert!(
        page.contains(r#"id="inn-error" data-code="invalid_checksum""#),
        "{page}"
    );
    assert!(page.contains(r#"value="not-an-email""#), "what was typed is kept");
    assert!(page.contains(r#"<option value="pro" selected>"#));
    assert!(
        page.contains(r#"name="idempotency_key" value="form-1""#),
        "the same token, still unused"
    );
    assert!(page.contains(r#"aria-describedby="email-error" aria-invalid="true""#));
    assert_eq!(store.invoice_count(), 0);

    // The vendor's hidden account survives the round trip; a reused token gets a fresh one.
    let good = "idempotency_key=form-2&account=crm-42&plan=pro&company=%D0%9E%D0%9E%D0%9E&inn=7736207543\
                &kpp=770401001&address=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&email=a%40b.ru";
    let post = |body: String| {
        Request::post("/invoices")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .body(Body::from(body))
            .unwrap()
    };
    let (status, _, body) = send(&app(&store), post(good.replace("a%40b.ru", "nope"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains(r#"<input type="hidden" name="account" value="crm-42">"#)
    );
    let (status, _, _) = send(&app(&store), post(good.to_owned())).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Back, change the order, send again: the same token with another order.
    let (status, _, body) = send(&app(&store), post(good.replace("plan=pro", "plan=start"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("счёт уже выставлен") && !page.contains(r#"value="form-2""#),
        "{page}"
    );
    assert_eq!(store.invoice_count(), 1);
}

#[tokio::test]
async fn the_invoice_page_speaks_russian_and_english() {
    let store = MemoryStore::default();
    let app = app(&store);
    let (status, view) = send_json(
        &app,
        Request::post("/invoices")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"plan":"pro","company":"ООО «Ромашка»","inn":"7736207543","kpp":"770401001","address":"Москва","email":"a@b.ru"}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let url = view["invoice_url"]
        .as_str()
        .unwrap()
        .replace("https://billing.example", "");
    let page = |path: String| {
        let app = app.clone();
        async move {
            let req = Request::get(path)
                .header("accept", "text/html")
                .body(Body::empty())
                .unwrap();
            let (status, _, body) = send(&app, req).await;
            assert_eq!(status, StatusCode::OK);
            String::from_utf8(body).unwrap()
        }
    };
    let ru = page(url.clone()).await;
    assert!(ru.contains(r#"<html lang="ru">"#) && ru.contains("Не оплачен") && ru.contains(r#"data-link="pdf""#));
    assert!(ru.contains(r#"data-lang="en""#));
    let en = page(format!("{url}&lang=en")).await;
    assert!(en.contains(r#"<html lang="en">"#) && en.contains("Unpaid") && en.contains("Download the invoice (PDF)"));
    assert!(en.contains(r#"data-lang="ru""#));
}

#[tokio::test]
async fn bad_input_is_refused_with_codes_and_writes_nothing() {
    let store = MemoryStore::default();
    let app = app(&store);
    let with = |k: &str, v: Value| {
        let mut o = order();
        o[k] = v;
        o.to_string()
    };
    // (content type, body, status, error code, (field, field code))
    type Case<'a> = (&'a str, String, StatusCode, &'a str, Option<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "application/json",
            "{\"plan\":".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            "text/plain",
            order().to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            "application/json; charset=latin1",
            order().to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            "application/json",
            with("inn", json!("7736207544")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("inn", "invalid_checksum")),
        ),
        (
            "application/json",
            with("inn", json!("12345")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("inn", "invalid_format")),
        ),
        (
            "application/json",
            with("kpp", json!("7704010")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("kpp", "invalid_format")),
        ),
        (
            "application/json",
            with("plan", json!("gold")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("plan", "unknown_plan")),
        ),
        (
            "application/json",
            with("quantity", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("quantity", "out_of_range")),
        ),
        (
            "application/json",
            with("quantity", json!(-3)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("quantity", "out_of_range")),
        ),
        (
            "application/json",
            with("quantity", json!(1_000_000_000)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("quantity", "out_of_range")),
        ),
        (
            "application/json",
            with("colour", json!("red")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("colour", "unknown_field")),
        ),
        (
            "application/json",
            with("email", json!({"a": 1})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(("email", "invalid_type")),
        ),
        (
            "application/json",
            "x".repeat(20_000),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            None,
        ),
    ];
    for (ct, body, want_status, want_code, want_field) in cases {
        let req = Request::post("/invoices")
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap();
        let (status, v) = send_json(&app, req).await;
        assert_eq!(status, want_status, "{ct} {v}");
        assert_eq!(v["error"], want_code, "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(v["fields"].is_object(), "{v}");
        if let Some((field, code)) = want_field {
            assert_eq!(v["fields"][field], code, "{v}");
        }
    }
    // Invalid UTF-8.
    let req = Request::post("/invoices")
        .header("content-type", "application/json")
        .body(Body::from(vec![b'{', 0xff, b'}']))
        .unwrap();
    let (status, v) = send_json(&app, req).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_utf8"))
    );
    // A browser gets the form back, the errors next to their fields.
    let req = Request::post("/invoices")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .body(Body::from("plan=start&inn=1"))
        .unwrap();
    let (status, _, page) = send(&app, req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8(page).unwrap().contains("id=\"inn-error\""));

    assert_eq!(store.invoice_count(), 0);
    assert_eq!(store.document_count(), 0);
    assert_eq!(store.counter("", 2026), 0);
}

#[tokio::test]
async fn idempotency_key_replays_or_conflicts() {
    let store = MemoryStore::default();
    let app = app(&store);
    let req = |body: String| {
        Request::post("/invoices")
            .header("content-type", "application/json")
            .header("idempotency-key", "order-42")
            .body(Body::from(body))
            .unwrap()
    };
    let (s1, h1, b1) = send(&app, req(order().to_string())).await;
    let (s2, h2, b2) = send(&app, req(order().to_string())).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    let (v1, v2): (Value, Value) = (
        serde_json::from_slice(&b1).unwrap(),
        serde_json::from_slice(&b2).unwrap(),
    );
    assert_eq!(v1["id"], v2["id"]);
    assert!(h1.get("idempotent-replayed").is_none());
    assert_eq!(h2["idempotent-replayed"], "true");
    let mut other = order();
    other["quantity"] = json!(2);
    let (s3, v3) = send_json(&app, req(other.to_string())).await;
    assert_eq!(
        (s3, v3["error"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_key_reused"))
    );
    assert_eq!(store.invoice_count(), 1);

    // The same key as a form field, for plain HTML forms.
    let mut with_field = order();
    with_field["idempotency_key"] = json!("form-token-1");
    let body = with_field.to_string();
    let plain = |b: &str| {
        Request::post("/invoices")
            .header("content-type", "application/json")
            .body(Body::from(b.to_owned()))
            .unwrap()
    };
    let (_, a) = send_json(&app, plain(&body)).await;
    let (_, b) = send_json(&app, plain(&body)).await;
    assert_eq!(a["id"], b["id"]);
    assert_eq!(store.invoice_count(), 2);
}

#[tokio::test]
async fn cors_answers_configured_origins_only() {
    let app = app(&MemoryStore::default());
    let preflight = |origin: &str| {
        Request::options("/invoices")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,idempotency-key")
            .body(Body::empty())
            .unwrap()
    };
    let (_, h, _) = send(&app, preflight("https://shop.example")).await;
    assert_eq!(h["access-control-allow-origin"], "https://shop.example");
    let (_, h, _) = send(&app, preflight("https://evil.example")).await;
    assert!(h.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_missing_pdf_is_rendered_again_on_read() {
    let store = MemoryStore::default();
    let app = app(&store);
    let (_, v) = send_json(&app, post_json().body(Body::from(order().to_string())).unwrap()).await;
    store.remove_document("invoices/2026/11/2026-000001.pdf");
    let path = v["invoice_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("https://billing.example")
        .to_owned();
    let (status, _) = send_json(
        &app,
        Request::get(&path)
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(store.document("invoices/2026/11/2026-000001.pdf").is_some());
}
