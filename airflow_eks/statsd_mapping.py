"""Airflow's StatsD metrics as stable Prometheus names with labels: the exporter's mapping.

Airflow sends StatsD without tags (no InfluxDB/DogStatsD wire format here), so ids live inside
dotted names (`ti.finish.<dag_id>.<task_id>.<state>`). The chart's StatsD exporter turns them
into Prometheus series through this mapping (chart value `statsd.overrideMappings`). It is an
allowlist: what dashboards and alerts read gets a name with labels (dag_id, task_id, state,
pool, ...), and the final rule drops everything else, so a new DAG cannot multiply the series
(and the bill, see scrape.series_estimate) with flat names the chart's default would keep.

Every rule maps a name the pinned Airflow was seen sending, with the type it was sent as:
tests/data/airflow-statsd-metrics.txt, generated from the runtime tier's capture, is what the
offline tests check the mapping against (tests/test_metric_names.py), through a port of
statsd_exporter's own mapper (tests/statsd_exporter). Names Airflow sends only on rare faults
(heartbeat failures, zombie tasks, parse timeouts) are not in that capture, so not mapped.
Airflow 3.3 sends several gauges twice, under a name without ids (`executor.open_slots`,
`pool.open_slots`) and under its older name with them (`executor.open_slots.<executor>`,
`pool.open_slots.<pool>`); exactly one of each pair is mapped, so nothing is counted twice.

Counters end in `_total` (statsd_exporter serves the classic text format, which keeps a
counter's name as mapped). Timers become summaries in seconds (`<name>{quantile}`,
`<name>_sum`, `<name>_count`). statsd_exporter tries glob rules first (`*` is one
dot-separated segment, the earliest matching rule wins), then regex rules in order.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass

PREFIX = "airflow"  # Airflow's [metrics] statsd_prefix default, which the chart keeps


@dataclass(frozen=True)
class Rule:
    match: str
    name: str
    kind: str  # "counter" | "gauge" | "timer"
    labels: tuple[tuple[str, str], ...] = ()
    regex: bool = False

    def as_mapping(self) -> dict:
        mapping: dict = {"match": self.match, "name": self.name}
        if self.regex:
            mapping["match_type"] = "regex"
        # statsd_exporter takes the type from the StatsD line; the label says what it is here.
        if self.labels:
            mapping["labels"] = dict(self.labels)
        return mapping


def _g(match: str, name: str, kind: str, **labels: str) -> Rule:
    return Rule(f"{PREFIX}.{match}", name, kind, tuple(labels.items()))


def _r(pattern: str, name: str, kind: str, **labels: str) -> Rule:
    return Rule(rf"^{re.escape(PREFIX)}\.{pattern}$", name, kind, tuple(labels.items()), regex=True)


RULES: tuple[Rule, ...] = (
    # Liveness of Airflow's own components.
    _g("scheduler_heartbeat", "airflow_scheduler_heartbeat_total", "counter"),
    _g("dag_processor_heartbeat", "airflow_dag_processor_heartbeat_total", "counter"),
    _g("triggerer_heartbeat", "airflow_triggerer_heartbeat_total", "counter"),
    # Scheduler loop.
    _g("scheduler.scheduler_loop_duration", "airflow_scheduler_loop_duration_seconds", "timer"),
    _g("scheduler.critical_section_duration", "airflow_scheduler_critical_section_duration_seconds", "timer"),
    _g("scheduler.tasks.starving", "airflow_scheduler_tasks_starving", "gauge"),
    _g("scheduler.tasks.executable", "airflow_scheduler_tasks_executable", "gauge"),
    # DAG parsing. Per file, the time since it was last parsed (every Airflow 3 sends it; a
    # per-file parse duration only 3.3 does).
    _g("dagbag_size", "airflow_dagbag_size", "gauge"),
    _g("dag_processing.import_errors", "airflow_dag_processing_import_errors", "gauge"),
    _g("dag_processing.total_parse_time", "airflow_dag_processing_total_parse_time_seconds", "gauge"),
    _g("dag_processing.file_path_queue_size", "airflow_dag_processing_file_path_queue_size", "gauge"),
    _g("dag_processing.last_run.seconds_ago.*", "airflow_dag_processing_last_run_seconds_ago", "gauge",
       dag_file="$1"),
    # Executor: the stack runs one (KubernetesExecutor), whose gauges every Airflow 3 sends
    # without a suffix; 3.3 sends them again suffixed with the executor's class name.
    _g("executor.open_slots", "airflow_executor_open_slots", "gauge"),
    _g("executor.queued_tasks", "airflow_executor_queued_tasks", "gauge"),
    _g("executor.running_tasks", "airflow_executor_running_tasks", "gauge"),
    # Pools.
    _g("pool.open_slots.*", "airflow_pool_open_slots", "gauge", pool="$1"),
    _g("pool.queued_slots.*", "airflow_pool_queued_slots", "gauge", pool="$1"),
    _g("pool.running_slots.*", "airflow_pool_running_slots", "gauge", pool="$1"),
    _g("pool.starving_tasks.*", "airflow_pool_starving_tasks", "gauge", pool="$1"),
    # Task outcomes. Task ids inside a TaskGroup contain dots (`group.task`; 3.3 sends
    # `group__task`), so the task segment is a regex that may span segments. Only outcomes
    # keep task_id (4 states a task: success, failed, up_for_retry, deferred): counters and
    # timers of different tasks merge correctly into a per-DAG series, which keeps the series
    # count (the bill) proportional to DAGs rather than tasks.
    _r(r"ti\.start\.([^.]+)\..+", "airflow_ti_start_total", "counter", dag_id="$1"),
    _r(r"ti\.finish\.([^.]+)\.(.+)\.([^.]+)", "airflow_ti_finish_total", "counter",
       dag_id="$1", task_id="$2", state="$3"),
    _r(r"dag\.([^.]+)\..+\.duration", "airflow_task_duration_seconds", "timer", dag_id="$1"),
    # From scheduled to queued, all tasks: the scheduler's side of a task's wait. (The time
    # from queued to running is not sent for tasks run through the Execution API.)
    _g("task.scheduled_duration", "airflow_task_scheduled_duration_seconds", "timer"),
    # Attempts, sent by the task runner: the failure-rate alert's single-series counters.
    _g("ti_failures", "airflow_ti_failures_total", "counter"),
    _g("ti_successes", "airflow_ti_successes_total", "counter"),
    # DAG runs.
    _g("dagrun.duration.*.*", "airflow_dagrun_duration_seconds", "timer", state="$1", dag_id="$2"),
    # Triggerer.
    _g("triggers.running.*", "airflow_triggers_running", "gauge", hostname="$1"),
    _g("triggerer.capacity_left.*", "airflow_triggerer_capacity_left", "gauge", hostname="$1"),
)

# statsd_exporter's documented way to drop what no rule above maps; it must stay last.
DROP_REST = {"match": ".", "match_type": "regex", "action": "drop", "name": "dropped"}


def override_mappings() -> list[dict]:
    """The chart's `statsd.overrideMappings`: our rules, then drop everything else."""
    return [rule.as_mapping() for rule in RULES] + [dict(DROP_REST)]


# What a task pod itself sends: Airflow 3.1.8's task runner (airflow/sdk/execution_time/
# task_runner.py, the only StatsD sender of the task SDK but for airflow/sdk/io/fs.py's
# filesystem timer), as sample names. Task pods send to an exporter of their own
# (airflow_eks/metrics/task_statsd.py) that maps only the rules these names hit and drops the
# rest, so DAG code can report task outcomes, as it always could by succeeding or failing, but
# never a component's heartbeat, parse errors, executor slots or pools.
TASK_RUNNER_SAMPLES = (
    "ti.start.a_dag.a_task", "ti.start", "ti.finish.a_dag.a_task.success", "ti.finish",
    "operator_successes_PythonOperator", "operator_successes", "ti_successes",
    "operator_failures_PythonOperator", "operator_failures", "ti_failures",
    "dag.a_dag.a_task.duration", "task.duration", "airflow.io.load_filesystems",
)


def task_rules() -> tuple[Rule, ...]:
    """The rules a task pod's metrics need, in RULES order."""
    hit = {found[0] for name in TASK_RUNNER_SAMPLES if (found := match(f"{PREFIX}.{name}"))}
    return tuple(rule for rule in RULES if rule in hit)


def task_override_mappings() -> list[dict]:
    """The task pods' exporter mapping: the task rules, then drop everything else."""
    return [rule.as_mapping() for rule in task_rules()] + [dict(DROP_REST)]


# The pod annotation both StatsD exporters carry with their mapping's checksum (ours: the chart
# renders its own checksum/statsd-config only with extraMappings or podAnnotations).
CHECKSUM_ANNOTATION = "checksum/statsd-mappings"


def mappings_sha256() -> str:
    """Pod annotation: statsd_exporter reads its mapping at start only, and the chart's own
    checksum annotation is not rendered for overrideMappings alone."""
    return hashlib.sha256(json.dumps(override_mappings(), sort_keys=True).encode()).hexdigest()


@functools.cache
def _pattern(rule: Rule) -> re.Pattern:
    if rule.regex:
        return re.compile(rule.match)
    segment = r"([^.]*)"
    return re.compile("^" + segment.join(re.escape(part) for part in rule.match.split("*")) + "$")


def match(statsd_name: str) -> tuple[Rule, dict[str, str]] | None:
    """The rule that maps a StatsD name and the labels it gets, or None if it is dropped.
    Globs first, then regexes in order, as statsd_exporter's mapper does for these rules
    (tests/test_metric_names.py checks it against the port of statsd_exporter's mapper on
    every name the pinned Airflow was seen sending)."""
    for rule in sorted(RULES, key=lambda r: r.regex):  # stable: globs, then regexes, each in order
        found = _pattern(rule).match(statsd_name)
        if found:
            return rule, {key: _expand(value, found) for key, value in rule.labels}
    return None


def _expand(template: str, found: re.Match) -> str:
    return re.sub(r"\$(\d+)", lambda m: found.group(int(m.group(1))), template)

