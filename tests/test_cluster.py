"""Cluster on its own: control plane, node groups, add-ons, gp3 class, autoscaler, k8s provider."""

from __future__ import annotations

import json

import pulumi
import pytest

from airflow_eks import autoscaler, config, iam, names, versions
from airflow_eks.offline import harness, loader, mocks
from components.cluster import Cluster, ClusterArgs

# The kubernetesVersion default (Pulumi.yaml); neither stack file overrides it.
DEFAULT_MINOR = loader.project_file()["config"]["kubernetesVersion"]["default"]
EKS = "eks:index:Cluster"
MNG = "eks:index:ManagedNodeGroup"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
K8S_PROVIDER = "pulumi:providers:kubernetes"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
PRIVATE = ["subnet-private-0", "subnet-private-1"]
PUBLIC = ["subnet-public-0", "subnet-public-1"]
ADMIN = "arn:aws:iam::111122223333:role/platform-admins"


def build():
    settings = config.load()
    cluster = Cluster("c", ClusterArgs(settings=settings.cluster, region=settings.region, vpc_id="vpc-1",
                                       private_subnet_ids=PRIVATE, public_subnet_ids=PUBLIC,
                                       project=settings.project, stack=settings.stack,
                                       log_retention_days=settings.data.log_retention_days,
                                       keep_data_on_destroy=settings.data.keep_data_on_destroy, tags=settings.tags))
    for attr in ("cluster_name", "cluster_endpoint", "cluster_security_group_id", "kubeconfig",
                 "kubeconfig_command", "system_node_group_name", "spot_node_group_name", "ebs_csi_role_arn"):
        pulumi.export(attr, getattr(cluster, attr))
    return cluster


@pytest.fixture(scope="module")
def dev() -> harness.Run:
    return harness.run(build, stack="dev", overrides={"clusterAdminArns": [ADMIN]})


@pytest.fixture(scope="module")
def private_only() -> harness.Run:
    return harness.run(build, stack="dev", overrides={"clusterEndpointPublicAccess": False,
                                                      "clusterAutoscaler": False})


def addon(run: harness.Run, name: str) -> mocks.Registered:
    [found] = [a for a in run.find(ADDON) if a.get("addonName") == name]
    return found


def node_group(run: harness.Run, pool: str) -> mocks.Registered:
    return run.one(MNG, name=f"c-{pool}")


# --- control plane ---------------------------------------------------------------------

def test_control_plane_is_pinned_api_authenticated_without_default_nodes_or_oidc(dev):
    cluster = dev.one(EKS)
    assert cluster.get("version") == DEFAULT_MINOR
    assert cluster.get("authenticationMode") == "API"
    assert cluster.get("skipDefaultNodeGroup") is True
    assert cluster.get("createOidcProvider") is False
    assert cluster.get("vpcId") == "vpc-1"
    assert cluster.get("privateSubnetIds") == PRIVATE and cluster.get("publicSubnetIds") == PUBLIC


def test_only_the_eks_managed_security_group_is_used(dev):
    """pulumi-eks would otherwise create a cluster and a node security group nothing uses; the
    database admits the EKS-managed one (vpc_config.cluster_security_group_id)."""
    assert dev.one(EKS).get("skipDefaultSecurityGroups") is True
    assert dev.outputs["cluster_security_group_id"][0] == "sg-c-eks-eks-managed"


def test_public_endpoint_follows_config_and_private_access_is_always_on(dev, private_only):
    public = dev.one(EKS)
    assert public.get("endpointPrivateAccess") is True and public.get("endpointPublicAccess") is True
    assert public.get("publicAccessCidrs") == ["0.0.0.0/0"]
    private = private_only.one(EKS)
    assert private.get("endpointPrivateAccess") is True and private.get("endpointPublicAccess") is False
    assert "publicAccessCidrs" not in private.plain_inputs  # pulumi-eks rejects CIDRs here


def test_secrets_are_envelope_encrypted_with_a_rotating_customer_key(dev):
    key = dev.one("aws:kms/key:Key")
    assert key.get("enableKeyRotation") is True
    assert dev.one(EKS).get("encryptionConfigKeyArn") == f"arn:aws:kms:us-east-1:123456789012:key/{key.name}-key-id"


def test_control_plane_logs_come_from_config(dev):
    assert dev.one(EKS).get("enabledClusterLogTypes") == ["api", "authenticator"]  # Pulumi.dev.yaml


def test_each_admin_arn_gets_a_cluster_scoped_admin_access_entry(dev, private_only):
    entries = dev.one(EKS).get("accessEntries")
    [entry] = entries.values()
    assert entry["principalArn"] == ADMIN
    [policy] = entry["accessPolicies"].values()
    assert policy["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert policy["accessScope"] == {"type": "cluster"}
    assert not private_only.one(EKS).get("accessEntries")


# --- nodes -----------------------------------------------------------------------------

def test_node_role_is_trusted_by_ec2_with_the_three_worker_policies(dev):
    role = dev.one(ROLE, name="c-node-role")
    [statement] = json.loads(role.get("assumeRolePolicy"))["Statement"]
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}
    policies = {a.get("policyArn") for a in dev.find(ATTACHMENT) if a.get("role") == f"{role.name}-1234567"}
    assert policies == {f"arn:aws:iam::aws:policy/{p}" for p in
                        ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")}


def test_both_node_groups_use_the_node_role_after_its_policies_exist(dev):
    role = dev.one(ROLE, name="c-node-role")
    for pool in ("system", "spot"):
        group = node_group(dev, pool)
        assert group.get("nodeRole") == f"{role.name}-1234567"
        attachments = [a for a in dev.find(ATTACHMENT) if a.name.startswith("c-node-")]
        assert len(attachments) == 3 and all(dev.depends_on(group, a) for a in attachments)
    assert not [r for r in dev.find("aws:eks/accessEntry:AccessEntry")]  # EKS makes the node entry


def test_system_node_group_is_sized_from_config_on_al2023_in_private_subnets(dev):
    system = node_group(dev, "system")
    assert system.get("capacityType") == "SPOT"  # Pulumi.dev.yaml
    assert system.get("instanceTypes") == ["t3.large", "t3a.large", "m5.large", "m6i.large"]
    assert system.get("amiType") == "AL2023_x86_64_STANDARD"
    assert system.get("subnetIds") == PRIVATE
    assert system.get("scalingConfig") == {"minSize": 1, "desiredSize": 1, "maxSize": 2}
    assert system.get("labels") == names.SYSTEM_NODE_LABELS
    assert not system.get("taints")


def test_spot_node_group_is_tainted_for_tasks_and_owned_by_the_autoscaler(dev):
    spot = node_group(dev, "spot")
    assert spot.get("capacityType") == "SPOT"
    assert spot.get("instanceTypes") == ["m6i.large", "m5.large", "m5a.large", "m6a.large"]
    assert spot.get("amiType") == "AL2023_x86_64_STANDARD"
    assert spot.get("subnetIds") == PRIVATE
    assert spot.get("labels") == names.TASK_NODE_LABELS
    assert spot.get("taints") == [{"key": names.TASK_NODE_TAINT.key, "value": names.TASK_NODE_TAINT.value,
                                   "effect": "NO_SCHEDULE"}]
    assert spot.get("scalingConfig") == {"minSize": 0, "desiredSize": 0, "maxSize": 2}
    assert spot.get("ignoreScalingChanges") is True


def test_each_node_group_launches_from_its_own_tagged_encrypted_imdsv2_template(dev):
    templates = {t.name: t for t in dev.find("aws:ec2/launchTemplate:LaunchTemplate")}
    assert set(templates) == {"c-system-nodes", "c-spot-nodes"}
    for pool in ("system", "spot"):
        template, group = templates[f"c-{pool}-nodes"], node_group(dev, pool)
        assert group.get("launchTemplate") == {"id": f"lt-{template.name}", "version": "1"}
        assert "diskSize" not in group.plain_inputs  # EKS rejects diskSize beside a launch template
        # pulumi-eks leaves the version unset when a launch template is given.
        assert group.get("version") == DEFAULT_MINOR
        assert "imageId" not in template.plain_inputs and "userData" not in template.plain_inputs
        [root] = template.get("blockDeviceMappings")
        assert root == {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 20, "volumeType": "gp3",
                                                            "encrypted": "true", "deleteOnTermination": "true"}}
        assert template.get("metadataOptions") == {"httpEndpoint": "enabled", "httpTokens": "required",
                                                   "httpPutResponseHopLimit": 1}
        specs = template.get("tagSpecifications")
        assert sorted(t["resourceType"] for t in specs) == ["instance", "network-interface", "volume"]
        for spec in specs:
            assert spec["tags"] == {"project": "airflow-eks", "stack": "dev", "managed-by": "pulumi",
                                    "Name": f"c-{pool}"}
        assert template.parent == dev.one("airflow-eks:cluster:Cluster").urn


def kubernetes_minors(run: harness.Run) -> dict[str, str]:
    """The minor each versioned part of the cluster runs (the autoscaler by its image tag)."""
    tag = run.one(RELEASE).get("values.image.tag")
    return {"control plane": run.one(EKS).get("version"),
            **{f"{p} nodes": node_group(run, p).get("version") for p in ("system", "spot")},
            "autoscaler image": ".".join(tag.removeprefix("v").split(".")[:2])}


def test_a_kubernetes_version_bump_moves_control_plane_node_groups_and_autoscaler_together(dev):
    bumped_to = versions.SUPPORTED_KUBERNETES_VERSIONS[-1]
    assert bumped_to != DEFAULT_MINOR
    bumped = harness.run(build, stack="dev", overrides={"kubernetesVersion": bumped_to})
    assert set(kubernetes_minors(dev).values()) == {DEFAULT_MINOR}
    assert set(kubernetes_minors(bumped).values()) == {bumped_to}
    assert bumped.one(RELEASE).get("values.image.tag") == versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[bumped_to]
    # The chart stays pinned: only the image follows the minor.
    assert bumped.one(RELEASE).get("version") == dev.one(RELEASE).get("version")


def test_graviton_instance_types_get_the_arm64_ami():
    run = harness.run(build, stack="dev", overrides={
        "systemNodeInstanceTypes": ["m7g.large", "t4g.large"], "spotNodeInstanceTypes": ["m7g.large", "c7gn.large"]})
    assert {node_group(run, p).get("amiType") for p in ("system", "spot")} == {"AL2023_ARM_64_STANDARD"}


def test_system_sizes_are_left_to_pulumi_only_without_autoscaler(dev, private_only):
    assert node_group(dev, "system").get("ignoreScalingChanges") is True
    assert node_group(private_only, "system").get("ignoreScalingChanges") is False
    assert node_group(private_only, "spot").get("ignoreScalingChanges") is True


# --- add-ons and storage -----------------------------------------------------------------

def test_addons_wait_for_the_system_nodes(dev):
    system = node_group(dev, "system")
    for name in ("eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"):
        found = addon(dev, name)
        assert found.get("clusterName") == dev.outputs["cluster_name"][0]
        assert dev.depends_on(found, system), name
        assert found.options["custom_timeouts"]["create"] == "30m"


def test_pod_identity_agent_also_runs_on_tainted_spot_nodes(dev):
    config_values = json.loads(addon(dev, "eks-pod-identity-agent").get("configurationValues"))
    assert {"operator": "Exists"} in config_values["tolerations"]


def test_ebs_csi_controller_gets_aws_access_through_pod_identity(dev):
    driver = addon(dev, "aws-ebs-csi-driver")
    [association] = driver.get("podIdentityAssociations")
    assert association["serviceAccount"] == names.EBS_CSI_SERVICE_ACCOUNT
    role = dev.one(ROLE, name="c-addons-ebs-csi-role")
    assert association["roleArn"] == dev.outputs["ebs_csi_role_arn"][0] == (
        f"arn:aws:iam::123456789012:role/{role.name}-1234567")
    assert json.loads(role.get("assumeRolePolicy")) == iam.pod_identity_trust()
    policy = dev.one(ATTACHMENT, name="c-addons-ebs-csi-policy")
    assert policy.get("policyArn") == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    assert dev.depends_on(driver, policy)
    assert dev.depends_on(driver, addon(dev, "eks-pod-identity-agent"))
    assert "serviceAccountRoleArn" not in driver.plain_inputs  # no IRSA


def test_gp3_is_the_default_encrypted_storage_class_on_the_csi_driver(dev):
    sc = dev.one(STORAGE_CLASS)
    assert sc.get("metadata.name") == "gp3" == dev.value.storage_class_name
    assert sc.get("metadata.annotations") == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert sc.get("provisioner") == "ebs.csi.aws.com"
    assert sc.get("parameters") == {"type": "gp3", "encrypted": "true", "tagSpecification_1": "managed-by=pulumi",
                                    "tagSpecification_2": "project=airflow-eks", "tagSpecification_3": "stack=dev"}
    assert sc.get("volumeBindingMode") == "WaitForFirstConsumer"
    assert sc.get("allowVolumeExpansion") is True
    assert sc.get("reclaimPolicy") == "Delete"


def test_gp3_class_is_removed_before_the_csi_driver_on_destroy(dev):
    assert dev.depends_on(dev.one(STORAGE_CLASS), addon(dev, "aws-ebs-csi-driver"))


# --- Kubernetes provider -------------------------------------------------------------------

def test_k8s_provider_uses_the_secret_kubeconfig_and_a_stable_identifier(dev):
    provider = dev.one(K8S_PROVIDER)
    assert provider.get("clusterIdentifier") == "c"
    assert mocks.secret_paths(provider.inputs) == ["kubeconfig"]
    assert json.loads(provider.get("kubeconfig"))["kind"] == "Config"
    assert provider.get("enableServerSideApply") is not False


def test_every_kubernetes_resource_uses_the_clusters_provider(dev):
    provider = dev.one(K8S_PROVIDER)
    k8s_resources = [r for r in dev.resources if r.typ.startswith("kubernetes:")]
    assert {r.typ for r in k8s_resources} == {RELEASE, STORAGE_CLASS}
    assert all(r.provider.startswith(provider.urn + "::") for r in k8s_resources)


# --- autoscaler ------------------------------------------------------------------------------

def test_autoscaler_is_the_official_chart_pinned_for_the_cluster_minor(dev):
    release = dev.one(RELEASE)
    assert release.get("chart") == "cluster-autoscaler"
    assert release.get("version") == versions.CLUSTER_AUTOSCALER_CHART_VERSION
    assert release.get("repositoryOpts") == {"repo": "https://kubernetes.github.io/autoscaler"}
    assert release.get("namespace") == "kube-system"
    assert release.get("values.image.tag") == versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[DEFAULT_MINOR]
    assert release.get("values.autoDiscovery.clusterName") == dev.outputs["cluster_name"][0]
    assert release.get("values.nodeSelector") == names.SYSTEM_NODE_LABELS
    assert dev.value.cluster_autoscaler is not None


def test_autoscaler_pod_starts_only_after_its_credentials_and_nodes_exist(dev):
    release = dev.one(RELEASE)
    [association] = dev.find(ASSOCIATION)
    assert association.get("namespace") == "kube-system"
    assert association.get("serviceAccount") == names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT
    assert dev.depends_on(release, association)
    assert dev.depends_on(release, node_group(dev, "system"))
    assert dev.depends_on(release, addon(dev, "eks-pod-identity-agent"))


def test_autoscaler_role_may_only_resize_this_clusters_groups(dev):
    cluster = dev.outputs["cluster_name"][0]
    doc = json.loads(dev.one("aws:iam/rolePolicy:RolePolicy").get("policy"))
    assert doc == autoscaler.policy(cluster_arn=f"arn:aws:eks:us-east-1:123456789012:cluster/{cluster}",
                                    cluster_name=cluster)
    assert iam.wildcard_actions(doc) == []
    for action, conditioned in iam.actions_on_any_resource(doc):
        assert action.split(":")[1].startswith(("Describe", "Get")) or conditioned


def test_no_autoscaler_release_or_role_when_switched_off(private_only):
    assert private_only.find(RELEASE) == []
    assert private_only.find(ASSOCIATION) == []
    assert sorted(r.name for r in private_only.find(ROLE)) == ["c-addons-ebs-csi-role", "c-node-role"]
    assert private_only.value.cluster_autoscaler is None


# --- outputs -----------------------------------------------------------------------------------

def test_outputs_name_the_cluster_and_keep_the_kubeconfig_secret(dev):
    out = dev.outputs
    name = out["cluster_name"][0]
    assert name == "airflow-eks-dev-abababab"  # project-stack-<RandomId hex>, fixed for its log group
    assert out["kubeconfig"][1] is True
    assert json.loads(out["kubeconfig"][0])["users"][0]["user"]["exec"]["command"] == "aws"
    assert out["kubeconfig_command"] == (f"aws eks update-kubeconfig --region us-east-1 --name {name}", False)
    assert out["cluster_endpoint"][0].startswith("https://")
    assert out["cluster_security_group_id"][0] == "sg-c-eks-eks-managed"
    assert out["system_node_group_name"][0] != out["spot_node_group_name"][0]


def test_every_child_is_inside_the_component_tree(dev):
    tree = {r.urn for r in dev.resources if r.typ.startswith("airflow-eks:")}
    assert all(r.parent in tree for r in dev.resources if r.urn not in tree and r.parent)
