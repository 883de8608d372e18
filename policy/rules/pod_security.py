"""Pod security rules for what the rendered-manifest gate (tests/test_checkov_gate.py) cannot see
at preview time: `pulumi preview` shows the Helm releases' values and the VPC CNI add-on's
configuration, not the pods the charts will render. So the rules read those: the cluster
enforces NetworkPolicies, and the Airflow, Cluster Autoscaler and Load Balancer Controller
releases ask for a seccomp profile, non-root users, no privilege escalation, no capabilities and
read-only root filesystems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .airflow_values import _values
from .base import Resource, rule
from .constants import (
    CLUSTER_AUTOSCALER_CHART,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_COMPONENT,
    HELM_RELEASE,
    LOAD_BALANCER_CONTROLLER_CHART,
    RUNTIME_DEFAULT,
    VPC_CNI_ADDON,
)
from .helpers import _items, _map, _of_type, _path


def _enforces(addon: Resource) -> bool:
    return str(_map(addon.props.get("configurationValues")).get("enableNetworkPolicy")).lower() == "true"


@rule("eks-network-policy-enforcement", "The VPC CNI enforces Kubernetes NetworkPolicies (enableNetworkPolicy); "
      "without it the Airflow chart's policies are accepted and ignored.")
def eks_network_policy_enforcement(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    clusters = _of_type(resources, EKS_COMPONENT, EKS_CLUSTER)
    if not clusters:
        return []
    message = ("NetworkPolicies are not enforced: set vpcCniOptions.enableNetworkPolicy (pulumi-eks) or "
               "enableNetworkPolicy \"true\" in the vpc-cni add-on's configurationValues.")
    # A real preview: pulumi-eks registers the vpc-cni add-on with the setting in its
    # configurationValues. Offline the component's own inputs carry it.
    addons = [a for a in _of_type(resources, EKS_ADDON) if a.props.get("addonName") == VPC_CNI_ADDON]
    if addons:
        return [(message, a.urn) for a in addons if not _enforces(a)]
    components = [c for c in _of_type(resources, EKS_COMPONENT) if c.props]
    return [(message, c.urn) for c in components
            if _path(c.props, "vpcCniOptions.enableNetworkPolicy") is not True]


def _hardened_pod(context: Mapping[str, Any] | None, where: str) -> list[str]:
    context = _map(context)
    found = []
    if _path(context, "seccompProfile.type") != RUNTIME_DEFAULT:
        found.append(f"{where}: seccompProfile.type {RUNTIME_DEFAULT}")
    if context.get("runAsNonRoot") is not True:
        found.append(f"{where}: runAsNonRoot true")
    return found


def _hardened_container(context: Mapping[str, Any] | None, where: str) -> list[str]:
    context = _map(context)
    found = []
    if context.get("allowPrivilegeEscalation") is not False:
        found.append(f"{where}: allowPrivilegeEscalation false")
    if "ALL" not in _items(_path(context, "capabilities.drop")):
        found.append(f"{where}: capabilities.drop [ALL]")
    if context.get("readOnlyRootFilesystem") is not True:
        found.append(f"{where}: readOnlyRootFilesystem true")
    return found


# The controllers' charts: where each keeps its pod and container security contexts.
CONTROLLER_CONTEXT_KEYS = {
    CLUSTER_AUTOSCALER_CHART: ("securityContext", "containerSecurityContext"),
    LOAD_BALANCER_CONTROLLER_CHART: ("podSecurityContext", "securityContext"),
}


def _chart(props: Mapping[str, Any]) -> str:
    return str(props.get("chart") or "").rsplit("/", 1)[-1]


@rule("helm-pod-hardening", "The Airflow, Cluster Autoscaler and Load Balancer Controller releases run their "
      "pods with RuntimeDefault seccomp, non-root, without privilege escalation or capabilities, on read-only "
      "root filesystems, and the Airflow chart's NetworkPolicies on.", types=[HELM_RELEASE])
def helm_pod_hardening(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    missing: list[str] = []
    values = _values(props)
    if values is not None:
        missing += _hardened_pod(_path(values, "securityContexts.pod"), "securityContexts.pod")
        missing += _hardened_container(_path(values, "securityContexts.containers"), "securityContexts.containers")
        # Their own pod and container contexts, not the global ones (the chart's
        # externalContainerSecurityContext helper).
        for block in ("pgbouncer", "statsd"):
            if _path(values, f"{block}.enabled") is not False:
                missing += _hardened_pod(_path(values, f"{block}.securityContexts.pod"),
                                         f"{block}.securityContexts.pod")
                missing += _hardened_container(_path(values, f"{block}.securityContexts.container"),
                                               f"{block}.securityContexts.container")
        if _path(values, "pgbouncer.enabled") is not False:
            exporter = "pgbouncer.metricsExporterSidecar.securityContexts.container"
            missing += _hardened_container(_path(values, exporter), exporter)
        if _path(values, "dags.gitSync.enabled"):
            missing += _hardened_container(_path(values, "dags.gitSync.securityContexts.container"),
                                           "dags.gitSync.securityContexts.container")
        if _path(values, "networkPolicies.enabled") is not True:
            missing.append("networkPolicies.enabled true")
    elif _chart(props) in CONTROLLER_CONTEXT_KEYS:
        values = _map(props.get("values"))
        pod_key, container_key = CONTROLLER_CONTEXT_KEYS[_chart(props)]
        missing += _hardened_pod(values.get(pod_key), pod_key)
        missing += _hardened_container(values.get(container_key), container_key)
    if not missing:
        return []
    return [f"chart {_chart(props)!r} pods are not hardened; set {'; '.join(missing)} (the chart's defaults "
            "leave them unset, and a process that escapes gets whatever the node allows)."]
