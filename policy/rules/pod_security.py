"""Pod security rules for what the rendered-manifest gate (tests/test_checkov_gate.py) cannot see
at preview time: `pulumi preview` shows the Helm releases' values, the program's own
NetworkPolicies and the VPC CNI add-on's configuration, not the pods the charts will render. So
the rules read those: the cluster enforces NetworkPolicies, Airflow's namespace denies ingress
by default, no policy admits an address range where pods live, and the Airflow, Cluster
Autoscaler and Load Balancer Controller releases ask for a seccomp profile, non-root users, no
privilege escalation, no capabilities and read-only root filesystems.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .airflow_values import NAMESPACE_CONFIG, _airflow_namespaces, _values
from .aws_eks import _node_groups
from .base import Resource, rule
from .constants import (
    CLUSTER_AUTOSCALER_CHART,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_COMPONENT,
    HELM_RELEASE,
    LOAD_BALANCER_CONTROLLER_CHART,
    NAMESPACE,
    NETWORK_POLICY,
    RUNTIME_DEFAULT,
    SUBNET,
    VPC_CNI_ADDON,
)
from .helpers import _items, _map, _of_type, _path, _references


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
      "root filesystems.", types=[HELM_RELEASE])
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
    elif _chart(props) in CONTROLLER_CONTEXT_KEYS:
        values = _map(props.get("values"))
        pod_key, container_key = CONTROLLER_CONTEXT_KEYS[_chart(props)]
        missing += _hardened_pod(values.get(pod_key), pod_key)
        missing += _hardened_container(values.get(container_key), container_key)
    if not missing:
        return []
    return [f"chart {_chart(props)!r} pods are not hardened; set {'; '.join(missing)} (the chart's defaults "
            "leave them unset, and a process that escapes gets whatever the node allows)."]


def _denies_by_default(policy: Resource) -> bool:
    spec = _map(policy.props.get("spec"))
    return (not _map(spec.get("podSelector")) and "Ingress" in [str(t) for t in _items(spec.get("policyTypes"))]
            and not _items(spec.get("ingress")))


@rule("airflow-default-deny", "Airflow's namespace has a NetworkPolicy denying ingress to every pod, so a pod "
      "no other policy selects (DAG processor, task pods, Jobs, anything added later) accepts no connection.",
      config=NAMESPACE_CONFIG)
def airflow_default_deny(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for release, namespace in _airflow_namespaces(resources, cfg):
        if not any(str(_path(p.props, "metadata.namespace")) == namespace and _denies_by_default(p)
                   for p in _of_type(resources, NETWORK_POLICY)):
            found.append((f"namespace {namespace} needs a default-deny NetworkPolicy (podSelector {{}}, "
                          "policyTypes [Ingress], no rules); the chart's own policies select only some "
                          "components, so task pods and Jobs would accept any connection.", release.urn))
    return found


# Pod Security Admission's enforce label and the profiles that keep pods off the node's network,
# processes and files (Pod Security Standards: baseline and restricted).
POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCED_PROFILES = ("baseline", "restricted")


@rule("airflow-pod-security-admission", "Airflow's namespace enforces a Pod Security Standards profile (label "
      "pod-security.kubernetes.io/enforce: restricted, or baseline), so no pod there, a task's pod_override "
      "included, runs on the node's network, privileged or with the node's files: NetworkPolicies would not hold "
      "and the node's credentials would be in reach.",
      config=NAMESPACE_CONFIG)
def airflow_pod_security_admission(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for release, namespace in _airflow_namespaces(resources, cfg):
        enforced = [str(_map(_path(n.props, "metadata.labels")).get(POD_SECURITY_ENFORCE_LABEL))
                    for n in _of_type(resources, NAMESPACE) if str(_path(n.props, "metadata.name")) == namespace]
        if not any(profile in ENFORCED_PROFILES for profile in enforced):
            found.append((f"namespace {namespace} needs the label {POD_SECURITY_ENFORCE_LABEL}: restricted (or "
                          "baseline): without it a task's pod_override may put the task on the node's network, "
                          "where NetworkPolicies do not apply, or run it privileged.", release.urn))
    return found


def _ip_blocks(node: Any) -> Iterator[str]:
    """Every `ipBlock.cidr` anywhere in a NetworkPolicy spec or a chart's values."""
    if isinstance(node, Mapping):
        block = node.get("ipBlock")
        if isinstance(block, Mapping) and isinstance(block.get("cidr"), str):
            yield block["cidr"]
        for value in node.values():
            yield from _ip_blocks(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _ip_blocks(value)


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None  # unknown at preview, or not an address: nothing to compare


@rule("network-policy-ip-peers", "No NetworkPolicy (the program's, or one a chart renders from its values) admits "
      "an ipBlock overlapping a subnet where node groups launch: the VPC CNI gives pods addresses there and its "
      "policy agent matches ipBlocks by address alone, so such a block admits every pod of the cluster.")
def network_policy_ip_peers(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    subnets = _of_type(resources, SUBNET)
    node_subnets = [(s.name, n) for s in subnets
                    if any(_references(g, "subnetIds", s, ("id",)) for g in _node_groups(resources))
                    and (n := _network(str(s.props.get("cidrBlock"))))]
    found = []
    owners = [(p, _map(p.props.get("spec"))) for p in _of_type(resources, NETWORK_POLICY)]
    owners += [(r, _map(r.props.get("values"))) for r in _of_type(resources, HELM_RELEASE)]
    for owner, tree in owners:
        for cidr in _ip_blocks(tree):
            block = _network(cidr)
            hit = sorted(name for name, net in node_subnets if block and block.version == net.version
                         and block.overlaps(net))
            if hit:
                found.append((f"ipBlock {cidr} overlaps node subnets {hit}: it admits every pod there, in any "
                              "namespace; admit a subnet no pod has an address in (a load balancer's or "
                              "collector's own).", owner.urn))
    return found

