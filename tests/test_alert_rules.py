"""Alert rules: valid Prometheus rules (promtool), each with a runbook in docs/metrics.md, and the
important ones unit-tested with promtool's rule tests (series in, alerts out)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from airflow_eks import alert_rules, alerting, helm_values, scrape
from tests import promql
from tests.promql import amtool, check_rules

ROOT = Path(__file__).resolve().parent.parent
RULES = alert_rules.rules(system_min_nodes=2)
REQUIRED = {"AirflowSchedulerHeartbeatStale", "AirflowDagImportErrors", "AirflowTaskFailureRateHigh",
            "AirflowTasksQueuedTooLong", "PgBouncerClientsWaiting", "KubernetesApiServerUnavailable",
            "SystemNodeNotReady"}


def github_anchors(markdown: str) -> set[str]:
    """Heading anchors as GitHub renders them (lower case, punctuation dropped, spaces to -)."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


def test_the_issue_s_alerts_are_all_there_and_named_once():
    names = [r.alert for r in RULES]
    assert len(names) == len(set(names)) >= 6
    assert set(names) >= REQUIRED


def test_every_rule_has_a_severity_a_summary_and_a_runbook_section_that_exists():
    anchors = github_anchors((ROOT / "docs" / "metrics.md").read_text())
    for rule in yaml.safe_load(alert_rules.rules_yaml(system_min_nodes=2))["groups"][0]["rules"]:
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"]
        path, anchor = rule["annotations"]["runbook"].split("#")
        assert path == "docs/metrics.md" and anchor in anchors, rule["alert"]


def test_promtool_accepts_the_rules(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(alert_rules.rules_yaml(system_min_nodes=2))
    result = check_rules(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path):
    """The check above can fail: a syntax error is caught."""
    path = tmp_path / "rules.yaml"
    path.write_text(alert_rules.rules_yaml(system_min_nodes=2).replace("sum(rate(", "sum(rate((", 1))
    assert check_rules(path).returncode != 0


def test_amtool_accepts_the_alert_manager_definition(tmp_path):
    definition = yaml.safe_load(alerting.alertmanager_definition(
        topic_arn="arn:aws:sns:us-east-1:123456789012:alerts", region="us-east-1"))
    assert set(definition) == {"alertmanager_config"}  # AMP's wrapper, nothing else
    path = tmp_path / "alertmanager.yaml"
    path.write_text(definition["alertmanager_config"])
    result = subprocess.run([amtool(), "check-config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    path.write_text(definition["alertmanager_config"].replace("receiver: sns", "receiver: nobody"))
    assert subprocess.run([amtool(), "check-config", str(path)], capture_output=True, check=False).returncode != 0


def test_the_queued_alert_fires_before_airflow_gives_up_on_the_task():
    assert alert_rules.SPOT_SCALE_UP_ALLOWANCE_SECONDS < helm_values.TASK_QUEUED_TIMEOUT_SECONDS


def test_the_node_alert_follows_the_system_pool_minimum():
    [rule] = [r for r in alert_rules.rules(system_min_nodes=3) if r.alert == "SystemNodeNotReady"]
    assert rule.expr.endswith("< 3")


def test_rules_select_the_collector_s_job_names():
    text = alert_rules.rules_yaml(system_min_nodes=2)
    for job in re.findall(r'job=~?\\?"([^"\\]+)', text):
        for name in job.split("|"):
            assert name in (scrape.JOB_STATSD, scrape.JOB_PGBOUNCER, scrape.JOB_AUTOSCALER, scrape.JOB_KUBELET,
                            scrape.JOB_CADVISOR, scrape.JOB_APISERVER), name


# --- promtool rule unit tests: given these series, exactly these alerts fire ---------------
#
# Input series start the way the real exporters start them: statsd_exporter creates a series at
# its first event (absent before, `_`), a counter already at its first increment (never a 0
# first); a scrape target's `up` exists from the collector's first attempt; a node that is gone
# is not discovered (its kubelet's series end). The cluster-only alerts (API server, system
# nodes) are proven here only; the others are also provoked with the real Airflow in the
# runtime tier (runtime/tests/test_metrics.py). Times are production's: promtool's clock is
# virtual.

def _unit_test(tmp_path: Path, series: list[dict], checks: list[tuple[str, str, list[dict]]],
               exprs: list[dict] | None = None) -> None:
    test: dict = {"input_series": series,
                  "alert_rule_test": [{"eval_time": t, "alertname": a, "exp_alerts": f} for t, a, f in checks]}
    if exprs:
        test["promql_expr_test"] = exprs
    result = promql.run_rule_tests(tmp_path, alert_rules.rules_yaml(system_min_nodes=2), test)
    assert result.returncode == 0, result.stdout + result.stderr


def _fired(rule_name: str, value: str = "", **labels: str) -> dict:
    [rule] = [r for r in RULES if r.alert == rule_name]
    summary = rule.summary.replace("{{ $labels.job }}", labels.get("job", "")).replace(
        "{{ $labels.pod }}", labels.get("pod", "")).replace("{{ $value }}", value)
    return {"exp_labels": {"severity": rule.severity, **labels},
            "exp_annotations": {"summary": summary, "runbook": rule.runbook}}


HEARTBEAT = "airflow_scheduler_heartbeat_total"
FAILURES, SUCCESSES = "airflow_ti_failures_total", "airflow_ti_successes_total"
QUEUED, STARTS = 'airflow_pool_queued_slots{pool="default_pool"}', 'airflow_ti_start_total{dag_id="etl"}'
STATSD_UP = {"series": 'up{job="airflow-statsd"}', "values": "1x60"}

# (alert, case, input series, [(eval time, fires?)], labels (and the summary's $value) when it fires)
CASES = [
    ("AirflowSchedulerHeartbeatStale", "stops after running",
     [{"series": HEARTBEAT, "values": "_x2 12+12x20 252x30"}], [("15m", False), ("40m", True)], {}),
    ("AirflowSchedulerHeartbeatStale", "never heartbeats after the exporter starts",
     [STATSD_UP], [("3m", False), ("10m", True)], {}),
    ("AirflowSchedulerHeartbeatStale", "keeps heartbeating",
     [{"series": HEARTBEAT, "values": "_x2 12+12x50"}], [("40m", False)], {}),
    ("AirflowDagImportErrors", "a file breaks",
     [{"series": "airflow_dag_processing_import_errors", "values": "_x2 0x8 1x20"}], [("8m", False), ("25m", True)],
     {"value": "1"}),
    # Ten distinct tasks fail once each, in one scrape: the counter is born at 10 and stays
    # there, and increase() alone reads 0 (promql_expr_test below); successes ~1 a minute.
    ("AirflowTaskFailureRateHigh", "first failures of ten distinct tasks",
     [{"series": SUCCESSES, "values": "1+1x60"}, {"series": FAILURES, "values": "_x20 10x40"}],
     [("25m", False), ("35m", True)], {}),
    ("AirflowTaskFailureRateHigh", "one failure is not a rate",
     [{"series": SUCCESSES, "values": "1+0x60"}, {"series": FAILURES, "values": "_x20 1x40"}], [("35m", False)], {}),
    ("AirflowTaskFailureRateHigh", "failures and no success ever recorded",
     [{"series": FAILURES, "values": "_x20 3x40"}], [("35m", True)], {}),
    ("AirflowTaskFailureRateHigh", "failures below the ratio",
     [{"series": SUCCESSES, "values": "1+2x60"}, {"series": FAILURES, "values": "_x20 1+0.3x40"}],
     [("35m", False), ("55m", False)], {}),
    ("AirflowTasksQueuedTooLong", "queued on a new cluster where nothing ever started",
     [{"series": QUEUED, "values": "_x2 0x3 3x40"}], [("8m", False), ("15m", True)], {}),
    ("AirflowTasksQueuedTooLong", "queued after starts stopped",
     [{"series": QUEUED, "values": "0x10 3x40"}, {"series": STARTS, "values": "1+1x10 11x40"}],
     [("15m", False), ("30m", True)], {}),
    # A DAG's first task start is its counter's birth: it counts as a start.
    ("AirflowTasksQueuedTooLong", "a DAG's first start counts",
     [{"series": QUEUED, "values": "0x10 3x40"}, {"series": STARTS, "values": "_x12 1x40"}], [("20m", False)], {}),
    ("AirflowTasksQueuedTooLong", "queued while tasks keep starting",
     [{"series": QUEUED, "values": "3x50"}, {"series": STARTS, "values": "1+1x50"}], [("40m", False)], {}),
    ("PgBouncerClientsWaiting", "clients wait longer than 5 s",
     [{"series": 'pgbouncer_exporter_pools_waiting_clients{database="airflow-metadata"}', "values": "0x5 4x20"},
      {"series": 'pgbouncer_exporter_pools_max_wait{database="airflow-metadata"}', "values": "0x5 8x20"}],
     [("8m", False), ("15m", True)], {}),
    ("PgBouncerClientsWaiting", "short waits",
     [{"series": 'pgbouncer_exporter_pools_waiting_clients{database="airflow-metadata"}', "values": "4x20"},
      {"series": 'pgbouncer_exporter_pools_max_wait{database="airflow-metadata"}', "values": "3x20"}],
     [("15m", False)], {}),
    ("KubernetesApiServerUnavailable", "the API server stops answering",
     [{"series": 'up{job="apiserver"}', "values": "1x5 0x20"}], [("8m", False), ("15m", True)], {}),
    ("KubernetesApiServerUnavailable", "never discovered", [STATSD_UP], [("3m", False), ("10m", True)], {}),
    ("KubernetesApiServerUnavailable", "answers", [{"series": 'up{job="apiserver"}', "values": "1x20"}],
     [("15m", False)], {}),
    ("SystemNodeNotReady", "a node's kubelet stops answering",
     [{"series": 'up{job="kubelet", pool="system", node="a"}', "values": "1x30"},
      {"series": 'up{job="kubelet", pool="system", node="b"}', "values": "1x10 0x20"},
      {"series": 'up{job="kubelet", pool="tasks", node="c"}', "values": "1x30"}], [("8m", False), ("25m", True)], {}),
    ("SystemNodeNotReady", "a node is gone",
     [{"series": 'up{job="kubelet", pool="system", node="a"}', "values": "1x30"},
      {"series": 'up{job="kubelet", pool="system", node="b"}', "values": "1x10 stale"}],
     [("8m", False), ("25m", True)], {}),
    ("MetricsTargetDown", "the autoscaler cannot be scraped",
     [{"series": 'up{job="cluster-autoscaler", pod="cluster-autoscaler-0"}', "values": "1x5 0x20"}],
     [("10m", False), ("20m", True)], {"job": "cluster-autoscaler", "pod": "cluster-autoscaler-0"}),
]


def test_every_alert_has_promtool_cases_that_fire_and_that_stay_quiet():
    covered = {alert for alert, *_ in CASES}
    assert covered == {r.alert for r in RULES}
    for alert in covered:
        outcomes = {fires for a, _c, _s, checks, _l in CASES if a == alert for _t, fires in checks}
        assert outcomes == {True, False}, alert


@pytest.mark.parametrize(("alert", "case", "series", "checks", "labels"), CASES,
                         ids=[f"{a}-{c.replace(' ', '_')}" for a, c, *_ in CASES])
def test_alert_rule(tmp_path, alert, case, series, checks, labels):
    _unit_test(tmp_path, series, [(t, alert, [_fired(alert, **labels)] if fires else []) for t, fires in checks])


def test_increase_alone_misses_counters_born_at_their_first_increment(tmp_path):
    """Why the rules count from birth: ten first failures in one scrape, and increase() says 0."""
    series = [{"series": FAILURES, "values": "_x20 10x40"}]
    _unit_test(tmp_path, series, [], exprs=[
        {"expr": f"sum(increase({FAILURES}[30m]))", "eval_time": "35m", "exp_samples": [{"labels": "{}", "value": 0}]},
        {"expr": f"sum({alert_rules.increase_since_birth(FAILURES, '30m')})", "eval_time": "35m",
         "exp_samples": [{"labels": "{}", "value": 10}]},
        {"expr": f"sum({alert_rules.increase_since_birth(FAILURES, '30m')})", "eval_time": "59m",
         "exp_samples": [{"labels": "{}", "value": 0}]},
    ])


# --- the runtime tier's copy: the same rules with every duration divided ---------------------

@pytest.mark.parametrize(("duration", "factor", "scaled"), [
    ("5m", 15, "20s"), ("10m", 15, "40s"), ("30m", 15, "120s"), ("1h30m", 15, "360s"), ("1m", 60, "1s"),
    ("3s", 2, "1500ms")])
def test_a_duration_scales_exactly(duration, factor, scaled):
    assert promql.scaled_duration(duration, factor) == scaled


@pytest.mark.parametrize(("duration", "factor"), [("10m", 7), ("1s", 2000), ("5x", 1)])
def test_a_duration_that_would_round_is_refused(duration, factor):
    with pytest.raises(ValueError):
        promql.scaled_duration(duration, factor)


def test_scaling_changes_the_rules_durations_and_nothing_else(tmp_path):
    text = alert_rules.rules_yaml(system_min_nodes=2)
    scaled = promql.scaled_rules(text, 15)
    before, after = (yaml.safe_load(t)["groups"][0] for t in (text, scaled))
    assert before["name"] == after["name"]
    durations = re.compile(r"\d+(?:ms|[smhdwy])")
    for old, new in zip(before["rules"], after["rules"], strict=True):
        assert {k: v for k, v in old.items() if k not in ("for", "expr")} == \
            {k: v for k, v in new.items() if k not in ("for", "expr")}
        assert promql.duration_ms(new["for"]) * 15 == promql.duration_ms(old["for"])
        assert durations.sub("D", new["expr"]) == durations.sub("D", old["expr"])
        assert [promql.duration_ms(d) for d in durations.findall(new["expr"])] == \
            [promql.duration_ms(d) // 15 for d in durations.findall(old["expr"])]
    path = tmp_path / "scaled.yaml"
    path.write_text(scaled)
    assert check_rules(path).returncode == 0
    # Label values and strings are not durations, however they look.
    assert promql.scaled_expr('up{job="x[5m]"}[10m] offset 5m', 5) == 'up{job="x[5m]"}[120s] offset 60s'


def test_only_the_cluster_alerts_are_left_to_promtool():
    """The runtime tier provokes every other alert with the real Airflow (runtime/tests/test_metrics.py)."""
    assert {r.alert for r in RULES if promql.cluster_only(r.expr)} == {"KubernetesApiServerUnavailable",
                                                                        "SystemNodeNotReady"}
