"""IAM, KMS and tagging rules: least privilege, Pod Identity trust, key rotation and required tags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import Resource, rule
from .constants import (
    BROAD_MANAGED_POLICIES,
    IAM_ATTACHMENTS,
    IAM_POLICY_DOCUMENTS,
    IAM_ROLE,
    KMS_KEY,
    POD_IDENTITY_ACTIONS,
    POD_IDENTITY_SERVICE,
    READ_VERBS,
    RESOURCE_POLICY_DOCUMENTS,
    SECURITY_GROUP_WRITES,
)
from .helpers import _items, _map, _statements, _tags


def _is_read(action: str) -> bool:
    verb = action.split(":", 1)[-1]
    return verb.startswith(READ_VERBS)


def _privilege_findings(document: Any, *, resource_policy: bool = False) -> list[str]:
    found = []
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            found.append("an Allow with NotAction/NotResource grants everything else; list what is allowed.")
        actions = [str(a) for a in _items(statement.get("Action"))]
        # Partial patterns too: `kms:GenerateDataKey*` grants four actions, `ec2:Describe*` hundreds.
        wild = [a for a in actions if "*" in a or "?" in a]
        if wild:
            found.append(f"wildcard actions {wild}; name the actions the role needs.")
        on_any = "*" in [str(r) for r in _items(statement.get("Resource"))]
        writes = [a for a in actions if a not in wild and not _is_read(a)]
        if on_any and writes and not statement.get("Condition") and not resource_policy:
            found.append(f"write actions {sorted(writes)} on Resource \"*\" without a Condition; scope the resources.")
        group_writes = sorted(a for a in actions if a in SECURITY_GROUP_WRITES)
        tag_keys = [k for conditions in _map(statement.get("Condition")).values()
                    for k in _map(conditions) if k.startswith("aws:ResourceTag/")]
        if group_writes and not tag_keys and not resource_policy:
            found.append(f"security group writes {group_writes} without an aws:ResourceTag condition may change "
                         "any group in the account, the database's included; name the groups by their tags.")
    return found


@rule("iam-least-privilege", "IAM policies name their actions: no `*` or `service:*`, no unscoped writes, "
      "security group writes only on groups named by their tags, no broad managed policies; resource policies "
      "(KMS keys, SNS topics, S3 buckets) name their actions too.",
      types=[IAM_ROLE, *IAM_POLICY_DOCUMENTS, *IAM_ATTACHMENTS, *RESOURCE_POLICY_DOCUMENTS])
def iam_least_privilege(typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if typ in IAM_ATTACHMENTS:
        arn = str(props.get("policyArn") or "")
        broad = [p for p in BROAD_MANAGED_POLICIES if arn.endswith(f":policy/{p}")]
        return [f"attaches {broad[0]}; grant a least-privilege policy instead."] if broad else []
    if typ in RESOURCE_POLICY_DOCUMENTS:
        return _privilege_findings(props.get(RESOURCE_POLICY_DOCUMENTS[typ]), resource_policy=True)
    if typ == IAM_ROLE:
        documents = [_map(p).get("policy") for p in _items(props.get("inlinePolicies"))]
    else:
        documents = [props.get(IAM_POLICY_DOCUMENTS[typ])]
    return [finding for document in documents for finding in _privilege_findings(document)]


@rule("iam-pod-identity-trust", "Pod Identity roles trust exactly pods.eks.amazonaws.com; no role trusts everyone.",
      types=[IAM_ROLE])
def iam_pod_identity_trust(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    found = []
    for statement in _statements(props.get("assumeRolePolicy")):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        principals = _map(principal)
        if principal == "*" or "*" in _items(principals.get("AWS")):
            if not statement.get("Condition"):
                found.append("the trust policy lets any AWS principal assume the role.")
            continue
        services = {str(s) for s in _items(principals.get("Service"))}
        if POD_IDENTITY_SERVICE not in services:
            continue
        if services != {POD_IDENTITY_SERVICE} or set(principals) != {"Service"}:
            found.append(f"a Pod Identity trust statement must name only {POD_IDENTITY_SERVICE}, "
                         f"found {dict(principals)}.")
        actions = {str(a) for a in _items(statement.get("Action"))}
        if actions != POD_IDENTITY_ACTIONS:
            found.append(f"Pod Identity trust must allow exactly {sorted(POD_IDENTITY_ACTIONS)}, "
                         f"found {sorted(actions)}.")
    return found


@rule("kms-key-rotation", "Customer-managed symmetric KMS keys rotate yearly.", types=[KMS_KEY])
def kms_key_rotation(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT" or props.get("enableKeyRotation") is True:
        return []
    return ["enableKeyRotation must be true."]


@rule("aws-required-tags", "Every AWS resource carries the required tags, through its provider's "
      "defaultTags or its own tags.",
      config={"requiredTags": {"type": "array", "items": {"type": "string"},
                               "default": ["project", "stack", "managed-by"],
                               "description": "Tag keys every AWS resource must carry."}})
def aws_required_tags(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for resource in resources:
        if not resource.type.startswith("aws:"):
            continue
        default_tags = _map(_map((resource.provider or {}).get("defaultTags")).get("tags"))
        tags = {**default_tags, **_tags(resource.props)}
        missing = sorted(k for k in cfg["requiredTags"] if not tags.get(k))
        if missing:
            found.append((f"missing tags {missing}; create it with the stack's tagged AWS provider.", resource.urn))
    return found
