"""AWS Load Balancer Controller from its official chart, with a least-privilege Pod Identity role.

It turns the UI's Ingress into an ALB and deletes the ALB (with its target groups and security
groups) when the Ingress goes. The chart also renders the IngressClass and the
IngressClassParams that pin the ALB's scheme, CIDRs and WAF ACL. Values and the IAM document
are pure (airflow_eks/load_balancer_controller.py, airflow_eks/ui_ingress.py); this component
wires them.

Teardown: the release waits for the system nodes, the Pod Identity agent and its own
association, so `pulumi destroy` deletes it before them; whoever creates Ingresses for this
controller must depend on `release`, so they (and their ALBs) go first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from airflow_eks import load_balancer_controller as lbc
from airflow_eks import names
from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs


@dataclass
class LoadBalancerControllerArgs:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    ingress_class: str
    class_params: dict
    """IngressClassParams spec (airflow_eks/ui_ingress.class_params)."""
    tags: dict[str, str]
    """Put on every ALB, target group and security group the controller creates."""
    wait_for: Sequence[pulumi.Resource]
    """What must run before the controller's pods: the system nodes and the Pod Identity agent."""
    waf_acl_arn: str = ""
    image_mirror: str = ""


class LoadBalancerController(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerControllerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:ui:LoadBalancerController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        waf = args.waf_acl_arn
        policy = pulumi.Output.all(args.cluster_arn, args.cluster_name, args.vpc_id).apply(
            lambda v: json.dumps(lbc.policy(cluster_arn=v[0], cluster_name=v[1], vpc_id=v[2], waf_acl_arn=waf)))
        identity = PodIdentityRole(f"{name}-identity", PodIdentityRoleArgs(
            cluster_name=args.cluster_name, namespace=names.KUBE_SYSTEM,
            service_accounts=[lbc.SERVICE_ACCOUNT], policy=policy,
        ), opts=child)

        # The controller's AWS resources are not Pulumi's: say who manages them.
        tags = {**args.tags, "managed-by": lbc.RELEASE_NAME}
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            # Fixed: `helm list -n kube-system` and runbooks refer to it.
            name=lbc.RELEASE_NAME,
            chart=lbc.CHART,
            version=lbc.CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=lbc.CHART_REPO),
            namespace=names.KUBE_SYSTEM,
            values=lbc.values(cluster_name=args.cluster_name, region=args.region, vpc_id=args.vpc_id,
                              ingress_class=args.ingress_class, class_params=args.class_params, tags=tags,
                              waf=bool(waf), image_mirror=args.image_mirror),
            # Ready pods answer the webhooks Ingress admission calls; an interrupted install
            # must not leave the release locked "pending" (pulumi-kubernetes#2054).
            skip_await=False, atomic=True, cleanup_on_fail=True, timeout=600,
            # Pod Identity injects credentials at pod creation: the association must exist first.
            opts=child.merge(pulumi.ResourceOptions(depends_on=[*identity.associations, *args.wait_for])),
        )
        self.role_arn = identity.role_arn
        self.register_outputs({"role_arn": self.role_arn})
