# The two commands: `make run` (the whole system locally) and `make test` (every test).
.PHONY: run test lint fmt bench package clean

run:
	bash infra/local/run.sh

test:
	bash infra/local/test.sh

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
