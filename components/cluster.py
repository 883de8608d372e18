"""Cluster: the EKS control plane, its two managed node groups, add-ons, storage and scaling.

- control plane (pulumi-eks): API authentication, private endpoint always on, secrets
  envelope-encrypted with a customer-managed KMS key, control-plane logs into a log group
  of its own with a retention, admin access entries, no OIDC provider (AWS access goes
  through EKS Pod Identity only);
- a system node group for Airflow's own components, CoreDNS and controllers, and a tainted
  spot node group for task pods that the Cluster Autoscaler scales from and to zero;
- add-ons and the default gp3 StorageClass (components/addons.py), the Cluster Autoscaler
  (components/autoscaler.py), and the Kubernetes provider every in-cluster resource uses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pulumi_random as random

from airflow_eks import eks as eks_spec
from airflow_eks import iam, images, names, physical_names
from airflow_eks.config import ClusterSettings, NodeGroupSettings
from components.addons import ClusterAddons, ClusterAddonsArgs
from components.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.log_groups import service_log_group


@dataclass
class ClusterArgs:
    settings: ClusterSettings
    region: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    project: str
    stack: str
    """Project and stack name the cluster's physical name starts with."""
    log_retention_days: int
    """Days control-plane logs are kept (rounded up to a retention CloudWatch accepts)."""
    keep_data_on_destroy: bool
    """Keep the control-plane log group (audit logs) on `pulumi destroy` (keepDataOnDestroy)."""
    tags: dict[str, str]
    """The stack's tags, for what EKS and the EBS CSI driver launch (instances, volumes), which
    the provider's default tags do not reach."""
    image_mirror: str = ""
    """Registry public images are pulled through ('' for none; airflow_eks/images.py)."""
    mirrored_registries: Sequence[str] = ()
    """Upstream registries the stack's images are pulled through the mirror from; with an ECR
    mirror the node role may import from them into the cache."""
    nodes_depend_on: Sequence[pulumi.Resource] = ()
    """Egress the nodes need before they launch (the network's NAT routes)."""


class Cluster(pulumi.ComponentResource):
    """EKS cluster, node groups, add-ons, gp3 StorageClass, autoscaler and a k8s provider."""

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    """The EKS-managed cluster security group; managed node groups' nodes carry it."""
    kubeconfig: pulumi.Output[str]
    """Secret. Exec-based (`aws eks get-token`): it holds no credentials, but names the cluster."""
    kubeconfig_command: pulumi.Output[str]
    k8s_provider: k8s.Provider
    system_node_group: eks.ManagedNodeGroup
    spot_node_group: eks.ManagedNodeGroup
    system_node_group_name: pulumi.Output[str]
    spot_node_group_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    pod_identity_agent: aws.eks.Addon
    coredns: aws.eks.Addon
    ebs_csi_driver: aws.eks.Addon
    ebs_csi_role_arn: pulumi.Output[str]
    storage_class: k8s.storage.v1.StorageClass
    storage_class_name: str
    volume_teardown_guard: pulumi.Resource
    """Namespaces with PVCs depend on it: on destroy it waits for their EBS volumes to be
    deleted before the EBS CSI driver and the StorageClass go (components/addons.py)."""
    cluster_autoscaler: k8s.helm.v3.Release | None = None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:cluster:Cluster", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self._private_subnet_ids = args.private_subnet_ids
        self._tags = args.tags
        self._kubernetes_version = args.settings.kubernetes_version
        settings = args.settings
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        cluster = self._control_plane(args, partition)
        self.cluster_name = cluster.eks_cluster.name
        self.cluster_arn = cluster.eks_cluster.arn
        self.cluster_endpoint = cluster.eks_cluster.endpoint
        self.cluster_security_group_id = cluster.eks_cluster.vpc_config.cluster_security_group_id
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.kubeconfig_command = pulumi.Output.concat(
            "aws eks update-kubeconfig --region ", args.region, " --name ", self.cluster_name)
        # cluster_identifier: a known, stable string, so a changed (or, at preview, unknown)
        # kubeconfig updates the provider instead of replacing every Kubernetes resource
        # (pulumi-kubernetes#2745).
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, cluster_identifier=name, opts=self._child)

        node_role, attachments = self._node_role(partition, args)
        self.node_role_arn = node_role.arn
        # Nodes need their IAM policies and a route out (image pulls, registration) at launch,
        # or the node group fails with NodeCreationFailure; nothing in their inputs says so.
        nodes = self._child.merge(pulumi.ResourceOptions(depends_on=[*attachments, *args.nodes_depend_on]))
        self.system_node_group = self._node_group(
            "system", cluster, node_role, settings.system_nodes, names.SYSTEM_NODE_LABELS, taints=[],
            # When the autoscaler owns sizes, Pulumi must not reset them on the next `up`.
            ignore_scaling_changes=settings.cluster_autoscaler, opts=nodes)
        taint = names.TASK_NODE_TAINT
        self.spot_node_group = self._node_group(
            "spot", cluster, node_role, settings.spot_nodes, names.TASK_NODE_LABELS,
            taints=[aws.eks.NodeGroupTaintArgs(key=taint.key, value=taint.value, effect=taint.eks_effect)],
            ignore_scaling_changes=True, opts=nodes)
        self.system_node_group_name = self.system_node_group.node_group.node_group_name
        self.spot_node_group_name = self.spot_node_group.node_group.node_group_name

        addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(
            cluster_name=self.cluster_name, partition=partition,
            system_node_group=self.system_node_group, k8s_provider=self.k8s_provider, tags=args.tags,
        ), opts=self._child)
        self.pod_identity_agent = addons.pod_identity_agent
        self.coredns = addons.coredns
        self.ebs_csi_driver = addons.ebs_csi_driver
        self.ebs_csi_role_arn = addons.ebs_csi_role_arn
        self.storage_class = addons.storage_class
        self.storage_class_name = addons.storage_class_name
        self.volume_teardown_guard = addons.volume_teardown_guard

        if settings.cluster_autoscaler:
            scaler = ClusterAutoscaler(f"{name}-autoscaler", ClusterAutoscalerArgs(
                cluster_name=self.cluster_name, cluster_arn=self.cluster_arn, region=args.region,
                kubernetes_version=settings.kubernetes_version, k8s_provider=self.k8s_provider,
                wait_for=[self.system_node_group, self.pod_identity_agent, self.coredns],
                image_mirror=args.image_mirror,
            ), opts=self._child)
            self.cluster_autoscaler = scaler.release

        self.register_outputs({
            "cluster_name": self.cluster_name,
            "cluster_endpoint": self.cluster_endpoint,
            "cluster_security_group_id": self.cluster_security_group_id,
            "kubeconfig": self.kubeconfig,
            "kubeconfig_command": self.kubeconfig_command,
            "system_node_group_name": self.system_node_group_name,
            "spot_node_group_name": self.spot_node_group_name,
            "ebs_csi_role_arn": self.ebs_csi_role_arn,
        })

    def _control_plane(self, args: ClusterArgs, partition: pulumi.Output[str]) -> eks.Cluster:
        settings = args.settings
        secrets_key = aws.kms.Key(
            f"{self._name}-secrets-key", description="Envelope encryption of the EKS cluster's Kubernetes secrets",
            enable_key_rotation=True, deletion_window_in_days=30, opts=self._child,
        )
        admin_policy = partition.apply(eks_spec.cluster_admin_policy_arn)
        # A fixed name, so the control-plane log group exists before EKS writes to it. The
        # catch: a change that replaces the EKS cluster cannot create the new cluster beside
        # the old one (names are unique per account and region); it fails before anything is
        # deleted. deleteBeforeReplace set here would not reach the aws:eks/cluster:Cluster
        # that pulumi-eks creates inside its component, so make such a change together with a
        # new name: `pulumi up --replace <URN of this RandomId>`.
        suffix = random.RandomId(f"{self._name}-name-suffix", byte_length=physical_names.SUFFIX_BYTES,
                                 opts=self._child)
        cluster_name = suffix.hex.apply(lambda h: eks_spec.cluster_name(args.project, args.stack, h))
        log_groups = [service_log_group(
            f"{self._name}-control-plane-logs", cluster_name.apply(eks_spec.control_plane_log_group),
            retention_days=args.log_retention_days, keep_on_destroy=args.keep_data_on_destroy, opts=self._child,
        )] if settings.log_types else []
        admins = {
            eks_spec.access_entry_key(arn): eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={"cluster-admin": eks.AccessPolicyAssociationArgs(
                    policy_arn=admin_policy,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                )},
            )
            for arn in settings.admin_arns
        }
        return eks.Cluster(
            f"{self._name}-eks",
            name=cluster_name,
            version=settings.kubernetes_version,
            # What EKS does when the minor leaves standard support: STANDARD upgrades the control
            # plane, EXTENDED keeps it at six times the price. Unset, EKS's API defaults to
            # EXTENDED (docs/operations/upgrades.md, "Kubernetes support window").
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=settings.support_type),
            # Access entries only. pulumi-eks always sets bootstrapClusterCreatorAdminPermissions,
            # so EKS gives the principal that creates the cluster an admin access entry of its
            # own; listing that principal in clusterAdminArns too fails with 409
            # ResourceInUseException (pulumi-eks#2373, terraform-aws-eks#3293).
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=admins,
            skip_default_node_group=True,
            # Managed node groups' nodes carry the EKS-managed cluster security group (which the
            # database admits); pulumi-eks's own cluster and node security groups would go
            # unused. Requires skip_default_node_group.
            skip_default_security_groups=True,
            # Pods reach AWS through Pod Identity only: no IRSA, so no OIDC provider.
            create_oidc_provider=False,
            vpc_id=args.vpc_id,
            private_subnet_ids=list(args.private_subnet_ids),
            public_subnet_ids=list(args.public_subnet_ids),
            endpoint_private_access=True,
            endpoint_public_access=settings.endpoint_public_access,
            # pulumi-eks rejects CIDRs together with a private-only endpoint.
            public_access_cidrs=list(settings.public_access_cidrs) if settings.endpoint_public_access else None,
            enabled_cluster_log_types=list(settings.log_types),
            # The VPC CNI add-on's network policy agent enforces NetworkPolicies (the Airflow
            # chart's and the program's); without it they are accepted and ignored.
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True),
            encryption_config_key_arn=secrets_key.arn,
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=log_groups)),
        )

    def _node_role(self, partition: pulumi.Output[str],
                   args: ClusterArgs) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        # EKS creates the EC2_LINUX access entry for a managed node group's role itself; an
        # entry of our own would collide with it.
        role = aws.iam.Role(f"{self._name}-node-role", description="EKS managed node groups' instances",
                            assume_role_policy=json.dumps(iam.node_trust()), opts=self._child)
        grants: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-node-{policy.lower().replace('_', '-')}", role=role.name,
                policy_arn=partition.apply(lambda p, policy=policy: iam.aws_managed_policy_arn(policy, p)),
                opts=self._child,
            )
            for policy in eks_spec.NODE_POLICIES
        ]
        # The kubelet pulls with the node role; the first pull of an image through an ECR
        # pull-through cache imports it, which AmazonEC2ContainerRegistryReadOnly does not allow.
        cache = images.pull_through_cache_policy(args.image_mirror, args.mirrored_registries)
        if cache is not None:
            grants.append(aws.iam.RolePolicy(f"{self._name}-node-pull-through-cache", role=role.id,
                                             policy=json.dumps(cache), opts=self._child))
        return role, grants

    def _node_group(self, pool: str, cluster: eks.Cluster, role: aws.iam.Role, sizes: NodeGroupSettings,
                    labels: dict[str, str], *, taints: list[aws.eks.NodeGroupTaintArgs],
                    ignore_scaling_changes: bool, opts: pulumi.ResourceOptions) -> eks.ManagedNodeGroup:
        template = self._launch_template(pool)
        return eks.ManagedNodeGroup(
            f"{self._name}-{pool}",
            cluster=cluster,
            node_role=role,
            capacity_type=sizes.capacity_type,
            instance_types=list(sizes.instance_types),
            ami_type=eks_spec.ami_type(sizes.instance_types),
            # pulumi-eks fills in the cluster's version only without a launch template; unset,
            # EKS would keep the nodes on their first minor through every control-plane upgrade.
            version=self._kubernetes_version,
            # No image in the template: EKS keeps choosing the AMI (ami_type) and bootstrapping
            # the nodes; a new template version rolls the group.
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            # Nodes only in private subnets: a managed node gets a public IP exactly when its
            # subnet maps one on launch.
            subnet_ids=list(self._private_subnet_ids),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=sizes.min_size, desired_size=sizes.desired_size, max_size=sizes.max_size),
            labels=dict(labels),
            taints=taints,
            ignore_scaling_changes=ignore_scaling_changes,
            opts=opts,
        )

    def _launch_template(self, pool: str) -> aws.ec2.LaunchTemplate:
        instance_tags = {**self._tags, "Name": f"{self._name}-{pool}"}
        return aws.ec2.LaunchTemplate(
            f"{self._name}-{pool}-nodes",
            description=f"EKS managed node group {pool}: encrypted gp3 root volume, IMDSv2, tags",
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=eks_spec.NODE_ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=eks_spec.NODE_ROOT_VOLUME_GB, volume_type="gp3",
                    encrypted="true", delete_on_termination="true"),
            )],
            # Hop limit 1: pods (which get AWS access through Pod Identity) cannot reach the
            # node role's credentials; host-network agents (VPC CNI, Pod Identity agent, the
            # EBS CSI node plugin for its attach limit) can. Why not hop limit 2 for the CSI
            # plugin instead: airflow_eks/eks.py, ebs_csi_configuration.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=instance_tags)
                for kind in eks_spec.NODE_TAGGED_RESOURCES
            ],
            update_default_version=True,
            opts=self._child,
        )
