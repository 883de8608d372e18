"""The metrics path of the runtime tier, as the cluster has it, on 127.0.0.1:

Airflow --StatsD/UDP--> the StatsD exporter (tests/statsd_exporter: statsd_exporter v0.28.0's
mapper and exposition, with the chart's rendered mappings.yml) <--scrape-- Prometheus (Debian's
`prometheus`), which evaluates the program's alert rule group; PgBouncer <--SHOW POOLS-- the
PgBouncer exporter shim (pgbouncer_exporter.py) <--scrape-- the same Prometheus.

Prometheus runs the program's own rule YAML and scrape jobs, changed only where nothing else
can exist here (tests/promql.scaled_rules and scrape_config below say how):

- time runs SCALE times faster for the monitoring side: every duration of the rules (`for`,
  ranges, offsets), the scrape and evaluation intervals and the lookback delta are divided by
  SCALE; Airflow, PgBouncer and the exporters run at their own pace. Thresholds on measured
  values (PgBouncer's 5 s wait) are not durations of the rules and stay;
- targets are static (no Kubernetes to discover them); the jobs keep their names and their
  metric_relabel_configs (the keep-lists the collector applies);
- the rules that read what only a cluster has (API server, kubelets) are left out here and
  proven by promtool instead (tests/test_alert_rules.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from airflow_eks import alert_rules, formats, scrape
from tests import promql

from . import services

# 1 minute of the monitoring side = 4 s here: 5 m windows become 20 s (5 samples at the scaled
# 60 s scrape interval), `for: 10m` 40 s. Airflow's own cadence does not scale: the scheduler
# heartbeats every 5 s, so a 20 s rate window always holds several heartbeats.
SCALE = 15
SCRAPE_INTERVAL_SECONDS = formats.prometheus_duration_seconds("60s")  # Pulumi.yaml's metricsScrapeInterval default
EVALUATION_INTERVAL_SECONDS = 60  # AMP's, for a rule group that sets none
LOOKBACK_DELTA_SECONDS = 300  # Prometheus' and AMP's query lookback
RUNTIME_JOBS = (scrape.JOB_STATSD, scrape.JOB_PGBOUNCER)
"""The collector's jobs whose targets exist here; the others (kubelet, cAdvisor, API server,
autoscaler) need a cluster."""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((services.LOOPBACK, 0))
        return s.getsockname()[1]


class StatsdExporter:
    """The port of statsd_exporter, as its own process (the chart runs it as its own pod)."""

    def __init__(self, base: Path, mappings_yml: str, capture: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.mappings = base / "mappings.yml"
        self.mappings.write_text(mappings_yml)
        self.capture = capture
        self.udp_port = free_udp_port()
        self.web_port = services.free_port()
        self.url = f"http://{services.LOOPBACK}:{self.web_port}/metrics"
        self.process = services.Process(
            [sys.executable, "-m", "tests.statsd_exporter",
             "--statsd.listen-udp", f"{services.LOOPBACK}:{self.udp_port}",
             "--web.listen-address", f"{services.LOOPBACK}:{self.web_port}",
             "--statsd.mapping-config", str(self.mappings), "--capture", str(capture)],
            log=base / "statsd-exporter.log", cwd=services.ROOT)
        try:
            self.process.wait_ready(lambda: services.http_ok(self.url), timeout=30, what="StatsD exporter")
        except BaseException:
            self.process.stop()
            raise

    def stop(self) -> None:
        self.process.stop()


class PgBouncerExporter:
    def __init__(self, base: Path, database_url: str) -> None:
        self.port = services.free_port()
        self.url = f"http://{services.LOOPBACK}:{self.port}/metrics"
        self.base, self.database_url = base, database_url
        self.process: services.Process | None = None
        self.start()

    def start(self) -> None:
        self.process = services.Process(
            [sys.executable, "-m", "runtime.tests.pgbouncer_exporter", "--web.listen-address",
             f"{services.LOOPBACK}:{self.port}"],
            log=self.base / "pgbouncer-exporter.log", cwd=services.ROOT,
            env={**os.environ, "DATABASE_URL": self.database_url})
        self.process.wait_ready(lambda: services.http_ok(self.url), timeout=30, what="PgBouncer exporter")

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def seconds(value: float) -> str:
    return f"{value:g}s"


def scrape_config(targets: dict[str, str], *, cluster_name: str = "runtime-tier") -> dict:
    """The program's scrape configuration for RUNTIME_JOBS, each job's discovery replaced by its
    static target here, and the intervals scaled; everything else (job names, keep-lists) kept."""
    program = yaml.safe_load(scrape.scrape_configuration(seconds(SCRAPE_INTERVAL_SECONDS), cluster_name=cluster_name))
    jobs = []
    for job in program["scrape_configs"]:
        if job["job_name"] not in RUNTIME_JOBS:
            continue
        local = {k: v for k, v in job.items() if k not in ("kubernetes_sd_configs", "relabel_configs")}
        host_port = targets[job["job_name"]]
        local["static_configs"] = [{"targets": [host_port], "labels": {"namespace": "airflow",
                                                                      "pod": f"{job['job_name']}-local"}}]
        jobs.append(local)
    assert [j["job_name"] for j in jobs] == list(RUNTIME_JOBS)
    return {
        "global": {**program["global"], "scrape_interval": seconds(SCRAPE_INTERVAL_SECONDS / SCALE),
                   "scrape_timeout": seconds(SCRAPE_INTERVAL_SECONDS / SCALE / 2),
                   "evaluation_interval": seconds(EVALUATION_INTERVAL_SECONDS / SCALE)},
        "rule_files": ["rules.yaml"],
        "scrape_configs": jobs,
    }


def cluster_only(rule: alert_rules.AlertRule) -> bool:
    """A rule that reads only what a cluster's jobs produce (or its absence)."""
    return promql.cluster_only(rule.expr)


def runtime_rules_yaml(*, system_min_nodes: int) -> str:
    """The program's rule group, scaled, without the cluster-only rules."""
    group = yaml.safe_load(alert_rules.rules_yaml(system_min_nodes=system_min_nodes))
    skip = {r.alert for r in alert_rules.rules(system_min_nodes=system_min_nodes) if cluster_only(r)}
    group["groups"][0]["rules"] = [r for r in group["groups"][0]["rules"] if r["alert"] not in skip]
    return promql.scaled_rules(yaml.safe_dump(group, sort_keys=False), SCALE)


class Prometheus:
    def __init__(self, base: Path, targets: dict[str, str], rules: str) -> None:
        binary = shutil.which("prometheus")
        assert binary, "prometheus not found: run `make runtime-install` (installs it from Debian)"
        base.mkdir(parents=True, exist_ok=True)
        (base / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(targets), sort_keys=False))
        (base / "rules.yaml").write_text(rules)
        self.port = services.free_port()
        self.url = f"http://{services.LOOPBACK}:{self.port}"
        self.process = services.Process(
            [binary, f"--config.file={base / 'prometheus.yml'}", f"--storage.tsdb.path={base / 'data'}",
             f"--web.listen-address={services.LOOPBACK}:{self.port}",
             f"--query.lookback-delta={seconds(LOOKBACK_DELTA_SECONDS / SCALE)}",
             "--storage.tsdb.retention.time=1d", "--log.level=warn"],
            log=base / "prometheus.log", cwd=base)
        try:
            self.process.wait_ready(lambda: services.http_ok(f"{self.url}/-/ready"), timeout=60, what="Prometheus")
        except BaseException:
            self.process.stop()
            raise

    def api(self, path: str, **params: str) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:  # noqa: S310
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """An instant query, now or at a past wall-clock time."""
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        return self.api("query", **params)["result"]

    def alerts(self) -> list[dict]:
        return self.api("alerts")["alerts"]

    def stop(self) -> None:
        self.process.stop()


# --- provoking: what production failures look like, with the real processes -------------------

def local_executor_workers(scheduler: services.Process) -> list[int]:
    """PIDs of the LocalExecutor's worker processes (forked by the scheduler, in its process
    group, titled `airflow worker -- LocalExecutor...` by Airflow)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == scheduler.proc.pid:
            continue
        try:
            if os.getpgid(int(entry.name)) != scheduler.proc.pid:
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ProcessLookupError):
            continue
        if "LocalExecutor" in title:
            pids.append(int(entry.name))
    return pids


def signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


class PoolExhaustion:
    """PgBouncer's pool for Airflow's database held by long transactions (what slow queries
    do), plus clients queueing behind them: `holders` sessions each keep a server connection
    busy in `pg_sleep`, `waiters` more ask for one and wait. Stopped by ending the clients and
    the sleeps they started."""

    def __init__(self, url: str, *, holders: int, waiters: int, seconds: int, postgres: services.Postgres) -> None:
        self.postgres = postgres
        self.clients = [subprocess.Popen([services.pg_bin("psql"), url, "-X", "-c", f"SELECT pg_sleep({seconds})"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for _ in range(holders)]
        self.clients += [subprocess.Popen([services.pg_bin("psql"), url, "-X", "-c", "SELECT 1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for _ in range(waiters)]
        # A holder that ends at once (a URL psql refuses, a refused login) exhausts nothing, and
        # the alert would only time out: say so here instead.
        time.sleep(3)
        ended = [c.returncode for c in self.clients[:holders] if c.poll() is not None]
        if ended:
            self.stop()
            raise AssertionError(f"{len(ended)} of {holders} pool holders ended at once (exit codes {ended})")

    def stop(self) -> None:
        if not self.clients:
            return
        for client in self.clients:
            if client.poll() is None:
                client.kill()
            client.wait(10)
        self.clients = []
        self.postgres.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE query LIKE 'SELECT pg_sleep(%' AND pid <> pg_backend_pid()")
