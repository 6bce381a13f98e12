"""The fault-injection tests' stack and checks: a local AWS of their own that keeps its state in
a journal (and can be killed and restarted), the fault proxy in front of it, customers that
retry like real ones, and the invariants every paid invoice must meet afterwards."""

from __future__ import annotations

import calendar
import datetime as dt
import email
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import requests

from conftest import REGION, ROOT, free_port, wait_http
from test_payments import sandbox_post

PY = sys.executable  # the venv with moto, as make test runs pytest
MOSCOW = ZoneInfo("Europe/Moscow")
# The events each paid invoice brings, one outbox event (one webhook-id) each.
EVENTS = ("invoice.issued", "invoice.paid", "subscription.activated")


class LocalAws:
    """moto_serve.py on a free port with `--state`: kill -9 and restart keep its state."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.journal = tmp / "moto-state.jsonl"
        self.log_path = tmp / "moto.log"
        self.proc: subprocess.Popen | None = None
        self.start()
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        self.dynamodb = session.client("dynamodb", endpoint_url=self.url)
        self.s3 = session.client("s3", endpoint_url=self.url)

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [PY, str(ROOT / "infra/local/moto_serve.py"), "-p", str(self.port), "--state", str(self.journal)],
                stdout=log, stderr=subprocess.STDOUT)
        wait_http(f"{self.url}/moto-api/", timeout=60)

    def kill(self) -> None:
        """kill -9: no chance to flush or close anything."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def raw_messages(self) -> list[dict]:
        return requests.get(f"{self.url}/_local/ses/raw-messages", timeout=30).json()

    def items(self, table: str) -> dict[tuple[str, str], dict]:
        found, start = {}, None
        while True:
            page = self.dynamodb.scan(TableName=table, ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
            for item in page["Items"]:
                found[(item["pk"]["S"], item["sk"]["S"])] = item
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    def object_versions(self, bucket: str) -> Counter:
        """How many versions each key has (the bucket is versioned, as in the template)."""
        versions, kwargs = Counter(), {}
        while True:
            page = self.s3.list_object_versions(Bucket=bucket, **kwargs)
            for v in page.get("Versions", []):
                versions[v["Key"]] += 1
            if not page.get("IsTruncated"):
                return versions
            kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}

    def keys(self, bucket: str) -> set[str]:
        keys, kwargs = set(), {}
        while True:
            page = self.s3.list_objects_v2(Bucket=bucket, **kwargs)
            keys.update(o["Key"] for o in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return keys
            kwargs = {"ContinuationToken": page["NextContinuationToken"]}


class FaultProxy:
    """infra/local/fault_proxy.py on a free port, in front of `upstream`."""

    def __init__(self, upstream: str, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "faults.jsonl"
        with open(tmp / "proxy.log", "w") as log:
            self.proc = subprocess.Popen(
                [PY, str(ROOT / "infra/local/fault_proxy.py"), "--listen", str(self.port), "--upstream", upstream,
                 "--log", str(self.log_path)], stdout=log, stderr=subprocess.STDOUT)
        wait_http(f"{self.url}/_faults")

    def set(self, rules: list[dict], append: bool = False) -> list[dict]:
        r = requests.post(f"{self.url}/_faults", json={"rules": rules, "append": append}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["rules"]

    def clear(self) -> None:
        requests.delete(f"{self.url}/_faults", timeout=10).raise_for_status()

    def state(self) -> dict:
        return requests.get(f"{self.url}/_faults", timeout=10).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# ------------------------------------------------------------------------------------ customers

RETRYABLE = (requests.ConnectionError, requests.Timeout)


class Customer:
    """One buyer: orders with an Idempotency-Key and pays through the sandbox provider, both
    retried on 5xx and broken connections with the same key / the same payment, as a browser
    script and a payment provider would."""

    def __init__(self, run: str, i: int):
        self.i = i
        self.account = f"acc-{run}-{i:02d}"
        self.email = f"buh-{run}-{i:02d}@faults.example"
        self.key = f"order-{run}-{i:02d}"
        self.payment_id = f"sb-{run}-{i:02d}"
        self.order = {"plan": "start", "company": f"ООО «Клиент {i}»", "inn": "7736207543", "kpp": "770401001",
                      "address": "Москва", "email": self.email, "account": self.account}
        self.invoice: dict | None = None
        self.ordered_at: float | None = None  # when the first 2xx came
        self.paid_at: float | None = None  # when the provider got its 200
        self.answers: list[tuple[str, int | str]] = []  # every attempt's answer, for the report
        self.invoice_ids: set[str] = set()  # from every 2xx
        self.error: str | None = None

    def place_order(self, app: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                r = requests.post(f"{app}/invoices", json=self.order, headers={"Idempotency-Key": self.key}, timeout=30)
            except RETRYABLE as e:
                self.answers.append(("order", type(e).__name__))
                time.sleep(0.3)
                continue
            self.answers.append(("order", r.status_code))
            if r.status_code >= 500:
                time.sleep(0.3)
                continue
            if not 200 <= r.status_code < 300:
                self.error = f"order answered {r.status_code}: {r.text[:300]}"
                return
            self.invoice = r.json()
            self.invoice_ids.add(self.invoice["id"])
            self.ordered_at = self.ordered_at or time.monotonic()
            # A client that lost the answer asks again: the same invoice comes back.
            if len(self.answers) == 1 and self.i % 4 == 0:
                continue
            return
        self.error = self.error or "no 2xx for the order before the deadline"

    def pay(self, app: str, deadline: float) -> None:
        if self.invoice is None:
            return
        body = {"invoice_id": self.invoice["id"], "payment_id": self.payment_id, "amount": self.invoice["total"],
                "currency": "RUB"}
        while time.monotonic() < deadline:
            try:
                r = sandbox_post(app, body)
            except RETRYABLE as e:
                self.answers.append(("pay", type(e).__name__))
                time.sleep(0.3)
                continue
            self.answers.append(("pay", r.status_code))
            if r.status_code == 200:
                self.paid_at = time.monotonic()
                if r.json() != {"status": "ok"}:
                    self.error = f"payment answered {r.json()}"
                return
            time.sleep(0.3)
        self.error = self.error or "the payment callback got no 200 before the deadline"

    def run(self, app: str, deadline: float, pay: bool = True) -> None:
        try:
            self.place_order(app, deadline)
            if pay:
                self.pay(app, deadline)
        except Exception as e:  # a bug in the test must not pass as a customer that never came
            self.error = f"{type(e).__name__}: {e}"


def run_customers(customers: list[Customer], action, stagger: float = 0.0) -> list[threading.Thread]:
    threads = []
    for c in customers:
        t = threading.Thread(target=action, args=(c,), daemon=True, name=f"customer-{c.i}")
        threads.append(t)
        t.start()
        if stagger:
            time.sleep(stagger)
    return threads


def join(threads: list[threading.Thread], deadline: float) -> None:
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))


# ------------------------------------------------------------------------------------ the state


def s(item: dict, name: str) -> str | None:
    v = item.get(name)
    return None if v is None else v.get("S", v.get("N"))


class Snapshot:
    """Everything the checks read, from the local AWS directly (never through the proxy)."""

    def __init__(self, aws: LocalAws, names: dict, app: str):
        self.items = aws.items(names["table"])
        self.keys = aws.keys(names["bucket"])
        self.versions = aws.object_versions(names["bucket"])
        self.messages = aws.raw_messages()
        self.deliveries = requests.get(f"{app}/webhook-receiver.json", timeout=30).json()
        self.invoices = {s(i, "id"): i for (pk, sk), i in self.items.items() if pk.startswith("INVOICE#") and sk == "INVOICE"}

    def mails(self) -> list[email.message.EmailMessage]:
        return [email.message_from_string(m["raw_data"], policy=policy.default) for m in self.messages]


def add_month(day: dt.date) -> dt.date:
    month = day.month % 12 + 1
    year = day.year + (day.month == 12)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def settled(snap: Snapshot, customers: list[Customer]) -> bool:
    """Every paid customer's invoice fulfilled, mailed and announced (what the wait polls for)."""
    paid = [c for c in customers if c.paid_at is not None]
    subjects = Counter(str(m["To"]) for m in snap.mails() if "Оплата получена" in str(m["Subject"]))
    hooks = {(d["event_type"], json.loads(d["body"])["data"].get("invoice_id")) for d in snap.deliveries}
    for c in paid:
        inv = snap.invoices.get(c.invoice["id"])
        if inv is None or "fulfilled_at" not in inv or not any(c.email in to for to in subjects):
            return False
        if not all((kind, c.invoice["id"]) in hooks for kind in EVENTS):
            return False
    return True


def wait_settled(aws: LocalAws, names: dict, app: str, customers: list[Customer], timeout: float,
                 quiet: float = 4.5) -> Snapshot:
    """Polls until settled (or the timeout), then waits `quiet` more seconds (two sweeps) and
    returns what is there: a late duplicate (a second e-mail, a second act) must show up."""
    deadline = time.monotonic() + timeout
    while True:
        snap = Snapshot(aws, names, app)
        if settled(snap, customers) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not quiet:
        return snap
    time.sleep(quiet)
    return Snapshot(aws, names, app)


def problems(snap: Snapshot, customers: list[Customer]) -> list[str]:
    """Every broken invariant, as readable lines (empty: all hold)."""
    found: list[str] = []
    items, invoices = snap.items, snap.invoices

    # Each customer: one invoice, whatever the retries; every 2xx named the same one.
    ordered = [c for c in customers if c.invoice is not None]
    for c in customers:
        if c.error:
            found.append(f"customer {c.i}: {c.error} (answers {c.answers})")
        if len(c.invoice_ids) > 1:
            found.append(f"customer {c.i}: different invoices for one Idempotency-Key: {sorted(c.invoice_ids)}")
        claim = items.get((f"IDEMPOTENCY#{c.key}", "IDEMPOTENCY"))
        if c.invoice is not None and (claim is None or s(claim, "invoice_id") != c.invoice["id"]):
            found.append(f"customer {c.i}: the key's claim {claim and s(claim, 'invoice_id')} is not its invoice {c.invoice['id']}")
        if c.invoice is not None and c.invoice["id"] not in invoices:
            found.append(f"customer {c.i}: invoice {c.invoice['id']} ({c.invoice['number']}) answered 2xx but is not stored")
    given = {c.invoice["id"] for c in ordered}
    extra = sorted(set(invoices) - given)
    if extra:
        found.append(f"invoices no customer got a 2xx for: {[(i, s(invoices[i], 'number')) for i in extra]}")
    accounts = Counter(s(i, "account") for i in invoices.values())
    found += [f"account {a}: {n} invoices" for a, n in accounts.items() if n > 1]

    # Numbers: gapless from 1 and unique; the counter and the number pointers agree.
    numbers = sorted(s(i, "number") for i in invoices.values())
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    if seqs != list(range(1, len(seqs) + 1)):
        dupes = [n for n, k in Counter(numbers).items() if k > 1]
        found.append(f"invoice numbers not gapless and unique: seqs {seqs}, duplicates {dupes}")
    counters = {pk: s(i, "last") for (pk, sk), i in items.items() if pk.startswith("COUNTER#")}
    if list(counters.values()) != [str(len(seqs))]:
        found.append(f"numbering counter {counters} after {len(seqs)} invoices")
    pointers = {pk.removeprefix("NUMBER#"): s(i, "invoice_id") for (pk, sk), i in items.items() if pk.startswith("NUMBER#")}
    by_number = {s(i, "number"): iid for iid, i in invoices.items()}
    if pointers != by_number:
        found.append(f"number pointers {pointers} != invoices' numbers {by_number}")

    # Outbox: one event per (type, invoice), all published.
    outbox = defaultdict(list)
    for (pk, sk), i in items.items():
        if pk.startswith("OUTBOX#"):
            detail = json.loads(s(i, "detail"))
            outbox[(s(i, "type"), detail["data"].get("invoice_id"))].append(i)
            if "gsi2pk" in i or "sent_at" not in i:
                found.append(f"outbox event {s(i, 'event_id')} ({s(i, 'type')}) never published")
    found += [f"{len(v)} outbox events {k}" for k, v in outbox.items() if len(v) > 1]

    mails = snap.mails()
    closing = [m for m in mails if "Оплата получена" in str(m["Subject"])]
    hooks = defaultdict(list)
    for d in snap.deliveries:
        body = json.loads(d["body"])
        hooks[(d["event_type"], body["data"].get("invoice_id"))].append(d)
        if not d["verified"]:
            found.append(f"webhook {d['webhook_id']} not verified")
    message_ids = {m["id"]: m for m in snap.messages}
    act_keys = {k for k in snap.keys if k.startswith("acts/")}

    paid = [c for c in customers if c.paid_at is not None]
    for c in ordered:
        inv = invoices.get(c.invoice["id"])
        if inv is None:
            continue
        number = s(inv, "number")
        who = f"invoice {number} (customer {c.i}, {c.invoice['id']})"
        status = s(inv, "status")
        if c.paid_at is None:
            continue
        if status != "paid":
            found.append(f"{who}: paid by the provider (200) but status {status}")
            continue
        if "fulfilled_at" not in inv:
            state = {k: s(inv, k) for k in ("act_key", "email_message_id", "paid_at") if k in inv}
            state["subscription_applied"] = "subscription_applied" in inv
            email_claim = items.get((f"EMAIL#{c.invoice['id']}", "EMAIL"))
            found.append(f"{who}: paid but not fulfilled: {state}, e-mail claim "
                         f"{ {k: s(email_claim, k) for k in email_claim} if email_claim else None}")
        # One act.
        mine = sorted(k for k in act_keys if k.endswith(f"/{number}.pdf"))
        if len(mine) != 1 or s(inv, "act_key") not in mine:
            found.append(f"{who}: acts in the bucket {mine}, act_key {s(inv, 'act_key')}")
        # One closing e-mail, the one recorded on the invoice.
        to_me = [m for m in closing if c.email in str(m["To"])]
        if len(to_me) != 1 or number not in str(to_me[0]["Subject"]):
            found.append(f"{who}: {len(to_me)} closing e-mails to {c.email}")
        mine_ids = [mid for mid, m in message_ids.items() if c.email in " ".join(m["destinations"])]
        if s(inv, "email_message_id") not in mine_ids:
            found.append(f"{who}: email_message_id {s(inv, 'email_message_id')} not among its e-mails {mine_ids}")
        # The subscription, extended once: one period from the paid day.
        sub = items.get((f"SUBSCRIPTION#{c.account}#start", "SUBSCRIPTION"))
        paid_day = dt.datetime.fromisoformat(s(inv, "paid_at")).astimezone(MOSCOW).date()
        if sub is None:
            found.append(f"{who}: no subscription")
        else:
            applied = sub.get("applied_invoices", {}).get("SS", [])
            start, end = s(sub, "period_start"), s(sub, "period_end")
            if (applied, start, end, s(sub, "status")) != ([c.invoice["id"]], str(paid_day), str(add_month(paid_day)), "active"):
                found.append(f"{who}: subscription applied {applied}, {start}..{end}, {s(sub, 'status')}; "
                             f"expected one period {paid_day}..{add_month(paid_day)}")
        # Each event: one webhook-id (the outbox event's id), delivered at least once.
        for kind in EVENTS:
            events = outbox.get((kind, c.invoice["id"]), [])
            got = hooks.get((kind, c.invoice["id"]), [])
            ids = {d["webhook_id"] for d in got}
            if len(events) != 1:
                found.append(f"{who}: {len(events)} outbox events {kind}")
            elif ids != {s(events[0], "event_id")}:
                found.append(f"{who}: {kind} webhook-ids {sorted(ids)} (deliveries: {len(got)}), "
                             f"outbox event {s(events[0], 'event_id')}")
        payment = items.get((f"PAYMENT#sandbox#{c.payment_id}", "PAYMENT"))
        if payment is None or s(payment, "outcome") != "paid":
            found.append(f"{who}: payment record {payment and s(payment, 'outcome')}")
    if len(closing) != len(paid):
        found.append(f"{len(closing)} closing e-mails for {len(paid)} paid invoices")
    if len(act_keys) != len(paid):
        found.append(f"{len(act_keys)} acts in the bucket for {len(paid)} paid invoices")
    return found


def stats(snap: Snapshot, customers: list[Customer]) -> dict:
    """What the run did, for the report (printed; nothing asserted on it)."""
    answers = Counter(f"{kind}:{a}" for c in customers for kind, a in c.answers)
    per_id = Counter(d["webhook_id"] for d in snap.deliveries)
    return {
        "customers": len(customers),
        "answers": dict(sorted(answers.items())),
        "invoices": len(snap.invoices),
        "closing_mails": sum("Оплата получена" in str(m["Subject"]) for m in snap.mails()),
        "webhook_deliveries": len(snap.deliveries),
        "webhook_ids_delivered_more_than_once": sum(1 for n in per_id.values() if n > 1),
        "pdf_keys_with_several_versions": sorted(k for k, n in snap.versions.items() if n > 1),
    }


def new_run() -> str:
    return uuid.uuid4().hex[:6]
