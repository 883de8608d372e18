"""Offline plan (tools/plan): the plan of both stack files, golden files, diff, secrets, CLI."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from airflow_eks.offline import harness, loader, mocks
from tests.plan_records import dev_like, plan_of, rec
from tools.plan import __main__ as cli
from tools.plan import build, diff, model, render

BUDGET = {"dev": 150.0, "prod": 450.0}  # idle USD/month the stack files are designed for


@pytest.fixture(scope="module")
def plans(programs) -> dict[str, dict]:
    # Priced for the day the golden plans are computed for, so they do not change with the calendar.
    return {stack: build.assemble(run, stack, day=harness.REFERENCE_DAY) for stack, run in programs.items()}


# -- the plan of the real program -----------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_lists_every_registered_resource_and_output(stack, plans, programs):
    plan, run = plans[stack], programs[stack]
    assert [r["urn"] for r in plan["resources"]] == sorted(r.urn for r in run.resources)
    assert sum(plan["counts"].values()) == len(run.resources)
    assert set(plan["outputs"]) == set(run.outputs)
    for name, (_, is_secret) in run.outputs.items():
        assert (plan["outputs"][name] == model.SECRET) == is_secret, name
    text = render.render_plan(plan)
    assert "OFFLINE ESTIMATE" in text and "not `pulumi preview`" in text
    assert all(f"{r.typ}  {r.name}" in text for r in run.resources)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_stay_within_their_idle_budget_with_every_item_priced(stack, plans):
    cost = plans[stack]["cost"]
    assert cost["warnings"] == []
    assert cost["total"]["idle"] <= BUDGET[stack], render.cost(plans[stack])
    assert cost["total"]["busy"] >= cost["total"]["idle"]


def test_prod_pays_for_high_availability_that_dev_does_not(plans):
    items = {s: {i["key"].split(":")[0]: i for i in plans[s]["cost"]["lineItems"]} for s in plans}
    assert "Multi-AZ" in items["prod"]["rds"]["label"] and "Single-AZ" in items["dev"]["rds"]["label"]
    assert items["prod"]["nat-gateways"]["idle"] > items["dev"]["nat-gateways"]["idle"]


# -- golden plans ---------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_matches_the_golden_file(stack, plans):
    path = cli.golden_path(stack)
    assert path.is_file(), f"{path} missing: run `make golden`"
    golden = json.loads(path.read_text())
    fresh = json.loads(cli.dumps(plans[stack]))
    if golden != fresh:
        pytest.fail(f"The offline plan of {stack} changed. If that is intended, run `make golden` and commit "
                    f"the result.\n\n{render.render_diff(diff.diff(golden, fresh))}")


def test_plan_json_is_deterministic_and_machine_independent(plans):
    text = cli.dumps(plans["dev"])
    assert str(loader.ROOT) not in text
    assert cli.dumps(json.loads(text)) == text


def test_readme_quick_start_and_docs_sample_come_from_the_tool():
    readme = (loader.ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.splitlines() if line.strip()]
    assert commands[:2] == ["make test", "make plan STACK=dev"]
    golden = json.loads(cli.golden_path("dev").read_text())
    sample_page = cli.SAMPLE_PAGE.read_text()
    assert cli.with_plan_sample(sample_page, golden) == sample_page, "docs/plan.md's sample is stale: run `make golden`"
    goldens = {stack: json.loads(cli.golden_path(stack).read_text()) for stack in cli.GOLDEN_STACKS}
    assert cli.with_curve_sample(sample_page, goldens) == sample_page, \
        "docs/plan.md's cost curves are stale: run `make golden`"


# -- diff -------------------------------------------------------------------------------------
def test_diff_of_identical_plans_is_empty():
    plan = plan_of(dev_like())
    result = diff.diff(plan, json.loads(cli.dumps(plan)))
    assert result["changed"] is False
    assert "No changes." in render.render_diff(result)


def test_diff_reports_added_resources_changed_inputs_cost_and_time():
    base_records = dev_like()
    head_records = dev_like()
    db = next(r for r in head_records if r.typ == "aws:rds/instance:Instance")
    db.inputs["instanceClass"] = "db.t4g.small"
    head_records.append(rec("aws:ec2/natGateway:NatGateway", "nat-1"))
    eks = next(r for r in head_records if r.typ == "eks:index:Cluster")
    head_records.append(rec("kubernetes:helm.sh/v3:Release", "late", {"chart": "x"}, deps=(eks.urn,)))
    result = diff.diff(plan_of(base_records), plan_of(head_records))

    assert result["changed"] is True
    assert [a["name"] for a in result["resources"]["added"]] == ["nat-1", "late"]
    assert result["resources"]["removed"] == []
    changed = {c["name"]: c for c in result["resources"]["changed"]}
    assert set(changed) == {"db"}
    assert changed["db"]["inputs"] == [{"path": "instanceClass", "base": "db.t4g.micro", "head": "db.t4g.small"}]
    cost = {i["key"]: i for i in result["cost"]["lineItems"]}
    assert cost["rds:db"]["idle"]["delta"] == 11.68          # (0.032 - 0.016) x 730
    assert cost["nat-gateways"]["idle"]["delta"] == 32.85     # one more NAT gateway
    assert result["cost"]["total"]["idle"]["delta"] == pytest.approx(44.53)
    assert result["deployTime"]["delta"] == 120              # the release waits 120 s after the cluster
    assert result["deployTime"]["pathChanged"] is True
    text = render.render_diff(result)
    assert "added `aws:ec2/natGateway:NatGateway` nat-1" in text
    assert '`instanceClass`: "db.t4g.micro" -> "db.t4g.small"' in text
    assert "+32.85" in text


def test_diff_reports_output_and_dependency_changes():
    base = plan_of(dev_like(), {"dbName": ("airflow", False)})
    records = dev_like()
    records[1].dependencies.append(records[2].urn)  # the NAT gateway now waits for its EIP
    head = plan_of(records, {"dbName": ("airflow2", False)})
    result = diff.diff(base, head)
    assert result["outputs"] == [{"path": "dbName", "base": "airflow", "head": "airflow2"}]
    nat = result["resources"]["changed"][0]
    assert nat["dependencies"] == {"added": [records[2].urn.replace("urn:pulumi:dev", "urn:pulumi:*")],
                                   "removed": []}


def test_diff_compares_inside_json_strings_and_lists():
    base = {"policy": json.dumps({"Statement": [{"Action": ["s3:GetObject"]}]}), "ids": ["a", "b"]}
    head = {"policy": json.dumps({"Statement": [{"Action": ["s3:PutObject"]}]}), "ids": ["a", "b", "c"]}
    changes = {c["path"]: c for c in diff.leaf_changes(base, head)}
    assert changes["policy.Statement[0].Action[0]"]["head"] == "s3:PutObject"
    assert changes["ids"]["added"] == ["c"] and changes["ids"]["removed"] == []


# -- secrets ----------------------------------------------------------------------------------
SENTINEL = "ghp_PLANSENTINEL0123456789"


def _secret_strings(run: harness.Run) -> set[str]:
    """Strings that only ever occur inside secret values of the run."""
    def strings(value) -> set[str]:
        if isinstance(value, dict):
            return {s for v in value.values() for s in strings(v)}
        if isinstance(value, list):
            return {s for v in value for s in strings(v)}
        return {value} if isinstance(value, str) else set()

    def split(value) -> tuple[set[str], set[str]]:
        if mocks.is_secret(value):
            return strings(mocks.plain(value)), set()
        if isinstance(value, dict | list):
            parts = [split(v) for v in (value.values() if isinstance(value, dict) else value)]
            return set().union(*(p[0] for p in parts)), set().union(*(p[1] for p in parts))
        return set(), strings(value)

    secret, public = set(), set()
    for r in run.resources:
        s, p = split(r.inputs)
        secret |= s
        public |= p
    for value, is_secret in run.outputs.values():
        (secret if is_secret else public).update(strings(value) if not isinstance(value, str) else {value})
    return {s for s in secret - public if len(s) >= 8}


def test_synthetic_secrets_are_masked_in_inputs_outputs_json_and_text():
    marker = {mocks.SIG: mocks.SECRET_SIG, "value": SENTINEL}
    records = [rec("kubernetes:core/v1:Secret", "git", {"stringData": {"token": marker}, "type": "Opaque"})]
    plan = plan_of(records, {"token": (SENTINEL, True)})
    assert plan["resources"][0]["inputs"]["stringData"] == {"token": model.SECRET}
    assert plan["outputs"] == {"token": model.SECRET}
    assert SENTINEL not in cli.dumps(plan) + render.render_plan(plan)


def test_real_secrets_never_reach_the_plan(programs, plans):
    for stack, run in programs.items():
        hidden = _secret_strings(run)
        shown = cli.dumps(plans[stack]) + render.render_plan(plans[stack])
        assert not [s for s in hidden if s in shown], stack


def test_a_configured_git_token_never_reaches_the_plan():
    run = harness.run_program("dev", overrides={"gitSyncRepo": "https://github.com/example/dags.git",
                                                "gitSyncUsername": "x-access-token"},
                              secrets={"gitSyncToken": SENTINEL})
    plan = build.assemble(run, "dev")
    assert SENTINEL not in cli.dumps(plan) + render.render_plan(plan)
    assert not [s for s in _secret_strings(run) if s in cli.dumps(plan)]


# -- nothing copyable is cut ------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_text_shows_every_output_and_setting_value_whole(stack, plans):
    plan = plans[stack]
    text = render.render_plan(plan)

    def strings(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) and value != model.SECRET else []

    shown = [s for v in plan["outputs"].values() for s in strings(v)]
    shown += [s for e in plan["resources"] for v in model.key_settings(e).values() for s in strings(v)]
    assert len(shown) > 20
    assert [s for s in shown if json.dumps(s) not in text] == []
    command = plan["outputs"]["kubeconfigCommand"]
    assert f'  kubeconfigCommand = "{command}"' in text.splitlines()


def test_long_lists_wrap_one_item_per_line_and_long_strings_stay_on_theirs():
    taints = [{"effect": "NO_SCHEDULE", "key": f"example.com/very-long-taint-key-{i}", "value": "true"}
              for i in range(3)]
    command = "aws eks update-kubeconfig --region us-east-1 --name " + "x" * 120
    lines = render._show_lines("    taints: ", taints, "    ") + render._show_lines("  cmd = ", command, "  ")
    assert lines[0] == "    taints: [" and lines[-2] == "    ]"
    assert sum(f'"key": "example.com/very-long-taint-key-{i}"' in line for line in lines for i in range(3)) == 3
    assert lines[-1] == f'  cmd = "{command}"'
    assert not any(line.endswith("...") for line in lines)
    assert json.loads("".join(lines[:-1]).removeprefix("    taints: ")) == taints


def test_diff_lines_show_values_whole():
    change = {"path": "inputs.command", "base": "a" * 80, "head": "b" * 80}
    assert render._change(change) == f'`inputs.command`: "{"a" * 80}" -> "{"b" * 80}"'


# -- command line -----------------------------------------------------------------------------
def test_cli_diffs_saved_plans_as_text_and_json(capsys, tmp_path):
    golden = str(cli.golden_path("dev"))
    assert cli.main([golden, "--diff", golden]) == 0
    assert "No changes." in capsys.readouterr().out
    assert cli.main([golden, "--diff", golden, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False
    assert cli.main([golden]) == 0
    assert "Monthly cost estimate" in capsys.readouterr().out


def test_cli_prices_a_workload_and_compares_it_in_text_and_json(capsys):
    golden = str(cli.golden_path("prod"))
    args = [golden, "--task-hours", "500", "--concurrency", "10"]
    assert cli.main([*args, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in plan["comparison"]] == [
        "This stack (airflow-eks)", "Amazon MWAA", "Amazon MWAA Serverless", "Cloud Composer 3"]
    assert all(c["sources"] and "monthly" in c and c["notes"] for c in plan["comparison"])
    assert plan["workload"]["taskCpu"] == "250m" and plan["workload"]["needs"] == ["ui", "python-dags"]
    assert plan["comparison"][0]["monthly"] > plan["cost"]["total"]["idle"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "Workload: 500 task-hours a month" in text and "Comparison at this workload" in text
    assert text.index("Monthly cost estimate") < text.index("Workload:") < text.index("Deploy time estimate")


def test_cli_cost_curve_prints_rows_and_crossovers(capsys):
    golden = str(cli.golden_path("dev"))
    assert cli.main([golden, "--cost-curve", "--concurrency", "4", "--needs", "none", "--json"]) == 0
    curve = json.loads(capsys.readouterr().out)
    assert curve["rows"][0]["taskHours"] == 0 and curve["rows"][-1]["taskHours"] == 4 * 730
    assert curve["crossovers"] and all(x["between"][0] == "This stack (airflow-eks)" for x in curve["crossovers"])
    assert cli.main([golden, "--cost-curve", "--concurrency", "4"]) == 0
    assert "| task-hours |" in capsys.readouterr().out


def test_a_plan_without_a_workload_has_no_workload_section(plans):
    assert "workload" not in plans["dev"] and "comparison" not in plans["dev"]
    assert "Workload:" not in render.render_plan(plans["dev"])


def test_cli_rejects_busy_hours_outside_a_day():
    with pytest.raises(SystemExit):
        cli.main(["dev", "--busy-hours", "25"])


# -- the pull-request workflow ------------------------------------------------------------------
def test_plan_workflow_is_read_only_pinned_and_never_runs_pr_code_with_write_access():
    path = loader.ROOT / ".github" / "workflows" / "plan.yml"
    text = path.read_text()
    flow = yaml.safe_load(text)
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads `on:` as True
    assert set(triggers) == {"pull_request"}
    assert flow["permissions"] == {}
    for job in flow["jobs"].values():
        assert job["permissions"] == {"contents": "read"}
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", ""), step["run"]
    uploads = {s["with"]["name"]: s["with"]["path"] for s in flow["jobs"]["plan-diff"]["steps"]
               if s.get("uses", "").startswith("actions/upload-artifact@")}
    assert uploads["offline-plan-comment"] == "plans/comment.md"


def test_the_comment_workflow_posts_plan_yml_output_without_running_pr_code():
    plan = yaml.safe_load((loader.ROOT / ".github" / "workflows" / "plan.yml").read_text())
    flow = yaml.safe_load((loader.ROOT / ".github" / "workflows" / "plan-comment.yml").read_text())
    triggers = flow[True] if True in flow else flow["on"]
    assert triggers == {"workflow_run": {"workflows": [plan["name"]], "types": ["completed"]}}
    assert flow["permissions"] == {}
    [job] = flow["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert "workflow_run.event == 'pull_request'" in job["if"] and "conclusion == 'success'" in job["if"]
    # No action at all (so no checkout of, or code from, the pull request): only gh on the runner.
    assert all("uses" not in step for step in job["steps"])
    scripts = "\n".join(step["run"] for step in job["steps"])
    assert "--name offline-plan-comment" in scripts
    assert "python" not in scripts and "make " not in scripts and "bash comment" not in scripts
    # The pull request comes from the head commit GitHub ran, never from the artifact.
    post = job["steps"][-1]
    assert post["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert '--search "$HEAD_SHA"' in post["run"] and "-F body=@body.md" in post["run"]
    assert 'select(.headRefOid == \\"$HEAD_SHA\\")' in post["run"]
