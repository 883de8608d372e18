"""airflow_local_settings.py: Airflow's async engine (asyncpg, or psycopg 3 from Airflow 3.4) through
PgBouncer's transaction pooling (defects found by the runtime tier, runtime/tests/test_async_database.py,
which also runs the module with the real Airflow and drivers)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_eks import helm_values, local_settings
from tests import charts, manifests
from tests.test_rendered_airflow import airflow_objects

AIRFLOW_CONTAINERS = {"airflow-scheduler": "scheduler", "airflow-api-server": "api-server",
                      "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}


def generated_module(driver: str | None = None) -> dict:
    """The module as Airflow imports it; `driver` stands in for the one airflow.settings chose
    (the runtime tier reads the real one)."""
    namespace: dict = {}
    exec(compile(local_settings.SOURCE, "airflow_local_settings.py", "exec"), namespace)  # noqa: S102
    if driver is not None:
        namespace["async_driver"] = lambda: driver
    return namespace


def connect_args(driver: str) -> dict:
    # What SQLAlchemy does with connect_args: cparams.update(connect_args).
    return dict(generated_module(driver)[local_settings.ASYNC_CONNECT_ARGS])


def test_async_connect_args_disable_both_statement_caches_and_prepare_only_unnamed_statements():
    args = connect_args(local_settings.ASYNCPG)
    assert args["statement_cache_size"] == 0  # asyncpg
    assert args["prepared_statement_cache_size"] == 0  # SQLAlchemy's adapter
    # asyncpg's unnamed statement every time: not its per-process counter names
    # (__asyncpg_stmt_1__, ...), which collide on a shared PgBouncer server connection, nor
    # SQLAlchemy's UUID recipe, whose statements stay prepared on the server connections
    # (runtime/tests/test_async_database.py measures both).
    assert {args["prepared_statement_name_func"]() for _ in range(100)} == {""}


def test_psycopg_never_prepares_on_the_server_and_gets_no_asyncpg_argument():
    # prepare_threshold None: psycopg 3 never prepares (its default prepares after 5 executions);
    # asyncpg's statement_cache_size is no psycopg connection option (Airflow 3.4.0b2: every
    # async session failed with it).
    assert connect_args(local_settings.PSYCOPG_ASYNC) == {"prepare_threshold": None}


def test_an_unknown_async_driver_stops_the_engine_naming_the_driver():
    with pytest.raises(RuntimeError, match="'aiomysql'"):
        connect_args("aiomysql")
    # Nothing is resolved at import: the module loads before Airflow has chosen a driver.
    assert generated_module()[local_settings.ASYNC_CONNECT_ARGS] is not None


def test_airflow_reads_the_connect_args_from_the_module_the_chart_mounts(program):
    release = next(r for r in program.find("kubernetes:helm.sh/v3:Release") if r.get("chart") == "airflow")
    values = release.plain_inputs["values"]
    assert values["airflowLocalSettings"] == local_settings.SOURCE
    path = values["config"]["database"]["sql_alchemy_connect_args_async"]
    module, _, attribute = path.rpartition(".")
    assert (module, attribute) == (local_settings.MODULE, local_settings.ASYNC_CONNECT_ARGS)

    objects = airflow_objects(program)
    config = charts.one(objects, "ConfigMap", "airflow-config")["data"]
    assert config[f"{module}.py"].strip() == local_settings.SOURCE.strip()
    assert f"sql_alchemy_connect_args_async = {path}" in config["airflow.cfg"]
    # Every component that opens the async engine imports it from $AIRFLOW_HOME/config.
    for workload, container in AIRFLOW_CONTAINERS.items():
        kind = "StatefulSet" if workload.endswith("triggerer") else "Deployment"
        spec = charts.pod_spec(charts.one(objects, kind, workload))
        mounts = next(c for c in spec["containers"] if c["name"] == container)["volumeMounts"]
        assert any(m["mountPath"] == f"/opt/airflow/config/{module}.py" for m in mounts), workload


def test_every_container_with_the_rendered_airflow_cfg_also_mounts_the_module(programs):
    """airflow.cfg names the module and every Airflow process imports it at start
    (settings.configure_orm -> conf.getimport): a container that mounts the file without the
    module would fail before doing anything. Task pods included (the pod template)."""
    config_dir = "/opt/airflow/config"
    for stack, run in programs.items():
        objects = airflow_objects(run)
        pods = [(o["metadata"]["name"], charts.pod_spec(o)) for o in objects
                if o["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet")]
        pods.append(("task pod template", manifests.task_pod_template(objects)["spec"]))
        with_cfg = []
        for name, spec in pods:
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
                if "/opt/airflow/airflow.cfg" in mounts:
                    with_cfg.append((name, container["name"]))
                    assert f"{config_dir}/{local_settings.MODULE}.py" in mounts, (stack, name, container["name"])
        # The check saw the components, the migration Job and the task pods.
        assert {("task pod template", "base"), ("airflow-run-airflow-migrations", "run-airflow-migrations"),
                ("airflow-scheduler", "scheduler")} <= set(with_cfg), (stack, with_cfg)


# -- the migration Job's command --------------------------------------------------------------
def test_the_migration_job_runs_the_mounted_module_as_its_command(programs):
    for stack, run in programs.items():
        objects = airflow_objects(run)
        job = charts.pod_spec(charts.one(objects, "Job", "airflow-run-airflow-migrations"))["containers"][0]
        assert job["args"] == helm_values.migration_args(), stack
        script = job["args"][2]
        assert f'"$AIRFLOW_HOME/config/{local_settings.MODULE}.py" {local_settings.MIGRATE_COMMAND}' in script
        assert "$(" not in script  # Kubernetes would read $(...) as a variable reference
        mounts = {m["mountPath"] for m in job["volumeMounts"]}
        assert f"/opt/airflow/config/{local_settings.MODULE}.py" in mounts  # the image's AIRFLOW_HOME


def fake_airflow(tmp_path, monkeypatch, exits: list[int]) -> Path:
    """An `airflow` on PATH that exits with each code in turn and records its PGAPPNAME."""
    calls = tmp_path / "calls"
    script = tmp_path / "bin" / "airflow"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n"
                      f'n=$(wc -l < "{calls}" 2>/dev/null || echo 0)\n'
                      f'echo "$* $PGAPPNAME" >> "{calls}"\n'
                      f'set -- {" ".join(str(e) for e in exits)}\n'
                      'shift "$n"; exit "${1:-0}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://u:p@127.0.0.1:1/db")
    # No database here: the guard's connection fails, it says so and keeps trying, the
    # migration goes on (the runtime tier runs the guard against PostgreSQL for real).
    monkeypatch.setitem(sys.modules, "psycopg2", SimpleNamespace(connect=lambda *a, **k: 1 / 0))
    return calls


def test_the_migration_retries_airflow_db_migrate_in_place_and_gives_up_after_the_bound(tmp_path, monkeypatch):
    calls = fake_airflow(tmp_path, monkeypatch, [1, 1, 0])
    assert generated_module()["migrate"](attempts=3, pause=0) == 0
    assert calls.read_text().splitlines() == [f"db migrate {local_settings.MIGRATION_APP}"] * 3


def test_the_migration_exits_non_zero_after_its_last_attempt_for_kubernetes_to_restart_it(tmp_path, monkeypatch,
                                                                                          capsys):
    calls = fake_airflow(tmp_path, monkeypatch, [1] * 9)
    assert generated_module()["migrate"](attempts=local_settings.MIGRATION_ATTEMPTS, pause=0) == 1
    assert len(calls.read_text().splitlines()) == local_settings.MIGRATION_ATTEMPTS
    err = capsys.readouterr().err
    assert f"airflow db migrate attempt {local_settings.MIGRATION_ATTEMPTS} of {local_settings.MIGRATION_ATTEMPTS} " \
           "failed" in err


def test_the_guard_polls_well_inside_postgresqls_deadlock_timeout():
    # deadlock_timeout defaults to 1 s (PostgreSQL docs, "Lock Management"; RDS keeps it).
    assert local_settings.GUARD_POLL_SECONDS * 5 <= 1.0
