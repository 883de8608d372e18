"""airflow_local_settings.py: Airflow's asyncpg engine through PgBouncer's transaction pooling
(defect found by the runtime tier, runtime/tests/test_async_database.py)."""

from __future__ import annotations

from airflow_eks import local_settings
from tests import charts, manifests
from tests.test_rendered_airflow import airflow_objects

AIRFLOW_CONTAINERS = {"airflow-scheduler": "scheduler", "airflow-api-server": "api-server",
                      "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}


def generated_module() -> dict:
    namespace: dict = {}
    exec(compile(local_settings.SOURCE, "airflow_local_settings.py", "exec"), namespace)  # noqa: S102
    return namespace


def test_async_connect_args_disable_both_statement_caches_and_prepare_only_unnamed_statements():
    args = generated_module()[local_settings.ASYNC_CONNECT_ARGS]
    assert args["statement_cache_size"] == 0  # asyncpg
    assert args["prepared_statement_cache_size"] == 0  # SQLAlchemy's adapter
    # asyncpg's unnamed statement every time: not its per-process counter names
    # (__asyncpg_stmt_1__, ...), which collide on a shared PgBouncer server connection, nor
    # SQLAlchemy's UUID recipe, whose statements stay prepared on the server connections
    # (runtime/tests/test_async_database.py measures both).
    assert {args["prepared_statement_name_func"]() for _ in range(100)} == {""}


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
