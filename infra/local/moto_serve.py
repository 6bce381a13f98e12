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

Usage: moto_serve.py [-H 127.0.0.1] [-p 4566] [--request-log FILE]
"""

import argparse
import copy
import json
import signal
import sys
import threading

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
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    DynamoDBBackend.transact_write_items = _transact_write_items
    app = DomainDispatcherApplication(create_backend_app)
    if args.request_log:
        from request_log import RequestLog

        app = RequestLog(app, args.request_log)
    run_simple(args.host, args.port, Serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
