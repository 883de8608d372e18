"""EKS managed add-ons the cluster needs beyond what pulumi-eks installs, and the gp3 class.

pulumi-eks installs vpc-cni and kube-proxy; with `skip_default_node_group` it leaves CoreDNS
self-managed and installs neither the Pod Identity agent nor the EBS CSI driver. Each add-on
here waits for the system nodes: an add-on whose pods have no node sits in CREATING or
DEGRADED until its 20-minute timeout (pulumi-eks#1525, terraform-aws-eks#2596).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pulumiverse_time

from airflow_eks import eks as eks_spec
from airflow_eks import iam, names

# Add-ons report ACTIVE only once their pods run; fresh nodes can take a while.
ADDON_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="30m", delete="20m")
# Deleting a namespace waits only for its PVCs; each PV, and the EBS DeleteVolume behind it,
# follows asynchronously once the volume is detached from its node (usually well under a
# minute). This long a wait on destroy keeps the driver and the class around for it.
VOLUME_TEARDOWN_WAIT = "3m"


@dataclass
class ClusterAddonsArgs:
    cluster_name: pulumi.Input[str]
    partition: pulumi.Input[str]
    system_node_group: eks.ManagedNodeGroup
    k8s_provider: k8s.Provider
    tags: dict[str, str]
    """Tags for the EBS volumes the driver creates (they get no provider default tags)."""


class ClusterAddons(pulumi.ComponentResource):
    """Pod Identity agent, CoreDNS, EBS CSI driver (with its Pod Identity role), gp3 class."""

    pod_identity_agent: aws.eks.Addon
    coredns: aws.eks.Addon
    ebs_csi_driver: aws.eks.Addon
    ebs_csi_role_arn: pulumi.Output[str]
    storage_class: k8s.storage.v1.StorageClass
    storage_class_name: str
    volume_teardown_guard: pulumiverse_time.Sleep
    """Waits VOLUME_TEARDOWN_WAIT on destroy only, after whatever depends on it and before the
    EBS CSI driver and the StorageClass go: make namespaces with PVCs depend on it."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:cluster:ClusterAddons", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        on_system_nodes = child.merge(pulumi.ResourceOptions(
            depends_on=[args.system_node_group], custom_timeouts=ADDON_TIMEOUTS))

        self.pod_identity_agent = aws.eks.Addon(
            f"{name}-pod-identity-agent", cluster_name=args.cluster_name,
            addon_name=eks_spec.POD_IDENTITY_AGENT_ADDON,
            configuration_values=eks_spec.pod_identity_agent_configuration(),
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
            opts=on_system_nodes,
        )
        self.coredns = aws.eks.Addon(
            f"{name}-coredns", cluster_name=args.cluster_name, addon_name=eks_spec.COREDNS_ADDON,
            # EKS bootstrapped a self-managed CoreDNS; the managed add-on takes it over.
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
            opts=on_system_nodes,
        )

        # No PodIdentityAssociation of our own: the add-on creates it for its controller.
        ebs_role = aws.iam.Role(f"{name}-ebs-csi-role", description="EBS CSI controller (EKS Pod Identity)",
                                assume_role_policy=json.dumps(iam.pod_identity_trust()), opts=child)
        ebs_policy = aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi-policy", role=ebs_role.name,
            policy_arn=pulumi.Output.from_input(args.partition).apply(
                lambda p: iam.aws_managed_policy_arn(eks_spec.EBS_CSI_POLICY, p)),
            opts=child,
        )
        self.ebs_csi_driver = aws.eks.Addon(
            f"{name}-ebs-csi-driver", cluster_name=args.cluster_name, addon_name=eks_spec.EBS_CSI_ADDON,
            # Host network for the node plugin: the right attach limit needs IMDS (eks_spec).
            configuration_values=eks_spec.ebs_csi_configuration(),
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
                role_arn=ebs_role.arn, service_account=names.EBS_CSI_SERVICE_ACCOUNT)],
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
            # The controller gets credentials at pod start: the agent and the role's policy
            # must exist first.
            opts=on_system_nodes.merge(pulumi.ResourceOptions(depends_on=[self.pod_identity_agent, ebs_policy])),
        )
        self.ebs_csi_role_arn = ebs_role.arn

        self.storage_class_name = eks_spec.STORAGE_CLASS_NAME
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                # Fixed: PVCs and the Airflow chart refer to it by name.
                name=self.storage_class_name,
                annotations={eks_spec.DEFAULT_CLASS_ANNOTATION: "true"},
            ),
            provisioner=eks_spec.EBS_CSI_PROVISIONER,
            parameters=eks_spec.gp3_parameters(args.tags),
            # Bind in the AZ the pod lands in; EBS volumes cannot cross AZs.
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            # After the driver on create; before it on destroy, so volumes made through this
            # class are deleted while the driver can still delete them.
            opts=child.merge(pulumi.ResourceOptions(provider=args.k8s_provider, depends_on=[self.ebs_csi_driver])),
        )

        # Without it Pulumi deletes the class and the driver right after the namespace, while
        # the PVs still wait for DeleteVolume: their EBS volumes are orphaned (and billed).
        self.volume_teardown_guard = pulumiverse_time.Sleep(
            f"{name}-volume-teardown-wait", destroy_duration=VOLUME_TEARDOWN_WAIT,
            opts=child.merge(pulumi.ResourceOptions(depends_on=[self.ebs_csi_driver, self.storage_class])),
        )

        self.register_outputs({
            "ebs_csi_role_arn": self.ebs_csi_role_arn,
            "storage_class_name": self.storage_class_name,
        })
