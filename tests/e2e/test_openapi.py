"""openapi.yaml against the running local stack. Schemathesis generates requests from the spec
(valid and invalid) for every documented operation and finds no server error and no answer the
spec does not describe: status code, content type, headers, body schema. Answers random data
cannot reach (signed callbacks, an idempotent replay, a paid invoice's act) are sent by hand and
checked against the spec the same way."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import schemathesis
import yaml
from openapi_spec_validator import validate as validate_openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import SECRETS
from test_payments import ORDER, cloudpayments_post, new_invoice, sandbox_body, sandbox_post, tbank_token

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
# Fixed, so a failure reproduces with the same command.
SEED = "20261127"
CLI = "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"
# Pages are text: validated as strings against the spec's `HtmlPage` (and as UTF-8).
HOOKS = '''
import schemathesis


@schemathesis.deserializer("text/html")
def html(ctx, response):
    return response.content.decode("utf-8")
'''


def fuzz(app: str, tmp_path: Path, *args: str, config: str | None = None) -> Counter:
    """`schemathesis run` on the spec against the app; fails with its report unless everything
    passes. Returns how often each (method, operation, status) was seen."""
    (tmp_path / "hooks.py").write_text(HOOKS)
    cmd = [sys.executable, "-c", CLI, "--no-color"]
    if config is not None:
        (tmp_path / "schemathesis.toml").write_text(config)
        cmd += ["--config-file", str(tmp_path / "schemathesis.toml")]
    cmd += [
        "run", str(SPEC), "--url", app, "--checks", ",".join(c.__name__ for c in CHECKS), "--seed", SEED,
        "--generation-database", "none", "--request-timeout", "10", "--workers", "1",
        "--report", "har", "--report-har-path", str(tmp_path / "run.har"), *args,
    ]
    # The working directory is scratch: nothing (.hypothesis, reports) lands in the repository.
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": str(tmp_path / "hooks.py")})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"schemathesis {' '.join(args)} failed (exit {proc.returncode}):\n{output}"
    har = tmp_path / "run.har"
    entries = json.loads(har.read_text())["log"]["entries"]
    har.unlink()  # megabytes; the counts below say what it held
    seen = Counter((e["request"]["method"], operation(e["request"]["url"]), e["response"]["status"]) for e in entries)
    print(output, sorted(seen.items()), sep="\n")
    assert not any(status >= 500 for _, _, status in seen), seen
    return seen


# The spec's paths as patterns, literal ones first (`/admin/invoices` before `/admin/invoices/{ref}`).
PATHS = [(t, re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t))))
         for t in sorted(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"], key=lambda t: t.count("{"))]


def operation(url: str) -> str:
    """The spec path a request URL belongs to."""
    path = urlsplit(url).path
    return next((template for template, pattern in PATHS if pattern.fullmatch(path)), path)


def test_every_operation_conforms_under_fuzzing(app, tmp_path):
    """Every public operation, with schema-valid and invalid data: ids, tokens, orders, callbacks."""
    seen = fuzz(app, tmp_path, "--exclude-tag", "management", "--max-examples", "25")
    documented = {("GET", "/plans"), ("POST", "/invoices"), ("GET", "/invoices/{id}"), ("GET", "/invoices/{id}/pdf"),
                  ("GET", "/invoices/{id}/act"), ("GET", "/callbacks/{provider}"), ("POST", "/callbacks/{provider}")}
    assert documented <= {(m, op) for m, op, _ in seen}, "an operation was not exercised"
    assert seen[("GET", "/plans", 200)] and seen[("POST", "/invoices", 201)] and seen[("POST", "/invoices", 422)]


def test_browser_orders_conform(app, tmp_path):
    """`POST /invoices` from a browser: a 303 to the invoice page, or HTML error pages."""
    seen = fuzz(app, tmp_path, "--include-name", "POST /invoices", "--header", "Accept: text/html",
                "--max-examples", "25")
    assert seen[("POST", "/invoices", 303)] and seen[("POST", "/invoices", 422)]


def test_invoice_links_conform_for_a_paid_invoice(app, tmp_path):
    """The links of a real, paid and fulfilled invoice: the page, the JSON, both PDF redirects."""
    inv = new_invoice(app)
    assert sandbox_post(app, sandbox_body(inv)).status_code == 200
    deadline = time.monotonic() + 20
    while requests.get(inv["invoice_url"], headers={"Accept": "application/json"}).json()["act_url"] is None:
        assert time.monotonic() < deadline, "the act did not appear"
        time.sleep(0.2)
    token = parse_qs(urlsplit(inv["invoice_url"]).query)["token"][0]
    config = f'''
[[operations]]
include-path-regex = "^/invoices/\\\\{{id\\\\}}"
parameters = {{ "path.id" = "{inv['id']}", "query.token" = "{token}" }}
'''
    for accept in ["text/html", "application/json"]:
        seen = fuzz(app, tmp_path, "--include-path-regex", r"^/invoices/\{id\}", "--mode", "positive",
                    "--header", f"Accept: {accept}", "--max-examples", "5", config=config)
        assert seen[("GET", "/invoices/{id}", 200)], "the config's id and token were not used"
        assert seen[("GET", "/invoices/{id}/pdf", 303)] and seen[("GET", "/invoices/{id}/act", 303)]


# Answers random data cannot reach, sent by hand and checked against the spec.

SPEC_SCHEMA = schemathesis.openapi.from_path(SPEC)


def conforms(method: str, path: str, response: requests.Response, **parameters) -> requests.Response:
    """Fails unless the spec's operation `method path` documents this response exactly."""
    case = SPEC_SCHEMA[path][method].Case(**parameters)
    case.validate_response(response, checks=CHECKS)
    return response


def signed_sandbox(app, body: bytes) -> requests.Response:
    return sandbox_post(app, {}, raw=body)


def stripe_post(app, event: dict, secret: str = SECRETS["stripe"]) -> requests.Response:
    data = json.dumps(event).encode()
    t = int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + data, hashlib.sha256).hexdigest()
    return requests.post(f"{app}/callbacks/stripe", data=data,
                         headers={"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={sig}"})


def tbank_post(app, fields: dict, password: str = SECRETS["tbank_password"]) -> requests.Response:
    return requests.post(f"{app}/callbacks/tbank", json={**fields, "Token": tbank_token(fields, password)})


def robokassa_get(app, inv: dict | None, password: str = SECRETS["robokassa"]) -> requests.Response:
    inv_id = inv["number"].replace("-", "") if inv else "1999000001"
    out_sum = f"{inv['total'] // 100}.{inv['total'] % 100:02d}" if inv else "1.00"
    sig = hashlib.md5(f"{out_sum}:{inv_id}:{password}".encode()).hexdigest()
    return requests.get(f"{app}/callbacks/robokassa", params={"OutSum": out_sum, "InvId": inv_id, "SignatureValue": sig})


TBANK_UNKNOWN = {"TerminalKey": SECRETS["tbank_terminal"], "OrderId": "no-such-invoice", "Success": True,
                 "Status": "CONFIRMED", "PaymentId": 1, "Amount": 100}
CP_UNKNOWN = urlencode({"TransactionId": "1", "Amount": "1.00", "Currency": "RUB", "InvoiceId": "no-such-invoice",
                        "Status": "Completed", "OperationType": "Payment"}).encode()

# (provider, request, expected status, expected body): every provider's answers.
CALLBACKS = {
    "sandbox paid": ("sandbox", lambda app: sandbox_post(app, sandbox_body(new_invoice(app))), 200, {"status": "ok"}),
    "sandbox needs review": ("sandbox", lambda app: sandbox_post(app, sandbox_body(new_invoice(app), amount=1)), 200,
                             {"status": "needs_review"}),
    "sandbox unknown invoice": ("sandbox", lambda app: sandbox_post(app, {"invoice_id": "no-such-invoice",
                                "payment_id": "p", "amount": 100, "currency": "RUB"}), 404, {"error": "unknown_invoice"}),
    "sandbox malformed": ("sandbox", lambda app: signed_sandbox(app, b"[]"), 400, {"error": "malformed"}),
    "sandbox forged": ("sandbox", lambda app: sandbox_post(app, {}, secret="wrong"), 401, {"error": "bad_signature"}),
    "stripe ignored event": ("stripe", lambda app: stripe_post(app, {"id": "evt_1", "type": "ping"}), 200,
                             {"received": True}),
    "stripe forged": ("stripe", lambda app: stripe_post(app, {"type": "ping"}, secret="wrong"), 400, None),
    "cloudpayments unknown invoice": ("cloudpayments", lambda app: cloudpayments_post(app, CP_UNKNOWN), 200, {"code": 10}),
    "cloudpayments forged": ("cloudpayments", lambda app: cloudpayments_post(app, CP_UNKNOWN, secret="wrong"), 401,
                             {"code": 13}),
    "tbank": ("tbank", lambda app: tbank_post(app, TBANK_UNKNOWN), 200, "OK"),
    "tbank forged": ("tbank", lambda app: tbank_post(app, TBANK_UNKNOWN, password="wrong"), 400, "ERROR"),
    "robokassa paid": ("robokassa", lambda app: robokassa_get(app, new_invoice(app)), 200,
                       lambda r: r.text.startswith("OK20")),
    "robokassa unknown invoice": ("robokassa", lambda app: robokassa_get(app, None), 400, "unknown InvId"),
    "robokassa forged": ("robokassa", lambda app: robokassa_get(app, None, password="wrong"), 400, "bad sign"),
    "yookassa ignored event": ("yookassa", lambda app: requests.post(f"{app}/callbacks/yookassa", json={
        "type": "notification", "event": "payment.waiting_for_capture", "object": {"id": "x"}}), 200, {}),
    "yookassa malformed": ("yookassa", lambda app: requests.post(f"{app}/callbacks/yookassa", data=b"x"), 400,
                           {"error": "malformed"}),
    "unknown provider": ("paypal", lambda app: requests.post(f"{app}/callbacks/paypal", json={}), 404,
                         {"error": "unknown_provider"}),
    "too large": ("sandbox", lambda app: signed_sandbox(app, b" " * (64 * 1024 + 1)), 413, {"error": "payload_too_large"}),
}


@pytest.mark.parametrize("name", CALLBACKS)
def test_callback_answers_conform(app, name):
    provider, send, status, body = CALLBACKS[name]
    r = send(app)
    assert r.status_code == status, r.text
    if callable(body):
        assert body(r), r.text
    elif body is not None:
        assert (r.json() if r.headers["Content-Type"] == "application/json" else r.text) == body
    conforms(r.request.method, "/callbacks/{provider}", r, path_parameters={"provider": provider})


def test_order_answers_conform(app):
    key = {"Idempotency-Key": f"openapi-{uuid.uuid4().hex}"}
    first = conforms("POST", "/invoices", requests.post(f"{app}/invoices", json=ORDER, headers=key))
    replay = conforms("POST", "/invoices", requests.post(f"{app}/invoices", json=ORDER, headers=key))
    assert (first.status_code, replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.json()["id"] == replay.json()["id"] and "Idempotent-Replayed" not in first.headers
    form = requests.post(f"{app}/invoices", data={**ORDER, "plan": "pro"}, headers=key)
    assert conforms("POST", "/invoices", form).status_code == 409
    big = requests.post(f"{app}/invoices", json={**ORDER, "address": "x" * (16 * 1024)})
    assert conforms("POST", "/invoices", big).status_code == 413
    browser = requests.post(f"{app}/invoices", data=ORDER, headers={"Accept": "text/html"}, allow_redirects=False)
    assert conforms("POST", "/invoices", browser).status_code == 303
    bad_key = requests.post(f"{app}/invoices", json=ORDER, headers={"Idempotency-Key": "k" * 129})
    assert conforms("POST", "/invoices", bad_key).json()["error"] == "invalid_idempotency_key"
    not_utf8 = requests.post(f"{app}/invoices", data=b"plan=%FF", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert conforms("POST", "/invoices", not_utf8).json()["error"] == "invalid_utf8"
    plans = conforms("GET", "/plans", requests.get(f"{app}/plans"))
    assert {p["id"] for p in plans.json()} >= {"start", "pro"}


# The spec itself, without the stack.

DOC = ROOT / "docs" / "management-api.md"
ADMIN_SECURITY = [{"sigv4": []}, {"localApiKey": []}]
# The management operation outside /admin/ (admin-api's, IAM-authorised in AWS): a statement upload.
STATEMENTS = "/statements"
# It takes the statement file as it is, not JSON.
RAW_BODIES = {("POST", STATEMENTS): {"text/plain", "application/octet-stream"}}


def is_management(path: str) -> bool:
    """The management API's paths: every `/admin/` one, and the statement upload."""
    return path.startswith("/admin/") or path == STATEMENTS


def spec() -> dict:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def operations(document: dict):
    """(METHOD, path, operation) of every operation."""
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in methods:
                yield method.upper(), path, op


def test_the_spec_is_valid_openapi_3_1():
    document = spec()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)


def test_management_operations_need_credentials_and_public_ones_do_not():
    document = spec()
    schemes = document["components"]["securitySchemes"]
    # SigV4 as API Gateway's own OpenAPI extension spells it (what SAM generates for AWS_IAM).
    assert {k: v for k, v in schemes["sigv4"].items() if k != "description"} == {
        "type": "apiKey", "in": "header", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4"}
    assert "execute-api" in schemes["sigv4"]["description"]
    assert (schemes["localApiKey"]["type"], schemes["localApiKey"]["scheme"]) == ("http", "bearer")
    assert "security" not in document, "no default: the public routes are open"
    admin = 0
    for method, path, op in operations(document):
        if not is_management(path):
            assert "security" not in op and "management" not in op.get("tags", []), f"{method} {path}"
            continue
        admin += 1
        where = f"{method} {path}"
        assert op["tags"] == ["management"], where
        assert op["security"] == ADMIN_SECURITY, where
        responses = set(op["responses"])
        assert {"401", "403", "503"} <= responses, where
        if re.search(r"\{(ref|id|event_id)\}", path):
            assert "404" in responses, where
        if (method, path) in RAW_BODIES:
            # Any bytes are taken (so no 415): unreadable ones are 422, too many 413.
            assert op["requestBody"]["required"] is True, where
            assert set(op["requestBody"]["content"]) == RAW_BODIES[(method, path)], where
            assert {"400", "413", "422"} <= responses, where
        elif "requestBody" in op:
            assert {"400", "413", "415", "422"} <= responses, where
            assert set(op["requestBody"]["content"]) == {"application/json"}, where
        if any(p.get("$ref", "").endswith("/Cursor") for p in op.get("parameters", [])):
            assert {"400", "422"} <= responses, where
        for status in responses:
            assert 200 <= int(status) < 300 or status in {"400", "401", "403", "404", "409", "413", "415", "422", "502", "503"}, where
    assert admin == 18
    assert ("POST", STATEMENTS) in {(m, p) for m, p, _ in operations(document)}


def error_codes(node) -> set[str]:
    """Every `error` code a response schema pins (const or enum), anywhere in it."""
    found = set()
    if isinstance(node, dict):
        error = (node.get("properties") or {}).get("error") or {}
        found |= set(error.get("enum", [])) | ({error["const"]} if "const" in error else set())
        for value in node.values():
            found |= error_codes(value)
    elif isinstance(node, list):
        for value in node:
            found |= error_codes(value)
    return found


def test_management_error_codes_are_the_docs():
    """The doc's error table, the spec's `AdminError` and the codes each response pins agree."""
    document = spec()
    declared = set(document["components"]["schemas"]["AdminError"]["properties"]["error"]["enum"])
    table = DOC.read_text(encoding="utf-8").split("## Errors", 1)[1].split("\n## ", 1)[0]
    documented = {code for row in table.splitlines() if row.startswith("| 4") or row.startswith("| 5")
                  for code in re.findall(r"`([a-z0-9_]+)`", row.split("|")[2])}
    assert declared == documented, declared ^ documented
    pinned = set()
    for method, path, op in operations(document):
        if is_management(path):
            for status, response in op["responses"].items():
                if not status.startswith("2"):
                    ref = response.get("$ref", "")
                    pinned |= error_codes(document["components"]["responses"][ref.rsplit("/", 1)[1]] if ref else response)
    assert pinned <= declared, pinned - declared
    assert declared - pinned == {"not_found"}, "every code but the catch-all has an operation that answers it"


# The management API against the running stack (the admin function's routes, the local API key).

ADMIN_KEY = os.environ.get("AUTOBILL_ADMIN_API_KEY", "local-admin-key-not-for-production")


def admin(app: str, method: str, path: str, key: str | None = ADMIN_KEY, **kwargs) -> requests.Response:
    headers = {"X-Autobill-Actor": "openapi-test", **kwargs.pop("headers", {})}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return requests.request(method, f"{app}{path}", headers=headers, timeout=30, **kwargs)


def test_management_operations_refuse_strangers(app, tmp_path):
    """Every management operation, fuzzed without the key (schemathesis sends no credentials, or
    random `Authorization` values): refused before anything else (401 without credentials, 403
    with wrong ones) in the documented shape, never done."""
    seen = fuzz(app, tmp_path, "--include-tag", "management", "--max-examples", "10")
    documented = {(m, p) for m, p, _ in operations(spec()) if is_management(p)}
    assert documented <= {(m, op) for m, op, _ in seen}, documented - {(m, op) for m, op, _ in seen}
    assert {status for _, _, status in seen} <= {401, 403}, seen


def test_management_reads_conform_under_fuzzing(app, tmp_path):
    """Every read of the management API, fuzzed with the local key: random references, accounts,
    cursors and limits get documented answers (404, 400, 422), never a server error."""
    seen = fuzz(app, tmp_path, "--include-tag", "management", *(a for m in ("POST", "PATCH", "DELETE") for a in ("--exclude-method", m)),
                "--header", f"Authorization: Bearer {ADMIN_KEY}", "--max-examples", "20")
    assert {m for m, op, _ in seen if is_management(op)} <= {"GET", "OPTIONS", "PUT", "TRACE", "QUERY", "HEAD"}, seen
    reads = {(m, p) for m, p, _ in operations(spec()) if is_management(p) and m == "GET"}
    assert reads <= {(m, op) for m, op, _ in seen}, reads - {(m, op) for m, op, _ in seen}
    assert seen[("GET", "/admin/audit", 200)] and seen[("GET", "/admin/webhooks", 200)]


def test_management_answers_conform(app):
    """The management API's answers, driven by hand with the local key: each checked against its
    operation in the spec (status, content type, headers, body)."""
    def check(method: str, template: str, response: requests.Response, status: int, **path_parameters) -> dict | None:
        assert response.status_code == status, f"{method} {template}: {response.status_code} {response.text}"
        conforms(method, template, response, path_parameters=path_parameters or None)
        return response.json() if response.content else None

    # Strangers.
    assert check("GET", "/admin/audit", admin(app, "GET", "/admin/audit", key=None), 401)["error"] == "unauthenticated"
    assert check("GET", "/admin/audit", admin(app, "GET", "/admin/audit", key="wrong-key"), 403)["error"] == "forbidden"

    # Issue for an account, idempotently.
    account = f"acct-{uuid.uuid4().hex[:12]}"
    order = {**ORDER, "account": account}
    key = {"Idempotency-Key": f"admin-{uuid.uuid4().hex}"}
    first = admin(app, "POST", "/admin/invoices", json=order, headers=key)
    inv = check("POST", "/admin/invoices", first, 201)
    replay = admin(app, "POST", "/admin/invoices", json=order, headers=key)
    assert check("POST", "/admin/invoices", replay, 201)["id"] == inv["id"] and replay.headers["Idempotent-Replayed"] == "true"
    reused = admin(app, "POST", "/admin/invoices", json={**order, "plan": "pro"}, headers=key)
    assert check("POST", "/admin/invoices", reused, 409)["error"] == "idempotency_key_reused"
    invalid = check("POST", "/admin/invoices", admin(app, "POST", "/admin/invoices", json={"plan": "start"}), 422)
    assert {"company", "inn", "address", "email"} <= set(invalid["fields"])
    unreadable = admin(app, "POST", "/admin/invoices", data=b"{", headers={"Content-Type": "application/json"})
    assert check("POST", "/admin/invoices", unreadable, 400)["error"] == "malformed_json"

    # Read it, by number and by id, in its account and in its status.
    shown = check("GET", "/admin/invoices/{ref}", admin(app, "GET", f"/admin/invoices/{inv['number']}"), 200, ref=inv["number"])
    assert shown["invoice"]["id"] == inv["id"]
    assert [h["action"] for h in shown["history"] if h["kind"] == "audit"] == ["invoice.create"]
    issued = [h["event_id"] for h in shown["history"] if h["kind"] == "event" and h["type"] == "invoice.issued"]
    assert len(issued) == 1, shown["history"]
    missing = admin(app, "GET", "/admin/invoices/2099-999999")
    assert check("GET", "/admin/invoices/{ref}", missing, 404, ref="2099-999999")["error"] == "invoice_not_found"
    mine = check("GET", "/admin/accounts/{account}/invoices", admin(app, "GET", f"/admin/accounts/{account}/invoices"), 200, account=account)
    assert [i["id"] for i in mine["invoices"]] == [inv["id"]] and mine["next_cursor"] is None
    page = check("GET", "/admin/invoices", admin(app, "GET", "/admin/invoices", params={"status": "issued", "limit": 1}), 200)
    assert len(page["invoices"]) == 1
    assert check("GET", "/admin/invoices", admin(app, "GET", "/admin/invoices"), 422)["error"] == "validation_failed"
    bad_cursor = admin(app, "GET", "/admin/invoices", params={"status": "issued", "cursor": "not-a-cursor"})
    assert check("GET", "/admin/invoices", bad_cursor, 400)["error"] == "invalid_cursor"
    subscriptions = admin(app, "GET", f"/admin/accounts/{account}/subscriptions")
    assert check("GET", "/admin/accounts/{account}/subscriptions", subscriptions, 200, account=account) == {"subscriptions": []}

    # Void it; then nothing else moves it.
    voided = check("POST", "/admin/invoices/{ref}/void", admin(app, "POST", f"/admin/invoices/{inv['id']}/void",
                   json={"reason": "выставлен по ошибке"}), 200, ref=inv["id"])
    assert voided["invoice"]["status"] == "void" and voided["audit_id"].startswith("aud_") and voided["event_id"]
    for action, body in [("void", {"reason": "ещё раз"}), ("mark-paid", {"reason": "оплата"}),
                         ("resolve", {"resolution": "paid", "reason": "оплата"})]:
        refused = check("POST", f"/admin/invoices/{{ref}}/{action}",
                        admin(app, "POST", f"/admin/invoices/{inv['id']}/{action}", json=body), 409, ref=inv["id"])
        assert (refused["error"], refused["status"]) == ("invalid_transition", "void"), action
    unknown_field = admin(app, "POST", f"/admin/invoices/{inv['id']}/void", json={"reason": "x", "why": "y"})
    assert check("POST", "/admin/invoices/{ref}/void", unknown_field, 422, ref=inv["id"])["fields"] == {"why": "unknown_field"}

    # Mark another paid by hand; the documents can be resent (the act may still be on its way).
    other = check("POST", "/admin/invoices", admin(app, "POST", "/admin/invoices", json=order), 201)
    paid = check("POST", "/admin/invoices/{ref}/mark-paid", admin(app, "POST", f"/admin/invoices/{other['number']}/mark-paid",
                 json={"reason": "оплата по выписке", "reference": "п/п № 512"}), 200, ref=other["number"])
    assert paid["invoice"]["status"] == "paid"
    resent = admin(app, "POST", f"/admin/invoices/{other['id']}/resend", json={})
    assert resent.status_code in (200, 409), resent.text
    body = check("POST", "/admin/invoices/{ref}/resend", resent, resent.status_code, ref=other["id"])
    assert body["mail"] == "closing" if resent.status_code == 200 else body["error"] == "not_fulfilled", body

    # A webhook endpoint: create, refuse a second, disable, replay refused, enable, replay, delete.
    endpoint = f"openapi-{uuid.uuid4().hex[:8]}"
    created = check("POST", "/admin/webhooks", admin(app, "POST", "/admin/webhooks",
                    json={"id": endpoint, "url": "http://127.0.0.1:9/hook", "events": ["invoice.issued"]}), 201)
    assert created["secret"].startswith("whsec_") and created["secret"] not in created["secret_hint"]
    again = admin(app, "POST", "/admin/webhooks", json={"id": endpoint, "url": "http://127.0.0.1:9/hook"})
    assert check("POST", "/admin/webhooks", again, 409)["error"] == "endpoint_exists"
    listed = check("GET", "/admin/webhooks", admin(app, "GET", "/admin/webhooks"), 200)
    assert endpoint in [e["id"] for e in listed["endpoints"]] and all("secret" not in e for e in listed["endpoints"])
    off = admin(app, "PATCH", f"/admin/webhooks/{endpoint}", json={"enabled": False})
    assert check("PATCH", "/admin/webhooks/{id}", off, 200, id=endpoint)["enabled"] is False
    event = issued[0]
    replay_body = {"endpoint_id": endpoint}
    refused = admin(app, "POST", f"/admin/events/{event}/replay", json=replay_body)
    assert check("POST", "/admin/events/{event_id}/replay", refused, 409, event_id=event)["error"] == "endpoint_disabled"
    on = admin(app, "PATCH", f"/admin/webhooks/{endpoint}", json={"enabled": True})
    assert check("PATCH", "/admin/webhooks/{id}", on, 200, id=endpoint)["failing_since"] is None
    replayed = check("POST", "/admin/events/{event_id}/replay", admin(app, "POST", f"/admin/events/{event}/replay",
                     json=replay_body), 200, event_id=event)
    assert (replayed["event_id"], replayed["endpoint_id"], replayed["delivered"]) == (event, endpoint, False)  # nothing listens on :9
    detail = check("GET", "/admin/events/{event_id}", admin(app, "GET", f"/admin/events/{event}"), 200, event_id=event)
    assert detail["event"]["id"] == event
    assert any(d["endpoint_id"] == endpoint and d["attempt"] == replayed["attempt"] for d in detail["deliveries"])
    no_event = admin(app, "GET", "/admin/events/evt_nope")
    assert check("GET", "/admin/events/{event_id}", no_event, 404, event_id="evt_nope")["error"] == "event_not_found"
    gone = admin(app, "DELETE", f"/admin/webhooks/{endpoint}")
    check("DELETE", "/admin/webhooks/{id}", gone, 204, id=endpoint)
    after = admin(app, "GET", f"/admin/webhooks/{endpoint}")
    assert check("GET", "/admin/webhooks/{id}", after, 404, id=endpoint)["error"] == "endpoint_not_found"

    # Everything above is in the audit log, newest first, under this test's name.
    log = check("GET", "/admin/audit", admin(app, "GET", "/admin/audit", params={"limit": 100}), 200)
    ours = [e for e in log["entries"] if e["actor"] == "api-key:openapi-test"]
    assert [e["action"] for e in ours][:3] == ["webhook_endpoint.delete", "webhook.replay", "webhook_endpoint.update"], ours
    assert [e["at"] for e in log["entries"]] == sorted((e["at"] for e in log["entries"]), reverse=True)



def test_statement_imports_conform(app):
    """`POST /statements`, driven by hand with the local key: a statement that pays an invoice in
    part, the same file again, a malformed one, one too large, and one without credentials, each
    checked against the spec."""
    from test_statements import statement, transfer  # here: the spec-only tests need no stack helpers

    def check(response: requests.Response, status: int) -> dict:
        assert response.status_code == status, f"{response.status_code} {response.text}"
        conforms("POST", STATEMENTS, response)
        return response.json()

    def post(body: bytes, key: str | None = ADMIN_KEY, content_type: str = "text/plain") -> requests.Response:
        return admin(app, "POST", STATEMENTS, key=key, data=body, headers={"Content-Type": content_type})

    issued = admin(app, "POST", "/admin/invoices", json={**ORDER, "account": f"acct-{uuid.uuid4().hex[:12]}"})
    assert issued.status_code == 201, issued.text
    inv = issued.json()
    # Half of it, in the statement's roubles-and-kopecks.
    part = f"{inv['total'] // 2 // 100}.{inv['total'] // 2 % 100:02d}"
    file = statement([transfer(f"Оплата по счету {inv['number']}", part, inn=ORDER["inn"]),
                      transfer("Возврат излишне уплаченного", "10.00", inn=ORDER["inn"])])
    report = check(post(file), 200)
    assert report["summary"]["documents"] == 2 and report["summary"]["applied"] == 1, report
    (applied,) = [line for line in report["lines"] if line["outcome"] == "applied"]
    assert applied["allocations"][0]["number"] == inv["number"]
    assert applied["allocations"][0]["status"] == "partially_paid"
    shown = conforms("GET", "/admin/invoices/{ref}", admin(app, "GET", f"/admin/invoices/{inv['id']}"),
                     path_parameters={"ref": inv["id"]}).json()
    assert shown["invoice"]["status"] == "partially_paid"
    assert shown["invoice"]["amount_paid"] + shown["invoice"]["balance_due"] == inv["total"]
    again = check(post(file, content_type="application/octet-stream"), 200)
    assert again["statement_id"] == report["statement_id"] and again["summary"]["applied"] == 0

    malformed = check(post(b"not a statement"), 422)
    assert malformed["error"] == "malformed_statement" and malformed["line"] >= 1
    assert check(post(b"1" * (4 * 1024 * 1024 + 1)), 413)["error"] == "payload_too_large"
    assert check(post(file, key=None), 401)["error"] == "unauthenticated"
