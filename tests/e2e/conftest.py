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
import hashlib
import hmac
import json
import re
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
    return create_stack(aws_endpoint)


def app_log_path(stack_names) -> Path:
    return ROOT / ".local" / f"e2e-{stack_names['table']}.log"


@pytest.fixture(scope="session")
def app_log(app, stack_names) -> Path:
    """The local runner's output: its JSON logs and metric lines, as CloudWatch Logs would get them."""
    return app_log_path(stack_names)


def create_stack(aws_endpoint: str, prefix: str = "autobill-e2e") -> dict:
    """A fresh table, bucket and event bus on the local AWS, created from template.yaml."""
    suffix = uuid.uuid4().hex[:8]
    names = {"table": f"{prefix}-{suffix}", "bucket": f"{prefix}-{suffix}", "bus": f"{prefix}-{suffix}"}
    subprocess.run(
        [sys.executable, str(STACK), "create", "--endpoint", aws_endpoint, "--region", REGION,
         "--table", names["table"], "--bucket", names["bucket"], "--event-bus", names["bus"]],
        check=True, capture_output=True, text=True,
    )
    return names


# What must never be in a log line, whatever the level: a signed link's token or a presigned or
# SigV4 signature (by shape), and a Standard Webhooks secret.
LEAK_PATTERNS = {
    "presigned or SigV4 signature": re.compile(r"(?i)x-amz-signature=|x-amz-credential=|signature=[0-9a-f]{64}"),
    "invoice link token": re.compile(r"[?&]token=[0-9a-f]{16,}"),
    "webhook secret": re.compile(r"whsec_[A-Za-z0-9+/=]{8,}"),
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def link_token(secret: str, invoice_id: str) -> str:
    """An invoice link's `?token=` as shared/src/http/links.rs computes it."""
    return hmac.new(secret.encode(), b"invoice:" + invoice_id.encode(), hashlib.sha256).hexdigest()[:32]


def audit_logs(logs: str, env: dict) -> list[str]:
    """What reached the logs that must not have: every provider secret, the link secrets (current
    and previous) and the admin key (the shop id and terminal key are identifiers, not secrets),
    the link token of every invoice the logs name, and anything shaped like a signature or
    webhook secret."""
    link_secrets = [v for v in (env.get("AUTOBILL_LINK_SECRET"), env.get("AUTOBILL_PREVIOUS_LINK_SECRET")) if v]
    secrets = {
        **{"link secret": v for v in link_secrets[:1]}, **{"previous link secret": v for v in link_secrets[1:]},
        **{"admin API key": v for v in [env.get("AUTOBILL_ADMIN_API_KEY")] if v},
        **{f"{k} secret": v for k, v in SECRETS.items() if k not in ("yookassa_shop", "tbank_terminal")},
    }
    found = [what for what, value in secrets.items() if value in logs]
    tokens = {link_token(secret, i) for secret in link_secrets for i in set(UUID.findall(logs))}
    found += ["invoice link token"] * sum(t in logs for t in tokens)
    for what, pattern in LEAK_PATTERNS.items():
        found += [f"{what}: …{m.group(0)[:12]}…" for m in pattern.finditer(logs)]
    return found


class App:
    """The local runner (every function's routes, the outbox loop, the sweeper and the jobs in one
    process, as `make run` serves them), started on a free port with its logs in `log_path`."""

    def __init__(self, aws_endpoint: str, names: dict, log_path: Path, yookassa_url: str | None = None, **extra_env: str):
        binary = os.environ.get("AUTOBILL_LOCAL_BIN")
        if not binary or not Path(binary).exists():
            pytest.fail("AUTOBILL_LOCAL_BIN does not name the built autobill-local binary: run `make test`")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AUTOBILL_PORT": str(port),
            "AUTOBILL_TABLE": names["table"],
            "AUTOBILL_BUCKET": names["bucket"],
            "AUTOBILL_PUBLIC_URL": self.base,
            "AUTOBILL_CORS_ORIGINS": "https://shop.example",
            "AUTOBILL_CONFIG_FILE": str(ROOT / "infra" / "local" / "config.toml"),
            "AUTOBILL_EVENT_BUS": names["bus"],
            "AUTOBILL_SANDBOX_SECRET": SECRETS["sandbox"],
            "AUTOBILL_STRIPE_WEBHOOK_SECRET": SECRETS["stripe"],
            "AUTOBILL_CLOUDPAYMENTS_API_SECRET": SECRETS["cloudpayments"],
            "AUTOBILL_TBANK_TERMINAL_KEY": SECRETS["tbank_terminal"],
            "AUTOBILL_TBANK_PASSWORD": SECRETS["tbank_password"],
            "AUTOBILL_ROBOKASSA_PASSWORD2": SECRETS["robokassa"],
            "AUTOBILL_YOOKASSA_SHOP_ID": SECRETS["yookassa_shop"],
            "AUTOBILL_YOOKASSA_SECRET_KEY": SECRETS["yookassa_key"],
            # The tests call from loopback; production uses YooKassa's published ranges.
            "AUTOBILL_YOOKASSA_IPS": "127.0.0.1/32,::1/128",
            **({"AUTOBILL_YOOKASSA_API_URL": yookassa_url} if yookassa_url else {}),
            **extra_env,
        }
        self.env["RUST_LOG"] = extra_env.get("RUST_LOG", "debug")
        log_path.parent.mkdir(exist_ok=True)
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([binary], env=self.env, stdout=self._log, stderr=subprocess.STDOUT, text=True)
        try:
            wait_http(f"{self.base}/plans")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> str:
        """Stops the runner (SIGINT, as Ctrl-C), audits its logs for secrets and returns them."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        logs = self.log_path.read_text()
        leaked = audit_logs(logs, self.env)
        assert not leaked, f"{self.log_path.name}: secrets reached the logs: {leaked[:10]}"
        return logs


@pytest.fixture(scope="session")
def app(aws_endpoint, stack_names, yookassa_api, published):
    """The local runner serving the session's stack."""
    runner = App(aws_endpoint, stack_names, app_log_path(stack_names), yookassa_api.url)
    try:
        yield runner.base
    finally:
        logs = runner.stop()
        assert "invoice issued" in logs and '"level":"DEBUG"' in logs, "the app's debug logs were not captured"
