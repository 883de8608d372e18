"""Test 5: a DAG runs to success on API server, scheduler, DAG processor and triggerer started
from the rendered chart, through PgBouncer; its task log lands in S3 (moto) under
remote_base_log_folder through the program's AIRFLOW_CONN_AWS_DEFAULT, and the API serves it
from there once the local copy is gone.

Changes (airflow_env.CHANGES): all of them, executor included (LocalExecutor), plus one API
server worker on a free port (conftest.stack).
"""

from __future__ import annotations

import json
import shutil

from . import api, services

DAG = "runtime_smoke"
MARKER = "runtime-tier-marker-7f3a"  # printed by dags/runtime_smoke.py


def test_a_dag_runs_to_success_and_its_log_is_served_from_s3(stack, admin_token):
    run = api.run_dag(stack.api, admin_token, DAG)
    run_url = f"{stack.api}/api/v2/dags/{DAG}/dagRuns/{run['dag_run_id']}"
    _, tis = api.call("GET", f"{run_url}/taskInstances", token=admin_token)
    states = {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}
    tries = {ti["task_id"]: ti["try_number"] for ti in tis["task_instances"]}
    assert run["state"] == "success", (states, services.tail(stack.processes["scheduler"].log, 60))
    assert states == {"say_hello": "success", "deferred_wait": "success"}, states
    # The deferred task came back through the triggerer (only a fired trigger resumes it).
    # (The task's state is set before its process uploads the log: poll, bounded.) Its last try
    # is the one that resumed (a retry after apache/airflow#72716 defers and resumes again).
    resumed = f"{MARKER}: resumed after the triggerer fired"
    last = f"{run_url}/taskInstances/deferred_wait/logs/{tries['deferred_wait']}"
    deferred = api.poll(lambda: api.call("GET", last, token=admin_token),
                        lambda r: r[0] == 200 and resumed in json.dumps(r[1]), timeout=60, what="resumed log")
    assert "triggerer_job_runner" in json.dumps(deferred[1])  # the trigger's own lines, from the triggerer

    # S3: the object under the configured prefix holds the task's output.
    def s3_keys() -> list[str]:
        return json.loads(services.tools_python(
            "import boto3, json; r = boto3.client('s3').list_objects_v2("
            f"Bucket={stack.logs_bucket!r}, Prefix={stack.logs_prefix + '/'!r}); "
            "print(json.dumps([o['Key'] for o in r.get('Contents', [])]))", env=stack.aws_env))

    keys = api.poll(s3_keys, lambda ks: any("task_id=say_hello/" in k for k in ks), timeout=60, what="S3 log")
    hello = [k for k in keys if f"dag_id={DAG}/" in k and "task_id=say_hello/" in k]
    assert hello, keys
    body = services.tools_python(
        f"import boto3; print(boto3.client('s3').get_object(Bucket={stack.logs_bucket!r}, Key={hello[0]!r})"
        "['Body'].read().decode())", env=stack.aws_env)
    assert MARKER in body

    # The API server's async endpoint (asyncpg through PgBouncer, test_async_database).
    status, waited = api.call("GET", f"{run_url}/wait?interval=1", token=admin_token)
    assert status == 200 and '"state": "success"' in json.dumps(waited), (status, waited)

    # The task's process is gone and so is its local log: the API must read S3.
    local = list(stack.home.path.glob(f"containers/*/logs/dag_id={DAG}"))
    assert local, "the task wrote no local log first"
    for folder in local:
        shutil.rmtree(folder)
    status, log = api.call("GET", f"{run_url}/taskInstances/say_hello/logs/1", token=admin_token)
    assert status == 200, log
    assert MARKER in json.dumps(log), log
