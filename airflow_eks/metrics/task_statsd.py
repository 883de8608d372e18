"""The task pods' own StatsD exporter: its Deployment, Service and mapping. Pure.

Why a second exporter: Airflow 3.1's task runner sends each task's outcome and duration
(`ti.finish.*`, `dag.*.*.duration`, ...) from the task pod itself, and the alerts and the
dashboard read them. But whatever can send to an exporter can send any name to it: through the
chart's exporter, DAG code could send `scheduler_heartbeat` and silence the heartbeat alert. So
task pods send to this exporter (the task pod template's AIRFLOW__METRICS__STATSD_HOST), whose
mapping keeps only the task runner's names (statsd_mapping.task_override_mappings), and the
chart's exporter admits Airflow's components only (pod_security.network_policies).

Built like the chart's StatsD exporter (same image and tag, probes and resources, read-only and
non-root) and scraped by the same job (scrape.JOB_STATSD): the two exporters' series differ only
in their `instance` and `pod` labels, so sums in the rules and the dashboard add both.
"""

from __future__ import annotations

import hashlib

import yaml

from airflow_eks import images, names, pod_security, statsd_mapping, versions

NAME = f"{names.AIRFLOW_RELEASE}-task-statsd"
"""The Deployment, Service and ConfigMap, and the StatsD host task pods send to."""
COMPONENT = pod_security.TASK_STATSD_COMPONENT
LABELS = {**pod_security.AIRFLOW_PODS, "component": COMPONENT}
INGEST_PORT = pod_security.STATSD_INGEST_PORT
SCRAPE_PORT = pod_security.STATSD_SCRAPE_PORT
INGEST_PORT_NAME = "statsd-ingest"
SCRAPE_PORT_NAME = "statsd-scrape"  # the name the scrape job keeps, as on the chart's Service
MAPPING_FILE = "mappings.yml"
CONFIG_DIR = "/etc/statsd-exporter"
MAPPING_CHECKSUM_ANNOTATION = statsd_mapping.CHECKSUM_ANNOTATION


def mapping_yaml() -> str:
    return yaml.safe_dump({"mappings": statsd_mapping.task_override_mappings()}, sort_keys=False)


def image(image_mirror: str) -> str:
    return f"{images.mirrored(images.CHART_SIDECAR_IMAGES['statsd'], image_mirror)}:{versions.STATSD_EXPORTER_TAG}"


def task_pod_env() -> list[dict]:
    """What the task pod template adds: Airflow's [metrics] statsd_host for the task process."""
    return [{"name": "AIRFLOW__METRICS__STATSD_HOST", "value": NAME}]


def _probe() -> dict:
    # The chart's probes for its exporter.
    return {"httpGet": {"path": "/metrics", "port": SCRAPE_PORT}, "initialDelaySeconds": 10, "periodSeconds": 10,
            "timeoutSeconds": 5}


def deployment_spec(*, image_mirror: str, resources: dict) -> dict:
    return {
        "replicas": 1,
        "selector": {"matchLabels": dict(LABELS)},
        "template": {
            "metadata": {
                "labels": dict(LABELS),
                # statsd_exporter reads its mapping only at start.
                "annotations": {MAPPING_CHECKSUM_ANNOTATION: hashlib.sha256(mapping_yaml().encode()).hexdigest()},
            },
            "spec": {
                # It talks to nobody: no Kubernetes API token.
                "automountServiceAccountToken": False,
                "nodeSelector": dict(names.SYSTEM_NODE_LABELS),
                "securityContext": pod_security.pod_context(pod_security.NOBODY_UID),
                "containers": [{
                    "name": "statsd",
                    "image": image(image_mirror),
                    "imagePullPolicy": images.COMPONENT_PULL_POLICY,
                    "args": [f"--statsd.mapping-config={CONFIG_DIR}/{MAPPING_FILE}"],
                    "ports": [{"name": INGEST_PORT_NAME, "protocol": "UDP", "containerPort": INGEST_PORT},
                              {"name": SCRAPE_PORT_NAME, "protocol": "TCP", "containerPort": SCRAPE_PORT}],
                    "livenessProbe": _probe(),
                    "readinessProbe": _probe(),
                    "resources": resources,
                    "securityContext": pod_security.container_context(),
                    "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
                }],
                "volumes": [{"name": "config", "configMap": {"name": NAME}}],
            },
        },
    }


def service_spec() -> dict:
    # Each port its own target port: the VPC CNI's policies match the container port
    # (tests/test_network_policies.py).
    return {
        "type": "ClusterIP",
        "selector": dict(LABELS),
        "ports": [{"name": INGEST_PORT_NAME, "protocol": "UDP", "port": INGEST_PORT, "targetPort": INGEST_PORT},
                  {"name": SCRAPE_PORT_NAME, "protocol": "TCP", "port": SCRAPE_PORT, "targetPort": SCRAPE_PORT}],
    }
