"""The Grafana dashboard in dashboards/: importable JSON with the panels the issue asks for,
every query against the data source variable (metric names: tests/test_metric_names.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_eks import scrape
from tests import promql
from tests.promql import metric_names

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboards" / "airflow-eks.json"


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries(panel: dict) -> list[str]:
    return [t["expr"] for t in panel.get("targets", [])]


def test_it_is_an_importable_dashboard():
    d = dashboard()
    assert d["uid"] and d["title"] and isinstance(d["schemaVersion"], int)
    [variable] = d["templating"]["list"]
    assert variable == {**variable, "type": "datasource", "query": "prometheus", "name": "datasource"}
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))


def test_the_data_source_chosen_at_import_is_the_one_the_panels_query():
    """Grafana's import form asks for each `__inputs` entry and substitutes `${NAME}` wherever it
    appears; an input nothing references is a choice that changes nothing (the variable would
    fall back to the default Prometheus data source, not the one picked)."""
    d = dashboard()
    text = json.dumps({k: v for k, v in d.items() if k != "__inputs"})
    for entry in d["__inputs"]:
        assert "${" + entry["name"] + "}" in text, entry["name"]
    [variable] = d["templating"]["list"]
    assert variable["current"]["value"] == "${" + d["__inputs"][0]["name"] + "}"


def test_every_query_panel_uses_the_data_source_variable_and_has_distinct_ref_ids():
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert all(t["datasource"] == panel["datasource"] and t["expr"] for t in panel["targets"])


def test_panels_fit_the_24_column_grid_without_overlapping():
    cells = set()
    for panel in dashboard()["panels"]:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, panel["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, panel["title"]
        cells |= mine


def test_it_shows_what_the_issue_lists():
    read = {name for p in dashboard()["panels"] for q in queries(p) for name in metric_names(q)}
    wanted = {
        "scheduler loop and heartbeat": {"airflow_scheduler_loop_duration_seconds",
                                         "airflow_scheduler_heartbeat_total"},
        "DAG parsing": {"airflow_dag_processing_import_errors", "airflow_dag_processing_total_parse_time_seconds"},
        "task outcomes and durations": {"airflow_ti_finish_total", "airflow_task_duration_seconds"},
        "executor open slots and pending pods": {"airflow_executor_open_slots",
                                                 "cluster_autoscaler_unschedulable_pods_count"},
        "PgBouncer pools": {"pgbouncer_exporter_pools_waiting_clients", "pgbouncer_exporter_database_pool_size"},
    }
    assert {topic: sorted(names - read) for topic, names in wanted.items() if names - read} == {}
    # Spot nodes: nodes counted by the pool and capacity labels the kubelet job adds.
    assert any('job="kubelet"' in q and "capacity_type" in q for p in dashboard()["panels"] for q in queries(p))


def test_label_selectors_use_the_collector_s_jobs():
    jobs = {scrape.JOB_KUBELET, scrape.JOB_CADVISOR, scrape.JOB_STATSD, scrape.JOB_PGBOUNCER,
            scrape.JOB_AUTOSCALER, scrape.JOB_APISERVER}
    for panel in dashboard()["panels"]:
        for q in queries(panel):
            for part in q.split('job="')[1:]:
                assert part.split('"')[0] in jobs, (panel["title"], q)


# --- the panels a cluster feeds: promtool, with series shaped as their exporters expose them --
#
# Every other query runs against the runtime tier's real Prometheus and must return data there
# (runtime/tests/test_metrics.py). These read the kubelets and the Cluster Autoscaler, which
# only a cluster has: promtool evaluates each on series shaped like the exporter's own (gauges
# from the start, the autoscaler's failed_scale_ups_total created by its first failure, per
# reason; scaled_up_nodes_total from 0), and the expected answer is worked out by hand.
KUBELET_UP = [
    {"series": 'up{job="kubelet", node="a", pool="system", capacity_type="ON_DEMAND"}', "values": "1x10"},
    {"series": 'up{job="kubelet", node="b", pool="system", capacity_type="ON_DEMAND"}', "values": "1x10"},
    {"series": 'up{job="kubelet", node="c", pool="tasks", capacity_type="SPOT"}', "values": "1x10"},
]
CLUSTER_PANEL_CASES = {
    "max(cluster_autoscaler_unschedulable_pods_count)": (
        [{"series": 'cluster_autoscaler_unschedulable_pods_count{job="cluster-autoscaler"}', "values": "0x5 3x5"}],
        "8m", [("{}", 3)]),
    'count by (pool, capacity_type) (up{job="kubelet"} == 1)': (
        KUBELET_UP, "8m",
        [('{pool="system", capacity_type="ON_DEMAND"}', 2), ('{pool="tasks", capacity_type="SPOT"}', 1)]),
    "sum(increase(cluster_autoscaler_scaled_up_nodes_total[1h]))": (
        [{"series": 'cluster_autoscaler_scaled_up_nodes_total{job="cluster-autoscaler"}', "values": "0x30 2x30"}],
        "60m", [("{}", 2)]),
    "sum(((increase(cluster_autoscaler_failed_scale_ups_total[1h]) and cluster_autoscaler_failed_scale_ups_total "
    "offset 1h) or (cluster_autoscaler_failed_scale_ups_total unless cluster_autoscaler_failed_scale_ups_total "
    "offset 1h)))": (
        [{"series": 'cluster_autoscaler_failed_scale_ups_total{job="cluster-autoscaler", reason="cloudProviderError"}',
          "values": "_x30 1x30"}], "60m", [("{}", 1)]),
    'sum by (pod) (rate(container_cpu_usage_seconds_total{job="kubelet", namespace="airflow"}[5m]))': (
        [{"series": 'container_cpu_usage_seconds_total{job="kubelet", namespace="airflow", pod="airflow-scheduler-0", '
                    'container="scheduler"}', "values": "0+30x10"}], "8m", [('{pod="airflow-scheduler-0"}', 0.5)]),
    'sum by (pod) (container_memory_working_set_bytes{job="kubelet", namespace="airflow"}) / 2^30': (
        [{"series": 'container_memory_working_set_bytes{job="kubelet", namespace="airflow", pod="airflow-scheduler-0", '
                    'container="scheduler"}', "values": "1073741824x10"}], "8m", [('{pod="airflow-scheduler-0"}', 1)]),
}


def test_every_cluster_only_query_has_a_promtool_case():
    cluster = {q for p in dashboard()["panels"] for q in queries(p) if promql.cluster_only(q)}
    assert cluster == set(CLUSTER_PANEL_CASES)


@pytest.mark.parametrize("expr", list(CLUSTER_PANEL_CASES))
def test_cluster_panel_query_answers_on_exporter_shaped_series(expr, tmp_path):
    series, eval_time, expected = CLUSTER_PANEL_CASES[expr]
    result = promql.run_rule_tests(tmp_path, "groups: []\n", {"input_series": series, "promql_expr_test": [{
        "expr": expr, "eval_time": eval_time,
        "exp_samples": [{"labels": labels, "value": value} for labels, value in expected]}]})
    assert result.returncode == 0, result.stdout + result.stderr
