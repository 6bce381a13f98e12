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

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "infra" / "local" / "stack.py"
REGION = os.environ.get("AWS_REGION", "eu-central-1")


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
    }


@pytest.fixture(scope="session")
def stack_names(aws_endpoint):
    suffix = uuid.uuid4().hex[:8]
    names = {"table": f"autobill-e2e-{suffix}", "bucket": f"autobill-e2e-{suffix}"}
    subprocess.run(
        [sys.executable, str(STACK), "create", "--endpoint", aws_endpoint, "--region", REGION,
         "--table", names["table"], "--bucket", names["bucket"]],
        check=True, capture_output=True, text=True,
    )
    return names


@pytest.fixture(scope="session")
def app(aws_endpoint, stack_names):
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
    }
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_http(f"{base}/plans")
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        # Secrets never reach the logs.
        logs = proc.stderr.read() if proc.stderr else ""
        assert env["AUTOBILL_LINK_SECRET"] not in logs
