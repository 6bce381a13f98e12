"""Signed webhooks end to end: form → sandbox payment → the local receiver gets invoice.issued,
invoice.paid and subscription.activated, each signed by the Standard Webhooks scheme (checked
here in Python, independently of the Rust code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import requests

from test_payments import sandbox_body, sandbox_post

DEMO_SECRET = "whsec_bG9jYWwtZGVtby13ZWJob29rLXNlY3JldC0zMmI="


def valid_signature(d: dict, secret: str = DEMO_SECRET) -> bool:
    """Whether any of the delivery's signatures is by `secret` (Standard Webhooks, checked here)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{d['webhook_id']}.{d['timestamp']}.{d['body']}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in d["signature"].split())


def test_the_receiver_gets_signed_events_for_a_payment(app):
    account = f"acc-{uuid.uuid4().hex[:8]}"
    order = {"plan": "start", "company": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001",
             "address": "Москва", "email": "buh@romashka.example", "account": account}
    inv = requests.post(f"{app}/invoices", json=order).json()
    assert sandbox_post(app, sandbox_body(inv)).status_code == 200

    wanted = {"invoice.issued", "invoice.paid", "subscription.activated"}
    deadline = time.monotonic() + 15
    mine = []
    while time.monotonic() < deadline:
        mine = [d for d in requests.get(f"{app}/webhook-receiver.json").json() if account in d["body"]]
        if wanted <= {d["event_type"] for d in mine}:
            break
        time.sleep(0.2)
    assert wanted <= {d["event_type"] for d in mine}, mine
    for d in mine:
        assert d["verified"], d
        assert valid_signature(d), d
        body = json.loads(d["body"])
        assert body["id"] == d["webhook_id"] and body["type"] == d["event_type"] and body["timestamp"]
    paid = next(json.loads(d["body"]) for d in mine if d["event_type"] == "invoice.paid")
    assert paid["data"]["number"] == inv["number"] and paid["data"]["total"] == inv["total"]
    activated = next(json.loads(d["body"]) for d in mine if d["event_type"] == "subscription.activated")
    assert activated["data"]["account"] == account and activated["data"]["plan"] == "start"
    # Each event once (no duplicate deliveries to one endpoint).
    ids = [d["webhook_id"] for d in mine]
    assert len(ids) == len(set(ids))
    page = requests.get(f"{app}/webhook-receiver").text
    assert "подпись верна" in page
