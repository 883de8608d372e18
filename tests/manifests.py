"""Everything a program run asks Kubernetes to hold: each Helm release rendered with the real
upstream chart (tests/charts.py) plus the program's own Kubernetes objects (Namespace,
LimitRange, Secrets, RBAC, NetworkPolicies, StorageClass) from the mock records, as plain
manifests. The rendering, schema, wiring, network-policy and scanner tests read these.
"""

from __future__ import annotations

from typing import Any

import yaml

from airflow_eks.offline import harness
from tests import charts

RELEASE = "kubernetes:helm.sh/v3:Release"
# pulumi-kubernetes resource types that are not objects in the cluster.
_NOT_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:", "kubernetes:yaml")


def releases(run: harness.Run) -> dict[str, Any]:
    """The Helm release records by chart name."""
    return {r.get("chart"): r for r in run.find(RELEASE)}


def release_objects(run: harness.Run, chart: str) -> list[dict]:
    release = releases(run)[chart]
    path = charts.chart_dir(chart, release.get("version"))
    return charts.render(path, release.plain_inputs["values"], release=release.get("name"),
                         namespace=release.get("namespace"))


def custom_resource_definitions(run: harness.Run) -> list[dict]:
    """The CRDs every release's chart installs (their kinds have no built-in schema)."""
    return [crd for chart, r in releases(run).items() for crd in charts.crds(charts.chart_dir(chart, r.get("version")))]


def program_objects(run: harness.Run) -> list[dict]:
    """The program's own Kubernetes objects as the provider sends them. Auto-named objects
    get their logical name (Pulumi adds a random suffix at deploy time)."""
    out = []
    for record in run.resources:
        if not record.typ.startswith("kubernetes:") or record.typ.startswith(_NOT_OBJECTS):
            continue
        obj = _integral(record.plain_inputs)
        obj.setdefault("metadata", {}).setdefault("name", record.name)
        out.append(obj)
    return out


def all_objects(run: harness.Run) -> list[dict]:
    """Every object of every release and the program's own, in one list."""
    rendered = [o for chart in releases(run) for o in release_objects(run, chart)]
    return rendered + program_objects(run)


def task_pod_template(airflow_objects: list[dict]) -> dict:
    """The KubernetesExecutor's task pod, from the chart's `pod_template_file.yaml` in the
    airflow-config ConfigMap (what the scheduler submits for every task)."""
    [template] = [o["data"]["pod_template_file.yaml"] for o in charts.of_kind(airflow_objects, "ConfigMap")
                  if "pod_template_file.yaml" in o.get("data", {})]
    return yaml.safe_load(template)


def cluster_minor(run: harness.Run) -> str:
    """The Kubernetes minor the program asks EKS for (config kubernetesVersion)."""
    return str(run.one("eks:index:Cluster").get("version"))


def _integral(value: Any) -> Any:
    """Numbers cross the Pulumi RPC as floats; Kubernetes integers (ports) must be ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value
