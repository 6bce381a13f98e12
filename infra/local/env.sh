# Shared settings of the local stack, sourced by run.sh and test.sh.
# Every value can be overridden from the environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${AUTOBILL_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/autobill-target}"

# The real AWS SDK everywhere; only the endpoint is local. Never let a developer's real
# credentials or profile reach the local AWS.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION="${AWS_REGION:-eu-central-1}"
export AUTOBILL_CONFIG_FILE="${AUTOBILL_CONFIG_FILE:-$ROOT/infra/local/config.toml}"
# A documented local default; production passes the LinkSecret template parameter.
export AUTOBILL_LINK_SECRET="${AUTOBILL_LINK_SECRET:-local-link-secret-not-for-production}"
# The sandbox payment provider's secret (signs the local pay button's callbacks and the tests').
export AUTOBILL_SANDBOX_SECRET="${AUTOBILL_SANDBOX_SECRET:-local-sandbox-secret-not-for-production}"
# The management API's key on the local stack (in AWS the /admin/ routes take IAM SigV4 instead).
export AUTOBILL_ADMIN_API_KEY="${AUTOBILL_ADMIN_API_KEY:-local-admin-key-not-for-production}"
export AUTOBILL_EVENT_BUS="${AUTOBILL_EVENT_BUS:-autobill-local-events}"
export AUTOBILL_SES_CONFIGURATION_SET="${AUTOBILL_SES_CONFIGURATION_SET:-autobill-local-mail}"
export AUTOBILL_SENDER_EMAIL="${AUTOBILL_SENDER_EMAIL:-billing@example.com}"
# Paid invoices still unfulfilled after this long are re-driven by the sweeper (AWS: 600).
export AUTOBILL_FULFIL_SWEEP_AFTER_SECONDS="${AUTOBILL_FULFIL_SWEEP_AFTER_SECONDS:-30}"
# The demo receiver (and AUTOBILL_WEBHOOK_URL, if you set it) live on loopback.
export AUTOBILL_WEBHOOKS_ALLOW_LOOPBACK="${AUTOBILL_WEBHOOKS_ALLOW_LOOPBACK:-true}"
export RUST_LOG="${RUST_LOG:-info}"

# ensure_venv: the project-local venv with the pinned local AWS (moto) and test tools.
ensure_venv() {
  local req="$ROOT/infra/local/requirements.txt" stamp="$VENV/.requirements.sha"
  local want; want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -x "$PY" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  echo "==> installing the local AWS (moto) and test tools into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
}

# start_moto PORT LOGFILE [ARGS…]: starts moto on loopback (ARGS to moto_serve.py) and waits
# until it answers; sets MOTO_PID.
start_moto() {
  local port="$1" log="$2"; shift 2
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use: stop what holds it, or choose another port" >&2
    return 1
  fi
  "$PY" "$ROOT/infra/local/moto_serve.py" -H 127.0.0.1 -p "$port" "$@" >"$log" 2>&1 &
  MOTO_PID=$!
  "$PY" "$ROOT/infra/local/stack.py" wait --endpoint "http://127.0.0.1:$port" --timeout 30
}
