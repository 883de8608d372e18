"""The airflow-eks policy rules, as pure functions over resource types and camelCase props.

Two kinds of rule:
- resource rules: `check(resource_type, props, settings) -> [message]`, run once per resource
  of the rule's `types` (CrossGuard `ResourceValidationPolicy`, props = the resource's inputs);
- stack rules: `check(resources, settings) -> [(message, urn)]`, run once over every resource
  of the stack, for facts that span resources (CrossGuard `StackValidationPolicy`).

Nothing here imports pulumi_policy: `policies.py` wraps these for the CLI, and the offline
tests run them directly, including over everything the whole program registers under the
mock engine (mock inputs use the same camelCase names as policy props). `evaluate()` is that
adapter. Props may be CrossGuard's read-only proxies, so the code only uses the Mapping and
Sequence protocols and reads the keys it needs.

The pack is self-contained (it runs in its own virtualenv, without the program's packages),
so the few names it shares with the program are repeated in `constants`; tests/test_policy_rules.py
checks they still agree with airflow_eks.

Layout: `constants` (levels, resource types, shared names), `base` (Resource, Violation, Rule and
the RULES registry), `helpers` (reading props, linking resources), `airflow_values` (the Airflow
release's values), one module of rules per area (`aws_rds`, `aws_s3`, `aws_eks`, `aws_network`,
`aws_iam_kms`, `kubernetes`, `pod_security`, `ui_access`), and `engine` (evaluate() and the pack config schema). The
submodules import each other relatively, so the package works both as `rules` (the CLI runs the
pack with policy/ on sys.path) and as `policy.rules` (the tests). Everything public is
re-exported here: use `rules.<name>`.
"""

from __future__ import annotations

from .base import RULES, Resource, ResourceCheck, Rule, StackCheck, Violation, rule
from .constants import (
    ADVISORY,
    AIRFLOW_CHART,
    AIRFLOW_GRACE_DAYS,
    AIRFLOW_NAMESPACE,
    AIRFLOW_NOT_INSTALLABLE_HERE,
    AIRFLOW_RELEASES,
    AIRFLOW_YANKED,
    ALB_ANNOTATION_PREFIX,
    AMP_ALERT_MANAGER,
    AMP_RULE_GROUPS,
    AMP_SCRAPER,
    AMP_WORKSPACE,
    AWS_PROVIDER,
    BROAD_MANAGED_POLICIES,
    CHART_DEFAULT_PASSWORD,
    CHART_DEFAULT_REPOSITORY,
    CHART_SIDECAR_IMAGES,
    CLUSTER_AUTOSCALER_CHART,
    DISABLED,
    DOCKER_HUB,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_COMPONENT,
    EKS_NODE_GROUP,
    EKS_NODE_GROUP_COMPONENT,
    EKS_SUPPORT_ENDS,
    HELM_RELEASE,
    IAM_ATTACHMENTS,
    IAM_POLICY_DOCUMENTS,
    IAM_ROLE,
    INGRESS,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LEVELS,
    LIMIT_RANGE,
    LOAD_BALANCER_CONTROLLER_CHART,
    MANDATORY,
    NAMESPACE,
    NETWORK_POLICY,
    POD_IDENTITY_ACTIONS,
    POD_IDENTITY_SERVICE,
    PUBLIC_REGISTRIES,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    READ_VERBS,
    RUNTIME_DEFAULT,
    S3_BUCKETS,
    S3_ENCRYPTION,
    S3_LIFECYCLE,
    S3_POLICY,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_VERSIONING,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS,
    SECURITY_GROUP_RULE,
    SEMVER,
    SUBNET,
    VPC_CNI_ADDON,
)

# Importing a rule module registers its rules, so this order is RULES' order (and the order of
# the pack's policies and of evaluate()'s violations). Keep it; isort must not sort it.
# isort: off
from .aws_rds import (
    rds_storage_encrypted, rds_not_public, rds_backup_retention, rds_multi_az, rds_deletion_protection,
    rds_final_snapshot, rds_force_ssl,
)
from .aws_s3 import (
    s3_public_access_block, s3_encryption, s3_tls_only, s3_versioning, s3_no_force_destroy, s3_logs_lifecycle,
)
from .aws_eks import (
    eks_secrets_encryption, eks_control_plane_logging, eks_public_endpoint_cidrs, eks_authentication_mode,
    eks_private_nodes, eks_node_hardening, eks_required_addons, eks_version_supported, version_support_findings,
)
from .aws_network import no_open_ingress
from .aws_iam_kms import iam_least_privilege, iam_pod_identity_trust, kms_key_rotation, aws_required_tags
from .observability import metrics_enabled
from .kubernetes import (
    helm_release_pinned, airflow_remote_logging_s3, airflow_task_resources, airflow_image_registry,
    airflow_image_by_digest, airflow_ui_rbac, airflow_no_default_admin_password, airflow_secrets_by_reference,
    task_pods_limit_range, airflow_version_supported, airflow_support_findings, airflow_version_current,
    airflow_currency_findings,
)
from .pod_security import (
    eks_network_policy_enforcement, helm_pod_hardening, airflow_default_deny, airflow_pod_security_admission,
    network_policy_ip_peers,
)
from .ui_access import ui_https_only, ui_internet_facing_guarded, ui_internet_facing_exposure
from .placeholders import no_template_placeholders
# isort: on
from .engine import as_resources, config_schema, evaluate, level_of

__all__ = [
    # constants
    "MANDATORY", "ADVISORY", "DISABLED", "LEVELS",
    "AWS_PROVIDER", "RDS_INSTANCE", "RDS_PARAMETER_GROUP", "S3_BUCKETS", "S3_PUBLIC_ACCESS_BLOCK", "S3_ENCRYPTION",
    "S3_POLICY", "S3_LIFECYCLE", "S3_VERSIONING", "EKS_COMPONENT", "EKS_CLUSTER", "EKS_SUPPORT_ENDS",
    "AIRFLOW_RELEASES", "AIRFLOW_YANKED", "AIRFLOW_NOT_INSTALLABLE_HERE", "AIRFLOW_GRACE_DAYS",
    "EKS_NODE_GROUP_COMPONENT",
    "EKS_NODE_GROUP", "EKS_ADDON", "LAUNCH_TEMPLATE", "SUBNET", "SECURITY_GROUP", "SECURITY_GROUP_RULE",
    "SECURITY_GROUP_INGRESS", "IAM_ROLE", "IAM_POLICY_DOCUMENTS", "IAM_ATTACHMENTS", "KMS_KEY", "HELM_RELEASE",
    "LIMIT_RANGE", "NAMESPACE", "NETWORK_POLICY", "POD_IDENTITY_SERVICE", "POD_IDENTITY_ACTIONS", "AIRFLOW_NAMESPACE",
    "AIRFLOW_CHART", "INGRESS", "LOAD_BALANCER_CONTROLLER_CHART", "ALB_ANNOTATION_PREFIX",
    "AMP_WORKSPACE", "AMP_SCRAPER", "AMP_RULE_GROUPS", "AMP_ALERT_MANAGER",
    "CHART_DEFAULT_REPOSITORY", "CHART_DEFAULT_PASSWORD", "DOCKER_HUB", "PUBLIC_REGISTRIES", "CHART_SIDECAR_IMAGES",
    "READ_VERBS", "BROAD_MANAGED_POLICIES", "SEMVER", "CLUSTER_AUTOSCALER_CHART", "VPC_CNI_ADDON", "RUNTIME_DEFAULT",
    # model and registry
    "Resource", "Violation", "ResourceCheck", "StackCheck", "Rule", "RULES", "rule",
    # rules
    "rds_storage_encrypted", "rds_not_public", "rds_backup_retention", "rds_multi_az", "rds_deletion_protection",
    "rds_final_snapshot", "rds_force_ssl",
    "s3_public_access_block", "s3_encryption", "s3_tls_only", "s3_versioning", "s3_no_force_destroy",
    "s3_logs_lifecycle",
    "eks_secrets_encryption", "eks_control_plane_logging", "eks_public_endpoint_cidrs", "eks_authentication_mode",
    "eks_private_nodes", "eks_node_hardening", "eks_required_addons", "eks_version_supported",
    "version_support_findings",
    "no_open_ingress",
    "iam_least_privilege", "iam_pod_identity_trust", "kms_key_rotation", "aws_required_tags",
    "helm_release_pinned", "airflow_remote_logging_s3", "airflow_task_resources", "airflow_image_registry",
    "airflow_image_by_digest", "airflow_ui_rbac", "airflow_no_default_admin_password",
    "airflow_secrets_by_reference", "task_pods_limit_range", "airflow_version_supported", "airflow_support_findings",
    "airflow_version_current", "airflow_currency_findings",
    "eks_network_policy_enforcement", "helm_pod_hardening", "airflow_default_deny", "airflow_pod_security_admission",
    "network_policy_ip_peers",
    "ui_https_only", "ui_internet_facing_guarded", "ui_internet_facing_exposure", "no_template_placeholders",
    "metrics_enabled",
    # running the rules outside the CLI
    "as_resources", "level_of", "evaluate", "config_schema",
]
