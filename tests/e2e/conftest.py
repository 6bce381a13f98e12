"""Fixtures for the end-to-end tests: the local AWS `make test` started (AWS_ENDPOINT_URL), a
fresh table and bucket created from template.yaml, and the local runner binary serving HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "infra" / "local" / "stack.py"
REGION = os.environ.get("AWS_REGION", "eu-central-1")

# Provider secrets of the test deployment (each test signs with them, independently of the Rust code).
SECRETS = {
    "sandbox": os.environ.get("AUTOBILL_SANDBOX_SECRET", "local-sandbox-secret-not-for-production"),
    "stripe": "whsec_e2e_stripe_endpoint_secret",
    "cloudpayments": "e2e-cloudpayments-api-secret",
    "tbank_terminal": "E2ETerminal",
    "tbank_password": "e2e-tbank-password",
    "robokassa": "e2e-robokassa-password2",
    "yookassa_shop": "123456",
    "yookassa_key": "test_e2e_yookassa_key",
}


class FakeYooKassa:
    """YooKassa's API on loopback: `GET /v3/payments/{id}` answers what the test put in `payments`."""

    def __init__(self):
        self.payments: dict[str, dict] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                expected = "Basic " + base64.b64encode(f"{SECRETS['yookassa_shop']}:{SECRETS['yookassa_key']}".encode()).decode()
                payment = fake.payments.get(self.path.rsplit("/", 1)[-1])
                status = 401 if self.headers.get("Authorization") != expected else 200 if payment else 404
                body = json.dumps(payment if status == 200 else {"type": "error"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def yookassa_api():
    fake = FakeYooKassa()
    yield fake
    fake.server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout}s")


@pytest.fixture(scope="session")
def aws_endpoint() -> str:
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        pytest.fail("AWS_ENDPOINT_URL is not set: run the tests with `make test`, which starts the local AWS")
    return url


@pytest.fixture(scope="session")
def aws(aws_endpoint):
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    return {
        "dynamodb": session.client("dynamodb", endpoint_url=aws_endpoint),
        "s3": session.client("s3", endpoint_url=aws_endpoint),
        "events": session.client("events", endpoint_url=aws_endpoint),
        "sqs": session.client("sqs", endpoint_url=aws_endpoint),
    }


@pytest.fixture(scope="session")
def published(aws, stack_names):
    """An SQS queue subscribed to every autobill event on the bus: what consumers would see."""
    queue = aws["sqs"].create_queue(QueueName=f"{stack_names['bus']}-tap")["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws["events"].put_rule(Name="tap", EventBusName=stack_names["bus"], EventPattern=json.dumps({"source": ["autobill"]}))
    aws["events"].put_targets(Rule="tap", EventBusName=stack_names["bus"], Targets=[{"Id": "tap", "Arn": arn}])
    seen: list[dict] = []

    def drain() -> list[dict]:
        while True:
            got = aws["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return seen
            for m in got:
                seen.append(json.loads(m["Body"]))
                aws["sqs"].delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    return drain


@pytest.fixture(scope="session")
def stack_names(aws_endpoint):
    suffix = uuid.uuid4().hex[:8]
    names = {"table": f"autobill-e2e-{suffix}", "bucket": f"autobill-e2e-{suffix}", "bus": f"autobill-e2e-{suffix}"}
    subprocess.run(
        [sys.executable, str(STACK), "create", "--endpoint", aws_endpoint, "--region", REGION,
         "--table", names["table"], "--bucket", names["bucket"], "--event-bus", names["bus"]],
        check=True, capture_output=True, text=True,
    )
    return names


def app_log_path(stack_names) -> Path:
    return ROOT / ".local" / f"e2e-{stack_names['table']}.log"


@pytest.fixture(scope="session")
def app_log(app, stack_names) -> Path:
    """The local runner's output: its JSON logs and metric lines, as CloudWatch Logs would get them."""
    return app_log_path(stack_names)


@pytest.fixture(scope="session")
def app(aws_endpoint, stack_names, yookassa_api, published):
    """The local runner: every HTTP function's routes in one process, as `make run` serves them."""
    binary = os.environ.get("AUTOBILL_LOCAL_BIN")
    if not binary or not Path(binary).exists():
        pytest.fail("AUTOBILL_LOCAL_BIN does not name the built autobill-local binary: run `make test`")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AUTOBILL_PORT": str(port),
        "AUTOBILL_TABLE": stack_names["table"],
        "AUTOBILL_BUCKET": stack_names["bucket"],
        "AUTOBILL_PUBLIC_URL": base,
        "AUTOBILL_CORS_ORIGINS": "https://shop.example",
        "AUTOBILL_CONFIG_FILE": str(ROOT / "infra" / "local" / "config.toml"),
        "AUTOBILL_EVENT_BUS": stack_names["bus"],
        "AUTOBILL_SANDBOX_SECRET": SECRETS["sandbox"],
        "AUTOBILL_STRIPE_WEBHOOK_SECRET": SECRETS["stripe"],
        "AUTOBILL_CLOUDPAYMENTS_API_SECRET": SECRETS["cloudpayments"],
        "AUTOBILL_TBANK_TERMINAL_KEY": SECRETS["tbank_terminal"],
        "AUTOBILL_TBANK_PASSWORD": SECRETS["tbank_password"],
        "AUTOBILL_ROBOKASSA_PASSWORD2": SECRETS["robokassa"],
        "AUTOBILL_YOOKASSA_SHOP_ID": SECRETS["yookassa_shop"],
        "AUTOBILL_YOOKASSA_SECRET_KEY": SECRETS["yookassa_key"],
        "AUTOBILL_YOOKASSA_API_URL": yookassa_api.url,
        # The tests call from loopback; production uses YooKassa's published ranges.
        "AUTOBILL_YOOKASSA_IPS": "127.0.0.1/32,::1/128",
    }
    log_path = app_log_path(stack_names)
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")
    proc = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_http(f"{base}/plans")
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        # Secrets never reach the logs (the shop id and terminal key are identifiers, not secrets).
        logs = log_path.read_text()
        assert "invoice issued" in logs, "the app's logs were not captured"
        secrets = [env["AUTOBILL_LINK_SECRET"], env["AUTOBILL_ADMIN_API_KEY"], *(v for k, v in SECRETS.items() if k not in ("yookassa_shop", "tbank_terminal"))]
        leaked = [s for s in secrets if s in logs]
        assert not leaked, f"secrets reached the logs: {len(leaked)}"

