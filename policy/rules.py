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
so the few names it shares with the program are repeated here; tests/test_policy_rules.py
checks they still agree with airflow_eks.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
IAM_ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                   "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                   "aws:iam/groupPolicyAttachment:GroupPolicyAttachment")
KMS_KEY = "aws:kms/key:Key"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"

# Shared with the program (airflow_eks.iam.POD_IDENTITY_SERVICE, names.AIRFLOW_NAMESPACE).
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = frozenset({"sts:AssumeRole", "sts:TagSession"})
AIRFLOW_NAMESPACE = "airflow"
AIRFLOW_CHART = "airflow"
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
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


# --- model ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resource:
    """One resource as a stack rule sees it (CrossGuard PolicyResource, or a mock record)."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    provider: Mapping[str, Any] | None = None
    """Props of the resource's provider (for default tags)."""
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Input name -> URNs it was computed from: links a bucket's settings to the bucket."""


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str
    message: str
    urn: str = ""

    def __str__(self) -> str:
        return f"[{self.level}] {self.rule}: {self.message} ({self.urn or 'stack'})"


ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any]], list[str]]
StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    level: str
    check: Callable[..., list]
    types: tuple[str, ...] = ()
    """Resource types of a resource rule; empty for a stack rule."""
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON schema of the rule's pack config properties; every property has a default."""

    @property
    def stack(self) -> bool:
        return not self.types

    def settings(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The schema defaults with the pack config's values on top."""
        values = {key: schema["default"] for key, schema in self.config.items()}
        values.update({k: v for k, v in (overrides or {}).items() if k != "enforcementLevel"})
        return values

    def check_resource(self, resource_type: str, props: Mapping[str, Any],
                       settings: Mapping[str, Any]) -> list[str]:
        return list(self.check(resource_type, props, settings)) if resource_type in self.types else []

    def check_stack(self, resources: Sequence[Resource], settings: Mapping[str, Any]) -> list[tuple[str, str]]:
        return list(self.check(resources, settings))


RULES: list[Rule] = []


def rule(name: str, description: str, *, level: str = MANDATORY, types: Iterable[str] = (),
         config: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[[Callable], Callable]:
    def register(check: Callable) -> Callable:
        RULES.append(Rule(name, description, level, check, tuple(types), dict(config or {})))
        return check
    return register


# --- helpers -------------------------------------------------------------------------------
def _items(value: Any) -> list:
    """A list for any sequence (not strings); a single value becomes a one-item list."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def _map(value: Any) -> Mapping[str, Any]:
    """A mapping, parsing JSON strings (provider props and policy documents arrive as text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def _path(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    node: Any = props
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _first(value: Any) -> Mapping[str, Any]:
    """Nested blocks arrive as an object or, from older providers, a one-item list."""
    items = _items(value)
    return _map(items[0]) if items else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _is_anywhere(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def _of_type(resources: Sequence[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def _references(owner: Resource, prop: str, target: Resource, keys: Sequence[str],
                fields: Sequence[str] = ()) -> bool:
    """Does `owner.props[prop]` point at `target`, by engine dependency or by value?

    `fields`: the prop is a reference block rather than a value, such as a node group's
    launchTemplate {id, name, version}; these of its fields name the target.
    """
    if target.urn and target.urn in _items(owner.property_dependencies.get(prop)):
        return True
    value = owner.props.get(prop)
    if fields:
        block = _first(value)
        value = [block.get(f) for f in fields if block.get(f)]
    wanted = {str(v) for v in _items(value)}
    return any(str(target.props.get(key)) in wanted for key in keys if target.props.get(key))


def _attached(bucket: Resource, resources: Sequence[Resource], typ: str) -> list[Resource]:
    return [r for r in _of_type(resources, typ) if _references(r, "bucket", bucket, ("bucket", "id"))]


def _statements(document: Any) -> list[Mapping[str, Any]]:
    return [_map(s) for s in _items(_map(document).get("Statement"))]


def _tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(props.get("tags"))


# --- RDS -----------------------------------------------------------------------------------
@rule("rds-storage-encrypted", "RDS instances encrypt their storage at rest.", types=[RDS_INSTANCE])
def rds_storage_encrypted(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("storageEncrypted") is True:
        return []
    return ["storageEncrypted must be true: encryption at rest cannot be switched on later "
            "without a snapshot restore."]


@rule("rds-not-public", "RDS instances are reachable only inside the VPC.", types=[RDS_INSTANCE])
def rds_not_public(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("publiclyAccessible") is True:
        return ["publiclyAccessible must be false: the metadata database holds every connection secret."]
    return []


@rule("rds-backup-retention", "RDS automated backups are kept for at least minDays days.",
      types=[RDS_INSTANCE],
      config={"minDays": {"type": "integer", "minimum": 1, "default": 7,
                          "description": "Fewest days of automated backups."}})
def rds_backup_retention(_typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    days = _number(props.get("backupRetentionPeriod"))
    if days is not None and days >= cfg["minDays"]:
        return []
    shown = "unset" if days is None else int(days)
    return [f"backupRetentionPeriod is {shown}; keep automated backups for at least {cfg['minDays']} day(s)."]


@rule("rds-multi-az", "RDS instances run with a Multi-AZ standby (prod; relaxed for dev).", types=[RDS_INSTANCE])
def rds_multi_az(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("multiAz") is True:
        return []
    return ["multiAz must be true: a single-AZ metadata database stops every Airflow component "
            "during an AZ outage or maintenance."]


@rule("rds-deletion-protection", "RDS instances have deletion protection (prod; relaxed for dev).",
      types=[RDS_INSTANCE])
def rds_deletion_protection(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("deletionProtection") is True:
        return []
    return ["deletionProtection must be true (set protectData), so a stray destroy cannot drop the database."]


def _forces_ssl(group: Resource) -> bool:
    return any(str(_map(p).get("name")) == "rds.force_ssl" and str(_map(p).get("value")) == "1"
               for p in _items(group.props.get("parameters")))


@rule("rds-force-ssl", "RDS instances use a parameter group of this stack with rds.force_ssl=1 (TLS only).")
def rds_force_ssl(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    groups = _of_type(resources, RDS_PARAMETER_GROUP)
    found = []
    for instance in _of_type(resources, RDS_INSTANCE):
        mine = [g for g in groups if _references(instance, "parameterGroupName", g, ("name",))]
        if not mine:
            found.append(("parameterGroupName does not name a parameter group of this stack, so nothing "
                          "here forces TLS; use one with rds.force_ssl=1.", instance.urn))
        elif not any(_forces_ssl(g) for g in mine):
            found.append(("its parameter group must set rds.force_ssl=1: clients send the master "
                          "password over this connection.", instance.urn))
    return found


# --- S3 ------------------------------------------------------------------------------------
def _per_bucket(resources: Sequence[Resource], typ: str, ok: Callable[[Resource], bool],
                message: str) -> list[tuple[str, str]]:
    return [(message, bucket.urn) for bucket in _of_type(resources, *S3_BUCKETS)
            if not any(ok(r) for r in _attached(bucket, resources, typ))]


@rule("s3-public-access-block", "Every bucket blocks public ACLs and policies (all four settings).")
def s3_public_access_block(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return _per_bucket(resources, S3_PUBLIC_ACCESS_BLOCK, lambda b: all(b.props.get(f) is True for f in flags),
                       "needs a BucketPublicAccessBlock with " + ", ".join(flags) + " all true.")


@rule("s3-encryption", "Every bucket has default server-side encryption configured.",
      config={"allowedAlgorithms": {"type": "array", "items": {"type": "string"},
                                    "default": ["aws:kms", "aws:kms:dsse", "AES256"],
                                    "description": "Accepted sseAlgorithm values."}})
def s3_encryption(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    allowed = set(cfg["allowedAlgorithms"])

    def ok(config: Resource) -> bool:
        return any(_path(_map(r), "applyServerSideEncryptionByDefault.sseAlgorithm") in allowed
                   for r in _items(config.props.get("rules")))
    return _per_bucket(resources, S3_ENCRYPTION, ok,
                       f"needs a BucketServerSideEncryptionConfiguration with one of {sorted(allowed)}.")


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    condition = _path(statement, "Condition.Bool", {})
    secure = condition.get("aws:SecureTransport") if isinstance(condition, Mapping) else None
    actions = {str(a) for a in _items(statement.get("Action"))}
    return (statement.get("Effect") == "Deny" and str(secure).lower() == "false"
            and bool(actions & {"s3:*", "*"}))


@rule("s3-tls-only", "Every bucket policy denies requests that do not use TLS (aws:SecureTransport).")
def s3_tls_only(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    return _per_bucket(resources, S3_POLICY,
                       lambda p: any(_denies_plain_http(s) for s in _statements(p.props.get("policy"))),
                       "needs a BucketPolicy that denies s3:* when aws:SecureTransport is false.")


@rule("s3-versioning", "Every bucket is versioned (prod data protection; relaxed for dev).")
def s3_versioning(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    return _per_bucket(resources, S3_VERSIONING,
                       lambda v: _path(v.props, "versioningConfiguration.status") == "Enabled",
                       "needs BucketVersioning with status Enabled, so overwritten or deleted objects "
                       "can be restored.")


def _expires(lifecycle: Resource) -> bool:
    return any(_map(r).get("status") == "Enabled" and (_number(_path(_map(r), "expiration.days")) or 0) > 0
               for r in _items(lifecycle.props.get("rules")))


@rule("s3-logs-lifecycle", "The task-log bucket expires old logs through a lifecycle rule.")
def s3_logs_lifecycle(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    lifecycles = _of_type(resources, S3_LIFECYCLE)
    releases = [(r, _log_bucket(v)) for r in _of_type(resources, HELM_RELEASE) if (v := _values(r.props))]
    named = [(release, bucket) for release, bucket in releases if bucket]
    if named:  # the bucket Airflow's remote logging writes to
        return [(f"the task-log bucket {bucket} needs a lifecycle rule that expires objects, or logs grow "
                 "(and are billed) forever.", release.urn)
                for release, bucket in named
                if not any(str(c.props.get("bucket")) == bucket and _expires(c) for c in lifecycles)]
    # No Airflow release to read it from: judge the buckets named for logs.
    return [("a log bucket needs a lifecycle rule that expires objects.", b.urn)
            for b in _of_type(resources, *S3_BUCKETS)
            if "log" in b.name and not any(_expires(c) for c in _attached(b, resources, S3_LIFECYCLE))]


# --- EKS -----------------------------------------------------------------------------------
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


# --- network -------------------------------------------------------------------------------
def _ports(rule_props: Mapping[str, Any]) -> set[int] | None:
    """The ports a rule opens, or None for every port (protocol -1 / all)."""
    low, high = _number(rule_props.get("fromPort")), _number(rule_props.get("toPort"))
    protocol = str(rule_props.get("protocol", rule_props.get("ipProtocol", "-1")))
    if protocol in ("-1", "all") or low is None or high is None or high - low > 1024:
        return None
    return set(range(int(low), int(high) + 1))


def _open_ingress(entries: Iterable[Mapping[str, Any]], exempt: bool, allowed_ports: set[int]) -> list[str]:
    found = []
    for entry in entries:
        cidrs = [*_items(entry.get("cidrBlocks")), *_items(entry.get("ipv6CidrBlocks")),
                 *_items(entry.get("cidrIpv4")), *_items(entry.get("cidrIpv6"))]
        if not any(_is_anywhere(c) for c in cidrs):
            continue
        ports = _ports(entry)
        if exempt and ports is not None and ports <= allowed_ports:
            continue
        shown = "all ports" if ports is None else f"ports {min(ports)}-{max(ports)}"
        found.append(f"ingress from anywhere ({shown}); only load balancers tagged for it may accept "
                     "0.0.0.0/0, and only on their listener ports.")
    return found


@rule("no-open-ingress", "No security group accepts traffic from 0.0.0.0/0 or ::/0, except tagged load balancers.",
      types=[SECURITY_GROUP, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS],
      config={"loadBalancerTag": {"type": "string", "default": "airflow-eks/public-load-balancer",
                                  "description": "Tag (value \"true\") marking an internet-facing load "
                                                 "balancer's security group or rule."},
              "allowedPorts": {"type": "array", "items": {"type": "integer"}, "default": [80, 443],
                               "description": "Ports such a load balancer may open to the internet."}})
def no_open_ingress(typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    exempt = str(_tags(props).get(cfg["loadBalancerTag"])).lower() == "true"
    allowed = {int(p) for p in cfg["allowedPorts"]}
    if typ == SECURITY_GROUP:
        entries = [_map(e) for e in _items(props.get("ingress"))]
    elif typ == SECURITY_GROUP_RULE:
        entries = [props] if props.get("type") == "ingress" else []
    else:
        entries = [props]
    return _open_ingress(entries, exempt, allowed)


# --- IAM and KMS ---------------------------------------------------------------------------
def _is_read(action: str) -> bool:
    verb = action.split(":", 1)[-1]
    return verb.startswith(READ_VERBS)


def _privilege_findings(document: Any) -> list[str]:
    found = []
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            found.append("an Allow with NotAction/NotResource grants everything else; list what is allowed.")
        actions = [str(a) for a in _items(statement.get("Action"))]
        wild = [a for a in actions if a == "*" or a.endswith(":*")]
        if wild:
            found.append(f"wildcard actions {wild}; name the actions the role needs.")
        on_any = "*" in [str(r) for r in _items(statement.get("Resource"))]
        writes = [a for a in actions if a not in wild and not _is_read(a)]
        if on_any and writes and not statement.get("Condition"):
            found.append(f"write actions {sorted(writes)} on Resource \"*\" without a Condition; scope the resources.")
    return found


@rule("iam-least-privilege", "IAM policies name their actions: no `*` or `service:*`, no unscoped writes, "
      "no broad managed policies.",
      types=[IAM_ROLE, *IAM_POLICY_DOCUMENTS, *IAM_ATTACHMENTS])
def iam_least_privilege(typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if typ in IAM_ATTACHMENTS:
        arn = str(props.get("policyArn") or "")
        broad = [p for p in BROAD_MANAGED_POLICIES if arn.endswith(f":policy/{p}")]
        return [f"attaches {broad[0]}; grant a least-privilege policy instead."] if broad else []
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


# --- Helm and Airflow ----------------------------------------------------------------------
@rule("helm-release-pinned", "Helm releases pin an exact chart version from an HTTPS or OCI repository.",
      types=[HELM_RELEASE])
def helm_release_pinned(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    chart, version = str(props.get("chart") or ""), str(props.get("version") or "")
    repo = str(_path(props, "repositoryOpts.repo") or "")
    found = []
    if not SEMVER.match(version):
        found.append(f"chart {chart!r} version {version or 'unset'!r} is not an exact version; pin X.Y.Z so "
                     "an upstream release never changes a deploy.")
    if not chart.startswith("oci://") and not repo.startswith("https://"):
        found.append(f"chart {chart!r} must come from an https:// repository (repositoryOpts.repo) or oci://.")
    return found


def _is_airflow(props: Mapping[str, Any]) -> bool:
    chart = str(props.get("chart") or "")
    return chart == AIRFLOW_CHART or chart.endswith(f"/{AIRFLOW_CHART}")


def _values(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return _map(props.get("values")) if _is_airflow(props) else None


def _airflow_values(resources: Sequence[Resource]) -> list[Mapping[str, Any]]:
    return [v for r in _of_type(resources, HELM_RELEASE) if (v := _values(r.props)) is not None]


def _log_bucket(values: Mapping[str, Any]) -> str | None:
    """The bucket of `remote_base_log_folder` (s3://<bucket>/<prefix>), if it is an S3 URL."""
    folder = str(_path(values, "config.logging.remote_base_log_folder") or "")
    if not folder.startswith("s3://"):
        return None
    return folder.removeprefix("s3://").split("/", 1)[0] or None


def _airflow_rule(name: str, description: str, **kw: Any) -> Callable[[Callable], Callable]:
    """A rule over the values of the official Airflow chart's releases (other charts: n/a)."""
    def register(check: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]) -> Callable:
        def over_values(_typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
            values = _values(props)
            return [] if values is None else check(values, cfg)
        over_values.__name__ = check.__name__
        return rule(name, description, types=[HELM_RELEASE], **kw)(over_values)
    return register


@_airflow_rule("airflow-remote-logging-s3", "Airflow writes task logs to S3 (remote logging), not pod disks.")
def airflow_remote_logging_s3(values: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if _truthy(_path(values, "config.logging.remote_logging")) and _log_bucket(values):
        return []
    return ["set config.logging.remote_logging True and remote_base_log_folder s3://<bucket>/...: task pods "
            "are deleted when they finish, and their logs with them."]


@_airflow_rule("airflow-task-resources", "Task pods (workers) request and limit CPU and memory.")
def airflow_task_resources(values: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    resources = _map(_path(values, "workers.resources"))
    missing = [f"{kind}.{res}" for kind in ("requests", "limits") for res in ("cpu", "memory")
               if not _path(resources, f"{kind}.{res}")]
    return [f"workers.resources lacks {missing}: one runaway task must not starve the node."] if missing else []


def _registry(repository: str) -> str:
    first, _, rest = repository.partition("/")
    return first if rest and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _airflow_images(values: Mapping[str, Any]) -> dict[str, str]:
    """Every image repository the release runs: Airflow's and each enabled sidecar's, with the
    chart's default where the values set none."""
    found = {"defaultAirflowRepository": str(values.get("defaultAirflowRepository") or CHART_DEFAULT_REPOSITORY)}
    if _path(values, "images.airflow.repository"):
        found["images.airflow"] = str(_path(values, "images.airflow.repository"))
    for key, (default, switch, on_by_default) in CHART_SIDECAR_IMAGES.items():
        enabled = _path(values, switch)
        if (on_by_default and enabled is not False) or _truthy(enabled):
            found[f"images.{key}"] = str(_path(values, f"images.{key}.repository") or default)
    return found


@_airflow_rule("airflow-image-registry", "Airflow's images, its own and the chart's sidecars (PgBouncer, StatsD, "
               "git-sync), come from a registry you control, not a public one.",
               level=ADVISORY,
               config={"allowedRegistries": {"type": "array", "items": {"type": "string"}, "default": [],
                                             "description": "Repository prefixes allowed (e.g. an ECR "
                                                            "registry); empty: any registry but the public "
                                                            "ones (Docker Hub, quay.io, registry.k8s.io, ...)."}})
def airflow_image_registry(values: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    allowed = cfg["allowedRegistries"]
    found = []
    for where, repository in _airflow_images(values).items():
        host = _registry(repository)
        if (allowed and not any(repository.startswith(p) for p in allowed)) or (
                not allowed and host in PUBLIC_REGISTRIES):
            found.append(f"{where}: image {repository} is pulled from {host}; pull it from a registry you control "
                         "(rate limits, availability, supply chain): airflowImageRepository for Airflow's own "
                         "image, imageMirror for the rest.")
    return found


@_airflow_rule("airflow-ui-rbac", "The UI uses an auth manager with roles (FAB), not SimpleAuthManager.")
def airflow_ui_rbac(values: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    manager = str(_path(values, "config.core.auth_manager") or "")  # unset: the chart's FabAuthManager
    found = []
    if "SimpleAuthManager" in manager:
        found.append("SimpleAuthManager keeps generated passwords in a pod file and has no RBAC store; use "
                     "the chart's FabAuthManager.")
    if _truthy(_path(values, "config.core.simple_auth_manager_all_admins")):
        found.append("simple_auth_manager_all_admins makes every visitor an admin.")
    return found


@_airflow_rule("airflow-no-default-admin-password", "The UI admin never gets the chart's admin:admin default.")
def airflow_no_default_admin_password(values: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    found = []
    if _path(values, "createUserJob.enabled") is not False:
        password = _path(values, "createUserJob.defaultUser.password")
        if not password or password == CHART_DEFAULT_PASSWORD:
            found.append("createUserJob creates the admin with the chart's default password 'admin'; "
                         "set createUserJob.defaultUser.password from a generated secret.")
    if _path(values, "webserver.defaultUser.password") == CHART_DEFAULT_PASSWORD:
        found.append("webserver.defaultUser.password is the default 'admin'.")
    return found


@_airflow_rule("airflow-secrets-by-reference", "Airflow's keys and database credentials live in Kubernetes "
               "Secrets referenced by name, never in Helm values.")
def airflow_secrets_by_reference(values: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    inline = [k for k in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey") if values.get(k)]
    found = [f"{k} is set inline; create the Secret and use {k}SecretName." for k in inline]
    if not _path(values, "data.metadataSecretName"):
        found.append("data.metadataSecretName is unset, so the chart builds the database URL from "
                     "data.metadataConnection (default postgres/postgres, sslmode disable).")
    return found


def _limits_containers(limit_range: Resource) -> bool:
    return any(_map(item).get("type") == "Container"
               and all(_path(_map(item), f"default.{r}") for r in ("cpu", "memory"))
               for item in _items(_path(limit_range.props, "spec.limits")))


@rule("task-pods-limit-range", "The Airflow namespace has a LimitRange giving every container default "
      "CPU and memory limits.",
      config={"namespace": {"type": "string", "default": AIRFLOW_NAMESPACE,
                            "description": "Namespace used when the Airflow release names none."}})
def task_pods_limit_range(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    releases = [r for r in _of_type(resources, HELM_RELEASE) if _is_airflow(r.props)]
    found = []
    for release in releases:
        namespace = str(release.props.get("namespace") or cfg["namespace"])
        if not any(str(_path(lr.props, "metadata.namespace")) == namespace and _limits_containers(lr)
                   for lr in _of_type(resources, LIMIT_RANGE)):
            found.append((f"namespace {namespace} needs a LimitRange with default cpu and memory limits for "
                          "Container, so pods a DAG creates (e.g. KubernetesPodOperator) are bounded too.",
                          release.urn))
    return found


# --- running the rules outside the CLI -----------------------------------------------------
def as_resources(records: Iterable[Any]) -> list[Resource]:
    """Resources from mock-engine records (tests/mocks.Registered) or Resources as they are."""
    records = list(records)
    by_urn = {getattr(r, "urn", None): r for r in records}
    resources = []
    for record in records:
        if isinstance(record, Resource):
            resources.append(record)
            continue
        provider_ref = getattr(record, "provider", "") or ""  # "<provider urn>::<provider id>"
        provider = by_urn.get(provider_ref.rsplit("::", 1)[0]) if provider_ref else None
        resources.append(Resource(
            type=record.typ, name=record.name, props=record.plain_inputs, urn=record.urn,
            provider=provider.plain_inputs if provider is not None else None,
            property_dependencies=dict(record.property_dependencies),
        ))
    return resources


def level_of(rule_: Rule, config: Mapping[str, Any]) -> str:
    """Enforcement level under a pack config in the CLI's --policy-pack-config format."""
    for key in (rule_.name, "all"):
        entry = config.get(key)
        if isinstance(entry, str):
            return entry
        if isinstance(entry, Mapping) and "enforcementLevel" in entry:
            return str(entry["enforcementLevel"])
    return rule_.level


def evaluate(records: Iterable[Any], config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Every rule over a whole stack, as `pulumi preview --policy-pack policy/` would apply them."""
    resources = as_resources(records)
    config = config or {}
    violations = []
    for rule_ in RULES:
        level = level_of(rule_, config)
        if level == DISABLED:
            continue
        entry = config.get(rule_.name)
        settings = rule_.settings(entry if isinstance(entry, Mapping) else None)
        if rule_.stack:
            violations += [Violation(rule_.name, level, message, urn)
                           for message, urn in rule_.check_stack(resources, settings)]
        else:
            violations += [Violation(rule_.name, level, message, r.urn)
                           for r in resources for message in rule_.check_resource(r.type, r.props, settings)]
    return violations


def config_schema() -> dict[str, Any]:
    """JSON schema of a pack config file (policy/config.*.json), as the CLI validates it."""
    level = {"enum": list(LEVELS)}
    properties: dict[str, Any] = {"all": level}
    for rule_ in RULES:
        body = {"type": "object", "additionalProperties": False,
                "properties": {"enforcementLevel": level, **rule_.config}}
        properties[rule_.name] = {"anyOf": [level, body]}
    return {"type": "object", "additionalProperties": False, "properties": properties}
