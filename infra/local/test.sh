#!/usr/bin/env bash
# `make test`: unit tests, adapter integration tests against the local AWS, end-to-end tests
# through HTTP, and the template lint. Installs and starts everything it needs; stops it after.
set -euo pipefail
source "$(dirname "$0")/env.sh"
AWS_PORT="${AUTOBILL_TEST_AWS_PORT:-4599}"
export AWS_ENDPOINT_URL="http://127.0.0.1:$AWS_PORT"
# Adapter tests share one table and bucket, isolated by unique keys and number prefixes.
export AUTOBILL_TABLE="autobill-test" AUTOBILL_BUCKET="autobill-test-documents"

ensure_venv
echo "==> building"
cargo build --quiet --workspace --all-targets

mkdir -p "$ROOT/.local"
MOTO_PID=""
cleanup() { if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT INT TERM HUP
start_moto "$AWS_PORT" "$ROOT/.local/moto-test.log"
"$PY" "$ROOT/infra/local/stack.py" create --endpoint "$AWS_ENDPOINT_URL" --region "$AWS_REGION" \
  --table "$AUTOBILL_TABLE" --bucket "$AUTOBILL_BUCKET" --event-bus "$AUTOBILL_EVENT_BUS" --configuration-set "$AUTOBILL_SES_CONFIGURATION_SET"

echo "==> cargo test (unit, adapters against the local AWS)"
cargo test --workspace --quiet

echo "==> end-to-end tests and template checks (pytest)"
export AUTOBILL_LOCAL_BIN="$CARGO_TARGET_DIR/debug/autobill-local"
cd "$ROOT" && "$PY" -m pytest -q tests/e2e
