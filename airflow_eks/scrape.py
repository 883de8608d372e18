"""What the AWS-managed collector scrapes, as its Prometheus configuration, and how many series
that makes (the cost estimate's input).

The managed collector accepts only `kubernetes_sd_config` discovery, reaches targets by IP
from its ENIs in the cluster's subnets, knows one host name (`kubernetes.default.svc`) and one
credential (its service-account token), and refuses intervals under 30 s (AMP user guide,
"Scraper configuration"). So:

- Airflow's StatsD exporter, the PgBouncer exporter sidecar and the Cluster Autoscaler are
  scraped directly at their pod IPs, found through their Services' endpoints;
- kubelets (resource metrics and cAdvisor) and the API server are scraped through the API
  server, which proxies to each node: no route from the collector to the nodes' port 10250.

Each job keeps only what the dashboard and the alerts read (metric_relabel_configs), so the
series count and the bill stay predictable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from airflow_eks import names, pod_security

# The AMP collector's floor (AMP user guide); above 2 minutes the rules' 10-minute windows hold
# too few samples for rate() and the dashboards turn into dots.
INTERVAL_SECONDS = (30, 120)
TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
API_SERVER = "kubernetes.default.svc:443"

STATSD_PORT = pod_security.STATSD_SCRAPE_PORT        # Service port name statsd-scrape
PGBOUNCER_PORT = pod_security.PGBOUNCER_SCRAPE_PORT  # Service port name pgb-metrics
AUTOSCALER_PORT = 8085  # cluster-autoscaler chart service.servicePort, port name http
# The `component` labels of the StatsD exporters' Services: the chart's, for Airflow's
# components, and the task pods' own.
STATSD_COMPONENTS = ("statsd", pod_security.TASK_STATSD_COMPONENT)
# Ports the collector's ENIs open to pods (and to the API server's ENIs, on 443).
TARGET_PORTS = (STATSD_PORT, PGBOUNCER_PORT, AUTOSCALER_PORT)

# Job names: the alert rules and the dashboard select on them.
JOB_STATSD = "airflow-statsd"
JOB_PGBOUNCER = "pgbouncer"
JOB_AUTOSCALER = "cluster-autoscaler"
JOB_KUBELET = "kubelet"
JOB_CADVISOR = "cadvisor"
JOB_APISERVER = "apiserver"

# Metrics the PgBouncer exporter sidecar exposes (the chart's airflow-pgbouncer-exporter image
# builds jbub/pgbouncer_exporter; names from its internal/collector/metrics.go).
PGBOUNCER_METRICS = (
    "pgbouncer_exporter_pools_active_clients",
    "pgbouncer_exporter_pools_waiting_clients",
    "pgbouncer_exporter_pools_active_server",
    "pgbouncer_exporter_pools_idle_server",
    "pgbouncer_exporter_pools_max_wait",
    "pgbouncer_exporter_database_pool_size",
    "pgbouncer_exporter_database_current_connections",
)
AUTOSCALER_METRICS = (
    "cluster_autoscaler_unschedulable_pods_count",
    "cluster_autoscaler_nodes_count",
    "cluster_autoscaler_failed_scale_ups_total",
    "cluster_autoscaler_scaled_up_nodes_total",
)
KUBELET_METRICS = ("node_cpu_usage_seconds_total", "node_memory_working_set_bytes",
                   "container_cpu_usage_seconds_total", "container_memory_working_set_bytes")
# Kept with the labels name/namespace/pod untouched: AWS split cost allocation reads exactly these.
CADVISOR_METRICS = ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes")
# Only the error responses: the full request counter is several hundred series.
APISERVER_ERRORS = ("apiserver_request_total", "5..")


def _keep_names(metrics: tuple[str, ...]) -> dict:
    return {"source_labels": ["__name__"], "action": "keep", "regex": "|".join(metrics)}


def _endpoints_job(job: str, namespace: str, service_selector: tuple[str, str], port_name: str,
                   metrics: tuple[str, ...] | None = None) -> dict:
    """Pods behind one Service port, scraped at their IPs."""
    label, value = service_selector
    config: dict = {
        "job_name": job,
        "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [namespace]}}],
        "relabel_configs": [
            {"source_labels": [label, "__meta_kubernetes_endpoint_port_name"], "action": "keep",
             "regex": f"{value};{port_name}"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }
    if metrics:
        config["metric_relabel_configs"] = [_keep_names(metrics)]
    return config


def _node_proxy_job(job: str, path: str, metrics: tuple[str, ...]) -> dict:
    """Every node's kubelet through the API server's node proxy (nodes/proxy RBAC)."""
    pool = "__meta_kubernetes_node_label_" + re.sub(r"[^A-Za-z0-9_]", "_", names.POOL_LABEL)
    return {
        "job_name": job,
        "scheme": "https",
        "authorization": {"type": "Bearer", "credentials_file": TOKEN},
        "kubernetes_sd_configs": [{"role": "node"}],
        "relabel_configs": [
            {"target_label": "__address__", "replacement": API_SERVER},
            {"source_labels": ["__meta_kubernetes_node_name"], "regex": "(.+)",
             "target_label": "__metrics_path__", "replacement": f"/api/v1/nodes/$1/proxy/metrics/{path}"},
            {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"},
            {"source_labels": [pool], "target_label": "pool"},
            {"source_labels": ["__meta_kubernetes_node_label_eks_amazonaws_com_capacityType"],
             "target_label": "capacity_type"},
        ],
        "metric_relabel_configs": [_keep_names(metrics)],
    }


def scrape_configuration(interval: str, *, cluster_name: str) -> str:
    """The collector's Prometheus configuration (YAML)."""
    airflow = names.AIRFLOW_NAMESPACE
    component = "__meta_kubernetes_service_label_component"
    config = {
        "global": {"scrape_interval": interval, "external_labels": {"cluster": cluster_name}},
        "scrape_configs": [
            # Both StatsD exporters, the components' (the chart's) and the task pods' own
            # (airflow_eks/metrics/task_statsd.py), under one job: rules and panels sum them.
            _endpoints_job(JOB_STATSD, airflow, (component, f"({'|'.join(STATSD_COMPONENTS)})"), "statsd-scrape"),
            _endpoints_job(JOB_PGBOUNCER, airflow, (component, "pgbouncer"), "pgb-metrics", PGBOUNCER_METRICS),
            _endpoints_job(JOB_AUTOSCALER, names.KUBE_SYSTEM,
                           ("__meta_kubernetes_service_name", names.CLUSTER_AUTOSCALER_SERVICE), "http",
                           AUTOSCALER_METRICS),
            _node_proxy_job(JOB_KUBELET, "resource", KUBELET_METRICS),
            _node_proxy_job(JOB_CADVISOR, "cadvisor", CADVISOR_METRICS),
            {
                "job_name": JOB_APISERVER,
                "scheme": "https",
                "authorization": {"type": "Bearer", "credentials_file": TOKEN},
                "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": ["default"]}}],
                "relabel_configs": [{
                    "source_labels": ["__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name"],
                    "action": "keep", "regex": "kubernetes;https"}],
                "metric_relabel_configs": [{"source_labels": ["__name__", "code"], "action": "keep",
                                            "regex": ";".join(APISERVER_ERRORS)}],
            },
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


# --- how many series, for the cost estimate --------------------------------------------

@dataclass(frozen=True)
class Workload:
    """What the series count scales with. Defaults: a modest production Airflow."""

    dags: int = 50
    tasks_per_dag: int = 8
    system_nodes: int = 2
    task_nodes: int = 0        # idle: the spot pool is at zero
    pods: int = 30             # system pods: Airflow, PgBouncer, kube-system
    pgbouncer_pods: int = 2


def series_estimate(w: Workload = Workload()) -> dict[str, int]:
    """Active series per job, from the mapping and the keep-lists above (not measured).

    Airflow (statsd_mapping): per task, ti_finish in 3 states (success, failed, and deferred or
    up_for_retry); per DAG, ti_start 1 + task duration summary 5 + DAG run duration in 2
    states x 5 + the seconds since its file was parsed 1 = 17; 35 fixed series (heartbeats,
    scheduler loop, executor, one pool, time from scheduled to queued, attempts, triggerer).
    tests/test_scrape.py checks this against every name the pinned Airflow was seen sending
    (tests/data/airflow-statsd-metrics.txt) through the mapping. PgBouncer:
    7 metrics x one pool per pod. Kubelet: 2 node metrics per node + 2 per container;
    cAdvisor: the same 2 per container and per pod cgroup. Plus `up` and four scrape_*
    series per target.
    """
    tasks = w.dags * w.tasks_per_dag
    nodes = w.system_nodes + w.task_nodes
    # both StatsD exporters, pgbouncer, autoscaler, kubelet+cadvisor, apiserver
    targets = len(STATSD_COMPONENTS) + w.pgbouncer_pods + 1 + 2 * nodes + 2
    series = {
        JOB_STATSD: 3 * tasks + 17 * w.dags + 35,
        JOB_PGBOUNCER: len(PGBOUNCER_METRICS) * w.pgbouncer_pods,
        JOB_AUTOSCALER: 2 * len(AUTOSCALER_METRICS),
        JOB_KUBELET: 2 * nodes + 2 * w.pods,
        JOB_CADVISOR: 2 * (w.pods + w.pods),
        JOB_APISERVER: 0,
        "scrape health (up, scrape_*)": 5 * targets,
    }
    return series


def samples_per_month(series: int, interval_seconds: int, hours: float = 730) -> float:
    return series * hours * 3600 / interval_seconds
