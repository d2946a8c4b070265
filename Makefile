# Buckets: build, local stack, tests.
#
#   make tools          the Python virtualenvs (.local/build, .local/stack, .local/fuzz), when their pins change
#   make build          the release build: one `cargo lambda build --release` for every function; prints sizes
#   make cli            the `buckets` command line: target/release/buckets
#   make local          ministack on 127.0.0.1 + sam build + sam deploy of the functions' dev build (the
#                       tests' artifacts; LOCAL_BUILD=release: the release build); writes .local/env
#   make token          sign in as the dev user through the local Cognito pool: an ID token (ACCESS=1:
#                       the access token; COGNITO_USER=... COGNITO_PASSWORD=... another user)
#   make token HS256=1 SUB=alice PRIVILEGES=create_buckets,edit_buckets TTL=3600   an HS256 dev token
#   make console        build the web console (console/dist) from its lockfile
#   make browser        the console's browser tests (Playwright + Debian's chromium) on the local stack
#   make docs           every shell example of README.md and docs/ run in a clean shell on the local stack
#                       (DOCS=docs/api.md: one document)
#   make kinto-history  kinto-http.py (PyPI, unmodified) reads a bucket's history on the local stack
#   make stop           stop the ministack that `make local` started
#   make status         whether the local stack runs (port, pid), and if not, why
#   make logs FN=files  a deployed function's log lines (FN=a,b; SINCE=15m; GREP=text; FOLLOW=1)
#   make lint-template  sam validate --lint
#   make bench         every function's size, init, CPU/RSS per request, AWS calls; Kinto beside (the
#                       benchmarks deploy and measure the release build, what goes to AWS)
#   make bench-transfer the CLI's store/fetch beside the AWS CLI's (1,000 x 64 KiB, 1 x 512 MiB)
#   make bench-cascade N=5000   delete a bucket of N files on the local stack; time + AWS calls
#   make load N=32      N concurrent clients, mixed workload: requests/s, p50/p99, errors, lost writes
#   make cascade-replay re-trigger every pending delete cascade (after dead-lettered failures)
#   make check          the quick loop: fmt, cycles, clippy, OpenAPI as committed, the core's unit and
#                       route tests (no local stack)
#   make test           make check, the other unit tests, template lint, then end-to-end tests, a short
#                       load check (N=4) and fuzzing on the local stack
#   make fuzz           Schemathesis on the local stack from GET /v1/__api__ (FUZZ_EXAMPLES=40 per operation)
#   make fuzz-long      the same over every operation with several seeds (FUZZ_SEEDS="1 2 3 4 5") and
#                       FUZZ_LONG_EXAMPLES=150 per operation; not part of make test (minutes to an hour)
#
# `sam build` calls the build-<LogicalId> targets below (BuildMethod: makefile).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
LOCAL := $(ROOT)/.local
BUILD_VENV := $(LOCAL)/build
STACK_VENV := $(LOCAL)/stack
# The interpreter that creates the virtualenvs (resolved before PATH gets the venv).
HOST_PYTHON := $(shell command -v python3)

# cargo lambda (and the zig it links with) and sam live in the build virtualenv.
export PATH := $(BUILD_VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
SAM := $(BUILD_VENV)/bin/sam
PY := $(BUILD_VENV)/bin/python3

# --- functions -------------------------------------------------------------------
# The one list of functions is the template: every resource with `BuildMethod: makefile`.
# Naming rule: the resource <Name>Function is the package (and binary) functions/<name>/, its
# CamelCase name in kebab-case (UploadEventsFunction -> functions/upload-events). `sam build`
# calls build-<LogicalId> for each; `make build` and `make local` build and deploy the same set.
#
# Two builds of them (both compile the AWS SDKs once for all functions):
# - release: one `cargo lambda build --release` (the release profile of Cargo.toml: opt-level z,
#   fat LTO, one codegen unit; linked by zig for Lambda's x86_64 Linux), binaries in
#   target/lambda/<bin>/bootstrap. `make build`, `sam build` (for AWS) and every benchmark
#   (`make bench`, bench-cascade, bench-transfer, load) build and deploy this one: what is
#   deployed to AWS is what `make bench` measures.
# - dev: what `make local` (so `make e2e` and `make test`) deploys unless LOCAL_BUILD=release:
#   the functions of `cargo build $(WORKSPACE) --bins`, the dev profile of this machine, whose
#   dependencies are the very artifacts the unit and end-to-end tests' builds use (no LTO: cold,
#   seconds of linking after the tests' build instead of a second full build of the SDKs;
#   after a change, seconds instead of ~1.5 min), stripped like the release ones into
#   target/lambda-dev/<bin>/bootstrap. The emulator runs bootstraps as processes of this machine,
#   so a host build needs neither zig nor the Lambda target. Differences that remain: debug
#   assertions and overflow checks on, panics unwind (the release profile aborts), slower code
#   (the emulator's ~50 ms a call dominates), larger zips (~13 MB).
TEMPLATE := $(ROOT)/infra/template.yaml
# Prints "<LogicalId>:<bin>" for each makefile-built resource under Resources:.
define FUNCTIONS_AWK
function kebab(s,  out, i, c) {
  sub(/Function$$/, "", s); out = "";
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1);
    if (c ~ /[A-Z]/) { if (i > 1) out = out "-"; out = out tolower(c) } else out = out c;
  }
  return out;
}
/^Resources:/ { inres = 1; next }
/^[^ #]/ { inres = 0 }
inres && /^  [A-Za-z0-9]+:[ ]*$$/ { id = $$1; sub(/:$$/, "", id) }
inres && /^ +BuildMethod: *makefile/ { print id ":" kebab(id) }
endef
FUNCTIONS := $(shell awk '$(FUNCTIONS_AWK)' $(TEMPLATE))
function_id = $(word 1,$(subst :, ,$(1)))
function_bin = $(word 2,$(subst :, ,$(1)))
FUNCTION_BINS := $(foreach f,$(FUNCTIONS),$(call function_bin,$(f)))
# Where cargo writes (CARGO_TARGET_DIR when set, as cargo and cargo lambda do).
CARGO_TARGET := $(abspath $(or $(CARGO_TARGET_DIR),$(ROOT)/target))
RELEASE_LAMBDA := $(CARGO_TARGET)/lambda
DEV_LAMBDA := $(CARGO_TARGET)/lambda-dev
# LOCAL_BUILD=release: `make local` deploys the release build (the benchmarks set it).
LOCAL_BUILD ?= dev
# LAMBDA_DIR=<dir>: deploy prebuilt bootstraps from <dir>/<bin>/bootstrap, skip cargo (for
# `sam build`, `make build` and `make local`).
LAMBDA_DIR ?=
LAMBDA_OUT = $(if $(LAMBDA_DIR),$(abspath $(LAMBDA_DIR)),$(RELEASE_LAMBDA))
LOCAL_LAMBDA_OUT = $(if $(LAMBDA_DIR),$(abspath $(LAMBDA_DIR)),$(if $(filter release,$(LOCAL_BUILD)),$(RELEASE_LAMBDA),$(DEV_LAMBDA)))
CARGO_LAMBDA_BUILD := cargo lambda build --release $(addprefix --package ,$(FUNCTION_BINS))
# Every cargo build and test of the workspace but the core's own tests (make check) selects
# the same packages with the same features: cargo resolves features per selection, so a
# `-p <package>` build would compile that package's dependencies once more.
WORKSPACE := --workspace --features shared/aws

define lambda_function
.PHONY: build-$(1)
build-$(1): lambda-artifacts
	@test -n "$$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	cp $(LAMBDA_OUT)/$(2)/bootstrap "$$(ARTIFACTS_DIR)/bootstrap"
endef
$(foreach f,$(FUNCTIONS),$(eval $(call lambda_function,$(call function_id,$(f)),$(call function_bin,$(f)))))

.PHONY: lambda-artifacts
lambda-artifacts: $(if $(LAMBDA_DIR),,cargo-lambda-build)
	@for b in $(FUNCTION_BINS); do test -x "$(LAMBDA_OUT)/$$b/bootstrap" \
	  || { echo "missing $(LAMBDA_OUT)/$$b/bootstrap" >&2; exit 1; }; done

.PHONY: cargo-lambda-build
cargo-lambda-build: function-packages console $(LOCAL)/build.stamp
	cd $(ROOT) && $(CARGO_LAMBDA_BUILD)

# The dev build of the functions (see above). Stripping the same binary gives the same bytes:
# the digest of `make local` (infra/local/deploy.py) stays unchanged while the code does.
.PHONY: dev-lambda-build
# The CLI is left out: its binary is also named `buckets`, and cargo writes both to
# target/debug/buckets (the last one wins); this build's target/debug/buckets is the function's.
dev-lambda-build: function-packages console
	cd $(ROOT) && cargo build $(WORKSPACE) --bins --exclude buckets-cli
	@for b in $(FUNCTION_BINS); do mkdir -p "$(DEV_LAMBDA)/$$b" && \
	  strip --strip-all -o "$(DEV_LAMBDA)/$$b/bootstrap" "$(CARGO_TARGET)/debug/$$b"; done

# Every function of the template has its package (the naming rule above), and every package
# under functions/ is in the template.
.PHONY: function-packages
function-packages:
	@test -n "$(FUNCTION_BINS)" || { echo "no 'BuildMethod: makefile' function in $(TEMPLATE)" >&2; exit 1; }
	@for f in $(FUNCTIONS); do test -f "$(ROOT)/functions/$${f#*:}/Cargo.toml" || { echo \
	  "the template's $${f%%:*} has no package functions/$${f#*:}/ (<Name>Function -> functions/<name>/)" >&2; exit 1; }; done
	@for d in $(ROOT)/functions/*/; do b="$$(basename "$$d")"; case " $(FUNCTION_BINS) " in *" $$b "*) ;; \
	  *) echo "functions/$$b/ is not in the template (a <Name>Function resource with BuildMethod: makefile)" >&2; exit 1;; esac; done

# --- web console -------------------------------------------------------------------
# console/ (TypeScript, Vite) -> console/dist, which functions/console embeds at compile time
# (build.rs). From the lockfile (npm ci), again only when a source or the lockfile changed.
CONSOLE := $(ROOT)/console
CONSOLE_SOURCES := $(shell find $(CONSOLE)/src -type f 2>/dev/null) $(CONSOLE)/index.html \
  $(CONSOLE)/vite.config.ts $(CONSOLE)/tsconfig.json
.PHONY: console
console: $(CONSOLE)/dist/index.html

$(CONSOLE)/node_modules/.package-lock.json: $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE)/dist/index.html: $(CONSOLE)/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	cd $(CONSOLE) && npm run --silent build

# The browser suite drives Debian's Chromium (never a downloaded browser build).
CHROMIUM ?= $(shell command -v chromium 2>/dev/null)
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium (apt-get)"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get install -y --no-install-recommends chromium; }

# Playwright (playwright-core, pinned) + axe-core on the local stack: sign in (user and password,
# an API key alone), buckets, data, conflicts, files, versions, sharing, API keys, webhooks and
# deliveries, SFTP users, history; screenshots in .local/console/screens/. Needs .local/env.
.PHONY: browser
browser: console chromium
	@test -f $(LOCAL)/env || { echo "make browser needs the local stack (make local)" >&2; exit 1; }
	. $(LOCAL)/env && cd $(CONSOLE) && SCREENS=$(LOCAL)/console/screens node tests/browser.mjs

# --- tools -----------------------------------------------------------------------

# Each virtualenv has its stamp; `venvs` brings several up to date side by side (pip waits on
# the network much of the time), and pip leaves the byte-compiling to the first import (only
# what is imported gets compiled: a quarter less CPU for the build virtualenv).
venvs = $(MAKE) -j4 $(patsubst %,$(LOCAL)/%.stamp,$(1))

.PHONY: tools
tools:
	@$(call venvs,build stack fuzz)

$(LOCAL)/%.stamp: $(ROOT)/infra/local/requirements-%.txt
	@mkdir -p $(LOCAL)
	test -x $(LOCAL)/$*/bin/python3 || $(HOST_PYTHON) -m venv $(LOCAL)/$*
	$(LOCAL)/$*/bin/python3 -m pip install --quiet --no-compile --disable-pip-version-check -r $<
	@touch $@

# --- build -----------------------------------------------------------------------

# Size of the deployment zip of one bootstrap (deflate, as sam deploy packs it).
export ZIP_SIZE := import io, sys, zipfile; b = io.BytesIO(); z = zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED); z.write(sys.argv[1], "bootstrap"); z.close(); print(len(b.getvalue()))

.PHONY: build
build: $(LOCAL)/build.stamp lambda-artifacts
	@printf '%-12s %12s %12s\n' function bootstrap zip
	@for b in $(FUNCTION_BINS); do f="$(LAMBDA_OUT)/$$b/bootstrap"; \
	  printf '%-12s %12s %12s\n' "$$b" "$$(stat -c %s "$$f")" "$$($(PY) -c "$$ZIP_SIZE" "$$f")"; done

# --- local stack -----------------------------------------------------------------

MINISTACK_PORT ?= 4566
export MINISTACK_PORT
# Extra template parameters for the local stack, e.g. LOCAL_PARAMETERS="LogLevel=debug".
LOCAL_PARAMETERS ?=

# The `buckets` command line (cli/): target/release/buckets.
.PHONY: cli
cli:
	cd $(ROOT) && cargo build --release -p buckets-cli
	@echo "the command line: $${CARGO_TARGET_DIR:-$(ROOT)/target}/release/buckets (buckets --help)"

# Deploys the dev build of the functions (LOCAL_BUILD=release: the release build; LAMBDA_DIR:
# prebuilt ones); `sam build` (run by deploy.py) copies those bootstraps (LAMBDA_DIR), no cargo.
.PHONY: local
local:
	@$(call venvs,build stack)
	$(if $(LAMBDA_DIR),$(MAKE) lambda-artifacts,$(if $(filter release,$(LOCAL_BUILD)),$(MAKE) build,$(MAKE) dev-lambda-build))
	$(ROOT)/infra/local/ministack.sh start
	LAMBDA_DIR=$(LOCAL_LAMBDA_OUT) $(PY) $(ROOT)/infra/local/deploy.py --port $(MINISTACK_PORT) \
	  --lambda-dir $(LOCAL_LAMBDA_OUT) --bins "$(FUNCTION_BINS)" --parameters "$(LOCAL_PARAMETERS)"

.PHONY: stop
stop:
	$(ROOT)/infra/local/ministack.sh stop
	rm -rf $(LOCAL)/env $(LOCAL)/deploy.stamp $(LOCAL)/sam-tmp

.PHONY: status
status:
	@$(ROOT)/infra/local/ministack.sh status

# The functions' own log lines (CloudWatch Logs on the local stack), apart from the emulator's.
FN ?=
SINCE ?= 15m
GREP ?=
FOLLOW ?=
comma := ,
.PHONY: logs
logs: $(LOCAL)/build.stamp
	@$(PY) $(ROOT)/infra/local/logs.py $(addprefix --function ,$(subst $(comma), ,$(FN))) \
	  --since '$(SINCE)' $(if $(GREP),--grep '$(GREP)') $(if $(FOLLOW),--follow)

# By default a sign-in through the local Cognito pool (as people sign in on AWS); HS256=1 mints
# a dev token for any SUB and PRIVILEGES instead (the local stack accepts both).
SUB ?= dev
PRIVILEGES ?=
TTL ?= 3600
HS256 ?=
COGNITO_USER ?=
COGNITO_PASSWORD ?=
ACCESS ?=
given = $(filter command line,$(origin $(1)))
.PHONY: token
token:
ifeq ($(HS256),)
	@$(if $(call given,SUB)$(call given,PRIVILEGES)$(call given,TTL),echo "make token: SUB/PRIVILEGES/TTL mint an HS256 dev token: add HS256=1" >&2; exit 2;)
	@$(HOST_PYTHON) $(ROOT)/infra/local/mint_token.py --cognito $(if $(COGNITO_USER),--user '$(COGNITO_USER)') \
	  $(if $(COGNITO_PASSWORD),--password '$(COGNITO_PASSWORD)') $(if $(ACCESS),--access)
else
	@$(HOST_PYTHON) $(ROOT)/infra/local/mint_token.py --sub '$(SUB)' --privileges '$(PRIVILEGES)' --ttl '$(TTL)'
endif

# --- checks ----------------------------------------------------------------------

.PHONY: lint-template
lint-template: $(LOCAL)/build.stamp
	AWS_DEFAULT_REGION=us-east-1 $(SAM) validate --lint --template $(ROOT)/infra/template.yaml

# The quick loop for a change, no local stack: fmt, the module cycles, the table's layout
# only in its adapter, clippy, the OpenAPI document as committed, the core's unit and route
# tests and the shared rules' (rules/).
.PHONY: check
check: $(LOCAL)/build.stamp
	cargo fmt --all -- --check
	$(HOST_PYTHON) $(ROOT)/infra/checks/module_cycles.py $(ROOT)/shared/src
	$(HOST_PYTHON) $(ROOT)/infra/checks/layout_literals.py $(ROOT)
	$(HOST_PYTHON) $(ROOT)/infra/checks/doc_examples.py --links
	$(PY) $(ROOT)/infra/contract/template_docs.py --check
	cargo clippy $(WORKSPACE) --all-targets -- -D warnings
	$(PY) $(ROOT)/infra/contract/openapi.py $(LOCAL)/openapi.json
	@cmp -s $(LOCAL)/openapi.json $(ROOT)/shared/openapi.json || { echo \
	  "shared/openapi.json is not what infra/contract/openapi.py writes: run it and commit" >&2; exit 1; }
	cargo test -p buckets-shared -p buckets-rules

# Every virtualenv it needs first, side by side; then check. The other unit tests (the
# contract's among them) build with $(WORKSPACE), as the dev functions, the CLI and the
# end-to-end tests do after them: one build of the dependencies for all of those.
.PHONY: test
test:
	@$(call venvs,build stack fuzz webhooks kinto-http)
	$(MAKE) check
	cargo test $(WORKSPACE) --lib --bins
	$(MAKE) lint-template
	$(MAKE) e2e
	$(MAKE) fuzz

# The shell start of a recipe that needs the local stack ($(1) names the target): a stack that
# is already running is reused and left running; else one is started and stopped when the
# recipe ends (pass, fail or interrupt). Then the stack is deployed and .local/env loaded.
on_local_stack = if $(ROOT)/infra/local/ministack.sh status; then \
  echo "$(1): reusing the running local stack (left running)"; \
  else echo "$(1): starting a local stack (stopped at the end)"; trap '$(MAKE) stop' EXIT; fi; \
  $(MAKE) local; . $(LOCAL)/env

# End-to-end tests on the local stack, then a short load check (make load-check) on the same
# stack. A stack that was already running is reused and left running; one started here is
# stopped afterwards (pass, fail or interrupt). The webhook tests start their own receiver
# (infra/local/webhook_receiver.py) with the .local/webhooks virtualenv's Python. The tests are
# three binaries, run one after another (tests/tests/e2e/main.rs says why); the CLI they run is
# target/debug/buckets, built with the workspace's features but without the buckets function,
# whose binary has the same name (its bootstrap was copied by `make local` already).
.PHONY: e2e
e2e:
	@$(call venvs,build stack webhooks kinto-http)
	@$(call on_local_stack,e2e); \
	cargo build $(WORKSPACE) --bins --exclude buckets; \
	cargo test $(WORKSPACE) --test e2e --test cascade --test deployment_settings -- --test-threads=4; \
	$(MAKE) browser; \
	$(MAKE) kinto-history; \
	$(MAKE) docs; \
	$(MAKE) load-check

# Every shell example of README.md and docs/*.md, run as a reader would: each document in order,
# in a clean shell of its own (infra/checks/doc_examples.py says what it holds), on the local
# stack; a failing example fails. DOCS=docs/api.md runs one document. Needs .local/env (the
# examples load it themselves, as the text tells a reader to).
DOCS ?=
.PHONY: docs
docs:
	@test -f $(LOCAL)/env || { echo "make docs needs the local stack (make local)" >&2; exit 1; }
	$(HOST_PYTHON) $(ROOT)/infra/checks/doc_examples.py $(DOCS)

# kinto-http.py (pinned, unmodified) against the local stack's history API: create_bucket,
# patch_bucket, get_history (all, action="create", paged); run by make e2e. Needs .local/env.
.PHONY: kinto-history
kinto-history: $(LOCAL)/kinto-http.stamp
	@test -f $(LOCAL)/env || { echo "make kinto-history needs the local stack (make local)" >&2; exit 1; }
	. $(LOCAL)/env && $(LOCAL)/kinto-http/bin/python3 $(ROOT)/infra/local/kinto_history_check.py

# Schemathesis against the local stack, driven by the OpenAPI document the API serves: every
# operation, authenticated as an admin (a token from mint_token.py), a fixed example budget per
# operation; fails on any 5xx or any answer its schema does not accept. Reuses a running stack
# (left running), else starts one and stops it afterwards, as e2e does. The coverage phase is
# left out: with schemathesis 4.32.5 on CPython 3.11 it crashes while generating array bodies
# ("AST constructor recursion depth mismatch"), a fault of the tool, not of the API.
FUZZ_EXAMPLES ?= 40
FUZZ_SEED ?= 1
.PHONY: fuzz
fuzz: tools
	@$(call on_local_stack,fuzz); \
	token="$$($(HOST_PYTHON) $(ROOT)/infra/local/mint_token.py --sub fuzz --privileges admin --ttl 3600)"; \
	$(LOCAL)/fuzz/bin/schemathesis run "$$BUCKETS_API_URL/v1/__api__" --url "$$BUCKETS_API_URL" \
	  --header "Authorization: Bearer $$token" \
	  --checks not_a_server_error,response_schema_conformance \
	  --max-examples $(FUZZ_EXAMPLES) --seed $(FUZZ_SEED) --workers 2 \
	  --phases examples,fuzzing

# make fuzz-long: the fuzzing of `make fuzz`, once per seed of FUZZ_SEEDS with more examples (a
# 5xx that one seed misses another finds: _since >= _before was found so). Every seed runs, on
# the same stack; the target fails if any failed, and says which.
FUZZ_SEEDS ?= 1 2 3 4 5
FUZZ_LONG_EXAMPLES ?= 150
.PHONY: fuzz-long
fuzz-long: tools
	@$(call on_local_stack,fuzz-long); \
	failed=""; \
	for seed in $(FUZZ_SEEDS); do \
	  echo "fuzz-long: seed $$seed ($(FUZZ_LONG_EXAMPLES) examples per operation)"; \
	  token="$$($(HOST_PYTHON) $(ROOT)/infra/local/mint_token.py --sub fuzz --privileges admin --ttl 14400)"; \
	  $(LOCAL)/fuzz/bin/schemathesis run "$$BUCKETS_API_URL/v1/__api__" --url "$$BUCKETS_API_URL" \
	    --header "Authorization: Bearer $$token" \
	    --checks not_a_server_error,response_schema_conformance \
	    --max-examples $(FUZZ_LONG_EXAMPLES) --seed $$seed --workers 2 \
	    --phases examples,fuzzing || failed="$$failed $$seed"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz-long: failed with seed(s):$$failed"; exit 1; fi; \
	echo "fuzz-long: every seed passed ($(FUZZ_SEEDS))"

# --- benchmarks and operations ----------------------------------------------------

# Every benchmark deploys and measures the release build (LOCAL_BUILD=release: what goes to AWS).
bench bench-cascade bench-transfer load: override LOCAL_BUILD = release

.PHONY: bench
bench: local $(LOCAL)/kinto.stamp
	$(PY) $(ROOT)/infra/local/bench_functions.py --functions "$(FUNCTIONS)" --lambda-dir $(LAMBDA_OUT)

N ?= 5000
# PASS=<seconds>: shorter cascade passes for the run (shows a cascade spanning invocations).
PASS ?=
.PHONY: bench-cascade
bench-cascade: local
	$(PY) $(ROOT)/infra/local/bench_cascade.py --files $(N) $(if $(PASS),--pass-seconds $(PASS))

# make load: N concurrent clients (default 32) run the mixed workload of infra/local/load.py,
# each at most ITERATIONS iterations, none started after DURATION seconds; prints requests/s,
# p50/p99 per operation, errors, and checks that no write was lost. Exit 1 on any error.
# (N defaults to 32 here; bench-cascade's N defaults to 5000.)
LOAD_N = $(if $(filter command line environment,$(origin N)),$(N),32)
ITERATIONS ?= 6
DURATION ?= 120
# make bench-transfer: `buckets store` / `fetch` beside `aws s3 cp --recursive` on the same local
# S3 (1,000 files of 64 KiB, one file of BIG_MIB MiB): wall time, bytes/s, ratio, peak RSS.
BIG_MIB ?= 512
.PHONY: bench-transfer
bench-transfer: local cli $(LOCAL)/awscli.stamp
	@test -x /usr/bin/time || { echo "installing Debian's time (GNU time measures peak RSS)"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get install -y --no-install-recommends time; }
	$(PY) $(ROOT)/infra/local/bench_transfer.py --cli $(ROOT)/target/release/buckets \
	  --aws $(LOCAL)/awscli/bin/aws --big-mib $(BIG_MIB)

.PHONY: load
load: local
	$(HOST_PYTHON) $(ROOT)/infra/local/load.py --clients $(LOAD_N) --iterations $(ITERATIONS) --duration $(DURATION)

# The short run `make e2e` (so `make test`) does on its stack: 4 clients, 3 iterations.
.PHONY: load-check
load-check:
	$(HOST_PYTHON) $(ROOT)/infra/local/load.py --clients 4 --iterations 3 --duration 60

.PHONY: cascade-replay
cascade-replay: tools
	$(PY) $(ROOT)/infra/local/cascade_replay.py

.PHONY: help
help:
	@sed -n 's/^#   \(make .*\)/\1/p' $(firstword $(MAKEFILE_LIST))
