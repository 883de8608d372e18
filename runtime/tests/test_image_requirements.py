"""image/requirements.txt resolves against the Airflow the program deploys, and a DAG
that imports one of its packages parses and runs.

The requirements are installed the way image/Dockerfile installs them (Airflow pinned to its
own version, under constraints: the tier's, runtime/constraints-airflow.txt, standing in for the
image's ${HOME}/constraints.txt), into a virtualenv layered over the tier's Airflow: a `.pth`
file puts the tier's site-packages behind its own, so only what the requirements add is
installed (seconds, from the pip cache) and the tier's virtualenv stays as it was (checked).
Then `airflow dags test` runs the DAG in that environment against the migrated metadata
database, through PgBouncer.

Changes (airflow_env.CHANGES): pgbouncer-address, rds-address, pgbouncer-listen, dags-folder,
and image-requirements.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from airflow_eks.offline import loader

from . import services
from .conftest import write_dags

ROOT = services.ROOT
REQUIREMENTS = ROOT / "image" / "requirements.txt"
CONSTRAINTS = ROOT / "runtime" / "constraints-airflow.txt"
DAG = "image_requirements"
MARKER = "image-requirements-marker-5c1e"  # printed by dags/image_requirements.py
TIER_PYTHON = services.AIRFLOW_VENV / "bin" / "python"
DEFAULT_AIRFLOW = loader.project_file()["config"]["airflowVersion"]["default"]


def python_info(python: Path, code: str) -> str:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()


def freeze(python: Path) -> str:
    return subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                          timeout=120, check=True).stdout


@pytest.fixture(scope="module")
def overlay(tmp_path_factory) -> Path:
    """A virtualenv over the tier's Airflow with image/requirements.txt installed; its python."""
    venv = tmp_path_factory.mktemp("image-venv") / "venv"
    before = freeze(TIER_PYTHON)
    subprocess.run([str(TIER_PYTHON), "-m", "venv", str(venv)], check=True, timeout=120)
    site = python_info(venv / "bin" / "python", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    tier_site = python_info(TIER_PYTHON, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(site) / "runtime_tier_airflow.pth").write_text(tier_site + "\n")
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"apache-airflow=={DEFAULT_AIRFLOW}", "-r", str(REQUIREMENTS), "--constraint", str(CONSTRAINTS)],
        capture_output=True, text=True, timeout=600, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    assert freeze(TIER_PYTHON) == before, "installing the image's requirements changed the tier's virtualenv"
    return venv / "bin" / "python"


def test_the_tier_runs_the_airflow_the_program_deploys():
    assert python_info(TIER_PYTHON, "import airflow; print(airflow.__version__)") == DEFAULT_AIRFLOW


def test_the_requirements_are_what_the_tiers_airflow_lacks():
    """The control: without the image's requirements the DAG's imports fail."""
    result = subprocess.run([str(TIER_PYTHON), "-c", "import slack_sdk, airflow.providers.slack"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_a_dag_importing_a_requirement_parses_and_runs(overlay, migrated, tmp_path):
    home, env, result = migrated
    assert result.returncode == 0, "migration failed (see test_database)"
    dags = write_dags(tmp_path / "dags", f"{DAG}.py")
    run_env = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
               # CHANGES image-requirements: no S3 here for the task log.
               "AIRFLOW__LOGGING__REMOTE_LOGGING": "False"}
    airflow = [str(overlay), "-m", "airflow"]
    # `dags test` parses the DAG file first: an import error exits 1 ("could not be found; either
    # it does not exist or it failed to parse"), as the tier's Airflow without the layer does.
    run = subprocess.run([*airflow, "dags", "test", DAG], env=run_env, capture_output=True, text=True,
                         timeout=600, cwd=env["AIRFLOW_HOME"], check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert f"{MARKER}: built with SlackWebhookHook" in output, output[-3000:]
    states = subprocess.run([*airflow, "dags", "list-runs", DAG, "-o", "yaml"], env=run_env, capture_output=True,
                            text=True, timeout=300, cwd=env["AIRFLOW_HOME"], check=False)
    # Airflow 3.3 prints warnings to stdout ahead of the YAML: read from its first list item.
    lines = states.stdout.splitlines()
    listing = "\n".join(lines[next((i for i, line in enumerate(lines) if line.startswith("- ")), 0):])
    assert [r["state"] for r in yaml.safe_load(listing)] == ["success"], states.stdout + states.stderr
