# The two commands: `make run` (the whole system locally) and `make test` (every test).
.PHONY: run test job lint fmt bench package clean

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

# Lambda artefacts for `sam deploy` (needs `pip install cargo-lambda`).
package:
	cargo lambda build --release --arm64

clean:
	rm -rf .local .venv
