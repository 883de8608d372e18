"""Stack configuration: read once, validate everything, return frozen typed settings.

This is the product's public interface. Pulumi.yaml holds every key's type, default and
description (the only place defaults live); here every key is read with a required read
and checked before the first resource is registered. Any failure is a pulumi.RunError that
names the key, the bad value and what is allowed, so the CLI shows one line, no traceback,
and nothing is created.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import pulumi

from airflow_eks import formats, versions

PROJECT = "airflow-eks"
T = TypeVar("T")

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
NAT_MODES = ("single", "onePerAz")
SECRETS_BACKENDS = ("none", "aws-secrets-manager")
SECRET_KEYS = ("gitSyncToken", "gitSyncSshKey")


@dataclass(frozen=True)
class NetworkSettings:
    vpc_cidr: str
    az_count: int
    nat_gateways: str  # "single" | "onePerAz"


@dataclass(frozen=True)
class NodeGroupSettings:
    instance_types: tuple[str, ...]
    capacity_type: str  # "ON_DEMAND" | "SPOT"
    min_size: int
    desired_size: int
    max_size: int


@dataclass(frozen=True)
class ClusterSettings:
    kubernetes_version: str
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    admin_arns: tuple[str, ...]
    log_types: tuple[str, ...]
    system_nodes: NodeGroupSettings
    spot_nodes: NodeGroupSettings
    cluster_autoscaler: bool


@dataclass(frozen=True)
class DatabaseSettings:
    instance_class: str
    engine_version: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])


@dataclass(frozen=True)
class DataSettings:
    protect_data: bool
    log_retention_days: int
    task_bucket_names: tuple[str, ...]


@dataclass(frozen=True)
class GitSyncSettings:
    repo: str
    branch: str
    sub_path: str
    period: str
    username: str
    known_hosts: str
    token: pulumi.Output[str] | None
    """Secret; set only for HTTPS auth."""
    ssh_key: pulumi.Output[str] | None
    """Secret; set only for SSH auth."""

    @property
    def auth(self) -> str:
        """'https' (username + token), 'ssh' (key + known hosts) or 'none' (public repo)."""
        if self.ssh_key is not None:
            return "ssh"
        return "https" if self.token is not None else "none"


@dataclass(frozen=True)
class TaskResources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class AirflowSettings:
    chart_version: str
    image_repository: str
    version: str
    git_sync: GitSyncSettings
    scheduler_replicas: int
    api_server_replicas: int
    task_resources: TaskResources
    secrets_backend: str  # "none" | "aws-secrets-manager"


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    region: str
    tags: dict[str, str]
    network: NetworkSettings
    cluster: ClusterSettings
    database: DatabaseSettings
    data: DataSettings
    airflow: AirflowSettings


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)


def invalid(key: str, value: Any, allowed: str) -> pulumi.RunError:
    """The one error shape: key, bad value, what is allowed."""
    return pulumi.RunError(f"Invalid configuration {key} = {_show(value)}: expected {allowed}.")


def invalid_secret(key: str, allowed: str) -> pulumi.RunError:
    return pulumi.RunError(f"Invalid configuration {key} = [secret]: expected {allowed}.")


class _Reader:
    """Typed required reads over pulumi.Config; every failure names the key."""

    def __init__(self, namespace: str | None = None) -> None:
        self.cfg = pulumi.Config(namespace)
        self.namespace = self.cfg.name

    def key(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    def raw(self, name: str) -> str:
        value = self.cfg.get(name)
        if value is None:
            raise pulumi.RunError(
                f"Missing configuration {self.key(name)}: Pulumi.yaml declares its default, so run the "
                f"program through the Pulumi CLI, or set it with `pulumi config set {name} <value>`."
            )
        return value

    def string(self, name: str, check: Callable[[str], Any] | None = None) -> str:
        value = self.raw(name)
        self.check(name, value, check)
        return value

    def check(self, name: str, value: Any, check: Callable[[Any], Any] | None) -> Any:
        if check is None:
            return value
        try:
            return check(value)
        except ValueError as exc:
            raise invalid(self.key(name), value, str(exc)) from None

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value not in allowed:
            raise invalid(self.key(name), value, "one of " + ", ".join(allowed))
        return value

    def integer(self, name: str, low: int, high: int) -> int:
        text = self.raw(name)
        try:
            value = int(text.strip())
        except ValueError:
            raise invalid(self.key(name), text, f"an integer from {low} to {high}") from None
        if not low <= value <= high:
            raise invalid(self.key(name), value, f"an integer from {low} to {high}")
        return value

    def boolean(self, name: str) -> bool:
        text = self.raw(name)
        if text.strip().lower() not in ("true", "false"):
            raise invalid(self.key(name), text, "true or false")
        return text.strip().lower() == "true"

    def strings(self, name: str, check: Callable[[str], Any] | None = None, *, min_items: int = 0) -> tuple[str, ...]:
        text = self.raw(name)
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise invalid(self.key(name), text, 'a list of strings, e.g. ["a", "b"]')
        if len(items) < min_items:
            raise invalid(self.key(name), items, f"at least {min_items} item(s)")
        if len(set(items)) != len(items):
            raise invalid(self.key(name), items, "a list without duplicates")
        for item in items:
            self.check(name, item, check)
        return tuple(items)

    def secret(self, name: str) -> str | None:
        """Raw value of a secret key, for validation only; callers wrap it in Output.secret."""
        value = self.cfg.get(name)
        return value if value not in (None, "") else None


def _node_group(r: _Reader, prefix: str, *, capacity: str | None, desired_key: bool) -> NodeGroupSettings:
    types = r.strings(f"{prefix}InstanceTypes", formats.ec2_instance_type, min_items=1)
    min_size = r.integer(f"{prefix}MinSize", 0, 100)
    max_size = r.integer(f"{prefix}MaxSize", 1, 100)
    desired = r.integer(f"{prefix}DesiredSize", 0, 100) if desired_key else min_size
    if min_size > max_size:
        raise invalid(r.key(f"{prefix}MinSize"), min_size, f"at most {prefix}MaxSize ({max_size})")
    if not min_size <= desired <= max_size:
        raise invalid(
            r.key(f"{prefix}DesiredSize"), desired,
            f"between {prefix}MinSize ({min_size}) and {prefix}MaxSize ({max_size})",
        )
    return NodeGroupSettings(
        instance_types=types,
        capacity_type=capacity or r.choice(f"{prefix}CapacityType", CAPACITY_TYPES),
        min_size=min_size, desired_size=desired, max_size=max_size,
    )


def _cluster(r: _Reader) -> ClusterSettings:
    version = r.choice("kubernetesVersion", versions.SUPPORTED_KUBERNETES_VERSIONS)
    public = r.boolean("clusterEndpointPublicAccess")
    cidrs = r.strings("clusterPublicAccessCidrs", formats.ipv4_cidr)
    if public and not cidrs:
        raise invalid(
            r.key("clusterPublicAccessCidrs"), [],
            "at least one CIDR while clusterEndpointPublicAccess is true",
        )
    system = _node_group(r, "systemNode", capacity=None, desired_key=True)
    spot = _node_group(r, "spotNode", capacity="SPOT", desired_key=False)
    if len(spot.instance_types) < 2:
        raise invalid(
            r.key("spotNodeInstanceTypes"), list(spot.instance_types),
            "at least two distinct instance types, so spot capacity is diversified",
        )
    return ClusterSettings(
        kubernetes_version=version,
        endpoint_public_access=public,
        public_access_cidrs=cidrs if public else (),
        admin_arns=r.strings("clusterAdminArns", formats.iam_principal_arn),
        log_types=r.strings("clusterLogTypes", _one_of(LOG_TYPES)),
        system_nodes=system,
        spot_nodes=spot,
        cluster_autoscaler=r.boolean("clusterAutoscaler"),
    )


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError("each one of " + ", ".join(allowed))
        return value

    return check


def _postgres_version(value: str) -> str:
    allowed = "a PostgreSQL major or major.minor that Airflow 3.1 supports: " + ", ".join(
        str(m) for m in versions.SUPPORTED_POSTGRES_MAJORS
    )
    parts = value.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
        raise ValueError(allowed)
    if int(parts[0]) not in versions.SUPPORTED_POSTGRES_MAJORS:
        raise ValueError(allowed)
    return value


def _database(r: _Reader) -> DatabaseSettings:
    allocated = r.integer("dbAllocatedStorageGb", 20, 65536)
    maximum = r.integer("dbMaxAllocatedStorageGb", 20, 65536)
    # RDS rejects a ceiling less than 10% above the allocation; equal means "no autoscaling".
    if maximum != allocated and maximum * 10 < allocated * 11:
        raise invalid(
            r.key("dbMaxAllocatedStorageGb"), maximum,
            f"dbAllocatedStorageGb ({allocated}) to turn storage autoscaling off, or at least 10% more "
            f"({-(-allocated * 11 // 10)}), which RDS requires for autoscaling",
        )
    return DatabaseSettings(
        instance_class=r.string("dbInstanceClass", formats.rds_instance_class),
        engine_version=r.string("dbEngineVersion", _postgres_version),
        allocated_storage_gb=allocated,
        max_allocated_storage_gb=maximum,
        multi_az=r.boolean("dbMultiAz"),
        # RDS allows 0-35; 0 turns backups off, which this product never does.
        backup_retention_days=r.integer("dbBackupRetentionDays", 1, 35),
    )


def _airflow_version(value: str) -> str:
    major, _, _ = formats.semver(value)
    if major != 3:
        raise ValueError("an Airflow 3.x version such as 3.1.8 (the chart values assume Airflow 3)")
    return value


def _git_sync(r: _Reader) -> GitSyncSettings:
    repo = r.raw("gitSyncRepo")
    if repo == "":
        raise invalid(r.key("gitSyncRepo"), repo, "your DAG repository URL (it is required)")
    kind = r.check("gitSyncRepo", repo, formats.git_repo_kind)
    username = r.raw("gitSyncUsername")
    known_hosts = r.raw("gitSyncKnownHosts")
    token = r.secret("gitSyncToken")
    ssh_key = r.secret("gitSyncSshKey")

    if token is not None and ssh_key is not None:
        raise invalid_secret(
            r.key("gitSyncSshKey"), "exactly one git auth method: gitSyncToken (HTTPS) or gitSyncSshKey (SSH), not both"
        )
    if token is not None:
        if kind != "https":
            raise invalid(r.key("gitSyncRepo"), repo, "an https URL when gitSyncToken is set")
        if not username:
            raise invalid(
                r.key("gitSyncUsername"), username,
                "a non-empty username with gitSyncToken (for GitHub tokens any name, e.g. x-access-token)",
            )
    elif username:
        raise invalid(r.key("gitSyncUsername"), username, "empty unless gitSyncToken is set")
    if ssh_key is not None:
        if kind != "ssh":
            raise invalid(r.key("gitSyncRepo"), repo, "an SSH address git@host:org/repo.git when gitSyncSshKey is set")
        try:
            formats.ssh_private_key(ssh_key)
        except ValueError as exc:
            raise invalid_secret(r.key("gitSyncSshKey"), str(exc)) from None
        if not known_hosts:
            raise invalid(
                r.key("gitSyncKnownHosts"), known_hosts,
                "known_hosts lines for the git host when gitSyncSshKey is set (e.g. `ssh-keyscan github.com`)",
            )
    elif kind == "ssh":
        raise invalid(r.key("gitSyncRepo"), repo, "an https URL, or set gitSyncSshKey and gitSyncKnownHosts for SSH")
    if known_hosts:
        if ssh_key is None:
            raise invalid(r.key("gitSyncKnownHosts"), known_hosts, "empty unless gitSyncSshKey is set")
        r.check("gitSyncKnownHosts", known_hosts, formats.known_hosts)

    return GitSyncSettings(
        repo=repo,
        branch=r.string("gitSyncBranch", formats.git_ref),
        sub_path=r.check("gitSyncSubPath", r.raw("gitSyncSubPath"), formats.repo_sub_path),
        period=r.string("gitSyncPeriod", formats.go_duration_seconds),
        username=username,
        known_hosts=known_hosts,
        token=pulumi.Output.secret(token) if token is not None else None,
        ssh_key=pulumi.Output.secret(ssh_key) if ssh_key is not None else None,
    )


def _task_resources(r: _Reader) -> TaskResources:
    amounts: dict[str, Decimal] = {}
    for key, kind in (("taskCpuRequest", "cpu"), ("taskCpuLimit", "cpu"),
                      ("taskMemoryRequest", "memory"), ("taskMemoryLimit", "memory")):
        amounts[key] = r.check(key, r.raw(key), lambda v, k=kind: formats.quantity(v, kind=k))
    for request, limit in (("taskCpuRequest", "taskCpuLimit"), ("taskMemoryRequest", "taskMemoryLimit")):
        if amounts[request] > amounts[limit]:
            raise invalid(r.key(request), r.raw(request), f"at most {limit} ({r.raw(limit)})")
    return TaskResources(
        cpu_request=r.raw("taskCpuRequest"), memory_request=r.raw("taskMemoryRequest"),
        cpu_limit=r.raw("taskCpuLimit"), memory_limit=r.raw("taskMemoryLimit"),
    )


def _airflow(r: _Reader) -> AirflowSettings:
    return AirflowSettings(
        chart_version=r.string("airflowChartVersion", formats.semver),
        image_repository=r.string("airflowImageRepository", formats.image_repository),
        version=r.string("airflowVersion", _airflow_version),
        git_sync=_git_sync(r),
        scheduler_replicas=r.integer("schedulerReplicas", 1, 10),
        api_server_replicas=r.integer("apiServerReplicas", 1, 10),
        task_resources=_task_resources(r),
        secrets_backend=r.choice("secretsBackend", SECRETS_BACKENDS),
    )


def _tags(aws: _Reader, project: str, stack: str) -> dict[str, str]:
    text = aws.cfg.get("defaultTags") or "{}"
    try:
        tags = json.loads(text).get("tags", {})
    except (ValueError, AttributeError):
        tags = None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise invalid(aws.key("defaultTags"), text, 'an object {"tags": {"key": "value", ...}}')
    # project/stack/managed-by are what cost reports and policies key on: always present.
    return {**tags, "project": project, "stack": stack, "managed-by": "pulumi"}


def load() -> Settings:
    """Read and validate the whole stack configuration. Raises pulumi.RunError."""
    r = _Reader()
    aws = _Reader("aws")
    project, stack = pulumi.get_project(), pulumi.get_stack()
    network = NetworkSettings(
        vpc_cidr=str(r.string("vpcCidr", formats.private_vpc_cidr)),
        az_count=r.integer("availabilityZoneCount", 2, 6),
        nat_gateways=r.choice("natGateways", NAT_MODES),
    )
    return Settings(
        project=project,
        stack=stack,
        region=aws.string("region", formats.aws_region),
        tags=_tags(aws, project, stack),
        network=network,
        cluster=_cluster(r),
        database=_database(r),
        data=DataSettings(
            protect_data=r.boolean("protectData"),
            log_retention_days=r.integer("logRetentionDays", 1, 3650),
            task_bucket_names=r.strings("taskS3BucketNames", formats.s3_bucket_name),
        ),
        airflow=_airflow(r),
    )
