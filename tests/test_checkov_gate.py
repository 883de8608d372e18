"""checkov as a gate over the rendered manifests: every prod object (each release and the
program's own), prod's task pod template, and dev's create-user Job (prod signs in through
SSO, so it has none). Each finding is either fixed or listed, with its reason, in
scan/checkov-accepted.yaml. A new finding fails, and so does an accepted one that no longer
occurs (the list only shrinks with the fixes). tests/test_trivy_gate.py scans the same set."""

from __future__ import annotations

import copy
import functools

import pytest

from airflow_eks import names
from tests import manifests, scan
from tests.test_rendered_manifests import _stack_runs, objects, run, task_pod  # noqa: F401 (fixture)

# Issue 21's target, on its scope (target_scope): at most 34 failed checks, from 41 before the
# read-only root filesystems (CKV_K8S_22 on 7 workloads) and the task pod's own
# automountServiceAccountToken (CKV_K8S_38). What remains is listed with its reason.
MAX_FAILED_CHECKS = 34
UNHARDENED = "unhardened-statsd"
TASK_POD = "task"


@functools.cache
def unhardened() -> dict:
    """The rendered StatsD Deployment with its security contexts stripped, scanned beside the
    prod manifests (one checkov run) to show the scan flags what the hardening removed."""
    [statsd] = [o for o in objects("prod") if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-statsd"]
    bare = copy.deepcopy(statsd)
    bare["metadata"]["name"] = UNHARDENED
    pod = bare["spec"]["template"]["spec"]
    pod.pop("securityContext")
    for container in pod["containers"]:
        container.pop("securityContext")
    return bare


@functools.cache
def prod_task_pod() -> dict:
    """The task pod the scheduler submits, as a Pod (the template sits in a ConfigMap, where no
    scanner looks), named for the findings."""
    pod = {"apiVersion": "v1", "kind": "Pod", **copy.deepcopy(task_pod("prod"))}
    pod["metadata"].update(name=TASK_POD, namespace=names.AIRFLOW_NAMESPACE)
    return pod


def scanned() -> list[dict]:
    """What both gates scan."""
    create_user = [o for o in objects("dev") if o["kind"] == "Job"
                   and o["metadata"]["name"] == f"{names.AIRFLOW_RELEASE}-create-user"]
    assert create_user, "dev renders the create-user Job"
    return [*objects("prod"), prod_task_pod(), *create_user]


@functools.cache
def target_scope() -> frozenset[str]:
    """The resources issue 21's figures count: the prod Airflow chart's objects, the task pod
    template and the program's own NetworkPolicies (not the controllers' charts)."""
    scope = [*manifests.release_objects(run("prod"), "airflow"), prod_task_pod(),
             *(o for o in manifests.program_objects(run("prod")) if o["kind"] == "NetworkPolicy")]
    return frozenset(scan.resource_id(o) for o in scope)


@functools.cache
def findings(*, control: bool = False) -> set[scan.Finding]:
    everything = scan.failed_checks([*scanned(), unhardened()])
    return {f for f in everything if f[1].endswith(f".{UNHARDENED}") is control}


def test_no_finding_outside_the_accepted_list():
    new = findings() - set(scan.accepted("checkov"))
    assert new == set(), "fix these or add them, with a reason, to scan/checkov-accepted.yaml"


def test_every_accepted_finding_still_occurs():
    stale = set(scan.accepted("checkov")) - findings()
    assert stale == set(), "remove these from scan/checkov-accepted.yaml"


def test_failed_checks_stay_within_the_target():
    scope = target_scope()
    in_scope = {f for f in findings() if f[1] in scope}
    assert 0 < len(in_scope) <= MAX_FAILED_CHECKS
    # the scope holds what the figure counts: the task pod and the Airflow workloads
    assert {f"Pod.airflow.{TASK_POD}", f"Deployment.airflow.{names.AIRFLOW_RELEASE}-scheduler"} <= target_scope()


def test_the_gate_scans_the_task_pod_and_the_create_user_job():
    scanned_ids = {scan.resource_id(o) for o in scanned()}
    assert {f"Pod.airflow.{TASK_POD}", f"Job.airflow.{names.AIRFLOW_RELEASE}-create-user"} <= scanned_ids
    assert {f for f in findings() if f[1] == f"Pod.airflow.{TASK_POD}"}  # and checkov reads them


@pytest.mark.parametrize("scanner", sorted(scan.ACCEPTED))
def test_every_accepted_finding_has_a_one_line_reason(scanner):
    reasons = scan.accepted(scanner)
    assert reasons
    for finding, reason in reasons.items():
        assert reason.strip() and "\n" not in reason.strip(), finding
        assert reason.split(":")[0] in ("by design", "false positive", "chart design", "not yet"), finding


def test_the_scanner_sees_what_the_hardening_removed():
    """The gate is only as good as the scan: without its security contexts, the same pod fails
    the checks the hardening passes."""
    assert {"CKV_K8S_31", "CKV_K8S_20", "CKV_K8S_37", "CKV_K8S_22"} <= {check for check, _ in findings(control=True)}
    assert not {f for f in findings() if f[1].endswith("-statsd") and f[0] in ("CKV_K8S_31", "CKV_K8S_20",
                                                                                 "CKV_K8S_22")}
