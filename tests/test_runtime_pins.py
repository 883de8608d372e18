"""The runtime tier runs the default airflowVersion: the constraints files' apache-airflow pins
(the only place the runtime tier's versions are written) against Pulumi.yaml and the calendar."""

from __future__ import annotations

import re
from pathlib import Path

from airflow_eks.offline import loader
from airflow_eks.support import airflow_calendar

RUNTIME = Path(__file__).resolve().parents[1] / "runtime"
DEFAULT = loader.project_file()["config"]["airflowVersion"]["default"]


def pinned(path: Path) -> str:
    [version] = re.findall(r"^apache-airflow==(\S+)$", path.read_text(), re.MULTILINE)
    return version


def test_the_runtime_tier_pins_the_default_airflow_and_the_requirements_do_not():
    assert pinned(RUNTIME / "constraints-airflow.txt") == DEFAULT
    # Its header says which release the resolution was cut off at.
    assert f"cut off at\n# the {DEFAULT} release" in (RUNTIME / "constraints-airflow.txt").read_text()
    for requirements in RUNTIME.glob("requirements-airflow*.txt"):
        assert "==" not in "".join(line for line in requirements.read_text().splitlines() if not line.startswith("#"))


def test_the_upgrade_starts_from_one_older_release_named_by_its_constraints_file():
    [old] = RUNTIME.glob("constraints-airflow-*.txt")
    version = old.name.removeprefix("constraints-airflow-").removesuffix(".txt")
    assert pinned(old) == version
    assert (RUNTIME / f"requirements-airflow-{version}.txt").exists()
    assert version in airflow_calendar.RELEASES and version != DEFAULT
