"""Render the real upstream charts offline (helm-python-sdk: Helm's Go SDK, no helm binary).

The charts are upstream artefacts, never committed: `make charts` (tools/charts.py) fetches the
pinned archives into build/charts/<name>-<version>; otherwise they are read beside the checkout
(../shared/airflow-chart and ../shared/charts/<name>-<version>, see ../shared/charts/README.md).
AIRFLOW_CHART_DIR and CHARTS_DIR, where set, win. In CI a missing chart fails the test, never
skips it; elsewhere it skips, and the end of the run counts those skips (conftest.py).

Renders are cached per (chart, values, release, namespace): a chart renders in well under a
second, but the suite renders the same values sets from many tests.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from airflow_eks import versions
from tools import charts as fetched

# The remedy a chart skip names; conftest.py counts the skips that name it.
FETCH_HINT = "run `make charts`"


def _first_present(candidates: tuple[Path, ...], marker: str = "Chart.yaml") -> Path:
    """The first candidate holding `marker`, else the first (which `require` then reports)."""
    return next((c for c in candidates if (c / marker).exists()), candidates[0])


def airflow_chart_dir() -> Path:
    if os.environ.get("AIRFLOW_CHART_DIR"):
        return Path(os.environ["AIRFLOW_CHART_DIR"])
    return _first_present(fetched.chart_dirs(versions.AIRFLOW_CHART_NAME, fetched.airflow_chart_version()))


def chart_dir(name: str, version: str) -> Path:
    """An upstream chart: $CHARTS_DIR/<name>-<version> where set (CI pulls them there), else
    build/charts (make charts), else ../shared/charts; e.g. chart_dir("cluster-autoscaler", "9.59.0")."""
    if name == versions.AIRFLOW_CHART_NAME:
        return airflow_chart_dir()
    if os.environ.get("CHARTS_DIR"):
        return Path(os.environ["CHARTS_DIR"]) / f"{name}-{version}"
    return _first_present(fetched.chart_dirs(name, version))


def policy_dir() -> Path:
    """The AWS Load Balancer Controller's published IAM policies (build/charts/aws or ../shared/aws)."""
    path = _first_present(fetched.policy_dirs(), lbc_policy_file())
    if not (path / lbc_policy_file()).is_file():
        unavailable(f"{lbc_policy_file()} not found in {' or '.join(map(str, fetched.policy_dirs()))}; {FETCH_HINT}")
    return path


def lbc_policy_file() -> str:
    return fetched.POLICY_FILES[0].name


def unavailable(message: str, *, required_by: str = "CI") -> NoReturn:
    """Something the offline suite reads is missing: a failure where the environment variable
    `required_by` is set (CI), a skip only on a developer's machine."""
    if os.environ.get(required_by):
        pytest.fail(message)
    pytest.skip(message)


def require(path: Path) -> Path:
    """The chart folder, or a failure in CI (a skip only on a developer's machine)."""
    if not (path / "Chart.yaml").is_file():
        unavailable(f"chart not found at {path} (nor fetched into build/charts); {FETCH_HINT}")
    return path


@functools.lru_cache(maxsize=64)
def _render(path: str, values_json: str, release: str, namespace: str) -> tuple[tuple[str, str], ...]:
    import helm_python  # test dependency (requirements-dev.txt)

    with helm_python.Chart.load(path) as chart:
        manifests = chart.render(json.loads(values_json), name=release, namespace=namespace)
    return tuple(sorted(manifests.items()))


# Kinds Kubernetes keeps outside namespaces; Helm puts every other object it installs into the
# release's namespace, whether or not the template says so.
CLUSTER_SCOPED = frozenset({
    "ClusterRole", "ClusterRoleBinding", "Namespace", "StorageClass", "PriorityClass",
    "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "IngressClass", "PersistentVolume",
    "IngressClassParams",  # the AWS Load Balancer Controller's CRD (scope: Cluster)
})


def render(path: Path, values: dict[str, Any], *, release: str, namespace: str) -> list[dict]:
    """Every Kubernetes object the chart renders for `values`, as Kubernetes would receive it
    (NOTES.txt dropped; namespaced objects in the release's namespace, as `helm install -n`
    puts them); `render_by_template` also says which template made each one."""
    return [obj for _, obj in render_by_template(path, values, release=release, namespace=namespace)]


def render_by_template(path: Path, values: dict[str, Any], *, release: str,
                       namespace: str) -> list[tuple[str, dict]]:
    """(template path, object) for every rendered object."""
    rendered = _render(str(require(path)), json.dumps(values, sort_keys=True), release, namespace)
    out = []
    for template, text in rendered:
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt and helpers
        for doc in yaml.safe_load_all(text):
            # Helm, like kubectl, applies a v1 List as its items (the AWS Load Balancer
            # Controller's chart orders IngressClassParams before the IngressClass that way).
            for obj in (doc.get("items") or []) if doc and doc.get("kind") == "List" else [doc] if doc else []:
                if obj.get("kind") not in CLUSTER_SCOPED:
                    obj.setdefault("metadata", {}).setdefault("namespace", namespace)
                out.append((template, obj))
    return out


@functools.lru_cache(maxsize=16)
def _crds(path: str) -> tuple[dict, ...]:
    folder = Path(path) / "crds"
    docs = [d for f in sorted(folder.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d] \
        if folder.is_dir() else []
    return tuple(d for d in docs if d.get("kind") == "CustomResourceDefinition")


def crds(path: Path) -> list[dict]:
    """The CustomResourceDefinitions a chart installs from its crds/ folder (Helm applies those
    before the templates and never renders them)."""
    return list(_crds(str(require(path))))


def of_kind(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = of_kind(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(obj: dict) -> dict:
    """The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob) or a Pod."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if obj["kind"] == "Pod":
        return spec
    return spec["template"]["spec"]
