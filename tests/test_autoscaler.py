"""Cluster Autoscaler: pinned versions, Helm values and the least-privilege IAM policy (pure)."""

from __future__ import annotations

import re

import pytest

from airflow_eks import autoscaler, iam, names, versions
from airflow_eks.offline import loader

CLUSTER = "airflow-eks-eksCluster-1234567"
CLUSTER_ARN = f"arn:aws:eks:eu-west-1:123456789012:cluster/{CLUSTER}"


def test_every_supported_kubernetes_minor_has_an_autoscaler_of_the_same_minor():
    assert tuple(versions.CLUSTER_AUTOSCALER_IMAGE_TAGS) == versions.SUPPORTED_KUBERNETES_VERSIONS
    for minor, tag in versions.CLUSTER_AUTOSCALER_IMAGE_TAGS.items():
        assert re.fullmatch(rf"v{re.escape(minor)}\.\d+", tag)


def test_default_kubernetes_version_is_supported():
    assert str(loader.project_file()["config"]["kubernetesVersion"]["default"]) in (
        versions.SUPPORTED_KUBERNETES_VERSIONS)


def test_chart_is_pinned_to_an_exact_release():
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.CLUSTER_AUTOSCALER_CHART_VERSION)
    assert versions.CLUSTER_AUTOSCALER_CHART_REPO == "https://kubernetes.github.io/autoscaler"


@pytest.mark.parametrize("minor", versions.SUPPORTED_KUBERNETES_VERSIONS)
def test_values_pin_the_image_of_the_cluster_minor(minor):
    values = autoscaler.values(cluster_name=CLUSTER, region="eu-west-1", kubernetes_version=minor)
    assert values["image"] == {"repository": "registry.k8s.io/autoscaling/cluster-autoscaler",
                               "tag": versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[minor], "pullPolicy": "Always"}


def test_values_discover_this_clusters_groups_in_its_region():
    values = autoscaler.values(cluster_name=CLUSTER, region="eu-west-1", kubernetes_version="1.34")
    assert values["cloudProvider"] == "aws"
    assert values["awsRegion"] == "eu-west-1"
    assert values["autoDiscovery"] == {"clusterName": CLUSTER}
    assert "autoscalingGroups" not in values  # auto-discovery only, never a static --nodes list


def test_values_use_the_pod_identity_service_account_and_no_keys():
    values = autoscaler.values(cluster_name=CLUSTER, region="us-east-1", kubernetes_version="1.34")
    account = values["rbac"]["serviceAccount"]
    assert account["name"] == names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT
    assert account["create"] is True
    assert "annotations" not in account  # no IRSA role annotation
    assert not {"awsAccessKeyID", "awsSecretAccessKey"} & set(values)


def test_values_run_it_on_the_system_nodes():
    values = autoscaler.values(cluster_name=CLUSTER, region="us-east-1", kubernetes_version="1.34")
    assert values["nodeSelector"] == names.SYSTEM_NODE_LABELS
    assert "tolerations" not in values  # never on the tainted spot nodes it removes


def test_flags_let_the_spot_group_reach_zero():
    args = autoscaler.extra_args()
    assert args["skip-nodes-with-system-pods"] is False
    assert args["ignore-daemonsets-utilization"] is True
    assert args["balance-similar-node-groups"] is True
    assert args["expander"] == "least-waste"
    assert re.fullmatch(r"\d+m", args["scale-down-unneeded-time"])


@pytest.fixture
def policy() -> dict:
    return autoscaler.policy(cluster_arn=CLUSTER_ARN, cluster_name=CLUSTER)


def test_policy_has_no_wildcard_action(policy):
    assert iam.wildcard_actions(policy) == []


def test_only_describe_calls_may_touch_any_resource(policy):
    for action, _ in iam.actions_on_any_resource(policy):
        assert re.match(r"^(autoscaling|ec2):(Describe|Get)", action), action


def test_resizing_is_limited_to_groups_this_cluster_owns(policy):
    [scale] = [s for s in iam.statements(policy) if set(autoscaler.SCALE_ACTIONS) & set(s["Action"])]
    assert sorted(scale["Action"]) == ["autoscaling:SetDesiredCapacity",
                                       "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert scale["Condition"] == {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}": "owned"}}
    assert scale["Resource"] == [
        "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*"]


def test_empty_managed_groups_are_read_through_describe_nodegroup_of_this_cluster(policy):
    [read] = [s for s in iam.statements(policy) if "eks:DescribeNodegroup" in s["Action"]]
    assert read["Action"] == ["eks:DescribeNodegroup"]
    assert read["Resource"] == [f"arn:aws:eks:eu-west-1:123456789012:nodegroup/{CLUSTER}/*"]


def test_policy_has_every_call_auto_discovery_needs(policy):
    granted = {a for s in iam.statements(policy) for a in s["Action"]}
    assert {"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
            "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeInstanceTypes", "eks:DescribeNodegroup",
            *autoscaler.SCALE_ACTIONS} <= granted


def test_policy_follows_the_partition():
    doc = autoscaler.policy(cluster_arn="arn:aws-cn:eks:cn-north-1:123456789012:cluster/c", cluster_name="c")
    resources = {r for s in iam.statements(doc) for r in iam._as_list(s["Resource"]) if r != "*"}
    assert resources and all(r.startswith("arn:aws-cn:") for r in resources)



def test_values_pull_the_image_through_a_mirror_with_the_same_tag():
    values = autoscaler.values(cluster_name=CLUSTER, region="eu-west-1", kubernetes_version="1.33",
                               image_mirror="harbor.example.com/proxy")
    assert values["image"] == {
        "repository": "harbor.example.com/proxy/registry.k8s.io/autoscaling/cluster-autoscaler",
        "tag": versions.CLUSTER_AUTOSCALER_IMAGE_TAGS["1.33"], "pullPolicy": "Always"}
