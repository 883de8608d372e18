"""EKS rules: the control plane (secrets encryption, logs, endpoint, authentication), node groups, add-ons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .base import Resource, rule
from .constants import (
    ADVISORY,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_COMPONENT,
    EKS_EXTENDED_HOURLY,
    EKS_NODE_GROUP,
    EKS_NODE_GROUP_COMPONENT,
    EKS_STANDARD_HOURLY,
    EKS_SUPPORT_ENDS,
    LAUNCH_TEMPLATE,
    SUBNET,
)
from .helpers import (
    AS_OF_CONFIG,
    _first,
    _is_anywhere,
    _items,
    _judged_on,
    _map,
    _number,
    _of_type,
    _path,
    _references,
    _tags,
    _truthy,
)


@dataclass(frozen=True)
class _Eks:
    secrets_key: Any
    log_types: list
    public: bool
    public_cidrs: list | None
    auth_mode: Any


def _eks(typ: str, props: Mapping[str, Any]) -> _Eks | None:
    """The control-plane settings of either type, with the defaults AWS and pulumi-eks apply."""
    if typ == EKS_COMPONENT:
        if not props:  # a remote component as the engine sees it: its aws:eks child is checked
            return None
        cidrs = props.get("publicAccessCidrs")
        return _Eks(props.get("encryptionConfigKeyArn"), _items(props.get("enabledClusterLogTypes")),
                    props.get("endpointPublicAccess") is not False, None if cidrs is None else _items(cidrs),
                    props.get("authenticationMode"))
    encryption = _first(props.get("encryptionConfig"))
    vpc = _first(props.get("vpcConfig"))
    cidrs = vpc.get("publicAccessCidrs")
    key = _path(encryption, "provider.keyArn") if "secrets" in _items(encryption.get("resources")) else None
    return _Eks(key, _items(props.get("enabledClusterLogTypes")), vpc.get("endpointPublicAccess") is not False,
                None if cidrs is None else _items(cidrs), _path(_first(props.get("accessConfig")),
                                                                "authenticationMode"))


@rule("eks-secrets-encryption", "EKS envelope-encrypts Kubernetes Secrets with a KMS key.",
      types=[EKS_COMPONENT, EKS_CLUSTER])
def eks_secrets_encryption(typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    eks = _eks(typ, props)
    if eks is None or eks.secrets_key:
        return []
    return ["Kubernetes Secrets (database and git credentials) must be envelope-encrypted: "
            "set encryptionConfigKeyArn to a KMS key."]


@rule("eks-control-plane-logging", "EKS sends the required control-plane log types to CloudWatch.",
      types=[EKS_COMPONENT, EKS_CLUSTER],
      config={"requiredLogTypes": {"type": "array", "items": {"type": "string"},
                                   "default": ["api", "audit", "authenticator"],
                                   "description": "Log types that must be enabled."}})
def eks_control_plane_logging(typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    eks = _eks(typ, props)
    missing = [] if eks is None else sorted(set(cfg["requiredLogTypes"]) - set(eks.log_types))
    return [f"enabledClusterLogTypes lacks {missing}."] if missing else []


@rule("eks-public-endpoint-cidrs", "A public EKS API endpoint is limited to known CIDRs, not 0.0.0.0/0.",
      level=ADVISORY, types=[EKS_COMPONENT, EKS_CLUSTER])
def eks_public_endpoint_cidrs(typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    eks = _eks(typ, props)
    if eks is None or not eks.public:
        return []
    if eks.public_cidrs is None or any(_is_anywhere(c) for c in eks.public_cidrs):
        return ["the public API endpoint is open to the whole internet; restrict "
                "clusterPublicAccessCidrs to office and CI egress ranges (or turn public access off)."]
    return []


@rule("eks-authentication-mode", "EKS authenticates through access entries (API mode), not aws-auth.",
      types=[EKS_COMPONENT, EKS_CLUSTER],
      config={"allowedModes": {"type": "array", "items": {"type": "string"}, "default": ["API"],
                               "description": "Accepted authentication modes."}})
def eks_authentication_mode(typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    eks = _eks(typ, props)
    if eks is None:
        return []
    mode = eks.auth_mode or "CONFIG_MAP"  # what EKS and pulumi-eks default to
    if mode in cfg["allowedModes"]:
        return []
    return [f"authenticationMode is {mode}; use {' or '.join(cfg['allowedModes'])} (access entries are "
            "auditable IAM resources; the aws-auth ConfigMap is not)."]


def _public_subnet(subnet: Resource) -> bool:
    return subnet.props.get("mapPublicIpOnLaunch") is True or "kubernetes.io/role/elb" in _tags(subnet.props)


def _node_groups(resources: Sequence[Resource]) -> list[Resource]:
    """Managed node groups with their settings: the pulumi-eks component, or its aws:eks child."""
    # A remote component as the engine sees it has no props; its aws:eks/nodeGroup child is checked.
    return [g for g in _of_type(resources, EKS_NODE_GROUP_COMPONENT, EKS_NODE_GROUP)
            if g.type != EKS_NODE_GROUP_COMPONENT or g.props]


@rule("eks-private-nodes", "Managed node groups launch only in private subnets.")
def eks_private_nodes(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    subnets = _of_type(resources, SUBNET)
    found = []
    for group in _node_groups(resources):
        if not _items(group.props.get("subnetIds")):
            found.append(("set subnetIds to private subnets explicitly; the default may include public "
                          "ones.", group.urn))
            continue
        public = [s.name for s in subnets if _references(group, "subnetIds", s, ("id",)) and _public_subnet(s)]
        if public:
            found.append((f"runs in public subnets {sorted(public)}; nodes belong in private subnets.", group.urn))
    return found


def _template_findings(template: Resource, max_hops: int) -> list[str]:
    """What a node group's launch template leaves to account, AMI or EKS defaults."""
    found = []
    volumes = [_map(m) for m in _items(template.props.get("blockDeviceMappings")) if _map(m).get("ebs")]
    if not volumes:
        found.append("maps no EBS volume, so the root volume's encryption follows the AMI and the account "
                     "default; map the root device (/dev/xvda on AL2023) with ebs.encrypted true.")
    for mapping in volumes:
        encrypted = _first(mapping.get("ebs")).get("encrypted")  # pulumi-aws 7: the string "true"
        if not _truthy(encrypted):
            found.append(f"block device {mapping.get('deviceName') or '?'} has ebs.encrypted "
                         f"{'unset' if encrypted is None else repr(encrypted)}; set it to true, so the node's "
                         "disk (images, pod logs, emptyDir data) is encrypted whatever the account default.")
    metadata = _first(template.props.get("metadataOptions"))
    if str(metadata.get("httpEndpoint")) == "disabled":
        return found  # no instance metadata service at all: nothing for IMDSv1 or pods to reach
    tokens = metadata.get("httpTokens")
    if tokens != "required":
        found.append(f"metadataOptions.httpTokens is {tokens or 'unset'}; set it to required (IMDSv2 only): "
                     "IMDSv1 answers any plain GET, such as one forged through a server-side request forgery.")
    hops = _number(metadata.get("httpPutResponseHopLimit"))
    if hops is None:
        # EC2 then applies the AMI's or the account's default, and AMIs that require IMDSv2
        # (AL2023, which EKS picks for these groups) default to 2.
        found.append(f"metadataOptions.httpPutResponseHopLimit is unset, so the AMI or account default "
                     f"applies (2 for AL2023); set it to {max_hops} or less.")
    elif hops > max_hops:
        found.append(f"metadataOptions.httpPutResponseHopLimit is {int(hops)}; set it to {max_hops} or less: "
                     "a token that survives a second hop reaches every pod, and with it the node role's "
                     "credentials.")
    return found


@rule("eks-node-hardening", "Managed node groups launch from a launch template with encrypted root volumes "
      "and IMDSv2 only.",
      config={"maxHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1,
                              "description": "Highest metadataOptions.httpPutResponseHopLimit allowed. 1 keeps "
                                             "the metadata service to the node and host-network agents; 2 lets "
                                             "every pod reach it and so the node role's credentials, bypassing "
                                             "Pod Identity's per-workload roles."}})
def eks_node_hardening(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    templates = _of_type(resources, LAUNCH_TEMPLATE)
    found = []
    used: dict[str, Resource] = {}  # each template judged once, however many groups share it
    for group in _node_groups(resources):
        if not _first(group.props.get("launchTemplate")) and not _items(
                group.property_dependencies.get("launchTemplate")):
            found.append(("launches without a launch template, so the root volume's encryption follows the "
                          "account's EBS default and nothing here reviews the metadata settings of EKS's "
                          "default template; set launchTemplate to one with an encrypted root volume, "
                          f"httpTokens required and a hop limit of at most {cfg['maxHopLimit']}.", group.urn))
            continue
        mine = [t for t in templates if _references(group, "launchTemplate", t, ("id", "name"), ("id", "name"))]
        if not mine:
            found.append(("its launchTemplate is not a launch template of this stack, so its root volume and "
                          "metadata settings cannot be reviewed; use one defined in this stack.", group.urn))
        for template in mine:
            used.setdefault(template.urn or template.name, template)
    for template in used.values():
        found += [(message, template.urn) for message in _template_findings(template, cfg["maxHopLimit"])]
    return found


@rule("eks-required-addons", "The cluster has the EKS add-ons Airflow depends on.",
      config={"requiredAddons": {"type": "array", "items": {"type": "string"},
                                 "default": ["eks-pod-identity-agent", "aws-ebs-csi-driver"],
                                 "description": "Add-on names: Pod Identity (S3 logs, autoscaler), "
                                                "EBS CSI (triggerer volume)."}})
def eks_required_addons(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    clusters = [c for c in _of_type(resources, EKS_COMPONENT, EKS_CLUSTER) if c.props]
    if not clusters:
        return []
    present = {str(a.props.get("addonName")) for a in _of_type(resources, EKS_ADDON)}
    missing = sorted(set(cfg["requiredAddons"]) - present)
    return [(f"missing EKS add-ons {missing}.", clusters[0].urn)] if missing else []


def version_support_findings(version: Any, day: dt.date) -> list[str]:
    """Why a cluster on `version` is not in EKS standard support on `day` (empty if it is)."""
    if not version:
        return ["version is unset, so EKS picks its default minor and nobody reviewed its support window; "
                "pin version (kubernetesVersion)."]
    minor = str(version)
    if minor not in EKS_SUPPORT_ENDS:
        return [f"Kubernetes {minor} is not in this pack's EKS calendar (EKS_SUPPORT_ENDS, one of "
                f"{', '.join(EKS_SUPPORT_ENDS)}), so its support window cannot be checked; use a listed minor "
                "or add the new one with its AWS dates."]
    standard_ends, extended_ends = (dt.date.fromisoformat(d) for d in EKS_SUPPORT_ENDS[minor])
    if day >= extended_ends:
        return [f"Kubernetes {minor} left EKS extended support on {extended_ends}: EKS upgrades such control planes "
                "by itself, leaving node groups and add-ons behind; upgrade one minor at a time."]
    if day >= standard_ends:
        return [f"Kubernetes {minor} left EKS standard support on {standard_ends}: the control plane now bills "
                f"${EKS_EXTENDED_HOURLY:.2f} instead of ${EKS_STANDARD_HOURLY:.2f} per cluster-hour (upgradePolicy "
                "EXTENDED), or EKS upgrades it by itself (STANDARD); upgrade one minor "
                "(docs/operations/upgrades.md, Upgrading Kubernetes)."]
    return []


@rule("eks-version-supported", "The EKS cluster's Kubernetes minor is in standard support on the day of the "
      "preview: no extended-support bill (six times the standard rate) and no automatic upgrade by EKS.",
      types=[EKS_COMPONENT, EKS_CLUSTER],
      config=AS_OF_CONFIG)
def eks_version_supported(typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    if typ == EKS_COMPONENT and not props:  # a remote component as the engine sees it: its child is checked
        return []
    return version_support_findings(props.get("version"), _judged_on(cfg["asOf"]))
