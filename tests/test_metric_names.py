"""Every metric an alert rule or a dashboard panel reads is produced by something that runs.

Airflow names come from Airflow 3.1's own metric list (tests/data/airflow-3.1-metrics.txt,
copied from its metrics docs) sent through the StatsD mapping exactly as statsd_exporter
would map them; the other names from the collector's keep-lists, which name what each
exporter exposes. A rule or panel reading a name nothing produces would be silently empty
(a stale-heartbeat alert that can never fire).
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest
import yaml

from airflow_eks import alert_rules, helm_values, scrape, statsd_mapping
from tests import charts
from tests.promql import metric_names
from tests.test_rendered_airflow import airflow_objects

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_METRICS = ROOT / "tests" / "data" / "airflow-3.1-metrics.txt"
DASHBOARD = ROOT / "dashboards" / "airflow-eks.json"
# One example value per placeholder of the metric list; task ids inside a TaskGroup carry a dot.
EXAMPLES = {
    "job_name": ["SchedulerJob"], "job_id": ["42"], "dag_id": ["etl"], "task_id": ["load", "group.load"],
    "return_code": ["0"], "operator_name": ["PythonOperator"], "state": ["success", "failed"],
    "dag_file": ["etl_dag"], "executor_class_name": ["KubernetesExecutor"], "pool_name": ["default_pool"],
    "hostname": ["airflow-triggerer-0"], "queue": ["default"],
}


def airflow_metrics() -> list[tuple[str, str]]:
    """(kind, StatsD name) for every Airflow 3.1 metric, placeholders filled in."""
    found = []
    for line in AIRFLOW_METRICS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, template = line.split()
        names = [template]
        for placeholder, values in EXAMPLES.items():
            names = [n.replace(f"<{placeholder}>", v) for n in names for v in values]
        assert "<" not in names[0], f"no example for a placeholder in {template}"
        found += [(kind, f"{statsd_mapping.PREFIX}.{name}") for name in names]
    return found


def produced_by_airflow() -> dict[str, set[frozenset]]:
    """Prometheus name -> the label sets Airflow 3.1's metrics get through the mapping."""
    produced: dict[str, set[frozenset]] = {}
    for _kind, name in airflow_metrics():
        mapped = statsd_mapping.match(name)
        if mapped:
            rule, labels = mapped
            for series in statsd_mapping.series_names(rule):
                produced.setdefault(series, set()).add(frozenset(labels))
    return produced


def produced_names() -> set[str]:
    return (set(produced_by_airflow()) | set(scrape.PGBOUNCER_METRICS) | set(scrape.AUTOSCALER_METRICS)
            | set(scrape.KUBELET_METRICS) | set(scrape.CADVISOR_METRICS) | {"up"})


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


RULE_EXPRS = [r.expr for r in alert_rules.rules(system_min_nodes=2)]


def test_the_metric_list_is_airflow_3_1s_and_complete_enough_to_mean_something():
    names = [n for _k, n in airflow_metrics()]
    assert len(names) > 100
    for expected in ("airflow.scheduler_heartbeat", "airflow.dag_processing.import_errors",
                     "airflow.ti.finish.etl.load.failed", "airflow.executor.open_slots"):
        assert expected in names


@pytest.mark.parametrize("expr", RULE_EXPRS + dashboard_exprs())
def test_every_metric_a_rule_or_panel_reads_is_produced(expr):
    names = metric_names(expr)
    assert names, expr
    assert names <= produced_names(), sorted(names - produced_names())


def test_labels_the_rules_and_panels_select_on_exist():
    produced = produced_by_airflow()
    assert {"dag_id", "task_id", "state"} <= set().union(*produced["airflow_ti_finish_total"])
    assert {"dag_id"} <= set().union(*produced["airflow_task_duration_seconds"])
    assert {"state", "dag_id"} <= set().union(*produced["airflow_dagrun_duration_seconds"])
    assert {"dag_file"} <= set().union(*produced["airflow_dag_processing_last_duration_seconds"])


def test_a_task_inside_a_task_group_keeps_its_whole_id():
    rule, labels = statsd_mapping.match("airflow.ti.finish.etl.group.load.up_for_retry")
    assert rule.name == "airflow_ti_finish_total"
    assert labels == {"dag_id": "etl", "task_id": "group.load", "state": "up_for_retry"}


def test_every_mapping_rule_maps_a_real_airflow_metric_of_its_kind():
    used = {}
    for kind, name in airflow_metrics():
        mapped = statsd_mapping.match(name)
        if mapped:
            used.setdefault(mapped[0], set()).add(kind)
    dead = [r.match for r in statsd_mapping.RULES if r not in used]
    assert dead == []
    assert {r.match: (r.kind, used[r]) for r in statsd_mapping.RULES if used[r] != {r.kind}} == {}


def test_what_is_not_mapped_is_dropped_not_kept_with_a_flat_name():
    mappings = statsd_mapping.override_mappings()
    assert mappings[-1] == {"match": ".", "match_type": "regex", "action": "drop", "name": "dropped"}
    assert statsd_mapping.match("airflow.ti.queued.default.etl.load") is None
    assert statsd_mapping.match("airflow.some_new_metric") is None


def test_counters_end_in_total_and_timers_are_in_seconds():
    for rule in statsd_mapping.RULES:
        assert rule.name.endswith("_total") == (rule.kind == "counter"), rule.name
        if rule.kind == "timer":
            assert rule.name.endswith("_seconds"), rule.name


def test_the_release_carries_the_mapping_and_restarts_the_exporter_when_it_changes(programs):
    objects = airflow_objects(programs["prod"])
    [configmap] = [o for o in charts.of_kind(objects, "ConfigMap") if o["metadata"]["name"].endswith("statsd")]
    rendered = yaml.safe_load(configmap["data"]["mappings.yml"])
    assert rendered["mappings"] == statsd_mapping.override_mappings()
    [deployment] = [o for o in charts.of_kind(objects, "Deployment") if o["metadata"]["name"].endswith("statsd")]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations[helm_values.STATSD_MAPPING_CHECKSUM_ANNOTATION] == statsd_mapping.mappings_sha256()


def test_the_checksum_follows_the_mapping(monkeypatch):
    before = statsd_mapping.mappings_sha256()
    monkeypatch.setattr(statsd_mapping, "RULES", statsd_mapping.RULES[:-1])
    assert statsd_mapping.mappings_sha256() != before


def test_rules_sharing_a_name_agree_on_its_kind_and_label_names():
    """statsd_exporter refuses a second series of a name with other label names or another type."""
    seen: dict[str, tuple[str, frozenset]] = {}
    for rule in statsd_mapping.RULES:
        shape = (rule.kind, frozenset(key for key, _ in rule.labels))
        assert seen.setdefault(rule.name, shape) == shape, rule.name
    assert len(seen) < len(statsd_mapping.RULES)  # some names are shared (executor gauges)


def test_airflow_sends_statsd_with_the_prefix_the_mapping_matches(programs):
    [configmap] = [o for o in charts.of_kind(airflow_objects(programs["prod"]), "ConfigMap")
                   if "airflow.cfg" in o.get("data", {})]
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(configmap["data"]["airflow.cfg"])
    assert cfg["metrics"]["statsd_on"] == "True"
    assert cfg["metrics"]["statsd_prefix"] == statsd_mapping.PREFIX
    assert cfg["metrics"]["statsd_host"].endswith("-statsd")
