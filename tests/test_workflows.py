"""The GitHub Actions workflows: linted offline (actionlint, zizmor) and checked structurally.

actionlint: syntax, expressions, job/step schema and shellcheck over every `run:` script.
zizmor, `--offline --persona=pedantic`: every security audit that needs no network, plus its
code-smell findings; it must report nothing. (`auditor` is meant for manual audits and
accepts false positives: its only extra finding here is secrets outside an environment in
preview.yml, which by design runs without one so the preview role trusts `pull_request`.)
.github/zizmor.yml disables one audit, with the reason.

The structural tests pin down what the linters cannot know: who may deploy what, when.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_eks import load_balancer_controller, versions

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
PULUMI_ACTION = "pulumi/actions"
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(?:\.\d+){0,2}\s*$")


def tool(name: str) -> str:
    """A linter from the venv running the tests (requirements-dev.txt), else from PATH."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run `make install` (requirements-dev.txt pins it)")
    return found


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def workflow(name: str) -> dict[str, Any]:
    return load(GITHUB / "workflows" / f"{name}.yml")


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, job_id, job) for path in WORKFLOWS for job_id, job in load(path)["jobs"].items()]


def local_action(uses: str) -> dict[str, Any] | None:
    if not uses.startswith("./"):
        return None
    return load(ROOT / uses / "action.yml")


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A job's steps with local composite actions expanded in place."""
    expanded = []
    for step in job.get("steps", []):
        expanded.append(step)
        action = local_action(step.get("uses", ""))
        if action is not None:
            expanded += steps_of(action["runs"])
    return expanded


def uses(step: dict[str, Any], action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if uses(s, PULUMI_ACTION)]


def pulumi_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(f, j, job) for f, j, job in all_jobs() if pulumi_steps(job)]


def the_pulumi_step(job: dict[str, Any]) -> dict[str, Any]:
    [step] = pulumi_steps(job)
    return step["with"]


def test_the_delivery_workflows_exist():
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "preview.yml", "deploy.yml", "destroy.yml"} <= names


# --- linters -----------------------------------------------------------------------------------
def test_actionlint_reports_nothing():
    result = subprocess.run(
        [tool("actionlint"), "-no-color", "-oneline", f"-shellcheck={tool('shellcheck')}", "-pyflakes=",
         *map(str, WORKFLOWS)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_offline_pedantic_reports_nothing():
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--persona=pedantic", "--strict-collection", "--no-progress",
         "--color=never", "--config", str(GITHUB / "zizmor.yml"), str(GITHUB)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        # --offline already forbids network use; without a token zizmor cannot even try.
        env={k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


# --- every workflow ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_grants_nothing_by_default_and_never_runs_forks_with_privileges(path):
    wf = load(path)
    assert wf.get("permissions") == {}, "top-level `permissions: {}`; each job asks for what it needs"
    assert "pull_request_target" not in triggers(wf)
    # workflow_run runs with the base repository's token: only the plan commenter, which
    # runs no pull-request code (tests/test_plan.py pins that down), may use it.
    assert "workflow_run" not in triggers(wf) or path.name == "plan-comment.yml"


@pytest.mark.parametrize(("file", "job_id", "job"), all_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_job_declares_its_permissions(file, job_id, job):
    assert isinstance(job.get("permissions"), dict), f"{file}:{job_id} needs an explicit permissions map"
    assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS], ids=lambda p: str(p.relative_to(GITHUB)))
def test_every_action_is_pinned_to_a_commit_with_its_version_noted(path):
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
        if not match or match.group(1).startswith("./"):
            continue
        assert PINNED.match(match.group(1)), f"{path.name}: {match.group(1)} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.search(match.group(2)), f"{path.name}: add the version as a comment: {line.strip()}"


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS], ids=lambda p: str(p.relative_to(GITHUB)))
def test_no_expression_is_interpolated_into_a_script(path):
    doc = load(path)
    jobs = doc["jobs"].values() if "jobs" in doc else [doc["runs"]]
    for job in jobs:
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{path.name}: pass values to `run:` through env"


@pytest.mark.parametrize(("file", "job_id", "job"), all_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_checkouts_do_not_persist_the_token(file, job_id, job):
    for step in steps_of(job):
        if uses(step, "actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{file}:{job_id}"


@pytest.mark.parametrize(("file", "job_id", "job"), all_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_oidc_tokens_only_where_aws_credentials_are_assumed(file, job_id, job):
    assumes_role = any(uses(s, AWS_CREDENTIALS) for s in steps_of(job))
    assert (job["permissions"].get("id-token") == "write") == assumes_role, f"{file}:{job_id}"


def test_no_stored_aws_keys_anywhere():
    for path in [*WORKFLOWS, *ACTIONS]:
        text = path.read_text()
        assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text, path.name
        assert "secrets.AWS_" not in text, path.name


@pytest.mark.parametrize(("file", "job_id", "job"), pulumi_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_pulumi_steps_support_both_backends_and_keep_secrets_to_themselves(file, job_id, job):
    # Pulumi Cloud: PULUMI_ACCESS_TOKEN. Self-managed (e.g. S3): PULUMI_BACKEND_URL + passphrase.
    for step in pulumi_steps(job):
        assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        assert step["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                               "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}
    others = {k: v for k, v in job.items() if k != "steps"}
    other_steps = [s for s in job["steps"] if not uses(s, PULUMI_ACTION)]
    assert "secrets." not in str(others) + str(other_steps), f"{file}:{job_id}: secrets reach only the pulumi step"


@pytest.mark.parametrize(("file", "job_id", "job"), pulumi_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_pulumi_jobs_install_dependencies_first_and_pin_the_cli_to_the_sdk(file, job_id, job):
    steps = steps_of(job)
    scripts = "\n".join(s.get("run", "") for s in steps[: steps.index(pulumi_steps(job)[0])])
    assert "venv/bin/python -m pip install --quiet -r requirements.txt" in scripts
    # PulumiPolicy.yaml's `virtualenv: venv` is relative to the pack: the CLI runs policy/venv.
    assert "python -m venv policy/venv" in scripts
    assert "policy/venv/bin/python -m pip install --quiet -r policy/requirements.txt" in scripts
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert str(the_pulumi_step(job)["pulumi-version"]) == sdk
    assert job.get("concurrency"), f"{file}:{job_id}: one run per stack at a time"


# --- ci.yml ------------------------------------------------------------------------------------
@pytest.mark.parametrize("job_id, command", [("test", "make test"), ("runtime", "make test-runtime")])
def test_ci_runs_both_test_tiers_on_every_push_and_pull_request(job_id, command):
    """The Quick start's test command and the runtime tier, as .ci/run runs them."""
    wf = workflow("ci")
    assert set(triggers(wf)) == {"push", "pull_request"}
    assert set(wf["jobs"]) == {"test", "runtime"}
    job = wf["jobs"][job_id]
    assert job["permissions"] == {"contents": "read"}
    setup = next(s for s in job["steps"] if uses(s, "actions/setup-python"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert setup["with"]["cache"] == "pip"
    make = [s for s in job["steps"] if "run" in s][-1]
    assert make["run"] == command
    assert make["env"]["AIRFLOW_CHART_DIR"].endswith("/chart/airflow")
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert re.search(rf"^{command}$", ci_run, flags=re.M)


def test_the_runtime_job_installs_what_runtime_packages_would():
    job = workflow("ci")["jobs"]["runtime"]
    install = next(s for s in job["steps"] if "apt-get install" in s.get("run", ""))
    makefile = (ROOT / "Makefile").read_text()
    packages = re.search(r"^runtime-packages:.*\n\t@\./tools/install-debian-packages (.+)$", makefile, flags=re.M)
    wanted = {spec.split("=")[0] for spec in packages.group(1).split()}
    assert wanted <= set(install["run"].split())


@pytest.mark.parametrize("job_id", ["test", "runtime"])
def test_ci_fetches_the_chart_version_the_program_pins(job_id):
    pulumi_yaml = load(ROOT / "Pulumi.yaml")
    job = workflow("ci")["jobs"][job_id]
    fetch = next(s for s in job["steps"] if "helm pull airflow" in s.get("run", ""))
    assert fetch["env"]["AIRFLOW_CHART_VERSION"] == pulumi_yaml["config"]["airflowChartVersion"]["default"]
    if job_id == "runtime":
        return  # the runtime tier renders the Airflow chart only
    charts = next(s for s in job["steps"] if "helm pull cluster-autoscaler" in s.get("run", ""))
    assert charts["env"]["CLUSTER_AUTOSCALER_CHART_VERSION"] == versions.CLUSTER_AUTOSCALER_CHART_VERSION
    assert versions.CLUSTER_AUTOSCALER_CHART_REPO in charts["run"]
    assert charts["env"]["LOAD_BALANCER_CONTROLLER_CHART_VERSION"] == load_balancer_controller.CHART_VERSION
    assert f"aws-load-balancer-controller --repo {load_balancer_controller.CHART_REPO}" in charts["run"]
    make = next(s for s in job["steps"] if s.get("run") == "make test")
    assert make["env"]["AIRFLOW_CHART_DIR"].endswith("/chart/airflow")
    assert make["env"]["CHARTS_DIR"].endswith("/charts")


# --- preview.yml -------------------------------------------------------------------------------
def test_preview_runs_on_pull_requests_for_both_stacks_and_comments():
    wf = workflow("preview")
    assert set(triggers(wf)) == {"pull_request"}
    [job] = wf["jobs"].values()
    assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert "matrix.stack" in job["concurrency"]["group"]
    step = the_pulumi_step(job)
    assert step["command"] == "preview"
    assert step["comment-on-pr"] is True
    assert "matrix.stack" in step["stack-name"]
    assert step["policyPacks"] == "policy/"
    assert step["policyPackConfigs"] == "policy/config.${{ matrix.stack }}.json"
    assert "head.repo.full_name == github.repository" in job["if"], "fork PRs have no OIDC token: skip them"


# --- deploy.yml --------------------------------------------------------------------------------
def deploy_jobs() -> dict[str, dict[str, Any]]:
    """Jobs of deploy.yml keyed by the stack they update."""
    jobs = {}
    for job in workflow("deploy")["jobs"].values():
        name = the_pulumi_step(job)["stack-name"]
        stack = re.search(r"'(dev|prod)'\s*}}$", name).group(1)
        assert stack not in jobs
        jobs[stack] = job
    return jobs


def test_deploy_updates_dev_on_push_to_main_and_prod_only_by_dispatch():
    on = triggers(workflow("deploy"))
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}
    jobs = deploy_jobs()
    assert set(jobs) == {"dev", "prod"}
    assert "github.event_name == 'push'" in jobs["dev"]["if"]
    assert "github.ref == 'refs/heads/main'" in jobs["dev"]["if"], "a dispatch deploys main, not a branch"
    prod_if = jobs["prod"]["if"]
    assert "||" not in prod_if and "github.event_name == 'workflow_dispatch'" in prod_if
    assert "github.ref == 'refs/heads/main'" in prod_if


def test_deploys_run_in_their_environment_one_at_a_time_and_are_never_cancelled():
    for stack, job in deploy_jobs().items():
        assert job["environment"] == stack, "prod's required reviewers are configured on its environment"
        assert job["concurrency"] == {"group": f"pulumi-{stack}", "cancel-in-progress": False}
        step = the_pulumi_step(job)
        assert step["command"] == "up"
        assert step["policyPacks"] == "policy/"
        assert step["policyPackConfigs"] == f"policy/config.{stack}.json"
        assert (ROOT / step["policyPackConfigs"]).is_file()


# --- destroy.yml -------------------------------------------------------------------------------
def destroy_job() -> dict[str, Any]:
    [job] = workflow("destroy")["jobs"].values()
    return job


def test_destroy_is_manual_confirmed_dev_only_and_environment_protected():
    on = triggers(workflow("destroy"))
    assert set(on) == {"workflow_dispatch"}
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["confirm"]["required"] is True
    assert inputs["stack"]["options"] == ["dev"]
    job = destroy_job()
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["environment"] == "dev"
    assert job["concurrency"] == deploy_jobs()["dev"]["concurrency"], "never races a dev deploy"
    first = job["steps"][0]
    assert "CONFIRM" in first["env"] and "run" in first, "the confirmation is checked before anything else"
    step = the_pulumi_step(job)
    assert step["command"] == "destroy"
    assert step["remove"] is False


@pytest.mark.parametrize(("stack", "confirm", "allowed"), [
    ("dev", "destroy-dev", True),
    ("dev", "destroy-prod", False),
    ("dev", "yes", False),
    ("dev", "destroy-dev ", False),
    ("prod", "destroy-prod", False),
])
def test_destroy_confirmation_script(stack, confirm, allowed):
    script = destroy_job()["steps"][0]["run"]
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env={"STACK": stack, "CONFIRM": confirm},
                            capture_output=True, text=True, timeout=30, check=False)
    assert (result.returncode == 0) is allowed, result.stdout
    if not allowed:
        assert "::error::" in result.stdout


# --- image.yml ---------------------------------------------------------------------------------
def image_jobs() -> dict[str, dict[str, Any]]:
    return workflow("image")["jobs"]


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    [step] = [s for s in job["steps"] if uses(s, action)]
    return step


def test_the_image_is_built_when_image_or_the_airflow_version_changes_on_main():
    on = triggers(workflow("image"))
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    # image/ itself, and where the stack's airflowVersion lives (its default and prod's own).
    assert {"image/**", "Pulumi.yaml", "Pulumi.prod.yaml"} <= set(on["push"]["paths"])
    assert image_jobs()["image"]["if"] == "github.ref == 'refs/heads/main'"
    assert workflow("image")["concurrency"] == {"group": "image-prod", "cancel-in-progress": False}


def test_the_image_job_pushes_over_oidc_and_the_pull_request_job_holds_no_aws_access():
    jobs = image_jobs()
    assert jobs["image"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["pull-request"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert jobs["pull-request"]["needs"] == "image"
    credentials = step_using(jobs["image"], AWS_CREDENTIALS)
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_IMAGE_PUSH_ROLE_ARN }}"


def test_the_build_uses_the_stacks_version_and_the_scan_gates_the_push():
    steps = image_jobs()["image"]["steps"]
    args = next(s for s in steps if s.get("id") == "args")
    assert "python -m tools.image_stack build-args" in args["run"]
    build = step_using(image_jobs()["image"], "docker/build-push-action")
    assert build["with"]["build-args"] == "AIRFLOW_VERSION=${{ steps.args.outputs.airflow_version }}"
    assert build["with"]["context"] == "image"
    assert (build["with"]["push"], build["with"]["load"], build["with"]["provenance"]) == (False, True, False)
    scan = step_using(image_jobs()["image"], "aquasecurity/trivy-action")
    assert scan["with"]["severity"] == "CRITICAL" and scan["with"]["exit-code"] == "1"
    assert scan["with"]["image-ref"] == build["with"]["tags"]
    push = next(s for s in steps if s.get("id") == "pushed")
    # The push comes after the scan, which fails the job first on a critical finding.
    assert steps.index(scan) < steps.index(push) and "docker push" in push["run"]
    assert "imageDigest" in push["run"]


def test_the_digest_reaches_the_stack_only_through_a_pull_request():
    [step] = [s for s in image_jobs()["pull-request"]["steps"] if "run" in s]
    assert step["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert 'python -m tools.image_stack set-digest "$STACK" "$DIGEST"' in step["run"]
    assert "gh pr create" in step["run"] and "--base main" in step["run"]
    assert "git push" not in step["run"]
    assert workflow("image")["env"]["STACK"] == "prod"


def _run_pull_request_step(tmp_path: Path, *, branch_exists: bool, digest: str,
                           stack_text: str | None = None) -> tuple[int, list[str], str]:
    """The pull-request job's script, run by bash in a copy of what it reads, with `gh` and
    `git` stand-ins that record their calls: (exit status, gh calls, the stack file after)."""
    [step] = [s for s in image_jobs()["pull-request"]["steps"] if "run" in s]
    work = tmp_path / "checkout"
    for path in ("tools/__init__.py", "tools/image_stack.py", "airflow_eks/__init__.py", "airflow_eks/iam.py",
                 "airflow_eks/image/__init__.py", "airflow_eks/image/digest.py", "airflow_eks/image/registry.py",
                 "airflow_eks/image/deployments.py",
                 "Pulumi.yaml", "Pulumi.prod.yaml"):
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, work / path)
    if stack_text is not None:
        (work / "Pulumi.prod.yaml").write_text(stack_text)
    bin_dir, calls = tmp_path / "bin", tmp_path / "gh-calls"
    bin_dir.mkdir()
    stand_ins = {
        # pip is not needed here (PyYAML is installed); anything else runs this interpreter.
        "python": f'[ "$2" = pip ] && exit 0\nexec {sys.executable} "$@"\n',
        "git": 'echo 0123456789abcdef0123456789abcdef01234567\n',
        "gh": (f'echo "$*" >> {calls}\n'
               'case "$*" in\n'
               f'  "api repos/acme/airflow/git/ref/heads/"*) exit {0 if branch_exists else 1} ;;\n'
               '  "api repos/acme/airflow/contents/"*) echo blobsha ;;\n'
               'esac\n'),
    }
    for name, body in stand_ins.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, **{k: v for k, v in step["env"].items() if "${{" not in v},
           "PATH": f"{bin_dir}:{os.environ['PATH']}", "STACK": "prod", "GH_TOKEN": "t", "REPO": "acme/airflow",
           "DIGEST": digest, "TAG": "3.1.8-0123456789ab"}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], cwd=work, env=env,
                          capture_output=True, text=True, timeout=60)
    logged = calls.read_text().splitlines() if calls.exists() else []
    return done.returncode, logged, (work / "Pulumi.prod.yaml").read_text()


@pytest.mark.parametrize("branch_exists", [False, True])
def test_the_pull_request_step_creates_or_moves_its_branch_and_opens_the_pull_request(tmp_path, branch_exists):
    """A branch left by an earlier pull request for the same tag (closed unmerged) is moved to
    this commit instead of failing the run on "Reference already exists"."""
    digest = "sha256:" + "ab" * 32
    status, calls, stack_file = _run_pull_request_step(tmp_path, branch_exists=branch_exists, digest=digest)
    assert status == 0, calls
    assert f"airflow-eks:airflowImageDigest: {digest}" in stack_file
    ref_calls = [c for c in calls if "git/ref" in c and not c.startswith("api repos/acme/airflow/git/ref/heads/")]
    [ref_call] = ref_calls
    if branch_exists:
        assert ref_call.startswith("api --method PATCH repos/acme/airflow/git/refs/heads/image/prod-3.1.8-")
        assert "force=true" in ref_call
    else:
        assert ref_call.startswith("api --method POST repos/acme/airflow/git/refs ")
    assert any(c.startswith("api --method PUT repos/acme/airflow/contents/Pulumi.prod.yaml") for c in calls)
    assert any(c.startswith("pr create") for c in calls)


def test_the_pull_request_step_opens_nothing_when_the_stack_runs_the_digest_already(tmp_path):
    from tools import image_stack

    current = "sha256:" + "cd" * 32
    pinned = image_stack.set_digest((ROOT / "Pulumi.prod.yaml").read_text(), current)
    status, calls, after = _run_pull_request_step(tmp_path, branch_exists=False, digest=current, stack_text=pinned)
    assert status == 0 and calls == [] and after == pinned


# --- deploy.yml: prod records the digest it deploys (tools/image_deploys.py) ---------------------------
def _prod_steps() -> list[dict[str, Any]]:
    return deploy_jobs()["prod"]["steps"]


def test_prod_records_its_digest_as_the_push_role_before_pulumi_up_and_only_with_a_digest():
    steps = _prod_steps()
    names = [s.get("name", s.get("uses", "")) for s in steps]
    read = next(s for s in steps if s.get("id") == "image")
    [push_role] = [s for s in steps if uses(s, AWS_CREDENTIALS)]
    record = next(s for s in steps if "tools.image_deploys record" in s.get("run", ""))
    setup = next(s for s in steps if s.get("uses") == "./.github/actions/pulumi-setup")
    up = pulumi_steps(deploy_jobs()["prod"])[0]
    assert steps.index(read) < steps.index(push_role) < steps.index(record) < steps.index(setup) < steps.index(up), \
        names
    assert "python -m tools.image_stack deployed-image prod" in read["run"]
    assert push_role["with"]["role-to-assume"] == "${{ vars.AWS_IMAGE_PUSH_ROLE_ARN }}"
    # The deploy role comes after, and replaces the push role's credentials (pulumi-setup).
    assert setup["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    for step in (push_role, record):
        assert step["if"] == "steps.image.outputs.digest != ''"
    assert record["env"] == {"REPOSITORY": "${{ steps.image.outputs.repository }}",
                             "DIGEST": "${{ steps.image.outputs.digest }}"}
    assert record["run"] == 'python -m tools.image_deploys record "$REPOSITORY" "$DIGEST"'
    # No secret reaches these steps, and dev records nothing (the image workflow builds for prod).
    assert "secrets." not in str([read, push_role, record])
    assert not any("image_deploys" in s.get("run", "") for s in deploy_jobs()["dev"]["steps"])


@pytest.mark.parametrize("digest", ["", "sha256:" + "ab" * 32])
def test_the_read_step_outputs_the_digest_the_stack_deploys(tmp_path, digest):
    """The step's script, run by bash on a copy of what it reads: the digest and repository land
    in GITHUB_OUTPUT, and an empty digest (prod before its first image) skips the record."""
    from tools import image_stack

    read = next(s for s in _prod_steps() if s.get("id") == "image")
    work = tmp_path / "checkout"
    for path in ("tools/__init__.py", "tools/image_stack.py", "airflow_eks/__init__.py", "airflow_eks/iam.py",
                 "airflow_eks/image/__init__.py", "airflow_eks/image/digest.py", "airflow_eks/image/registry.py",
                 "airflow_eks/image/deployments.py", "Pulumi.yaml", "Pulumi.prod.yaml"):
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, work / path)
    if digest:
        stack = work / "Pulumi.prod.yaml"
        stack.write_text(image_stack.set_digest(stack.read_text(), digest))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\n[ "$2" = pip ] && exit 0\nexec {sys.executable} "$@"\n')
    (bin_dir / "python").chmod(0o755)
    output = tmp_path / "output"
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", read["run"]], cwd=work, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                                                      "GITHUB_OUTPUT": str(output)})
    assert done.returncode == 0, done.stderr
    assert output.read_text().splitlines() == [f"digest={digest}", "repository=prod/airflow"]
