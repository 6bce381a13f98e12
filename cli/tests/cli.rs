//! The built `autobill` binary against a fake management API: what it sends (method, path,
//! query, body, authentication) and what it prints.

mod support;

use serde_json::{Value, json};
use support::{Answer, FakeApi, Route, answer, autobill, route, temp_dir};

const KEY: &str = "test-admin-key-3f9a";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// `autobill` with the API key and the fake's URL.
fn run(fake: &FakeApi, args: &[&str]) -> support::Run {
    let run = autobill(
        &[("AUTOBILL_API_URL", &fake.url), ("AUTOBILL_ADMIN_API_KEY", KEY)],
        args,
    );
    assert!(
        !run.stdout.contains(KEY) && !run.stderr.contains(KEY),
        "the API key was printed"
    );
    run
}

fn ok(run: &support::Run) {
    assert_eq!(run.code, 0, "stdout: {}\nstderr: {}", run.stdout, run.stderr);
}

fn invoice_view(status: &str, label: &str) -> Value {
    json!({
        "id": "0193f5c2-7a1e-7b4c-9d2e-5f6a7b8c9d0e", "number": "2026-000123",
        "status": status, "status_label": label,
        "total": 1_200_000, "vat_total": 200_000, "currency": "RUB",
        "amount_in_words": "Двенадцать тысяч рублей 00 копеек",
        "plan": "pro-monthly", "quantity": 1, "account": "7707083893",
        "issue_date": "2026-11-24", "due_date": "2026-12-01",
        "pdf_url": "https://files.example.com/2026-000123.pdf?sig=x",
        "invoice_url": "https://pay.example.com/i/abc", "act_url": null
    })
}

fn action_result(status: &str, label: &str) -> Value {
    json!({"invoice": invoice_view(status, label), "audit_id": "aud_1", "event_id": "evt_9"})
}

fn summary(number: &str, status: &str, total: i64, buyer: &str) -> Value {
    json!({
        "id": format!("id-{number}"), "number": number, "status": status, "status_label": "—",
        "total": total, "currency": "RUB", "plan": "pro-monthly", "account": "7707083893",
        "buyer_name": buyer, "issue_date": "2026-11-24", "due_date": "2026-12-01"
    })
}

fn endpoint(secret: Option<&str>) -> Value {
    let mut e = json!({
        "id": "crm", "url": "https://crm.example.com/hooks", "events": ["invoice.paid"],
        "conditions": [{"path": "data.total", "op": "gte", "value": 100000}],
        "fields": ["data.number"], "enabled": true, "secret_hint": "whsec_…x9Q=",
        "failing_since": null, "disabled_reason": null, "disabled_at": null
    });
    if let Some(secret) = secret {
        e["secret"] = json!(secret);
    }
    e
}

fn detail() -> Value {
    json!({
        "invoice": invoice_view("paid", "Оплачен"),
        "buyer": {"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "770701001",
                  "address": "Москва, ул. Ленина, 1", "email": "buh@example.com"},
        "period": {"start": "2026-12-24", "end": "2027-01-24"},
        "paid_at": "2026-11-27T10:00:00Z", "fulfilled_at": "2026-11-27T10:00:05Z",
        "review_reason": null, "void_reason": null,
        "documents": [{"kind": "invoice", "key": "invoices/2026/11/2026-000123.pdf"},
                      {"kind": "act", "key": "acts/2026/11/2026-000123.pdf"}],
        "history": [
            {"kind": "event", "at": "2026-11-24T09:00:00Z", "event_id": "evt_1", "type": "invoice.issued"},
            {"kind": "audit", "at": "2026-11-27T09:59:59Z", "audit_id": "aud_1", "action": "invoice.mark_paid",
             "actor": "arn:aws:sts::123456789012:assumed-role/Operator/alice", "reason": "оплата наличными"},
            {"kind": "payment", "at": "2026-11-27T10:00:00Z", "provider": "manual", "payment_id": "manual_1",
             "amount": 1_200_000, "currency": "RUB", "outcome": "paid"},
            {"kind": "event", "at": "2026-11-27T10:00:00Z", "event_id": "evt_2", "type": "invoice.paid"},
            {"kind": "email", "at": "2026-11-27T10:00:05Z", "message_id": "msg-1", "to": "buh@example.com", "mail": "closing"}
        ],
        "deliveries": [{"event_id": "evt_2", "event_type": "invoice.paid", "endpoint_id": "crm", "attempt": 1,
                        "at": "2026-11-27T10:00:01Z", "status": 200, "outcome": "delivered", "latency_ms": 35}]
    })
}

#[test]
fn invoice_show_by_number_prints_the_invoice_history_and_deliveries() {
    let fake = FakeApi::start(vec![route("GET", "/admin/invoices/2026-000123", 200, detail())]);
    let out = run(&fake, &["invoice", "show", "2026-000123", "--actor", "alice"]);
    ok(&out);
    let request = fake.request();
    assert_eq!((request.method.as_str(), request.query.as_str()), ("GET", ""));
    assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(request.header("x-autobill-actor"), Some("alice"));
    assert!(request.body.is_empty() && request.header("content-type").is_none());

    let text = out.stdout;
    for expected in [
        "Number        2026-000123",
        "Status        Оплачен (paid)",
        "Total         12 000,00 ₽",
        "VAT           2 000,00 ₽",
        "Period        2026-12-24 – 2027-01-24",
        "Paid at       2026-11-27 10:00:00Z",
        "Name     ООО «Ромашка»",
        "invoice  invoices/2026/11/2026-000123.pdf",
        "\nHistory\nAT                    KIND     WHAT",
        "audit    invoice.mark_paid          arn:aws:sts::123456789012:assumed-role/Operator/alice: оплата наличными  aud_1",
        "payment  manual 12 000,00 ₽ → paid",
        "email    closing → buh@example.com",
        "\nDeliveries\n",
        "invoice.paid  crm             1   200  delivered    35 ms  evt_2",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    // No act yet: the line is left out, not printed empty.
    assert!(!text.contains("Act "), "{text}");
}

#[test]
fn void_sends_the_reason() {
    let fake = FakeApi::start(vec![route(
        "POST",
        "/admin/invoices/2026-000123/void",
        200,
        action_result("void", "Аннулирован"),
    )]);
    let out = run(
        &fake,
        &["invoice", "void", "2026-000123", "--reason", "выставлен по ошибке"],
    );
    ok(&out);
    let request = fake.request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.json(), json!({"reason": "выставлен по ошибке"}));
    assert!(out.stdout.contains("Status  Аннулирован (void)"), "{}", out.stdout);
    assert!(out.stdout.contains("Audit   aud_1"), "{}", out.stdout);
}

#[test]
fn mark_paid_sends_reason_and_reference() {
    let fake = FakeApi::start(vec![route(
        "POST",
        "/admin/invoices/2026-000123/mark-paid",
        200,
        action_result("paid", "Оплачен"),
    )]);
    ok(&run(
        &fake,
        &[
            "invoice",
            "mark-paid",
            "2026-000123",
            "--reason",
            "оплата наличными",
            "--reference",
            "ПКО № 17",
        ],
    ));
    assert_eq!(
        fake.request().json(),
        json!({"reason": "оплата наличными", "reference": "ПКО № 17"})
    );
}

#[test]
fn resolve_as_refund_needed() {
    let fake = FakeApi::start(vec![route(
        "POST",
        "/admin/invoices/2026-000123/resolve",
        200,
        action_result("void", "Аннулирован"),
    )]);
    ok(&run(
        &fake,
        &[
            "needs-review",
            "resolve",
            "2026-000123",
            "--as",
            "refund-needed",
            "--reason",
            "оплатили дважды",
        ],
    ));
    assert_eq!(
        fake.request().json(),
        json!({"resolution": "refund_needed", "reason": "оплатили дважды"})
    );
}

#[test]
fn resend_sends_only_what_is_given() {
    let reply = json!({"message_id": "m1", "to": "buh@example.com", "mail": "closing", "audit_id": "aud_2", "event_id": "evt_3"});
    let fake = FakeApi::start(vec![route("POST", "/admin/invoices/2026-000123/resend", 200, reply)]);
    let out = run(&fake, &["invoice", "resend", "2026-000123"]);
    ok(&out);
    assert_eq!(fake.request().json(), json!({}));
    assert!(out.stdout.contains("Sent to  buh@example.com"), "{}", out.stdout);
}

#[test]
fn webhook_create_sends_events_fields_and_parsed_conditions() {
    let fake = FakeApi::start(vec![route("POST", "/admin/webhooks", 201, endpoint(Some("whsec_new")))]);
    let out = run(
        &fake,
        &[
            "webhook",
            "create",
            "--id",
            "crm",
            "--url",
            "https://crm.example.com/hooks",
            "--event",
            "invoice.paid",
            "--event",
            "subscription.activated",
            "--field",
            "data.number",
            "--condition",
            "data.total gte 100000",
            "--condition",
            "data.plan in [\"pro\", \"team\"]",
            "--condition",
            "data.buyer.name eq ООО «Ромашка»",
        ],
    );
    ok(&out);
    let request = fake.request();
    // The API's URL came from the environment; --url after the command is the endpoint's.
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/admin/webhooks")
    );
    assert_eq!(
        request.json(),
        json!({
            "id": "crm", "url": "https://crm.example.com/hooks",
            "events": ["invoice.paid", "subscription.activated"],
            "fields": ["data.number"],
            "conditions": [
                {"path": "data.total", "op": "gte", "value": 100000},
                {"path": "data.plan", "op": "in", "value": ["pro", "team"]},
                {"path": "data.buyer.name", "op": "eq", "value": "ООО «Ромашка»"}
            ]
        })
    );
    assert!(out.stdout.contains("Secret       whsec_new"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Conditions   data.total gte 100000"),
        "{}",
        out.stdout
    );
}

#[test]
fn webhook_update_patches_only_the_given_fields() {
    let fake = FakeApi::start(vec![route("PATCH", "/admin/webhooks/crm", 200, endpoint(None))]);
    ok(&run(
        &fake,
        &["webhook", "update", "crm", "--disable", "--event", "invoice.paid"],
    ));
    assert_eq!(
        fake.request().json(),
        json!({"events": ["invoice.paid"], "enabled": false})
    );

    let fake = FakeApi::start(vec![route("PATCH", "/admin/webhooks/crm", 200, endpoint(None))]);
    ok(&run(
        &fake,
        &[
            "webhook",
            "update",
            "crm",
            "--enable",
            "--url",
            "https://crm.example.com/v2",
        ],
    ));
    assert_eq!(
        fake.request().json(),
        json!({"url": "https://crm.example.com/v2", "enabled": true})
    );
}

#[test]
fn webhook_list_and_delete() {
    let mut disabled = endpoint(None);
    disabled["id"] = json!("erp");
    disabled["enabled"] = json!(false);
    disabled["events"] = json!([]);
    let fake = FakeApi::start(vec![route(
        "GET",
        "/admin/webhooks",
        200,
        json!({"endpoints": [endpoint(None), disabled]}),
    )]);
    let out = run(&fake, &["webhook", "list"]);
    ok(&out);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "ID   ENABLED  URL                            EVENTS        FAILING SINCE"
    );
    assert_eq!(lines[1], "crm  yes      https://crm.example.com/hooks  invoice.paid");
    assert_eq!(lines[2], "erp  no       https://crm.example.com/hooks  all");

    let fake = FakeApi::start(vec![Route {
        method: "DELETE",
        path: "/admin/webhooks/erp",
        answers: vec![Answer {
            status: 204,
            body: String::new(),
            headers: Vec::new(),
        }],
    }]);
    let out = run(&fake, &["webhook", "delete", "erp"]);
    ok(&out);
    assert_eq!(fake.request().method, "DELETE");
    assert_eq!(out.stdout, "Deleted webhook endpoint erp.\n");
}

#[test]
fn event_replay_names_the_endpoint() {
    let reply = json!({"event_id": "evt_2", "endpoint_id": "crm", "attempt": 3, "status": null,
                       "outcome": "connect error", "delivered": false, "audit_id": "aud_7"});
    let fake = FakeApi::start(vec![route("POST", "/admin/events/evt_2/replay", 200, reply)]);
    let out = run(&fake, &["event", "replay", "evt_2", "--endpoint", "crm"]);
    ok(&out);
    assert_eq!(fake.request().json(), json!({"endpoint_id": "crm"}));
    assert!(out.stdout.contains("Delivered  no"), "{}", out.stdout);
    assert!(out.stdout.contains("HTTP       —"), "{}", out.stdout);
}

#[test]
fn event_show_prints_the_payload_and_deliveries() {
    let event = json!({"id": "evt_2", "type": "invoice.paid", "timestamp": "2026-11-27T10:00:00Z",
                       "data": {"number": "2026-000123", "total": 1_200_000, "note": "a\u{1b}[2Jb"}});
    let reply = json!({"event": event, "deliveries": detail()["deliveries"]});
    let fake = FakeApi::start(vec![route("GET", "/admin/events/evt_2", 200, reply)]);
    let out = run(&fake, &["event", "show", "evt_2"]);
    ok(&out);
    assert!(
        out.stdout
            .starts_with("Id    evt_2\nType  invoice.paid\nTime  2026-11-27 10:00:00Z\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\"number\": \"2026-000123\""), "{}", out.stdout);
    assert!(
        !out.stdout.contains('\u{1b}'),
        "a control character reached the terminal"
    );
}

#[test]
fn lists_send_their_query() {
    let page = json!({"invoices": [], "next_cursor": null});
    let fake = FakeApi::start(vec![
        route("GET", "/admin/invoices", 200, page.clone()),
        route("GET", "/admin/accounts/acc%201/invoices", 200, page),
        route("GET", "/admin/audit", 200, json!({"entries": [], "next_cursor": null})),
    ]);
    for args in [
        &["needs-review", "list"][..],
        &["invoice", "list", "--account", "acc 1"],
        &["audit", "list", "--limit", "20"],
    ] {
        let out = run(&fake, args);
        ok(&out);
        assert_eq!(out.stdout, "(none)\n");
    }
    let requests: Vec<(String, String)> = fake.requests().into_iter().map(|r| (r.path, r.query)).collect();
    assert_eq!(
        requests,
        [
            ("/admin/invoices".into(), "status=needs_review".into()),
            ("/admin/accounts/acc%201/invoices".into(), String::new()),
            ("/admin/audit".into(), "limit=20".into()),
        ]
    );
}

#[test]
fn invoice_list_prints_an_aligned_table() {
    let page = json!({"invoices": [
        summary("2026-000123", "overdue", 1_200_000, "ООО «Ромашка»"),
        summary("2026-000124", "overdue", 99_050, "ИП Ёлкин А. Б."),
    ], "next_cursor": "c2"});
    let fake = FakeApi::start(vec![route("GET", "/admin/invoices", 200, page)]);
    let out = run(&fake, &["invoice", "list", "--status", "overdue"]);
    ok(&out);
    assert_eq!(fake.request().query, "status=overdue");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(
        lines[1].starts_with("2026-000123  overdue  12 000,00 ₽  pro-monthly"),
        "{}",
        out.stdout
    );
    assert!(
        lines[2].starts_with("2026-000124  overdue     990,50 ₽  pro-monthly"),
        "{}",
        out.stdout
    );
    // Columns line up by characters, Cyrillic included.
    let column = |line: &str, needle: &str| line[..line.find(needle).unwrap()].chars().count();
    assert_eq!(column(lines[1], "ООО"), column(lines[0], "BUYER"));
    assert_eq!(column(lines[2], "ИП"), column(lines[0], "BUYER"));
    assert_eq!(column(lines[1], "2026-11-24"), column(lines[0], "ISSUED"));
    assert_eq!(column(lines[2], "2026-12-01"), column(lines[0], "DUE"));
    assert!(out.stderr.contains("more invoices"), "{}", out.stderr);
}

#[test]
fn account_show_prints_subscriptions_and_invoices() {
    let subscriptions = json!({"subscriptions": [{"account": "7707083893", "plan": "pro-monthly", "status": "active",
        "period_start": "2026-11-24", "period_end": "2026-12-24", "quantity": 2,
        "last_invoice_id": "id-1", "renewal_invoice_id": null}]});
    let invoices =
        json!({"invoices": [summary("2026-000123", "paid", 1_200_000, "ООО «Ромашка»")], "next_cursor": null});
    let fake = FakeApi::start(vec![
        route("GET", "/admin/accounts/7707083893/subscriptions", 200, subscriptions),
        route("GET", "/admin/accounts/7707083893/invoices", 200, invoices),
    ]);
    let out = run(&fake, &["account", "show", "7707083893"]);
    ok(&out);
    assert!(
        out.stdout
            .contains("pro-monthly  active    2  2026-11-24 – 2026-12-24  id-1          —"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("2026-000123  paid    12 000,00 ₽"),
        "{}",
        out.stdout
    );

    let out = run(&fake, &["account", "show", "7707083893", "--json"]);
    ok(&out);
    let merged: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(merged["subscriptions"][0]["plan"], "pro-monthly");
    assert_eq!(merged["invoices"][0]["number"], "2026-000123");
}

#[test]
fn json_prints_the_api_answer_as_it_came() {
    let fake = FakeApi::start(vec![route("GET", "/admin/invoices/2026-000123", 200, detail())]);
    let out = run(&fake, &["--json", "invoice", "show", "2026-000123"]);
    ok(&out);
    assert_eq!(serde_json::from_str::<Value>(&out.stdout).unwrap(), detail());
    assert!(out.stdout.contains("\n  \"invoice\": {"), "pretty-printed");

    // Key order and number text as the API wrote them.
    let fake = FakeApi::start(vec![Route {
        method: "GET",
        path: "/admin/audit",
        answers: vec![Answer {
            status: 200,
            body: r#"{"next_cursor":"c1","entries":[{"id":"aud_1","details":{"total":1.50}}]}"#.into(),
            headers: Vec::new(),
        }],
    }]);
    let out = run(&fake, &["audit", "list", "--json"]);
    ok(&out);
    assert_eq!(
        out.stdout,
        "{\n  \"next_cursor\": \"c1\",\n  \"entries\": [\n    {\n      \"id\": \"aud_1\",\n      \"details\": {\n        \"total\": 1.50\n      }\n    }\n  ]\n}\n"
    );
    assert_eq!(out.stderr, "", "no notes with --json");
}

#[test]
fn invoice_create_sends_the_order_with_one_idempotency_key_across_retries() {
    let unavailable = answer(503, &json!({"error": "unavailable", "message": "try again"}));
    let created = Answer {
        headers: vec![("idempotent-replayed", "true")],
        ..answer(201, &invoice_view("issued", "Выставлен"))
    };
    let fake = FakeApi::start(vec![Route {
        method: "POST",
        path: "/admin/invoices",
        answers: vec![unavailable, created],
    }]);
    let out = run(
        &fake,
        &[
            "invoice",
            "create",
            "--plan",
            "pro-monthly",
            "--company",
            "ООО «Ромашка»",
            "--inn",
            "7707083893",
            "--kpp",
            "770701001",
            "--address",
            "Москва, ул. Ленина, 1",
            "--email",
            "buh@example.com",
        ],
    );
    ok(&out);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "retried once after 503");
    let keys: Vec<&str> = requests.iter().map(|r| r.header("idempotency-key").unwrap()).collect();
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[0].len(), 36, "a UUID: {}", keys[0]);
    assert_eq!(
        requests[0].json(),
        json!({"plan": "pro-monthly", "quantity": 1, "company": "ООО «Ромашка»", "inn": "7707083893",
               "kpp": "770701001", "address": "Москва, ул. Ленина, 1", "email": "buh@example.com"})
    );
    assert!(out.stdout.contains("Total     12 000,00 ₽"), "{}", out.stdout);
    assert!(out.stdout.contains("nothing new was issued"), "{}", out.stdout);

    // A given key is sent as it is; each run without one gets a new one.
    let fake = FakeApi::start(vec![route(
        "POST",
        "/admin/invoices",
        201,
        invoice_view("issued", "Выставлен"),
    )]);
    let order = [
        "invoice",
        "create",
        "--plan",
        "pro-monthly",
        "--company",
        "ИП Ёлкин",
        "--inn",
        "500100732259",
        "--address",
        "Тверь",
        "--email",
        "a@example.com",
        "--quantity",
        "3",
        "--account",
        "acc-7",
    ];
    ok(&run(&fake, &[&order[..], &["--idempotency-key", "order-42"]].concat()));
    ok(&run(&fake, &order));
    ok(&run(&fake, &order));
    let requests = fake.requests();
    assert_eq!(requests[0].header("idempotency-key"), Some("order-42"));
    assert_ne!(
        requests[1].header("idempotency-key"),
        requests[2].header("idempotency-key")
    );
    let body = requests[0].json();
    assert_eq!(
        (&body["quantity"], &body["account"], body.get("kpp")),
        (&json!(3), &json!("acc-7"), None)
    );
}

#[test]
fn an_api_refusal_exits_1_with_its_message() {
    let refusal =
        json!({"error": "invalid_transition", "message": "Счёт оплачен: аннулировать нельзя.", "status": "paid"});
    let fake = FakeApi::start(vec![route("POST", "/admin/invoices/2026-000123/void", 409, refusal)]);
    let out = run(&fake, &["invoice", "void", "2026-000123", "--reason", "ошибка"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: Счёт оплачен: аннулировать нельзя. (invalid_transition, HTTP 409)\n"
    );
    assert_eq!(fake.requests().len(), 1, "an action is never retried");
}

#[test]
fn a_malformed_answer_exits_1() {
    let fake = FakeApi::start(vec![
        route("GET", "/admin/invoices", 200, json!({"invoices": 5})),
        Route {
            method: "GET",
            path: "/admin/webhooks",
            answers: vec![Answer {
                status: 200,
                body: "<html>".into(),
                headers: Vec::new(),
            }],
        },
    ]);
    for args in [&["invoice", "list", "--status", "paid"][..], &["webhook", "list"]] {
        let out = run(&fake, args);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with("error: unexpected response from the API"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn no_server_exits_1() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = autobill(
        &[("AUTOBILL_ADMIN_API_KEY", KEY)],
        &["--url", &url, "invoice", "void", "X", "--reason", "r"],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("error: cannot reach the API"), "{}", out.stderr);
}

#[test]
fn bad_usage_exits_2_without_calling() {
    let fake = FakeApi::start(Vec::new());
    for args in [
        &["invoice", "list"][..],
        &[
            "webhook",
            "create",
            "--id",
            "a",
            "--url",
            "https://x.example",
            "--condition",
            "data.total > 1",
        ],
        &["needs-review", "resolve", "X", "--as", "refund", "--reason", "r"],
        &["frobnicate"],
    ] {
        let out = run(&fake, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
    }
    assert!(fake.requests().is_empty());
}

/// AWS's environment for one test: only the given credentials, empty config files, no
/// instance metadata.
/// The AWS test suite's example credentials, in eu-central-1.
const EXAMPLE_KEYS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", SECRET),
    ("AWS_REGION", "eu-central-1"),
];

fn aws_env(dir: &std::path::Path, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(&config, "").unwrap();
    std::fs::write(&credentials, "").unwrap();
    let mut env = vec![
        ("HOME", dir.display().to_string()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.display().to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

fn with_env<'a>(env: &'a [(&'static str, String)], url: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("AUTOBILL_API_URL", url));
    pairs
}

#[test]
fn without_an_api_key_requests_are_signed_with_sigv4() {
    let fake = FakeApi::start(vec![
        route(
            "POST",
            "/admin/invoices/2026-000123/void",
            200,
            action_result("void", "Аннулирован"),
        ),
        route(
            "GET",
            "/admin/invoices",
            200,
            json!({"invoices": [], "next_cursor": null}),
        ),
    ]);
    let dir = temp_dir("sigv4");
    let env = aws_env(&dir, &EXAMPLE_KEYS);
    ok(&autobill(
        &with_env(&env, &fake.url),
        &[
            "invoice",
            "void",
            "2026-000123",
            "--reason",
            "выставлен по ошибке",
            "--actor",
            "alice",
        ],
    ));
    let session = aws_env(
        &dir,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr//session+token="),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    // --region wins over AWS_REGION.
    ok(&autobill(
        &with_env(&session, &fake.url),
        &["needs-review", "list", "--region", "eu-central-1"],
    ));

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let authorization = request.header("authorization").expect("signed");
        let rest = authorization
            .strip_prefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            .unwrap_or_else(|| panic!("{authorization}"));
        let (date, rest) = rest.split_at(8);
        assert!(date.bytes().all(|b| b.is_ascii_digit()), "{authorization}");
        assert!(
            rest.starts_with("/eu-central-1/execute-api/aws4_request, SignedHeaders="),
            "{authorization}"
        );
        let amz_date = request.header("x-amz-date").expect("x-amz-date");
        assert!(amz_date.starts_with(date) && amz_date.len() == 16, "{amz_date}");
        // The signature is right for what arrived: method, path, query, headers, body.
        assert_eq!(
            support::sigv4::expected_authorization(&request.sent(), SECRET, authorization),
            Ok(authorization.to_owned())
        );
    }
    let void = &requests[0];
    assert!(
        void.header("authorization")
            .unwrap()
            .contains("SignedHeaders=content-type;host;x-amz-date;x-autobill-actor,"),
        "{:?}",
        void.header("authorization")
    );
    assert!(void.header("x-amz-security-token").is_none());
    let list = &requests[1];
    assert_eq!(list.query, "status=needs_review");
    assert_eq!(
        list.header("x-amz-security-token"),
        Some("FwoGZXIvYXdzEJr//session+token=")
    );
    assert!(
        list.header("authorization")
            .unwrap()
            .contains("SignedHeaders=host;x-amz-date;x-amz-security-token,")
    );
}

#[test]
fn without_an_api_key_or_aws_credentials_exits_2() {
    let fake = FakeApi::start(Vec::new());
    let dir = temp_dir("nocreds");
    let env = aws_env(&dir, &[("AWS_REGION", "eu-central-1")]);
    let out = autobill(&with_env(&env, &fake.url), &["invoice", "show", "2026-000123"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: no credentials: pass --api-key"),
        "{}",
        out.stderr
    );
    assert!(fake.requests().is_empty());
    // An empty key counts as none.
    let mut env = with_env(&env, &fake.url);
    env.push(("AUTOBILL_ADMIN_API_KEY", ""));
    assert_eq!(autobill(&env, &["audit", "list"]).code, 2);
}

/// A statement's bytes as a bank exports them: Windows-1251 (not UTF-8), CRLF.
const STATEMENT: &[u8] = b"1CClientBankExchange\r\n\xc2\xe5\xf0\xf1\xe8\xff\xd4\xee\xf0\xec\xe0\xf2\xe0=1.03\r\n\
\xca\xee\xe4\xe8\xf0\xee\xe2\xea\xe0=Windows\r\n\xca\xee\xed\xe5\xf6\xd4\xe0\xe9\xeb\xe0\r\n";

fn statement_report() -> Value {
    json!({
        "statement_id": "3f2a9c0d1e4b5a6978812c3d",
        "source_key": "uploads/statements/2026/11/3f2a9c0d1e4b5a6978812c3d.txt",
        "report_key": "reports/statements/3f2a9c0d1e4b5a6978812c3d.csv",
        "account": "40702810238000001234",
        "period": {"from": "2026-11-26", "to": "2026-11-26"},
        "summary": {"documents": 4, "applied": 1, "already_applied": 1, "review": 1, "skipped": 1},
        "lines": [
            {"line": 18, "date": "2026-11-26", "number": "512", "payer_inn": "7736207543",
             "payer_name": "ООО «Ромашка»", "payer_account": "40702810900000000001", "amount": 1_900_000,
             "purpose": "Оплата по счетам 2026-000123, 2026-000124", "outcome": "applied",
             "allocations": [
                {"invoice_id": "id-123", "number": "2026-000123", "amount": 1_200_000, "status": "paid", "balance_due": 0},
                {"invoice_id": "id-124", "number": "2026-000124", "amount": 700_000, "status": "partially_paid", "balance_due": 500_000}
             ], "excess": 0, "reason": null},
            {"line": 35, "date": "2026-11-26", "number": "77", "payer_inn": "7707083893", "payer_name": "АО «Вектор»",
             "payer_account": "40702810100000000002", "amount": 500_000, "purpose": "Оплата по договору 15",
             "outcome": "review", "allocations": [], "excess": 0, "reason": "no invoice number in the payment purpose"},
            {"line": 52, "date": "2026-11-26", "number": "78", "payer_inn": "7736207543", "payer_name": "ООО «Ромашка»",
             "payer_account": "40702810900000000001", "amount": 1_250_000, "purpose": "Оплата по счету 2026-000125",
             "outcome": "applied", "allocations": [
                {"invoice_id": "id-125", "number": "2026-000125", "amount": 1_250_000, "status": "paid", "balance_due": 0}
             ], "excess": 50_000, "reason": null},
            {"line": 69, "date": "2026-11-25", "number": "9", "payer_inn": null, "payer_name": null,
             "payer_account": null, "amount": 15_000, "purpose": "Комиссия банка",
             "outcome": "skipped", "allocations": [], "excess": 0, "reason": "outgoing: paid from our account"}
        ]
    })
}

/// A file in this test's own directory.
fn statement_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = temp_dir(name).join("kl_to_1c.txt");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn statement_import_posts_the_file_as_it_is_and_prints_the_report() {
    let fake = FakeApi::start(vec![route("POST", "/statements", 200, statement_report())]);
    let file = statement_file("statement", STATEMENT);
    let out = run(
        &fake,
        &["statement", "import", file.to_str().unwrap(), "--actor", "alice"],
    );
    ok(&out);
    let request = fake.request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str(), request.query.as_str()),
        ("POST", "/statements", "")
    );
    // The bytes as they are (Windows-1251: the server reads the encoding from the file), as a
    // binary body, which API Gateway passes on byte for byte.
    assert_eq!(request.body, STATEMENT);
    assert_eq!(request.header("content-type"), Some("application/octet-stream"));
    assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(request.header("x-autobill-actor"), Some("alice"));
    assert!(request.header("idempotency-key").is_none());

    let text = out.stdout;
    for expected in [
        "Statement  3f2a9c0d1e4b5a6978812c3d\n",
        "Account    40702810238000001234\n",
        "Period     2026-11-26 – 2026-11-26\n",
        "Report     reports/statements/3f2a9c0d1e4b5a6978812c3d.csv\n",
        "\n4 documents: 1 applied, 1 already applied, 1 for review, 1 skipped\n",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("LINE")).expect("a table");
    assert_eq!(
        &lines[header..],
        [
            "LINE  DATE        NUMBER       AMOUNT  OUTCOME  INVOICES / REASON",
            "  18  2026-11-26  512     19 000,00 ₽  applied  \
             2026-000123 12 000,00 ₽ → paid; 2026-000124 7 000,00 ₽ → partially_paid, 5 000,00 ₽ due",
            "  35  2026-11-26  77       5 000,00 ₽  review   no invoice number in the payment purpose",
            "  52  2026-11-26  78      12 500,00 ₽  applied  2026-000125 12 500,00 ₽ → paid; excess 500,00 ₽",
            "  69  2026-11-25  9          150,00 ₽  skipped  outgoing: paid from our account",
        ]
    );
    // Lines waiting for an operator are pointed out, on stderr.
    assert!(
        out.stderr.contains("1 transfer(s) wait for an operator"),
        "{}",
        out.stderr
    );
}

#[test]
fn statement_import_json_prints_the_report_as_it_came() {
    let fake = FakeApi::start(vec![route("POST", "/statements", 200, statement_report())]);
    let file = statement_file("statement-json", STATEMENT);
    let out = run(&fake, &["--json", "statement", "import", file.to_str().unwrap()]);
    ok(&out);
    assert_eq!(serde_json::from_str::<Value>(&out.stdout).unwrap(), statement_report());
    assert!(out.stdout.contains("\n  \"statement_id\": "), "pretty-printed");
    assert_eq!(out.stderr, "", "no notes with --json");
    assert_eq!(fake.request().body, STATEMENT);
}

#[test]
fn a_malformed_statement_exits_1_with_the_line() {
    let refusal = json!({"error": "malformed_statement", "message": "line 3: КонецДокумента missing", "line": 3});
    let fake = FakeApi::start(vec![route("POST", "/statements", 422, refusal)]);
    let file = statement_file("statement-bad", b"1CClientBankExchange\r\n");
    let out = run(&fake, &["statement", "import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: line 3: КонецДокумента missing (malformed_statement, HTTP 422)\n"
    );
    assert_eq!(fake.requests().len(), 1, "an import is never retried");
}

#[test]
fn statement_import_refuses_a_missing_or_too_large_file_without_calling() {
    let fake = FakeApi::start(Vec::new());
    let dir = temp_dir("statement-usage");
    let missing = dir.join("no-such-statement.txt");
    let out = run(&fake, &["statement", "import", missing.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: cannot read "), "{}", out.stderr);

    let big = dir.join("big.txt");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(4 * 1024 * 1024 + 1).unwrap();
    let out = run(&fake, &["statement", "import", big.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("at most 4 MiB"), "{}", out.stderr);
    assert!(fake.requests().is_empty());
}

#[test]
fn statement_import_signs_the_file_with_sigv4_without_an_api_key() {
    let fake = FakeApi::start(vec![route("POST", "/statements", 200, statement_report())]);
    let file = statement_file("statement-sigv4", STATEMENT);
    let dir = temp_dir("statement-sigv4-aws");
    let env = aws_env(&dir, &EXAMPLE_KEYS);
    ok(&autobill(
        &with_env(&env, &fake.url),
        &["statement", "import", file.to_str().unwrap()],
    ));
    let request = fake.request();
    let authorization = request.header("authorization").expect("signed");
    assert!(
        authorization.contains("/eu-central-1/execute-api/aws4_request, SignedHeaders=content-type;host;x-amz-date,"),
        "{authorization}"
    );
    // The signature covers the file's bytes as they arrived.
    assert_eq!(request.body, STATEMENT);
    assert_eq!(
        support::sigv4::expected_authorization(&request.sent(), SECRET, authorization),
        Ok(authorization.to_owned())
    );
}

#[test]
fn invoice_show_prints_what_was_paid_and_what_is_due_of_a_partially_paid_invoice() {
    let mut partial = detail();
    partial["invoice"] = invoice_view("partially_paid", "Частично оплачен");
    partial["invoice"]["amount_paid"] = json!(700_000);
    partial["invoice"]["balance_due"] = json!(500_000);
    let fake = FakeApi::start(vec![route("GET", "/admin/invoices/2026-000123", 200, partial)]);
    let out = run(&fake, &["invoice", "show", "2026-000123"]);
    ok(&out);
    for expected in [
        "Status        Частично оплачен (partially_paid)\n",
        "Total         12 000,00 ₽\nPaid so far   7 000,00 ₽\nBalance due   5 000,00 ₽\nVAT ",
    ] {
        assert!(out.stdout.contains(expected), "{expected:?} not in\n{}", out.stdout);
    }

    // Not for another status, nor from a server that sends neither field.
    let fake = FakeApi::start(vec![route("GET", "/admin/invoices/2026-000123", 200, detail())]);
    let out = run(&fake, &["invoice", "show", "2026-000123"]);
    ok(&out);
    assert!(
        !out.stdout.contains("Paid so far") && !out.stdout.contains("Balance due"),
        "{}",
        out.stdout
    );
}

#[test]
fn invoice_list_takes_partially_paid() {
    let page = json!({"invoices": [summary("2026-000124", "partially_paid", 1_200_000, "ООО «Ромашка»")], "next_cursor": null});
    let fake = FakeApi::start(vec![route("GET", "/admin/invoices", 200, page)]);
    let out = run(&fake, &["invoice", "list", "--status", "partially-paid"]);
    ok(&out);
    assert_eq!(fake.request().query, "status=partially_paid");
    assert!(
        out.stdout.contains("2026-000124  partially_paid  12 000,00 ₽"),
        "{}",
        out.stdout
    );
}
