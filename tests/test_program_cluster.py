"""Network and cluster in the whole program, for both stack files exactly as the CLI configures them."""

from __future__ import annotations

import json

import pytest

from airflow_eks import iam, names, versions
from airflow_eks.offline import harness, loader, mocks

# The kubernetesVersion default (Pulumi.yaml); neither stack file overrides it.
DEFAULT_MINOR = loader.project_file()["config"]["kubernetesVersion"]["default"]
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
MNG = "eks:index:ManagedNodeGroup"
ADDON = "aws:eks/addon:Addon"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
EXPECTED = {
    "dev": {"azs": 2, "nats": 1, "system_capacity": "SPOT", "system": (1, 1, 2), "spot_max": 2,
            "logs": ["api", "authenticator"]},
    "prod": {"azs": 3, "nats": 3, "system_capacity": "ON_DEMAND", "system": (2, 2, 4), "spot_max": 10,
             "logs": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
}


def stack_of(run: harness.Run) -> str:
    return json.loads(run.one("pulumi:providers:aws").inputs["defaultTags"])["tags"]["stack"]


def tier(run: harness.Run, name: str) -> list[mocks.Registered]:
    return [s for s in run.find(SUBNET) if f"-{name}-" in s.name]


def cluster_addon(run: harness.Run, name: str) -> mocks.Registered:
    [found] = [a for a in run.find(ADDON) if a.get("addonName") == name]
    return found


def cluster_provider(run: harness.Run) -> mocks.Registered:
    return run.one("pulumi:providers:kubernetes", name="airflow-k8s")


def test_subnets_span_the_configured_azs_with_load_balancer_tags(program):
    """Per AZ a private and a public subnet; the UI's ALB (prod) and the collector (prod) get
    their own, and only the ALB's carry the controller's role tag for their scheme."""
    want = EXPECTED[stack_of(program)]["azs"]
    settings = program.value["settings"]
    private, public = tier(program, "private"), tier(program, "public")
    balancers, collectors = tier(program, "load-balancer"), tier(program, "collector")
    assert len(private) == len(public) == want
    assert len({s.get("availabilityZone") for s in private}) == want
    assert all(not s.get("mapPublicIpOnLaunch") for s in private + balancers + collectors)
    assert all(s.get("mapPublicIpOnLaunch") for s in public)
    roles = ("kubernetes.io/role/elb", "kubernetes.io/role/internal-elb")
    assert not [s.name for s in private + public + collectors if set(roles) & set(s.get("tags"))]
    role = {"internal": roles[1], "internet-facing": roles[0]}.get(settings.ui.scheme)
    assert len(balancers) == (want if settings.ui.enabled else 0)
    assert all(s.get("tags")[role] == "1" for s in balancers)
    assert len(collectors) == (min(want, 5) if settings.metrics.enabled else 0)
    assert len(program.outputs["privateSubnetIds"][0]) == want


def test_subnets_never_land_in_a_zone_eks_does_not_support(program):
    [(_, args)] = [c for c in program.mocks.calls if c[0] == "aws:index/getAvailabilityZones:getAvailabilityZones"]
    assert "use1-az3" in args["excludeZoneIds"]
    zone_ids = {mocks.zone_id(s.get("availabilityZone")[-1]) for s in program.find(SUBNET)}
    assert len(zone_ids) == EXPECTED[stack_of(program)]["azs"] and "use1-az3" not in zone_ids


def test_nat_gateways_follow_the_stacks_mode(program):
    assert len(program.find(NAT)) == EXPECTED[stack_of(program)]["nats"]
    eips = {f"eipalloc-{e.name}" for e in program.find("aws:ec2/eip:Eip")}
    assert {n.get("allocationId") for n in program.find(NAT)} <= eips


def test_cluster_sits_in_the_programs_vpc_with_nodes_in_private_subnets(program):
    cluster = program.one("eks:index:Cluster")
    assert cluster.get("vpcId") == program.outputs["vpcId"][0]
    assert cluster.get("privateSubnetIds") == program.outputs["privateSubnetIds"][0]
    assert cluster.get("publicSubnetIds") == program.outputs["publicSubnetIds"][0]
    for group in program.find(MNG):
        assert group.get("subnetIds") == program.outputs["privateSubnetIds"][0]


def test_control_plane_encryption_and_logs(program):
    cluster, key = program.one("eks:index:Cluster"), program.one("aws:kms/key:Key", name="airflow-secrets-key")
    assert key.get("enableKeyRotation") is True
    assert cluster.get("encryptionConfigKeyArn").endswith(f"key/{key.name}-key-id")
    assert cluster.get("enabledClusterLogTypes") == EXPECTED[stack_of(program)]["logs"]
    assert cluster.get("version") == DEFAULT_MINOR
    assert cluster.get("createOidcProvider") is False
    assert cluster.get("authenticationMode") == "API"


def test_prod_restricts_the_public_endpoint_to_its_cidrs(programs):
    assert programs["prod"].one("eks:index:Cluster").get("publicAccessCidrs") == ["203.0.113.0/24"]
    assert programs["dev"].one("eks:index:Cluster").get("endpointPrivateAccess") is True


def test_node_groups_capacity_labels_taints_and_scaling(program):
    want = EXPECTED[stack_of(program)]
    system, spot = program.one(MNG, name="airflow-system"), program.one(MNG, name="airflow-spot")
    assert system.get("capacityType") == want["system_capacity"]
    assert tuple(system.get("scalingConfig")[k] for k in ("minSize", "desiredSize", "maxSize")) == want["system"]
    assert system.get("labels") == names.SYSTEM_NODE_LABELS and not system.get("taints")
    assert spot.get("capacityType") == "SPOT"
    assert spot.get("labels") == names.TASK_NODE_LABELS
    assert spot.get("taints") == [{"key": names.TASK_NODE_TAINT.key, "value": names.TASK_NODE_TAINT.value,
                                   "effect": names.TASK_NODE_TAINT.eks_effect}]
    assert spot.get("scalingConfig") == {"minSize": 0, "desiredSize": 0, "maxSize": want["spot_max"]}
    assert spot.get("ignoreScalingChanges") is True
    assert {g.get("amiType") for g in (system, spot)} == {"AL2023_x86_64_STANDARD"}
    assert len(set(spot.get("instanceTypes"))) >= 2


def test_addons_and_the_ebs_csi_pod_identity_association(program):
    system = program.one(MNG, name="airflow-system")
    for name in ("eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"):
        assert program.depends_on(cluster_addon(program, name), system), name
    [association] = cluster_addon(program, "aws-ebs-csi-driver").get("podIdentityAssociations")
    assert association == {"serviceAccount": names.EBS_CSI_SERVICE_ACCOUNT,
                           "roleArn": program.outputs["ebsCsiRoleArn"][0]}


def test_gp3_storage_class(program):
    sc = program.one(STORAGE_CLASS)
    assert sc.get("metadata.name") == "gp3"
    assert sc.get("metadata.annotations")["storageclass.kubernetes.io/is-default-class"] == "true"
    assert (sc.get("provisioner"), sc.get("volumeBindingMode"), sc.get("reclaimPolicy"),
            sc.get("allowVolumeExpansion")) == ("ebs.csi.aws.com", "WaitForFirstConsumer", "Delete", True)
    assert (sc.get("parameters.type"), sc.get("parameters.encrypted")) == ("gp3", "true")
    tags = {v.split("=", 1)[0]: v.split("=", 1)[1] for k, v in sc.get("parameters").items()
            if k.startswith("tagSpecification_")}
    assert {"project": "airflow-eks", "stack": stack_of(program), "managed-by": "pulumi"}.items() <= tags.items()


def test_teardown_order_deletes_volume_makers_before_the_driver_and_the_nodes(program):
    sc, driver = program.one(STORAGE_CLASS), cluster_addon(program, "aws-ebs-csi-driver")
    assert program.depends_on(sc, driver)
    assert program.depends_on(driver, program.one(MNG, name="airflow-system"))
    assert program.depends_on(driver, cluster_addon(program, "eks-pod-identity-agent"))


def test_destroy_waits_for_the_namespaces_ebs_volumes_before_removing_the_driver(program):
    """Namespace -> Sleep -> StorageClass and CSI add-on: deleting the namespace only waits for
    its PVCs, and the EBS DeleteVolume of each PV follows asynchronously."""
    [sleep] = program.find("time:index/sleep:Sleep")
    assert sleep.get("destroyDuration") == "3m" and not sleep.get("createDuration")
    assert sleep.urn in program.one("kubernetes:core/v1:Namespace").dependencies
    assert set(sleep.dependencies) >= {program.one(STORAGE_CLASS).urn,
                                       cluster_addon(program, "aws-ebs-csi-driver").urn}


def test_autoscaler_release_values_and_order(program):
    [release] = [r for r in program.find(RELEASE) if r.get("chart") == "cluster-autoscaler"]
    assert release.get("version") == versions.CLUSTER_AUTOSCALER_CHART_VERSION
    assert release.get("values.image.tag") == versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[DEFAULT_MINOR]
    assert release.get("values.awsRegion") == "us-east-1"
    assert release.get("values.autoDiscovery.clusterName") == program.outputs["clusterName"][0]
    assert release.get("values.rbac.serviceAccount.name") == names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT
    assert release.get("values.extraArgs.skip-nodes-with-system-pods") is False
    [association] = [a for a in program.find("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                     if a.get("serviceAccount") == names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT]
    assert association.get("namespace") == "kube-system"
    assert program.depends_on(release, association)


def test_the_autoscaler_image_comes_through_the_mirror_in_prod_only(programs):
    def image(run):
        [release] = [r for r in run.find(RELEASE) if r.get("chart") == "cluster-autoscaler"]
        return release.get("values.image.repository")

    assert image(programs["dev"]) == versions.CLUSTER_AUTOSCALER_IMAGE_REPOSITORY
    assert image(programs["prod"]) == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/prod/registry.k8s.io/autoscaling/cluster-autoscaler")


def test_prod_nodes_may_fill_exactly_the_pull_through_caches_they_use(programs):
    policies = {stack: [p for p in run.find("aws:iam/rolePolicy:RolePolicy") if "pull-through" in p.name]
                for stack, run in programs.items()}
    assert policies["dev"] == []  # no mirror
    [policy] = policies["prod"]
    run = programs["prod"]
    assert policy.get("role") == run.one("aws:iam/role:Role", name="airflow-node-role").name + "-1234567"
    [statement] = json.loads(policy.get("policy"))["Statement"]
    assert statement["Resource"] == [
        f"arn:aws:ecr:us-east-1:123456789012:repository/prod/{registry}/*"
        for registry in ("docker.io", "public.ecr.aws", "quay.io", "registry.k8s.io")]
    # The nodes must hold it, and the stack's cache rules must exist, before they pull their first image.
    assert all(run.depends_on(group, policy) for group in run.find(MNG))
    rules = run.find("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert sorted(r.get("ecrRepositoryPrefix") for r in rules) == [
        f"prod/{registry}" for registry in ("docker.io", "public.ecr.aws", "quay.io", "registry.k8s.io")]
    assert all(run.depends_on(group, rule) for group in run.find(MNG) for rule in rules)


def test_autoscaler_iam_is_scoped_to_this_cluster(program):
    cluster = program.outputs["clusterName"][0]
    [policy] = [p for p in program.find("aws:iam/rolePolicy:RolePolicy") if p.name.startswith("airflow-autoscaler")]
    doc = json.loads(policy.get("policy"))
    mutating = [s for s in iam.statements(doc) if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert mutating and all(
        s["Condition"]["StringEquals"][f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}"] == "owned"
        for s in mutating)
    for action, conditioned in iam.actions_on_any_resource(doc):
        assert action.split(":")[1].startswith(("Describe", "Get")) or conditioned, action


def iam_documents(run: harness.Run) -> list[tuple[str, dict]]:
    """Every IAM policy document any resource carries (trust and permission policies)."""
    found = []
    for r in run.resources:
        for key, value in r.plain_inputs.items():
            if isinstance(value, str) and '"Statement"' in value:
                found.append((f"{r.name}.{key}", json.loads(value)))
    return found


def test_no_iam_statement_anywhere_allows_wildcard_actions(program):
    documents = iam_documents(program)
    assert len(documents) >= 5  # node, EBS CSI and autoscaler roles at least
    assert [(where, iam.wildcard_actions(doc)) for where, doc in documents if iam.wildcard_actions(doc)] == []


def test_every_kubernetes_resource_uses_the_clusters_provider(program):
    provider = cluster_provider(program)
    assert provider.get("clusterIdentifier") == "airflow"
    k8s = [r for r in program.resources if r.typ.startswith("kubernetes:")]
    assert k8s and all(r.provider.startswith(provider.urn + "::") for r in k8s)


def test_kubeconfig_is_exported_only_as_a_secret(program):
    value, secret = program.outputs["kubeconfig"]
    assert secret is True and json.loads(value)["kind"] == "Config"
    assert program.outputs["kubeconfigCommand"] == (
        f"aws eks update-kubeconfig --region us-east-1 --name {program.outputs['clusterName'][0]}", False)
    assert mocks.secret_paths(cluster_provider(program).inputs) == ["kubeconfig"]


def test_network_and_cluster_exports(program):
    expected = {"vpcId", "privateSubnetIds", "publicSubnetIds", "clusterName", "clusterEndpoint", "kubeconfig",
                "kubeconfigCommand", "systemNodeGroupName", "spotNodeGroupName", "ebsCsiRoleArn"}
    assert expected <= set(program.outputs)
    assert all(not program.outputs[k][1] for k in expected - {"kubeconfig"})


@pytest.fixture(scope="module")
def without_autoscaler() -> harness.Run:
    return harness.run_program("dev", overrides={"clusterAutoscaler": False})


def test_autoscaler_is_absent_when_switched_off(without_autoscaler):
    assert not [r for r in without_autoscaler.find(RELEASE) if r.get("chart") == "cluster-autoscaler"]
    assert not [a for a in without_autoscaler.find("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if a.get("serviceAccount") == names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT]
    assert not [r for r in without_autoscaler.resources if r.name.startswith("airflow-autoscaler")]
    assert without_autoscaler.one(MNG, name="airflow-system").get("ignoreScalingChanges") is False



def test_node_groups_wait_for_the_cluster_their_role_and_a_route_out(program):
    cluster = program.one("eks:index:Cluster")
    nat_routes = [r for r in program.find("aws:ec2/routeTableAssociation:RouteTableAssociation")
                  if "-private-" in r.name]
    assert nat_routes
    node_policies = [a for a in program.find("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                     if "-node-" in a.name]
    assert len(node_policies) == 3
    for group in program.find("eks:index:ManagedNodeGroup"):
        assert program.depends_on(group, cluster), group.name
        assert all(program.depends_on(group, route) for route in nat_routes), group.name
        assert all(program.depends_on(group, a) for a in node_policies), group.name


def test_database_builds_in_parallel_with_the_cluster_and_its_nodes(program):
    instance = program.one("aws:rds/instance:Instance")
    for slow in (program.one("eks:index:Cluster"), *program.find("eks:index:ManagedNodeGroup")):
        assert not program.depends_on(instance, slow), slow.name


def test_only_the_ebs_csi_node_plugin_reaches_instance_metadata(program):
    """The attach-limit choice: IMDS stays at hop limit 1 on every node (no pod-network pod gets
    the node role), and the EBS CSI node plugin reads it from the host network instead."""
    templates = program.find("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 2
    assert all(t.get("metadataOptions.httpPutResponseHopLimit") == 1 and
               t.get("metadataOptions.httpTokens") == "required" for t in templates)
    [driver] = [a for a in program.find(ADDON) if a.get("addonName") == "aws-ebs-csi-driver"]
    assert json.loads(driver.get("configurationValues"))["node"]["hostNetwork"] is True
