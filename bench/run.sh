#!/usr/bin/env bash
# The measurements behind BENCHMARKS.md (not part of `make test`): release builds of every
# function, a local AWS with a request log, then
#   coldstart  every function's exec → ready under the harness's Lambda runtime API (RUNS, 20)
#   lifecycle  two customers' lifecycles through the functions' binaries, AWS calls counted,
#              then the cost per 1,000 paid invoices (bench/cost.py, bench/prices.toml)
#   all        both (the default)
# Results: .local/bench/ (coldstart.jsonl, lifecycle.json, requests.jsonl, the functions' logs).
set -euo pipefail
source "$(dirname "$0")/../infra/local/env.sh"
WHAT="${1:-all}" RUNS="${RUNS:-20}"
case "$WHAT" in coldstart|lifecycle|all) ;; *) echo "usage: bench/run.sh [coldstart|lifecycle|all]" >&2; exit 2 ;; esac
OUT="$ROOT/.local/bench"
rm -rf "$OUT" && mkdir -p "$OUT"
ensure_venv
echo "==> release build (the functions and the harness)"
cargo build --release --quiet --workspace --bins --exclude autobill-local --exclude autobill-cli
BIN="$CARGO_TARGET_DIR/release"

# The functions' settings, as the template gives them (ARNs only need to look right here).
AWS_PORT="${AUTOBILL_BENCH_AWS_PORT:-4597}"
export AWS_ENDPOINT_URL="http://127.0.0.1:$AWS_PORT"
export AUTOBILL_TABLE=autobill-bench AUTOBILL_BUCKET=autobill-bench-documents
export AUTOBILL_PUBLIC_URL=https://api.autobill.example
export AUTOBILL_CLOUDPAYMENTS_API_SECRET="${AUTOBILL_CLOUDPAYMENTS_API_SECRET:-bench-cloudpayments-secret}"
export AUTOBILL_WEBHOOK_RETRY_GROUP=autobill-webhook-retries
export AUTOBILL_WEBHOOK_RETRY_TARGET_ARN=arn:aws:lambda:eu-central-1:123456789012:function:deliver-webhooks
export AUTOBILL_WEBHOOK_RETRY_ROLE_ARN=arn:aws:iam::123456789012:role/autobill-webhook-retries
export AUTOBILL_WEBHOOK_RETRY_DLQ_ARN=arn:aws:sqs:eu-central-1:123456789012:autobill-webhooks-dlq
unset AUTOBILL_ADMIN_API_KEY AUTOBILL_SANDBOX_SECRET # not in AWS

MOTO_PID=""
cleanup() { if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT INT TERM HUP
start_moto "$AWS_PORT" "$OUT/moto.log" --request-log "$OUT/requests.jsonl"
"$PY" "$ROOT/infra/local/stack.py" create --endpoint "$AWS_ENDPOINT_URL" --region "$AWS_REGION" \
  --table "$AUTOBILL_TABLE" --bucket "$AUTOBILL_BUCKET" --event-bus "$AUTOBILL_EVENT_BUS" \
  --configuration-set "$AUTOBILL_SES_CONFIGURATION_SET" >/dev/null

if [ "$WHAT" != lifecycle ]; then
  echo "==> cold start: $RUNS runs of each function"
  for dir in "$ROOT"/functions/*/; do
    name="$(basename "$dir")"
    "$BIN/autobill-bench" coldstart --runs "$RUNS" --name "$name" -- "$BIN/$name" >>"$OUT/coldstart.jsonl"
  done
fi
if [ "$WHAT" != coldstart ]; then
  echo "==> lifecycle: two customers, the functions' binaries against the local AWS"
  "$BIN/autobill-bench" lifecycle --bin-dir "$BIN" --request-log "$OUT/requests.jsonl" \
    --config "$AUTOBILL_CONFIG_FILE" --work-dir "$OUT/lifecycle" >"$OUT/lifecycle.json"
fi
"$PY" "$ROOT/bench/report.py" "$OUT"
if [ -f "$OUT/lifecycle.json" ]; then python3 "$ROOT/bench/cost.py" "$OUT/lifecycle.json" --prices "$ROOT/bench/prices.toml"; fi
