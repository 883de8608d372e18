"""Alert rules: valid Prometheus rules (promtool), each with a runbook in docs/metrics.md, and the
important ones unit-tested with promtool's rule tests (series in, alerts out)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from airflow_eks import alert_rules, alerting, helm_values, scrape
from tests.promql import amtool, check_rules, promtool

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

def _unit_test(tmp_path: Path, series: list[dict], eval_time: str, alert: str, firing: list[dict]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(alert_rules.rules_yaml(system_min_nodes=2))
    tests = tmp_path / "tests.yaml"
    tests.write_text(yaml.safe_dump({
        "rule_files": [rules.name], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series,
                   "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": firing}]}],
    }, sort_keys=False))
    result = subprocess.run([promtool(), "test", "rules", tests.name], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _fired(rule_name: str, **labels: str) -> dict:
    [rule] = [r for r in RULES if r.alert == rule_name]
    return {"exp_labels": {"severity": rule.severity, **labels},
            "exp_annotations": {"summary": rule.summary, "runbook": rule.runbook}}


def test_a_scheduler_that_stops_heartbeating_fires_and_a_live_one_does_not(tmp_path):
    stalled = [{"series": "airflow_scheduler_heartbeat_total", "values": "0+10x20 200x30"}]
    _unit_test(tmp_path, stalled, "15m", "AirflowSchedulerHeartbeatStale", [])
    _unit_test(tmp_path, stalled, "40m", "AirflowSchedulerHeartbeatStale", [_fired("AirflowSchedulerHeartbeatStale")])


def test_a_missing_system_node_fires(tmp_path):
    nodes = [{"series": 'up{job="kubelet", pool="system", node="a"}', "values": "1x30"},
             {"series": 'up{job="kubelet", pool="system", node="b"}', "values": "1x10 0x20"},
             {"series": 'up{job="kubelet", pool="tasks", node="c"}', "values": "1x30"}]
    _unit_test(tmp_path, nodes, "8m", "SystemNodeNotReady", [])
    _unit_test(tmp_path, nodes, "25m", "SystemNodeNotReady", [_fired("SystemNodeNotReady")])


def test_tasks_queued_with_none_starting_fire_the_capacity_alert(tmp_path):
    stuck = [{"series": 'airflow_pool_queued_slots{pool="default_pool"}', "values": "0x5 3x40"},
             {"series": 'airflow_ti_start_total{dag_id="etl"}', "values": "5x45"}]
    _unit_test(tmp_path, stuck, "10m", "AirflowTasksQueuedTooLong", [])
    _unit_test(tmp_path, stuck, "30m", "AirflowTasksQueuedTooLong", [_fired("AirflowTasksQueuedTooLong")])


@pytest.mark.parametrize(("failed", "fires"), [(10, True), (1, False)])
def test_the_failure_rate_alert_needs_both_a_ratio_and_a_count(tmp_path, failed, fires):
    series = [{"series": 'airflow_ti_finish_total{dag_id="etl", task_id="load", state="success"}',
               "values": "0+1x60"},
              {"series": 'airflow_ti_finish_total{dag_id="etl", task_id="load", state="failed"}',
               "values": f"0x20 {failed}x40"}]
    expected = [_fired("AirflowTaskFailureRateHigh")] if fires else []
    # 10 failures against ~30 successes in 30 minutes is 25%: above 20%; 1 failure is below the count.
    _unit_test(tmp_path, series, "35m", "AirflowTaskFailureRateHigh", expected)
