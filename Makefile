# Switchyard: the project's vocabulary. `make run` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install browser run reset test clear-times lint types unit integration infra e2e console fuzz bench synth deploy clean

$(STAMP): pyproject.toml
	@t0=$$EPOCHREALTIME; set -e; \
	test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	echo "Installing into $(VENV) (first time: a few minutes)..."; \
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip; \
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[local,cdk,dev]"; \
	rm -f $(VENV)/.installed-*; touch $(STAMP); \
	awk "BEGIN{printf \"%.0f\", $$EPOCHREALTIME-$$t0}" > $(VENV)/.install-seconds

install: $(STAMP) ## Create the virtual environment and install everything

run: install ## Start the local runtime on 127.0.0.1:$${SWITCHYARD_PORT:-8000} with the demo tenant (state kept in .switchyard/)
	$(PY) -m switchyard.local

reset: install ## Forget the local runtime's kept state (.switchyard/, or $$SWITCHYARD_STATE_DIR): the next `make run` starts from scratch
	$(PY) -m switchyard.local --reset

# Each tier prints its wall time as it ends, and `make test` prints them all at the end.
TIMES := test-artifacts/tier-times.txt
timed = @mkdir -p test-artifacts; t0=$$EPOCHREALTIME; $(2); rc=$$?; \
	line=$$(printf '%-12s %7.1f s  %s' "$(1)" "$$(awk "BEGIN{print $$EPOCHREALTIME-$$t0}")" \
	  "$$([ $$rc -eq 0 ] && echo ok || echo FAILED)"); echo "$$line"; echo "$$line" >> $(TIMES); exit $$rc

# Every tier at once (`--output-sync`: each tier's output stays together, printed as it ends), the
# longest first. The integration, end-to-end, console and fuzz tiers mostly wait (on state
# machines, a runtime starting, a browser), so one after another they left the two cores half
# idle: measured on the 2-core machine, the tiers used 660 CPU-s in 12.5 minutes. A failing tier
# fails `make test` once the others have ended. TEST_JOBS=1 runs the tiers one after another.
TEST_JOBS ?= 8
test: clear-times install ## Everything CI runs
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target integration console e2e fuzz infra types unit lint
	@echo "--- make test: wall time per tier (install: $$(cat $(VENV)/.install-seconds 2>/dev/null || echo 0) s)"
	@cat $(TIMES)
	@awk '{s+=$$2} END{printf "%-12s %7.1f s  (tiers added up)\n", "total", s}' $(TIMES)
	@awk "BEGIN{printf \"%-12s %7.1f s  (make test, from start to end)\\n\", \"wall\", $$EPOCHREALTIME-$$(cat test-artifacts/test-started)}"

clear-times:
	@mkdir -p test-artifacts; rm -f $(TIMES); echo $$EPOCHREALTIME > test-artifacts/test-started

lint: install
	$(call timed,lint,$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports)

types: install
	$(call timed,types,$(VENV)/bin/mypy)

unit: install
	$(call timed,unit,$(PY) -m pytest tests/unit -q)

# The integration and console tests mostly wait on state machines, so they run in parallel
# processes (each with its own emulated AWS): TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
# the longest tier: a third worker keeps both cores busy while the other tiers wait
INTEGRATION_WORKERS ?= 3

integration: install
	$(call timed,integration,$(PY) -m pytest tests/integration -q -n $(INTEGRATION_WORKERS))

infra: install
	$(call timed,infra,$(PY) -m pytest tests/infra -q)

e2e: install
	$(call timed,e2e,$(PY) -m pytest tests/e2e -q -n $(TEST_WORKERS) --durations=5)

# The console tests drive Debian's Chromium with Playwright (pinned in the dev extras; Playwright's
# own browser downloads are never used). Installed here when missing; CI runs as root.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

console: install browser ## The web console in headless Chromium (screenshots in test-artifacts/console/)
	$(call timed,console,$(PY) -m pytest tests/console -q -n $(TEST_WORKERS))

# schemathesis, every check, over GET /openapi.json against the local runtime (tests/fuzz/run.py,
# settings in tests/fuzz/schemathesis.toml). `make test` gives it FUZZ_SECONDS; the nightly run
# gives it more (docs/operations.md, "Fuzzing the API").
FUZZ_SECONDS ?= 45
FUZZ_EXAMPLES ?= 5
fuzz: install ## schemathesis --checks all against the local runtime, within FUZZ_SECONDS
	$(call timed,fuzz,$(PY) tests/fuzz/run.py --max-time $(FUZZ_SECONDS) --max-examples $(FUZZ_EXAMPLES))

bench: install
	$(PY) bench/courier_group.py
	$(PY) bench/mixed_workflows.py --n 100

synth: install ## Synthesize the CloudFormation template into cdk.out (bundles the dependency layer with pip)
	CDK_OUTDIR=cdk.out $(PY) app.py

deploy: install ## cdk deploy (needs AWS credentials); installs the CDK CLI from npm into node_modules
	npm ci --no-audit --no-fund
	npx cdk deploy --require-approval broadening

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache test-artifacts
