#!/usr/bin/env bash
# Lambda artefacts: every function's `bootstrap`, release profile (size-tuned, LTO, stripped),
# arm64 where the aarch64 Rust target can be installed, x86_64 otherwise.
#   bash infra/package.sh            build, then print the size table (make package)
#   bash infra/package.sh --report   only print the table for what is already built (make sizes)
# Output: $CARGO_TARGET_DIR/lambda/<function>/bootstrap. Fails if any bootstrap exceeds 8 MB.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local/env.sh"
cd "$ROOT"

LIMIT=8000000 # bytes: 8 MB (decimal, so it also holds if one means 8 MiB)
TARGET=aarch64-unknown-linux-gnu
OUT="$CARGO_TARGET_DIR/lambda"

# The Lambda functions: every package under functions/ (not the local runner, not the CLI).
fns=()
for d in functions/*/; do
  [ -f "$d/Cargo.toml" ] && fns+=("$(basename "$d")")
done
[ "${#fns[@]}" -gt 0 ] || { echo "no functions under $ROOT/functions" >&2; exit 1; }

# ensure_package_tools: cargo-lambda and ziglang (pinned) in the project venv, own stamp.
ensure_package_tools() {
  local req="$ROOT/infra/package-requirements.txt" stamp="$VENV/.package-requirements.sha"
  local want; want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -x "$VENV/bin/cargo-lambda" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  echo "==> installing cargo-lambda and zig into $VENV"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
}

if [ "${1:-}" != "--report" ]; then
  ensure_package_tools
  # cargo-lambda on PATH, and a `python3` that has the ziglang module (cargo-lambda's zig).
  export PATH="$VENV/bin:$PATH"

  arch_flag=() arch=x86_64
  if command -v rustup >/dev/null 2>&1 &&
     { rustup target list --installed 2>/dev/null | grep -qx "$TARGET" ||
       rustup target add "$TARGET" >/dev/null 2>&1; }; then
    arch_flag=(--arm64) arch=arm64
  else
    echo "==> the $TARGET Rust target is not installed and 'rustup target add $TARGET' failed:"
    echo "    building x86_64 instead (set Architectures: [x86_64] in template.yaml to deploy these)"
  fi

  pkgs=()
  for f in "${fns[@]}"; do pkgs+=(-p "$f"); done
  echo "==> cargo lambda build --release ${arch_flag[*]} (${#fns[@]} functions, $arch) into $OUT"
  start=$SECONDS
  cargo lambda build --release "${arch_flag[@]}" "${pkgs[@]}"
  echo "==> built in $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s"
fi

# The table: bootstrap size and its zip (deflate -9, as Lambda receives it), each checked.
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail=0
printf '\n%-22s %-8s %12s %9s %12s %8s\n' function arch bootstrap_B MB zip_B zip_MB
for f in "${fns[@]}"; do
  bin="$OUT/$f/bootstrap"
  if [ ! -f "$bin" ]; then
    printf '%-22s %s\n' "$f" "MISSING: $bin"; fail=1; continue
  fi
  desc="$(file -b "$bin" 2>/dev/null || true)"
  case "$desc" in *aarch64*) a=arm64 ;; *x86-64*) a=x86_64 ;; *) a='?' ;; esac
  size=$(stat -c %s "$bin")
  (cd "$OUT/$f" && zip -q -9 -X "$tmp/$f.zip" bootstrap)
  zsize=$(stat -c %s "$tmp/$f.zip")
  note=""
  [ "$size" -le "$LIMIT" ] || { note="  > 8 MB"; fail=1; }
  case "$desc" in *"not stripped"*) note="$note  (not stripped)" ;; esac
  awk -v f="$f" -v a="$a" -v s="$size" -v z="$zsize" -v n="$note" \
    'BEGIN { printf "%-22s %-8s %12d %9.2f %12d %8.2f%s\n", f, a, s, s / 1e6, z, z / 1e6, n }'
done
echo "(MB = 10^6 bytes; limit: 8 MB per stripped bootstrap)"
if [ "$fail" -ne 0 ]; then
  echo "package: a bootstrap is missing or over 8 MB" >&2
  exit 1
fi
