# The two commands: `make run` (the whole system locally) and `make test` (every test).
.PHONY: run test job lint fmt bench bench-lambda bench-compare package sizes fuzz clean

run:
	bash infra/local/run.sh

test:
	bash infra/local/test.sh

# A scheduled job on the running local stack, as of NOW if given: `make job JOB=renewal-reminders NOW=2026-12-24T09:00:00+03:00`.
job:
	@test -n "$(JOB)" || { echo "usage: make job JOB=renewal-reminders|expire-subscriptions [NOW=2026-12-24T09:00:00+03:00]" >&2; exit 2; }
	@curl -sS --fail-with-body -X POST -w '\n' "http://127.0.0.1:$${AUTOBILL_PORT:-3000}/_local/jobs/$(JOB)?now=$(subst +,%2B,$(NOW))"

# Formatting and lints, as CI runs them.
lint:
	cargo fmt --all -- --check
	CARGO_TARGET_DIR=$${CARGO_TARGET_DIR:-/var/tmp/autobill-target} cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# Benchmarks, none of them part of `make test`; BENCHMARKS.md has the figures and the commands.
# bench: criterion (invoice and act rendering, callback verification, the renewal job).
bench:
	CARGO_TARGET_DIR=$${CARGO_TARGET_DIR:-/var/tmp/autobill-target} cargo bench -p autobill

# bench-lambda: every function's cold start under a local Lambda runtime API, AWS calls per
# invoice lifecycle against the local AWS, and the cost per 1,000 paid invoices.
bench-lambda:
	bash bench/run.sh all

# bench-compare: the same invoice through WeasyPrint, and a Python + boto3 handler's cold start.
bench-compare:
	bash bench/compare.sh

# Lambda artefacts for `sam deploy`: every function's bootstrap (arm64, x86_64 if the aarch64
# target can't be installed), release profile, with a size table; fails over 8 MB. Installs the
# pinned cargo-lambda + zig (infra/package-requirements.txt) into .venv. `make sizes`: the table only.
package:
	bash infra/package.sh

sizes:
	bash infra/package.sh --report

# Every cargo-fuzz target (nightly) for FUZZ_SECONDS each (default 60): `make fuzz FUZZ_SECONDS=300`; see fuzz/run.sh.
fuzz:
	bash fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf .local .venv .venv-sam
