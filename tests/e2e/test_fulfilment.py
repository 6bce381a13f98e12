"""On payment, through the public surfaces only: the customer gets one e-mail with the invoice
and the act; the act says what was paid for; the subscription runs; the page links the act."""

from __future__ import annotations

import datetime as dt
import email
import io
import re
import time
import uuid
from email import policy
from zoneinfo import ZoneInfo

import requests
from pypdf import PdfReader

from test_payments import sandbox_body, sandbox_post


def pdf_text(data: bytes) -> str:
    return re.sub(r"[ \u00a0]+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def mails_to(aws_endpoint: str, address: str) -> list[email.message.EmailMessage]:
    raw = [m["raw_data"] for m in requests.get(f"{aws_endpoint}/_local/ses/raw-messages").json()]
    parsed = [email.message_from_string(r, policy=policy.default) for r in raw]
    return [m for m in parsed if address in str(m["To"])]


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_payment_brings_one_email_with_invoice_and_act_and_a_running_subscription(app, aws, stack_names, aws_endpoint):
    address = f"buh-{uuid.uuid4().hex[:8]}@romashka.example"
    account = f"acc-{uuid.uuid4().hex[:8]}"
    order = {"plan": "start", "company": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001",
             "address": "Москва", "email": address, "account": account}
    inv = requests.post(f"{app}/invoices", json=order).json()
    assert inv["act_url"] is None
    assert sandbox_post(app, sandbox_body(inv)).status_code == 200

    mails = wait_for(lambda: mails_to(aws_endpoint, address))
    assert len(mails) == 1, "exactly one e-mail"
    mail = mails[0]
    assert inv["number"] in mail["Subject"] and "Оплата получена" in mail["Subject"]
    assert "billing@example.com" in str(mail["From"])
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(attachments) == {f"Счёт {inv['number']}.pdf", f"Акт {inv['number']}.pdf"}
    assert all(part.startswith(b"%PDF-") for part in attachments.values())

    today = dt.datetime.now(ZoneInfo("Europe/Moscow")).date()
    end = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)  # first of next month
    last = min(today.day, ((end + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)).day)
    period_end = end.replace(day=last)  # today + 1 month, clamped to the month's end
    act = pdf_text(attachments[f"Акт {inv['number']}.pdf"])
    for expected in [inv["number"], "Акт", "12 000,00", "Двенадцать тысяч рублей 00 копеек", "ООО «Ромашка»",
                     f"с {today:%d.%m.%Y} по {period_end - dt.timedelta(days=1):%d.%m.%Y}"]:
        assert expected in act, f"{expected!r} not in the act:\n{act}"
    assert inv["number"] in pdf_text(attachments[f"Счёт {inv['number']}.pdf"])

    sub = aws["dynamodb"].get_item(TableName=stack_names["table"],
                                   Key={"pk": {"S": f"SUBSCRIPTION#{account}#start"}, "sk": {"S": "SUBSCRIPTION"}})["Item"]
    assert (sub["period_start"]["S"], sub["period_end"]["S"]) == (str(today), str(period_end))
    assert sub["status"]["S"] == "active"

    # The page and the JSON link the act once it exists; the link serves the same PDF.
    got = wait_for(lambda: requests.get(inv["invoice_url"], headers={"Accept": "application/json"}).json()["act_url"])
    page = requests.get(inv["invoice_url"]).text
    assert 'data-link="act"' in page
    assert pdf_text(requests.get(got).content) == act

    # The local mailbox lists it, attachments downloadable.
    box = requests.get(f"{app}/mailbox").text
    assert mail["Subject"] in box or inv["number"] in box
    link = re.findall(r'href="(/mailbox/\d+/attachments/\d+)">Акт', box)[0]
    assert requests.get(f"{app}{link}").content.startswith(b"%PDF-")

    # Nothing more arrives later (the sweeper and the bus do not send it again).
    time.sleep(2.5)
    assert len(mails_to(aws_endpoint, address)) == 1
