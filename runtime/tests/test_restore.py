"""Test 8: what a teardown kept comes back. A metadata database the real Airflow populated (a
DAG run whose task read an encrypted connection and variable, in a pool of its own, its log in
the S3 stand-in) is dumped and restored into a fresh PostgreSQL (the stand-in for an RDS
snapshot restore), and served by Airflow as the program configures a restored stack:
`fernetKey` set to the old stack's key, `existingLogsBucketName` adopting the old logs bucket.
The old run and its log are served, the connection and variable decrypt, a new run succeeds.
Negative control: the same database read with another key (what a new stack without fernetKey
generates) decrypts neither.

Changes (airflow_env.CHANGES): all of them, executor included (LocalExecutor). pg_dump and
pg_restore stand in for the snapshot and its restore: RDS restores the whole volume, roles
included, and the provider then sets the program's master password; here the role is created
with that password before the restore. The restored stack runs the migration Job, the API
server, scheduler and DAG processor (no triggerer: its DAG defers nothing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from pathlib import Path

from airflow_eks.restore import settings as restore
from airflow_eks.secret_data import FERNET_KEY, SECRET_NAMES

from . import api, program, services
from .airflow_env import AirflowHome
from .conftest import airflow_components, metadata_database, remote_log_folder

PROBE = Path(__file__).with_name("fernet_probe.py")
DAG = "restore_probe"
TASK = "read_connection_and_variable"
MARKER = "restore-probe-marker-5c1e"  # printed by dags/restore_probe.py
CONN_ID, VARIABLE, POOL = "restore_probe_conn", "restore_probe_greeting", "restore_probe_pool"
PASSWORD = "kept-in-the-snapshot-9Qx"  # noqa: S105 - a test connection's password
GREETING = "hello from before the teardown"
RESTORED_COMPONENTS = [("Deployment", "api-server"), ("Deployment", "scheduler"), ("Deployment", "dag-processor")]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expected_line() -> str:
    return f"{MARKER}: password={digest(PASSWORD)} variable={digest(GREETING)}"


def task_log(base: str, token: str, run_id: str) -> str:
    status, log = api.call("GET", f"{base}/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/{TASK}/logs/1",
                           token=token)
    assert status == 200, log
    return json.dumps(log)


def pg_tool(postgres: services.Postgres, tool: str, *args: str) -> None:
    """pg_dump / pg_restore as the superuser over the cluster's private socket."""
    out = subprocess.run([services.pg_bin(tool), "-h", str(postgres.socket_dir), "-p", str(postgres.port),
                          "-U", "postgres", *args], capture_output=True, text=True, timeout=120,
                         user=services.service_user())
    assert out.returncode == 0, out.stderr[-2000:]


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=env["AIRFLOW_HOME"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, what: str) -> str:
    """The process's stdout once it exited 0 (bounded: 300 s on a loaded machine)."""
    try:
        out, err = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"{what}: still running after 300 s") from None
    assert process.returncode == 0, f"{what}: {err[-3000:]}"
    return out


def probe(env: dict[str, str], *fernet_keys: str) -> subprocess.Popen:
    """fernet_probe.py with each key in turn (one Airflow import for all of them)."""
    return start([str(services.AIRFLOW_VENV / "bin" / "python"), str(PROBE), CONN_ID, VARIABLE, *fernet_keys], env)


def probed(process: subprocess.Popen) -> list[dict]:
    return json.loads(finish(process, "fernet probe").split("RESULT", 1)[1])


def test_restore_a_dumped_database_and_the_kept_logs_bucket_with_the_carried_over_fernet_key(
        gen, database, stack, admin, admin_token, tmp_path):
    # The old stack: a connection, a variable and a pool, and a run whose task reads the first two.
    for path, body in (("connections", {"connection_id": CONN_ID, "conn_type": "postgres", "host": "warehouse",
                                        "login": "reader", "password": PASSWORD}),
                       ("variables", {"key": VARIABLE, "value": GREETING}),
                       ("pools", {"name": POOL, "slots": 3})):
        status, created = api.call("POST", f"{stack.api}/api/v2/{path}", body, token=admin_token)
        assert status == 201, (path, status, created)
    old_run = api.run_dag(stack.api, admin_token, DAG)
    assert old_run["state"] == "success", services.tail(stack.processes["scheduler"].log, 60)
    # Encrypted at rest with the old stack's key: without it, the restored rows are unreadable.
    encrypted = database.postgres.sql(
        f"SELECT (SELECT is_encrypted FROM connection WHERE conn_id = '{CONN_ID}') AND "
        f"(SELECT is_encrypted FROM variable WHERE key = '{VARIABLE}')", database.database)
    assert encrypted == "t"
    # The task's log reaches S3 once its process uploads it (after the state is set): bounded poll.
    api.poll(lambda: task_log(stack.api, admin_token, old_run["dag_run_id"]),
             lambda log: expected_line() in log, timeout=60, what="the old run's log")

    # The snapshot: a dump of the old database; the old stack's key, read where the runbook reads it.
    dump_dir = services.owned_dir("airflow-eks-runtime-dump-")
    dump = dump_dir / "metadata.dump"
    pg_tool(database.postgres, "pg_dump", "--format=custom", f"--file={dump}", database.database)
    old_key = gen.secret(SECRET_NAMES.fernet, FERNET_KEY)

    # The restored stack as the program generates it with the restore keys.
    restored_gen = program.generated("dev", secrets=((restore.FERNET_KEY, old_key),),
                                     existingLogsBucketName=stack.logs_bucket)
    assert restored_gen.secret(SECRET_NAMES.fernet, FERNET_KEY) == old_key
    assert remote_log_folder(restored_gen.airflow_cfg()) == (stack.logs_bucket, stack.logs_prefix)

    def restore_dump(postgres: services.Postgres, dbname: str) -> None:
        pg_tool(postgres, "pg_restore", "--exit-on-error", f"--dbname={dbname}", str(dump))

    try:
        with metadata_database(restored_gen, restore=restore_dump) as restored_db:
            # What the chart runs first on `pulumi up`: the migration Job's `airflow db migrate`, in
            # the Job's environment, on the restored schema (its guard is test_upgrade.py's subject).
            # Beside it (they only read), the probes: the key the program's Secret holds, and the
            # negative control, another key (what a new stack generates without fernetKey: 32
            # random bytes in URL-safe base64, as Fernet.generate_key makes them).
            home = AirflowHome(tmp_path / "migrate", restored_gen, pgbouncer_port=restored_db.pgbouncer_port)
            migrate_env = home.env("Job", "run-airflow-migrations", "run-airflow-migrations")
            migrate = start([str(services.AIRFLOW), "db", "migrate"], migrate_env)
            keys = probe(migrate_env, base64.urlsafe_b64encode(os.urandom(32)).decode(),
                         restored_gen.secret(SECRET_NAMES.fernet, FERNET_KEY))
            finish(migrate, "airflow db migrate")
            wrong, right = probed(keys)
            assert wrong == {"password": None, "password_error": "InvalidToken", "variable": None}, wrong
            assert right == {"password": digest(PASSWORD), "password_error": None, "variable": digest(GREETING)}

            with airflow_components(restored_gen, restored_db, tmp_path / "restored", stack.moto, stack.aws_env,
                                    components=RESTORED_COMPONENTS) as restored:
                status, body = api.token(restored.api, admin.username, admin.password)
                assert status == 201, body
                token = body["access_token"]
                # The old run, from the restored database; its log, from the adopted bucket (this
                # stack has never run it: there is no local copy).
                status, runs = api.call("GET", f"{restored.api}/api/v2/dags/{DAG}/dagRuns", token=token)
                assert status == 200, runs
                assert {(r["dag_run_id"], r["state"]) for r in runs["dag_runs"]} >= {(old_run["dag_run_id"],
                                                                                         "success")}
                assert not list(restored.home.path.glob(f"containers/*/logs/dag_id={DAG}"))
                assert expected_line() in task_log(restored.api, token, old_run["dag_run_id"])
                status, pool = api.call("GET", f"{restored.api}/api/v2/pools/{POOL}", token=token)
                assert (status, pool.get("slots")) == (200, 3), pool
                # A new run: its task decrypts the connection and the variable with the carried key.
                new_run = api.run_dag(restored.api, token, DAG)
                assert new_run["state"] == "success", services.tail(restored.processes["scheduler"].log, 80)
                api.poll(lambda: task_log(restored.api, token, new_run["dag_run_id"]),
                         lambda log: expected_line() in log, timeout=60, what="the new run's log")
    finally:
        dump.unlink(missing_ok=True)
        dump_dir.rmdir()
