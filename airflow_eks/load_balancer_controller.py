"""AWS Load Balancer Controller: its least-privilege IAM policy and its Helm values. Pure.

The controller turns the UI's Ingress into an Application Load Balancer: it creates the ALB,
its listeners, rules, target groups (IP targets: the API server pods) and security groups,
tags every one of them `elbv2.k8s.aws/cluster = <cluster name>`, and deletes them again when
the Ingress goes. The policy below is the controller's published v3.5.0 policy
(docs/install/iam_policy.json, a copy in ../shared/aws/) cut down to what this stack uses,
grouped by purpose:

- only ALBs (no NLB, no Global Accelerator, no Outposts/IPAM writes), in this region and account;
- writes to load balancers, target groups and security groups only where the cluster tag
  says they are THIS cluster's (the published policy only checks that some cluster tag exists);
- security group rules only on those groups and on the EKS cluster security group the pods
  carry (tagged by EKS as this cluster's, in this VPC): the published policy lets the
  controller change any security group in the account, the database's included;
- no Shield, WAF Classic, Cognito or IAM server certificates (turned off in the values); WAFv2
  only when uiWafAclArn is set, and then only that web ACL;
- no ACM calls: the Ingress names its certificate, so the controller never discovers one.

tests/test_load_balancer_controller.py proves every action is in the published policy and
that every action the ALB features used here need is granted.
"""

from __future__ import annotations

from typing import Any

from airflow_eks import iam, images, names, pod_security, ui_ingress, versions

CHART = "aws-load-balancer-controller"
CHART_REPO = "https://aws.github.io/eks-charts"
CHART_VERSION = "3.5.0"  # appVersion v3.5.0; the IAM policy below follows that release
RELEASE_NAME = "aws-load-balancer-controller"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
# EKS tags the cluster security group it creates (which managed nodes, and so pods, carry)
# `kubernetes.io/cluster/<cluster name>: owned` (EKS user guide, "security group requirements").
EKS_CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"

# Read-only calls of the reconcile loop (published statement 2, minus Outposts and IPAM).
DESCRIBE_ACTIONS = (
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetSecurityGroupsForVpc",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
)
# Changes to this cluster's (tagged) load balancers and target groups.
MODIFY_TAGGED_ACTIONS = (
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListenerAttributes",
)
LISTENER_ACTIONS = (
    "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
    "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
)
WAF_READ_ACTIONS = ("wafv2:GetWebACL", "wafv2:GetWebACLForResource")
WAF_ASSOCIATE_ACTIONS = ("wafv2:AssociateWebACL", "wafv2:DisassociateWebACL")


def _tagged(scope: str, cluster_name: str) -> dict:
    return {"StringEquals": {f"aws:{scope}Tag/{CLUSTER_TAG}": cluster_name}}


def policy(*, cluster_arn: str, cluster_name: str, vpc_id: str, waf_acl_arn: str = "") -> dict:
    """The controller's permissions for HTTPS ALBs of this cluster in this VPC."""
    arn = iam.parse_arn(cluster_arn)
    ec2 = f"arn:{arn.partition}:ec2:{arn.region}:{arn.account}"
    elb = f"arn:{arn.partition}:elasticloadbalancing:{arn.region}:{arn.account}"
    security_groups = f"{ec2}:security-group/*"
    balancers = [f"{elb}:loadbalancer/app/*/*", f"{elb}:targetgroup/*/*"]
    listeners = [f"{elb}:listener/app/*/*/*", f"{elb}:listener-rule/app/*/*/*"]
    untagged_request = {"Null": {f"aws:RequestTag/{CLUSTER_TAG}": "true"}}
    statements = [
        iam.allow(DESCRIBE_ACTIONS, "*", sid="Discovery"),
        # The first ELB in an account creates its service-linked role.
        iam.allow(["iam:CreateServiceLinkedRole"],
                  [f"arn:{arn.partition}:iam::{arn.account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/"
                   "AWSServiceRoleForElasticLoadBalancing"], sid="ElbServiceLinkedRole",
                  condition={"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
        # Security groups: the ALB's own (created tagged) and, in this VPC, rules on the nodes'.
        iam.allow(["ec2:CreateSecurityGroup"], [f"{ec2}:vpc/{vpc_id}", security_groups], sid="CreateSecurityGroups"),
        iam.allow(["ec2:CreateTags"], [security_groups], sid="TagNewSecurityGroups", condition={
            "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup",
                             f"aws:RequestTag/{CLUSTER_TAG}": cluster_name}}),
        iam.allow(["ec2:CreateTags", "ec2:DeleteTags"], [security_groups], sid="RetagOwnSecurityGroups",
                  condition={**untagged_request, **_tagged("Resource", cluster_name)}),
        iam.allow(["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                   "ec2:DeleteSecurityGroup"], [security_groups], sid="ManageOwnSecurityGroups",
                  condition=_tagged("Resource", cluster_name)),
        # The pods' group: the controller opens the API server's port to its backend group on
        # the one group of each target's network interface (networking_manager.go,
        # resolveEndpointSGForENI), which on managed nodes is the EKS cluster security group,
        # tagged `kubernetes.io/cluster/<name>: owned` by EKS. Never the database's or the
        # collector's group, whatever their VPC.
        iam.allow(["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], [security_groups],
                  sid="OpenTheClusterSecurityGroupToTheAlb",
                  condition={"StringEquals": {f"aws:ResourceTag/{EKS_CLUSTER_TAG_PREFIX}{cluster_name}": "owned",
                                              "ec2:Vpc": f"{ec2}:vpc/{vpc_id}"}}),
        # Load balancers and target groups: created tagged, then changed only while tagged.
        iam.allow(["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                  balancers, sid="CreateTaggedBalancers", condition=_tagged("Request", cluster_name)),
        iam.allow(["elasticloadbalancing:AddTags"], balancers, sid="TagNewBalancers", condition={
            "StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                             f"aws:RequestTag/{CLUSTER_TAG}": cluster_name}}),
        iam.allow(["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], balancers,
                  sid="RetagOwnBalancers", condition={**untagged_request, **_tagged("Resource", cluster_name)}),
        iam.allow(MODIFY_TAGGED_ACTIONS, [*balancers, listeners[0]], sid="ChangeOwnBalancers",
                  condition=_tagged("Resource", cluster_name)),
        # Listeners and rules of application load balancers (the published policy: any resource).
        iam.allow(LISTENER_ACTIONS, [balancers[0], *listeners], sid="ListenersAndRules"),
        iam.allow(["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], listeners,
                  sid="TagListenersAndRules"),
        iam.allow(["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                  [balancers[1]], sid="RegisterPodTargets"),
    ]
    if waf_acl_arn:
        statements += [
            iam.allow(WAF_READ_ACTIONS, "*", sid="ReadWebAcls"),
            iam.allow(WAF_ASSOCIATE_ACTIONS, [waf_acl_arn, balancers[0]], sid="AttachTheWebAcl"),
            iam.allow(["elasticloadbalancing:SetWebAcl"], [balancers[0]], sid="SetWebAclOnAlbs"),
        ]
    return iam.document(*statements)


def values(*, cluster_name: Any, region: str, vpc_id: Any, ingress_class: str, class_params: dict,
           tags: dict[str, str], waf: bool, image_mirror: str = "") -> dict:
    """Chart values; `cluster_name` and `vpc_id` may be Outputs. `class_params` is the
    IngressClassParams spec (airflow_eks/ui_ingress.py)."""
    return {
        # clusterName, region and vpcId set: the controller needs no IMDS access on the node.
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "image": {"repository": images.mirrored(versions.LOAD_BALANCER_CONTROLLER_IMAGE_REPOSITORY, image_mirror),
                  "pullPolicy": images.COMPONENT_PULL_POLICY},
        # Two replicas (one leader, one standby that also answers the webhooks) and a PDB, so a
        # node drain never leaves Ingress and Service admission without a webhook endpoint.
        "replicaCount": 2,
        "podDisruptionBudget": {"maxUnavailable": 1},
        # The Pod Identity association names this service account; no IRSA annotation.
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "nodeSelector": dict(names.SYSTEM_NODE_LABELS),
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
        # Restates the chart's fsGroup (its webhook certificate volume) and read-only, non-root
        # container, adding seccomp, a uid above the node's range and no capabilities.
        "podSecurityContext": pod_security.pod_context(pod_security.NONROOT_UID, pod_security.NOBODY_UID),
        "securityContext": pod_security.container_context(),
        # Only what this stack uses, so the policy can leave the rest out.
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": waf,
        # Ingress only: the Service webhook would otherwise take over every LoadBalancer
        # Service anyone creates in the cluster.
        "enableServiceMutatorWebhook": False,
        # The pod webhook that injects readiness gates (ui_ingress.READINESS_GATE_LABEL) sees
        # only the API server's pods, and a controller that is down skips the gate rather than
        # blocking pod creation (the chart's default, pinned): the API server could otherwise
        # not start again while both controller pods are gone, e.g. on a system node outage.
        "objectSelector": {"matchLabels": dict(ui_ingress.TARGET_POD_LABELS)},
        "podMutatorWebhookConfig": {"failurePolicy": "Ignore"},
        # The stack's tags (project, stack, managed-by) on every ALB, target group and SG.
        "defaultTags": dict(tags),
        "ingressClass": ingress_class,
        "createIngressClassResource": True,
        "ingressClassParams": {"create": True, "name": ingress_class, "spec": class_params},
    }
