"""Enforcement levels, the resource types the rules read, and the names the pack shares with the program.

The pack is self-contained (it runs in its own virtualenv, without the program's packages), so the
few names it shares with the program are repeated here; tests/test_policy_rules.py checks they still
agree with airflow_eks.
"""

from __future__ import annotations

import re

MANDATORY, ADVISORY, DISABLED = "mandatory", "advisory", "disabled"
LEVELS = (ADVISORY, MANDATORY, DISABLED)

# Resource types (pulumi-aws 7, pulumi-eks 4, pulumi-kubernetes 4).
AWS_PROVIDER = "pulumi:providers:aws"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
# pulumi-eks components: the program's inputs arrive on these. In a real deployment the engine
# sees a remote component with empty props (the provider registers it without inputs), and
# the aws:eks children carry the settings, so both are checked.
EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP_COMPONENT = "eks:index:ManagedNodeGroup"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ADDON = "aws:eks/addon:Addon"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
IAM_ROLE = "aws:iam/role:Role"
IAM_POLICY_DOCUMENTS = {  # type -> property holding a permissions policy (JSON)
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
# type -> property holding a resource-based policy: its Resource "*" is the resource itself.
RESOURCE_POLICY_DOCUMENTS = {
    "aws:kms/key:Key": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
}
IAM_ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                   "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                   "aws:iam/groupPolicyAttachment:GroupPolicyAttachment")
KMS_KEY = "aws:kms/key:Key"
AMP_WORKSPACE = "aws:amp/workspace:Workspace"
AMP_SCRAPER = "aws:amp/scraper:Scraper"
AMP_RULE_GROUPS = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
AMP_ALERT_MANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
VPC_CNI_ADDON = "vpc-cni"  # the EKS add-on whose policy agent enforces NetworkPolicies
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
# The AWS Load Balancer Controller (airflow_eks/load_balancer_controller.py CHART) and its annotations.
LOAD_BALANCER_CONTROLLER_CHART = "aws-load-balancer-controller"
ALB_ANNOTATION_PREFIX = "alb.ingress.kubernetes.io/"

# Shared with the program (airflow_eks.iam.POD_IDENTITY_SERVICE, names.AIRFLOW_NAMESPACE).
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = frozenset({"sts:AssumeRole", "sts:TagSession"})
AIRFLOW_NAMESPACE = "airflow"
AIRFLOW_CHART = "airflow"
CLUSTER_AUTOSCALER_CHART = "cluster-autoscaler"
RUNTIME_DEFAULT = "RuntimeDefault"
# Chart 1.19.0 defaults the Airflow image to Docker Hub and the admin user to admin:admin.
CHART_DEFAULT_REPOSITORY = "apache/airflow"
CHART_DEFAULT_PASSWORD = "admin"  # noqa: S105 - the value the rule forbids
DOCKER_HUB = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
# Registries the project does not control (airflow_eks/images.py PUBLIC_REGISTRIES).
PUBLIC_REGISTRIES = DOCKER_HUB | {"quay.io", "registry.k8s.io", "ghcr.io", "gcr.io", "public.ecr.aws"}
# Chart 1.19.0's sidecar images (values.yaml), each with the values path that turns it on and
# whether the chart enables it by default (airflow_eks/images.py CHART_SIDECAR_IMAGES).
CHART_SIDECAR_IMAGES = {
    "pgbouncer": ("apache/airflow", "pgbouncer.enabled", False),
    "pgbouncerExporter": ("apache/airflow", "pgbouncer.enabled", False),
    "statsd": ("quay.io/prometheus/statsd-exporter", "statsd.enabled", True),
    "gitSync": ("registry.k8s.io/git-sync/git-sync", "dags.gitSync.enabled", False),
}
READ_VERBS = ("Describe", "Get", "List", "Head", "BatchGet", "Lookup", "Search", "View")
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
# Writes that change who may reach what: unconditioned, they reach every security group in the
# account (the database's too), so a grant must name the groups by their tags.
SECURITY_GROUP_WRITES = ("ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
                         "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
                         "ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
                         "ec2:UpdateSecurityGroupRuleDescriptionsEgress", "ec2:DeleteSecurityGroup")
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
# EKS release calendar (airflow_eks/kubernetes_support.py CALENDAR, with its sources): minor ->
# (end of standard support, end of extended support) as UTC days, each the first day of the
# next phase. Extended support bills EKS_EXTENDED_HOURLY instead of EKS_STANDARD_HOURLY.
EKS_SUPPORT_ENDS = {
    "1.32": ("2026-03-23", "2027-03-23"),
    "1.33": ("2026-07-29", "2027-07-29"),
    "1.34": ("2026-12-02", "2027-12-02"),
    "1.35": ("2027-03-27", "2028-03-27"),
    "1.36": ("2027-08-02", "2028-08-02"),
}
EKS_STANDARD_HOURLY, EKS_EXTENDED_HOURLY = 0.10, 0.60
# Airflow's release calendar (airflow_eks/support/airflow_calendar.py RELEASES and YANKED_RELEASES,
# with its sources): every final 3.x release -> its day (UTC) in Airflow's release notes, and the
# yanked ones. Airflow patches only its latest minor (releasing_security_patches.rst in apache/airflow).
AIRFLOW_RELEASES = {
    "3.0.0": "2025-04-22", "3.0.1": "2025-05-12", "3.0.2": "2025-06-10", "3.0.3": "2025-07-14",
    "3.0.4": "2025-08-08", "3.0.6": "2025-08-29",
    "3.1.0": "2025-09-25", "3.1.1": "2025-10-27", "3.1.2": "2025-11-05", "3.1.3": "2025-11-14",
    "3.1.5": "2025-12-12", "3.1.6": "2026-01-13", "3.1.7": "2026-02-04", "3.1.8": "2026-03-11",
    "3.2.0": "2026-04-07", "3.2.1": "2026-04-22", "3.2.2": "2026-05-29",
    "3.3.0": "2026-07-06", "3.3.1": "2026-08-12", "3.3.2": "2026-09-17",
    "3.4.0": "2026-11-06",
}
# Releases the program's package registry does not serve, so its runtime tier has not run them
# (the calendar's NOT_INSTALLABLE_HERE): said next to advice to move there.
AIRFLOW_NOT_INSTALLABLE_HERE = ("3.4.0",)
# Days a superseded release may still deploy (the calendar's GRACE_DAYS, where the choice is
# argued: no longer than the shortest gap between Airflow minors, so a passing stack is at most
# one minor behind): airflow-version-supported fails from that day, airflow-version-current
# reports it before.
AIRFLOW_GRACE_DAYS = 90
AIRFLOW_YANKED = ("3.0.5", "3.1.4")
