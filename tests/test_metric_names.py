"""Every metric an alert rule or a dashboard panel reads is produced by something that runs.

Airflow's names come from what the pinned Airflow really sent in the runtime tier
(tests/data/airflow-statsd-metrics.txt, generated from its capture), sent through the mapping
the chart renders by the port of statsd_exporter that upstream's own test vectors check
(tests/airflow_statsd.py); the other names from the collector's keep-lists, which name what
each exporter exposes. A rule or panel reading a name nothing produces would be silently
empty (a stale-heartbeat alert that can never fire).
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest
import yaml

from airflow_eks import alert_rules, helm_values, scrape, statsd_mapping
from airflow_eks.offline import loader
from tests import airflow_statsd, charts, metric_list, test_runtime_pins
from tests.promql import metric_names
from tests.statsd_exporter.mapper import MetricMapper
from tests.test_rendered_airflow import airflow_objects

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboards" / "airflow-eks.json"


@pytest.fixture(scope="module")
def mappings_yml(programs) -> str:
    return airflow_statsd.rendered_mappings(airflow_objects(programs["prod"]))


@pytest.fixture(scope="module")
def produced_by_airflow(mappings_yml) -> dict[str, set[frozenset[str]]]:
    return airflow_statsd.produced(mappings_yml)


def produced_names(produced_by_airflow) -> set[str]:
    return (set(produced_by_airflow) | set(scrape.PGBOUNCER_METRICS) | set(scrape.AUTOSCALER_METRICS)
            | set(scrape.KUBELET_METRICS) | set(scrape.CADVISOR_METRICS) | {"up"})


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


RULE_EXPRS = [r.expr for r in alert_rules.rules(system_min_nodes=2)]


def runtime_airflow_version() -> str:
    return test_runtime_pins.pinned(ROOT / "runtime" / "constraints-airflow.txt")


def test_the_metric_list_is_the_pinned_airflows():
    """The list says which Airflow sent it: the one the runtime tier installs and the stack's
    default airflowVersion. A version change without `make airflow-metrics` fails here."""
    listed = metric_list.load()
    assert listed.version == runtime_airflow_version()
    assert listed.version == str(loader.project_file()["config"]["airflowVersion"]["default"])
    names = listed.templates
    assert len(names) > 40
    for expected in ("scheduler_heartbeat", "dag_processing.import_errors", "ti.finish.<dag_id>.<task_id>.failed",
                     "ti_failures", "ti_successes", "executor.open_slots"):
        assert expected in names


def test_the_list_is_generated_not_written():
    text = metric_list.LIST.read_text()
    assert metric_list.REGENERATE in text
    assert text == metric_list.render(metric_list.load().version, set(metric_list.load().entries))


@pytest.mark.parametrize("expr", RULE_EXPRS + dashboard_exprs())
def test_every_metric_a_rule_or_panel_reads_is_produced(expr, produced_by_airflow):
    names = metric_names(expr)
    assert names, expr
    assert names <= produced_names(produced_by_airflow), sorted(names - produced_names(produced_by_airflow))


def test_nothing_reads_what_airflow_3_does_not_send_through_the_execution_api():
    """Airflow sends no time-in-queue for tasks run through the Execution API, and 3.1 no
    per-file parse duration: the rules and panels once read both and were always empty."""
    for expr in RULE_EXPRS + dashboard_exprs():
        assert "queued_duration" not in expr and "last_duration" not in expr, expr


def test_labels_the_rules_and_panels_select_on_exist(produced_by_airflow):
    produced = produced_by_airflow
    assert {"dag_id", "task_id", "state"} <= set().union(*produced["airflow_ti_finish_total"])
    assert {"dag_id"} <= set().union(*produced["airflow_task_duration_seconds"])
    assert {"state", "dag_id"} <= set().union(*produced["airflow_dagrun_duration_seconds"])
    assert {"dag_file"} <= set().union(*produced["airflow_dag_processing_last_run_seconds_ago"])
    assert {"pool"} <= set().union(*produced["airflow_pool_queued_slots"])


def test_nothing_is_counted_twice(mappings_yml):
    """Airflow 3.3 sends several gauges twice (with and without ids in the name): no two StatsD
    names of one task, DAG, pool, ... may land in one series, or sums double. (Different tasks
    do share their DAG's series, by design: one example task here.)"""
    mapper = MetricMapper(mappings_yml)
    series: dict[tuple, list[str]] = {}
    for kind, name in airflow_statsd.statsd_names({**airflow_statsd.EXAMPLES, "task_id": ["load"]}):
        result = mapper.get_mapping(name, airflow_statsd.EVENT_TYPE[kind])
        if result and result.action != "drop":
            series.setdefault((result.name, tuple(sorted(result.labels.items()))), []).append(name)
    assert {k: v for k, v in series.items() if len(v) > 1} == {}


@pytest.mark.parametrize("task_id", ["group.load", "group__load"])  # as 3.1 and 3.3 send it
def test_a_task_inside_a_task_group_keeps_its_whole_id(mappings_yml, task_id):
    result = MetricMapper(mappings_yml).get_mapping(f"airflow.ti.finish.etl.{task_id}.up_for_retry", "counter")
    assert result.name == "airflow_ti_finish_total"
    assert result.labels == {"dag_id": "etl", "task_id": task_id, "state": "up_for_retry"}


def test_every_mapping_rule_maps_a_real_airflow_metric_of_its_kind(mappings_yml):
    """A rule for a name the pinned Airflow never sent (or one statsd_exporter's matching never
    reaches) is dead weight in the allowlist; a counter rule meeting a gauge maps the wrong type."""
    mapper = MetricMapper(mappings_yml)
    used: dict[str, set[str]] = {}
    for kind, name in airflow_statsd.statsd_names():
        result = mapper.get_mapping(name, airflow_statsd.EVENT_TYPE[kind])
        if result and result.action != "drop":
            used.setdefault(result.mapping.match, set()).add(kind)
    rules = {m["match"]: m for m in statsd_mapping.override_mappings() if m.get("action") != "drop"}
    assert sorted(set(rules) - set(used)) == []
    kinds = {rule.as_mapping()["match"]: rule.kind for rule in statsd_mapping.RULES}
    assert {match: (kinds[match], seen) for match, seen in used.items() if seen != {kinds[match]}} == {}


def test_what_is_not_mapped_is_dropped_not_kept_with_a_flat_name(mappings_yml):
    mappings = statsd_mapping.override_mappings()
    assert mappings[-1] == {"match": ".", "match_type": "regex", "action": "drop", "name": "dropped"}
    mapper = MetricMapper(mappings_yml)
    for name in ("airflow.pool.open_slots", "airflow.executor.open_slots.KubernetesExecutor", "airflow.new_metric"):
        assert mapper.get_mapping(name, "gauge").action == "drop", name


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
    """statsd_exporter refuses a second series of a name with another type."""
    seen: dict[str, tuple[str, frozenset]] = {}
    for rule in statsd_mapping.RULES:
        shape = (rule.kind, frozenset(key for key, _ in rule.labels))
        assert seen.setdefault(rule.name, shape) == shape, rule.name


def test_airflow_sends_statsd_with_the_prefix_the_mapping_matches(programs):
    [configmap] = [o for o in charts.of_kind(airflow_objects(programs["prod"]), "ConfigMap")
                   if "airflow.cfg" in o.get("data", {})]
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(configmap["data"]["airflow.cfg"])
    assert cfg["metrics"]["statsd_on"] == "True"
    assert cfg["metrics"]["statsd_prefix"] + "." == metric_list.PREFIX == statsd_mapping.PREFIX + "."
    assert cfg["metrics"]["statsd_host"].endswith("-statsd")


def test_the_programs_own_matcher_agrees_with_statsd_exporters(mappings_yml):
    """statsd_mapping.match (which picks the task pods' rules) decides as the port of
    statsd_exporter's mapper does, on every name the pinned Airflow was seen sending."""
    mapper = MetricMapper(mappings_yml)
    for kind, name in airflow_statsd.statsd_names():
        theirs = mapper.get_mapping(name, airflow_statsd.EVENT_TYPE[kind])
        ours = statsd_mapping.match(name)
        if theirs.action == "drop":
            assert ours is None, name
        else:
            assert ours is not None and (ours[0].name, ours[1]) == (theirs.name, theirs.labels), name
