#!/usr/bin/env bash
# Fuzzing: every cargo-fuzz target in fuzz/fuzz_targets/ for a set time each, then a table of
# runs, speed, coverage and crashes. Exits 1 if any target crashed, 2 if it cannot run at all.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET…]    (`make fuzz`; default 60 s, every target)
#
# The targets are one-liners calling autobill::fuzzing::<target> (shared/src/fuzzing.rs), whose
# harnesses assert invariants; `cargo test -p autobill --test fuzz_seeds` replays the same
# harnesses on stable over fuzz/seeds/<target>/ (committed) and fuzz/regressions/<target>/.
# The fuzzer grows its working corpus in fuzz/corpus/<target>/ (git-ignored), reading the seeds
# and regressions as extra corpora. It needs the nightly toolchain and cargo-fuzz (installed
# here with `cargo install cargo-fuzz --locked` when missing).
#
# Settings (environment):
#   FUZZ_TARGET_DIR  build directory, apart from the main one (default /var/tmp/autobill-fuzz-target)
#   FUZZ_SANITIZER   none (default), address, …: our code has no `unsafe`, so AddressSanitizer
#                    only slows it down; overflow checks and debug assertions stay on
#                    (--debug-assertions), so an overflow is a crash like any panic.
#   FUZZ_NICE        niceness of the build and the fuzzer (default 10: the machine is shared)
#
# When a target crashes, libFuzzer stops it and saves the input as
# fuzz/artifacts/<target>/crash-<sha1>; the other targets still run. Then:
#   reproduce:  cargo +nightly fuzz run --sanitizer none <target> fuzz/artifacts/<target>/crash-<sha1>
#   minimise:   cargo +nightly fuzz tmin --sanitizer none <target> fuzz/artifacts/<target>/crash-<sha1>
#               (writes fuzz/artifacts/<target>/minimized-from-<sha1>; the request format of the
#               callback and form targets is described in shared/src/fuzzing.rs)
#   keep it:    mkdir -p fuzz/regressions/<target>
#               cp fuzz/artifacts/<target>/minimized-from-<sha1> fuzz/regressions/<target>/<what-it-is>
#               and fix the code: the stable test above replays it from then on.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
cd "$ROOT"

SECONDS_PER_TARGET="${1:-60}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET…]" >&2
  exit 2
fi
shift || true

ALL_TARGETS=()
for f in "$FUZZ"/fuzz_targets/*.rs; do ALL_TARGETS+=("$(basename "$f" .rs)"); done
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  if [ ! -f "$FUZZ/fuzz_targets/$t.rs" ]; then
    echo "unknown target $t; targets: ${ALL_TARGETS[*]}" >&2
    exit 2
  fi
done

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz/run.sh needs the nightly Rust toolchain (cargo-fuzz builds with -Z flags), and it" >&2
  echo "is not installed: rustup toolchain install nightly. Without it, the seeds and regressions" >&2
  echo "still replay on stable: cargo test -p autobill --test fuzz_seeds" >&2
  exit 2
fi
NICE=(nice -n "${FUZZ_NICE:-10}")
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  "${NICE[@]}" cargo install cargo-fuzz --locked
fi

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/autobill-fuzz-target}"
FLAGS=(--sanitizer "${FUZZ_SANITIZER:-none}" --debug-assertions)

echo "==> building ${#TARGETS[@]} fuzz target(s) into $CARGO_TARGET_DIR"
build_start=$(date +%s)
"${NICE[@]}" cargo +nightly fuzz build "${FLAGS[@]}"
echo "==> built in $(( $(date +%s) - build_start )) s; fuzzing each target for $SECONDS_PER_TARGET s"

LOGS="$FUZZ/artifacts/logs"
mkdir -p "$LOGS"
ROWS=()
FAILED=()
count_findings() { find "$FUZZ/artifacts/$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) 2>/dev/null | wc -l; }
stat_of() { grep -E "^stat::$1:" "$2" | tail -1 | awk '{print $2}'; }

for t in "${TARGETS[@]}"; do
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
  corpora=("$FUZZ/corpus/$t" "$FUZZ/seeds/$t")
  [ -d "$FUZZ/regressions/$t" ] && corpora+=("$FUZZ/regressions/$t")
  before=$(count_findings "$t")
  log="$LOGS/$t.log"
  echo "==> $t"
  set +e
  "${NICE[@]}" cargo +nightly fuzz run "${FLAGS[@]}" "$t" "${corpora[@]}" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -dict="$FUZZ/autobill.dict" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  found=$(( $(count_findings "$t") - before ))
  runs=$(stat_of number_of_executed_units "$log")
  speed=$(stat_of average_exec_per_sec "$log")
  # The last status line: `#N  DONE  cov: C ft: F corp: U/S …`.
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  status=ok
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    status="CRASH (rc $rc, log $log)"
    FAILED+=("$t")
    [ "$found" -gt 0 ] || found=1
    grep -E 'panicked at|^==[0-9]+== ERROR|SUMMARY|Test unit written to' "$log" | head -5 | sed 's/^/    /' || true
  fi
  ROWS+=("$(printf '%-22s %6s %12s %9s %6s %7s %7s %8s  %s' "$t" "$SECONDS_PER_TARGET" "${runs:-?}" \
    "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found" "$status")")
done

echo
printf '%-22s %6s %12s %9s %6s %7s %7s %8s  %s\n' target secs runs exec/s cov ft corpus crashes status
for row in "${ROWS[@]}"; do echo "$row"; done
if [ ${#FAILED[@]} -gt 0 ]; then
  echo
  echo "crashed: ${FAILED[*]} — inputs in fuzz/artifacts/<target>/; see the header of fuzz/run.sh" >&2
  exit 1
fi
