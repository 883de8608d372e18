"""Shared fixtures: whole-program runs (once per stack per session) and the chart schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings

from airflow_eks.offline import harness
from tests import charts

# Property tests are judged on their examples, not their speed: on a loaded CI machine (or one
# core of several pytest-xdist workers) an example can take longer than Hypothesis' 200 ms
# deadline, which failed test_subnets there although every example held.
settings.register_profile("airflow-eks", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("airflow-eks")

# Skips that a make target would have prevented, counted at the end of the run with that target
# (a skip's reason names it). In CI these fail instead (charts.unavailable).
REMEDIES = (
    (charts.FETCH_HINT, "chart test", "`make charts` fetches the pinned charts (docs/getting-started.md)"),
    ("`make test-packages`", "alert-rule test", "`make test-packages` installs promtool and amtool"),
)


def pytest_terminal_summary(terminalreporter) -> None:
    reasons = [str(r.longrepr[2] if isinstance(r.longrepr, tuple) else r.longrepr)
               for r in terminalreporter.stats.get("skipped", [])]
    for needle, what, remedy in REMEDIES:
        count = sum(needle in reason for reason in reasons)
        if count:
            terminalreporter.write_line(f"NOTICE: {count} {what}{'s' if count > 1 else ''} did not run: {remedy}.",
                                        yellow=True, bold=True)


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
        charts.unavailable(f"Airflow chart {name} not found at {path}; {charts.FETCH_HINT} "
                           "(or set AIRFLOW_CHART_DIR)")
    return path


@pytest.fixture(scope="session")
def chart_schema() -> dict:
    """values.schema.json of the pinned Airflow chart."""
    return json.loads(_chart_file("values.schema.json").read_text())


@pytest.fixture(scope="session")
def chart_values() -> dict:
    """values.yaml (the defaults) of the pinned Airflow chart."""
    return yaml.safe_load(_chart_file("values.yaml").read_text())
