"""The alerting rules evaluated in the AMP workspace (one rule group namespace), as data.

Each rule carries a `runbook` annotation: the section of docs/metrics.md ("Alerts and runbooks")
that says what it means and what to do. tests/test_alert_rules.py checks them with promtool
(syntax, and unit tests whose series start as the real exporters start them);
tests/test_metric_names.py that every metric a rule reads is one the pinned Airflow really
sends (its capture) through the StatsD mapping, or one a collector keep-list names; the
runtime tier provokes each alert it can with the real Airflow and a real Prometheus.

Two facts about the inputs shape the expressions:

- statsd_exporter creates a counter series at its first increment, already at 1 or more, and
  increase() reads a series' first sample as its starting point: the first failure of a task,
  or the first task of a DAG, would be invisible. `increase_since_birth` counts it.
- A series that does not exist yet (a new cluster, an exporter restart) makes an expression
  empty, not 0: every rule says what it means when its input is absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from airflow_eks import helm_values, scrape

GROUP = "airflow-eks"
# Spot capacity from zero: the autoscaler notices the Pending pod within a scan (10 s), EC2
# launches a spot instance and EKS joins it (2-4 min), the image is pulled (1-2 min). Ten
# minutes is that with margin; still below Airflow's task_queued_timeout, so the alert fires
# before Airflow gives up on the task.
SPOT_SCALE_UP_ALLOWANCE_SECONDS = 600
TASK_FAILURE_RATIO = 0.2
# Ignore a failure ratio computed from a handful of tasks.
TASK_FAILURE_MIN_COUNT = 3
PGBOUNCER_MAX_WAIT_SECONDS = 5
RUNBOOK_SECTION = "docs/metrics.md#runbook-"

assert SPOT_SCALE_UP_ALLOWANCE_SECONDS < helm_values.TASK_QUEUED_TIMEOUT_SECONDS


def increase_since_birth(metric: str, window: str) -> str:
    """Per series, increase() over `window` if the series existed `window` ago, else its whole
    value (it was born inside the window, with its first increments in it)."""
    existed = f"{metric} offset {window}"
    return f"((increase({metric}[{window}]) and {existed}) or ({metric} unless {existed}))"


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_: str
    severity: str  # "critical" pages, "warning" can wait for working hours
    summary: str

    @property
    def runbook(self) -> str:
        return RUNBOOK_SECTION + self.alert.lower()

    def as_rule(self) -> dict:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary, "runbook": self.runbook},
        }


def rules(*, system_min_nodes: int) -> tuple[AlertRule, ...]:
    statsd, kubelet = scrape.JOB_STATSD, scrape.JOB_KUBELET
    failed = f"sum({increase_since_birth('airflow_ti_failures_total', '30m')})"
    succeeded = f"sum({increase_since_birth('airflow_ti_successes_total', '30m')})"
    allowance = f"{SPOT_SCALE_UP_ALLOWANCE_SECONDS // 60}m"
    return (
        AlertRule(
            "AirflowSchedulerHeartbeatStale",
            # absent(): no scheduler has ever sent a heartbeat since the exporter started.
            "sum(rate(airflow_scheduler_heartbeat_total[5m])) == 0 or absent(airflow_scheduler_heartbeat_total)",
            "5m", "critical", "No Airflow scheduler has heartbeated for 5 minutes: nothing gets scheduled."),
        AlertRule(
            "AirflowDagImportErrors",
            "max(airflow_dag_processing_import_errors) > 0",
            "10m", "warning", "{{ $value }} DAG file(s) fail to import: their DAGs are not scheduled."),
        AlertRule(
            "AirflowTaskFailureRateHigh",
            # Attempts, from the task runner: a failed attempt (retried or final) counts once, a
            # deferral not at all (it is neither). No success at all is 0, not a missing ratio.
            f"({failed} / ({failed} + ({succeeded} or vector(0))) > {TASK_FAILURE_RATIO}) "
            f"and {failed} >= {TASK_FAILURE_MIN_COUNT}",
            "10m", "warning", f"More than {TASK_FAILURE_RATIO:.0%} of task attempts failed in 30 minutes."),
        AlertRule(
            "AirflowTasksQueuedTooLong",
            # Tasks wait in the queued state and none has started for a spot scale-up's time:
            # their pods get no capacity. (Airflow sends no time-in-queue for tasks run through
            # the Execution API.) No start ever recorded counts as none.
            f"sum(airflow_pool_queued_slots) > 0 "
            f"unless sum({increase_since_birth('airflow_ti_start_total', allowance)}) > 0",
            "5m", "critical",
            f"Tasks are queued and none has started for {SPOT_SCALE_UP_ALLOWANCE_SECONDS // 60} minutes "
            "(spot scale-up allows that long): no capacity for task pods."),
        AlertRule(
            "PgBouncerClientsWaiting",
            f"sum(pgbouncer_exporter_pools_waiting_clients) > 0 "
            f"and max(pgbouncer_exporter_pools_max_wait) > {PGBOUNCER_MAX_WAIT_SECONDS}",
            "5m", "warning",
            "Airflow's database connections queue in PgBouncer: the pool is saturated."),
        AlertRule(
            "KubernetesApiServerUnavailable",
            f"absent(up{{job=\"{scrape.JOB_APISERVER}\"}} == 1)",
            "5m", "critical", "The collector cannot reach the Kubernetes API server."),
        AlertRule(
            "SystemNodeNotReady",
            # A NotReady node's kubelet does not answer through the API server; a node that
            # is gone is not discovered at all, hence the count against the pool's minimum.
            f"(count(up{{job=\"{kubelet}\", pool=\"system\"}} == 1) or vector(0)) < {system_min_nodes}",
            "5m", "critical",
            f"Fewer than {system_min_nodes} system node(s) answer: Airflow's own pods lose capacity."),
        AlertRule(
            "MetricsTargetDown",
            # Without this a dead StatsD exporter would look like a stale heartbeat only.
            f"up{{job=~\"{statsd}|{scrape.JOB_PGBOUNCER}|{scrape.JOB_AUTOSCALER}\"}} == 0",
            "10m", "warning", "{{ $labels.job }} on {{ $labels.pod }} cannot be scraped."),
    )


def rules_yaml(*, system_min_nodes: int) -> str:
    """The rule group namespace's data (Prometheus rules file format)."""
    return yaml.safe_dump({"groups": [{
        "name": GROUP,
        "rules": [rule.as_rule() for rule in rules(system_min_nodes=system_min_nodes)],
    }]}, sort_keys=False)
