# hostlens — `make test` is the whole test suite on a fresh machine; `make bench` the benchmarks.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
TOOLS := $(CURDIR)/.cache/test-tools/usr/bin
export PATH := $(TOOLS):$(PATH)
SCRIPTS := $(shell git ls-files '*.sh' 2>/dev/null) .ci/run

.PHONY: all build release test test-deps lint fmt-check clippy shellcheck unit bench clean

all: build

build:
	cargo build --workspace --locked

release:
	cargo build --release --locked -p hostlens-agent

## Everything: tools, formatting, lints, unit and fixture tests, the side-by-side and HTTP tests.
test: test-deps lint dashboards-check
	cargo test --workspace --locked -- --nocapture --test-threads=1 2>&1 | tee .cache/test.log
	$(MAKE) stack-test
	@echo "make test: all suites passed"

test-deps:
	@bash scripts/test-deps.sh

lint: fmt-check clippy shellcheck

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

shellcheck:
	shellcheck $(SCRIPTS)

## The Grafana dashboard: regenerate it (and its query rules), or check it without Grafana (see grafana-dashboards/).
.PHONY: dashboards dashboards-check
dashboards:
	python3 grafana-dashboards/generate.py

dashboards-check:
	bash grafana-dashboards/check.sh

## The stack (deploy/, start.sh): static checks, then the offline end-to-end test (tests/stack/).
.PHONY: stack-static stack-test
stack-static:
	bash tests/stack/static.sh
	bash tests/stack/start_checks.sh
stack-test: stack-static
	python3 tests/stack/e2e.py 2>&1 | tee .cache/stack-test.log

## Benchmarks: the agent side by side with node_exporter on this machine (see README).
bench: test-deps release
	python3 scripts/bench_node.py
	bash scripts/bench_ebpf.sh
	python3 scripts/bench_containers.py
	python3 scripts/bench_syscalls.py

clean:
	cargo clean
	rm -rf .cache
