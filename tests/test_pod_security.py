"""The pod-security builders and how tasksMayLaunchPods moves the chart values (pure; the
rendered result is in tests/test_rendered_manifests.py and tests/test_network_policies.py)."""

from __future__ import annotations

import pytest

from airflow_eks import config, helm_values, names, pod_security
from airflow_eks.offline import harness


def airflow_values(**overrides: str) -> dict:
    settings = harness.run(config.load, overrides=overrides).value
    return helm_values.airflow_values(settings.airflow, region="us-east-1", logs_bucket="logs",
                                      storage_class="gp3", pgbouncer_ini_sha256="0" * 64,
                                      load_balancer_cidrs=settings.network.public_cidrs)


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


def test_api_server_admits_airflow_pods_and_the_load_balancer_subnets_only():
    v = airflow_values()
    ingress = v["apiServer"]["networkPolicy"]["ingress"]
    assert ingress["ports"] == [{"port": helm_values.API_SERVER_PORT}]
    assert ingress["from"][0] == {"podSelector": {"matchLabels": {"tier": "airflow", "release": names.AIRFLOW_RELEASE}}}
    # dev: 10.0.0.0/16 over 2 AZs, public subnets cut from the seventh /19
    assert [p["ipBlock"]["cidr"] for p in ingress["from"][1:]] == ["10.0.192.0/22", "10.0.196.0/22"]
    assert v["networkPolicies"] == {"enabled": True}


def test_no_peers_means_no_scrape_policy_rather_than_an_open_one():
    """An ingress rule without `from` admits every source."""
    assert f"{names.AIRFLOW_RELEASE}-metrics-scrape" not in pod_security.network_policies([])
    policies = pod_security.network_policies(["10.0.0.0/19"])
    scrape = policies[f"{names.AIRFLOW_RELEASE}-metrics-scrape"]
    assert scrape["ingress"][0]["from"] == [{"ipBlock": {"cidr": "10.0.0.0/19"}}]
    assert all(rule.get("from") for p in policies.values() for rule in p.get("ingress", []))
    assert policies[f"{names.AIRFLOW_RELEASE}-default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
