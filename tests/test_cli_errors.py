"""Errors a user can cause with the documented commands print one `error:` line (or a short
block), no traceback, and exit non-zero; `--debug` brings the traceback back.

Each case runs `python -m tools.plan` in a subprocess, as `make plan` does, in a copy of the
project (so broken stack files never touch the checkout).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_eks import formats
from airflow_eks.offline import loader

PRODUCT = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "__main__.py", "airflow_eks", "components", "tools",
           "policy/rules")  # the plan reads the policy pack's placeholder rule


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in PRODUCT:
        source = loader.ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    dev = (root / "Pulumi.dev.yaml").read_text()
    key = "airflow-eks:spotNodeMaxSize:"
    assert f"{key} 2" in dev
    (root / "Pulumi.typo.yaml").write_text(dev.replace(key, "airflow-eks:spotNodeMaxSise:"))
    (root / "Pulumi.invalid.yaml").write_text(dev.replace(f"{key} 2", f"{key} 0"))
    (root / "Pulumi.noregion.yaml").write_text(dev + "  aws:region: mars-north-1\n")
    (root / "not-a-plan.json").write_text('{"hello": "world"}\n')
    (root / "Pulumi.broken.yaml").write_text("config:\n  airflow-eks:natGateways: [single\n")
    (root / "Pulumi.flat.yaml").write_text("config: single\n")
    return root


def plan(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.plan", *args], cwd=project, capture_output=True,
                          text=True, timeout=120)


def one_clean_error(result: subprocess.CompletedProcess, *, lines: int = 1) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) <= lines, result.stderr
    return result.stderr


def test_unknown_stack_lists_the_stacks_that_exist(project):
    err = one_clean_error(plan(project, "staging"))
    assert "unknown stack 'staging'" in err and "no Pulumi.staging.yaml" in err
    assert "broken, dev, flat, invalid, noregion, prod, typo" in err


def test_a_mistyped_key_names_the_declared_one(project):
    err = one_clean_error(plan(project, "typo"), lines=3)
    assert "airflow-eks:spotNodeMaxSise: did you mean spotNodeMaxSize?" in err


def test_an_invalid_value_prints_the_programs_one_line(project):
    err = one_clean_error(plan(project, "invalid"))
    assert err.strip() == ("error: Invalid configuration airflow-eks:spotNodeMaxSize = 0: "
                           "expected an integer from 1 to 100.")


def test_an_invalid_region_names_the_aws_key(project):
    err = one_clean_error(plan(project, "noregion"))
    assert "aws:region" in err and "mars-north-1" in err


def test_a_stack_file_that_is_not_yaml_names_the_file_and_the_place(project):
    err = one_clean_error(plan(project, "broken"))
    assert err.startswith("error: Pulumi.broken.yaml is not valid YAML (line 2, column 28: ")
    assert "unexpected" not in err


def test_a_stack_file_whose_config_is_not_a_map_says_so(project):
    err = one_clean_error(plan(project, "flat"))
    assert err.strip() == ("error: Pulumi.flat.yaml: `config` must be a map of keys to values "
                           "(e.g. `airflow-eks:natGateways: single`), not 'single'")


def test_a_missing_diff_base_is_named_before_any_work(project):
    err = one_clean_error(plan(project, "dev", "--diff", "base.json"))
    assert err.strip() == "error: cannot read base plan base.json: No such file or directory"


def test_a_file_that_is_not_a_plan_is_refused(project):
    err = one_clean_error(plan(project, "not-a-plan.json"))
    assert "not-a-plan.json is not a plan saved with" in err


def refusal(value: str, kind: str) -> str:
    """What the program's own quantity check says about `value` (the config keys say the same)."""
    with pytest.raises(ValueError) as caught:
        formats.quantity(value, kind=kind)
    return str(caught.value)


@pytest.mark.parametrize(("args", "message"), [
    (["--task-hours", "-5", "--concurrency", "3"], "--task-hours -5: expected task-hours per month, 0 or more"),
    (["--task-hours", "lots", "--concurrency", "3"], "--task-hours 'lots': expected a number"),
    (["--task-hours", "inf", "--concurrency", "3"], "--task-hours inf: expected task-hours per month, 0 or more"),
    (["--task-hours", "10", "--concurrency", "2.5"], "--concurrency '2.5': expected a whole number"),
    (["--task-hours", "10", "--concurrency", "0"],
     "--concurrency 0: expected the peak number of tasks running at once, 1 or more"),
    (["--task-hours", "5000", "--concurrency", "3"],
     "--task-hours 5000 is more than --concurrency 3 can run in a month (3 x 730 h = 2190 task-hours)"),
    (["--task-hours", "10", "--concurrency", "3", "--task-cpu", "two"],
     f"--task-cpu 'two': expected {refusal('two', 'cpu')}"),
    (["--task-hours", "10", "--concurrency", "3", "--task-memory", "512m"],
     f"--task-memory '512m': expected {refusal('512m', 'memory')}"),
    (["--task-hours", "10", "--concurrency", "3", "--task-minutes", "0"],
     "--task-minutes 0: expected the average task run time in minutes, above 0"),
    (["--task-hours", "10", "--concurrency", "3", "--needs", "gui"],
     "--needs 'gui': expected a comma-separated list of ui, python-dags, or none"),
    (["--task-hours", "10"], "a workload needs --concurrency (the peak number of tasks running at once)"),
    (["--concurrency", "3"], "a workload needs --task-hours (task-hours per month)"),
    (["--cost-curve"], "a workload needs --concurrency (the peak number of tasks running at once)"),
    (["--needs", "none"], "--needs applies to a workload: add --task-hours and --concurrency"),
    (["--task-hours", "10", "--concurrency", "3", "--diff", "base.json"],
     "cannot read base plan base.json: No such file or directory"),
])
def test_a_bad_workload_is_one_line_before_any_work(project, args, message):
    err = one_clean_error(plan(project, "dev", *args))
    assert err.strip() == f"error: {message}"


def test_a_workload_with_a_diff_is_refused(project):
    golden = loader.ROOT / "tests" / "golden" / "plan-dev.json"
    err = one_clean_error(plan(project, str(golden), "--diff", str(golden), "--task-hours", "1", "--concurrency", "1"))
    assert err.strip() == "error: --diff compares two plans: leave out the workload options"


def test_debug_shows_the_traceback(project):
    result = plan(project, "staging", "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "UnknownStackError" in result.stderr


def test_no_product_module_imports_the_tests():
    """`make plan` is a user-facing command: product code stands on its own (airflow_eks/offline)."""
    product = [loader.ROOT / "__main__.py"] + [p for d in ("airflow_eks", "components", "tools", "policy/rules")
                                              for p in (loader.ROOT / d).rglob("*.py")]
    offenders = [str(p.relative_to(loader.ROOT)) for p in product
                 if re.search(r"^\s*(from|import)\s+tests\b", p.read_text(), re.MULTILINE)]
    assert len(product) > 20 and offenders == []
