"""Deploy-time estimate (tools/plan/deploy_time.py): the critical path through the recorded
dependency graph, on synthetic records with hand-computed times from durations.yaml, and on
the real program."""

from __future__ import annotations

import pytest

from tests.plan_records import entries, rec, urn
from tools.plan import deploy_time

TABLE = deploy_time.load_durations()

VPC, SUBNET = "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet"
EKS, MNG = "eks:index:Cluster", "eks:index:ManagedNodeGroup"
ADDON, HELM, RDS = "aws:eks/addon:Addon", "kubernetes:helm.sh/v3:Release", "aws:rds/instance:Instance"
ROLE, NS, K8S = "aws:iam/role:Role", "kubernetes:core/v1:Namespace", "pulumi:providers:kubernetes"


def names(result: dict) -> list[str]:
    return [step["name"] for step in result["path"]]


def stack() -> list:
    """VPC -> subnet -> EKS -> nodes -> add-on -> Airflow, with RDS and IAM off the path."""
    return [
        rec(VPC, "vpc"),
        rec(SUBNET, "subnet", deps=(urn(VPC, "vpc"),)),
        rec(ROLE, "node-role"),
        rec(EKS, "eks", custom=False, prop_deps={"privateSubnetIds": [urn(SUBNET, "subnet")]}),
        rec(MNG, "system", custom=False, deps=(urn(EKS, "eks"), urn(ROLE, "node-role"))),
        rec(ADDON, "coredns", deps=(urn(EKS, "eks"), urn(MNG, "system"))),
        rec(RDS, "db", {"multiAz": False}, deps=(urn(SUBNET, "subnet"),)),
        rec(K8S, "k8s", prop_deps={"kubeconfig": [urn(EKS, "eks")]}),
        rec(HELM, "airflow", {"chart": "airflow"}, deps=(urn(ADDON, "coredns"), urn(RDS, "db")),
            provider=f"{urn(K8S, 'k8s')}::k8s-id"),
    ]


def test_longest_chain_is_named_with_its_start_times():
    result = deploy_time.critical_path(entries(*stack()), TABLE)
    assert names(result) == ["vpc", "subnet", "eks", "system", "coredns", "airflow"]
    # 15 + 10 + 720 + 240 + 120 + 480
    assert result["totalSeconds"] == 1585
    assert [s["startSeconds"] for s in result["path"]] == [0, 15, 25, 745, 985, 1105]
    assert result["typesNotInTable"] == []


def test_a_slower_database_takes_over_the_path():
    records = stack()
    db = next(r for r in records if r.name == "db")
    db.inputs["multiAz"] = True                      # 900 s instead of 600
    slow = [rec("aws:ec2/natGateway:NatGateway", "nat", deps=(urn(SUBNET, "subnet"),))]
    db.dependencies.append(urn("aws:ec2/natGateway:NatGateway", "nat"))
    result = deploy_time.critical_path(entries(*records, *slow), TABLE)
    # 15 + 10 + 120 (NAT) + 900 = 1045 < 1105: the EKS chain still decides
    assert names(result)[-1] == "airflow" and "db" not in names(result)
    db.inputs["instanceClass"] = "x"
    records.append(rec(ROLE, "late", deps=(urn(HELM, "airflow"),)))
    assert names(deploy_time.critical_path(entries(*records, *slow), TABLE))[-1] == "late"


def test_the_provider_carries_the_dependency_on_the_cluster():
    records = [rec(EKS, "eks", custom=False), rec(K8S, "k8s", prop_deps={"kubeconfig": [urn(EKS, "eks")]}),
               rec(NS, "ns", provider=f"{urn(K8S, 'k8s')}::id")]
    result = deploy_time.critical_path(entries(*records), TABLE)
    assert names(result) == ["eks", "k8s", "ns"]
    assert result["totalSeconds"] == 722


def test_a_remote_component_passed_by_reference_is_waited_for():
    # ManagedNodeGroup(cluster=cluster): the SDK keeps the reference out of the dependency
    # list of a remote component; the mocks record it as the cluster's URN.
    records = [rec(EKS, "eks", custom=False), rec(MNG, "ng", {"cluster": urn(EKS, "eks")}, custom=False)]
    result = deploy_time.critical_path(entries(*records), TABLE)
    assert (names(result), result["totalSeconds"]) == (["eks", "ng"], 960)


def test_depending_on_a_component_waits_for_all_its_children():
    comp = "airflow-eks:network:Network"
    records = [
        rec(comp, "net", custom=False),
        rec(VPC, "vpc", parent=urn(comp, "net")),
        rec("aws:ec2/natGateway:NatGateway", "nat", parent=urn(comp, "net"), deps=(urn(VPC, "vpc"),)),
        rec(ROLE, "role", deps=(urn(comp, "net"),)),     # as if the SDK had not expanded it
    ]
    result = deploy_time.critical_path(entries(*records), TABLE)
    assert names(result) == ["vpc", "nat", "role"]
    assert result["totalSeconds"] == 15 + 120 + 10


def test_children_start_after_their_parent_but_parents_do_not_wait_for_children():
    box = "airflow-eks:x:Box"
    db, child = rec(RDS, "db"), rec(ROLE, "child", parent=urn(RDS, "db"))
    # a custom parent exists before its child is registered: 600 + 10
    result = deploy_time.critical_path(entries(db, child), TABLE)
    assert (names(result), result["totalSeconds"]) == (["db", "child"], 610)
    # a dependent of the parent does not wait for the parent's children: 600 + 480, not 610 + 480
    after = rec(HELM, "after", {"chart": "airflow"}, deps=(urn(RDS, "db"),))
    result = deploy_time.critical_path(entries(db, child, after), TABLE)
    assert (names(result), result["totalSeconds"]) == (["db", "after"], 1080)
    # a component registers once its own dependencies exist, and only then its children
    comp = rec(box, "box", custom=False, deps=(urn(RDS, "db"),))
    inside = rec(HELM, "inside", {"chart": "airflow"}, parent=urn(box, "box"))
    result = deploy_time.critical_path(entries(db, comp, inside), TABLE)
    assert (names(result), result["totalSeconds"]) == (["db", "inside"], 1080)


def test_variants_and_unknown_types():
    def seconds(typ, inputs=None, custom=True):
        return deploy_time.seconds_for(entries(rec(typ, "x", inputs, custom=custom))[0], TABLE)

    assert seconds(RDS, {"multiAz": True}) == (900, True)
    assert seconds(RDS, {"multiAz": False}) == (600, True)
    assert seconds(HELM, {"chart": "airflow"}) == (480, True)
    assert seconds(HELM, {"chart": "cluster-autoscaler"}) == (120, True)
    assert seconds("aws:ec2/routeTable:RouteTable") == (5, True)     # prefix rule aws:ec2/*
    assert seconds("aws:ec2/natGateway:NatGateway") == (120, True)   # exact beats prefix
    assert seconds("aws:sqs/queue:Queue") == (TABLE["default_seconds"], False)
    assert seconds("airflow-eks:x:Box", custom=False) == (0, True)
    result = deploy_time.critical_path(entries(rec("aws:sqs/queue:Queue", "q")), TABLE)
    assert result["typesNotInTable"] == ["aws:sqs/queue:Queue"]


def test_cycles_are_reported():
    records = [rec(ROLE, "a", deps=(urn(ROLE, "b"),)), rec(ROLE, "b", deps=(urn(ROLE, "a"),))]
    with pytest.raises(ValueError, match="cycle"):
        deploy_time.critical_path(entries(*records), TABLE)


def test_every_duration_entry_is_justified():
    assert all(rule.get("why") and rule["seconds"] >= 0 for rule in TABLE["types"].values())


# -- the real program ----------------------------------------------------------------------
OFF_PATH = ("aws:rds/", "aws:s3/", "aws:iam/")


def test_real_program_path_runs_from_the_vpc_through_the_cluster_and_its_nodes(program):
    from tools.plan import model

    result = deploy_time.critical_path(model.resources(program.resources), TABLE)
    types = [s["type"] for s in result["path"]]
    assert types[0] == VPC
    assert EKS in types and MNG in types and ADDON in types, types
    assert types.index(EKS) < types.index(MNG) < types.index(ADDON)
    assert not [t for t in types if t.startswith(OFF_PATH)], result["path"]
    assert result["typesNotInTable"] == []
    # The Airflow release is the last thing a deploy waits for, but for the UI's Ingress and DNS
    # record (prod), which route to it.
    [airflow] = [r for r in program.find(HELM) if r.get("chart") == "airflow"]
    urns = [s["urn"] for s in result["path"]]
    after = [program.by_urn(u).typ for u in urns[urns.index(airflow.urn) + 1:]]
    assert after in ([], ["kubernetes:networking.k8s.io/v1:Ingress", "aws:route53/record:Record"]), after
