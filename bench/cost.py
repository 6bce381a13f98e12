#!/usr/bin/env python3
"""AWS cost of autobill's invoice lifecycle, at list prices (no free tiers subtracted).

    python3 bench/cost.py LIFECYCLE.json [--prices bench/prices.toml] [--invoices 1000]
                          [--cold-fraction 1.0] [--storage-months 12]

LIFECYCLE.json lists the steps of one paid invoice as measured (see bench/lifecycle.example.json):
each step's Lambda function, memory, durations, log bytes and the AWS calls it made. Steps with
"per": "invoice" run `times` times per paid invoice; steps with "per": "month" run `times` times a
month whatever the volume (schedules) and go in the fixed-cost table, with `metrics` custom
metrics. Prints a Markdown report. Python 3.11+, standard library only.
"""
import argparse
import json
import math
import tomllib
from collections import defaultdict

GIB = 1024**3  # AWS bills data "GB" as 2^30 bytes
CHUNK = 64 * 1024  # EventBridge meters each entry in 64 KB chunks
SERVICES = {  # column order and labels
    "lambda": "Lambda", "apigateway": "API Gateway", "dynamodb": "DynamoDB", "s3": "S3",
    "sesv2": "SES", "events": "EventBridge", "scheduler": "Scheduler", "cloudwatch": "CloudWatch",
}
S3_PUT_CLASS = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2",
                "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
S3_FREE = {"DeleteObject", "DeleteObjects"}


def usd(x):
    """Money: 4 decimals from $1 up, 6 below; a dash for nothing."""
    if x == 0:
        return "–"
    return f"${x:,.4f}" if abs(x) >= 1 else f"${x:.6f}"


def run_cost(step, p, args, unpriced):
    """USD by service for ONE run of a step."""
    v = lambda svc, key: p[svc][key]["value"]  # noqa: E731
    c = defaultdict(float)
    if step.get("function"):
        ms = math.ceil(step.get("duration_ms", 0))
        if step.get("cold"):
            ms += math.ceil(step.get("init_ms", 0)) * args.cold_fraction
        gb = step["memory_mb"] / 1024
        c["lambda"] += ms / 1000 * gb * v("lambda", "arm_gb_second")
        c["lambda"] += v("lambda", "request") / 1e6
    if step.get("api_gateway"):
        c["apigateway"] += v("apigateway", "http_request") / 1e6
    if step.get("scheduler"):  # the step itself is started by a (recurring) schedule
        c["scheduler"] += v("scheduler", "invocation") / 1e6
    c["cloudwatch"] += step.get("log_bytes", 0) / GIB * v("cloudwatch", "logs_ingestion_gb")
    for call in step.get("calls", []):
        svc, op, nbytes = call["service"], call.get("operation", "?"), call.get("bytes", 0)
        if svc == "dynamodb":  # consumed capacity is billed even when a condition fails
            c[svc] += call.get("wru", 0) * v(svc, "write_request_unit") / 1e6
            c[svc] += call.get("rru", 0) * v(svc, "read_request_unit") / 1e6
        elif call.get("status", 200) >= 400:
            continue
        elif svc == "s3" and op not in S3_FREE:
            c[svc] += v(svc, "put_request" if op in S3_PUT_CLASS else "get_request") / 1000
            if op == "PutObject":
                c[svc] += nbytes / GIB * v(svc, "storage") * args.storage_months
        elif svc in ("ses", "sesv2") and op == "SendEmail":  # SES v2 signs as "ses"
            c["sesv2"] += call.get("recipients", 1) * v("sesv2", "outbound_email") / 1000
            c["sesv2"] += nbytes / GIB * v("sesv2", "attachment_gb")
        elif svc == "events" and op == "PutEvents":
            entries = call.get("entries", 1)
            chunks = entries * max(1, math.ceil(nbytes / entries / CHUNK)) if entries else 0
            c[svc] += chunks * v(svc, "custom_event") / 1e6
        elif svc == "scheduler" and op == "CreateSchedule":  # fires once
            c[svc] += v(svc, "invocation") / 1e6
        elif not (svc == "s3" and op in S3_FREE):
            unpriced.add(f"{svc} {op}")
    return c


def table(rows, cols, first):
    """Markdown table: rows are (label cells, {service: USD}); adds a total column and row."""
    head = first + [SERVICES[s] for s in cols] + ["total"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(first) + "---:|" * (len(cols) + 1)]
    total = defaultdict(float)
    for labels, c in rows:
        for s in cols:
            total[s] += c.get(s, 0)
        out.append("| " + " | ".join(labels + [usd(c.get(s, 0)) for s in cols] + [usd(sum(c.values()))]) + " |")
    blank = [""] * (len(first) - 1)
    out.append("| " + " | ".join(["**total**"] + blank + [f"**{usd(total[s])}**" for s in cols]
                                  + [f"**{usd(sum(total.values()))}**"]) + " |")
    return out, sum(total.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lifecycle", help="lifecycle JSON written by the measuring program")
    ap.add_argument("--prices", default="bench/prices.toml")
    ap.add_argument("--invoices", type=int, default=1000, help="paid invoices to price (default 1000)")
    ap.add_argument("--cold-fraction", type=float, default=1.0,
                    help="share of runs of cold-marked steps that pay INIT (default 1.0: all)")
    ap.add_argument("--storage-months", type=float, default=12,
                    help="months each S3 PutObject is kept and paid for (default 12)")
    args = ap.parse_args()
    with open(args.prices, "rb") as f:
        p = tomllib.load(f)
    with open(args.lifecycle) as f:
        life = json.load(f)

    unpriced, per_invoice, monthly = set(), [], []
    for st in life["steps"]:
        if st.get("function") and not st.get("memory_mb"):
            raise SystemExit(f"step {st['name']!r}: a function needs memory_mb")
        one = run_cost(st, p, args, unpriced)
        per = st.get("per", "invoice")
        if per not in ("invoice", "month"):
            raise SystemExit(f"step {st['name']!r}: per must be 'invoice' or 'month', not {per!r}")
        runs = st.get("times", 1) * (args.invoices if per == "invoice" else 1)
        row = ([st["name"], st.get("function") or "–", f"{runs:,g}"], {s: x * runs for s, x in one.items()})
        (per_invoice if per == "invoice" else monthly).append(row)
    metrics = life.get("metrics", 0)
    metric_price = p["cloudwatch"]["custom_metric"]["value"]
    monthly.append(([f"custom metrics ({metrics} × {metric_price:g} USD)", "–", "–"],
                    {"cloudwatch": metrics * metric_price}))

    used = [s for s in SERVICES if any(c.get(s) for _, c in per_invoice + monthly)]
    n = args.invoices
    print(f"# autobill AWS cost, {p['region']}, list prices as of {p['as_of']}\n")
    print(f"- measured: {life.get('measured_at', '?')} on {life.get('machine', '?')}")
    print(f"- command: `{life.get('command', '?')}`")
    print(f"- prices: `{args.prices}` ({p['currency']}, no free tier subtracted)\n")
    print(f"## Per {n:,} paid invoices\n")
    lines, var = table(per_invoice, used, ["step", "function", "runs"])
    print("\n".join(lines))
    print("\n## Fixed monthly costs (independent of volume)\n")
    lines, fixed = table(monthly, used, ["item", "function", "runs/month"])
    print("\n".join(lines))
    print("\n## Total\n")
    print(f"- variable: **{usd(var)}** per {n:,} paid invoices ({usd(var / n if n else 0)} per invoice)")
    print(f"- fixed: **{usd(fixed)}** per month")
    print(f"- a month with {n:,} paid invoices: **{usd(var + fixed)}**")

    print("\n## Assumptions\n")
    for a in [
        "List prices of the first volume tier; free tiers (see prices.toml) are NOT subtracted; tax excluded.",
        "Lambda arm64: billed ms = ceil(duration_ms), plus ceil(init_ms) × cold fraction "
        f"({args.cold_fraction:g}) on steps marked cold; × memory_mb/1024 GB × the GB-second price; "
        "plus one request per run. INIT is billed (custom runtime; and for all ZIP functions since 2025-08-01).",
        "API Gateway: one HTTP API request per run of a step with api_gateway true (the template uses an HTTP API).",
        "DynamoDB on-demand: the step's recorded wru/rru (whatever the status: failed conditions "
        "consume capacity). Table storage is not modelled (no item sizes in the input).",
        f"S3 Standard: one PUT-class or GET-class request per call; each PutObject's bytes stored for "
        f"{args.storage_months:g} months (--storage-months), charged up front to the invoice; deletes are free.",
        "SES: each SendEmail is one message to `recipients` (default 1) recipients at the à la carte rate; "
        "its `bytes` count once as attachment data. (New accounts since 2026-07-21 default to the "
        "Essentials plan, 0.16 USD per 1,000; see prices.toml.)",
        "EventBridge: each PutEvents entry is ceil(bytes/entries / 64 KB) events (at least 1).",
        "Scheduler: each CreateSchedule fires once (one invocation); steps with scheduler true pay one "
        "invocation per run (recurring schedules); other monthly steps pay none.",
        "CloudWatch: log_bytes ingested at the Standard class rate (log storage, retention-dependent, "
        "not modelled); custom metrics priced per metric-month in the fixed table.",
        "Calls with status ≥ 400 are not billed (except DynamoDB, above). GB = 2^30 bytes.",
        "Per-invoice steps scale linearly with --invoices; monthly steps do not.",
        "Not modelled: data transfer out, KMS, Secrets/SSM, X-Ray, alarms, dashboards.",
    ]:
        print(f"- {a}")
    if unpriced:
        print(f"- Calls with no per-call list price, counted as free: {', '.join(sorted(unpriced))}.")

    print("\n## Prices used\n")
    print("| price | value | unit | region |\n|---|---:|---|---|")
    for svc in SERVICES:
        for key, e in p.get(svc, {}).items():
            if not e["unit"].startswith("flag"):
                value = f"{e['value']:.10f}".rstrip("0").rstrip(".")
                print(f"| {svc}.{key} | {value} | {e['unit']} | {e['region']} |")


if __name__ == "__main__":
    main()
