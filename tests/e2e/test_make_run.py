"""`make run` is one of the two sacred commands: it must start everything, serve the API, stop
everything on Ctrl-C, and start again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

import requests

from conftest import ROOT, free_port, wait_http


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start(command: list[str], app_port: int, aws_port: int) -> subprocess.Popen:
    env = {**os.environ, "AUTOBILL_PORT": str(app_port), "AUTOBILL_AWS_PORT": str(aws_port)}
    for name in ("AUTOBILL_TABLE", "AUTOBILL_BUCKET", "AUTOBILL_PUBLIC_URL", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_make_run_serves_and_stops_cleanly_twice():
    """Round 1: `make run`, stopped by Ctrl-C (SIGINT to the whole foreground group).
    Round 2: the script itself, stopped by a plain SIGTERM to it alone: it must still stop
    everything it started."""
    app_port, aws_port = free_port(), free_port()
    rounds = [
        (["make", "--no-print-directory", "run"], lambda p: os.killpg(p.pid, signal.SIGINT)),
        (["bash", "infra/local/run.sh"], lambda p: p.send_signal(signal.SIGTERM)),
    ]
    for round_, (command, stop) in enumerate(rounds, 1):
        proc = start(command, app_port, aws_port)
        try:
            wait_http(f"http://127.0.0.1:{app_port}/plans", timeout=120)
            r = requests.post(f"http://127.0.0.1:{app_port}/invoices", json={
                "plan": "start", "company": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001",
                "address": "Москва", "email": "buh@romashka.example"})
            assert r.status_code == 201, r.text
            assert r.json()["invoice_url"].startswith(f"http://127.0.0.1:{app_port}/invoices/")
            assert requests.get(r.json()["pdf_url"]).content.startswith(b"%PDF-")
            assert requests.get(f"http://127.0.0.1:{app_port}/").text.count('name="inn"') == 1
        finally:
            stop(proc)
            out, _ = proc.communicate(timeout=30)
        assert "==> stopped" in out, out
        assert port_is_free(app_port) and port_is_free(aws_port), f"round {round_}: something is still listening\n{out}"
