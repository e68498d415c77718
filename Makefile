# hostlens — `make test` is the whole test suite on a fresh machine; `make bench` the benchmarks.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
TOOLS := $(CURDIR)/.cache/test-tools/usr/bin
export PATH := $(TOOLS):$(PATH)
SCRIPTS := $(shell git ls-files '*.sh' 2>/dev/null) .ci/run

.PHONY: all build release test test-deps lint fmt-check clippy shellcheck cargo-test cargo-test-ignored bench clean build-node-only

all: build

build:
	cargo build --workspace --locked

release:
	cargo build --release --locked -p hostlens-agent

## Everything: tools, formatting, lints, unit and fixture tests, then the tests that need root, Docker, the
## real kernel or the tools of test-deps (`#[ignore = "needs …"]`, run explicitly: a missing prerequisite fails
## them), the stack. At the end: the time of each suite, the ignored tests, every SKIPPED line (logs in
## .cache/test-logs/).
SUITE := bash scripts/suite.sh
SUB := $(MAKE) --no-print-directory
test:
	@$(SUITE) start
	@$(SUITE) run test-deps $(SUB) test-deps
	@$(SUITE) run lint $(SUB) lint
	@$(SUITE) run dashboards-check $(SUB) dashboards-check
	@$(SUITE) run cargo-test $(SUB) cargo-test
	@$(SUITE) run cargo-test-ignored $(SUB) cargo-test-ignored
	@$(SUITE) run stack-static $(SUB) stack-static
	@$(SUITE) run stack-e2e $(SUB) stack-e2e
	@$(SUITE) report
	@echo "make test: all suites passed"

## What runs anywhere (no root, no Docker, no test-deps): `cargo test` lists the rest as ignored.
cargo-test:
	cargo test --workspace --locked --no-fail-fast -- --nocapture --test-threads=1

## The tests marked #[ignore = "needs root" / "needs Docker" / "needs … (make test-deps)" / the real kernel].
cargo-test-ignored:
	cargo test --workspace --locked --no-fail-fast -- --ignored --nocapture --test-threads=1

test-deps:
	@bash scripts/test-deps.sh

lint: fmt-check clippy shellcheck build-node-only

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

shellcheck:
	shellcheck $(SCRIPTS)

## The agent on node_exporter's own fixtures (end-to-end-test.sh, e2e-output.txt), against the committed baseline.
.PHONY: fixtures-test
fixtures-test: test-deps
	cargo test --locked -p hostlens-agent --test node_exporter_fixtures -- --include-ignored --nocapture

## The agent without its cargo features ebpf and container: builds and passes clippy with no clang on PATH.
build-node-only:
	bash scripts/node_only.sh

## The Grafana dashboard: regenerate it (and its query rules), or check it without Grafana (see grafana-dashboards/).
.PHONY: dashboards dashboards-check
dashboards:
	python3 grafana-dashboards/generate.py

dashboards-check:
	bash grafana-dashboards/check.sh

## The stack (deploy/, start.sh): static checks, then the offline end-to-end test (tests/stack/).
.PHONY: stack-static stack-e2e stack-test
stack-static:
	bash tests/stack/static.sh
	bash tests/stack/start_checks.sh
stack-e2e:
	python3 tests/stack/e2e.py
stack-test: stack-static stack-e2e

## Benchmarks: the agent side by side with node_exporter on this machine (see README).
bench: test-deps release
	python3 scripts/bench_node.py
	bash scripts/bench_ebpf.sh
	python3 scripts/bench_containers.py
	python3 scripts/bench_syscalls.py

clean:
	cargo clean
	rm -rf .cache
