"""The management API and the `autobill` CLI end to end, against the local stack: each manual
action through `/admin/…` (and the CLI), what the user sees afterwards (status, e-mails, webhooks,
the subscription), the audit trail and the events emitted, and the refusals that change nothing
(wrong status, bad input, no or wrong credentials)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from test_fulfilment import mails_to, pdf_text, wait_for
from test_payments import events_for, sandbox_body, sandbox_post
from test_renewals import get_item
from test_webhooks import valid_signature

KEY = os.environ.get("AUTOBILL_ADMIN_API_KEY", "local-admin-key-not-for-production")
AUTH = {"Authorization": f"Bearer {KEY}", "X-Autobill-Actor": "alice"}
ACTOR = "api-key:alice"


def order(account: str | None = None, email: str | None = None) -> dict:
    return {"plan": "start", "company": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001",
            "address": "Москва, ул. Ленина, д. 1", "email": email or f"buh-{uuid.uuid4().hex[:8]}@romashka.example",
            "account": account or f"acc-{uuid.uuid4().hex[:8]}"}


def admin(app, method: str, path: str, headers=AUTH, **kw) -> requests.Response:
    return requests.request(method, f"{app}/admin{path}", headers=headers, timeout=30, **kw)


def issue(app, **kw) -> dict:
    r = admin(app, "POST", "/invoices", json=order(**kw))
    assert r.status_code == 201, r.text
    return r.json()


def show(app, ref: str) -> dict:
    r = admin(app, "GET", f"/invoices/{ref}")
    assert r.status_code == 200, r.text
    return r.json()


def kinds(detail: dict) -> list[tuple]:
    """The history as (kind, what) pairs, oldest first."""
    what = {"event": "type", "audit": "action", "payment": "outcome", "email": "mail"}
    return [(h["kind"], h[what[h["kind"]]]) for h in detail["history"]]


def receiver(app, needle: str) -> list[dict]:
    return [d for d in requests.get(f"{app}/webhook-receiver.json").json() if needle in d["body"]]


def fulfilled(aws, table: str, invoice_id: str) -> bool:
    return "fulfilled_at" in (get_item(aws, table, f"INVOICE#{invoice_id}", "INVOICE") or {})


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "unauthenticated"),
    ({"Authorization": "Bearer wrong-key"}, 403, "forbidden"),
    ({"Authorization": f"Basic {KEY}"}, 401, "unauthenticated"),
    ({"Authorization": "Bearer "}, 401, "unauthenticated"),
])
def test_unauthenticated_or_wrong_credentials_are_refused_and_change_nothing(app, aws, stack_names, headers, status, code):
    inv = issue(app)
    for method, path, body in [
        ("GET", f"/invoices/{inv['number']}", None),
        ("GET", "/invoices?status=issued", None),
        ("POST", f"/invoices/{inv['id']}/void", {"reason": "попытка без ключа"}),
        ("POST", f"/invoices/{inv['id']}/mark-paid", {"reason": "попытка без ключа"}),
        ("POST", "/invoices", order()),
        ("POST", "/webhooks", {"id": "intruder", "url": f"{app}/webhook-receiver/demo"}),
        ("DELETE", "/webhooks/local-receiver", None),
        ("GET", "/audit", None),
    ]:
        r = admin(app, method, path, headers=headers, json=body)
        assert r.status_code == status, (method, path, r.text)
        assert r.json()["error"] == code
        if status == 401:
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    item = get_item(aws, stack_names["table"], f"INVOICE#{inv['id']}", "INVOICE")
    assert item["status"]["S"] == "issued" and "void_reason" not in item
    assert kinds(show(app, inv["id"])) == [("audit", "invoice.create"), ("event", "invoice.issued")] or \
        kinds(show(app, inv["id"])) == [("event", "invoice.issued"), ("audit", "invoice.create")]
    assert admin(app, "GET", "/webhooks/intruder").status_code == 404
    assert admin(app, "GET", "/webhooks/local-receiver").status_code == 200


def test_create_through_the_api_validates_like_the_form_and_is_audited(app, aws, stack_names):
    bad = {**order(), "inn": "7736207544", "surprise": "x"}
    r = admin(app, "POST", "/invoices", json=bad)
    assert r.status_code == 422, r.text
    assert r.json()["fields"]["inn"] == "invalid_checksum"
    key = uuid.uuid4().hex
    body = order()
    first = admin(app, "POST", "/invoices", json=body, headers={**AUTH, "Idempotency-Key": key})
    again = admin(app, "POST", "/invoices", json=body, headers={**AUTH, "Idempotency-Key": key})
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers.get("idempotent-replayed") == "true" and again.json()["id"] == first.json()["id"]
    inv = first.json()
    assert inv["status_label"] == "Не оплачен" and inv["pdf_url"] and first.headers["Location"] == inv["invoice_url"]
    by_number, by_id = show(app, inv["number"]), show(app, inv["id"])
    assert by_number["invoice"]["id"] == by_id["invoice"]["id"] == inv["id"]
    assert by_id["buyer"]["inn"] == "7736207543" and by_id["documents"][0]["key"].endswith(f"{inv['number']}.pdf")
    audits = [h for h in by_id["history"] if h["kind"] == "audit"]
    assert [(a["action"], a["actor"]) for a in audits] == [("invoice.create", ACTOR)]
    assert admin(app, "GET", "/invoices/2099-999999").json()["error"] == "invoice_not_found"


def test_void_then_mark_paid_is_refused_and_the_trail_says_who_and_why(app, aws, stack_names, published):
    inv = issue(app)
    assert admin(app, "POST", f"/invoices/{inv['number']}/void", json={}).json()["fields"] == {"reason": "required"}
    r = admin(app, "POST", f"/invoices/{inv['number']}/void", json={"reason": "выставлен по ошибке"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["invoice"]["status"] == "void" and done["invoice"]["status_label"] == "Аннулирован"
    assert done["audit_id"].startswith("aud_") and done["event_id"].startswith("evt_")
    page = requests.get(inv["invoice_url"]).text
    assert "Аннулирован" in page

    refused = admin(app, "POST", f"/invoices/{inv['id']}/mark-paid", json={"reason": "оплата наличными"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "invalid_transition" and refused.json()["status"] == "void"
    again = admin(app, "POST", f"/invoices/{inv['id']}/void", json={"reason": "ещё раз"})
    assert again.status_code == 409 and again.json()["status"] == "void"

    detail = show(app, inv["id"])
    assert detail["void_reason"] == "выставлен по ошибке"
    assert [k for k in kinds(detail) if k[0] != "email"][-2:] == [("audit", "invoice.void"), ("event", "invoice.voided")] or \
        [k for k in kinds(detail) if k[0] != "email"][-2:] == [("event", "invoice.voided"), ("audit", "invoice.void")]
    assert sum(1 for k in kinds(detail) if k == ("audit", "invoice.void")) == 1
    void_audit = next(h for h in detail["history"] if h["kind"] == "audit" and h["action"] == "invoice.void")
    assert void_audit["actor"] == ACTOR and void_audit["reason"] == "выставлен по ошибке"
    voided = events_for(published, inv["id"], kind="invoice.voided")
    assert len(voided) == 1 and voided[0]["detail"]["data"]["voided_by"] == ACTOR
    assert voided[0]["detail"]["data"]["refund_needed"] is False
    assert wait_for(lambda: any(d["event_type"] == "invoice.voided" for d in receiver(app, inv["id"])))
    item = get_item(aws, stack_names["table"], f"INVOICE#{inv['id']}", "INVOICE")
    assert item["status"]["S"] == "void" and "paid_at" not in item


def test_mark_paid_goes_through_fulfilment_and_webhooks_and_a_paid_invoice_cannot_be_voided(app, aws, stack_names, aws_endpoint, published):
    email = f"cash-{uuid.uuid4().hex[:8]}@romashka.example"
    inv = issue(app, email=email)
    r = admin(app, "POST", f"/invoices/{inv['number']}/mark-paid",
              json={"reason": "оплата наличными", "reference": "ПКО № 17"})
    assert r.status_code == 200, r.text
    assert r.json()["invoice"]["status_label"] == "Оплачен"
    assert wait_for(lambda: fulfilled(aws, stack_names["table"], inv["id"]))
    mails = wait_for(lambda: mails_to(aws_endpoint, email))
    assert len(mails) == 1
    names = sorted(p.get_filename() for p in mails[0].iter_attachments())
    assert names == [f"Акт {inv['number']}.pdf", f"Счёт {inv['number']}.pdf"]
    paid = events_for(published, inv["id"])
    assert len(paid) == 1 and paid[0]["detail"]["data"]["payment"]["provider"] == "manual"
    assert paid[0]["detail"]["data"]["payment"]["reference"] == "ПКО № 17"
    assert paid[0]["detail"]["data"]["marked_by"] == ACTOR
    subs = admin(app, "GET", f"/accounts/{inv['account']}/subscriptions").json()["subscriptions"]
    assert [(s["plan"], s["status"]) for s in subs] == [("start", "active")]
    assert subs[0]["last_invoice_id"] == inv["id"]

    detail = wait_for(lambda: (d := show(app, inv["id"])) and ("email", "closing") in kinds(d) and d)
    k = kinds(detail)
    assert ("payment", "paid") in k and ("audit", "invoice.mark_paid") in k and ("event", "invoice.paid") in k
    assert k.index(("event", "invoice.issued")) < k.index(("event", "invoice.paid"))
    payment = next(h for h in detail["history"] if h["kind"] == "payment")
    assert payment["provider"] == "manual" and payment["amount"] == inv["total"]
    assert {d["kind"] for d in detail["documents"]} == {"invoice", "act"} and detail["invoice"]["act_url"]
    assert detail["paid_at"] and detail["fulfilled_at"]
    assert wait_for(lambda: any(d["event_type"] == "invoice.paid" for d in show(app, inv["id"])["deliveries"]))

    refused = admin(app, "POST", f"/invoices/{inv['id']}/void", json={"reason": "передумали"})
    assert refused.status_code == 409 and refused.json()["status"] == "paid"
    assert get_item(aws, stack_names["table"], f"INVOICE#{inv['id']}", "INVOICE")["status"]["S"] == "paid"
    listed = admin(app, "GET", f"/accounts/{inv['account']}/invoices").json()
    assert [i["number"] for i in listed["invoices"]] == [inv["number"]] and listed["next_cursor"] is None


def test_needs_review_is_listed_and_resolved_either_way(app, aws, stack_names, published):
    accepted, refunded = issue(app), issue(app)
    for inv in (accepted, refunded):
        assert sandbox_post(app, sandbox_body(inv, amount=inv["total"] - 100)).status_code == 200
    listed = admin(app, "GET", "/invoices?status=needs_review&limit=100").json()["invoices"]
    assert {accepted["number"], refunded["number"]} <= {i["number"] for i in listed}
    assert admin(app, "GET", "/invoices?status=nonsense").status_code == 422

    bad = admin(app, "POST", f"/invoices/{accepted['id']}/resolve", json={"resolution": "maybe", "reason": "?"})
    assert bad.status_code == 422 and bad.json()["fields"] == {"resolution": "invalid_format"}
    r = admin(app, "POST", f"/invoices/{accepted['id']}/resolve",
              json={"resolution": "paid", "reason": "клиент доплатит разницу отдельно"})
    assert r.status_code == 200, r.text
    assert r.json()["invoice"]["status"] == "paid"
    assert wait_for(lambda: fulfilled(aws, stack_names["table"], accepted["id"]))
    assert events_for(published, accepted["id"])[0]["detail"]["data"]["payment"]["provider"] == "sandbox"

    r = admin(app, "POST", f"/invoices/{refunded['number']}/resolve",
              json={"resolution": "refund_needed", "reason": "сумма не та, вернуть"})
    assert r.status_code == 200, r.text
    assert r.json()["invoice"]["status"] == "void"
    voided = events_for(published, refunded["id"], kind="invoice.voided")
    assert voided and voided[0]["detail"]["data"]["refund_needed"] is True
    assert voided[0]["detail"]["data"]["payment"]["amount"] == refunded["total"] - 100
    again = admin(app, "POST", f"/invoices/{refunded['id']}/resolve", json={"resolution": "paid", "reason": "x"})
    assert again.status_code == 409 and again.json()["status"] == "void"
    still = admin(app, "GET", "/invoices?status=needs_review&limit=100").json()["invoices"]
    assert not {accepted["number"], refunded["number"]} & {i["number"] for i in still}


def test_resend_e_mails_the_documents_again(app, aws, stack_names, aws_endpoint, published):
    email = f"lost-{uuid.uuid4().hex[:8]}@romashka.example"
    unpaid = issue(app, email=email)
    r = admin(app, "POST", f"/invoices/{unpaid['number']}/resend", json={"reason": "письмо потерялось"})
    assert r.status_code == 200, r.text
    assert r.json()["mail"] == "invoice" and r.json()["to"] == email
    mail = wait_for(lambda: mails_to(aws_endpoint, email))[0]
    assert unpaid["number"] in mail["Subject"]
    pdf = next(p for p in mail.iter_attachments()).get_content()
    assert unpaid["number"] in pdf_text(pdf)

    assert sandbox_post(app, sandbox_body(unpaid)).status_code == 200
    assert wait_for(lambda: fulfilled(aws, stack_names["table"], unpaid["id"]))
    other = f"boss-{uuid.uuid4().hex[:8]}@romashka.example"
    r = admin(app, "POST", f"/invoices/{unpaid['id']}/resend", json={"email": other})
    assert r.status_code == 200, r.text
    assert r.json()["mail"] == "closing" and r.json()["to"] == other
    closing = wait_for(lambda: mails_to(aws_endpoint, other))
    assert len(closing) == 1 and len(list(closing[0].iter_attachments())) == 2
    assert events_for(published, unpaid["id"], kind="invoice.documents_resent")
    detail = show(app, unpaid["id"])
    assert [h["to"] for h in detail["history"] if h["kind"] == "email"].count(other) == 1
    assert admin(app, "POST", f"/invoices/{unpaid['id']}/resend", json={"email": "nobody"}).status_code == 422

    void = issue(app)
    admin(app, "POST", f"/invoices/{void['id']}/void", json={"reason": "ошибка"})
    refused = admin(app, "POST", f"/invoices/{void['id']}/resend", json={})
    assert refused.status_code == 409 and refused.json()["status"] == "void"


def test_replay_sends_the_same_event_again_and_endpoints_are_managed(app):
    inv = issue(app)
    issued = wait_for(lambda: [d for d in receiver(app, inv["id"]) if d["event_type"] == "invoice.issued"])
    event_id = issued[0]["webhook_id"]
    ev = admin(app, "GET", f"/events/{event_id}").json()
    assert ev["event"]["type"] == "invoice.issued" and ev["event"]["data"]["number"] == inv["number"]
    r = admin(app, "POST", f"/events/{event_id}/replay", json={"endpoint_id": "local-receiver"})
    assert r.status_code == 200, r.text
    assert r.json()["delivered"] is True and r.json()["attempt"] == 2 and r.json()["status"] == 204
    twice = [d for d in receiver(app, inv["id"]) if d["webhook_id"] == event_id]
    assert len(twice) == 2 and all(d["verified"] for d in twice)
    attempts = admin(app, "GET", f"/events/{event_id}").json()["deliveries"]
    assert sorted(a["attempt"] for a in attempts if a["endpoint_id"] == "local-receiver") == [1, 2]
    assert admin(app, "POST", f"/events/{event_id}/replay", json={"endpoint_id": "nope"}).status_code == 404
    assert admin(app, "POST", "/events/evt_missing/replay", json={"endpoint_id": "local-receiver"}).status_code == 404

    hook = f"crm-{uuid.uuid4().hex[:6]}"
    body = {"id": hook, "url": f"{app}/webhook-receiver/demo", "events": ["invoice.paid"],
            "conditions": [{"path": "data.total", "op": "gte", "value": 100}], "fields": ["data.number"]}
    created = admin(app, "POST", "/webhooks", json=body)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and created.json()["secret_hint"].endswith(secret[-4:])
    assert admin(app, "POST", "/webhooks", json=body).json()["error"] == "endpoint_exists"
    bad = admin(app, "POST", "/webhooks", json={**body, "id": "bad-url", "url": "ftp://example.com/x"})
    assert bad.status_code == 422 and "url" in bad.json()["fields"]
    listed = admin(app, "GET", "/webhooks").json()["endpoints"]
    assert hook in [e["id"] for e in listed] and all("secret" not in e for e in listed)
    off = admin(app, "PATCH", f"/webhooks/{hook}", json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert admin(app, "POST", f"/events/{event_id}/replay", json={"endpoint_id": hook}).json()["error"] == "endpoint_disabled"
    assert admin(app, "DELETE", f"/webhooks/{hook}").status_code == 204
    assert admin(app, "GET", f"/webhooks/{hook}").status_code == 404
    assert admin(app, "POST", "/webhooks", json=body).status_code == 201  # over its tombstone
    # It takes only invoice.paid: a replay of invoice.issued would send what it did not ask for.
    refused = admin(app, "POST", f"/events/{event_id}/replay", json={"endpoint_id": hook})
    assert refused.status_code == 409 and refused.json()["error"] == "endpoint_not_subscribed"
    patched = admin(app, "PATCH", f"/webhooks/{hook}", json={"url": f"{app}/webhook-receiver/demo?v=2"})
    assert patched.status_code == 200 and patched.json()["events"] == ["invoice.paid"]  # the rest kept

    log = admin(app, "GET", "/audit?limit=100").json()["entries"]
    mine = [e["action"] for e in log if e["target"] in (f"webhook_endpoint:{hook}", f"event:{event_id}")]
    assert mine == ["webhook_endpoint.update", "webhook_endpoint.create", "webhook_endpoint.delete",
                    "webhook_endpoint.update", "webhook_endpoint.create", "webhook.replay"], mine
    assert all(e["actor"] == ACTOR for e in log if e["target"] == f"webhook_endpoint:{hook}")


def test_a_rotated_webhook_secret_signs_beside_the_new_one_for_a_day(app):
    hook = f"rot-{uuid.uuid4().hex[:6]}"
    created = admin(app, "POST", "/webhooks", json={"id": hook, "url": f"{app}/webhook-receiver/demo?{hook}",
                                                    "events": ["invoice.issued"]})
    old = created.json()["secret"]
    assert created.json()["previous_secret_until"] is None
    new = "whsec_" + base64.b64encode(uuid.uuid4().bytes * 2).decode()
    rotated = admin(app, "PATCH", f"/webhooks/{hook}", json={"secret": new})
    assert rotated.status_code == 200, rotated.text
    until = dt.datetime.fromisoformat(rotated.json()["previous_secret_until"])
    assert dt.timedelta(hours=23) < until - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(hours=24)
    assert rotated.json()["secret_hint"].endswith(new[-4:]) and "secret" not in rotated.json()

    inv = issue(app)
    got = wait_for(lambda: [d for d in requests.get(f"{app}/webhook-receiver.json").json()
                            if inv["id"] in d["body"] and d["signature"].count("v1,") == 2])
    assert got, "a delivery signed twice"
    assert valid_signature(got[0], new) and valid_signature(got[0], old) and not valid_signature(got[0], "whsec_" + "A" * 32)
    log = admin(app, "GET", "/audit?limit=50").json()["entries"]
    entry = next(e for e in log if e["target"] == f"webhook_endpoint:{hook}" and e["action"] == "webhook_endpoint.update")
    assert entry["details"]["secret_rotated"] is True and old not in json.dumps(entry) and new not in json.dumps(entry)
    assert admin(app, "DELETE", f"/webhooks/{hook}").status_code == 204


def test_audit_log_pages_newest_first(app):
    first = admin(app, "GET", "/audit?limit=2").json()
    assert len(first["entries"]) == 2 and first["next_cursor"]
    second = admin(app, "GET", f"/audit?limit=2&cursor={first['next_cursor']}").json()
    times = [e["at"] for e in first["entries"] + second["entries"]]
    assert times == sorted(times, reverse=True)
    assert not {e["id"] for e in first["entries"]} & {e["id"] for e in second["entries"]}
    assert admin(app, "GET", "/audit?cursor=garbage").json()["error"] == "invalid_cursor"
    assert admin(app, "GET", "/audit?limit=1000").status_code == 422


def cli(app, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess:
    binary = os.environ.get("AUTOBILL_CLI_BIN")
    if not binary or not Path(binary).exists():
        pytest.fail("AUTOBILL_CLI_BIN does not name the built `autobill` CLI: run `make test`")
    env = {k: v for k, v in os.environ.items() if k != "AUTOBILL_ADMIN_API_KEY"}
    env["AUTOBILL_API_URL"] = app
    if key is not None:
        env["AUTOBILL_ADMIN_API_KEY"] = key
    return subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_shows_and_acts_over_the_same_routes(app):
    inv = issue(app)
    shown = cli(app, "invoice", "show", inv["number"])
    assert shown.returncode == 0, shown.stderr
    assert inv["number"] in shown.stdout and "Не оплачен" in shown.stdout and "invoice.issued" in shown.stdout
    as_json = json.loads(cli(app, "--json", "invoice", "show", inv["number"]).stdout)
    assert as_json["invoice"]["id"] == inv["id"]

    paid = cli(app, "--actor", "bob", "invoice", "mark-paid", inv["number"], "--reason", "наличные")
    assert paid.returncode == 0, paid.stderr
    refused = cli(app, "invoice", "void", inv["number"], "--reason", "поздно")
    assert refused.returncode == 1 and "invalid_transition" in refused.stderr
    listed = cli(app, "invoice", "list", "--account", inv["account"])
    assert listed.returncode == 0 and inv["number"] in listed.stdout
    audit = json.loads(cli(app, "--json", "audit", "list", "--limit", "20").stdout)["entries"]
    assert any(e["actor"] == "api-key:bob" and e["action"] == "invoice.mark_paid" for e in audit)
    wrong = cli(app, "invoice", "show", inv["number"], key="wrong")
    assert wrong.returncode == 1 and "forbidden" in wrong.stderr and "wrong" not in wrong.stderr


def emitted_metrics(log: Path) -> dict[str, set[str]]:
    """Metric name → the `provider` values seen, from the Embedded Metric Format lines in the log."""
    seen: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "_aws" not in doc:
            continue
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "autobill" and directive["Dimensions"] == [["provider"]], doc
        assert isinstance(doc["_aws"]["Timestamp"], int), doc
        for metric in directive["Metrics"]:
            assert metric["Unit"] == "Count" and isinstance(doc[metric["Name"]], int), doc
            seen.setdefault(metric["Name"], set()).add(doc["provider"])
    return seen


def test_operator_metrics_are_emitted_as_embedded_metric_format(app, app_log, aws, stack_names):
    """What the dashboard and the alarms count, as CloudWatch would read it from the log lines."""
    paid = issue(app)
    assert sandbox_post(app, sandbox_body(paid)).status_code == 200
    mismatched = issue(app)
    assert sandbox_post(app, sandbox_body(mismatched, amount=1)).status_code == 200
    assert sandbox_post(app, sandbox_body(paid), secret="forged").status_code == 401
    admin(app, "POST", f"/invoices/{issue(app)['id']}/void", json={"reason": "метрики"})
    hook = f"down-{uuid.uuid4().hex[:6]}"
    assert admin(app, "POST", "/webhooks", json={"id": hook, "url": "http://127.0.0.1:9/down"}).status_code == 201
    issued = wait_for(lambda: [d for d in receiver(app, paid["id"]) if d["event_type"] == "invoice.issued"])
    admin(app, "POST", f"/events/{issued[0]['webhook_id']}/replay", json={"endpoint_id": hook})
    assert wait_for(lambda: fulfilled(aws, stack_names["table"], paid["id"]))
    admin(app, "DELETE", f"/webhooks/{hook}")
    wanted = {
        "InvoicesIssued": {"invoices"}, "PaymentsRecorded": {"sandbox"}, "PaymentMismatch": {"sandbox"},
        "CallbackRejected": {"sandbox"}, "InvoicesVoided": {"manual"}, "EmailsSent": {"closing"},
        "WebhookAttempts": {"webhooks"}, "WebhookAttemptsFailed": {"webhooks"},
    }
    seen = wait_for(lambda: (m := emitted_metrics(app_log)) and all(v <= m.get(k, set()) for k, v in wanted.items()) and m)
    assert seen, {k: v - emitted_metrics(app_log).get(k, set()) for k, v in wanted.items()}
