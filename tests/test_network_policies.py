"""Who may reach what, evaluated on the rendered NetworkPolicies (the chart's and the
program's) with Kubernetes' semantics: what has to keep working is allowed, the rest denied.

Pods are sources with their namespace, labels AND address: the VPC CNI gives pods addresses in
the nodes' (private) subnets and its policy agent matches `ipBlock` peers by address alone, so a
rule admitting a node subnet would admit every pod of the cluster too. That is why the UI's
load balancer and the metrics collector have subnets of their own (airflow_eks/subnets.py), and
why no `ipBlock` may overlap a subnet where nodes run.

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


# What the KubernetesExecutor adds to the pod template's labels on every task pod it launches
# (cncf.kubernetes provider, PodGenerator.build_labels_for_k8s_executor_pod, merged after the
# template); runtime/tests/test_task_pod_labels.py builds a task pod with the real provider
# from the rendered template and checks the same.
EXECUTOR_LABELS = {"dag_id": "a_dag", "task_id": "a_task", "try_number": "1", "kubernetes_executor": "True",
                   "airflow-worker": "7", "airflow_version": "3.1.8"}
# A task whose executor_config pod_override claims to be the scheduler: the override is merged
# last, so it may change any label's value, even blank the executor's, but not remove it.
SPOOFING = {"component": "scheduler", "kubernetes_executor": ""}


def labels(variant: str) -> dict[str, dict]:
    """Pod labels of each Airflow component, from the rendered workloads, and of a task pod
    as the executor launches it from the rendered template."""
    found = {o["metadata"]["name"].removeprefix(f"{RELEASE}-"): o["spec"]["template"]["metadata"]["labels"]
             for o in objects(variant) if o["kind"] in ("Deployment", "StatefulSet", "Job")
             and o["metadata"]["namespace"] == NAMESPACE}
    found["task"] = {**task_pod(variant)["metadata"]["labels"], **EXECUTOR_LABELS}
    found["spoofing-task"] = {**found["task"], **SPOOFING}
    return found


def network(variant: str):
    return run(variant).one("eks:index:Cluster")


def _subnets(variant: str, tier: str) -> list:
    return sorted((s for s in run(variant).find("aws:ec2/subnet:Subnet") if s.name.startswith(f"airflow-{tier}-")),
                  key=lambda s: s.name)


def _subnet_address(variant: str, tier: str) -> str:
    """An address in the stack's first `tier` subnet ("private", "public", "load-balancer",
    "collector")."""
    return str(next(ipaddress.ip_network(_subnets(variant, tier)[0].get("cidrBlock")).hosts()))


def node_subnets(variant: str) -> list[ipaddress.IPv4Network]:
    """Where nodes, and so pods, get their addresses: the subnets the node groups launch in."""
    by_id = {f"subnet-{s.name}": s for s in run(variant).find("aws:ec2/subnet:Subnet")}
    ids = {i for g in run(variant).find("eks:index:ManagedNodeGroup") for i in g.get("subnetIds")}
    assert ids
    return [ipaddress.ip_network(by_id[i].get("cidrBlock")) for i in sorted(ids)]


def pod(variant: str, labels: dict, namespace: str = NAMESPACE) -> Source:
    """A pod as the policy agent sees it: an address in a private subnet (the VPC CNI assigns
    pods secondary addresses of their node's subnet)."""
    return Source(namespace, labels, ip=_subnet_address(variant, "private"))


def _load_balancer_address(variant: str) -> str | None:
    """Where the UI's ALB connects from (IP targets): its own subnets; None without a UI."""
    return _subnet_address(variant, "load-balancer") if settings(variant).ui.enabled else None


def _collector_address(variant: str) -> str | None:
    """Where the AMP collector scrapes from: its own subnets; None without metrics."""
    return _subnet_address(variant, "collector") if settings(variant).metrics.enabled else None


STACKS = pytest.mark.parametrize("variant", ["dev", "prod", "ui-internet-facing"])


# Airflow's components and Jobs: every one may send StatsD and open database sessions.
COMPONENTS = ("scheduler", "api-server", "dag-processor", "triggerer", "run-airflow-migrations", "create-user")
AIRFLOW_CLIENTS = (*COMPONENTS, "task")


@STACKS
def test_what_has_to_work_is_allowed(variant):
    p, pods_ = policies(variant), labels(variant)
    must = [
        # the Execution API and the UI's REST API: task pods, DAG processor, triggerer
        *[(c, "api-server", 8080, "TCP") for c in ("task", "dag-processor", "triggerer")],
        # StatsD: the components to the chart's exporter, task pods to their own (task outcomes
        # and durations come from the task runner in the task pod); PgBouncer from every pod
        # that uses the metadata DB
        *[(c, "statsd", 9125, "UDP") for c in COMPONENTS if c in pods_],
        ("task", "task-statsd", 9125, "UDP"),
        *[(c, "pgbouncer", 6543, "TCP") for c in AIRFLOW_CLIENTS if c in pods_],
        # the API server reads a deferred task's log from the triggerer
        ("api-server", "triggerer", 8794, "TCP"),
    ]
    denied = [m for m in must
              if not allowed(p, pods_[m[1]], pod(variant, pods_[m[0]]), m[2], m[3])]
    assert denied == []
    # the UI's load balancer reaches the API server from its own subnets
    if (lb := _load_balancer_address(variant)) is not None:
        assert allowed(p, pods_["api-server"], Source(ip=lb), 8080)
    # the AMP collector (ENIs in its own subnets) scrapes the exporters at their pod IPs
    if (collector := _collector_address(variant)) is not None:
        assert allowed(p, pods_["statsd"], Source(ip=collector), scrape.STATSD_PORT)
        assert allowed(p, pods_["task-statsd"], Source(ip=collector), scrape.STATSD_PORT)
        assert allowed(p, pods_["pgbouncer"], Source(ip=collector), scrape.PGBOUNCER_PORT)


@STACKS
def test_a_task_pod_cannot_reach_the_components_statsd_ingest(variant):
    """Else DAG code could send `scheduler_heartbeat` and silence the heartbeat alert. Its own
    exporter maps only task metrics (tests/test_metric_names.py)."""
    p, pods_ = policies(variant), labels(variant)
    for task in ("task", "spoofing-task"):
        for protocol in ("UDP", "TCP"):  # statsd_exporter also listens on TCP 9125
            assert not allowed(p, pods_["statsd"], pod(variant, pods_[task]), 9125, protocol), (task, protocol)
    # and the task pods' exporter takes task pods only: no component, no other pod
    assert allowed(p, pods_["task-statsd"], pod(variant, pods_["spoofing-task"]), 9125, "UDP")
    for source in ("scheduler", "api-server", "dag-processor"):
        assert not allowed(p, pods_["task-statsd"], pod(variant, pods_[source]), 9125, "UDP"), source
    assert not allowed(p, pods_["task-statsd"], pod(variant, {"app": "x"}, "default"), 9125, "UDP")


@STACKS
def test_everything_else_is_denied(variant):
    p, pods_ = policies(variant), labels(variant)
    elsewhere = pod(variant, {"app": "anything"}, namespace="default")
    # the database and metric ingest: Airflow's pods only, whatever their address
    for target, port, protocol in (("pgbouncer", 6543, "TCP"), ("statsd", 9125, "UDP"), ("task-statsd", 9125, "UDP")):
        assert not allowed(p, pods_[target], elsewhere, port, protocol), target
    # the API server and the scrape ports admit exactly the load balancer's and the collector's
    # subnets: a pod in another namespace reaches none of them, whatever the stack
    for target, port in (("api-server", 8080), ("statsd", scrape.STATSD_PORT), ("task-statsd", scrape.STATSD_PORT),
                         ("pgbouncer", scrape.PGBOUNCER_PORT)):
        assert not allowed(p, pods_[target], elsewhere, port), target
        # nor do Airflow's own pods read the exporters' metrics: only the collector does
        if target != "api-server":
            assert not allowed(p, pods_[target], pod(variant, pods_["task"]), port), target
    if (collector := _collector_address(variant)) is not None:
        # the collector scrapes; it opens no database session, writes no metrics, calls no API
        assert not allowed(p, pods_["pgbouncer"], Source(ip=collector), 6543)
        assert not allowed(p, pods_["statsd"], Source(ip=collector), 9125, "UDP")
        assert not allowed(p, pods_["api-server"], Source(ip=collector), 8080)
    if (lb := _load_balancer_address(variant)) is not None:
        # the load balancer reaches the API server only
        for target, port in (("statsd", scrape.STATSD_PORT), ("pgbouncer", scrape.PGBOUNCER_PORT),
                             ("pgbouncer", 6543), ("triggerer", 8794)):
            assert not allowed(p, pods_[target], Source(ip=lb), port), target
    # the NAT gateways' subnets reach nothing
    nat = Source(ip=_subnet_address(variant, "public"))
    assert not [t for t, port in (("api-server", 8080), ("statsd", 9102), ("pgbouncer", 9127))
                if allowed(p, pods_[t], nat, port)]
    # nothing connects to the scheduler, the DAG processor, task pods or the jobs
    for target in ("scheduler", "dag-processor", "task", "run-airflow-migrations"):
        for source in ("api-server", "task"):
            assert not allowed(p, pods_[target], pod(variant, pods_[source]), 8793), (source, target)


@STACKS
def test_no_ip_block_overlaps_a_subnet_where_nodes_and_pods_live(variant):
    """An ipBlock that covers a node subnet admits every pod there, in any namespace."""
    blocks = [ipaddress.ip_network(peer["ipBlock"]["cidr"])
              for o in policies(variant) for rule in o["spec"].get("ingress", [])
              for peer in rule.get("from", []) if "ipBlock" in peer]
    nodes = node_subnets(variant)
    assert [(str(b), str(n)) for b in blocks for n in nodes if b.overlaps(n)] == []
    # and the blocks are exactly the load balancer's and the collector's subnets
    expected = {s.get("cidrBlock") for tier in ("load-balancer", "collector") for s in _subnets(variant, tier)}
    assert {str(b) for b in blocks} == expected


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
