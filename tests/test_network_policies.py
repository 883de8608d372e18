"""Who may reach what, evaluated on the rendered NetworkPolicies (the chart's and the
program's) with Kubernetes' semantics: what has to keep working is allowed, the rest denied.

Pods are sources with their namespace, labels AND address: the VPC CNI gives pods addresses in
the nodes' (private) subnets and its policy agent matches `ipBlock` peers by address alone, so a
rule admitting the private subnets (the metrics collector's, an internal ALB's) admits every
pod of the cluster too.

Not modelled, because no policy ever filters it: traffic from a pod's own node, which the
agent always admits (kubelet probes; aws-network-policy-agent's firewall rule processor adds the
node IP to every pod's allow map), and `kubectl port-forward`, which the kubelet's container
runtime delivers on the pod's own loopback interface, never through the pod's veth where the
agent's eBPF filters sit.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pytest

from airflow_eks import names, scrape
from tests.test_rendered_manifests import _stack_runs, objects, pods, run, settings, task_pod  # noqa: F401 (fixture)

NAMESPACE = names.AIRFLOW_NAMESPACE
RELEASE = names.AIRFLOW_RELEASE


@dataclass(frozen=True)
class Source:
    namespace: str | None = None
    labels: dict = field(default_factory=dict)
    ip: str | None = None
    """A pod (namespace, labels and its address) or an address outside the cluster's pods
    (ip alone)."""


def _selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {"In": present and value in e.get("values", []), "NotIn": value not in e.get("values", []),
              "Exists": present, "DoesNotExist": not present}[e["operator"]]
        if not ok:
            return False
    return True


def _peer_matches(peer: dict, source: Source) -> bool:
    if "ipBlock" in peer:
        if source.ip is None:
            return False
        address = ipaddress.ip_address(source.ip)
        return address in ipaddress.ip_network(peer["ipBlock"]["cidr"]) and not any(
            address in ipaddress.ip_network(c) for c in peer["ipBlock"].get("except", []))
    if source.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": source.namespace}):
            return False
    elif source.namespace != NAMESPACE:
        return False
    return _selects(peer.get("podSelector", {}), source.labels)


def _port_matches(rule_ports: list | None, port: int, protocol: str) -> bool:
    return not rule_ports or any(int(p.get("port", port)) == port and p.get("protocol", "TCP") == protocol
                                 for p in rule_ports)


def allowed(policies: list[dict], target: dict, source: Source, port: int, protocol: str = "TCP") -> bool:
    """Kubernetes NetworkPolicy ingress: a pod no Ingress policy selects accepts everything;
    otherwise the union of the selecting policies' rules decides."""
    selecting = [p for p in policies if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
                 and _selects(p["spec"]["podSelector"], target)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")  # none: every source
            from_ok = not peers or any(_peer_matches(p, source) for p in peers)
            if from_ok and _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def policies(variant: str) -> list[dict]:
    return [o for o in objects(variant) if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == NAMESPACE]


def labels(variant: str) -> dict[str, dict]:
    """Pod labels of each Airflow component, from the rendered workloads and task pod."""
    found = {o["metadata"]["name"].removeprefix(f"{RELEASE}-"): o["spec"]["template"]["metadata"]["labels"]
             for o in objects(variant) if o["kind"] in ("Deployment", "StatefulSet", "Job")
             and o["metadata"]["namespace"] == NAMESPACE}
    found["task"] = task_pod(variant)["metadata"]["labels"]
    return found


def network(variant: str):
    return run(variant).one("eks:index:Cluster")


def _subnet_address(variant: str, tier: str) -> str:
    """An address in the stack's first `tier` ("private" or "public") subnet."""
    subnet = next(s for s in run(variant).find("aws:ec2/subnet:Subnet") if s.name.startswith(f"airflow-{tier}-"))
    return str(next(ipaddress.ip_network(subnet.get("cidrBlock")).hosts()))


def pod(variant: str, labels: dict, namespace: str = NAMESPACE) -> Source:
    """A pod as the policy agent sees it: an address in a private subnet (the VPC CNI assigns
    pods secondary addresses of their node's subnet)."""
    return Source(namespace, labels, ip=_subnet_address(variant, "private"))


def _load_balancer_address(variant: str) -> str | None:
    """Where the UI's ALB connects from (IP targets): its scheme's subnets; None without a UI."""
    ui = settings(variant).ui
    if not ui.enabled:
        return None
    return _subnet_address(variant, "private" if ui.scheme == "internal" else "public")


STACKS = pytest.mark.parametrize("variant", ["dev", "prod", "ui-internet-facing"])


AIRFLOW_CLIENTS = ("scheduler", "api-server", "dag-processor", "triggerer", "task",
                   "run-airflow-migrations", "create-user")


@STACKS
def test_what_has_to_work_is_allowed(variant):
    p, pods_ = policies(variant), labels(variant)
    collector = _subnet_address(variant, "private")
    must = [
        # the Execution API and the UI's REST API: task pods, DAG processor, triggerer
        *[(c, "api-server", 8080, "TCP") for c in ("task", "dag-processor", "triggerer")],
        # StatsD from every Airflow pod; PgBouncer from every pod that uses the metadata DB
        *[(c, "statsd", 9125, "UDP") for c in AIRFLOW_CLIENTS if c in pods_],
        *[(c, "pgbouncer", 6543, "TCP") for c in AIRFLOW_CLIENTS if c in pods_],
        # the API server reads a deferred task's log from the triggerer
        ("api-server", "triggerer", 8794, "TCP"),
    ]
    denied = [m for m in must
              if not allowed(p, pods_[m[1]], pod(variant, pods_[m[0]]), m[2], m[3])]
    assert denied == []
    # the UI's load balancer reaches the API server; a collector the exporters
    if (lb := _load_balancer_address(variant)) is not None:
        assert allowed(p, pods_["api-server"], Source(ip=lb), 8080)
    # the AMP collector (ENIs in the private subnets) scrapes the exporters at their pod IPs
    if settings(variant).metrics.enabled:
        assert allowed(p, pods_["statsd"], Source(ip=collector), scrape.STATSD_PORT)
        assert allowed(p, pods_["pgbouncer"], Source(ip=collector), scrape.PGBOUNCER_PORT)


@STACKS
def test_everything_else_is_denied(variant):
    p, pods_ = policies(variant), labels(variant)
    elsewhere = pod(variant, {"app": "anything"}, namespace="default")
    collector = Source(ip=_subnet_address(variant, "private"))
    # the database and metric ingest: Airflow's pods only, whatever their address
    for target, port, protocol in (("pgbouncer", 6543, "TCP"), ("statsd", 9125, "UDP")):
        assert not allowed(p, pods_[target], elsewhere, port, protocol), target
    # the API server: Airflow's pods, plus an internal ALB's subnets, which are the pods' too
    # (docs/security.md, Pod security: Airflow still authenticates every request)
    internal_alb = settings(variant).ui.enabled and settings(variant).ui.scheme == "internal"
    assert allowed(p, pods_["api-server"], elsewhere, 8080) is internal_alb
    assert allowed(p, pods_["api-server"], collector, 8080) is internal_alb
    if _load_balancer_address(variant) is None:
        assert not allowed(p, pods_["api-server"], Source(ip=_subnet_address(variant, "public")), 8080)
    # the scrape ports admit the collector's subnets, so any pod there may read metrics (docs/security.md);
    # without a collector (metrics: none) they stay Airflow's
    scraped = settings(variant).metrics.enabled
    assert allowed(p, pods_["statsd"], elsewhere, scrape.STATSD_PORT) is scraped
    assert allowed(p, pods_["pgbouncer"], elsewhere, scrape.PGBOUNCER_PORT) is scraped
    assert allowed(p, pods_["statsd"], collector, scrape.STATSD_PORT) is scraped
    # the collector scrapes; it opens no database session and writes no metrics
    assert not allowed(p, pods_["pgbouncer"], collector, 6543)
    assert not allowed(p, pods_["statsd"], collector, 9125, "UDP")
    # nothing connects to the scheduler, the DAG processor, task pods or the jobs
    for target in ("scheduler", "dag-processor", "task", "run-airflow-migrations"):
        for source in ("api-server", "task"):
            assert not allowed(p, pods_[target], pod(variant, pods_[source]), 8793), (source, target)


@STACKS
def test_egress_is_not_restricted(variant):
    """DNS, PgBouncer to RDS, git-sync to the git host, S3, STS and Pod Identity all go out:
    no policy restricts egress (ingress is what protects the database and the API server)."""
    assert policies(variant)
    assert all(o["spec"]["policyTypes"] == ["Ingress"] for o in policies(variant))
    assert not any(o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] != NAMESPACE for o in objects(variant))


@STACKS
def test_every_service_in_the_namespace_targets_its_own_port(variant):
    """The VPC CNI's policies match the container port and its docs require a Service's port to
    equal it (Considerations, cni-network-policy): a remapped port would be dropped."""
    remapped = [(o["metadata"]["name"], port) for o in objects(variant)
                if o["kind"] == "Service" and o["metadata"]["namespace"] == NAMESPACE
                for port in o["spec"]["ports"] if port.get("targetPort", port["port"]) != port["port"]]
    assert remapped == []


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_the_cluster_enforces_network_policies(variant):
    """Without the VPC CNI's policy agent, every policy above is accepted and ignored."""
    assert network(variant).get("vpcCniOptions.enableNetworkPolicy") is True
    assert pods(variant)  # the pods above are the ones the policies select


def test_the_evaluator_follows_kubernetes_semantics():
    db = {"app": "db"}
    deny_all = {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    open_rule = {"spec": {"podSelector": {"matchLabels": db}, "ingress": [{}]}}
    client = Source(NAMESPACE, {"app": "web"})
    assert allowed([], db, client, 5432)
    assert not allowed([deny_all], db, client, 5432)
    assert allowed([deny_all, open_rule], db, client, 5432)  # policies add up
    only_web = {"spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                                          "ports": [{"port": 5432}]}]}}
    assert allowed([only_web], db, client, 5432)
    assert not allowed([only_web], db, client, 5433)
    assert not allowed([only_web], db, Source("other", {"app": "web"}), 5432)
    assert not allowed([only_web], db, Source(ip="10.0.0.5"), 5432)
    # an ipBlock admits a pod by its address, whatever its namespace and labels
    subnet = {"spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/19"}}]}]}}
    assert allowed([subnet], db, Source("other", {"app": "x"}, ip="10.0.0.5"), 5432)
    assert not allowed([subnet], db, Source("other", {"app": "x"}, ip="10.0.32.5"), 5432)
