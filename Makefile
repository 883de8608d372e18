# The README's commands. Everything runs offline: no AWS account, Pulumi CLI or helm needed.
PYTHON ?= python3
VENV   ?= venv
PY      = $(VENV)/bin/python
STACK  ?= dev
# Tests validate Helm values against this chart's values.schema.json (see README).
AIRFLOW_CHART_DIR ?= ../shared/airflow-chart
export AIRFLOW_CHART_DIR

.PHONY: install test lint unit

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## create venv/ with the pinned runtime and test tools

lint: install ## ruff over the whole tree
	$(PY) -m ruff check .

unit: install ## the offline test suite only
	$(PY) -m pytest -q --tb=short

test: lint unit ## lint + the whole offline suite (what CI runs)
