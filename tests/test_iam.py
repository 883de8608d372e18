"""Pure IAM building blocks (airflow_eks/iam.py) and the cluster's fixed EKS facts (airflow_eks/eks.py)."""

from __future__ import annotations

import json

import pytest

from airflow_eks import eks, iam


def test_pod_identity_trust_is_the_eks_pod_identity_service_with_tag_session():
    doc = iam.pod_identity_trust()
    assert doc["Version"] == "2012-10-17"
    [statement] = doc["Statement"]
    assert statement == {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                         "Action": ["sts:AssumeRole", "sts:TagSession"]}


def test_node_trust_is_ec2_assume_role_only():
    [statement] = iam.node_trust()["Statement"]
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole"]


@pytest.mark.parametrize("action", ["*", "s3:*", "s3:", "GetObject", "ec2:Describe*", "kms:GenerateDataKey*",
                                    "s3:Get?bject"])
def test_allow_refuses_wildcard_or_malformed_actions(action):
    with pytest.raises(ValueError, match="explicit actions"):
        iam.allow([action], "*")


def test_allow_sorts_actions_and_keeps_sid_and_condition():
    statement = iam.allow(["s3:PutObject", "s3:GetObject"], ["arn:aws:s3:::b/*"], sid="Objects",
                          condition={"StringEquals": {"aws:ResourceTag/x": "y"}})
    assert statement == {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                         "Resource": ["arn:aws:s3:::b/*"], "Condition": {"StringEquals": {"aws:ResourceTag/x": "y"}}}
    assert json.loads(json.dumps(iam.document(statement)))["Statement"] == [statement]


def test_wildcard_detector_finds_what_allow_would_refuse():
    doc = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                         {"Effect": "Allow", "Action": ["ec2:Describe*", "s3:*"], "Resource": "*"},
                         {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                         {"Effect": "Allow", "Action": "kms:GenerateDataKey*", "Resource": "*"},
                         {"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    # A partial pattern grants every action it matches, today's and those AWS adds later.
    assert iam.wildcard_actions(doc) == ["*", "ec2:Describe*", "s3:*", "NotAction", "kms:GenerateDataKey*"]
    assert iam.wildcard_actions(iam.pod_identity_trust()) == []


def test_actions_on_any_resource_reports_conditions():
    doc = iam.document(iam.allow(["ec2:DescribeImages"], "*"),
                       iam.allow(["autoscaling:SetDesiredCapacity"], "*", condition={"StringEquals": {"k": "v"}}),
                       iam.allow(["s3:GetObject"], ["arn:aws:s3:::b/*"]))
    assert list(iam.actions_on_any_resource(doc)) == [("ec2:DescribeImages", False),
                                                      ("autoscaling:SetDesiredCapacity", True)]


def test_parse_arn_keeps_colons_in_the_resource():
    arn = iam.parse_arn("arn:aws-us-gov:autoscaling:us-gov-west-1:111122223333:autoScalingGroup:uuid:name/x")
    assert (arn.partition, arn.service, arn.region, arn.account) == (
        "aws-us-gov", "autoscaling", "us-gov-west-1", "111122223333")
    assert arn.resource == "autoScalingGroup:uuid:name/x"
    with pytest.raises(ValueError, match="an ARN"):
        iam.parse_arn("not-an-arn")


def test_managed_policy_arns_follow_the_partition():
    assert iam.aws_managed_policy_arn(eks.EBS_CSI_POLICY) == (
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy")
    assert iam.aws_managed_policy_arn("AmazonEKS_CNI_Policy", "aws-cn") == (
        "arn:aws-cn:iam::aws:policy/AmazonEKS_CNI_Policy")
    assert eks.cluster_admin_policy_arn() == (
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")


def test_worker_nodes_get_exactly_the_three_managed_policies():
    assert set(eks.NODE_POLICIES) == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                                      "AmazonEC2ContainerRegistryReadOnly"}


def test_access_entry_keys_are_stable_unique_and_name_safe():
    a = eks.access_entry_key("arn:aws:iam::111122223333:role/platform/Admins")
    b = eks.access_entry_key("arn:aws:iam::444455556666:role/platform/Admins")
    c = eks.access_entry_key("arn:aws:iam::111122223333:user/alice")
    assert a == "111122223333-role-platform-admins"
    assert len({a, b, c}) == 3
    assert all(k.replace("-", "").isalnum() for k in (a, b, c))


def test_pod_identity_agent_tolerates_every_taint():
    assert json.loads(eks.pod_identity_agent_configuration()) == {"tolerations": [{"operator": "Exists"}]}


def test_gp3_parameters_encrypt_and_tag_every_volume():
    assert eks.gp3_parameters({}) == {"type": "gp3", "encrypted": "true"}
    assert eks.gp3_parameters({"stack": "prod", "cost-center": "a=b"}) == {
        "type": "gp3", "encrypted": "true",
        "tagSpecification_1": "cost-center=a=b", "tagSpecification_2": "stack=prod"}


@pytest.mark.parametrize(("types", "expected"), [
    (["m6i.large", "t3a.xlarge", "m5.large"], "AL2023_x86_64_STANDARD"),
    (["m7g.large", "t4g.small", "c6gn.xlarge", "r8gd.2xlarge", "a1.large", "g5g.xlarge"], "AL2023_ARM_64_STANDARD"),
    (["g5.xlarge", "inf2.xlarge", "m7i-flex.large"], "AL2023_x86_64_STANDARD"),
    (["p6e-gb200.36xlarge"], "AL2023_ARM_64_STANDARD"),  # NVIDIA Grace
])
def test_ami_type_follows_the_instance_architecture(types, expected):
    assert eks.ami_type(types) == expected


def test_ami_type_rejects_mixed_architectures():
    with pytest.raises(ValueError, match="one CPU architecture"):
        eks.ami_type(["m7g.large", "m6i.large"])
