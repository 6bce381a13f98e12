"""In a real browser (Debian's headless Chromium driven by playwright-core, tests/browser/): the
order form and its ИНН hint, a server-side error and its fix, the hosted invoice page, the PDF,
English and back, the sandbox payment, «Оплачен» with the act, the e-mail in the local mailbox,
the form without JavaScript. Then, independently of the browser, what the system holds: the
invoice paid and fulfilled, the downloaded PDF the one in S3, one invoice, one e-mail.
Screenshots and the downloaded PDFs: .local/screenshots/order-to-paid/ (ignored by git)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from boto3.dynamodb.types import TypeDeserializer
import pytest

from test_fulfilment import mails_to, pdf_text

ROOT = Path(__file__).resolve().parents[2]
BROWSER_DIR = ROOT / "tests" / "browser"
SCRIPT = BROWSER_DIR / "order-to-paid.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / ".local" / "screenshots" / "order-to-paid"
TIMEOUT = 90  # seconds for the whole browser flow; it takes a few when all is well


def require_browser_tools() -> str:
    """Node, playwright-core and Chromium, or a failure saying how to get them (never a skip)."""
    node = shutil.which("node")
    problems = []
    if not node:
        problems.append("`node` is not on PATH (Node.js 20+ is needed)")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"no Chromium at {CHROMIUM}: `apt-get install -y --no-install-recommends chromium`")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        problems.append("playwright-core is not installed: `npm ci --prefix tests/browser`")
    if problems:
        pytest.fail("the browser test cannot run: " + "; ".join(problems) + " (`make test` installs them)")
    return node


def run_flow(node: str, app: str) -> dict:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    env = {**os.environ, "CHROMIUM": CHROMIUM, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
           "BROWSER_FLOW_TIMEOUT_MS": str((TIMEOUT - 10) * 1000)}
    try:
        proc = subprocess.run([node, str(SCRIPT), app, str(SCREENSHOTS)], cwd=BROWSER_DIR, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the browser flow did not finish in {TIMEOUT}s; progress:\n{e.stderr}\nscreenshots: {SCREENSHOTS}")
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        pytest.fail(f"the browser flow printed no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    if proc.returncode != 0 or not result.get("ok"):
        pytest.fail(f"the browser flow failed at step {result.get('step')!r}: {result.get('error')}\n"
                    f"page: {result.get('at')}\nprogress:\n{proc.stderr}\nscreenshots: {SCREENSHOTS}")
    return result


def item(aws, table: str, pk: str, sk: str) -> dict:
    got = aws["dynamodb"].get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
    return {k: TypeDeserializer().deserialize(v) for k, v in got.get("Item", {}).items()}


def test_order_form_to_paid_invoice_in_a_browser(app, aws, stack_names, aws_endpoint):
    node = require_browser_tools()
    started = time.monotonic()
    result = run_flow(node, app)
    elapsed = time.monotonic() - started
    print(f"browser flow: {elapsed:.1f}s, steps (ms): {result['timings_ms']}")
    inv, email = result["invoice"], result["buyer_email"]

    # What the browser saw.
    assert not result["page_errors"], f"JavaScript errors in the pages: {result['page_errors']}"
    assert not result["server_errors"], f"5xx answers: {result['server_errors']}"
    hint = result["inn_hint"]
    assert hint["bad"] and hint["good"] != hint["bad"], hint
    err = result["server_error"]
    assert err["status"] == 422 and err["code"] == "invalid_email" and err["message"], err
    assert not err["other_errors"], f"only the e-mail was wrong, yet errors for {err['other_errors']}"
    assert err["kept"]["company"] == "ООО «Ромашка»" and err["kept"]["inn"] == "7736207543", err["kept"]
    assert result["no_js"]["status"] == 422 and result["no_js"]["code"] == "invalid_checksum", result["no_js"]
    assert inv["post_status"] == 303, inv
    assert result["statuses"]["issued"] == {"status": "issued", "label": "Не оплачен"}
    assert result["english"]["status"] == {"status": "issued", "label": "Unpaid"}
    assert result["statuses"]["paid"] == {"status": "paid", "label": "Оплачен"}
    assert result["statuses"].get("paid_en", {"label": "Paid"})["label"] == "Paid"
    assert inv["number"] in result["mailbox"]["subject"] and "Оплата получена" in result["mailbox"]["subject"]
    shots = [Path(p) for p in result["screenshots"]]
    assert len(shots) >= 6 and all(p.is_file() and p.stat().st_size > 1000 for p in shots), shots

    # The downloaded PDF: the invoice, byte for byte the document the system stored.
    pdf = Path(result["pdf"]["path"]).read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) == result["pdf"]["bytes"]
    text = pdf_text(pdf)
    for expected in ["Счёт на оплату", inv["number"], "7736207543", "ООО «Ромашка»"]:
        assert expected in text, f"{expected!r} not in the downloaded PDF:\n{text}"
    stored = item(aws, stack_names["table"], f"INVOICE#{inv['id']}", "INVOICE")
    s3 = lambda key: aws["s3"].get_object(Bucket=stack_names["bucket"], Key=key)["Body"].read()
    assert pdf == s3(stored["pdf_key"]), "the browser's PDF is not the stored invoice PDF"
    assert Path(result["act"]["path"]).read_bytes() == s3(stored["act_key"]), "the act link is not the stored act"

    # The system: this invoice paid through the sandbox and fulfilled; the failed post made none.
    assert (stored["number"], stored["status"], stored["status_label"]) == (inv["number"], "paid", "Оплачен"), stored
    assert stored["payment_provider"] == "sandbox" and stored.get("fulfilled_at"), stored
    assert stored["buyer"]["email"] == email and stored["plan"] == "start"
    scan = aws["dynamodb"].get_paginator("scan").paginate(
        TableName=stack_names["table"], FilterExpression="sk = :sk AND buyer.email = :e",
        ExpressionAttributeValues={":sk": {"S": "INVOICE"}, ":e": {"S": email}})
    assert [i["id"]["S"] for page in scan for i in page["Items"]] == [inv["id"]], "one invoice for this buyer"

    # The one e-mail, as the local SES holds it.
    mails = mails_to(aws_endpoint, email)
    assert len(mails) == 1, f"{len(mails)} e-mails to {email}"
    assert str(mails[0]["Subject"]) == result["mailbox"]["subject"]
