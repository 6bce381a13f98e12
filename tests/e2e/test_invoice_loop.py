"""The invoice loop through its public surfaces only: HTTP in; what the customer downloads, what
the operator sees in S3 and DynamoDB out."""

from __future__ import annotations

import io
import re

import pytest
import requests
from pypdf import PdfReader

ORDER = {
    "plan": "start",
    "company": "ООО «Ромашка»",
    "inn": "7736207543",
    "kpp": "770401001",
    "address": "119021, г. Москва, ул. Льва Толстого, д. 16",
    "email": "buh@romashka.example",
}
INVOICE_KEYS = {"id", "number", "status", "total", "currency", "pdf_url", "invoice_url"}


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[ \u00a0]+", " ", text)


# What creating an invoice writes (other tests' payments keep writing acts, outbox events and
# webhook logs in the background; those are not this test's business).
CREATION_ITEMS = ("INVOICE#", "COUNTER#", "NUMBER#", "IDEMPOTENCY#")


def table_items(aws, table: str) -> list[dict]:
    items = aws["dynamodb"].scan(TableName=table, ConsistentRead=True)["Items"]
    return [i for i in items if i["pk"]["S"].startswith(CREATION_ITEMS)
            or (i["pk"]["S"].startswith("OUTBOX#") and i["type"]["S"] == "invoice.issued")]


def bucket_keys(aws, bucket: str) -> list[str]:
    return [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=bucket, Prefix="invoices/").get("Contents", [])]


def test_plans_are_listed_in_kopecks(app):
    r = requests.get(f"{app}/plans")
    assert r.status_code == 200
    start = next(p for p in r.json() if p["id"] == "start")
    assert {"id", "title", "price", "period_months", "vat"} <= start.keys()
    assert (start["price"], start["period_months"], start["vat"]) == (1200000, 1, "22%")


def test_an_order_becomes_a_numbered_invoice_with_its_pdf(app, aws, stack_names):
    r = requests.post(f"{app}/invoices", json=ORDER)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert INVOICE_KEYS <= inv.keys()
    assert inv["status"] == "issued" and inv["currency"] == "RUB" and inv["total"] == 1200000
    assert re.fullmatch(r"\d{4}-\d{6}", inv["number"])
    assert inv["invoice_url"].startswith(f"{app}/invoices/{inv['id']}?token=")

    # What the customer downloads: the PDF behind the presigned link.
    pdf = requests.get(inv["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    text = pdf_text(pdf.content)
    for expected in ["Счёт на оплату", inv["number"], "7736207543", "12 000,00", "Двенадцать тысяч рублей 00 копеек",
                     "В том числе НДС 22%", "2 163,93", "ООО «Ромашка»", "Оплата по счёту № " + inv["number"]]:
        assert expected in text, f"{expected!r} not in the PDF text:\n{text}"

    # What the operator sees: the object at a browsable key, the item with a readable status.
    year, month = inv["number"][:4], None
    keys = [k for k in bucket_keys(aws, stack_names["bucket"]) if k.endswith(f"/{inv['number']}.pdf")]
    assert len(keys) == 1 and re.fullmatch(rf"invoices/{year}/\d\d/{inv['number']}\.pdf", keys[0]), keys
    head = aws["s3"].head_object(Bucket=stack_names["bucket"], Key=keys[0])
    assert head["ContentType"] == "application/pdf"
    item = aws["dynamodb"].get_item(TableName=stack_names["table"], Key={"pk": {"S": f"INVOICE#{inv['id']}"}, "sk": {"S": "INVOICE"}})["Item"]
    assert item["status"]["S"] == "issued" and item["status_label"]["S"] == "Не оплачен"
    assert item["number"]["S"] == inv["number"] and item["total"]["N"] == "1200000"

    # The invoice link: JSON with the same keys, or the hosted page.
    got = requests.get(inv["invoice_url"], headers={"Accept": "application/json"})
    assert got.status_code == 200 and got.json().keys() == inv.keys() and got.json()["number"] == inv["number"]
    page = requests.get(inv["invoice_url"], headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Не оплачен" in page.text and inv["number"] in page.text
    # The page's download link leads to the same PDF.
    link = re.search(r'href="([^"]+/pdf\?token=[0-9a-f]+)"', page.text).group(1)
    assert pdf_text(requests.get(link).content) == text

    # A wrong token answers exactly like a missing invoice.
    wrong = requests.get(f"{app}/invoices/{inv['id']}?token={'0' * 32}", headers={"Accept": "application/json"})
    missing = requests.get(f"{app}/invoices/nope?token={'0' * 32}", headers={"Accept": "application/json"})
    assert wrong.status_code == missing.status_code == 404 and wrong.json() == missing.json()


def test_numbers_follow_each_other(app):
    a = requests.post(f"{app}/invoices", json=ORDER).json()["number"]
    b = requests.post(f"{app}/invoices", json={**ORDER, "plan": "pro", "quantity": 2}).json()["number"]
    assert int(b[-6:]) == int(a[-6:]) + 1


def test_a_plain_html_form_is_redirected_to_the_hosted_page(app):
    r = requests.post(f"{app}/invoices", data={**ORDER, "kpp": "770401001"},
                      headers={"Accept": "text/html,application/xhtml+xml"}, allow_redirects=False)
    assert r.status_code == 303
    page = requests.get(r.headers["Location"])
    assert page.status_code == 200 and "Не оплачен" in page.text and "12 000,00" in page.text


def test_idempotency_key_over_http(app):
    headers = {"Idempotency-Key": "e2e-order-1"}
    first = requests.post(f"{app}/invoices", json=ORDER, headers=headers)
    again = requests.post(f"{app}/invoices", json=ORDER, headers=headers)
    other = requests.post(f"{app}/invoices", json={**ORDER, "quantity": 3}, headers=headers)
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert first.json()["id"] == again.json()["id"]
    assert other.json()["error"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    "body,content_type,status,code,field",
    [
        (b'{"plan": ', "application/json", 400, "malformed_json", None),
        (b"plan=start", "text/plain", 415, "unsupported_media_type", None),
        ('{"plan": "start", "inn": "7736207544"}'.encode(), "application/json", 422, "validation_failed", "inn"),
        ('{"plan": "gold"}'.encode(), "application/json", 422, "validation_failed", "plan"),
        (b"plan=start&quantity=0", "application/x-www-form-urlencoded", 422, "validation_failed", "quantity"),
        (b"plan=start&quantity=-1", "application/x-www-form-urlencoded", 422, "validation_failed", "quantity"),
        (b"plan=start&quantity=100000000", "application/x-www-form-urlencoded", 422, "validation_failed", "quantity"),
        (b"plan=start&kpp=12", "application/x-www-form-urlencoded", 422, "validation_failed", "kpp"),
        (b"plan=start&hack=1", "application/x-www-form-urlencoded", 422, "validation_failed", "hack"),
        (b"company=%FF%FE", "application/x-www-form-urlencoded", 400, "invalid_utf8", None),
        (b'{"company": "\xff"}', "application/json", 400, "invalid_utf8", None),
        (b"x" * 100_000, "application/json", 413, "payload_too_large", None),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(app, aws, stack_names, body, content_type, status, code, field):
    items, keys = len(table_items(aws, stack_names["table"])), len(bucket_keys(aws, stack_names["bucket"]))
    r = requests.post(f"{app}/invoices", data=body, headers={"Content-Type": content_type})
    assert r.status_code == status, r.text
    err = r.json()
    assert err["error"] == code and err["message"] and isinstance(err["fields"], dict)
    if field:
        assert field in err["fields"], err
    assert len(table_items(aws, stack_names["table"])) == items
    assert len(bucket_keys(aws, stack_names["bucket"])) == keys


def test_cors_only_for_configured_origins(app):
    def preflight(origin):
        return requests.options(f"{app}/invoices", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight("https://shop.example").headers.get("access-control-allow-origin") == "https://shop.example"
    assert "access-control-allow-origin" not in preflight("https://evil.example").headers
