"""Reading the official Airflow chart's Helm release values (used by the S3 and Kubernetes rules)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .base import Resource
from .constants import AIRFLOW_CHART, AIRFLOW_NAMESPACE, HELM_RELEASE
from .helpers import _map, _of_type, _path


def _is_airflow(props: Mapping[str, Any]) -> bool:
    chart = str(props.get("chart") or "")
    return chart == AIRFLOW_CHART or chart.endswith(f"/{AIRFLOW_CHART}")


def _values(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return _map(props.get("values")) if _is_airflow(props) else None


def _airflow_values(resources: Sequence[Resource]) -> list[Mapping[str, Any]]:
    return [v for r in _of_type(resources, HELM_RELEASE) if (v := _values(r.props)) is not None]


# The option of the rules that check Airflow's namespace.
NAMESPACE_CONFIG = {"namespace": {"type": "string", "default": AIRFLOW_NAMESPACE,
                                   "description": "Namespace used when the Airflow release names none."}}


def _airflow_namespaces(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> Iterator[tuple[Resource, str]]:
    """Each Airflow release with the namespace it installs into."""
    for release in (r for r in _of_type(resources, HELM_RELEASE) if _is_airflow(r.props)):
        yield release, str(release.props.get("namespace") or cfg["namespace"])


def _log_bucket(values: Mapping[str, Any]) -> str | None:
    """The bucket of `remote_base_log_folder` (s3://<bucket>/<prefix>), if it is an S3 URL."""
    folder = str(_path(values, "config.logging.remote_base_log_folder") or "")
    if not folder.startswith("s3://"):
        return None
    return folder.removeprefix("s3://").split("/", 1)[0] or None
