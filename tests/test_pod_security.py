"""The pod-security builders and how tasksMayLaunchPods moves the chart values (pure; the
rendered result is in tests/test_rendered_manifests.py and tests/test_network_policies.py)."""

from __future__ import annotations

import copy

import pytest

from airflow_eks import config, helm_values, names, pod_security
from airflow_eks.offline import harness
from tests import pod_security_standards as pss


def airflow_values(**overrides: str) -> dict:
    settings = harness.run(config.load, overrides=overrides).value
    return helm_values.airflow_values(settings.airflow, region="us-east-1", logs_bucket="logs",
                                      storage_class="gp3", pgbouncer_ini_sha256="0" * 64,
                                      load_balancer_cidrs=settings.network.load_balancer_cidrs)


def test_pod_context_restates_uid_and_gid_with_seccomp():
    assert pod_security.pod_context(50000, 0) == {
        "runAsUser": 50000, "runAsNonRoot": True, "fsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"}}
    assert "fsGroup" not in pod_security.pod_context(65534)


def test_container_context_drops_everything_keeps_the_root_read_only_and_returns_fresh_dicts():
    a, b = pod_security.container_context(), pod_security.container_context(65533)
    assert a == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                 "readOnlyRootFilesystem": True}
    assert b["runAsUser"] == 65533 and b["readOnlyRootFilesystem"] is True
    a["capabilities"]["drop"].append("x")
    assert pod_security.container_context()["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("launch", [False, True])
def test_tasks_may_launch_pods_switches_the_chart_binding_and_the_tokens(launch):
    v = airflow_values(tasksMayLaunchPods=str(launch).lower())
    assert v["allowPodLaunching"] is launch
    assert v["workers"]["serviceAccount"]["automountServiceAccountToken"] is launch
    # and on the task pod itself (the chart's template plus the field; rendered in
    # tests/test_rendered_manifests.py)
    assert (v.get("podTemplate") == helm_values.POD_TEMPLATE_WITHOUT_TOKEN) is not launch
    assert v["triggerer"]["serviceAccount"]["automountServiceAccountToken"] is launch
    assert v["scheduler"]["serviceAccount"]["automountServiceAccountToken"] is True
    assert v["dagProcessor"]["serviceAccount"]["automountServiceAccountToken"] is False


def test_scheduler_role_cannot_exec_into_pods():
    resources = {r for rule in pod_security.SCHEDULER_POD_LAUNCHER_RULES for r in rule["resources"]}
    assert "pods" in resources and "pods/exec" not in resources
    verbs = {v for rule in pod_security.SCHEDULER_POD_LAUNCHER_RULES for v in rule["verbs"]}
    assert "*" not in verbs and "escalate" not in verbs and "bind" not in verbs


def test_the_chart_s_policies_are_off_and_the_program_renders_the_api_server_s():
    """The chart's StatsD policy admits task pods and cannot be left out alone; every policy of
    the namespace is the program's (tests/test_network_policies.py evaluates them rendered)."""
    v = airflow_values()
    assert v["networkPolicies"] == {"enabled": False} and "networkPolicy" not in v["apiServer"]
    # dev: 10.0.0.0/16 over 2 AZs, the load balancer's /27s cut from the eighth /19
    lb = ("10.0.224.0/27", "10.0.224.32/27")
    policy = pod_security.network_policies(lb, ())[f"{names.AIRFLOW_RELEASE}-api-server-ingress"]
    [rule] = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": helm_values.API_SERVER_PORT}]
    assert rule["from"][0] == {"podSelector": {"matchLabels": {"tier": "airflow", "release": names.AIRFLOW_RELEASE}}}
    assert [p["ipBlock"]["cidr"] for p in rule["from"][1:]] == list(lb)


def test_no_peers_means_no_scrape_policy_rather_than_an_open_one():
    """An ingress rule without `from` admits every source."""
    assert f"{names.AIRFLOW_RELEASE}-metrics-scrape" not in pod_security.network_policies((), [])
    policies = pod_security.network_policies((), ["10.0.225.0/28"])
    scrape = policies[f"{names.AIRFLOW_RELEASE}-metrics-scrape"]
    assert scrape["ingress"][0]["from"] == [{"ipBlock": {"cidr": "10.0.225.0/28"}}]
    assert all(rule.get("from") for p in policies.values() for rule in p.get("ingress", []))
    assert policies[f"{names.AIRFLOW_RELEASE}-default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_statsd_ingest_tells_task_pods_from_components_by_the_executor_s_label():
    policies = pod_security.network_policies((), ())
    components = policies[f"{names.AIRFLOW_RELEASE}-statsd-ingest"]["ingress"][0]["from"]
    tasks = policies[f"{names.AIRFLOW_RELEASE}-task-statsd-ingest"]["ingress"][0]["from"]
    assert [p["podSelector"]["matchExpressions"] for p in components] == [
        [{"key": "kubernetes_executor", "operator": "DoesNotExist"}]]
    assert [p["podSelector"]["matchExpressions"] for p in tasks] == [
        [{"key": "kubernetes_executor", "operator": "Exists"}]]


# --- Pod Security Admission ------------------------------------------------------------------

def test_the_namespace_enforces_restricted_and_only_baseline_when_tasks_launch_pods():
    prefix = pod_security.POD_SECURITY_LABEL_PREFIX
    assert pod_security.pod_security_admission_labels(tasks_may_launch_pods=False) == {
        f"{prefix}enforce": "restricted", f"{prefix}warn": "restricted", f"{prefix}audit": "restricted"}
    launching = pod_security.pod_security_admission_labels(tasks_may_launch_pods=True)
    assert launching[f"{prefix}enforce"] == "baseline" and launching[f"{prefix}warn"] == "restricted"
    # the label keys and values Pod Security Admission reads (kubernetes.io, "Enforce Pod
    # Security Standards with namespace labels")
    assert prefix == "pod-security.kubernetes.io/"
    assert set(launching.values()) <= set(pss.PROFILES)


HARDENED_POD = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 50000, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "base", "securityContext": pod_security.container_context()}],
    "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "config", "configMap": {"name": "c"}}],
}


def _with(path: tuple, value) -> dict:
    """HARDENED_POD with one field changed (the container's when path starts with 'c')."""
    pod = copy.deepcopy(HARDENED_POD)
    target = pod["containers"][0] if path[0] == "c" else pod
    for key in path[1:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    return pod


# The controls of the Pod Security Standards page (kubernetes.io/docs/concepts/security/
# pod-security-standards/), each broken once: the profile that first forbids it.
@pytest.mark.parametrize(("pod", "first_refused_by"), [
    (_with(("p", "hostNetwork"), True), "baseline"),
    (_with(("p", "hostPID"), True), "baseline"),
    (_with(("c", "securityContext", "privileged"), True), "baseline"),
    (_with(("c", "securityContext", "capabilities"), {"drop": ["ALL"], "add": ["SYS_ADMIN"]}), "baseline"),
    (_with(("p", "volumes"), [{"name": "node", "hostPath": {"path": "/"}}]), "baseline"),
    (_with(("c", "ports"), [{"containerPort": 80, "hostPort": 80}]), "baseline"),
    (_with(("p", "securityContext", "seccompProfile"), {"type": "Unconfined"}), "baseline"),
    (_with(("p", "securityContext", "sysctls"), [{"name": "kernel.msgmax", "value": "1"}]), "baseline"),
    (_with(("c", "securityContext", "allowPrivilegeEscalation"), True), "restricted"),
    (_with(("c", "securityContext", "capabilities"), {"drop": ["NET_RAW"]}), "restricted"),
    (_with(("c", "securityContext", "runAsNonRoot"), False), "restricted"),
    (_with(("c", "securityContext", "runAsUser"), 0), "restricted"),
    (_with(("p", "securityContext", "seccompProfile"), None), "restricted"),
    (_with(("p", "volumes"), [{"name": "nfs", "nfs": {"server": "x", "path": "/"}}]), "restricted"),
    (HARDENED_POD, None),
])
def test_the_pod_security_standards_checker_refuses_each_control_where_the_standard_does(pod, first_refused_by):
    refused = [profile for profile in pss.PROFILES if pss.violations(pod, profile)]
    assert refused == ([] if first_refused_by is None else list(pss.PROFILES[pss.PROFILES.index(first_refused_by):]))
