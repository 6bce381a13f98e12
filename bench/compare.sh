#!/usr/bin/env bash
# Side by side, on this machine (not in CI): the sample invoice rendered by autobill and by WeasyPrint
# from an equivalent HTML template (bench/compare/), and create-invoice's cold start against the
# same init in Python 3 + boto3. Prints a Markdown table with ratios (Python ÷ autobill).
#
#   bench/compare.sh [--json FILE]    FILE: the raw figures, as JSON
#   BENCH, CREATE_INVOICE: the binaries (default: $CARGO_TARGET_DIR/release/{autobill-bench,create-invoice})
#
# Needs hyperfine, Pango (for WeasyPrint) and PyPI the first time; builds the Rust side if missing.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
JSON_OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --json) JSON_OUT="$(realpath -m "${2:?--json needs a file}")"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The local stack's settings (AWS_REGION, test credentials, AUTOBILL_CONFIG_FILE, AUTOBILL_LINK_SECRET…);
# no AWS endpoint is needed: neither side calls AWS before it is ready.
source "$ROOT/infra/local/env.sh"
export AWS_REGION=eu-central-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AUTOBILL_TABLE="${AUTOBILL_TABLE:-autobill-local}" AUTOBILL_BUCKET="${AUTOBILL_BUCKET:-autobill-local-documents}"
cd "$ROOT"

BENCH="${BENCH:-$CARGO_TARGET_DIR/release/autobill-bench}"
CREATE_INVOICE="${CREATE_INVOICE:-$CARGO_TARGET_DIR/release/create-invoice}"
CVENV="$ROOT/.venv-compare" REQ="$ROOT/bench/compare/requirements.txt"
CPY="$CVENV/bin/python"
RUNS=20
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1; }
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -x "$CPY" ] || [ "$(cat "$CVENV/.requirements.sha" 2>/dev/null)" != "$want" ]; then
  echo "==> installing WeasyPrint, boto3 and awslambdaric into $CVENV" >&2
  python3 -m venv "$CVENV"
  "$CVENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" >"$CVENV/.requirements.sha"
fi
[ -x "$BENCH" ] || cargo build --release -p autobill-bench --bins
[ -x "$CREATE_INVOICE" ] || cargo build --release --bins -p create-invoice

echo "==> render: one process, median of many" >&2
"$BENCH" render --runs 200 >"$TMP/render-ours.jsonl"
"$CPY" bench/compare/render_weasy.py --runs 50 >"$TMP/render-weasy.json"

echo "==> one-shot process: start, render, write the PDF (hyperfine)" >&2
hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$TMP/oneshot.json" \
  -n autobill "$(printf '%q ' "$BENCH" render --once "$TMP/ours.pdf")" \
  -n weasyprint "$(printf '%q ' "$CPY" "$ROOT/bench/compare/render_weasy.py" --once "$TMP/weasy.pdf")" >&2

echo "==> cold start: exec → first GET /runtime/invocation/next" >&2
python_handler=("$CPY" -m awslambdaric handler_boto3.handler)
{
  "$BENCH" coldstart --runs "$RUNS" --name create-invoice -- "$CREATE_INVOICE"
  PYTHONPATH="$ROOT/bench/compare" "$BENCH" coldstart --runs "$RUNS" --name python-boto3 -- "${python_handler[@]}"
  PYTHONPATH="$ROOT/bench/compare" COMPARE_RENDERER=1 \
    "$BENCH" coldstart --runs "$RUNS" --name python-boto3-weasyprint -- "${python_handler[@]}"
} >"$TMP/coldstart.jsonl"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
"$CPY" - "$TMP" "$JSON_OUT" "$(nproc)" "$(uname -m)" "${cpu:-unknown}" <<'EOF'
import json, sys, datetime, platform
from importlib.metadata import version
from pathlib import Path

tmp, json_out, nproc, arch, cpu = Path(sys.argv[1]), *sys.argv[2:]
def results(name):
    """The result lines of a run: JSON objects with a median (a child's own log lines are not)."""
    rows = [json.loads(l) for l in (tmp / name).read_text().splitlines() if l.startswith("{")]
    return [r for r in rows if "median_ms" in r]

ours = next(r for r in results("render-ours.jsonl") if r["name"] == "invoice")
weasy = results("render-weasy.json")[0]
oneshot = {r["command"]: r for r in json.loads((tmp / "oneshot.json").read_text())["results"]}
for r in oneshot.values():
    r["runs"] = len(r.pop("times"))
    del r["exit_codes"]
cold = {r["name"]: r for r in results("coldstart.jsonl")}
raw = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"nproc": int(nproc), "arch": arch, "cpu": cpu},
    "python": platform.python_version(),
    "versions": {p: version(p) for p in ("weasyprint", "boto3", "awslambdaric")},
    "render": {"autobill": ours, "weasyprint": weasy},
    "oneshot": oneshot,
    "coldstart": cold,
}
if json_out:
    Path(json_out).write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n")

ms = lambda v: f"{v:.2f} ms" if v < 10 else f"{v:.0f} ms"
ratio = lambda py, rs: f"{py / rs:.1f}×" if py / rs < 10 else f"{py / rs:.0f}×"
mib = lambda kib: f"{kib / 1024:.1f} MiB"
size = lambda v: f"{v:,} B".replace(",", " ")
rows = [
    ("render, in one process (median)", ms(ours["median_ms"]), ms(weasy["median_ms"]),
     ratio(weasy["median_ms"], ours["median_ms"]),
     f"{ours['runs']} vs {weasy['runs']} runs after warm-up"),
    ("PDF size", size(ours["bytes"]), size(weasy["bytes"]), ratio(weasy["bytes"], ours["bytes"]), "same page, fonts subset"),
]
o, w = oneshot["autobill"], oneshot["weasyprint"]
rows.append(("one-shot process: start, render, write (median)", ms(o["median"] * 1e3), ms(w["median"] * 1e3),
             ratio(w["median"], o["median"]), f"hyperfine, {o['runs']} runs after 3 warm-ups"))
rs = cold["create-invoice"]
for name, what in [("python-boto3", "boto3 + awslambdaric"), ("python-boto3-weasyprint", "+ renderer imports")]:
    py = cold[name]
    rows.append((f"cold start to ready, {what} (median)", ms(rs["median_ms"]), ms(py["median_ms"]),
                 ratio(py["median_ms"], rs["median_ms"]),
                 f"{py['runs']} runs; min–max {ms(rs['min_ms'])}–{ms(rs['max_ms'])} vs {ms(py['min_ms'])}–{ms(py['max_ms'])}"))
    rows.append((f"peak RSS at ready, {what}", mib(rs["peak_rss_kib"]), mib(py["peak_rss_kib"]),
                 ratio(py["peak_rss_kib"], rs["peak_rss_kib"]), ""))

print(f"autobill vs Python, {raw['date']}: {cpu}, {nproc} × {arch}; Python {raw['python']}, "
      + ", ".join(f"{k} {v}" for k, v in raw["versions"].items()) + "\n")
print("| measure | autobill (Rust) | Python | Python ÷ autobill | notes |")
print("|---|--:|--:|--:|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
EOF
