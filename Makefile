# studio-recovery: every entry point. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
BUILD := build
ZIP := $(BUILD)/lambda.zip
TF_RC := $(abspath $(BUILD)/terraform.rc)
TF_DIRS := . $(wildcard modules/*) $(wildcard examples/*)

# Terraform never reaches the network: our own CLI config (filesystem mirror, no checkpoint).
export TF_CLI_CONFIG_FILE := $(TF_RC)
export TF_IN_AUTOMATION := 1
export CHECKPOINT_DISABLE := 1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

PY_DIRS := lambda_src sandbox tests scripts bench
# The agent the space lifecycle configuration runs in Studio apps (stdlib and boto3 only).
SPACE_AGENT := modules/space_backup/agent/space_agent.py
PYTEST := $(VENV)/bin/pytest -q -p no:cacheprovider

# Both distributions, editable: the product (lambda_src: studio_recovery) and the offline
# sandbox (sandbox: studio_sandbox). Their dependencies come pinned from the lock.
# The lock is installed by uv (pinned, itself installed from PyPI into the venv by pip):
# ~15 s instead of ~2 min with pip on 2 cores. Should uv be unavailable, pip installs the
# same lock (set USE_UV=0 to go straight to pip).
UV_VERSION := 0.13.9
USE_UV ?= 1
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
UV := $(VENV)/bin/uv pip install --quiet --python $(PY)
$(VENV)/.installed: requirements/dev.lock lambda_src/pyproject.toml sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	if [ "$(USE_UV)" = 1 ] && $(PIP) uv==$(UV_VERSION) 2>/dev/null \
	  && $(UV) -r requirements/dev.lock; then \
	  $(UV) --no-deps --no-build-isolation -e lambda_src -e sandbox; \
	else \
	  $(PIP) -r requirements/dev.lock; \
	  $(PIP) --no-deps --no-build-isolation -e lambda_src -e sandbox; \
	fi
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## create the virtual environment with pinned dependencies

$(TF_RC): scripts/tf-cli-config.sh
	scripts/tf-cli-config.sh $@

.PHONY: build
build: $(VENV)/.installed ## write the Lambda zip (reproducible) and print its size
	$(PY) scripts/build_lambda_zip.py lambda_src/src $(ZIP)

.PHONY: lint
lint: $(VENV)/.installed ## ruff check, ruff format --check, mypy --strict (product and sandbox)
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)
	cd lambda_src && ../$(VENV)/bin/mypy src/studio_recovery
	cd sandbox && ../$(VENV)/bin/mypy -p studio_sandbox
	$(VENV)/bin/ruff check --config lambda_src/pyproject.toml $(SPACE_AGENT)
	$(VENV)/bin/ruff format --check $(SPACE_AGENT)
	cd lambda_src && ../$(VENV)/bin/mypy --strict ../$(SPACE_AGENT)

.PHONY: fmt
fmt: $(VENV)/.installed $(TF_RC) ## format Python and Terraform sources
	$(VENV)/bin/ruff check --fix $(PY_DIRS)
	$(VENV)/bin/ruff format $(PY_DIRS)
	terraform fmt -recursive

# Terraform processes run side by side: each mostly starts the provider and reads its
# schema, one core each (tf-check: one directory per process; tf-test: the test files in
# TF_JOBS groups, scripts/tf-test-parallel.sh).
TF_JOBS ?= 2

.PHONY: tf-check
tf-check: $(TF_RC) build ## terraform fmt -check, init and validate every root, submodule and example
	terraform fmt -check -recursive
	printf '%s\n' $(TF_DIRS) | xargs -P $(TF_JOBS) -n 1 scripts/tf-validate.sh

.PHONY: tf-test
tf-test: $(TF_RC) build ## terraform native tests (mocked provider, plan only)
	terraform init -backend=false -input=false -no-color > $(BUILD)/tf-init.log 2>&1 || { cat $(BUILD)/tf-init.log; exit 1; }
	scripts/tf-test-parallel.sh $(TF_JOBS)

$(CHECKOV_VENV)/.installed: requirements/checkov.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.lock
	touch $@

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed ## checkov over the module and examples, offline
	$(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact --framework terraform \
	  --config-file .checkov.yaml -d .

.PHONY: test-unit
test-unit: $(VENV)/.installed build ## pytest tests/unit: the logic, no AWS
	$(PYTEST) tests/unit

.PHONY: test-integration
test-integration: $(VENV)/.installed build $(TF_RC) ## pytest tests/integration: handlers, CLI and DAL on moto
	$(PYTEST) tests/integration

.PHONY: test-sandbox
test-sandbox: $(VENV)/.installed build $(TF_RC) ## pytest sandbox/tests: the sandbox's own suite
	$(PYTEST) sandbox/tests

# The 30 slowest setups and tests are listed at the end: where the suite's time goes.
DURATIONS := --durations=30

# Two workers, one per installation: the e2e package's tests share one applied sandbox in
# one worker; the upgrade test and the reliability scenarios apply their own installations
# in the other (tests/e2e/conftest.py and tests/reliability/conftest.py mark the groups).
E2E_WORKERS := -n 2 --dist loadgroup

.PHONY: test-e2e
test-e2e: $(VENV)/.installed build $(TF_RC) ## pytest tests/e2e and tests/reliability: the real module on the sandbox
	$(PYTEST) $(E2E_WORKERS) $(DURATIONS) tests/e2e tests/reliability

.PHONY: test-units
test-units: $(VENV)/.installed build $(TF_RC) ## pytest: unit, integration and sandbox suites (2 workers)
	$(PYTEST) -n 2 $(DURATIONS) tests/unit tests/integration sandbox/tests

.PHONY: test-py
test-py: test-units test-e2e ## pytest: every suite (test-units, then test-e2e)

# What CI runs, in two lanes at once: the end-to-end lane mostly waits (the provider's fixed
# waits during each apply, the workflows' Wait states), the other one keeps both cores busy
# (lint, terraform, checkov, then the unit suites one after another: `-j1`). Each target's
# output is printed whole when it ends (the e2e lane's at its end). docs/performance.md,
# section "make test", has the timings of each phase.
.PHONY: test
test: $(VENV)/.installed build $(TF_RC) ## everything CI runs
	$(MAKE) --no-print-directory -j2 --output-sync=target test-e2e test-checks

.PHONY: test-checks
test-checks: $(VENV)/.installed build $(TF_RC)
	$(MAKE) --no-print-directory -j1 lint tf-check tf-test checkov test-units

.PHONY: bench
bench: $(VENV)/.installed build $(TF_RC) ## benchmarks on the sandbox (~10 min on 2 cores): one table, bench/results.json
	$(PY) -m bench.run --zip $(ZIP)

.PHONY: load
load: $(VENV)/.installed build $(TF_RC) ## 300 recreations at once against the task quota, and a restore of a 1 GB home
	RUN_SLOW=1 $(VENV)/bin/pytest -q -s -p no:cacheprovider tests/e2e/test_restore_load.py

RELIABILITY_LOAD ?= 1000
.PHONY: reliability
reliability: $(VENV)/.installed build $(TF_RC) ## fault injection, load and invariants: one table row per scenario
	$(PY) -m studio_sandbox.harness.reliability --full --load $(RELIABILITY_LOAD) --zip $(ZIP) \
	  --examples-dir examples --json $(BUILD)/reliability.json

.PHONY: demo
demo: $(VENV)/.installed build $(TF_RC) ## the offline sandbox: apply the module, delete and recreate profiles, watch files come back
	$(PY) -m studio_sandbox.harness.demo --zip $(ZIP) --examples-dir examples

.PHONY: pr
pr: fmt test ## format, then everything CI runs

.PHONY: clean
clean: ## remove build outputs, virtual environments and Terraform caches
	rm -rf $(BUILD) $(VENV) $(CHECKOV_VENV) .sandbox .pytest_cache .mypy_cache .ruff_cache
	find . -name .terraform -type d -prune -exec rm -rf {} +
