"""Metrics component alone (under mocks) and in the whole program: what it creates, who may do
what, and that dev has none of it while prod has all of it, deleted before the cluster."""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml

from airflow_eks import alert_rules, iam, scrape
from airflow_eks.config import MetricsSettings
from airflow_eks.offline import harness
from components.metrics import Metrics, MetricsArgs

ACCOUNT = "123456789012"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/airflow-eks-prod"
CLUSTER_SG = "sg-cluster"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
SCRAPER = "aws:amp/scraper:Scraper"
WORKSPACE = "aws:amp/workspace:Workspace"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALERTMANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
METRIC_TYPES = ("aws:amp/", "aws:sns/")


def build(alert_email: str = "", interval: str = "60s"):
    def body():
        metrics = Metrics("m", MetricsArgs(
            settings=MetricsSettings(mode="amp", alert_email=alert_email, scrape_interval=interval),
            region="us-east-1", project="airflow-eks", stack="prod", cluster_name="airflow-eks-prod",
            cluster_arn=CLUSTER_ARN, cluster_security_group_id=CLUSTER_SG, vpc_id="vpc-1",
            subnet_ids=SUBNETS, system_min_nodes=2))
        pulumi.export("workspace_id", metrics.workspace_id)
        pulumi.export("workspace_arn", metrics.workspace_arn)
        pulumi.export("topic_arn", metrics.alert_topic_arn)
        return metrics
    return body


# The mock engine's IDs and ARNs (airflow_eks/offline/mocks.py) for what the component does not export.
def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}-1234567"


def key_arn(name: str) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{name}-key-id"


def out(run: harness.Run, name: str) -> str:
    return run.outputs[name][0]


@pytest.fixture(scope="module")
def run() -> harness.Run:
    return harness.run(build("oncall@example.com"), stack="prod")


def doc(resource, key: str) -> dict:
    return json.loads(resource.get(key))


def test_the_workspace_is_encrypted_with_a_rotating_key_of_its_own(run):
    workspace = run.one(WORKSPACE)
    key = run.one(KEY, name="m-workspace-key")
    assert key.get("enableKeyRotation") is True
    assert workspace.get("kmsKeyArn") == key_arn(key.name)
    assert workspace.get("alias") == "airflow-eks-prod"


def test_the_collector_scrapes_this_cluster_from_the_private_subnets_into_this_workspace(run):
    scraper = run.one(SCRAPER)
    group = run.one("aws:ec2/securityGroup:SecurityGroup")
    assert scraper.get("source") == {"eks": {"clusterArn": CLUSTER_ARN, "subnetIds": SUBNETS,
                                             "securityGroupIds": [f"sg-{group.name}"]}}
    assert scraper.get("destination") == {"amp": {"workspaceArn": out(run, "workspace_arn")}}
    config = yaml.safe_load(scraper.get("scrapeConfiguration"))
    assert config["global"] == {"scrape_interval": "60s", "external_labels": {"cluster": "airflow-eks-prod"}}
    assert [j["job_name"] for j in config["scrape_configs"]] == [
        scrape.JOB_STATSD, scrape.JOB_PGBOUNCER, scrape.JOB_AUTOSCALER, scrape.JOB_KUBELET, scrape.JOB_CADVISOR,
        scrape.JOB_APISERVER]


def test_the_collector_reaches_only_the_cluster_security_group_on_the_scraped_ports(run):
    group = run.one("aws:ec2/securityGroup:SecurityGroup")
    ports = sorted([*scrape.TARGET_PORTS, 443])
    egress, ingress = run.find(EGRESS), run.find(INGRESS)
    assert sorted(r.get("fromPort") for r in egress) == ports == sorted(r.get("fromPort") for r in ingress)
    for rule in egress:
        assert (rule.get("securityGroupId"), rule.get("referencedSecurityGroupId")) == (f"sg-{group.name}", CLUSTER_SG)
        assert rule.get("toPort") == rule.get("fromPort") and rule.get("ipProtocol") == "tcp"
        assert rule.get("cidrIpv4") is None
    for rule in ingress:
        assert (rule.get("securityGroupId"), rule.get("referencedSecurityGroupId")) == (CLUSTER_SG, f"sg-{group.name}")
        assert rule.get("toPort") == rule.get("fromPort") and rule.get("cidrIpv4") is None
    # The group itself opens nothing (no inline rules, so no default allow-all egress kept).
    assert not group.get("egress") and not group.get("ingress")


def test_a_cmk_workspace_is_written_through_a_source_and_a_writer_role(run):
    scraper = run.one(SCRAPER)
    source, writer = run.one(ROLE, name="m-collector-source"), run.one(ROLE, name="m-collector-writer")
    assert scraper.get("roleConfiguration") == {"sourceRoleArn": role_arn(source.name),
                                                "targetRoleArn": role_arn(writer.name)}
    [trust] = doc(source, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "scraper.aps.amazonaws.com"}
    assert trust["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:aps:us-east-1:{ACCOUNT}:scraper/*"},
                                  "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    [writer_trust] = doc(writer, "assumeRolePolicy")["Statement"]
    assert writer_trust["Principal"] == {"AWS": role_arn(source.name)}
    assert writer_trust["Condition"]["StringLike"]["sts:ExternalId"].endswith(":scraper/*")
    policies = {p.name: doc(p, "policy")["Statement"] for p in run.find(ROLE_POLICY)}
    assert policies["m-collector-source-assume"] == [iam.allow(["sts:AssumeRole"], [role_arn(writer.name)])]
    remote_write, key_use = policies["m-collector-writer-write"]
    assert remote_write == iam.allow(["aps:RemoteWrite"], [out(run, "workspace_arn")])
    # Writing into a CMK workspace uses its key through AMP (the key policy AWS documents for
    # AMP admits the account's principals with kms:ViaService aps); only that key, only so.
    workspace_key = run.one(KEY, name="m-workspace-key")
    assert key_use == iam.allow(["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                                [key_arn(workspace_key.name)],
                                condition={"StringEquals": {"kms:ViaService": "aps.us-east-1.amazonaws.com"}})
    # The collector waits for both grants, which nothing in its inputs says.
    assert all(run.depends_on(scraper, p) for p in run.find(ROLE_POLICY))


def test_no_access_entry_or_rbac_of_our_own_amp_creates_the_collector_s(run):
    assert not [r for r in run.resources if r.typ.startswith(("aws:eks/accessEntry", "kubernetes:"))]


def test_rules_are_the_alert_rules_for_the_system_pool_minimum(run):
    namespace = run.one(RULES)
    assert namespace.get("workspaceId") == out(run, "workspace_id")
    assert namespace.get("data") == alert_rules.rules_yaml(system_min_nodes=2)


def test_only_this_workspace_may_publish_to_the_encrypted_alert_topic(run):
    topic, key = run.one(TOPIC), run.one(KEY, name="m-alerts-key")
    assert topic.get("kmsMasterKeyId") == key_arn(key.name) and key.get("enableKeyRotation") is True
    allow, deny = doc(run.one(TOPIC_POLICY), "policy")["Statement"]
    source = {"ArnEquals": {"aws:SourceArn": out(run, "workspace_arn")}, "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert allow["Principal"] == {"Service": "aps.amazonaws.com"} and allow["Condition"] == source
    assert allow["Resource"] == out(run, "topic_arn")
    assert deny["Effect"] == "Deny" and deny["Action"] == "sns:Publish"
    assert deny["Condition"] == {"ArnNotEquals": {"aws:SourceArn": out(run, "workspace_arn")}}
    key_statements = doc(key, "policy")["Statement"]
    [amp] = [s for s in key_statements if s.get("Principal") == {"Service": "aps.amazonaws.com"}]
    assert amp["Condition"] == source and amp["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert iam.wildcard_actions({"Statement": key_statements}) == []


def test_alerts_are_routed_to_the_topic_once_amp_may_publish(run):
    manager = run.one(ALERTMANAGER)
    config = yaml.safe_load(yaml.safe_load(manager.get("definition"))["alertmanager_config"])
    [receiver] = config["receivers"]
    assert config["route"]["receiver"] == receiver["name"]
    assert receiver["sns_configs"][0]["topic_arn"] == out(run, "topic_arn")
    assert receiver["sns_configs"][0]["sigv4"] == {"region": "us-east-1"}
    assert run.depends_on(manager, run.one(TOPIC_POLICY))


def test_the_alert_address_is_subscribed_by_email(run):
    [subscription] = run.find(SUBSCRIPTION)
    assert (subscription.get("protocol"), subscription.get("endpoint")) == ("email", "oncall@example.com")
    assert subscription.get("topic") == out(run, "topic_arn")


def test_without_an_address_nothing_is_subscribed():
    assert harness.run(build(""), stack="prod").find(SUBSCRIPTION) == []


def test_the_interval_reaches_the_collector():
    scraper = harness.run(build(interval="2m"), stack="prod").one(SCRAPER)
    assert yaml.safe_load(scraper.get("scrapeConfiguration"))["global"]["scrape_interval"] == "2m"


# --- the whole program -----------------------------------------------------------------------

def test_dev_has_none_of_it(programs):
    dev = programs["dev"]
    assert [r.name for r in dev.resources if r.typ.startswith(METRIC_TYPES) or r.typ.endswith(":Metrics")] == []
    assert not {"metricsWorkspaceId", "metricsPrometheusEndpoint", "alertTopicArn"} & set(dev.outputs)


def test_prod_plans_workspace_collector_rules_alert_routing_and_topic(programs):
    prod = programs["prod"]
    for typ in (WORKSPACE, SCRAPER, RULES, ALERTMANAGER, TOPIC, TOPIC_POLICY):
        assert len(prod.find(typ)) == 1, typ
    assert prod.find(SUBSCRIPTION) == []  # alertEmail is set per stack, not committed
    for output in ("metricsWorkspaceId", "metricsPrometheusEndpoint", "alertTopicArn"):
        value, secret = prod.outputs[output]
        assert value and not secret


def test_prod_s_collector_is_deleted_before_the_cluster_and_scrapes_its_subnets(programs):
    prod = programs["prod"]
    scraper, cluster = prod.one(SCRAPER), prod.one("eks:index:Cluster")
    # Pulumi deletes dependents first: the collector (and its ENIs) go before the cluster.
    assert prod.depends_on(scraper, cluster)
    own = sorted((s for s in prod.find("aws:ec2/subnet:Subnet") if s.name.startswith("airflow-collector-")),
                 key=lambda s: s.name)
    assert scraper.get("source")["eks"]["subnetIds"] == [f"subnet-{s.name}" for s in own]
    # two zones at least, five at most (AMP API reference, EksConfiguration.subnetIds)
    assert 2 <= len({s.get("availabilityZone") for s in own}) == len(own) <= 5
    assert not set(scraper.get("source")["eks"]["subnetIds"]) & set(prod.outputs["privateSubnetIds"][0])
    config = yaml.safe_load(scraper.get("scrapeConfiguration"))
    assert config["global"]["external_labels"]["cluster"] == prod.outputs["clusterName"][0]


def test_prod_s_collector_network_goes_before_the_cluster_and_after_the_collector(programs):
    """Destroy runs these edges backwards: the collector (and its ENIs) first, then its security
    group and the rules on the EKS-managed cluster security group, which EKS deletes with the
    cluster and the collector's group must not outlive (the VPC would then refuse deletion)."""
    prod = programs["prod"]
    scraper, cluster = prod.one(SCRAPER), prod.one("eks:index:Cluster")
    group = prod.one("aws:ec2/securityGroup:SecurityGroup", name="airflow-collector-sg")
    assert prod.depends_on(scraper, group)
    assert prod.depends_on(group, prod.one("aws:ec2/vpc:Vpc"))
    rules = [r for r in (*prod.find(INGRESS), *prod.find(EGRESS)) if "collector" in r.name]
    assert len(rules) == 2 * len((*scrape.TARGET_PORTS, 443))
    for rule in rules:
        assert prod.depends_on(rule, cluster), rule.name
        assert prod.depends_on(rule, group), rule.name


def test_prod_s_node_alert_uses_prod_s_system_pool_minimum(programs):
    data = programs["prod"].one(RULES).get("data")
    assert data == alert_rules.rules_yaml(system_min_nodes=2)


def test_prod_s_cluster_meets_what_the_managed_collector_requires(programs):
    """AMP creates the collector's access entry only on an API-mode cluster, and the collector
    reaches the API server through its private endpoint (AMP user guide, AMP-collector-how-to)."""
    cluster = programs["prod"].one("eks:index:Cluster")
    assert cluster.get("authenticationMode") == "API"
    assert cluster.get("endpointPrivateAccess") is True
    # ... and finds its targets only in a VPC with DNS on (same page, prerequisites).
    vpc = programs["prod"].one("aws:ec2/vpc:Vpc")
    assert vpc.get("enableDnsSupport") is True and vpc.get("enableDnsHostnames") is True
    # Two subnets in two zones at least.
    private = [s for s in programs["prod"].find("aws:ec2/subnet:Subnet") if s.name.startswith("airflow-private-")]
    assert len({s.get("availabilityZone") for s in private}) >= 2
