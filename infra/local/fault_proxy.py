#!/usr/bin/env python3
"""A fault-injecting proxy between the functions and the local AWS, for fault-injection tests.

Every request is forwarded byte for byte (request line, headers in their order and spelling,
body) to the upstream local AWS, one upstream connection per request, and the answer relayed.
Each request is classified as service + operation (the SigV4 credential scope names the
service; DynamoDB and EventBridge operations come from `X-Amz-Target`, SESv2's and S3's from the
method and path: request_log.py's rules), and the first active rule that matches and fires
replaces the forwarding with a fault:

- `500`: the service's internal error, as AWS sends it: DynamoDB's `InternalServerError` and
  EventBridge's `InternalException` (JSON), SESv2's `InternalFailure` (`x-amzn-ErrorType`), S3's
  XML `InternalError`;
- `throttle`: DynamoDB's 400 `ThrottlingException` (or `"code":
  "ProvisionedThroughputExceededException"`), EventBridge's 400 `ThrottlingException`, SESv2's
  429 `TooManyRequestsException`, S3's 503 `SlowDown`;
- `timeout`: the request is held, not forwarded, for `delay_ms` (default 5000: longer than the
  SDK's 4 s attempt timeout), then the connection is dropped;
- `reset`: the connection is dropped at once (TCP RST), nothing forwarded;
- `after_timeout`: the request IS forwarded and applied upstream, then the answer is withheld for
  `delay_ms` and the connection dropped: the write happened, the caller does not know.

When the upstream refuses (the local AWS is down or restarting) the client's connection is
dropped (RST), as a load balancer with no healthy target would.

Control API, on the proxy's own port (JSON):
- `POST /_faults` `{"rules": [RULE, …], "append": false}` sets the rules (replacing the active
  ones unless `append`); answers them with their ids.
- `GET /_faults`: the active rules, every rule ever set (`history`) with its counters, and how
  many requests of each `service:operation` were seen.
- `DELETE /_faults`: clears the active rules (their counters stay in `history`).

RULE: `service` (`dynamodb`, `s3`, `ses`, `events`… or `*`), `operation` (`TransactWriteItems`,
`PutObject`, `SendEmail`… or `*`), `fault`, and optionally `times` (inject at most this many),
`probability` (0…1, default 1), `skip` (let the first N matching requests through), `every`
(inject on every Nth match after `skip`), `body_contains` / `path_contains` (a substring the
request's body / path must contain, e.g. `"PAYMENT#"`), `delay_ms` (the hold of `timeout` and
`after_timeout`; for `500` and `throttle` a delay before answering), `code` (another error code).
Counters per rule: `matched` (requests that matched), `injected` (faults injected).

`--log FILE` appends one JSON line per injected fault (the rule, the operation, the keys or
path it hit), for a test's report.

Usage: fault_proxy.py --listen PORT --upstream http://127.0.0.1:4566 [--host 127.0.0.1] [--log FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from request_log import _QUERY_SCOPE, _SCOPE, _operation  # noqa: E402 - the shared classification

FAULTS = ("500", "throttle", "timeout", "reset", "after_timeout")
DEFAULT_HOLD_MS = 5000  # longer than the SDK's 4 s attempt timeout (shared/src/aws.rs)
UPSTREAM_TIMEOUT = 60
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
_KEYS = re.compile(r'"pk"\s*:\s*\{\s*"S"\s*:\s*"([^"]{1,120})"')
_DETAIL_TYPES = re.compile(r'"DetailType"\s*:\s*"([^"]{1,80})"')
_ADDRESSES = re.compile(r'"ToAddresses"\s*:\s*\[([^\]]{1,200})\]')


class RuleError(ValueError):
    pass


def _rule(spec: dict, rule_id: int) -> dict:
    if not isinstance(spec, dict):
        raise RuleError("a rule is a JSON object")
    known = {"service", "operation", "fault", "times", "probability", "skip", "every", "body_contains",
             "path_contains", "delay_ms", "code", "name"}
    unknown = set(spec) - known
    if unknown:
        raise RuleError(f"unknown rule fields: {sorted(unknown)}")
    if spec.get("fault") not in FAULTS:
        raise RuleError(f"fault: one of {FAULTS}")
    if not isinstance(spec.get("service", "*"), str) or not isinstance(spec.get("operation", "*"), str):
        raise RuleError("service and operation are strings (or \"*\")")
    for field, low in (("times", 1), ("skip", 0), ("every", 1), ("delay_ms", 0)):
        if field in spec and (not isinstance(spec[field], int) or isinstance(spec[field], bool) or spec[field] < low):
            raise RuleError(f"{field}: an integer >= {low}")
    p = spec.get("probability", 1.0)
    if not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise RuleError("probability: 0 to 1")
    return {"id": rule_id, "service": "*", "operation": "*", "probability": 1.0, "skip": 0, "every": 1, **spec,
            "matched": 0, "injected": 0, "active": True}


class Faults:
    """The rules and counters, shared by the handler threads."""

    def __init__(self, log_path: str | None = None):
        self.lock = threading.Lock()
        self.rules: list[dict] = []
        self.history: list[dict] = []
        self.seen: dict[str, int] = {}
        self.next_id = 1
        self.log = open(log_path, "a", buffering=1) if log_path else None

    def set(self, specs: list, append: bool) -> list[dict]:
        if not isinstance(specs, list):
            raise RuleError("rules: a list")
        with self.lock:
            rules = [_rule(s, self.next_id + i) for i, s in enumerate(specs)]
            self.next_id += len(rules)
            if not append:
                self.clear_locked()
            self.rules.extend(rules)
            self.history.extend(rules)
            return [dict(r) for r in rules]

    def clear_locked(self) -> list[dict]:
        cleared, self.rules = self.rules, []
        for r in cleared:
            r["active"] = False
        return [dict(r) for r in cleared]

    def clear(self) -> list[dict]:
        with self.lock:
            return self.clear_locked()

    def state(self) -> dict:
        with self.lock:
            return {"rules": [dict(r) for r in self.rules], "history": [dict(r) for r in self.history],
                    "seen": dict(self.seen)}

    def decide(self, service: str, operation: str, path: str, body: bytes) -> dict | None:
        """The rule whose fault this request gets (counted), or None: forward it."""
        with self.lock:
            key = f"{service}:{operation}"
            self.seen[key] = self.seen.get(key, 0) + 1
            for rule in self.rules:
                if rule["service"] not in ("*", service) or rule["operation"] not in ("*", operation):
                    continue
                if "path_contains" in rule and rule["path_contains"] not in path:
                    continue
                if "body_contains" in rule and rule["body_contains"].encode() not in body:
                    continue
                rule["matched"] += 1
                if "times" in rule and rule["injected"] >= rule["times"]:
                    continue
                n = rule["matched"] - rule["skip"]
                if n <= 0 or (n - 1) % rule["every"]:
                    continue
                if rule["probability"] < 1 and random.random() >= rule["probability"]:
                    continue
                rule["injected"] += 1
                return dict(rule)
            return None

    def note(self, rule: dict, service: str, operation: str, path: str, body: bytes) -> None:
        if not self.log:
            return
        text = body[:20000].decode("utf-8", "replace")
        hit = {"dynamodb": lambda: _KEYS.findall(text)[:6], "events": lambda: _DETAIL_TYPES.findall(text)[:10],
               "ses": lambda: _ADDRESSES.findall(text)[:1]}.get(service, lambda: [])()
        line = {"t": round(time.time(), 3), "rule": rule["id"], "name": rule.get("name"), "fault": rule["fault"],
                "service": service, "operation": operation, "path": path[:200], "hit": hit}
        with self.lock:
            self.log.write(json.dumps(line, ensure_ascii=False) + "\n")


def classify(method: str, target: str, headers, body: bytes) -> tuple[str, str]:
    """(service, operation) of a request, as request_log.py names them; ("", "") if unsigned."""
    split = urlsplit(target)
    query = split.query
    scope = _SCOPE.search(headers.get("Authorization", "")) or _QUERY_SCOPE.match(
        parse_qs(query).get("X-Amz-Credential", [""])[0])
    if not scope:
        return "", ""
    service = scope.group(2)
    amz_target = headers.get("X-Amz-Target", "")
    if amz_target:
        return service, amz_target.rsplit(".", 1)[-1]
    from urllib.parse import unquote

    environ = {"REQUEST_METHOD": method, "PATH_INFO": unquote(split.path), "QUERY_STRING": query}
    operation = _operation(environ, service)
    if operation.startswith(f"{method} ") and headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("latin-1")).get("Action")
        if action:
            operation = action[0]
    return service, operation


def error_answer(service: str, fault: str, path: str, code: str | None) -> tuple[int, dict, bytes]:
    """The status, headers and body AWS answers an internal error or a throttled request with."""
    request_id = str(uuid.uuid4())
    internal = fault == "500"
    if service == "s3":
        status, default, message = ((500, "InternalError", "We encountered an internal error. Please try again.")
                                    if internal else (503, "SlowDown", "Please reduce your request rate."))
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code or default}</Code><Message>{message}'
                f"</Message><RequestId>{request_id}</RequestId><HostId>fault-proxy</HostId></Error>").encode()
        return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body
    if service == "dynamodb":
        status, default, message = ((500, "InternalServerError", "Internal server error") if internal
                                    else (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."))
        code = code or default
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id,
                        "x-amzn-ErrorType": code}, body
    if service == "events":
        status, default, message = ((500, "InternalException", "Internal service error") if internal
                                    else (400, "ThrottlingException", "Rate exceeded"))
        code = code or default
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id,
                        "x-amzn-ErrorType": code}, body
    if service == "ses" and not path.startswith("/v2/"):  # SES v1: the query protocol's XML
        status, default, kind = (500, "InternalFailure", "Receiver") if internal else (400, "Throttling", "Sender")
        body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code or default}</Code><Message>{fault}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body
    # SESv2 and the other REST-JSON services: the code in x-amzn-ErrorType.
    status, default, message = ((500, "InternalFailure", "An internal error occurred.") if internal
                                else ((429, "TooManyRequestsException", "Too many requests.") if service == "ses"
                                      else (400, "ThrottlingException", "Rate exceeded")))
    code = code or default
    body = json.dumps({"message": message, "__type": code}).encode()
    return status, {"Content-Type": "application/json", "x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}, body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def _read_body(self) -> bytes:
        """The request body as it came: with its chunked framing, if it was chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raw = bytearray()
            while True:
                line = self.rfile.readline(65537)
                raw += line
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:
                        trailer = self.rfile.readline(65537)
                        raw += trailer
                        if trailer in (b"\r\n", b"\n", b""):
                            return bytes(raw)
                raw += self.rfile.read(size + 2)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drop(self) -> None:
        """Drops the client's connection with a reset (no answer)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _send(self, status: int, headers: dict | list, body: bytes, reason: str | None = None) -> None:
        self.send_response_only(status, reason)
        items = headers.items() if isinstance(headers, dict) else headers
        length = None
        for k, v in items:
            if k.lower() == "content-length":
                length = v
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        if self.command == "HEAD" or status in (204, 304):
            if length is not None:
                self.send_header("Content-Length", length)
        else:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, value) -> None:
        self._send(status, {"Content-Type": "application/json"}, json.dumps(value, ensure_ascii=False).encode())

    def _control(self, body: bytes) -> None:
        faults: Faults = self.server.faults
        if self.command == "GET":
            return self._json(200, faults.state())
        if self.command == "DELETE":
            return self._json(200, {"cleared": faults.clear()})
        if self.command == "POST":
            try:
                spec = json.loads(body or b"{}")
                rules = faults.set(spec.get("rules", []), bool(spec.get("append")))
            except (ValueError, AttributeError) as e:
                return self._json(400, {"error": str(e)})
            return self._json(200, {"rules": rules})
        return self._json(405, {"error": "GET, POST or DELETE"})

    def _forward(self, body: bytes):
        """Sends the request upstream as it came; the answer (status, reason, headers, body)."""
        host, port = self.server.upstream
        conn = http.client.HTTPConnection(host, port, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.raw_items():
                conn.putheader(k, v)
            conn.endheaders(body or None)
            resp = conn.getresponse()
            return resp.status, resp.reason, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True

    def _handle(self):
        body = self._read_body()
        path = urlsplit(self.path).path
        if path == "/_faults":
            return self._control(body)
        faults: Faults = self.server.faults
        service, operation = classify(self.command, self.path, self.headers, body)
        rule = faults.decide(service, operation, path, body)
        if rule:
            faults.note(rule, service, operation, path, body)
            fault, hold = rule["fault"], rule.get("delay_ms", DEFAULT_HOLD_MS) / 1000
            if fault == "reset":
                return self._drop()
            if fault == "timeout":
                time.sleep(hold)
                return self._drop()
            if fault in ("500", "throttle"):
                if "delay_ms" in rule:
                    time.sleep(hold)
                status, headers, answer = error_answer(service, fault, path, rule.get("code"))
                return self._send(status, headers, answer)
        try:
            status, reason, headers, answer = self._forward(body)
        except OSError:  # the upstream is down, or dropped the request
            return self._drop()
        if rule:  # after_timeout: applied upstream, the answer never arrives
            time.sleep(rule.get("delay_ms", DEFAULT_HOLD_MS) / 1000)
            return self._drop()
        self._send(status, headers, answer, reason)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, upstream: str, faults: Faults):
        split = urlsplit(upstream)
        if split.scheme != "http" or not split.hostname:
            raise ValueError(f"--upstream {upstream!r}: an http:// URL")
        self.upstream = (split.hostname, split.port or 80)
        self.faults = faults
        super().__init__(address, Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--listen", type=int, required=True, metavar="PORT")
    parser.add_argument("--upstream", required=True, metavar="URL", help="the local AWS, e.g. http://127.0.0.1:4566")
    parser.add_argument("--log", metavar="FILE", help="append one JSON line per injected fault to FILE")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server((args.host, args.listen), args.upstream, Faults(args.log))
    print(f"fault proxy on http://{args.host}:{args.listen} -> {args.upstream}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
