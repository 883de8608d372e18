"""Container images from a registry you control: the imageMirror rewrite. Pure.

With `imageMirror` set, every image on a public registry that the stack runs is pulled as
`<imageMirror>/<upstream registry>/<path>` instead, e.g. quay.io/prometheus/statsd-exporter
becomes 123456789012.dkr.ecr.us-east-1.amazonaws.com/quay.io/prometheus/statsd-exporter.
That is the layout of ECR pull-through cache rules whose prefixes are the upstream registry
names (docs/deploying.md, "Before the first prod deploy"), and of most proxy caches (Harbor, Artifactory).
Tags stay the chart's and the program's own, so a mirror never pins a different version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from airflow_eks import iam, versions

DOCKER_HUB = "docker.io"
# Registries anyone can publish to or that the project does not control; a pull from them
# is subject to their rate limits and availability.
PUBLIC_REGISTRIES = (DOCKER_HUB, "quay.io", "registry.k8s.io", "ghcr.io", "gcr.io", "public.ecr.aws")

# Chart 1.19.0's sidecar images (values.yaml `images.<key>.repository`) that this program's
# values turn on: PgBouncer and its exporter, the StatsD exporter, git-sync. Airflow's own
# image is airflowImageRepository; Redis and Flower are off (KubernetesExecutor).
CHART_SIDECAR_IMAGES = {
    "pgbouncer": "apache/airflow",
    "pgbouncerExporter": "apache/airflow",
    "statsd": "quay.io/prometheus/statsd-exporter",
    "gitSync": "registry.k8s.io/git-sync/git-sync",
}

# Pull policies, by how often a container starts. Tags are pinned (the chart's, the program's,
# airflowVersion) either way; the policy decides whether a start asks the registry.
#
# Task pods start all day, one per task: their containers start from the node's cache
# (IfNotPresent), so a registry or ECR outage only delays new nodes. With `Always` every task
# pod would ask the registry first, and the KubernetesExecutor fails a task outright on
# ErrImagePull. That is the task pod template's main container (chart `images.pod_template`)
# and git-sync (`images.gitSync`: the chart uses it for the task pods' git-sync init container
# as well as for the DAG processor's and triggerer's sidecars, so those follow the task pods).
TASK_PULL_POLICY = "IfNotPresent"
# Everything else runs long and starts rarely (Airflow's components and Jobs, StatsD, PgBouncer
# and its exporter, the Cluster Autoscaler, the Load Balancer Controller): each start asks the
# registry for the tag's digest (layers already on the node are not downloaded again), so the
# registry must still serve that tag to this node's credentials, and a re-pushed tag cannot
# keep running in its old version on some nodes. The cost: a component that restarts during a
# registry outage waits in ImagePullBackOff until it is back; running containers are unaffected.
COMPONENT_PULL_POLICY = "Always"
# The chart's `images.<key>` whose containers the task pods run.
TASK_POD_CHART_IMAGES = frozenset({"pod_template", "gitSync"})

_ECR_HOST = re.compile(
    r"(?P<account>[0-9]{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?", re.ASCII)


def chart_pull_policy(key: str) -> str:
    """`images.<key>.pullPolicy` for the Airflow chart."""
    return TASK_PULL_POLICY if key in TASK_POD_CHART_IMAGES else COMPONENT_PULL_POLICY


def registry_of(repository: str) -> str:
    """The registry host of an image repository; Docker's rules: a first path part with a dot
    or a port, or `localhost`, is a host, anything else is Docker Hub."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB if first in ("index.docker.io", "registry-1.docker.io") else first
    return DOCKER_HUB


def qualified(repository: str) -> str:
    """The repository with its registry spelled out: `apache/airflow` -> `docker.io/apache/airflow`,
    `redis` -> `docker.io/library/redis` (Docker Hub's official images); others unchanged."""
    if registry_of(repository) != DOCKER_HUB:
        return repository
    first, _, rest = repository.partition("/")
    path = rest if rest and ("." in first or ":" in first) else repository
    return f"{DOCKER_HUB}/{path if '/' in path else 'library/' + path}"


def is_public(repository: str) -> bool:
    return registry_of(repository) in PUBLIC_REGISTRIES


def mirrored(repository: str, mirror: str) -> str:
    """Where to pull `repository` from: through the mirror if it is public and a mirror is set."""
    if not mirror or not is_public(repository):
        return repository
    return f"{mirror}/{qualified(repository)}"


def sidecar_repositories(mirror: str) -> dict[str, str]:
    """`images.<key>.repository` values for the chart; empty without a mirror (chart defaults)."""
    if not mirror:
        return {}
    return {key: mirrored(repo, mirror) for key, repo in CHART_SIDECAR_IMAGES.items()}


def mirrorable(airflow_repository: str) -> tuple[str, ...]:
    """Every public repository the stack may pull through a mirror, registry spelled out (what
    follows `<imageMirror>/`), whichever optional component is on."""
    repositories = [*CHART_SIDECAR_IMAGES.values(), airflow_repository, versions.CLUSTER_AUTOSCALER_IMAGE_REPOSITORY,
                    versions.LOAD_BALANCER_CONTROLLER_IMAGE_REPOSITORY]
    return tuple(sorted({qualified(r) for r in repositories if is_public(r)}))


def mirrored_registries(mirror: str, *, airflow_repository: str, cluster_autoscaler: bool,
                        load_balancer_controller: bool = False) -> tuple[str, ...]:
    """The upstream registries the stack pulls through `mirror` (none without one)."""
    if not mirror:
        return ()
    repositories = [*CHART_SIDECAR_IMAGES.values(), airflow_repository]
    if cluster_autoscaler:
        repositories.append(versions.CLUSTER_AUTOSCALER_IMAGE_REPOSITORY)
    if load_balancer_controller:
        repositories.append(versions.LOAD_BALANCER_CONTROLLER_IMAGE_REPOSITORY)
    return tuple(sorted({registry_of(r) for r in repositories if is_public(r)}))


@dataclass(frozen=True)
class EcrRegistry:
    partition: str
    account: str
    region: str
    path: str
    """The mirror's path below the host ('' or 'team/' style, with a trailing slash)."""


def ecr_registry(mirror: str) -> EcrRegistry | None:
    """The ECR private registry the mirror names, or None for any other registry."""
    host, _, path = mirror.partition("/")
    m = _ECR_HOST.fullmatch(host)
    if not m:
        return None
    partition = "aws-cn" if m["cn"] else "aws-us-gov" if m["region"].startswith("us-gov-") else "aws"
    return EcrRegistry(partition=partition, account=m["account"], region=m["region"], path=f"{path}/" if path else "")


def cache_repository_arns(mirror: str, upstreams: Iterable[str]) -> list[str]:
    """The ARN patterns of every repository an ECR mirror caches the upstream registries in
    (`<mirror path>/<upstream>/*`); empty when the mirror is not ECR."""
    ecr = ecr_registry(mirror)
    if ecr is None:
        return []
    arn = f"arn:{ecr.partition}:ecr:{ecr.region}:{ecr.account}:repository/{ecr.path}"
    return [f"{arn}{upstream}/*" for upstream in sorted(set(upstreams))]


def pull_through_cache_policy(mirror: str, upstreams: Iterable[str]) -> dict | None:
    """What the nodes need beyond AmazonEC2ContainerRegistryReadOnly to pull through an ECR
    cache: the first pull of an image imports it, into a repository it may have to create
    (ECR user guide, "IAM permissions required to sync an upstream registry"). Scoped to the
    cache repositories of the upstream registries in use. None when the mirror is not ECR or
    nothing is pulled through it."""
    arns = cache_repository_arns(mirror, upstreams)
    if not arns:
        return None
    return iam.document(iam.allow(["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"], arns,
                                  sid="PullThroughCache"))
