"""Tables for BENCHMARKS.md from bench/run.sh's results: cold starts, and AWS calls per step.

Usage: report.py DIR (with coldstart.jsonl and/or lifecycle.json)
"""

import json
import sys
from collections import Counter
from pathlib import Path

TARGET_COLD_MS, TARGET_CALLS = 10.0, 8
# Off the way from the form to an active subscription: what the customer looks at, and telling
# the vendor about the invoice.
ASIDE = ("invoice page", "PDF download", "webhook invoice.issued")


def cold_starts(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print("\n### Cold start (exec → ready for the first event)\n")
    print("| function | median ms | min | max | peak RSS MiB | ≤ 10 ms |")
    print("|---|---:|---:|---:|---:|:---:|")
    for r in rows:
        ok = "yes" if r["median_ms"] <= TARGET_COLD_MS else "**no**"
        print(f"| {r['name']} | {r['median_ms']:.2f} | {r['min_ms']:.2f} | {r['max_ms']:.2f} "
              f"| {r['peak_rss_kib'] / 1024:.1f} | {ok} |")


def calls_text(calls: list) -> str:
    ops = Counter(f"{c['service']}:{c['operation']}" for c in calls)
    return ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in sorted(ops.items())) or "–"


def lifecycle(path: Path) -> None:
    report = json.loads(path.read_text())
    per_invoice = [s for s in report["steps"] if s["per"] == "invoice"]
    print("\n### AWS calls per step (second customer: warm functions)\n")
    print("| step | function | AWS calls | n | ms (warm / cold) | init ms | init calls |")
    print("|---|---|---|---:|---:|---:|---:|")
    for s in report["steps"]:
        dur = "–" if s["duration_ms"] is None else f"{s['duration_ms']:.1f}" + (f" / {s['cold_duration_ms']:.1f}" if s.get("cold_duration_ms") else "")
        init = "–" if not s.get("init_ms") else f"{s['init_ms']:.1f}"
        name = s["name"] if s["per"] == "invoice" else f"{s['name']} ×{s['times']}/month"
        print(f"| {name} | {s['function'] or 'browser'} | {calls_text(s['calls'])} | {len(s['calls'])} "
              f"| {dur} | {init} | {s.get('init_call_count', '–')} |")
    upto = next(i for i, s in enumerate(per_invoice) if s["function"] == "fulfil") + 1
    path_steps = [s for s in per_invoice[:upto] if not s["name"].startswith(ASIDE)]
    activated = sum(len(s["calls"]) for s in path_steps)
    critical = sum(len(s["calls"]) for s in path_steps if s["name"] != "publish (invoice.issued)")
    whole = sum(len(s["calls"]) for s in per_invoice)
    failed = [c for s in report["steps"] for c in s["calls"] if c["status"] >= 400]
    print(f"\n- form → subscription activated: **{activated} AWS calls** "
          f"({critical} without publishing `invoice.issued`; target ≤ {TARGET_CALLS}): "
          + " + ".join(f"{s['name']} {len(s['calls'])}" for s in path_steps))
    print(f"- the whole lifecycle of one invoice, renewal invoice included: {whole} calls")
    print(f"- webhooks received: {report['webhooks_received']}; failed AWS calls: {len(failed)}; "
          f"distinct EMF metrics written: {report['metrics']}")
    rss = ", ".join(f"{k} {v / 1024:.1f}" for k, v in report["peak_rss_kib"].items())
    print(f"- peak RSS after the run, MiB: {rss}")


def main() -> None:
    out = Path(sys.argv[1])
    if (out / "coldstart.jsonl").exists():
        cold_starts(out / "coldstart.jsonl")
    if (out / "lifecycle.json").exists():
        lifecycle(out / "lifecycle.json")


if __name__ == "__main__":
    main()
