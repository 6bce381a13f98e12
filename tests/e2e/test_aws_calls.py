"""AWS calls per invoice lifecycle, held where they are: `autobill-bench lifecycle` runs two
customers through the functions' own binaries (debug build here) against a local AWS of its own
that logs every call, and the calls of each step must equal the table below. A change that adds
a call to the path from form to paid shows up here, with its step; BENCHMARKS.md has the same
run on release binaries with timings and costs (`make bench-lambda`). No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

from conftest import ROOT, STACK, free_port, wait_http

TARGET = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
PY = sys.executable  # the venv with moto, as make test runs pytest

# The calls of each step, as counted for BENCHMARKS.md.
EXPECTED = {
    "form → invoice": {"dynamodb:GetItem": 2, "dynamodb:TransactWriteItems": 1, "s3:PutObject": 1},
    "invoice page": {"dynamodb:GetItem": 2, "s3:HeadObject": 1},
    "PDF download (browser, presigned)": {"s3:GetObject": 1},
    "publish": {"dynamodb:UpdateItem": 1, "events:PutEvents": 1},
    "webhook": {"dynamodb:GetItem": 1, "dynamodb:PutItem": 1, "dynamodb:Query": 1, "dynamodb:UpdateItem": 1},
    "payment callback (CloudPayments)": {"dynamodb:GetItem": 1, "dynamodb:TransactWriteItems": 1},
    "fulfil: act, e-mail, subscription": {"dynamodb:GetItem": 2, "dynamodb:PutItem": 2, "dynamodb:TransactWriteItems": 1,
                                          "dynamodb:UpdateItem": 5, "s3:PutObject": 1, "ses:SendEmail": 1},
    "renewal reminder job": {"dynamodb:GetItem": 2, "dynamodb:PutItem": 2, "dynamodb:Query": 1,
                             "dynamodb:TransactWriteItems": 1, "dynamodb:UpdateItem": 1, "s3:PutObject": 1,
                             "ses:SendEmail": 1},
}


def expected(step: str) -> dict:
    return EXPECTED.get(step) or EXPECTED[step.split(" ")[0]]


def test_aws_calls_per_lifecycle(tmp_path):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path / "requests.jsonl"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AUTOBILL_TABLE": "autobill-calls",
           "AUTOBILL_BUCKET": "autobill-calls-documents", "AUTOBILL_PUBLIC_URL": "https://api.autobill.example",
           "AUTOBILL_CLOUDPAYMENTS_API_SECRET": "calls-cloudpayments-secret",
           "AUTOBILL_WEBHOOK_RETRY_GROUP": "autobill-webhook-retries",
           "AUTOBILL_WEBHOOK_RETRY_TARGET_ARN": "arn:aws:lambda:eu-central-1:123456789012:function:deliver-webhooks",
           "AUTOBILL_WEBHOOK_RETRY_ROLE_ARN": "arn:aws:iam::123456789012:role/autobill-webhook-retries"}
    moto = subprocess.Popen([PY, str(ROOT / "infra/local/moto_serve.py"), "-p", str(port), "--request-log", str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"{endpoint}/moto-api/")
        subprocess.run([PY, str(STACK), "create", "--endpoint", endpoint, "--region", env.get("AWS_REGION", "eu-central-1"),
                        "--table", env["AUTOBILL_TABLE"], "--bucket", env["AUTOBILL_BUCKET"],
                        "--event-bus", env["AUTOBILL_EVENT_BUS"], "--configuration-set", env["AUTOBILL_SES_CONFIGURATION_SET"]],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        run = subprocess.run([f"{TARGET}/debug/autobill-bench", "lifecycle", "--bin-dir", f"{TARGET}/debug",
                              "--request-log", str(log), "--config", env["AUTOBILL_CONFIG_FILE"],
                              "--work-dir", str(tmp_path / "work")], env=env, capture_output=True, text=True, timeout=300)
    finally:
        moto.terminate()
        moto.wait()
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)

    # Both customers went the whole way: every webhook arrived, no call failed.
    assert report["webhooks_received"] == 8
    steps = report["cold_steps"] + [s for s in report["steps"] if s["per"] == "invoice"]
    assert [c for s in steps for c in s["calls"] if c["status"] >= 400] == []
    for step in steps:
        calls = Counter(f"{c['service']}:{c['operation']}" for c in step["calls"])
        assert dict(calls) == expected(step["name"]), step["name"]
    # The e-mails carry their PDFs; each published entry is a domain event.
    sends = [c for s in steps for c in s["calls"] if c["operation"] == "SendEmail"]
    assert len(sends) == 4 and all(c["bytes"] > 20_000 for c in sends)
    kinds = Counter(e["detail-type"] for s in steps for c in s["calls"] if c["operation"] == "PutEvents" for e in c["events"])
    assert kinds == {"invoice.issued": 4, "invoice.paid": 2, "subscription.activated": 2}
