"""ClusterAutoscaler on its own: the pinned chart in kube-system on the caller's provider, and a
Pod Identity role that exists, with its permissions, before the autoscaler's pod starts.
(The values and the policy document themselves: tests/test_autoscaler.py.)"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from airflow_eks import autoscaler, names, versions
from airflow_eks.offline import harness, mocks
from components.autoscaler import RELEASE_NAME, ClusterAutoscaler, ClusterAutoscalerArgs

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
COMPONENT = "airflow-eks:cluster:ClusterAutoscaler"
CLUSTER = "my-cluster"
# Partition, region and account all differ from the mocks' defaults: the policy must come
# from this ARN, not from the stack's region or caller identity.
CLUSTER_ARN = f"arn:aws-us-gov:eks:us-gov-west-1:111122223333:cluster/{CLUSTER}"
REGION = "us-gov-west-1"
# Not the stack's default minor, so the image tag must follow the argument.
KUBERNETES_VERSION = "1.33"
SETUP = ("k8s", "system", "agent")


def build():
    provider = k8s.Provider("k8s", kubeconfig="{}")
    nodes = aws.eks.NodeGroup(
        "system", cluster_name=CLUSTER, node_role_arn="arn:aws:iam::123456789012:role/nodes",
        subnet_ids=["subnet-a"], scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=1, desired_size=1, max_size=2))
    agent = aws.eks.Addon("agent", cluster_name=CLUSTER, addon_name="eks-pod-identity-agent")
    scaler = ClusterAutoscaler("scaler", ClusterAutoscalerArgs(
        # Outputs, as the cluster component passes them (read from pulumi-eks's child).
        cluster_name=pulumi.Output.from_input(CLUSTER), cluster_arn=pulumi.Output.from_input(CLUSTER_ARN),
        region=REGION, kubernetes_version=KUBERNETES_VERSION, k8s_provider=provider, wait_for=[nodes, agent]))
    pulumi.export("role_arn", scaler.role_arn)
    return scaler


@pytest.fixture(scope="module")
def run() -> harness.Run:
    return harness.run(build)


def values(run: harness.Run) -> dict:
    return run.one(RELEASE).plain_inputs["values"]


def test_release_is_the_pinned_official_chart_in_kube_system(run):
    release = run.one(RELEASE)
    assert release.get("chart") == versions.CLUSTER_AUTOSCALER_CHART
    assert release.get("version") == versions.CLUSTER_AUTOSCALER_CHART_VERSION
    assert release.get("repositoryOpts") == {"repo": versions.CLUSTER_AUTOSCALER_CHART_REPO}
    assert release.get("name") == RELEASE_NAME == "cluster-autoscaler"
    assert release.get("namespace") == names.KUBE_SYSTEM
    # A failed install must roll back rather than leave the release locked "pending".
    assert release.get("atomic") is True and release.get("cleanupOnFail") is True


def test_values_target_the_given_cluster_region_and_minor(run):
    v = values(run)
    assert v["autoDiscovery"] == {"clusterName": CLUSTER}
    assert v["awsRegion"] == REGION
    tags = versions.CLUSTER_AUTOSCALER_IMAGE_TAGS
    assert v["image"]["tag"] == tags[KUBERNETES_VERSION]
    assert v["image"]["tag"].startswith(f"v{KUBERNETES_VERSION}.")  # the autoscaler's minor must match
    # The values hold no credential or role reference: Pod Identity needs neither.
    assert not mocks.secret_paths(run.one(RELEASE).inputs)
    assert "annotations" not in v["rbac"]["serviceAccount"]


def test_release_uses_the_given_provider(run):
    provider = run.one("pulumi:providers:kubernetes")
    assert run.one(RELEASE).provider.startswith(provider.urn + "::")


def test_release_waits_for_nodes_agent_and_its_credentials(run):
    release = run.one(RELEASE)
    for name in ("system", "agent"):
        assert run.depends_on(release, run.one(name=name)), name
    [association] = run.find(ASSOCIATION)
    assert run.depends_on(release, association)
    # Credentials issued before the policy is attached would lack the permissions.
    assert run.depends_on(release, run.one(POLICY))


def test_association_binds_the_service_account_the_chart_creates(run):
    [association] = run.find(ASSOCIATION)
    service_account = values(run)["rbac"]["serviceAccount"]
    assert service_account["create"] is True
    assert association.get("serviceAccount") == service_account["name"] == names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT
    assert association.get("namespace") == run.one(RELEASE).get("namespace")
    assert association.get("clusterName") == CLUSTER
    assert association.get("roleArn") == run.outputs["role_arn"][0]


def test_role_is_trusted_by_pod_identity_only(run):
    [statement] = json.loads(run.one(ROLE).get("assumeRolePolicy"))["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert run.outputs["role_arn"] == (f"arn:aws:iam::{mocks.ACCOUNT}:role/{run.one(ROLE).name}-1234567", False)


def test_role_policy_is_scoped_to_the_given_cluster(run):
    policy = run.one(POLICY)
    assert json.loads(policy.get("policy")) == autoscaler.policy(cluster_arn=CLUSTER_ARN, cluster_name=CLUSTER)
    assert policy.get("role") == f"{run.one(ROLE).name}-1234567"


def test_every_child_descends_from_the_component(run):
    component = run.one(COMPONENT)
    by_urn = {r.urn: r for r in run.resources}

    def ancestors(r: mocks.Registered) -> list[str]:
        chain = []
        while r.parent in by_urn:
            chain.append(r.parent)
            r = by_urn[r.parent]
        return chain

    children = [r for r in run.resources if r.name not in SETUP and r is not component]
    # Release, the identity component, role, policy, association.
    assert len(children) == 5
    assert [r.name for r in children if component.urn not in ancestors(r)] == []
    assert run.one(RELEASE).parent == component.urn
    assert run.one("airflow-eks:identity:PodIdentityRole").parent == component.urn


def test_registered_outputs_expose_the_role_arn(run):
    outputs = run.mocks.monitor.registered_outputs[run.one(COMPONENT).urn]
    assert outputs == {"role_arn": run.outputs["role_arn"][0]}
