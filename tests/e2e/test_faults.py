"""Fault injection end to end (issue 11): the local runner talks to its own local AWS through
infra/local/fault_proxy.py, which answers chosen operations with 500s, throttling, timeouts and
answers withheld after the write (after_timeout); the local AWS is also killed (-9) and
restarted with its state kept (moto_serve.py --state). Customers order and pay throughout,
retrying as real ones do. After the faults stop and the sweeper has run, every paid invoice is
fulfilled exactly once (one act, one closing e-mail, one subscription extension, one webhook-id
per event), and no invoice is lost or double-numbered. No timing is asserted: waits are bounded."""

from __future__ import annotations

import json
import threading
import time

import pytest

from conftest import App, create_stack
from faults_stack import Customer, FaultProxy, LocalAws, Snapshot, join, new_run, problems, run_customers, stats, wait_settled

# Faults while the customers order: the numbering transaction, the invoice PDF, the outbox
# (its query, PutEvents, marking events sent) and the webhook deliveries' reads. `times`
# above 3 outlasts the SDK's three attempts, so the request fails and the system's own
# recovery (the customer's retry with its key, the outbox's next round) must save it.
ORDER_FAULTS = [
    {"name": "issue 500", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "COUNTER#", "fault": "500", "times": 4},
    {"name": "issue throttled", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "COUNTER#", "fault": "throttle", "code": "ProvisionedThroughputExceededException", "skip": 2, "times": 3},
    {"name": "issue applied, answer lost", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "COUNTER#", "fault": "after_timeout", "skip": 4, "every": 3, "times": 2},
    {"name": "issue timeout", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "COUNTER#", "fault": "timeout", "skip": 6, "times": 1},
    {"name": "invoice PDF 500", "service": "s3", "operation": "PutObject", "path_contains": "/invoices/", "fault": "500", "times": 4},
    {"name": "invoice PDF stored, answer lost", "service": "s3", "operation": "PutObject", "path_contains": "/invoices/", "fault": "after_timeout", "skip": 5, "times": 1},
    {"name": "invoice PDF slow down", "service": "s3", "operation": "PutObject", "path_contains": "/invoices/", "fault": "throttle", "skip": 8, "times": 2},
    {"name": "query 500", "service": "dynamodb", "operation": "Query", "fault": "500", "skip": 3, "times": 4},
    {"name": "PutEvents 500", "service": "events", "operation": "PutEvents", "fault": "500", "times": 4},
    {"name": "PutEvents applied, answer lost", "service": "events", "operation": "PutEvents", "fault": "after_timeout", "times": 1},
    {"name": "mark sent throttled", "service": "dynamodb", "operation": "UpdateItem", "body_contains": "OUTBOX#", "fault": "throttle", "skip": 3, "times": 4},
    {"name": "mark sent applied, answer lost", "service": "dynamodb", "operation": "UpdateItem", "body_contains": "OUTBOX#", "fault": "after_timeout", "skip": 8, "times": 1},
    {"name": "get 500", "service": "dynamodb", "operation": "GetItem", "fault": "500", "skip": 10, "every": 7, "times": 4},
    {"name": "connection reset", "service": "dynamodb", "operation": "GetItem", "fault": "reset", "skip": 12, "every": 9, "times": 3},
]

# Faults while the customers pay and their invoices are fulfilled: the payment transaction, the
# fulfilment's steps (the decision, the act, the subscription's transaction, the e-mail claim,
# SES, the records), the outbox and the webhook log.
PAY_FAULTS = [
    {"name": "payment 500", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "PAYMENT#", "fault": "500", "times": 4},
    {"name": "payment applied, answer lost", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "PAYMENT#", "fault": "after_timeout", "skip": 3, "every": 4, "times": 2},
    {"name": "payment throttled", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "PAYMENT#", "fault": "throttle", "skip": 5, "times": 3},
    {"name": "subscription 500", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "SUBSCRIPTION#", "fault": "500", "times": 4},
    {"name": "subscription applied, answer lost", "service": "dynamodb", "operation": "TransactWriteItems", "body_contains": "SUBSCRIPTION#", "fault": "after_timeout", "skip": 3, "every": 5, "times": 2},
    {"name": "update throttled", "service": "dynamodb", "operation": "UpdateItem", "fault": "throttle", "code": "ProvisionedThroughputExceededException", "skip": 4, "every": 3, "times": 6},
    {"name": "update applied, answer lost", "service": "dynamodb", "operation": "UpdateItem", "fault": "after_timeout", "skip": 10, "every": 11, "times": 2},
    {"name": "update 500", "service": "dynamodb", "operation": "UpdateItem", "fault": "500", "skip": 20, "times": 4},
    {"name": "put 500", "service": "dynamodb", "operation": "PutItem", "fault": "500", "skip": 2, "every": 5, "times": 4},
    {"name": "e-mail claim applied, answer lost", "service": "dynamodb", "operation": "PutItem", "body_contains": "EMAIL#", "fault": "after_timeout", "skip": 6, "times": 1},
    {"name": "act 500", "service": "s3", "operation": "PutObject", "path_contains": "/acts/", "fault": "500", "times": 4},
    {"name": "act stored, answer lost", "service": "s3", "operation": "PutObject", "path_contains": "/acts/", "fault": "after_timeout", "skip": 4, "times": 1},
    {"name": "SES throttled", "service": "ses", "operation": "SendEmail", "fault": "throttle", "skip": 1, "every": 2, "times": 4},
    {"name": "PutEvents throttled", "service": "events", "operation": "PutEvents", "fault": "throttle", "skip": 1, "times": 4},
    {"name": "query timeout", "service": "dynamodb", "operation": "Query", "fault": "timeout", "skip": 5, "times": 1},
    {"name": "webhook endpoints 500", "service": "dynamodb", "operation": "Query", "body_contains": '"WEBHOOKS"', "fault": "500", "skip": 2, "times": 9},
]


@pytest.fixture
def local_aws(tmp_path):
    aws = LocalAws(tmp_path)
    try:
        yield aws
    finally:
        aws.stop()


@pytest.fixture
def proxy(local_aws, tmp_path):
    p = FaultProxy(local_aws.url, tmp_path)
    try:
        yield p
    finally:
        p.stop()


def start_app(local_aws, proxy, tmp_path) -> tuple[App, dict]:
    names = create_stack(local_aws.url, "autobill-faults")
    app = App(proxy.url, names, tmp_path / "app.log",
              AUTOBILL_FULFIL_SWEEP_AFTER_SECONDS="2", AUTOBILL_LOCAL_JOBS_EVERY_SECONDS="0")
    return app, names


def report(title: str, snap: Snapshot, customers, proxy: FaultProxy | None = None) -> str:
    lines = [f"== {title}", json.dumps(stats(snap, customers), ensure_ascii=False)]
    if proxy is not None:
        for r in proxy.state()["history"]:
            lines.append(f"  rule {r['id']:2} {r.get('name')!r}: {r['service']}:{r['operation']} {r['fault']} "
                         f"matched {r['matched']}, injected {r['injected']}")
    return "\n".join(lines)


class Phases:
    """How long each phase took, for the report."""

    def __init__(self):
        self.last, self.seen = time.monotonic(), []

    def __call__(self, name: str) -> None:
        now = time.monotonic()
        self.seen.append(f"{name} +{now - self.last:.1f}s")
        self.last = now

    def __str__(self) -> str:
        return "phases: " + ", ".join(self.seen)


def wait_fired(proxy: FaultProxy, rules: list[dict], timeout: float) -> None:
    """Until every rule has injected its faults (or the timeout): the system keeps working
    meanwhile, so faults meant for later steps (fulfilment, webhooks) meet them."""
    ids = {r["id"] for r in rules}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [r for r in proxy.state()["history"] if r["id"] in ids and r["injected"] < r.get("times", 1)]
        if not pending:
            return
        time.sleep(0.5)


def test_every_paid_invoice_is_fulfilled_once_through_aws_faults(local_aws, proxy, tmp_path):
    app, names = start_app(local_aws, proxy, tmp_path)
    run = new_run()
    customers = [Customer(run, i) for i in range(20)]
    phases = Phases()
    try:
        rules = proxy.set(ORDER_FAULTS)
        deadline = time.monotonic() + 40
        join(run_customers(customers, lambda c: c.place_order(app.base, deadline)), deadline + 1)
        phases("ordered")
        wait_fired(proxy, rules, timeout=10)
        phases("order faults fired")
        rules = proxy.set(PAY_FAULTS)
        deadline = time.monotonic() + 30
        join(run_customers(customers, lambda c: c.pay(app.base, deadline)), deadline + 1)
        phases("paid")
        wait_fired(proxy, rules, timeout=15)
        phases("payment faults fired")
        faults = proxy.state()
        proxy.clear()
        snap = wait_settled(local_aws, names, app.base, customers, timeout=15)
        phases("settled")
    finally:
        logs = app.stop()
    print(report("AWS faults", snap, customers, proxy), phases)
    found = [f"rule {r['id']} {r.get('name')!r} never fired" for r in faults["history"] if r["injected"] == 0]
    found += problems(snap, customers)
    assert not found, "\n".join(found)
    assert "invoice fulfilled" in logs


def survived(before: Snapshot, after: Snapshot, customers, killed_at: float) -> list[str]:
    """What the restarted local AWS lost of the state before the kill (empty: nothing)."""
    lost = []
    # Settled state from before the traffic: unchanged, item for item (the webhook endpoint's
    # failure record and the numbering counter move on by design).
    for key, item in before.items.items():
        if key[0].startswith(("WEBHOOK#", "COUNTER#")):
            continue
        if after.items.get(key) != item:
            lost.append(f"item {key}: {'changed' if key in after.items else 'missing'} after the restart")
    counter = lambda snap: max([int(i["last"]["N"]) for (pk, _), i in snap.items.items() if pk.startswith("COUNTER#")] or [0])
    if counter(after) < counter(before):
        lost.append(f"numbering counter went back from {counter(before)} to {counter(after)}")
    if after.messages[:len(before.messages)] != before.messages:
        lost.append(f"e-mails before the kill ({len(before.messages)}) not kept as they were")
    missing = sorted(before.keys - after.keys)
    if missing:
        lost.append(f"objects missing after the restart: {missing}")
    # What customers were told before the kill: their invoices exist, their payments stand.
    for c in customers:
        if c.ordered_at is not None and c.ordered_at < killed_at and c.invoice["id"] not in after.invoices:
            lost.append(f"customer {c.i}: invoice {c.invoice['number']} answered before the kill, gone after it")
        if c.paid_at is not None and c.paid_at < killed_at:
            inv = after.invoices.get(c.invoice["id"])
            if inv is None or inv["status"]["S"] != "paid":
                lost.append(f"customer {c.i}: payment acknowledged before the kill, invoice {inv and inv['status']['S']} after it")
    return lost


def test_a_killed_local_aws_comes_back_with_its_state_and_nothing_is_lost(local_aws, proxy, tmp_path):
    app, names = start_app(local_aws, proxy, tmp_path)
    run = new_run()
    first = [Customer(run, i) for i in range(6)]
    later = [Customer(run, i) for i in range(6, 18)]
    phases = Phases()
    try:
        deadline = time.monotonic() + 20
        join(run_customers(first, lambda c: c.run(app.base, deadline)), deadline + 1)
        before = wait_settled(local_aws, names, app.base, first, timeout=15, quiet=0)
        phases("first customers settled")
        # E-mails are held back (their claims throttled) while the local AWS goes down: an e-mail
        # whose sending was cut by the kill has an unknown outcome, and by design is tried again
        # only when its claim expires (120 s, claim_email in shared/src/adapters/dynamo.rs), longer than this test runs.
        proxy.set([{"name": "e-mail claims held", "service": "dynamodb", "operation": "PutItem",
                    "body_contains": "EMAIL#", "fault": "throttle"}])
        # The others arrive over 1.2 s; the local AWS is killed in the middle of it.
        deadline = time.monotonic() + 45
        threads = []
        arrivals = threading.Thread(target=lambda: threads.extend(
            run_customers(later, lambda c: c.run(app.base, deadline), stagger=0.1)))
        arrivals.start()
        time.sleep(0.6)
        local_aws.kill()
        killed_at = time.monotonic()
        time.sleep(3)
        local_aws.start()
        phases("killed, down 3 s, restarted")
        after = Snapshot(local_aws, names, app.base)
        proxy.clear()
        arrivals.join()
        join(threads, deadline + 1)
        phases("customers done")
        final = wait_settled(local_aws, names, app.base, first + later, timeout=15)
        phases("settled")
    finally:
        logs = app.stop()
    print(report("kill -9 and restart", final, first + later, proxy), phases)
    print((tmp_path / "moto.log").read_text().count("changes replayed"), "restarts;",
          [line for line in (tmp_path / "moto.log").read_text().splitlines() if line.startswith("moto_serve:")])
    found = survived(before, after, first + later, killed_at)
    outage = [a for c in later for kind, a in c.answers if a in (500, 502, 503, 504) or isinstance(a, str)]
    if not outage:
        found.append("no customer met the outage: the kill came after the traffic")
    found += problems(final, first + later)
    assert not found, "\n".join(found)
    assert "invoice fulfilled" in logs
