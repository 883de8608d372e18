"""Cluster Autoscaler from its official chart, with a least-privilege Pod Identity role.

It resizes the managed node groups' Auto Scaling groups: the spot task group from zero when
task pods are pending and back to zero when they are gone. Values and the IAM document are
pure (airflow_eks/autoscaler.py); this component wires them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from airflow_eks import autoscaler, names, versions
from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs

RELEASE_NAME = "cluster-autoscaler"


@dataclass
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    region: str
    kubernetes_version: str
    k8s_provider: k8s.Provider
    wait_for: Sequence[pulumi.Resource]
    """What must run before the autoscaler's pod: its nodes and the Pod Identity agent."""
    image_mirror: str = ""
    """Registry public images are pulled through ('' for none; airflow_eks/images.py)."""


class ClusterAutoscaler(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:cluster:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        policy = pulumi.Output.all(args.cluster_arn, args.cluster_name).apply(
            lambda v: json.dumps(autoscaler.policy(cluster_arn=v[0], cluster_name=v[1])))
        identity = PodIdentityRole(f"{name}-identity", PodIdentityRoleArgs(
            cluster_name=args.cluster_name, namespace=names.KUBE_SYSTEM,
            service_accounts=[names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT], policy=policy,
        ), opts=child)

        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            # Fixed: `helm list -n kube-system` and runbooks refer to it.
            name=RELEASE_NAME,
            chart=versions.CLUSTER_AUTOSCALER_CHART,
            version=versions.CLUSTER_AUTOSCALER_CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.CLUSTER_AUTOSCALER_CHART_REPO),
            namespace=names.KUBE_SYSTEM,
            values=autoscaler.values(cluster_name=args.cluster_name, region=args.region,
                                     kubernetes_version=args.kubernetes_version, image_mirror=args.image_mirror),
            # An interrupted install must not leave the release locked "pending"
            # (pulumi-kubernetes#2054).
            atomic=True, cleanup_on_fail=True, timeout=600,
            # Pod Identity injects credentials at pod creation: the association must exist
            # before the pod starts, or the autoscaler runs without AWS access.
            opts=child.merge(pulumi.ResourceOptions(
                provider=args.k8s_provider, depends_on=[*identity.associations, *args.wait_for])),
        )
        self.role_arn = identity.role_arn
        self.register_outputs({"role_arn": self.role_arn})
