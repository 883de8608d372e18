"""Shared fixtures: whole-program runs (once per stack per session) and the chart schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airflow_eks.offline import harness
from tests import charts


@pytest.fixture(scope="session")
def programs() -> dict[str, harness.Run]:
    """The real __main__.py run once per stack file; tests only read the recording."""
    return {stack: harness.run_program(stack) for stack in ("dev", "prod")}


# A digest as the image workflow's pull request sets it (airflowImageDigest).
IMAGE_DIGEST = "sha256:" + "4f" * 32


@pytest.fixture(scope="session")
def prod_pinned() -> harness.Run:
    """prod after the image workflow's first pull request: Airflow by digest from its registry."""
    return harness.run_program("prod", overrides={"airflowImageDigest": IMAGE_DIGEST})


@pytest.fixture(params=["dev", "prod"])
def program(request, programs) -> harness.Run:
    return programs[request.param]


def _chart_file(name: str) -> Path:
    """A file of the pinned Airflow chart; CI fails (never skips) without it."""
    path = charts.airflow_chart_dir() / name
    if not path.is_file():
        charts.unavailable(f"Airflow chart {name} not found at {path}; set AIRFLOW_CHART_DIR "
                           "(see docs/getting-started.md)")
    return path


@pytest.fixture(scope="session")
def chart_schema() -> dict:
    """values.schema.json of the pinned Airflow chart."""
    return json.loads(_chart_file("values.schema.json").read_text())


@pytest.fixture(scope="session")
def chart_values() -> dict:
    """values.yaml (the defaults) of the pinned Airflow chart."""
    return yaml.safe_load(_chart_file("values.yaml").read_text())
