"""Cluster Autoscaler: its IAM policy and its Helm values. Pure.

The autoscaler discovers the managed node groups' Auto Scaling groups by the tags EKS puts
on them (`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster>` =
`owned`), and reads an empty group's labels and taints through `eks:DescribeNodegroup`:
that is how the tainted spot group scales up from zero, since managed node group tags are
not copied to the Auto Scaling group (cluster-autoscaler/cloudprovider/aws/README.md,
"Minimal IAM Permissions Policy"; aws_manager.go buildNodeFromTemplate).
"""

from __future__ import annotations

from typing import Any

from airflow_eks import iam, images, names, pod_security, versions

DISCOVERY_TAG = "k8s.io/cluster-autoscaler/enabled"

# Read-only calls the AWS cloud provider makes with auto-discovery and the dynamic
# instance-type list (upstream "Full Cluster Autoscaler Features Policy").
DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
)
SCALE_ACTIONS = (
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
)


def cluster_tag(cluster_name: str) -> str:
    """The tag EKS sets to `owned` on the Auto Scaling group of each managed node group."""
    return f"k8s.io/cluster-autoscaler/{cluster_name}"


def policy(*, cluster_arn: str, cluster_name: str) -> dict:
    """Least privilege: describe anything, resize and terminate only this cluster's groups."""
    arn = iam.parse_arn(cluster_arn)
    asgs = f"arn:{arn.partition}:autoscaling:{arn.region}:{arn.account}:autoScalingGroup:*:autoScalingGroupName/*"
    nodegroups = f"arn:{arn.partition}:eks:{arn.region}:{arn.account}:nodegroup/{cluster_name}/*"
    return iam.document(
        iam.allow(DESCRIBE_ACTIONS, "*", sid="DescribeScalingState"),
        iam.allow(["eks:DescribeNodegroup"], [nodegroups], sid="ReadManagedNodeGroupTemplates"),
        iam.allow(
            SCALE_ACTIONS, [asgs], sid="ScaleThisClustersGroups",
            condition={"StringEquals": {f"aws:ResourceTag/{cluster_tag(cluster_name)}": "owned"}},
        ),
    )


def extra_args() -> dict[str, Any]:
    """Flags that let the tainted spot group go to zero when no task runs and come back."""
    return {
        # Task pods only fit the spot group, Airflow's own pods only the system group;
        # least-waste picks the cheapest fit where both would do.
        "expander": "least-waste",
        "balance-similar-node-groups": True,
        # DaemonSets (pod identity agent, CNI, EBS CSI node) run on every node; they must not
        # keep an otherwise empty spot node alive.
        "skip-nodes-with-system-pods": False,
        "ignore-daemonsets-utilization": True,
        "scale-down-unneeded-time": "5m",
        "scale-down-delay-after-add": "5m",
    }


def values(*, cluster_name: Any, region: str, kubernetes_version: str, image_mirror: str = "") -> dict:
    """Chart values; `cluster_name` may be an Output (the chart templates it into tags)."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        # Stable object names; the release name is fixed too (see the component).
        "fullnameOverride": names.CLUSTER_AUTOSCALER_SERVICE,
        "image": {
            "repository": images.mirrored(versions.CLUSTER_AUTOSCALER_IMAGE_REPOSITORY, image_mirror),
            "tag": versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetes_version],
            "pullPolicy": images.COMPONENT_PULL_POLICY,
        },
        # The Pod Identity association names this service account; no annotations, no keys.
        # It watches nodes and pods and evicts pods: it keeps its API token.
        "rbac": {"create": True, "serviceAccount": {
            "create": True, "name": names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT}},
        # Never on the spot nodes it is about to remove.
        "nodeSelector": dict(names.SYSTEM_NODE_LABELS),
        # It may delete nodes: nothing more than its own process, on a read-only image.
        "securityContext": pod_security.pod_context(pod_security.CLUSTER_AUTOSCALER_UID),
        "containerSecurityContext": pod_security.container_context(),
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "500m", "memory": "600Mi"}},
        "extraArgs": extra_args(),
    }
