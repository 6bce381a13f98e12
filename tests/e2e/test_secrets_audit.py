"""Secrets never reach the logs. Every local runner the tests start logs at debug level, ours and
the AWS SDK's (conftest.App), and its log is audited when it stops (conftest.audit_logs). Here:
the audit itself catches each kind of leak, and a run through every place a secret is handled
(signed links, the presigned PDF redirect, each provider's signed callback, a webhook endpoint's
secret, signed deliveries, the management API key) leaves none in the session's log."""

from __future__ import annotations

import os
import uuid

import requests

from conftest import SECRETS, audit_logs, link_token
from test_admin import admin, order
from test_fulfilment import wait_for
from test_payments import sandbox_body, sandbox_post

ENV = {"AUTOBILL_LINK_SECRET": "link-secret-for-the-audit", "AUTOBILL_ADMIN_API_KEY": "admin-key-for-the-audit"}
INVOICE = "019ac0de-0000-7000-8000-000000000001"


def test_the_audit_catches_every_kind_of_leak():
    clean = f'{{"level":"INFO","fields":{{"message":"invoice issued","invoice":"{INVOICE}"}}}}'
    assert audit_logs(clean, ENV) == []
    leaks = {
        "link secret": "key=link-secret-for-the-audit",
        "admin API key": "Bearer admin-key-for-the-audit",
        "stripe secret": SECRETS["stripe"],
        "robokassa secret": f"password2={SECRETS['robokassa']}",
        "invoice link token": f"opened {link_token(ENV['AUTOBILL_LINK_SECRET'], INVOICE)}",
        "presigned or SigV4 signature": "GET /b/k.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab12",
        "webhook secret": "endpoint secret whsec_bG9jYWwtZGVtby13ZWJob29r",
    }
    for what, line in leaks.items():
        found = audit_logs(f"{clean}\n{line}", ENV)
        assert any(f.startswith(what) for f in found), (what, found)


def test_a_run_through_every_secret_leaves_none_in_the_debug_log(app, app_log):
    inv = requests.post(f"{app}/invoices", json=order()).json()
    token = inv["invoice_url"].split("token=")[1]
    # The hosted page, then its PDF link: a redirect to a presigned S3 URL, followed.
    assert requests.get(inv["invoice_url"]).status_code == 200
    pdf = requests.get(f"{app}/invoices/{inv['id']}/pdf?token={token}")
    assert pdf.status_code == 200 and pdf.history and "X-Amz-Signature=" in pdf.url
    assert requests.get(f"{app}/invoices/{inv['id']}/pdf?token={'0' * 32}").status_code == 404
    # A signed callback, then a forged one.
    assert sandbox_post(app, sandbox_body(inv)).status_code == 200
    assert sandbox_post(app, sandbox_body(inv), secret="guess").status_code == 401
    # A webhook endpoint with its secret, deliveries signed with it.
    hook = f"audit-{uuid.uuid4().hex[:6]}"
    created = admin(app, "POST", "/webhooks", json={"id": hook, "url": f"{app}/webhook-receiver/demo"})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    paid = wait_for(lambda: admin(app, "GET", f"/invoices/{inv['id']}").json()["fulfilled_at"])
    assert paid
    other = requests.post(f"{app}/invoices", json=order()).json()
    assert wait_for(lambda: any(d["endpoint_id"] == hook for d in admin(app, "GET", f"/invoices/{other['id']}").json()["deliveries"]))
    assert admin(app, "DELETE", f"/webhooks/{hook}").status_code == 204

    logs = app_log.read_text()
    assert '"level":"DEBUG"' in logs and "X-Amz-Signature" not in logs
    assert secret not in logs and token not in logs
    # The runner's link secret and admin key are the ones `make test` exported.
    assert audit_logs(logs, os.environ) == []

