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

AMI_TYPE = "AL2023_x86_64_STANDARD"

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


def gp3_parameters() -> dict[str, str]:
    return {"type": "gp3", "encrypted": "true"}
