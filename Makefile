# The commands of the README and docs/. No AWS account, Pulumi CLI or helm needed; everything runs
# offline but `make charts` (which downloads the pinned charts) and the Debian package installs.
# The pins are tested on CPython 3.11 (the CI workflows' version); prefer it where installed.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
PYTHON_CHECK = import sys; sys.exit(None if sys.version_info >= (3, 11) else \
	"Python 3.11 or newer is required (found %s); set PYTHON=/path/to/python3.11" % sys.version.split()[0])
VENV   ?= venv
PY      = $(VENV)/bin/python
STACK  ?= dev
# The tests render the upstream charts from build/charts (`make charts`), else from ../shared;
# AIRFLOW_CHART_DIR and CHARTS_DIR, where set, win (tests/charts.py, docs/getting-started.md).

# Bare `make` lists the targets: each target's `## ` comment is its line.
.DEFAULT_GOAL := help
.PHONY: help
help: ## list the targets (the default)
	@echo "make <target> [STACK=dev|prod] [PLAN_ARGS=...]; the docs: docs/development.md"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:[^#]*## / {printf "  %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install test lint unit

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c '$(PYTHON_CHECK)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Tools whose pinned dependencies fight the program's get a virtualenv each, <dir>/venv from
# <dir>/requirements.txt. The policy pack (policy/PulumiPolicy.yaml): pulumi-policy pins
# protobuf 5, the program's SDKs protobuf 6; the tests use it to load the pack for real.
# checkov (scan/), the tests' manifest scanner, pins boto3, networkx and an older jsonschema.
POLICY_VENV = policy/venv
SCAN_VENV = scan/venv

%/venv/.installed: %/requirements.txt
	@$(PYTHON) -c '$(PYTHON_CHECK)'
	$(PYTHON) -m venv $*/venv
	$*/venv/bin/python -m pip install --quiet -r $<
	touch $@

install: $(VENV)/.installed $(POLICY_VENV)/.installed $(SCAN_VENV)/.installed ## create venv/ (runtime, test tools), policy/venv and scan/venv

lint: install ## ruff over the whole tree
	$(PY) -m ruff check .

# The suite spreads over the machine's cores (pytest-xdist): on CI's two it stays under a minute.
PYTEST_WORKERS ?= auto
unit: install ## the offline test suite only, on PYTEST_WORKERS processes (default: one per core)
	$(PY) -m pytest -q --tb=short -n $(PYTEST_WORKERS)

test: lint unit ## lint + the whole offline suite (what CI runs)

# The documentation site (mkdocs.yml, docs/): strict, so a broken link or anchor, a missing
# page or README snippet fails. NO_MKDOCS_2_WARNING silences mkdocs-material's banner about
# MkDocs 2.0, which is not a warning about this site.
.PHONY: docs
docs: install ## build the docs site with --strict into build/site (git-ignored)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The pinned charts the tests render, verified by sha256, into build/charts (tools/charts.py).
# CHARTS_ARGS passes options through, e.g. CHARTS_ARGS="--repo airflow=https://mirror.example/airflow".
.PHONY: charts
charts: install ## fetch the pinned upstream charts the tests render into build/charts (sha256-verified)
	$(PY) -m tools.charts $(CHARTS_ARGS)

# promtool and amtool check the alert rules and the alert manager definition for real
# (tests/test_alert_rules.py); those tests skip where they are missing, unless
# PROMETHEUS_TOOLS_REQUIRED is set, as .ci/run does after this target.
.PHONY: test-packages
test-packages: ## promtool and amtool from Debian, when missing (root)
	@./tools/install-debian-packages prometheus=promtool prometheus-alertmanager=amtool

.PHONY: policy-test
policy-test: install ## the policy pack's and the CI workflows' tests only
	$(PY) -m pytest -q --tb=short tests/test_policy_rules.py tests/test_policy_program.py tests/test_policy_pack.py tests/test_workflows.py

.PHONY: plan golden cost-curve

# PLAN_ARGS passes options through, e.g. PLAN_ARGS="--busy-hours 12" or "--json", or a workload:
# PLAN_ARGS="--task-hours 500 --concurrency 10" adds its cost here and on MWAA, MWAA Serverless
# and Cloud Composer 3.
plan: install ## offline plan of STACK (default dev): resource tree, outputs, monthly cost, deploy time
	$(PY) -m tools.plan $(STACK) $(PLAN_ARGS)

# The comparison over a range of task-hours at one concurrency, and where the options cross.
CONCURRENCY ?= 10
cost-curve: install ## monthly cost here and on MWAA, MWAA Serverless, Composer 3 by task-hours (CONCURRENCY=10)
	$(PY) -m tools.plan $(STACK) --cost-curve --concurrency $(CONCURRENCY) $(PLAN_ARGS)

golden: install ## regenerate tests/golden/plan-{dev,prod}.json and the plan sample in docs/plan.md
	$(PY) -m tools.plan --write-golden

# ---- Runtime tier (make test-runtime): the generated configuration run by the real Airflow,
# PostgreSQL and PgBouncer on 127.0.0.1 (docs/development.md, Runtime tier). Separate from `make test`.
RUNTIME_DIR      ?= build/runtime
AIRFLOW_VENV      = $(RUNTIME_DIR)/venv-airflow
# The release deployed stacks ran before the default moved: the upgrade test starts there
# (runtime/requirements-airflow-$(UPGRADE_FROM).txt and its constraints file).
UPGRADE_FROM      = $(patsubst runtime/constraints-airflow-%.txt,%,$(wildcard runtime/constraints-airflow-*.txt))
OLD_AIRFLOW_VENV  = $(RUNTIME_DIR)/venv-airflow-$(UPGRADE_FROM)
TOOLS_VENV        = $(RUNTIME_DIR)/venv-tools
RUNTIME_JUNIT    ?= build/runtime-junit.xml
export AIRFLOW_VENV OLD_AIRFLOW_VENV TOOLS_VENV

# The default's venv; the version comes from the constraints file's apache-airflow pin.
$(AIRFLOW_VENV)/.installed: runtime/requirements-airflow.txt runtime/constraints-airflow.txt
	@$(PYTHON) -c '$(PYTHON_CHECK)'
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r runtime/requirements-airflow.txt -c runtime/constraints-airflow.txt
	touch $@

$(OLD_AIRFLOW_VENV)/.installed: runtime/requirements-airflow-$(UPGRADE_FROM).txt runtime/constraints-airflow-$(UPGRADE_FROM).txt
	@$(PYTHON) -c '$(PYTHON_CHECK)'
	$(PYTHON) -m venv $(OLD_AIRFLOW_VENV)
	$(OLD_AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OLD_AIRFLOW_VENV)/bin/python -m pip install --quiet -r runtime/requirements-airflow-$(UPGRADE_FROM).txt \
		-c runtime/constraints-airflow-$(UPGRADE_FROM).txt
	touch $@

$(TOOLS_VENV)/.installed: runtime/requirements-tools.txt
	@$(PYTHON) -c '$(PYTHON_CHECK)'
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet -r runtime/requirements-tools.txt
	touch $@

.PHONY: runtime-packages runtime-install test-runtime

runtime-packages: ## PostgreSQL server, PgBouncer and Prometheus from Debian, when missing
	@./tools/install-debian-packages postgresql='/usr/lib/postgresql/*/bin/initdb' pgbouncer=pgbouncer prometheus=prometheus

runtime-install: install runtime-packages $(AIRFLOW_VENV)/.installed $(OLD_AIRFLOW_VENV)/.installed $(TOOLS_VENV)/.installed ## everything make test-runtime needs

test-runtime: runtime-install ## the runtime tier: real Airflow (the default, and 3.1.8 for the upgrade), PostgreSQL, PgBouncer, moto, OIDC provider
	@mkdir -p $(dir $(RUNTIME_JUNIT))
	$(PY) -m pytest runtime/tests -p no:cacheprovider -q --tb=short -rs -o junit_family=xunit1 --junitxml=$(RUNTIME_JUNIT)

# The StatsD names the pinned Airflow sends (tests/data/airflow-statsd-metrics.txt) come from the
# runtime tier's capture: after an Airflow version change, run the tier, then regenerate the list
# (the tier's metrics tests fail until the list names the installed version).
.PHONY: airflow-metrics
airflow-metrics: runtime-install ## regenerate tests/data/airflow-statsd-metrics.txt from a runtime-tier run
	-$(PY) -m pytest runtime/tests -p no:cacheprovider -q --tb=line
	$(PY) -m tests.metric_list --write
