"""What the program generates, read the way Kubernetes would hand it to the pods.

The whole program runs under the offline engine (airflow_eks/offline), exactly as in the fast
suite; from its recording come the Kubernetes Secrets' data and the Helm values, and the real
chart (tests/charts.py) renders the objects. Environment variables are resolved like the
kubelet does: `value` as is, `secretKeyRef` from the program's Secrets, `$(VAR)` in args from
the container's env. Nothing here invents a value the program did not produce.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from airflow_eks.offline import harness
from tests import charts

SECRET = "kubernetes:core/v1:Secret"
WORKLOADS = ("Deployment", "StatefulSet", "Job", "DaemonSet")
RELEASE = "kubernetes:helm.sh/v3:Release"


@dataclass(frozen=True)
class Generated:
    stack: str
    secrets: dict[str, dict[str, str]]
    """Secret name -> its stringData, as the program stores it."""
    values: dict[str, Any]
    objects: list[dict]
    release: str
    namespace: str

    def secret(self, name: str, key: str) -> str:
        return self.secrets[name][key]

    def config_files(self) -> dict[str, str]:
        """The chart's `<release>-config` ConfigMap: airflow.cfg, airflow_local_settings.py, ..."""
        return charts.one(self.objects, "ConfigMap", f"{self.release}-config")["data"]

    def airflow_cfg(self) -> str:
        return self.config_files()["airflow.cfg"]

    def workload(self, kind: str, component: str) -> dict:
        return charts.one(self.objects, kind, f"{self.release}-{component}")

    def container(self, kind: str, component: str, container: str) -> dict:
        spec = charts.pod_spec(self.workload(kind, component))
        return next(c for c in [*spec["containers"], *spec.get("initContainers", [])] if c["name"] == container)

    def workload_of(self, container: dict) -> dict:
        """The rendered workload whose pod runs `container` (the very dict)."""
        return next(o for o in self.objects if "spec" in o and o["kind"] in WORKLOADS
                    and any(c is container for c in [*charts.pod_spec(o)["containers"],
                                                     *charts.pod_spec(o).get("initContainers", [])]))

    def writable_paths(self, container: dict) -> set[str]:
        """Where the container may write with its read-only root filesystem: its writable
        mounts of an emptyDir or a claim (the StatefulSet's claim templates too)."""
        workload = self.workload_of(container)
        spec = charts.pod_spec(workload)
        scratch = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v or "persistentVolumeClaim" in v}
        scratch |= {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
        return {m["mountPath"] for m in container.get("volumeMounts", [])
                if m["name"] in scratch and not m.get("readOnly")}

    def mounted_files(self, container: dict) -> dict[str, str]:
        """mountPath -> content of every file the container mounts from a rendered ConfigMap
        (subPath mounts: airflow.cfg, airflow_local_settings.py, webserver_config.py, ...)."""
        spec = charts.pod_spec(self.workload_of(container))
        volumes = {v["name"]: v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v}
        files = {}
        for mount in container.get("volumeMounts", []):
            if mount["name"] in volumes and mount.get("subPath"):
                data = charts.one(self.objects, "ConfigMap", volumes[mount["name"]])["data"]
                files[mount["mountPath"]] = data[mount["subPath"]]
        return files

    def env(self, container: dict) -> dict[str, str]:
        """The container's environment as the kubelet builds it (env entries only; the chart
        puts no envFrom on Airflow's containers)."""
        env: dict[str, str] = {}
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = expand(str(entry["value"]), env)
            elif "secretKeyRef" in entry.get("valueFrom", {}):
                ref = entry["valueFrom"]["secretKeyRef"]
                env[entry["name"]] = self.secret(ref["name"], ref["key"])
            else:
                raise AssertionError(f"env source not modelled here: {entry}")
        return env


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion in command/args/env values (unknown names stay as is)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


@functools.cache
def generated(stack: str = "dev", secrets: tuple[tuple[str, str], ...] = (), **overrides: Any) -> Generated:
    """`secrets`: (key, value) pairs set as secret configuration, as `pulumi config set --secret` does."""
    run = harness.run_program(stack, overrides=overrides or None, secrets=dict(secrets) or None)
    secrets = {r.get("metadata.name"): dict(r.get("stringData")) for r in run.find(SECRET)}
    release = next(r for r in run.find(RELEASE) if r.get("chart") == "airflow")
    values = release.plain_inputs["values"]
    name, namespace = release.get("name"), release.get("namespace")
    objects = charts.render(charts.airflow_chart_dir(), values, release=name, namespace=namespace)
    return Generated(stack, secrets, values, objects, name, namespace)
