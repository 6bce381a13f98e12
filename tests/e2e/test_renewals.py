"""Renewals end to end, driven through the local time-travel route (`POST /_local/jobs/{job}?now=`):
a paid subscription gets one renewal invoice and one reminder e-mail 7 days (Moscow date) before
its period ends, paying it extends the period from the old end; left unpaid, the subscription
expires after 3 days of grace and the webhook receiver hears `subscription.expired`."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import uuid

import requests

from test_fulfilment import mails_to, pdf_text, wait_for
from test_payments import sandbox_body, sandbox_post

REMINDERS, EXPIRY = "renewal-reminders", "expire-subscriptions"


def add_months(day: dt.date, months: int) -> dt.date:
    """The calendar way, clamped to the month's end: 31 January + 1 month = 28 (29) February."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def ru(day: dt.date) -> str:
    return f"{day:%d.%m.%Y}"


def run_job(app, job: str, day: dt.date | None = None, now: str | None = None) -> requests.Response:
    """Runs `job` as of 09:00 Moscow time on `day` (or as of the raw `now`)."""
    if day is not None:
        now = f"{day}T09:00:00+03:00"
    return requests.post(f"{app}/_local/jobs/{job}", params={"now": now} if now is not None else None, timeout=30)


def job_report(app, job: str, day: dt.date, now: str | None = None) -> dict:
    """Runs `job` as of 09:00 Moscow time on `day` (or as of `now`, which falls on that Moscow date)."""
    r = run_job(app, job, None if now else day, now)
    assert r.status_code == 200, r.text
    report = r.json()
    assert set(report) == {"as_of", "seen", "issued", "expired", "reminded", "failed", "complete"}, report
    assert report["as_of"] == str(day) and report["complete"] is True and report["failed"] == 0, report
    return report


def get_item(aws, table: str, pk: str, sk: str) -> dict | None:
    return aws["dynamodb"].get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True).get("Item")


def subscription(aws, table: str, account: str, plan: str = "start") -> dict | None:
    return get_item(aws, table, f"SUBSCRIPTION#{account}#{plan}", "SUBSCRIPTION")


def pay_and_wait(app, aws, table: str, inv: dict) -> None:
    """Pays `inv` through the sandbox and waits until it is fulfilled (act, e-mail, subscription)."""
    assert sandbox_post(app, sandbox_body(inv)).status_code == 200
    fulfilled = wait_for(lambda: "fulfilled_at" in (get_item(aws, table, f"INVOICE#{inv['id']}", "INVOICE") or {}))
    assert fulfilled, f"invoice {inv['number']} was not fulfilled"


def subscribe(app, aws, table: str) -> tuple[str, str, dt.date]:
    """A fresh account (and buyer address) with a paid, fulfilled `start` subscription: its period end."""
    account, address = f"acc-{uuid.uuid4().hex[:8]}", f"buh-{uuid.uuid4().hex[:8]}@romashka.example"
    order = {"plan": "start", "company": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001",
             "address": "Москва", "email": address, "account": account}
    r = requests.post(f"{app}/invoices", json=order)
    assert r.status_code == 201, r.text
    pay_and_wait(app, aws, table, r.json())
    sub = subscription(aws, table, account)
    assert sub and sub["status"]["S"] == "active", sub
    start, end = (dt.date.fromisoformat(sub[k]["S"]) for k in ("period_start", "period_end"))
    assert end == add_months(start, 1), sub
    return account, address, end


def reminders(aws_endpoint: str, address: str) -> list:
    return [m for m in mails_to(aws_endpoint, address) if str(m["Subject"]).startswith("Продление подписки: счёт № ")]


def test_one_renewal_invoice_and_reminder_seven_days_ahead_and_paying_it_extends_from_the_old_end(
        app, aws, stack_names, aws_endpoint):
    table = stack_names["table"]
    account, address, end = subscribe(app, aws, table)

    # Eight days before the end: too early, up to the last second of that day in Moscow.
    job_report(app, REMINDERS, end - dt.timedelta(days=8))
    job_report(app, REMINDERS, end - dt.timedelta(days=8), now=f"{end - dt.timedelta(days=8)}T20:59:59Z")
    assert "renewal_invoice_id" not in subscription(aws, table, account)
    assert reminders(aws_endpoint, address) == []

    # Seven days before (from midnight in Moscow, still the day before in UTC), three runs:
    # one invoice, one e-mail.
    first = job_report(app, REMINDERS, end - dt.timedelta(days=7), now=f"{end - dt.timedelta(days=8)}T21:00:00Z")
    assert first["issued"] >= 1 and first["reminded"] >= 1, first
    sub = subscription(aws, table, account)
    invoice_id = sub["renewal_invoice_id"]["S"]
    assert sub["renewal_for"]["S"] == str(end) and sub["status"]["S"] == "active"
    for _ in range(2):
        job_report(app, REMINDERS, end - dt.timedelta(days=7))
        again = subscription(aws, table, account)
        assert (again["renewal_invoice_id"]["S"], again["renewal_for"]["S"]) == (invoice_id, str(end))
    invoices = aws["dynamodb"].query(
        TableName=table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :a AND begins_with(gsi1sk, :i)",
        ExpressionAttributeValues={":a": {"S": f"ACCOUNT#{account}"}, ":i": {"S": "INVOICE#"}})["Items"]
    assert len(invoices) == 2, "the first invoice and exactly one renewal"

    # The renewal invoice is for the next period, and says so on its line.
    next_end = add_months(end, 1)
    item = get_item(aws, table, f"INVOICE#{invoice_id}", "INVOICE")
    assert item["status"]["S"] == "issued"
    assert (item["period"]["M"]["start"]["S"], item["period"]["M"]["end"]["S"]) == (str(end), str(next_end))
    number = item["number"]["S"]
    span = f"с {ru(end)} по {ru(next_end - dt.timedelta(days=1))}"
    assert span in item["lines"]["L"][0]["M"]["title"]["S"]

    mails = wait_for(lambda: reminders(aws_endpoint, address))
    assert len(mails) == 1, [m["Subject"] for m in mails]
    mail = mails[0]
    assert str(mail["Subject"]).startswith(f"Продление подписки: счёт № {number}")
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(attachments) == {f"Счёт {number}.pdf"}
    text = " ".join(pdf_text(attachments[f"Счёт {number}.pdf"]).split())  # the line title wraps
    for expected in [number, f"с {ru(end)}", "12 000,00"]:
        assert expected in text, f"{expected!r} not in the renewal invoice:\n{text}"

    # The day after: nothing more.
    job_report(app, REMINDERS, end - dt.timedelta(days=6))
    assert len(reminders(aws_endpoint, address)) == 1
    assert subscription(aws, table, account)["renewal_invoice_id"]["S"] == invoice_id

    # The link in the e-mail opens the invoice's page, unpaid.
    body = mail.get_body(("plain",)).get_content()
    links = re.findall(rf"https?://\S+/invoices/{re.escape(invoice_id)}\?token=\S+", body)
    assert links, body
    page = requests.get(links[0])
    assert page.status_code == 200 and "Не оплачен" in page.text
    renewal = requests.get(links[0], headers={"Accept": "application/json"}).json()
    assert (renewal["id"], renewal["number"], renewal["status"]) == (invoice_id, number, "issued")

    # Paid: the subscription runs on from the old end, by a calendar month.
    pay_and_wait(app, aws, table, renewal)
    sub = subscription(aws, table, account)
    assert (sub["period_end"]["S"], sub["status"]["S"]) == (str(next_end), "active"), sub


def expired_webhooks(app, account: str) -> list[dict]:
    deliveries = requests.get(f"{app}/webhook-receiver.json").json()
    return [d for d in deliveries if d["event_type"] == "subscription.expired" and account in d["body"]]


def test_an_unpaid_subscription_expires_after_three_days_of_grace_and_the_webhook_hears_it(app, aws, stack_names):
    table = stack_names["table"]
    account, _, end = subscribe(app, aws, table)

    job_report(app, EXPIRY, end + dt.timedelta(days=2))
    assert subscription(aws, table, account)["status"]["S"] == "active"

    report = job_report(app, EXPIRY, end + dt.timedelta(days=3))
    assert report["expired"] >= 1, report
    sub = subscription(aws, table, account)
    assert sub["status"]["S"] == "expired" and sub["period_end"]["S"] == str(end), sub
    # Once: a second run finds nothing of this account to do.
    job_report(app, EXPIRY, end + dt.timedelta(days=3))

    got = wait_for(lambda: expired_webhooks(app, account))
    assert len(got) == 1, got
    assert got[0]["verified"], got[0]
    event = json.loads(got[0]["body"])
    assert event["type"] == "subscription.expired" and event["data"]["account"] == account, event
    assert event["data"]["plan"] == "start"


def jobs_state(aws, table: str) -> tuple:
    pages = aws["dynamodb"].get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    items = [i for page in pages for i in page["Items"]]
    checkpoints = sorted(json.dumps(i, sort_keys=True) for i in items if i["pk"]["S"].startswith("JOB#"))
    invoices = sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("INVOICE#"))
    subs = {i["pk"]["S"]: (i["status"]["S"], i.get("renewal_invoice_id", {}).get("S"), i.get("reminded_days", {}).get("N"))
            for i in items if i["pk"]["S"].startswith("SUBSCRIPTION#")}
    return checkpoints, invoices, subs


def test_the_route_refuses_unknown_jobs_and_bad_times_and_changes_nothing(app, aws, stack_names):
    table = stack_names["table"]
    # A subscription the jobs would act on, were they run as of these moments.
    account, _, end = subscribe(app, aws, table)
    due = f"{end - dt.timedelta(days=7)}T09:00:00+03:00"
    before = jobs_state(aws, table)

    r = run_job(app, "renewal-remiders", now=due)
    assert r.status_code == 404 and r.json()["error"] == "unknown_job", r.text
    for bad in ["yesterday", f"{end - dt.timedelta(days=7)}", "2026-13-01T09:00:00+03:00"]:
        for job in (REMINDERS, EXPIRY):
            r = run_job(app, job, now=bad)
            assert r.status_code == 422 and r.json()["error"] == "invalid_now", (bad, r.text)

    checkpoints, invoices, subs = jobs_state(aws, table)
    assert (checkpoints, invoices) == before[:2]
    assert {k: subs[k] for k in before[2]} == before[2]
    assert "renewal_invoice_id" not in subscription(aws, table, account)
