"""IAM documents as pure functions: trust policies and permission policies as dicts.

Components serialise these with json.dumps (an `aws.iam.get_policy_document` invoke would be
one more round trip on every preview and one more call to mock). Nothing here knows about
resources; inputs that are Outputs are resolved by the caller in a value-only `apply`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VERSION = "2012-10-17"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
EC2_SERVICE = "ec2.amazonaws.com"


def document(*statements: Mapping[str, Any]) -> dict:
    return {"Version": VERSION, "Statement": [dict(s) for s in statements]}


def allow(actions: Sequence[str], resources: Sequence[str] | str = "*", *, sid: str | None = None,
          condition: Mapping[str, Any] | None = None) -> dict:
    """One Allow statement. Actions are always explicit: a `*` action is a bug, so it raises."""
    if not actions:
        raise ValueError("a statement needs at least one action")
    for action in actions:
        if ":" not in action or not action.split(":", 1)[1] or is_pattern(action):
            raise ValueError(f"explicit actions only, got {action!r}")
    statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions),
                                 "Resource": list(resources) if not isinstance(resources, str) else resources}
    if sid:
        statement = {"Sid": sid, **statement}
    if condition:
        statement["Condition"] = {op: dict(kv) for op, kv in condition.items()}
    return statement


def service_trust(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> dict:
    """Trust policy letting an AWS service principal assume the role."""
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)})


def pod_identity_trust() -> dict:
    """Trust policy of every EKS Pod Identity role.

    The Pod Identity agent assumes the role on the pod's behalf and tags the session with the
    cluster, namespace and service account (sts:TagSession); which service account may use the
    role is decided by the PodIdentityAssociation, not here.
    """
    return service_trust(POD_IDENTITY_SERVICE, ("sts:AssumeRole", "sts:TagSession"))


def node_trust() -> dict:
    """Trust policy of the EC2 instance role that managed node groups launch nodes with."""
    return service_trust(EC2_SERVICE)


def aws_managed_policy_arn(name: str, partition: str = "aws") -> str:
    """ARN of an AWS managed policy, e.g. `service-role/AmazonEBSCSIDriverPolicy`."""
    return f"arn:{partition}:iam::aws:policy/{name}"


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(arn: str) -> Arn:
    """`arn:partition:service:region:account:resource` (the resource may hold colons)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"an ARN, got {arn!r}")
    return Arn(*parts[1:])


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(doc: Mapping[str, Any]) -> list[dict]:
    return [dict(s) for s in _as_list(doc.get("Statement", []))]


def is_pattern(action: str) -> bool:
    """`*`, `service:*` or a partial pattern (`ec2:Describe*`, `kms:GenerateDataKey*`): each grants
    every action it matches, including those AWS adds later."""
    return "*" in action or "?" in action


def wildcard_actions(doc: Mapping[str, Any]) -> list[str]:
    """Actions in Allow statements that are patterns (`*`, `service:*`, `service:Verb*`): least
    privilege forbids them."""
    found = []
    for s in statements(doc):
        if s.get("Effect") != "Allow":
            continue
        if "NotAction" in s:
            found.append("NotAction")
        for action in _as_list(s.get("Action", [])):
            if is_pattern(action):
                found.append(action)
    return found


def actions_on_any_resource(doc: Mapping[str, Any]) -> Iterable[tuple[str, bool]]:
    """(action, conditioned) for every Allow action whose Resource is `*`."""
    for s in statements(doc):
        if s.get("Effect") == "Allow" and "*" in _as_list(s.get("Resource", [])):
            for action in _as_list(s.get("Action", [])):
                yield action, bool(s.get("Condition"))
