"""ClusterAddons on its own: the three managed add-ons wait for the system nodes, the EBS CSI
driver gets its Pod Identity role, and the default gp3 class outlives the volumes it made."""

from __future__ import annotations

import json

import pulumi
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pytest

from airflow_eks import names
from airflow_eks.offline import harness, mocks
from components.addons import VOLUME_TEARDOWN_WAIT, ClusterAddons, ClusterAddonsArgs

ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
SLEEP = "time:index/sleep:Sleep"
COMPONENT = "airflow-eks:cluster:ClusterAddons"
ADDON_NAMES = ("eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver")
# Not the mock's getPartition answer ("aws"), so only the argument can produce it.
PARTITION = "aws-us-gov"
# Unsorted on purpose: the parameter indices must not follow dict order.
TAGS = {"team": "data", "stack": "x"}


def build():
    cluster = eks.Cluster("c", skip_default_node_group=True, authentication_mode=eks.AuthenticationMode.API)
    system = eks.ManagedNodeGroup("system", cluster=cluster, node_role_arn="arn:aws:iam::123456789012:role/nodes",
                                  instance_types=["t3.large"])
    provider = k8s.Provider("k8s", kubeconfig="{}")
    addons = ClusterAddons("addons", ClusterAddonsArgs(
        cluster_name=cluster.eks_cluster.name, partition=PARTITION, system_node_group=system,
        k8s_provider=provider, tags=TAGS))
    pulumi.export("ebs_csi_role_arn", addons.ebs_csi_role_arn)
    return addons


@pytest.fixture(scope="module")
def run() -> harness.Run:
    return harness.run(build)


def addon(run: harness.Run, name: str) -> mocks.Registered:
    [found] = [a for a in run.find(ADDON) if a.get("addonName") == name]
    return found


def test_exactly_the_three_addons_on_the_given_cluster(run):
    assert sorted(a.get("addonName") for a in run.find(ADDON)) == sorted(ADDON_NAMES)
    cluster_name = "c-eksCluster-1234567"  # the mocked eks.Cluster's child name
    assert all(a.get("clusterName") == cluster_name for a in run.find(ADDON))


@pytest.mark.parametrize("name", ADDON_NAMES)
def test_each_addon_waits_for_the_system_nodes_with_a_long_create_timeout(run, name):
    found = addon(run, name)
    assert run.depends_on(found, run.one("eks:index:ManagedNodeGroup"))
    assert found.options["custom_timeouts"]["create"] == "30m"
    # CoreDNS already runs self-managed; without OVERWRITE the managed add-on fails to adopt it.
    assert found.get("resolveConflictsOnCreate") == "OVERWRITE"


def test_pod_identity_agent_tolerates_every_taint(run):
    config_values = json.loads(addon(run, "eks-pod-identity-agent").get("configurationValues"))
    assert config_values["tolerations"] == [{"operator": "Exists"}]


def test_ebs_csi_driver_uses_the_components_pod_identity_role(run):
    role = run.one(ROLE)
    [statement] = json.loads(role.get("assumeRolePolicy"))["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    driver = addon(run, "aws-ebs-csi-driver")
    role_arn = f"arn:aws:iam::{mocks.ACCOUNT}:role/{role.name}-1234567"
    assert driver.get("podIdentityAssociations") == [
        {"roleArn": role_arn, "serviceAccount": names.EBS_CSI_SERVICE_ACCOUNT}]
    assert run.outputs["ebs_csi_role_arn"] == (role_arn, False)
    # The add-on creates the association itself; a second one of ours would conflict.
    assert run.find("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []


def test_ebs_csi_policy_is_the_managed_one_in_the_given_partition(run):
    attachment = run.one(ATTACHMENT)
    assert attachment.get("policyArn") == f"arn:{PARTITION}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    assert attachment.get("role") == f"{run.one(ROLE).name}-1234567"


def test_ebs_csi_driver_starts_after_the_agent_and_its_permissions(run):
    driver = addon(run, "aws-ebs-csi-driver")
    assert run.depends_on(driver, addon(run, "eks-pod-identity-agent"))
    assert run.depends_on(driver, run.one(ATTACHMENT))


def test_gp3_class_is_the_encrypted_expandable_default(run):
    sc = run.one(STORAGE_CLASS)
    assert sc.get("metadata.name") == "gp3" == run.value.storage_class_name
    assert sc.get("metadata.annotations") == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert sc.get("provisioner") == "ebs.csi.aws.com"
    assert sc.get("volumeBindingMode") == "WaitForFirstConsumer"
    assert sc.get("reclaimPolicy") == "Delete"
    assert sc.get("allowVolumeExpansion") is True


def test_gp3_parameters_tag_volumes_with_each_given_tag(run):
    # Indices follow sorted keys, so reordering the tags never replaces the (immutable) class.
    assert run.one(STORAGE_CLASS).get("parameters") == {
        "type": "gp3", "encrypted": "true",
        "tagSpecification_1": "stack=x", "tagSpecification_2": "team=data",
    }


def test_gp3_class_uses_the_given_provider_after_the_driver(run):
    sc = run.one(STORAGE_CLASS)
    provider = run.one("pulumi:providers:kubernetes")
    assert sc.provider.startswith(provider.urn + "::")
    assert run.depends_on(sc, addon(run, "aws-ebs-csi-driver"))


def test_teardown_guard_waits_on_destroy_only_and_after_driver_and_class(run):
    guard = run.one(SLEEP)
    assert guard.get("destroyDuration") == VOLUME_TEARDOWN_WAIT
    assert guard.get("createDuration") is None
    assert run.depends_on(guard, addon(run, "aws-ebs-csi-driver"))
    assert run.depends_on(guard, run.one(STORAGE_CLASS))
    assert run.value.volume_teardown_guard is not None


def test_every_child_is_parented_to_the_component(run):
    component = run.one(COMPONENT)
    setup = {"c", "system", "k8s"}
    children = [r for r in run.resources if r.custom and r.name not in setup]
    # Three add-ons, role, attachment, class, sleep: a filter that matched nothing would pass.
    assert len(children) == 7
    assert [r.name for r in children if r.parent != component.urn] == []


def test_registered_outputs_expose_the_class_name_and_role(run):
    outputs = run.mocks.monitor.registered_outputs[run.one(COMPONENT).urn]
    assert outputs["storage_class_name"] == "gp3"
    assert outputs["ebs_csi_role_arn"] == run.outputs["ebs_csi_role_arn"][0]


def test_ebs_csi_node_plugin_reads_instance_metadata_through_the_host_network(run):
    """The right attach limit needs IMDS; the nodes' hop limit of 1 keeps it from pod-network
    pods, so only this DaemonSet moves to the host network (eks.ebs_csi_configuration)."""
    driver = addon(run, "aws-ebs-csi-driver")
    assert json.loads(driver.get("configurationValues")) == {"node": {"hostNetwork": True}}
