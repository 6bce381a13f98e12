"""A log of every AWS API call the local AWS serves: one JSON line per request, for the benchmarks.

Each line: {"seq", "service", "operation", "status", "bytes_in", "bytes_out"} plus what the cost
model needs: DynamoDB request units (`wru`, `rru`, from the sizes of the items written and read,
by DynamoDB's sizing rules), the e-mail size of SES SendEmail, the entries of EventBridge PutEvents
(with their detail, so a benchmark can deliver them as the bus would). Query and Scan are sized
by the items returned: a filter's discarded items, which DynamoDB also bills, are not seen. Presigned S3 requests are
logged too: a browser downloading a PDF is a GET that AWS bills.

Enabled by `moto_serve.py --request-log FILE`; lines are written before the response is sent, so
a caller that has its answer can count its calls.
"""

import base64
import io
import json
import math
import re
import threading
from urllib.parse import parse_qs

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request$")


def _attr_size(value: dict) -> float:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(v.lstrip("-").replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(v) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _attr_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(_attr_size(x) + 1 for x in v)
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(_attr_size({"N": x}) for x in v)
    if kind == "BS":
        return sum(len(x) * 3 // 4 for x in v)
    return 0


def item_size(item: dict | None) -> float:
    """DynamoDB's item size: attribute names plus values."""
    return sum(len(k.encode()) + _attr_size(v) for k, v in (item or {}).items())


def _wru(size: float) -> int:
    return max(1, math.ceil(size / 1024))


def _rru(size: float, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


class _Dynamo:
    """Request units of one DynamoDB call, with the items as stored after it (for updates)."""

    def __init__(self, region: str):
        self.region = region

    def _stored(self, table_name: str, key: dict) -> dict | None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        try:
            table = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region].get_table(table_name)
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            item = table.get_item(hash_value, range_value)
            return item.to_json()["Attributes"] if item else None
        except Exception:  # a failed or odd request: sized as 1 unit below
            return None

    def _written(self, op: str, body: dict) -> float:
        if op == "PutItem":
            return item_size(body.get("Item"))
        return item_size(self._stored(body.get("TableName"), body.get("Key", {})))

    def units(self, op: str, req: dict, resp: dict) -> dict:
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            return {"wru": _wru(self._written(op, req)), "items": 1}
        if op == "TransactWriteItems":
            wru = 0
            for entry in req.get("TransactItems", []):
                (kind, body), = entry.items()
                size = item_size(body.get("Item")) if kind == "Put" else (
                    item_size(self._stored(body.get("TableName"), body.get("Key", {}))) if kind == "Update" else 0)
                wru += 2 * _wru(size)
            return {"wru": wru, "items": len(req.get("TransactItems", []))}
        if op == "BatchWriteItem":
            sizes = [item_size(w.get("PutRequest", {}).get("Item")) for ws in req.get("RequestItems", {}).values() for w in ws]
            return {"wru": sum(_wru(s) for s in sizes), "items": len(sizes)}
        consistent = bool(req.get("ConsistentRead"))
        if op == "GetItem":
            return {"rru": _rru(item_size(resp.get("Item")), consistent), "items": 1 if resp.get("Item") else 0}
        if op in ("Query", "Scan"):
            items = resp.get("Items", [])
            return {"rru": _rru(sum(item_size(i) for i in items), consistent), "items": len(items)}
        if op == "TransactGetItems":
            items = [r.get("Item") for r in resp.get("Responses", [])]
            return {"rru": sum(2 * _rru(item_size(i), True) for i in items), "items": len(items)}
        if op == "BatchGetItem":
            items = [i for its in resp.get("Responses", {}).values() for i in its]
            return {"rru": sum(_rru(item_size(i), consistent) for i in items), "items": len(items)}
        return {}


def _operation(environ, service: str) -> str:
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if service == "s3":
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2:
            return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, method)
        if "list-type" in query:
            return "ListObjectsV2"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "GET": "ListObjects"}.get(method, method)
    if service == "ses" and path.startswith("/v2/email/outbound-emails"):
        return "SendEmail"
    if service == "scheduler" and path.startswith("/schedules/"):
        return {"POST": "CreateSchedule", "DELETE": "DeleteSchedule", "GET": "GetSchedule", "PUT": "UpdateSchedule"}[method]
    if "Action" in query:
        return query["Action"][0]
    return f"{method} {path}"


class RequestLog:
    """WSGI middleware (inside the serialising lock) that appends one line per request."""

    def __init__(self, app, path: str):
        self.app, self.file, self.seq = app, open(path, "a", buffering=1), 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = _SCOPE.search(auth) or _QUERY_SCOPE.match(parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0])
        if not scope:  # the local extras (/_local/…, /moto-api/…): not AWS calls
            return self.app(environ, start_response)
        region, service = scope.group(1), scope.group(2)
        status = []

        def capture(s, headers, exc_info=None):
            status.append(int(s.split()[0]))
            return start_response(s, headers, exc_info)

        out = b"".join(self.app(environ, capture))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        line = {"service": service, "operation": target.split(".")[-1] if target else _operation(environ, service),
                "status": status[0] if status else 0, "bytes_in": len(body), "bytes_out": len(out)}
        if environ.get("QUERY_STRING", "").find("X-Amz-Signature") >= 0:
            line["presigned"] = True
        try:
            line.update(self._extras(service, line["operation"], region, body, out))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        with self.lock:
            self.seq += 1
            line = {"seq": self.seq, **line}
            self.file.write(json.dumps(line, ensure_ascii=False) + "\n")
        return [out]

    @staticmethod
    def _extras(service: str, op: str, region: str, body: bytes, out: bytes) -> dict:
        if service == "dynamodb":
            return _Dynamo(region).units(op, json.loads(body or b"{}"), json.loads(out or b"{}"))
        if service == "events" and op == "PutEvents":
            entries = json.loads(body)["Entries"]
            return {"entries": len(entries), "events": [
                {"source": e.get("Source"), "detail-type": e.get("DetailType"), "detail": json.loads(e.get("Detail", "{}"))}
                for e in entries]}
        if service == "ses" and op == "SendEmail":  # the e-mail itself (the request carries it in base64)
            raw = json.loads(body).get("Content", {}).get("Raw", {}).get("Data", "")
            return {"bytes": len(base64.b64decode(raw)) if raw else len(body)}
        if service == "s3" and op in ("PutObject", "GetObject"):
            return {"bytes": len(body) if op == "PutObject" else len(out)}
        return {}
