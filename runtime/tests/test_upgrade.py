"""The upgrade test: the upgrade from the release deployed stacks ran before the default moved
(services.UPGRADE_FROM, 3.1.8) to the default (services.AIRFLOW_VERSION), on a metadata database
that the old Airflow created and filled, with the old API server running and signing users in
while the new default's migration runs, as it is during a chart upgrade (the old pods go only
once the new ones are ready, and those wait for the migration).

1. The old release's migration Job (rendered for airflowVersion UPGRADE_FROM) creates the schema
   through a PgBouncer of its own with the program's pgbouncer.ini; the old API server, scheduler
   and DAG processor run a DAG (DAG run, task instance, XCom, task log in moto's S3); the REST API
   adds a connection, a variable and a pool, FAB's API a custom role and a user in it; the admin
   comes from the old create-user Job's container.
2. That database becomes a template. REPEATS times: a copy, PgBouncer pointed at it (a reload, as
   RDS stays where it is), two threads signing the custom user in to the OLD API server without
   pause (each sign-in is FAB's `UPDATE ab_user SET last_login ...`), and the NEW default's
   migration Job container as rendered (its args: `airflow db migrate` with the guard of
   local_settings.py, retried in place up to MIGRATION_ATTEMPTS), through PgBouncer as its env
   says, rerun as Kubernetes reruns a failed container (restartPolicy OnFailure, up to
   backoffLimit 6). Every repetition must succeed at its first attempt, without a deadlock, the
   core and FAB schemas at the default's heads, with sign-ins succeeding during it. The control:
   the same container with a bare `airflow db migrate` (no guard) deadlocks.
3. On the last copy: every row listed in ROWS survived (permissions may only grow), the new API
   server (and scheduler, DAG processor) serves the old run, its XCom and its S3 log, the
   connection decrypts, the custom user signs in with their role, and a new run succeeds.

UPGRADE_REPEATS (default 3: each further one costs about 15 s here; the docs' figures are from 10) sets
the repetitions, each after the first on a new old API server process; the figures of a run are in the JUnit report
(record_property) and printed with -s.

Changes (airflow_env.CHANGES): all but sso-issuer; the Kubernetes back-off between container
restarts (10 s, doubling) is not waited for.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest

from airflow_eks import helm_values, secret_data
from airflow_eks.secret_data import SECRET_NAMES
from tests import charts

from . import airflow_env, api, program, services
from .conftest import Database, Stack, airflow_components, moto_aws_env, pgbouncer

REPEATS = int(os.environ.get("UPGRADE_REPEATS", "3"))
BACKOFF_LIMIT = 6  # Kubernetes' default; chart 1.19.0's Job template sets none
CONTROL_TIMEOUT = 180  # s: the unguarded control, which can wait for ever (test_without_the_guard...)
DAG = "upgrade_smoke"
MARKER = "upgrade-test-marker-5c1e"  # printed by dags/upgrade_smoke.py
ROLE, USER, PASSWORD = "DataReaders", "reader", "Upgrade-Reader-1"  # noqa: S105 - a test user
ROLE_ACTIONS = [("can_read", "DAG Runs"), ("can_read", "Task Instances"), ("can_read", "Task Logs")]

# Rows that must survive, as sorted lines of `psql -A`; permissions may only grow (the new API
# server syncs its own at start).
ROWS = {
    "dag_run": "select dag_id, run_id, state from dag_run",
    "task_instance": "select dag_id, task_id, run_id, map_index, state, try_number from task_instance",
    "xcom": "select dag_id, task_id, run_id, key from xcom",
    "connection": "select conn_id, conn_type, host, login, schema, port from connection",
    "variable": "select key from variable",
    "slot_pool": "select pool, slots from slot_pool",
    "ab_user": "select username, email, active from ab_user",
    "ab_role": "select name from ab_role",
    "ab_user_role": "select u.username, r.name from ab_user_role ur join ab_user u on u.id = ur.user_id "
                    "join ab_role r on r.id = ur.role_id",
}
PERMISSIONS = ("select r.name, p.name, v.name from ab_permission_view_role pvr join ab_role r on r.id = pvr.role_id "
               "join ab_permission_view pv on pv.id = pvr.permission_view_id join ab_permission p on "
               "p.id = pv.permission_id join ab_view_menu v on v.id = pv.view_menu_id")
HEADS = {"core": "select version_num from alembic_version", "fab": "select version_num from alembic_version_fab"}


# ---- the test's PgBouncer, repointed by a reload -------------------------------------------
def point_at(bouncer: Database, dbname: str) -> None:
    """RELOAD with the database alias on `dbname`: PgBouncer closes server connections to the
    old database as they are released and opens new ones to the new; clients stay connected."""
    bouncer.ini = re.sub(r"(?<= dbname=)\S+", dbname, bouncer.ini, count=1)
    bouncer.pgbouncer.ini.write_text(bouncer.ini)
    os.kill(bouncer.pgbouncer.process.proc.pid, signal.SIGHUP)
    bouncer.database = dbname
    url = (f"postgresql://{quote(bouncer.user, safe='')}:{quote(bouncer.password, safe='')}@127.0.0.1:"
           f"{bouncer.pgbouncer_port}/{secret_data.PGBOUNCER_DATABASE}")
    api.poll(lambda: services.psql(url, "select current_database()").stdout.strip(), lambda d: d == dbname,
             timeout=30, interval=0.5, what=f"PgBouncer serving {dbname}")


def rows(postgres: services.Postgres, dbname: str, query: str) -> list[str]:
    return sorted(postgres.sql(query, database=dbname).splitlines())


def snapshot(postgres: services.Postgres, dbname: str) -> dict[str, list[str]]:
    return {table: rows(postgres, dbname, query) for table, query in ROWS.items()}


# ---- sign-ins to the old API server --------------------------------------------------------
@dataclass
class SignIns:
    """Threads signing a user in to an API server back to back (FAB's REST login)."""

    api: str
    threads: int = 2
    results: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                status, _ = api.token(self.api, USER, PASSWORD)
            except OSError:  # the server busy or restarting: counted as a failure
                status = 0
            self.results.append((time.monotonic(), status))

    def succeeded_between(self, start: float, end: float) -> int:
        return sum(1 for at, status in list(self.results) if start <= at <= end and status == 201)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)


def run_like_kubernetes(home: airflow_env.AirflowHome, container: dict, *, attempts: int = BACKOFF_LIMIT + 1,
                        timeout: float = 900) -> list[subprocess.CompletedProcess]:
    """The container to completion, rerun after each failure up to backoffLimit times. A run
    still going after `timeout` is killed and counted as failed (returncode None)."""
    runs: list[subprocess.CompletedProcess] = []
    for _ in range(attempts):
        try:
            runs.append(home.run_container(container, timeout=timeout))
        except subprocess.TimeoutExpired as e:  # its output so far, as bytes (subprocess.run on POSIX)
            out, err = ((b or b"").decode(errors="replace") for b in (e.stdout, e.stderr))
            runs.append(subprocess.CompletedProcess(e.cmd, None, out, err))
            break
        if runs[-1].returncode == 0:
            break
    return runs


def lock_waits(postgres: services.Postgres, dbname: str) -> list[str]:
    """Statements on `dbname` waiting for a lock, each with what its blockers are doing."""
    return postgres.sql(
        "SELECT regexp_replace(w.query || ' <- ' || string_agg(b.state || ': ' || left(b.query, 60), '; '), "
        "'\\s+', ' ', 'g') "
        "FROM pg_stat_activity w JOIN pg_stat_activity b ON b.pid = ANY(pg_blocking_pids(w.pid)) "
        f"WHERE w.datname = '{dbname}' AND w.wait_event_type = 'Lock' GROUP BY w.pid, w.query").splitlines()


# ---- the old stack and its data ------------------------------------------------------------
@dataclass
class OldData:
    database: Database
    """The test's PgBouncer on the session's PostgreSQL (conftest.pgbouncer), moved by point_at."""
    template: str
    moto: services.Moto
    aws_env: dict[str, str]
    old: Stack
    admin: tuple[str, str]
    run_id: str
    before: dict[str, list[str]]
    permissions: list[str]


@pytest.fixture(scope="module")
def old_data(gen, database, tmp_path_factory):
    postgres = database.postgres
    gen_old = program.generated("dev", airflowVersion=services.UPGRADE_FROM)
    template = "upgrade_template"
    base = tmp_path_factory.mktemp("upgrade")
    moto = None
    try:
        with pgbouncer(gen_old, postgres, template) as upgrade_db:
            postgres.sql(f'CREATE DATABASE "{template}" OWNER "{upgrade_db.user}"')
            # The old release's migration Job creates the schema, as on the stack's first deploy.
            old_home = airflow_env.AirflowHome(base / "old-migrate", gen_old, pgbouncer_port=upgrade_db.pgbouncer_port,
                                               venv=services.OLD_AIRFLOW_VENV)
            migrate = old_home.run_container(
                gen_old.container("Job", "run-airflow-migrations", "run-airflow-migrations"), timeout=900)
            assert migrate.returncode == 0, migrate.stderr[-3000:]
            moto = services.Moto(base)
            aws_env = moto_aws_env(gen_old, moto)
            with airflow_components(gen_old, upgrade_db, base / "old", moto, aws_env,
                                    components=airflow_env.COMPONENTS[:3], dags=(f"{DAG}.py",),
                                    venv=services.OLD_AIRFLOW_VENV) as old:
                # The chart's create-user Job container makes the admin with the Secret's password.
                create_user = next(c for c in charts.pod_spec(gen_old.workload("Job", "create-user"))["containers"])
                created = old.home.run_container(create_user, timeout=300)
                assert created.returncode == 0, created.stderr[-3000:]
                admin = (helm_values.ADMIN_USERNAME, gen_old.secret(SECRET_NAMES.admin, secret_data.ADMIN_PASSWORD_KEY))
                status, body = api.token(old.api, *admin)
                assert status == 201, (status, body)
                token = body["access_token"]
                run = api.run_dag(old.api, token, DAG)
                assert run["state"] == "success", services.tail(old.processes["scheduler"].log, 60)
                populate(old.api, token)
                # Only the API server stays, as the component that writes FAB's tables on sign-in.
                for component in ("scheduler", "dag-processor"):
                    old.processes[component].stop()
                wait_for_s3_log(old)
                before = snapshot(postgres, template)
                permissions = rows(postgres, template, PERMISSIONS)
                # A template must have no connection: park PgBouncer on an empty database.
                postgres.sql(f'CREATE DATABASE "upgrade_parking" OWNER "{upgrade_db.user}"')
                point_at(upgrade_db, "upgrade_parking")
                api.poll(lambda: postgres.sql(f"select count(*) from pg_stat_activity where datname = '{template}'"),
                         lambda n: n == "0", timeout=60, what=f"connections to {template} closed")
                yield OldData(upgrade_db, template, moto, aws_env, old, admin, run["dag_run_id"], before,
                              permissions)
    finally:
        if moto:
            moto.stop()


def populate(base: str, token: str) -> None:
    """A connection, a variable and a pool through the REST API; a custom role and a user in it
    through FAB's API: what operators create by hand and expect to find after an upgrade."""
    for path, body in (
            ("/api/v2/connections", {"connection_id": "warehouse", "conn_type": "postgres",
                                     "host": "warehouse.example.com", "login": "analyst", "schema": "analytics",
                                     "port": 5432, "password": "warehouse-secret"}),
            ("/api/v2/variables", {"key": "upgrade_note", "value": "kept across the upgrade"}),
            ("/api/v2/pools", {"name": "upgrade_pool", "slots": 3}),
            ("/auth/fab/v1/roles", {"name": ROLE, "actions": [{"action": {"name": a}, "resource": {"name": r}}
                                                              for a, r in ROLE_ACTIONS]}),
            ("/auth/fab/v1/users", {"username": USER, "email": f"{USER}@example.com", "first_name": "Data",
                                    "last_name": "Reader", "roles": [{"name": ROLE}], "password": PASSWORD})):
        status, answer = api.call("POST", f"{base}{path}", body, token=token)
        assert status in (200, 201), (path, status, answer)


def wait_for_s3_log(stack: Stack) -> None:
    code = ("import boto3, json; r = boto3.client('s3').list_objects_v2("
            f"Bucket={stack.logs_bucket!r}, Prefix={stack.logs_prefix + '/'!r}); "
            "print(json.dumps([o['Key'] for o in r.get('Contents', [])]))")
    api.poll(lambda: json.loads(services.tools_python(code, env=stack.aws_env)),
             lambda keys: any(f"dag_id={DAG}/" in k for k in keys), timeout=60, what="the old run's S3 log")


# ---- the repetitions -----------------------------------------------------------------------
def login_count(postgres: services.Postgres, dbname: str) -> int:
    return int(postgres.sql(f"select login_count from ab_user where username = '{USER}'", database=dbname) or 0)


def repetition(old_data: OldData, postgres: services.Postgres, name: str, home: airflow_env.AirflowHome,
               job: dict, sign_ins: SignIns, *, attempts: int = BACKOFF_LIMIT + 1, restart: bool = False,
               timeout: float = 900) -> Repetition:
    """A copy of the template, PgBouncer on it, sign-ins seen on it, then the Job container run up
    to `attempts` times as Kubernetes would."""
    # Owned by the program's user, as RDS's database is (PostgreSQL 15+: public's CREATE is the owner's).
    postgres.sql(f'CREATE DATABASE "{name}" TEMPLATE "{old_data.template}" OWNER "{old_data.database.user}"')
    point_at(old_data.database, name)
    if restart:
        # A guarded migration before ended its sessions, and Airflow 3.1.8's API server does not
        # recover from that (every later request: PendingRollbackError): a new process on the new
        # copy (it refuses to start on a migrated database), as the next upgrade finds a new pod.
        old_data.old.restart_api_server()
    first = login_count(postgres, name)
    api.poll(lambda: login_count(postgres, name), lambda c: c > first + 2, timeout=60, what=f"sign-ins on {name}")
    start = time.monotonic()
    runs = run_like_kubernetes(home, job, attempts=attempts, timeout=timeout)
    end = time.monotonic()
    hung: list[str] = []
    if runs[-1].returncode is None:
        # Killed while waiting: what its backend (still queued for the lock) and the others wait
        # on, then every session on the copy ended, so nothing of it lingers.
        hung = lock_waits(postgres, name)
        postgres.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    return Repetition(name, runs, end - start, sign_ins.succeeded_between(start, end), hung)


@dataclass
class Repetition:
    database: str
    attempts: list[subprocess.CompletedProcess]
    seconds: float
    sign_ins: int
    """Successful sign-ins to the old API server while the migration ran."""
    hung: list[str] = field(default_factory=list)
    """For a run killed at its timeout: the statements then waiting for a lock, and on whom."""

    @property
    def deadlocks(self) -> int:
        return sum((a.stdout + a.stderr).count("deadlock detected") for a in self.attempts)

    @property
    def in_container_retries(self) -> int:
        return sum(a.stderr.count("airflow-eks: airflow db migrate attempt") for a in self.attempts)

    @property
    def sessions_ended(self) -> int:
        """Sessions of the old API server the guard ended because they blocked the migration."""
        return sum(a.stderr.count("which blocked the migration") for a in self.attempts)


@pytest.fixture(scope="module")
def upgraded(old_data, gen, database, migrated, tmp_path_factory):
    postgres = database.postgres
    job = gen.container("Job", "run-airflow-migrations", "run-airflow-migrations")
    assert job["args"] == helm_values.migration_args()  # the program's bounded retries
    new_home = airflow_env.AirflowHome(tmp_path_factory.mktemp("upgrade-migrate"), gen,
                                       pgbouncer_port=old_data.database.pgbouncer_port)
    sign_ins = SignIns(old_data.old.api)
    try:
        # The control: the same container with the chart's own command, a bare `airflow db
        # migrate` (no guard, no retry), run once (the rendered dict changed in place and put back:
        # the workload is found by the container's identity).
        guarded_args = job["args"]
        job["args"] = ["bash", "-c", "exec airflow db migrate"]
        try:
            # Bounded: the lock waits need not form a cycle PostgreSQL sees (below), and then the
            # bare migration waits for ever; a migration takes well under a minute here otherwise.
            control = repetition(old_data, postgres, "upgrade_control", new_home, job, sign_ins, attempts=1,
                                 timeout=CONTROL_TIMEOUT)
        finally:
            job["args"] = guarded_args
        # A control ended by its timeout had the old API server's sessions ended too, which 3.1.8
        # does not recover from: the first repetition then needs a new process as well.
        repetitions = [repetition(old_data, postgres, f"upgrade_{i}", new_home, job, sign_ins,
                                  restart=i > 0 or bool(control.hung)) for i in range(REPEATS)]
    finally:
        sign_ins.stop()
    print("upgrade repetitions: " + "; ".join(
        f"{r.database}: {r.seconds:.0f} s, {len(r.attempts)} container run(s), {r.in_container_retries} in-container "
        f"retries, {r.deadlocks} deadlocks, {r.sign_ins} sign-ins during it, {r.sessions_ended} blocking "
        "sessions ended" for r in [control, *repetitions]))
    heads = {k: rows(postgres, database.database, q) for k, q in HEADS.items()}  # the default's, fresh
    return control, repetitions, heads


def test_upgrade_from_the_old_release_migrates_every_time_while_the_old_api_server_signs_users_in(
        upgraded, database, record_property):
    control, repetitions, heads = upgraded
    assert len(repetitions) == REPEATS
    for rep in [control, *repetitions]:
        record_property(rep.database, json.dumps({
            "seconds": round(rep.seconds, 1), "containerRuns": len(rep.attempts),
            "inContainerRetries": rep.in_container_retries, "deadlocks": rep.deadlocks, "signIns": rep.sign_ins,
            "sessionsEnded": rep.sessions_ended}))
    for rep in repetitions:
        runs = [(a.returncode, a.stderr[-2000:]) for a in rep.attempts]
        # By design, not by retry: one container run, its first attempt, no deadlock.
        assert (len(rep.attempts), rep.in_container_retries, rep.deadlocks) == (1, 0, 0), (rep.database, runs)
        assert rep.attempts[0].returncode == 0, (rep.database, runs)
        # Core and FAB schemas both at the default's heads: never the core migrated and FAB not.
        assert {k: rows(database.postgres, rep.database, q) for k, q in HEADS.items()} == heads, rep.database
        assert rep.sign_ins > 0, f"{rep.database}: the old API server signed nobody in during the migration"


def test_without_the_guard_the_same_migration_deadlocks_with_the_old_api_servers_sign_ins(upgraded):
    """The evidence behind the guard: the Job's container with the chart's bare command. It ends
    one of two ways, both seen here: PostgreSQL detects the deadlock (the FAB migration's
    `ALTER TABLE ab_permission_view_role` against a sign-in's lock) and the Job fails; or the wait
    is not a cycle PostgreSQL can see (the old API server holds a transaction open, idle, while
    another of its connections queues behind the ALTER) and the migration waits for ever, as a
    Job would until its activeDeadlineSeconds, which the chart does not set."""
    control, _, _ = upgraded
    [run] = control.attempts
    assert run.returncode != 0, (run.returncode, run.stderr[-3000:])
    if control.hung:
        assert run.returncode is None
        assert any(w.startswith("ALTER TABLE ab_permission_view_role") for w in control.hung), control.hung
    else:
        assert control.deadlocks > 0, run.stderr[-3000:]
        assert "ab_permission_view_role" in run.stderr + run.stdout
    assert control.sign_ins > 0


@pytest.fixture(scope="module")
def new_stack(old_data, upgraded, gen, tmp_path_factory):
    old_data.old.processes["api-server"].stop()  # the old pods go once the new ones are ready
    with airflow_components(gen, old_data.database, tmp_path_factory.mktemp("upgrade-new"), old_data.moto,
                            old_data.aws_env, components=airflow_env.COMPONENTS[:3], dags=(f"{DAG}.py",)) as new:
        yield new


def test_upgrade_keeps_every_row_and_the_new_release_serves_the_old_run_and_runs_a_new_one(
        old_data, upgraded, new_stack, database):
    _, repetitions, _ = upgraded
    upgraded_db = old_data.database.database
    assert upgraded_db == repetitions[-1].database
    after = snapshot(database.postgres, upgraded_db)
    assert after == old_data.before
    assert set(old_data.permissions) <= set(rows(database.postgres, upgraded_db, PERMISSIONS))
    assert any(line.startswith(f"{ROLE}|") for line in old_data.permissions)

    new = new_stack.api
    status, body = api.token(new, *old_data.admin)
    assert status == 201, (status, body)
    token = body["access_token"]
    run_url = f"{new}/api/v2/dags/{DAG}/dagRuns/{old_data.run_id}"
    status, run = api.call("GET", run_url, token=token)
    assert status == 200 and run["state"] == "success", (status, run)
    status, xcom = api.call("GET", f"{run_url}/taskInstances/remember/xcomEntries/return_value", token=token)
    assert status == 200 and "42" in json.dumps(xcom), (status, xcom)
    # The new API server has no local copy: the log comes from S3, written by the old release.
    status, log = api.call("GET", f"{run_url}/taskInstances/remember/logs/1", token=token)
    assert status == 200 and MARKER in json.dumps(log), (status, log)
    for path, expected in (("/api/v2/variables/upgrade_note", "kept across the upgrade"),
                           ("/api/v2/pools/upgrade_pool", '"slots": 3'),
                           ("/api/v2/connections/warehouse", "warehouse.example.com")):
        status, body = api.call("GET", f"{new}{path}", token=token)
        assert status == 200 and expected in json.dumps(body), (path, status, body)
    # The connection's password decrypts with the same Fernet key.
    probe = ("from airflow.models import Connection; c = Connection.get_connection_from_secrets('warehouse'); "
             "print('RESULT' + str(c.password == 'warehouse-secret'))")
    out = services.airflow_python(probe, env=new_stack.home.env("Deployment", "scheduler"))
    assert out.split("RESULT", 1)[-1].strip() == "True", out
    # The custom user signs in to the new release and keeps the custom role.
    status, _ = api.token(new, USER, PASSWORD)
    assert status == 201
    status, reader = api.call("GET", f"{new}/auth/fab/v1/users/{USER}", token=token)
    assert status == 200 and ROLE in json.dumps(reader), (status, reader)
    # And the new release runs a new run of the same DAG.
    assert api.run_dag(new, token, DAG)["state"] == "success", services.tail(new_stack.processes["scheduler"].log, 60)
