#!/usr/bin/env bash
# `make test`: unit tests, adapter integration tests against the local AWS, end-to-end tests
# through HTTP, and the template lint. Installs and starts everything it needs; stops it after.
set -euo pipefail
source "$(dirname "$0")/env.sh"
AWS_PORT="${AUTOBILL_TEST_AWS_PORT:-4599}"
export AWS_ENDPOINT_URL="http://127.0.0.1:$AWS_PORT"
# Adapter tests share one table and bucket, isolated by unique keys and number prefixes.
export AUTOBILL_TABLE="autobill-test" AUTOBILL_BUCKET="autobill-test-documents"

# The browser test's tools: Debian's Chromium (never a downloaded browser build) and the pinned
# playwright-core (tests/browser/package-lock.json). Installed once; quiet unless something fails.
ensure_browser() {
  local log="$ROOT/.local/install-browser.log"
  mkdir -p "$ROOT/.local" && : >"$log"
  if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing Chromium (the Debian package) for the browser test"
    local as_root=(); [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
    local install=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 chromium)
    if ! "${install[@]}" >>"$log" 2>&1; then
      "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$log" 2>&1 || true
      if ! "${install[@]}" >>"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "could not install chromium (log: $log); install it as root: apt-get install -y chromium" >&2
        return 1
      fi
    fi
  fi
  local dir="$ROOT/tests/browser" want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -d "$dir/node_modules/playwright-core" ] && [ "$(cat "$dir/node_modules/.lock.sha" 2>/dev/null)" = "$want" ]; then return 0; fi
  echo "==> installing playwright-core for the browser test (npm ci)"
  command -v npm >/dev/null || { echo "npm is not installed: the browser test needs Node.js 20+ and npm" >&2; return 1; }
  if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund --no-update-notifier --loglevel=error >>"$log" 2>&1; then
    cat "$log" >&2
    echo "npm ci in tests/browser failed (log: $log)" >&2
    return 1
  fi
  echo "$want" > "$dir/node_modules/.lock.sha"
}

# The template check's `sam validate --lint` (tests/e2e/test_template.py): aws-sam-cli, pinned in
# infra/local/sam-requirements.txt, in a venv of its own (it downgrades boto3 and click, which
# moto needs newer, if the two share one). Installed once, again when the pin changes; quiet.
ensure_sam() {
  local venv="$ROOT/.venv-sam" req="$ROOT/infra/local/sam-requirements.txt"
  local stamp="$venv/.requirements.sha" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/sam" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing the AWS SAM CLI (sam validate --lint) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
  fi
  export AUTOBILL_SAM="$venv/bin/sam"
}

ensure_venv
ensure_sam
ensure_browser
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
export AUTOBILL_CLI_BIN="$CARGO_TARGET_DIR/debug/autobill"
cd "$ROOT" && "$PY" -m pytest -q tests/e2e
