"""Test 8: where the real Airflow processes write, against where their rendered containers may.

Every container runs on a read-only root filesystem (helm_values, pod_security): a process
that writes anywhere but the writable volumes its container mounts (emptyDirs, the
triggerer's claim) fails in the cluster. The runtime tier cannot run the images, but it runs
the same Airflow 3.1.8 with each container's rendered command and env, its AIRFLOW_HOME
(/opt/airflow) holding only the files the container mounts, and its HOME (/home/airflow) and
TMPDIR (/tmp) as empty folders of its own (CHANGES scratch-dirs). Every file and folder the
processes leave there, read back as the image's path, must lie under a writable mount of that
container: the API server, scheduler (and, with the LocalExecutor here, the tasks it runs, as
a task pod's `base` container would), DAG processor and triggerer after a DAG run of the
test's own, the migration Job and the create-user Job's two containers.

Not seen here: writes to other absolute paths (the processes run as the test's user on the
host), and the images' own programs (the entrypoint, /clean-logs, git-sync, PgBouncer), whose
write paths come from their sources (README, Pod security).

Changes (airflow_env.CHANGES): all of them; this reads the processes of tests 1, 3 and 5.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_eks import pod_security

from . import airflow_env, api, program


def written(home: airflow_env.AirflowHome, gen: program.Generated, container: dict) -> list[str]:
    """Image paths of everything the container's processes created under its three roots."""
    mounted = set(gen.mounted_files(container))
    found = []
    for image_root, local in home.roots(container).items():
        for path in sorted(local.rglob("*")):
            image_path = f"{image_root}/{path.relative_to(local).as_posix()}"
            if image_path in mounted or any(m.startswith(f"{image_path}/") for m in mounted):
                continue  # the harness put it there: a mounted file or the folder it sits in
            if image_path in airflow_env.IMAGE_DIRS:
                continue  # the image has it (and so does the harness)
            if "__pycache__" in path.parts:
                continue  # a bytecode cache Python cannot write it skips (importlib ignores the OSError)
            found.append(image_path)
    return found


def outside(paths: list[str], writable: set[str]) -> list[str]:
    return [p for p in paths if not any(p == w or p.startswith(f"{w}/") for w in writable)]


def containers_run(gen, stack, migrated) -> list[tuple[airflow_env.AirflowHome, dict]]:
    create_user = gen.workload("Job", "create-user")["spec"]["template"]["spec"]
    return [
        *((stack.home, gen.container(kind, component, component)) for kind, component in airflow_env.COMPONENTS),
        (migrated[0], gen.container("Job", "run-airflow-migrations", "run-airflow-migrations")),
        *((stack.home, c) for c in [*create_user["initContainers"], *create_user["containers"]]),
    ]


def test_every_airflow_process_writes_only_to_its_containers_writable_volumes(gen, stack, migrated, admin,
                                                                              admin_token):
    # A run of its own: test 5 deletes the local task logs of the shared run (to read them from S3).
    run = api.run_dag(stack.api, admin_token, "runtime_smoke")
    assert run["state"] == "success", run
    assert all(result.returncode == 0 for _, result in admin.results), "the create-user Job ran (test 3)"
    report, wrong = {}, {}
    for home, container in containers_run(gen, stack, migrated):
        paths = written(home, gen, container)
        report[container["name"]] = paths
        if bad := outside(paths, gen.writable_paths(container)):
            wrong[container["name"]] = bad
    print("written:", json.dumps(report, indent=1))  # noqa: T201 - the record for README, Pod security
    assert wrong == {}, report
    # The check sees writes at all: the scheduler's tasks, the triggerer and the DAG processor
    # log to the logs folder, under the emptyDir (the triggerer's claim) the chart mounts there.
    logs = pod_security.AIRFLOW_LOGS_PATH
    for name in ("scheduler", "triggerer", "dag-processor"):
        assert any(p.startswith(f"{logs}/") for p in report[name]), (name, report[name])


@pytest.mark.parametrize(("path", "allowed"), [
    ("/opt/airflow/logs/dag_id=x/run_id=y/task_id=z/attempt=1.log", True),
    ("/tmp/tmpab12cd", True),
    ("/opt/airflow/airflow.cfg", False),
    ("/opt/airflow/logsx", False),
    ("/home/airflow/.cache/x", False),
])
def test_a_write_counts_only_under_a_writable_mount(path, allowed):
    writable = {pod_security.AIRFLOW_LOGS_PATH, pod_security.TMP_PATH}
    assert (outside([path], writable) == []) is allowed


def test_written_reads_the_image_paths_back_and_skips_what_the_harness_mounted(tmp_path, gen):
    container = gen.container("Deployment", "scheduler", "scheduler")
    home = airflow_env.AirflowHome(tmp_path, gen, pgbouncer_port=1)
    roots = home.roots(container)
    (roots[airflow_env.IMAGE_HOME] / ".cache").mkdir()
    (roots[airflow_env.IMAGE_TMP] / "scratch").write_text("x")
    (roots[airflow_env.CHART_AIRFLOW_HOME] / "webserver_config.py").write_text("x")
    assert written(home, gen, container) == ["/opt/airflow/webserver_config.py", "/home/airflow/.cache",
                                             "/tmp/scratch"]
    assert Path(home.container_env(container)["HOME"]) == roots[airflow_env.IMAGE_HOME]
