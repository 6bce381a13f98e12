"""Races through the public surfaces, all requests released at once: a customer's form posted 50
times with one Idempotency-Key makes one invoice and one number; two different payments for one
invoice pay it once, and the second is kept as an unapplied payment for an operator to refund."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from test_admin import admin, order
from test_fulfilment import mails_to, wait_for
from test_payments import events_for, sandbox_body, sandbox_post


def at_once(calls: list) -> list:
    """Runs every call on its own thread, released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def seq(number: str) -> int:
    return int(re.search(r"(\d+)$", number).group(1))


def test_fifty_parallel_posts_with_one_idempotency_key_make_one_invoice(app, aws, stack_names):
    body, key = order(), f"race-{uuid.uuid4().hex}"
    before = requests.post(f"{app}/invoices", json=order()).json()

    def post():
        return requests.post(f"{app}/invoices", json=body, headers={"Idempotency-Key": key}, timeout=60)

    answers = at_once([post] * 50)
    after = requests.post(f"{app}/invoices", json=order()).json()

    assert [r.status_code for r in answers] == [201] * 50, [r.text for r in answers if r.status_code != 201]
    invoices = {r.json()["id"] for r in answers}
    assert len(invoices) == 1, invoices
    assert sum(r.headers.get("idempotent-replayed") != "true" for r in answers) == 1, "one request issued it"
    # One number taken: the invoices before and after are its neighbours.
    number = answers[0].json()["number"]
    assert seq(number) == seq(before["number"]) + 1 and seq(after["number"]) == seq(number) + 1
    # One invoice for the customer in the table, and its PDF downloads.
    mine = aws["dynamodb"].query(
        TableName=stack_names["table"], IndexName="gsi1", KeyConditionExpression="gsi1pk = :a",
        ExpressionAttributeValues={":a": {"S": f"ACCOUNT#{body['account']}"}})["Items"]
    assert [i["pk"]["S"] for i in mine] == [f"INVOICE#{answers[0].json()['id']}"]
    pdf = requests.get(answers[0].json()["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_fifty_parallel_posts_with_distinct_keys_take_fifty_consecutive_numbers(app):
    def post():
        return requests.post(f"{app}/invoices", json=order(), headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=60)

    answers = at_once([post] * 50)
    assert [r.status_code for r in answers] == [201] * 50, [r.text for r in answers if r.status_code != 201]
    numbers = sorted(seq(r.json()["number"]) for r in answers)
    assert numbers == list(range(numbers[0], numbers[0] + 50)), "gapless and unique"


def test_two_payments_racing_for_one_invoice_pay_it_once_and_keep_the_other_for_review(app, aws_endpoint, published):
    races = []
    for _ in range(5):
        body = order()
        invoice = requests.post(f"{app}/invoices", json=body).json()
        first, second = sandbox_body(invoice), sandbox_body(invoice)
        answers = at_once([lambda b=first: sandbox_post(app, b), lambda b=second: sandbox_post(app, b)])
        # Both providers are told we have their money: neither keeps retrying.
        assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
        races.append((body, invoice, {first["payment_id"], second["payment_id"]}))

    for body, invoice, payment_ids in races:
        shown = admin(app, "GET", f"/invoices/{invoice['id']}").json()
        assert shown["invoice"]["status"] == "paid"
        payments = [h for h in shown["history"] if h["kind"] == "payment"]
        assert {p["payment_id"] for p in payments} == payment_ids, "both payments are on file"
        assert sorted(p["outcome"] for p in payments) == ["paid", "unapplied"], payments
        assert all(p["amount"] == invoice["total"] for p in payments)
        # Paid once: one invoice.paid event in its history (written with the payment, in one
        # transaction) and on the bus; fulfilled once, with one closing e-mail.
        paid_events = [h for h in shown["history"] if h["kind"] == "event" and h["type"] == "invoice.paid"]
        assert len(paid_events) == 1, shown["history"]
        assert len(events_for(published, invoice["id"])) == 1
        assert wait_for(lambda: admin(app, "GET", f"/invoices/{invoice['id']}").json()["fulfilled_at"])
        mails = mails_to(aws_endpoint, body["email"])
        assert len(mails) == 1 and "Оплата получена" in mails[0]["Subject"]
