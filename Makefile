# The two commands: `make run` (the whole system locally) and `make test` (every test).
.PHONY: run test job lint fmt bench package sizes clean

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

# Benchmarks (criterion): PDF render time and size, callback verification. Not part of `make test`.
bench:
	CARGO_TARGET_DIR=$${CARGO_TARGET_DIR:-/var/tmp/autobill-target} cargo bench -p autobill

# Lambda artefacts for `sam deploy`: every function's bootstrap (arm64, x86_64 if the aarch64
# target can't be installed), release profile, with a size table; fails over 8 MB. Installs the
# pinned cargo-lambda + zig (infra/package-requirements.txt) into .venv. `make sizes`: the table only.
package:
	bash infra/package.sh

sizes:
	bash infra/package.sh --report

clean:
	rm -rf .local .venv .venv-sam
