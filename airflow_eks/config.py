"""Stack configuration: read once, validate everything, return frozen typed settings.

This is the product's public interface. Pulumi.yaml holds every key's type, default and
description (the only place defaults live); here every key is read with a required read
and checked before the first resource is registered. Any failure is a pulumi.RunError that
names the key, the bad value and what is allowed, so the CLI shows one line, no traceback,
and nothing is created.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pulumi

from airflow_eks import (
    config_keys,
    eks,
    formats,
    images,
    kubernetes_support,
    scrape,
    subnets,
    ui_config,
    versions,
    zones,
)
from airflow_eks.config_reader import (
    Reader,
    all_keys,
    invalid,
    invalid_secret,
    one_of,
    parse_json,
    unquoted_number_hint,
)
from airflow_eks.image import digest, lookup, registry
from airflow_eks.restore import lookups as restore_lookups
from airflow_eks.restore import settings as restore
from airflow_eks.support import airflow_calendar

PROJECT = "airflow-eks"

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
NAT_MODES = subnets.NAT_MODES
SECRETS_BACKENDS = ("none", "aws-secrets-manager")
SECRET_KEYS = ("gitSyncToken", "gitSyncSshKey", ui_config.SECRET_KEY, "dockerHubCredentials", restore.FERNET_KEY)
# "16" (RDS picks the default minor) or "16.4"; whether that minor exists in the region
# only RDS knows, and it says so at create time.
_POSTGRES_VERSION = re.compile(r"[1-9][0-9]{0,2}(\.(0|[1-9][0-9]{0,3}))?", re.ASCII)
# Seconds between git-sync pulls: faster hammers the git host (and its rate limits), slower
# than a day is not a sync any more.
GIT_SYNC_PERIOD_SECONDS = (5, 86400)


@dataclass(frozen=True)
class NetworkSettings:
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    """Names, looked up in the region (airflow_eks/zones.py)."""
    nat_gateways: str  # "single" | "onePerAz"

    @property
    def az_count(self) -> int:
        return len(self.availability_zones)

    @property
    def load_balancer_cidrs(self) -> tuple[str, ...]:
        """The UI's ALB, whichever its scheme; no pod ever has an address there."""
        return subnets.load_balancer_cidrs(self.vpc_cidr, self.az_count)

    @property
    def collector_cidrs(self) -> tuple[str, ...]:
        """The AMP collector's network interfaces; no pod ever has an address there."""
        return subnets.collector_cidrs(self.vpc_cidr, self.az_count)


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
    support_type: str
    """The cluster's upgrade policy, STANDARD or EXTENDED (airflow_eks/kubernetes_support.py)."""
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
    """Deletion protection and Pulumi `protect`: `pulumi destroy` stops before the data."""
    keep_data_on_destroy: bool
    """When the data is deleted after all: a final snapshot, kept automated backups, buckets and
    log groups left in place. False: nothing is left behind."""
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
    tasks_may_launch_pods: bool = False
    """KubernetesPodOperator: task pods (and the triggerer) may create, delete and exec into pods."""
    image_digest: str = ""
    """'' (the image by tag airflowVersion) or the digest every Airflow pod runs (airflow_eks/image/digest.py),
    of the image in image_repository."""


# --- metrics and alerts (issue 16) ---------------------------------------------------------
METRICS_MODES = ("none", "amp")
# Deliberately plain: SNS validates the address and the owner confirms it by mail.


@dataclass(frozen=True)
class MetricsSettings:
    mode: str  # "none" | "amp"
    alert_email: str
    """'' or an address subscribed to the alerts' SNS topic (confirmed by mail)."""
    scrape_interval: str
    """A Prometheus duration, e.g. 60s (airflow_eks/scrape.py bounds it)."""

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @property
    def scrape_interval_seconds(self) -> int:
        return formats.prometheus_duration_seconds(self.scrape_interval)


def _scrape_interval(value: str) -> str:
    low, high = scrape.INTERVAL_SECONDS
    return _duration_within(value, formats.prometheus_duration_seconds, low, high,
                            f"a Prometheus duration from {low}s to {high}s, e.g. 60s or 2m")


def _metrics(r: Reader) -> MetricsSettings:
    mode = r.choice("metrics", METRICS_MODES)
    email = r.raw("alertEmail")
    if email:
        r.check("alertEmail", email, formats.email_address)
        if mode == "none":
            raise invalid(r.key("alertEmail"), email, "empty while metrics is none (there are no alerts to send)")
    return MetricsSettings(mode=mode, alert_email=email,
                           scrape_interval=r.string("metricsScrapeInterval", _scrape_interval))


@dataclass(frozen=True)
class ImageRegistrySettings:
    """The stack's own ECR registry (imageRegistry; airflow_eks/image/registry.py)."""

    enabled: bool
    keep_images: int
    push_role_arn: str
    """'' (nothing may push yet) or the CI role the image workflow pushes with."""
    docker_hub_credentials: pulumi.Output[str] | None = None
    """Secret `username:accessToken` for the Docker Hub cache rule; None without the registry."""
    namespace: str = ""
    account: str = ""
    """The account the stack deploys to (looked up), '' without the registry."""
    region: str = ""

    @property
    def mirror(self) -> str:
        return registry.mirror(self.account, self.region, self.namespace) if self.enabled else ""

    @property
    def repository_url(self) -> str:
        return registry.repository_url(self.account, self.region, self.namespace) if self.enabled else ""


NO_IMAGE_REGISTRY = ImageRegistrySettings(enabled=False, keep_images=1, push_role_arn="")


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
    image_mirror: str
    """'' (public registries) or where every public image is pulled through (airflow_eks/images.py)."""
    ui: ui_config.UiSettings
    """Ingress, TLS, DNS and SSO of the Airflow UI (airflow_eks/ui_config.py)."""
    metrics: MetricsSettings
    restore: restore.RestoreSettings
    """What the stack is restored from: a DB snapshot, kept buckets, the Fernet key (airflow_eks/restore)."""
    image_registry: ImageRegistrySettings = NO_IMAGE_REGISTRY

    @property
    def mirrored_registries(self) -> tuple[str, ...]:
        return images.mirrored_registries(self.image_mirror, airflow_repository=self.airflow.image_repository,
                                          cluster_autoscaler=self.cluster.cluster_autoscaler,
                                          load_balancer_controller=self.ui.enabled)

    @property
    def load_balancer_cidrs(self) -> tuple[str, ...]:
        """Subnets the UI's ALB reaches the API server from (IP targets): its own, whichever
        its scheme; none without the UI."""
        return self.network.load_balancer_cidrs if self.ui.enabled else ()

    @property
    def metrics_scraper_cidrs(self) -> tuple[str, ...]:
        """Subnets the metrics collector scrapes the exporters from: its own; none without a
        collector."""
        return self.network.collector_cidrs if self.metrics.enabled else ()


def _node_group(r: Reader, prefix: str, *, capacity: str | None, desired_key: bool,
                min_floor: int) -> NodeGroupSettings:
    types = r.strings(f"{prefix}InstanceTypes", formats.ec2_instance_type, min_items=1)
    r.check(f"{prefix}InstanceTypes", list(types), eks.ami_type)
    min_size = r.integer(f"{prefix}MinSize", min_floor, 100)
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


def _kubernetes_version(r: Reader, day: dt.date) -> tuple[str, str]:
    """(minor, support type), judged against the EKS calendar on `day`."""
    support_type = r.choice("eksSupportType", kubernetes_support.SUPPORT_TYPES)
    version = r.raw("kubernetesVersion")
    # Only the minors accepted that day with this support type are offered (kubernetes_support).
    if version not in versions.SUPPORTED_KUBERNETES_VERSIONS:
        raise invalid(r.key("kubernetesVersion"), version, kubernetes_support.unknown_minor(version, support_type, day)
                      + unquoted_number_hint("kubernetesVersion", version))
    refusal = kubernetes_support.refusal(version, support_type, day)
    if refusal:
        raise invalid(r.key("kubernetesVersion"), version, refusal)
    warning = kubernetes_support.extended_support_warning(version, support_type, day)
    if warning:
        pulumi.log.warn(warning)
    return version, support_type


def _cluster(r: Reader, day: dt.date) -> ClusterSettings:
    version, support_type = _kubernetes_version(r, day)
    public = r.boolean("clusterEndpointPublicAccess")
    cidrs = r.strings("clusterPublicAccessCidrs", formats.ipv4_cidr, max_items=eks.MAX_PUBLIC_ACCESS_CIDRS)
    if public and not cidrs:
        raise invalid(
            r.key("clusterPublicAccessCidrs"), [],
            "at least one CIDR while clusterEndpointPublicAccess is true",
        )
    # The system group never scales to zero: CoreDNS, the add-ons' controllers and the
    # autoscaler itself run there, so with no system node nothing could scale anything up.
    system = _node_group(r, "systemNode", capacity=None, desired_key=True, min_floor=1)
    spot = _node_group(r, "spotNode", capacity="SPOT", desired_key=False, min_floor=0)
    if len(spot.instance_types) < 2:
        raise invalid(
            r.key("spotNodeInstanceTypes"), list(spot.instance_types),
            "at least two distinct instance types, so spot capacity is diversified",
        )
    # One Airflow image runs on both groups (scheduler on one, tasks on the other); an image
    # built for one architecture would fail on the other with `exec format error`.
    if eks.ami_type(spot.instance_types) != eks.ami_type(system.instance_types):
        raise invalid(
            r.key("spotNodeInstanceTypes"), list(spot.instance_types),
            f"the same CPU architecture as systemNodeInstanceTypes ({', '.join(system.instance_types)})",
        )
    return ClusterSettings(
        kubernetes_version=version,
        support_type=support_type,
        endpoint_public_access=public,
        public_access_cidrs=cidrs if public else (),
        admin_arns=r.strings("clusterAdminArns", formats.iam_principal_arn),
        log_types=r.strings("clusterLogTypes", one_of(LOG_TYPES)),
        system_nodes=system,
        spot_nodes=spot,
        cluster_autoscaler=r.boolean("clusterAutoscaler"),
    )


def _postgres_version(value: str) -> str:
    allowed = "a PostgreSQL major or major.minor that Airflow 3.3 supports: " + ", ".join(
        str(m) for m in versions.SUPPORTED_POSTGRES_MAJORS
    )
    if not _POSTGRES_VERSION.fullmatch(value) or int(value.split(".")[0]) not in versions.SUPPORTED_POSTGRES_MAJORS:
        raise ValueError(allowed)
    return value


def _database(r: Reader) -> DatabaseSettings:
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
        raise ValueError("an Airflow 3.x version such as 3.3.2 (the chart values assume Airflow 3)")
    return value


def _judged_airflow_version(r: Reader, day: dt.date) -> str:
    """airflowVersion, accepted for any 3.x release; a warning when Airflow no longer patches it,
    a newer patch is out, or the calendar does not know it (airflow_eks/support/airflow_calendar.py)."""
    version = r.string("airflowVersion", _airflow_version)
    warning = airflow_calendar.warning(airflow_calendar.support(version, day))
    if warning:
        pulumi.log.warn(warning)
    return version


def _git_sync_period(value: str) -> str:
    low, high = GIT_SYNC_PERIOD_SECONDS
    return _duration_within(value, formats.go_duration_seconds, low, high,
                            f"a Go duration from {low}s to {high // 3600}h, e.g. 30s or 5m")


def _duration_within(value: str, seconds_of: Callable[[str], float], low: int, high: int, allowed: str) -> str:
    """`value` if it parses to between `low` and `high` seconds; otherwise `allowed` as the error."""
    try:
        seconds = seconds_of(value)
    except ValueError:
        raise ValueError(allowed) from None
    if not low <= seconds <= high:
        raise ValueError(allowed)
    return value


def _git_sync(r: Reader) -> GitSyncSettings:
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
        period=r.string("gitSyncPeriod", _git_sync_period),
        username=username,
        known_hosts=known_hosts,
        token=pulumi.Output.secret(token) if token is not None else None,
        ssh_key=pulumi.Output.secret(ssh_key) if ssh_key is not None else None,
    )


def _task_resources(r: Reader) -> TaskResources:
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


def _airflow(r: Reader, day: dt.date) -> AirflowSettings:
    return AirflowSettings(
        chart_version=r.choice("airflowChartVersion", versions.SUPPORTED_AIRFLOW_CHART_VERSIONS),
        image_repository=r.string("airflowImageRepository", formats.image_repository),
        version=_judged_airflow_version(r, day),
        git_sync=_git_sync(r),
        scheduler_replicas=r.integer("schedulerReplicas", 1, 10),
        api_server_replicas=r.integer("apiServerReplicas", 1, 10),
        task_resources=_task_resources(r),
        secrets_backend=r.choice("secretsBackend", SECRETS_BACKENDS),
        tasks_may_launch_pods=r.boolean("tasksMayLaunchPods"),
        image_digest=_image_digest(r),
    )


def _image_digest(r: Reader) -> str:
    value = r.raw("airflowImageDigest")
    return r.check("airflowImageDigest", value, digest.check) if value else value


def _tags(aws: Reader, project: str, stack: str) -> dict[str, str]:
    text = aws.cfg.get("defaultTags") or "{}"
    parsed = parse_json(text)
    tags = parsed.get("tags", {}) if isinstance(parsed, dict) else None
    # Keys without "=": the EBS CSI driver reads volume tags as "key=value" (eks.gp3_parameters).
    if not isinstance(tags, dict) or not all(isinstance(v, str) and "=" not in k for k, v in tags.items()):
        raise invalid(aws.key("defaultTags"), text, 'an object {"tags": {"key": "value", ...}} with no "=" in a key')
    # project/stack/managed-by are what cost reports and policies key on: always present.
    return {**tags, "project": project, "stack": stack, "managed-by": "pulumi"}


def _image_mirror(r: Reader, airflow_repository: str) -> str:
    value = r.raw("imageMirror")
    if value == "":
        return value
    r.check("imageMirror", value, formats.registry_path)
    if images.is_public(value + "/x"):
        raise invalid(r.key("imageMirror"), value, "a registry you control, not a public registry "
                      f"({', '.join(images.PUBLIC_REGISTRIES)}), or empty")
    longest = max(images.mirrorable(airflow_repository), key=len)
    if len(value) + 1 + len(longest) > formats.IMAGE_NAME_MAX_LENGTH:
        raise invalid(r.key("imageMirror"), value, f"at most {formats.IMAGE_NAME_MAX_LENGTH - 1 - len(longest)} "
                      f"characters, so that <imageMirror>/{longest} stays within the "
                      f"{formats.IMAGE_NAME_MAX_LENGTH} characters of an image name")
    return value


def _image_registry(r: Reader, stack: str, image_mirror: str) -> ImageRegistrySettings:
    """Everything but the account (looked up last, in load): the keys that only mean something
    with the registry are refused without it, so a stack never carries one that does nothing."""
    credentials = r.secret("dockerHubCredentials", registry.docker_hub_credentials)
    enabled = r.boolean("imageRegistry")
    keep = r.integer("imageRegistryKeepImages", 1, 1000)
    push_role = r.raw("imageRegistryPushRoleArn")
    if not enabled:
        if push_role:
            raise invalid(r.key("imageRegistryPushRoleArn"), push_role, "empty unless imageRegistry is true")
        if credentials is not None:
            raise invalid_secret(r.key("dockerHubCredentials"), "unset unless imageRegistry is true (it authenticates "
                                 "the stack's Docker Hub pull-through cache); remove it with `pulumi config rm "
                                 "dockerHubCredentials`")
        return ImageRegistrySettings(enabled=False, keep_images=keep, push_role_arn="")
    if image_mirror:
        raise invalid(r.key("imageMirror"), image_mirror, "empty while imageRegistry is true (the stack's own "
                      "registry is then the mirror)")
    if push_role:
        r.check("imageRegistryPushRoleArn", push_role, formats.iam_role_arn)
    space = r.check("imageRegistry", stack, registry.namespace)
    return ImageRegistrySettings(enabled=True, keep_images=keep, push_role_arn=push_role, namespace=space,
                                 docker_hub_credentials=pulumi.Output.secret(credentials)
                                 if credentials is not None else None)


def _check_registry_upstreams(r: Reader, settings: ImageRegistrySettings, upstreams: Sequence[str]) -> None:
    r.check("imageRegistry", settings.namespace, lambda space: registry.check_prefixes(space, upstreams))
    r.check("imageRegistry", list(upstreams), lambda ups: registry.cache_rules(settings.namespace, ups))
    if registry.upstreams_needing_credentials(upstreams) and settings.docker_hub_credentials is None:
        raise invalid_secret(r.key("dockerHubCredentials"), "your Docker Hub `username:accessToken` while "
                             "imageRegistry is true: ECR caches Docker Hub (the PgBouncer images) only with "
                             "credentials; set it with `pulumi config set --secret dockerHubCredentials "
                             "<username>:<access token>`")


def _network(r: Reader, available_zones: Callable[[], Sequence[str]]) -> NetworkSettings:
    cidr = str(r.string("vpcCidr", formats.private_vpc_cidr))
    count = r.integer("availabilityZoneCount", 2, subnets.MAX_AZS)
    nat = r.choice("natGateways", NAT_MODES)
    return NetworkSettings(
        vpc_cidr=cidr,
        availability_zones=r.check("availabilityZoneCount", count,
                                   lambda n: zones.choose(available_zones(), n)),
        nat_gateways=nat,
    )


def load(available_zones: Callable[[], Sequence[str]] = zones.available_in_region,
         today: dt.date | None = None, account: Callable[[], str] = lookup.account_id,
         lookups: restore_lookups.Lookups = restore_lookups.AWS) -> Settings:
    """Read and validate the whole stack configuration. Raises pulumi.RunError.

    Every offline check runs first, starting with keys Pulumi.yaml does not declare (a typo
    would otherwise be silently ignored); the ones that need AWS (which zones the region
    offers, with imageRegistry the account whose registry the stack owns, and the snapshot and
    buckets a restore names, `lookups`) run last, still before any resource exists. `today`
    (default: the UTC day of the run) is the day the Kubernetes version's EKS support and the
    Airflow version's support are judged on.
    """
    config_keys.check(all_keys(), config_keys.read_project_file())
    r = Reader()
    aws = Reader("aws")
    project, stack = pulumi.get_project(), pulumi.get_stack()
    region = aws.string("region", formats.aws_region)
    tags = _tags(aws, project, stack)
    day = today or kubernetes_support.today()
    cluster = _cluster(r, day)
    database = _database(r)
    data = DataSettings(
        protect_data=r.boolean("protectData"),
        keep_data_on_destroy=r.boolean("keepDataOnDestroy"),
        log_retention_days=r.integer("logRetentionDays", 1, 3650),
        task_bucket_names=r.strings("taskS3BucketNames", formats.s3_bucket_name),
    )
    airflow = _airflow(r, day)
    image_mirror = _image_mirror(r, airflow.image_repository)
    image_registry = _image_registry(r, stack, image_mirror)
    # An internal ALB without uiAllowedCidrs admits the VPC (vpcCidr itself is checked below).
    ui = ui_config.load(r, region=region, vpc_cidr=r.raw("vpcCidr"))
    if ui.enabled:
        # The UI's load balancer controller tags what it creates with the stack's tags, passed
        # through a container argument its chart does not quote.
        aws.check("defaultTags", aws.cfg.get("defaultTags") or "{}", lambda _: formats.controller_default_tags(tags))
    metrics = _metrics(r)
    restored = restore.check(r, region=region, task_buckets=data.task_bucket_names)
    if image_registry.enabled:
        # Which upstreams go through the mirror does not depend on its host: checked offline.
        upstreams = images.mirrored_registries(
            image_registry.namespace, airflow_repository=airflow.image_repository,
            cluster_autoscaler=cluster.cluster_autoscaler, load_balancer_controller=ui.enabled)
        _check_registry_upstreams(r, image_registry, upstreams)
    network = _network(r, available_zones)
    if image_registry.enabled:
        # The stack's registry is the mirror. With a digest, Airflow's image is the one the
        # image workflow pushed to the stack's repository; before the first, it is
        # airflowImageRepository's image through the stack's cache, by tag.
        image_registry = dataclasses.replace(image_registry, account=account(), region=region)
        image_mirror = image_registry.mirror
        if airflow.image_digest:
            airflow = dataclasses.replace(airflow, image_repository=image_registry.repository_url)
    return Settings(
        project=project, stack=stack, region=region, tags=tags, network=network,
        cluster=cluster, database=database, data=data, airflow=airflow, image_mirror=image_mirror, ui=ui,
        metrics=metrics, image_registry=image_registry,
        restore=restored.resolve(r, region=region, engine_version=database.engine_version,
                                 allocated_storage_gb=database.allocated_storage_gb, lookup=lookups),
    )
