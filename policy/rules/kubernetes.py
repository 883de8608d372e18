"""Kubernetes rules: pinned Helm charts, the Airflow release's values, and the task pods' LimitRange."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .airflow_values import NAMESPACE_CONFIG, _airflow_namespaces, _log_bucket, _values
from .base import Resource, rule
from .constants import (
    ADVISORY,
    AIRFLOW_GRACE_DAYS,
    AIRFLOW_NOT_INSTALLABLE_HERE,
    AIRFLOW_RELEASES,
    AIRFLOW_YANKED,
    CHART_DEFAULT_PASSWORD,
    CHART_DEFAULT_REPOSITORY,
    CHART_SIDECAR_IMAGES,
    HELM_RELEASE,
    LIMIT_RANGE,
    PUBLIC_REGISTRIES,
    SEMVER,
)
from .helpers import AS_OF_CONFIG, _items, _judged_on, _map, _of_type, _path, _truthy


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


_DIGEST_REFERENCE = re.compile(r"^(?P<repository>[^@\s]+)@sha256:[0-9a-f]{64}$")


def _airflow_image_references(values: Mapping[str, Any]) -> dict[str, str]:
    """The Airflow image reference of each kind of pod, as the chart (1.19.0 _helpers.yaml) and
    the KubernetesExecutor build it: the components and Jobs (`airflow_image`, with digest), the
    pod template file (`pod_template_image`: repository:tag only), and the executor's
    worker_container_repository:worker_container_tag, which replaces the template's image."""
    default_repo = str(values.get("defaultAirflowRepository") or CHART_DEFAULT_REPOSITORY)
    default_tag = str(values.get("defaultAirflowTag") or "")
    repo = str(_path(values, "images.airflow.repository") or default_repo)
    digest = _path(values, "images.airflow.digest") or values.get("defaultAirflowDigest")
    tag = str(_path(values, "images.airflow.tag") or default_tag)
    template = (f"{_path(values, 'images.pod_template.repository') or default_repo}:"
                f"{_path(values, 'images.pod_template.tag') or default_tag}")
    executor = _map(_path(values, "config.kubernetes_executor"))
    worker_repo = executor.get("worker_container_repository") or repo
    worker_tag = executor.get("worker_container_tag") or tag
    return {"components and Jobs": f"{repo}@{digest}" if digest else f"{repo}:{tag}",
            "task pod template": template, "task pods (executor)": f"{worker_repo}:{worker_tag}"}


@_airflow_rule("airflow-image-by-digest", "Every Airflow pod, Job and task pod runs one image, pinned by digest, "
               "from a registry you control.",
               config={"allowedRegistries": {"type": "array", "items": {"type": "string"}, "default": [],
                                             "description": "Repository prefixes allowed (e.g. the stack's ECR "
                                                            "registry); empty: any registry but the public ones."}})
def airflow_image_by_digest(values: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    allowed = cfg["allowedRegistries"]
    references = _airflow_image_references(values)
    found = []
    for where, reference in references.items():
        match = _DIGEST_REFERENCE.match(reference)
        if not match:
            found.append(f"{where} run {reference}, a tag, which can be re-pushed under the same name: set "
                         "airflowImageDigest (the image workflow's pull request does; docs/image.md).")
            continue
        repository = match["repository"]
        if (allowed and not any(repository.startswith(p) for p in allowed)) or (
                not allowed and _registry(repository) in PUBLIC_REGISTRIES):
            found.append(f"{where} run {reference} from {_registry(repository)}: deploy the image from the stack's "
                         "own registry (imageRegistry) or one you control.")
    if not found and len(set(references.values())) > 1:
        found.append("the pods run different images: " + ", ".join(f"{k} {v}" for k, v in references.items()))
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
      "CPU and memory limits.", config=NAMESPACE_CONFIG)
def task_pods_limit_range(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for release, namespace in _airflow_namespaces(resources, cfg):
        if not any(str(_path(lr.props, "metadata.namespace")) == namespace and _limits_containers(lr)
                   for lr in _of_type(resources, LIMIT_RANGE)):
            found.append((f"namespace {namespace} needs a LimitRange with default cpu and memory limits for "
                          "Container, so pods a DAG creates (e.g. KubernetesPodOperator) are bounded too.",
                          release.urn))
    return found


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _airflow_judgement(version: Any, day: dt.date) -> tuple[str, dt.date | None] | None:
    """Why `version` is not the newest patch of the one minor Airflow patches on `day`, and the
    first day of no grace (None: it has none, it fails at once); None when it is current."""
    if not version:
        return ("airflowVersion is unset, so the chart runs its own default Airflow, whose support nobody "
                "reviewed; set airflowVersion.", None)
    version = str(version)
    out_by_day = sorted((v for v, d in AIRFLOW_RELEASES.items() if dt.date.fromisoformat(d) <= day), key=_version_key)
    newest = out_by_day[-1] if out_by_day else None
    move = ""
    if newest and newest != version:
        unproven = (" (not yet validated by this program's runtime tier, whose package registry does not serve "
                    "it)") if newest in AIRFLOW_NOT_INSTALLABLE_HERE else ""
        move = f" Move to {newest}{unproven} (docs/operations/upgrades.md)."
    if version in AIRFLOW_YANKED:
        return f"Airflow {version} was yanked from PyPI.{move}", None
    if version not in out_by_day:
        return (f"Airflow {version} is not a release in this pack's calendar on {day} (AIRFLOW_RELEASES: final "
                "releases in Airflow's release notes), so its support cannot be checked; use a listed release or add "
                f"the new one with its release day.{move}", None)
    superseded = min((dt.date.fromisoformat(d) for v, d in AIRFLOW_RELEASES.items()
                      if _version_key(v) > _version_key(version)), default=None)
    if superseded is None or superseded > day:
        return None
    grace_ends = superseded + dt.timedelta(days=AIRFLOW_GRACE_DAYS)
    minor, patched = _minor(version), _minor(newest)
    if minor != patched:
        since = min(d for v, d in AIRFLOW_RELEASES.items() if _minor(v) == patched)
        return (f"Airflow {minor} gets no more patches, bug or security fixes, since {patched}.0 on {since} (Airflow "
                f"patches only its latest minor).{move}", grace_ends)
    return f"Airflow {version} lacks the fixes of {newest}, the newest patch of {minor}.{move}", grace_ends


def airflow_support_findings(version: Any, day: dt.date) -> list[str]:
    """What fails `version` on `day`: yanked, unknown, unreleased, unset, or superseded for longer
    than the grace (empty otherwise, including within the grace)."""
    judged = _airflow_judgement(version, day)
    if judged is None:
        return []
    message, grace_ends = judged
    if grace_ends is None:
        return [message]
    if day < grace_ends:
        return []
    return [f"{message} Its {AIRFLOW_GRACE_DAYS}-day grace is over since {grace_ends}."]


def airflow_currency_findings(version: Any, day: dt.date) -> list[str]:
    """What is superseded but within the grace on `day`, with the day the grace ends (what
    airflow_support_findings leaves out)."""
    judged = _airflow_judgement(version, day)
    if judged is None or judged[1] is None or day >= judged[1]:
        return []
    message, grace_ends = judged
    return [f"{message} airflow-version-supported allows it for a {AIRFLOW_GRACE_DAYS}-day grace, until "
            f"{grace_ends - dt.timedelta(days=1)}, and fails it from {grace_ends}."]


@_airflow_rule("airflow-version-supported", "The Airflow release is a listed final release, not yanked, and the newest "
               f"patch of the one minor Airflow still patches on the day of the preview, or superseded less than "
               f"{AIRFLOW_GRACE_DAYS} days before (the grace to validate and roll out its successor).",
               config=AS_OF_CONFIG)
def airflow_version_supported(values: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    return airflow_support_findings(values.get("airflowVersion"), _judged_on(cfg["asOf"]))


@_airflow_rule("airflow-version-current", "The Airflow release is the newest patch of the one minor Airflow still "
               "patches on the day of the preview; reports a superseded release within airflow-version-supported's "
               "grace, with the day it ends.", level=ADVISORY, config=AS_OF_CONFIG)
def airflow_version_current(values: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    return airflow_currency_findings(values.get("airflowVersion"), _judged_on(cfg["asOf"]))
