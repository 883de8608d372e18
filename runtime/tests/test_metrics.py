"""Issue 20: the metrics path proven by the real Airflow, the mapping as statsd_exporter
applies it, and a real Prometheus evaluating the program's own alert rules (monitoring.py).

The session's stack sends its StatsD to the exporter from the start (conftest.statsd_exporter);
this module adds the PgBouncer exporter and Prometheus, then, on that one stack:

1. healthy: a DAG runs to success (a deferred task included) and no alert fires;
2. provoked together (they do not touch each other): a DAG file breaks (import error),
   several distinct tasks fail for the first time, the PgBouncer exporter stops (a target
   down), and then the executor's workers stop while tasks are queued (no capacity: tasks
   queued, none starting, as task pods Pending on a cluster without nodes);
3. then: the scheduler stops (heartbeat stale) and PgBouncer's pool is held by long
   transactions with clients queueing behind them.

Each alert has its test, named after it, which waits for it to be `firing` in Prometheus'
/api/v1/alerts. The dashboard's every query runs against the same Prometheus, and the StatsD
capture is compared with the checked-in metric list. It leaves the stack broken (scheduler
stopped), so conftest runs this module last. Changes: airflow_env.CHANGES, and monitoring.py's
(time scaled for the monitoring side, static targets, cluster-only rules left to promtool).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from pathlib import Path

import pytest

from airflow_eks import alert_rules, formats, scrape, secret_data
from airflow_eks.secret_data import SECRET_NAMES
from tests import airflow_statsd, metric_list, promql
from tests.statsd_exporter.mapper import MetricMapper

from . import airflow_env, api, monitoring, services

SYSTEM_MIN_NODES = 2  # any value: the rule that reads it is cluster-only
RULES = {r.alert: r for r in alert_rules.rules(system_min_nodes=SYSTEM_MIN_NODES)}
RUNTIME_ALERTS = [name for name, rule in RULES.items() if not monitoring.cluster_only(rule)]
DASHBOARD = services.ROOT / "dashboards" / "airflow-eks.json"
FAILING_TASKS = 5  # dags/metrics_outcomes.py
HEALTHY_DAG = "metrics_healthy"


def scaled(seconds: float) -> float:
    """Production seconds of the monitoring side, in this tier's time."""
    return seconds / monitoring.SCALE


def for_seconds(alert: str) -> float:
    return formats.prometheus_duration_seconds(RULES[alert].for_)


# A bound on the wait for each alert: its provocation's own time (a task run, a re-parse) plus
# its scaled windows, with a margin for two shared cores.
PATIENCE = 240


@pytest.fixture(scope="module")
def monitor(gen, stack, database, statsd_exporter, tmp_path_factory):
    base = tmp_path_factory.mktemp("monitoring")
    # The sidecar reaches PgBouncer on 127.0.0.1:6543 in its pod: only the port changes here.
    stats_url = gen.secret(SECRET_NAMES.pgbouncer_stats, secret_data.CONNECTION_KEY).replace(
        f"127.0.0.1:{secret_data.PGBOUNCER_PORT}/", f"127.0.0.1:{database.pgbouncer_port}/")
    pgbouncer = monitoring.PgBouncerExporter(base, stats_url)
    prometheus = None
    try:
        targets = {scrape.JOB_STATSD: f"{services.LOOPBACK}:{statsd_exporter.web_port}",
                   scrape.JOB_PGBOUNCER: f"{services.LOOPBACK}:{pgbouncer.port}"}
        prometheus = monitoring.Prometheus(base / "prometheus", targets,
                                           monitoring.runtime_rules_yaml(system_min_nodes=SYSTEM_MIN_NODES))
        monitor = Monitor(prometheus, pgbouncer)
        yield monitor
        monitor.stop()
    finally:
        if prometheus:
            prometheus.stop()
        pgbouncer.stop()


class Monitor:
    """Prometheus and the PgBouncer exporter, and what /api/v1/alerts reported firing: read every
    second in the background, since alerts provoked together may resolve before their test's
    turn comes."""

    def __init__(self, prometheus: monitoring.Prometheus, pgbouncer: monitoring.PgBouncerExporter) -> None:
        self.prometheus = prometheus
        self.pgbouncer = pgbouncer
        self.seen_firing: dict[str, dict] = {}
        """alertname -> the first firing entry /api/v1/alerts returned for it."""
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read_alerts, daemon=True)
        self._reader.start()

    def _read_alerts(self) -> None:
        while not self._stop.wait(1):
            with contextlib.suppress(OSError, AssertionError, ValueError):
                for entry in self.prometheus.alerts():
                    if entry["state"] == "firing":
                        self.seen_firing.setdefault(entry["labels"]["alertname"], entry)

    def stop(self) -> None:
        self._stop.set()
        self._reader.join(10)

    def fired_since(self, since: float) -> dict[str, dict]:
        """Alerts Prometheus had firing at any evaluation since `since` (wall clock), with their
        labels: its own ALERTS series (an alert provoked together with others may resolve
        before its test's turn comes)."""
        window = f"{max(int(time.time() - since) + 1, 1)}s"
        return {r["metric"]["alertname"]: r["metric"]
                for r in self.prometheus.query(f'max_over_time(ALERTS{{alertstate="firing"}}[{window}])')}

    def wait_fired(self, alert: str, *, since: float) -> dict:
        fired = api.poll(lambda: self.fired_since(since), lambda f: alert in f, timeout=PATIENCE, interval=1,
                         what=f"{alert} firing")
        return fired[alert]


# --- 1. healthy ------------------------------------------------------------------------------

def test_healthy_airflow_fires_no_alert(monitor, stack, admin_token):
    prometheus = monitor.prometheus
    start, wall = time.monotonic(), time.time()
    run = api.trigger_dag(stack.api, admin_token, HEALTHY_DAG)
    seen: set[str] = set()
    # Watch for the longest `for` after the run, plus two evaluations: anything pending at
    # the run's start has had the time to fire.
    deadline = None
    state = None
    while deadline is None or time.monotonic() < deadline:
        seen |= {f"{a['labels']['alertname']} ({a['state']})" for a in prometheus.alerts()}
        if deadline is None:
            state = api.call("GET", run, token=admin_token)[1]["state"]
            if state in ("success", "failed"):
                deadline = time.monotonic() + max(scaled(for_seconds(a)) for a in RUNTIME_ALERTS) \
                    + 2 * monitoring.EVALUATION_INTERVAL_SECONDS / monitoring.SCALE
            assert time.monotonic() - start < 240, "the healthy run did not finish"
        time.sleep(1)
    assert state == "success"
    assert not {s for s in seen if s.endswith("(firing)")}, seen
    assert monitor.fired_since(wall) == {} and monitor.seen_firing == {}
    assert not prometheus.alerts(), prometheus.alerts()
    # Not vacuous: every rule evaluated without error, on inputs that exist.
    [group] = prometheus.api("rules")["groups"]
    assert {r["name"] for r in group["rules"]} == set(RUNTIME_ALERTS)
    assert all(r["health"] == "ok" for r in group["rules"]), group["rules"]
    for name in ("airflow_scheduler_heartbeat_total", "airflow_dag_processing_import_errors",
                 "airflow_ti_successes_total", "airflow_ti_start_total", "airflow_pool_queued_slots",
                 "pgbouncer_exporter_pools_waiting_clients", "pgbouncer_exporter_pools_max_wait"):
        assert prometheus.query(name), f"{name}: no series"
    assert {r["metric"]["job"]: r["value"][1] for r in prometheus.query("up")} == {
        scrape.JOB_STATSD: "1", scrape.JOB_PGBOUNCER: "1"}


# --- 2. provoked together --------------------------------------------------------------------

# A bad change to a DAG file: an import of a package the image does not have. (The file stays a
# DAG file: the DAG processor skips, silently, files that mention neither "airflow" nor "dag".)
MISSING_IMPORT = "import airflow_eks_runtime_tier_missing_dependency  # noqa: F401\n"


@pytest.fixture(scope="module")
def provoked_first(monitor, stack, admin_token):
    """Import error, first-time task failures and a target down at once; then, with the
    failures finished, the executor's workers stop and tasks queue."""
    start = time.time()
    monitor.pgbouncer.stop()
    broken = Path(airflow_env.cfg_get(stack.home.cfg, "core", "dags_folder")) / "metrics_import.py"
    broken.write_text(MISSING_IMPORT + broken.read_text())
    failures = api.trigger_dag(stack.api, admin_token, "metrics_failures")
    assert api.wait_run(failures, admin_token, timeout=240)["state"] == "failed"
    failed_at = time.time()
    workers = monitoring.local_executor_workers(stack.processes["scheduler"])
    assert workers, "no LocalExecutor worker found"
    monitoring.signal_all(workers, signal.SIGSTOP)
    queued = api.trigger_dag(stack.api, admin_token, "metrics_queued")
    yield {"start": start, "workers": workers, "queued": queued, "failed_at": failed_at}
    monitoring.signal_all(workers, signal.SIGCONT)


@pytest.fixture(scope="module")
def provoked_then(monitor, stack, database, metadata_url, provoked_first):
    """The workers resume; then the scheduler stops and PgBouncer's pool is exhausted."""
    monitoring.signal_all(provoked_first["workers"], signal.SIGCONT)
    monitor.pgbouncer.start()
    start = time.time()
    stack.processes["scheduler"].stop()
    exhaustion = monitoring.PoolExhaustion(metadata_url, holders=secret_data.PGBOUNCER_POOL_SIZE, waiters=3, seconds=90,
                                           postgres=database.postgres)
    try:
        yield {"start": start, "release": exhaustion.stop}
    finally:
        exhaustion.stop()


PHASE = {"AirflowDagImportErrors": "provoked_first", "AirflowTaskFailureRateHigh": "provoked_first",
         "MetricsTargetDown": "provoked_first", "AirflowTasksQueuedTooLong": "provoked_first",
         "AirflowSchedulerHeartbeatStale": "provoked_then", "PgBouncerClientsWaiting": "provoked_then"}


def test_every_alert_the_runtime_can_reach_is_provoked_here(monitor):
    assert sorted(PHASE) == sorted(RUNTIME_ALERTS)
    # Prometheus evaluates the program's rules, annotations and all (runbook links included).
    [group] = monitor.prometheus.api("rules")["groups"]
    loaded = {r["name"]: r for r in group["rules"]}
    for name in RUNTIME_ALERTS:
        assert loaded[name]["annotations"] == {"summary": RULES[name].summary, "runbook": RULES[name].runbook}
        assert loaded[name]["labels"] == {"severity": RULES[name].severity}
    assert sorted(set(RULES) - set(RUNTIME_ALERTS)) == ["KubernetesApiServerUnavailable", "SystemNodeNotReady"]


@pytest.mark.parametrize("alert", list(PHASE))
def test_alert_fires(alert, monitor, request):
    phase = request.getfixturevalue(PHASE[alert])
    labels = monitor.wait_fired(alert, since=phase["start"])
    assert labels["severity"] == RULES[alert].severity
    # /api/v1/alerts said so too, with the program's annotations (the runbook link included).
    entry = api.poll(lambda: monitor.seen_firing.get(alert), lambda e: e is not None, timeout=30,
                     what=f"{alert} firing in /api/v1/alerts")
    assert entry["annotations"]["runbook"] == RULES[alert].runbook
    if alert == "MetricsTargetDown":
        assert labels["job"] == scrape.JOB_PGBOUNCER
    if alert == "PgBouncerClientsWaiting":
        phase["release"]()  # Airflow gets its connections back (the tests after this one use the API)
    if alert == "AirflowTaskFailureRateHigh":
        # Two scrapes after the failing run ended, all its failures are in the rule's window:
        # the rule counts every one of them (a task failed earlier in the session may add one) ...
        prometheus, at = monitor.prometheus, phase["failed_at"] + 2 * scaled(monitoring.SCRAPE_INTERVAL_SECONDS)
        window = f"{int(scaled(1800))}s"
        [failed] = prometheus.query(f"sum({alert_rules.increase_since_birth('airflow_ti_failures_total', window)})",
                                    at=at)
        assert float(failed["value"][1]) >= FAILING_TASKS
        # ... where increase() alone sees none: each task's failed series was born at 1.
        per_task = prometheus.query(f'sum(increase(airflow_ti_finish_total{{dag_id="metrics_failures", '
                                    f'state="failed"}}[{window}]))', at=at)
        assert [float(r["value"][1]) for r in per_task] in ([], [0.0]), per_task


# --- the dashboard -----------------------------------------------------------------------------

def _targets() -> list[tuple[str, str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["refId"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]


@pytest.mark.parametrize(("title", "ref", "expr"), _targets(), ids=[f"{t}-{r}" for t, r, _e in _targets()])
def test_dashboard_query_returns_data(title, ref, expr, monitor, provoked_then):
    result = monitor.prometheus.query(expr)
    if promql.cluster_only(expr):
        # No node, kubelet or autoscaler here: the query must run; tests/test_dashboard.py
        # feeds it exporter-shaped series with promtool.
        assert result == [], result
        return
    assert result, f"{title} ({ref}): {expr} returns no data"
    assert any(r["value"][1] != "NaN" for r in result), f"{title} ({ref}): {expr} returns only NaN"
    if title == "Failed tasks by DAG":
        failed = {r["metric"]["task_id"]: float(r["value"][1]) for r in result
                  if r["metric"]["dag_id"] == "metrics_failures"}
        assert failed == {f"fails_{n}": 1.0 for n in range(FAILING_TASKS)}, result


# --- the metric list -----------------------------------------------------------------------------

def identifiers(stack, metadata_url: str) -> dict[str, list[str]]:
    """What this session's names are made of, from Airflow's own metadata database: every DAG,
    task, operator and queue any test ran (the stack's, `airflow dags test`'s, ...), their files
    and bundles, the pools; and the stack's executor and host name as its Airflow reports them."""
    def rows(query: str) -> list[list[str]]:
        result = services.psql(metadata_url, query)
        assert result.returncode == 0, result.stderr
        return [line.split("|") for line in result.stdout.splitlines() if line]

    found: dict[str, set[str]] = {k: set() for k in ("dag_id", "dag_file", "bundle_name", "task_id",
                                                     "operator_name", "pool_name", "queue", "executor_class_name",
                                                     "hostname")}
    for dag_id, task_id, operator, queue in rows("SELECT DISTINCT dag_id, task_id, operator, queue FROM task_instance"):
        found["dag_id"].add(dag_id)
        found["task_id"].add(task_id)
        found["operator_name"].add(operator)
        found["queue"].add(queue)
    for dag_id, fileloc, bundle in rows("SELECT dag_id, fileloc, bundle_name FROM dag"):
        found["dag_id"].add(dag_id)
        found["dag_file"].add(Path(fileloc).stem)
        found["bundle_name"].add(bundle)
    found["pool_name"] |= {pool for [pool] in rows("SELECT pool FROM slot_pool")}
    # Files that hold no DAG (metrics_import.py once broken) are in the folder, not the database.
    dags_folder = Path(airflow_env.cfg_get(stack.home.cfg, "core", "dags_folder"))
    found["dag_file"] |= {path.stem for path in dags_folder.glob("*.py")}
    found["executor_class_name"].add(airflow_env.cfg_get(stack.home.cfg, "core", "executor"))
    found["hostname"].add(services.airflow_python("from airflow.utils.net import get_hostname; print(get_hostname())",
                                                  env=stack.home.env()).strip())
    return {k: sorted(v - {""}) for k, v in found.items()}


def test_the_checked_in_metric_list_is_what_this_airflow_sends(monitor, provoked_then, statsd_exporter, stack,
                                                               metadata_url, record_property):
    """tests/data's list names this Airflow's version, and holds every name this run sent that
    the mapping keeps (so the offline tests' conclusions hold for what Airflow really sends).
    Names the mapping drops and the list lacks (sent only on some runs, e.g. a task killed
    externally) are recorded in the JUnit report. Regenerate: `make airflow-metrics`."""
    found = identifiers(stack, metadata_url)
    metric_list.IDENTIFIERS.write_text(json.dumps(found, indent=1, sort_keys=True))
    listed = metric_list.load()
    assert listed.version == services.AIRFLOW_VERSION, (
        f"tests/data lists Airflow {listed.version}'s metrics; this is {services.AIRFLOW_VERSION}: "
        "run `make airflow-metrics`")
    mapper = MetricMapper(statsd_exporter.mappings.read_text())
    missing = {(kind, name) for kind, name in metric_list.parse_capture(statsd_exporter.capture.read_text())
               if (kind, metric_list.template(name, found)) not in listed.entries}
    kept = sorted(name for kind, name in missing
                  if (m := mapper.get_mapping(name, airflow_statsd.EVENT_TYPE[kind])) and m.action != "drop")
    record_property("sent_not_listed", " ".join(sorted(metric_list.template(n, found) for _k, n in missing)))
    assert kept == [], "sent, mapped, but not in the list: run `make airflow-metrics`"
