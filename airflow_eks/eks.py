"""EKS facts the cluster component needs, as data and pure functions.

AWS managed policy names, access policy ARNs, add-on configuration and the gp3 StorageClass
spec: kept here so tests can pin them without running the engine.
"""

from __future__ import annotations

import json
import re

from airflow_eks import iam, physical_names

# EKS cluster names: 1 to 100 characters, ^[0-9A-Za-z][A-Za-z0-9\-_]*$ (CreateCluster API).
CLUSTER_NAME_MAX_LENGTH = 100
# EKS service quota "Public endpoint access CIDR ranges per cluster": 40, not adjustable.
MAX_PUBLIC_ACCESS_CIDRS = 40

# AL2023 per CPU architecture; the node group's instance types decide which (ami_type()).
AMI_TYPES = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}
# Graviton families carry a "g" right after the generation digit (m7g, c6gn, r8gd, t4g, g5g);
# a1 is the first Graviton generation (EC2 user guide, "Instance type naming conventions");
# -gb families (p6e-gb200) run on NVIDIA Grace, also arm64.
_GRAVITON_FAMILY = re.compile(r"^([a-z]+[0-9]+g[a-z]*|a1|[a-z]+[0-9]+[a-z]*-gb[0-9]+)$")

# Node root volumes: the managed node group's own default size, but gp3 and encrypted, which
# the default launch template does not guarantee (it follows the account's EBS setting).
NODE_ROOT_DEVICE = "/dev/xvda"  # AL2023's root device name
NODE_ROOT_VOLUME_GB = 20
# Instances EKS launches do not inherit the provider's default tags: the launch template
# passes them on to each instance and its volumes and network interfaces.
NODE_TAGGED_RESOURCES = ("instance", "volume", "network-interface")

# What a managed node's instance role needs (EKS user guide, "Amazon EKS node IAM role").
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)
EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"

POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent"
COREDNS_ADDON = "coredns"
EBS_CSI_ADDON = "aws-ebs-csi-driver"

STORAGE_CLASS_NAME = "gp3"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def cluster_name(project: str, stack: str, suffix: str) -> str:
    """The EKS cluster's name, fixed by the program so its log group can exist first."""
    return physical_names.stack_scoped(project, stack, suffix, max_length=CLUSTER_NAME_MAX_LENGTH)


def control_plane_log_group(cluster: str) -> str:
    """The log group EKS writes control-plane logs to; it reuses one that already exists."""
    return f"/aws/eks/{cluster}/cluster"


def cluster_admin_policy_arn(partition: str = "aws") -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def access_entry_key(principal_arn: str) -> str:
    """A stable, unique key per principal (it names the entry's child resources).

    Derived from the ARN rather than the list position, so reordering clusterAdminArns
    does not replace every access entry.
    """
    arn = iam.parse_arn(principal_arn)
    return re.sub(r"[^A-Za-z0-9-]+", "-", f"{arn.account}-{arn.resource}").strip("-").lower()


def pod_identity_agent_configuration() -> str:
    """Tolerate every taint, so task pods on the tainted spot nodes get AWS credentials.

    It is the add-on's default since v1.2.0 (aws/containers-roadmap#2261); stated here
    because S3 task logs break silently if a future default drops it.
    """
    return json.dumps({"tolerations": [{"operator": "Exists"}]})


def cpu_architecture(instance_type: str) -> str:
    """'arm64' for Graviton instance types, otherwise 'x86_64'."""
    return "arm64" if _GRAVITON_FAMILY.match(instance_type.split(".")[0]) else "x86_64"


def ami_type(instance_types: list[str] | tuple[str, ...]) -> str:
    """The AL2023 AMI type for a node group: one architecture per group, or ValueError."""
    arches = sorted({cpu_architecture(t) for t in instance_types})
    if len(arches) != 1:
        raise ValueError("instance types of one CPU architecture (all Graviton or all x86), "
                         "since a node group runs one AMI")
    return AMI_TYPES[arches[0]]


def gp3_parameters(tags: dict[str, str]) -> dict[str, str]:
    """EBS CSI StorageClass parameters: encrypted gp3, tagged like every other resource.

    Volumes the driver creates do not get the provider's default tags; tagSpecification_N
    ("key=value") is how the driver tags them, so cost reports see them and a sweep after a
    failed destroy can find them.
    """
    params = {"type": "gp3", "encrypted": "true"}
    for i, (key, value) in enumerate(sorted(tags.items()), start=1):
        params[f"tagSpecification_{i}"] = f"{key}={value}"
    return params


def ebs_csi_configuration() -> str:
    """The EBS CSI node plugin on the host network, so it reads instance metadata (IMDS).

    Without IMDS the node plugin waits for the IMDS timeout on every start, then falls back to
    Kubernetes metadata and assumes one ENI and one attached volume (aws-ebs-csi-driver
    docs/install.md, "Metadata"): it reports the wrong attach limit on a busy node, and the
    dynamic limit of Kubernetes 1.34 (MutableCSINodeAllocatableCount) needs IMDS as its source
    (docs/faq.md). The nodes' IMDSv2 hop limit of 1 keeps every pod-network pod away from IMDS.
    Of the three ways to give the plugin metadata this one widens the least:
    - hop limit 2 would let every pod, task pods running DAG code included, fetch the node
      role's credentials (ENI management through AmazonEKS_CNI_Policy, ECR); Pod Identity only
      puts a pod's own role first in the SDK's chain, it does not block IMDS;
    - a fixed `node.volumeAttachLimit` is one number for instance types whose limits differ
      (shared Nitro slots minus ENIs, dedicated limits on newer generations), and the plugin
      would still wait for IMDS on every start;
    - host network reaches IMDS at hop 1 for this DaemonSet only, which is privileged already
      (it mounts block devices on the host); its health port then listens on the node and it
      no longer takes a pod IP. `node.hostNetwork` is in the add-on's configuration schema
      (`aws eks describe-addon-configuration --addon-name aws-ebs-csi-driver`).
    """
    return json.dumps({"node": {"hostNetwork": True}})
