#!/usr/bin/env bash
# `make run`: the whole system on this machine. The local AWS (moto) on 127.0.0.1:4566
# (AUTOBILL_AWS_PORT), every function's routes on 127.0.0.1:3000 (AUTOBILL_PORT).
# Ctrl-C stops everything this script started.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export AUTOBILL_PORT="${AUTOBILL_PORT:-3000}"
AWS_PORT="${AUTOBILL_AWS_PORT:-4566}"
export AWS_ENDPOINT_URL="http://127.0.0.1:$AWS_PORT"
export AUTOBILL_TABLE="${AUTOBILL_TABLE:-autobill-local}"
export AUTOBILL_BUCKET="${AUTOBILL_BUCKET:-autobill-local-documents}"
export AUTOBILL_PUBLIC_URL="${AUTOBILL_PUBLIC_URL:-http://127.0.0.1:$AUTOBILL_PORT}"
SENDER="$AUTOBILL_SENDER_EMAIL"

ensure_venv
echo "==> building the local runner and the operators' CLI"
cargo build --quiet -p autobill-local -p autobill-cli

mkdir -p "$ROOT/.local"
MOTO_PID=""
APP_PID=""
# Stops what this script started, however it ends (Ctrl-C, kill, a closed terminal, an error).
cleanup() {
  trap - EXIT INT TERM HUP
  for pid in $APP_PID $MOTO_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $APP_PID $MOTO_PID; do wait "$pid" 2>/dev/null || true; done
  echo "==> stopped"
}
trap cleanup EXIT INT TERM HUP

echo "==> starting the local AWS on $AWS_ENDPOINT_URL (log: .local/moto.log)"
start_moto "$AWS_PORT" "$ROOT/.local/moto.log"
"$PY" "$ROOT/infra/local/stack.py" create --endpoint "$AWS_ENDPOINT_URL" --region "$AWS_REGION" \
  --table "$AUTOBILL_TABLE" --bucket "$AUTOBILL_BUCKET" --sender "$SENDER" --event-bus "$AUTOBILL_EVENT_BUS" --configuration-set "$AUTOBILL_SES_CONFIGURATION_SET"

echo "==> autobill on $AUTOBILL_PUBLIC_URL  (order form: $AUTOBILL_PUBLIC_URL/ , Ctrl-C stops)"
echo "    operators: $CARGO_TARGET_DIR/debug/autobill needs-review list  (with AUTOBILL_ADMIN_API_KEY; local default in infra/local/env.sh)"
"$CARGO_TARGET_DIR/debug/autobill-local" &
APP_PID=$!
wait "$APP_PID"
