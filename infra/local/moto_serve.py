"""The local AWS: moto's server app, with each request applied atomically.

Two fixes over plain `moto_server`, both about concurrency, both invisible to clients:
- moto serves requests on threads without locking its models, so concurrent DynamoDB
  transactions can fail with HTTP 500 ("dictionary changed size during iteration") where AWS
  would serialize them. One lock around each request makes the models consistent.
- moto's TransactWriteItems deep-copies every table it touches (items and stream records) to be
  able to roll back: O(table size) per transaction, which made 200 contended invoices take
  minutes. Under the lock it is enough to save and restore the items the transaction touches.

One addition: `GET /_local/ses/raw-messages` lists the raw e-mails SES accepted, oldest first
(`[{"id", "source", "destinations", "raw_data"}]`): what `/moto-api/data.json` has under
`ses.RawMessage`, without serialising every other model (every table item) under the lock.

For the benchmarks, `--request-log FILE` appends one JSON line per AWS call (request_log.py).

`--state FILE` keeps the state across a kill -9 and a restart (a journal, replayed on start):
- Every request that may change state and that moto answered with a status below 400 is
  appended to FILE as one JSON line (its WSGI environ's CGI and header entries, the body in
  base64), written and flushed inside the lock, after moto applied it and before the answer
  leaves: a client that got an answer finds the change after a restart, and the journal's order
  is the order the changes were applied in. A process killed between applying and journalling
  never answered that request: the client sees a failure and the restarted state lacks the
  change, as if the request had never arrived. Flushed to the OS, not fsynced: it survives the
  process, not the machine.
- Reads are not journalled: GET, HEAD and OPTIONS, and the JSON and query protocols' read
  operations (Get…, Describe…, List…, Query, Scan, BatchGet…, TransactGet…). Neither are
  refused or failed writes (status 400 and above; moto's failed transactions change nothing,
  see above), the local extras under `/_local/`, or `/moto-api/` reads and its recorder;
  `POST /moto-api/reset` empties the journal.
- On start the journal is replayed in order into the app, in the process, before the port opens
  (clients see "connection refused" until then). SES message ids, which moto draws at random,
  are journalled with the request and drawn again on replay, so the restored e-mails
  (`/_local/ses/raw-messages`) keep their ids. A line cut short by a kill is dropped.
- What a replay does not reproduce: times moto stamps itself (an item's or object's creation
  time, S3 version ids) are those of the replay, and services whose state depends on time or on
  handles drawn at random (an SQS message's receipt handle, its visibility) are only
  approximately restored. The app's state (DynamoDB, S3 objects, SES messages, the event bus)
  is restored exactly.
moto's own recorder (`MOTO_ENABLE_RECORDING`) is not used: it records every request (reads and
failures included) before moto handles it, and replays them over HTTP to a running server, which
the lock here would deadlock and which clients could race.

Usage: moto_serve.py [-H 127.0.0.1] [-p 4566] [--request-log FILE] [--state FILE]
"""

import argparse
import base64
import copy
import io
import json
import os
import re
import signal
import sys
import threading
from collections import deque
from urllib.parse import parse_qs

import moto.dynamodb.models as ddb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class _NoTableCopy:
    """`copy` for moto's DynamoDB module: whole tables are not copied (rollback is per item)."""

    def deepcopy(self, x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def _touched_key(table, op):
    src = op.get("Key") or op.get("Item") or {}
    hash_value = src.get(table.hash_key_attr)
    range_value = src.get(table.range_key_attr) if table.range_key_attr else None
    if hash_value is None or (table.range_key_attr and range_value is None):
        return None
    return DynamoType(hash_value), DynamoType(range_value) if range_value is not None else None


_original_transact = DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    saved, shards = [], {}
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        key = _touched_key(table, op) if table is not None else None
        if key is None:
            continue
        saved.append((table, *key, copy.deepcopy(table.get_item(*key))))
        if table.stream_shard is not None:
            shards.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    ddb_models.copy = _NoTableCopy()
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(saved):
            if range_key is None:
                table.items.pop(hash_key, None) if item is None else table.items.__setitem__(hash_key, item)
            elif item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        for shard, length in shards.values():
            del shard.items[length:]
        raise
    finally:
        ddb_models.copy = copy


def _raw_messages() -> bytes:
    from moto.ses.models import RawMessage, ses_backends

    messages = [
        {"id": m.id, "source": m.source, "destinations": m.destinations, "raw_data": m.raw_data}
        for _, regions in ses_backends.items()
        for _, backend in regions.items()
        for m in backend.sent_messages
        if isinstance(m, RawMessage)
    ]
    return json.dumps(messages).encode()


_READ_METHODS = ("GET", "HEAD", "OPTIONS")
_READ_OPERATION = re.compile(r"^(Get|Describe|List|Query|Scan|BatchGet|TransactGet|Head)")
_SES_MESSAGE_ID = re.compile(rb"<MessageId>([^<]+)</MessageId>")
# The replayed SES messages' ids, in order (see _replayed_message_id).
_replay_message_ids: deque = deque()


def _replayed_message_id() -> str:
    from moto.ses.utils import get_random_message_id

    return _replay_message_ids.popleft() if _replay_message_ids else get_random_message_id()


def _changes_state(environ, body: bytes) -> bool:
    path = environ.get("PATH_INFO", "")
    if path.startswith("/_local/"):
        return False
    if path.startswith("/moto-api/"):
        return environ["REQUEST_METHOD"] == "POST" and not path.startswith("/moto-api/recorder/")
    if environ["REQUEST_METHOD"] in _READ_METHODS:
        return False
    operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
    if not operation:
        action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
        if not action and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            action = parse_qs(body.decode("latin-1")).get("Action")
        operation = action[0] if action else ""
    return not _READ_OPERATION.match(operation)


def _message_id(out: bytes) -> str | None:
    """The id SES gave a message it accepted (SESv2's JSON, SES's XML answer)."""
    if out.startswith(b"{"):
        try:
            value = json.loads(out).get("MessageId")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None
    found = _SES_MESSAGE_ID.search(out)
    return found.group(1).decode() if found else None


class Journal:
    """WSGI middleware (inside the serialising lock): appends each applied change to a file, and
    replays the file into the app on start (`--state FILE`, see the module's docstring)."""

    def __init__(self, app, path: str):
        self.app, self.path = app, path
        self.file = None

    def replay(self) -> int:
        """Applies the journal's changes to the app, in order; returns how many. Drops a last
        line cut short by a kill (the file is truncated to its last complete line)."""
        import moto.ses.models as ses_models

        good, count = 0, 0
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                data = f.read()
            original = ses_models.get_random_message_id
            ses_models.get_random_message_id = _replayed_message_id
            try:
                for line in data.splitlines(keepends=True):
                    if not line.endswith(b"\n"):
                        break
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        break
                    self._apply(entry)
                    good += len(line)
                    count += 1
            finally:
                ses_models.get_random_message_id = original
                _replay_message_ids.clear()
            if good < len(data):
                print(f"moto_serve: dropped {len(data) - good} bytes of an incomplete journal line", file=sys.stderr)
                with open(self.path, "r+b") as f:
                    f.truncate(good)
        self.file = open(self.path, "ab")
        return count

    def _apply(self, entry: dict) -> None:
        body = base64.b64decode(entry["body"])
        environ = dict(entry["environ"])
        environ.update({
            "wsgi.version": (1, 0), "wsgi.url_scheme": environ.pop("wsgi.url_scheme", "http"),
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "CONTENT_LENGTH": str(len(body)),
        })
        if entry.get("message_id"):
            _replay_message_ids.append(entry["message_id"])
        status = []

        def start_response(s, headers, exc_info=None):
            status.append(s)
            return lambda _: None

        result = self.app(environ, start_response)
        try:
            b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        _replay_message_ids.clear()
        code = int(status[0].split()[0]) if status else 0
        if code >= 400:
            print(f"moto_serve: a journalled {environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} "
                  f"answered {code} on replay", file=sys.stderr)

    def _append(self, entry: dict) -> None:
        self.file.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        self.file.flush()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/moto-api/reset" and environ["REQUEST_METHOD"] == "POST":
            out = b"".join(self.app(environ, start_response))
            self.file.truncate(0)
            self.file.seek(0)
            return [out]
        if "CONTENT_LENGTH" in environ or environ.get("wsgi.input_terminated"):
            length = environ.get("CONTENT_LENGTH")
            stream = environ["wsgi.input"]
            body = stream.read(int(length)) if length else stream.read() if environ.get("wsgi.input_terminated") else b""
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        if not _changes_state(environ, body):
            return self.app(environ, start_response)
        status = []

        def capture(s, headers, exc_info=None):
            status.append(int(s.split()[0]))
            return start_response(s, headers, exc_info)

        result = self.app(environ, capture)
        try:
            out = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        if status and status[0] < 400:
            recorded = {k: v for k, v in environ.items()
                        if (k.isupper() or k == "wsgi.url_scheme" or k.startswith("moto."))
                        and k not in ("REMOTE_ADDR", "REMOTE_PORT", "CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING")
                        and isinstance(v, (str, int, dict))}
            entry = {"environ": recorded, "body": base64.b64encode(body).decode()}
            if environ.get("HTTP_AUTHORIZATION", "").find("/ses/aws4_request") >= 0:
                message_id = _message_id(out)
                if message_id:
                    entry["message_id"] = message_id
            self._append(entry)
        return [out]


class Serialized:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_local/ses/raw-messages":
            with self.lock:
                body = _raw_messages()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                if hasattr(result, "close"):
                    result.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    parser.add_argument("--request-log", metavar="FILE", help="append one JSON line per AWS call to FILE")
    parser.add_argument("--state", metavar="FILE",
                        help="keep the state in FILE (a journal of changes): replayed on start, appended to after")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    DynamoDBBackend.transact_write_items = _transact_write_items
    app = DomainDispatcherApplication(create_backend_app)
    if args.state:  # replayed into moto itself: the request log sees only new calls
        app = Journal(app, args.state)
        replayed = app.replay()
        print(f"moto_serve: {replayed} changes replayed from {args.state}", file=sys.stderr, flush=True)
    if args.request_log:
        from request_log import RequestLog

        app = RequestLog(app, args.request_log)
    run_simple(args.host, args.port, Serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
