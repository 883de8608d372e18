"""The `airflow_local_settings.py` the chart mounts into every Airflow pod, and the config that
points Airflow's async database engine at it.

Why: Airflow 3 opens a second, async engine on the metadata URL (the API server's
async endpoints, e.g. `GET .../dagRuns/{run_id}/wait`). asyncpg prepares every statement
under a name and SQLAlchemy caches them per connection; through PgBouncer in transaction
pooling each transaction may land on another server connection, so a cached name is missing
there ("prepared statement "__asyncpg_stmt_b__" does not exist"), taken by another client
("already exists"), or, worst, bound to another client's statement ("bind message supplies 1
parameters, but prepared statement requires 0"). The chart's PgBouncer 1.23.1 does not track
prepared statements unless `max_prepared_statements` is set (its default became non-zero only
in 1.24). The runtime tier reproduces all three against a real PgBouncer
(runtime/tests/test_async_database.py).

The fix does not rely on PgBouncer tracking anything, so it holds on every version: no
statement cache in asyncpg or SQLAlchemy, and every statement SQLAlchemy prepares is asyncpg's
*unnamed* statement (an empty name). PostgreSQL replaces the unnamed statement at the next
Parse, so nothing outlives its use on a server connection, and asyncpg (>= 0.29, MagicStack/
asyncpg#1058; the postgres provider in the image requires >= 0.30) sends the Parse again with
every Bind while its cache is off, so a Bind never meets another client's statement.

Not SQLAlchemy's own recipe ("Prepared Statement Name with PGBouncer" in its asyncpg dialect
docs: a UUID name per statement), because that recipe also needs what Airflow does not offer
here: NullPool for the async engine (`settings._configure_async_session` takes no pool option)
and a DISCARD on every connection PgBouncer gets back, which in transaction pooling means
`server_reset_query_always`, an extra round trip after every transaction of every component.
Without both, the runtime tier measured ~420 of 960 UUID-named statements left prepared on
PgBouncer's server connections after one probe (each round adds as many, until PgBouncer closes
the connection); with unnamed statements, none. `[database] sql_alchemy_connect_args_async`
takes an import path; the chart mounts this module at
`$AIRFLOW_HOME/config/airflow_local_settings.py`, which Airflow puts on sys.path.

Which driver: Airflow derives the async URL from the metadata URL by swapping the driver
(`settings._get_async_conn_uri_from_sync`): asyncpg up to 3.3; from 3.4 psycopg 3
(`postgresql+psycopg_async`) whenever `psycopg` is importable, which the postgres provider 7.x
brings in, else asyncpg. asyncpg's arguments are invalid for psycopg (`statement_cache_size` is
no psycopg connection option), so with 3.4.0b2 every async session failed, the Execution API's
auth check included (issue 19: every task start got a 500). The module therefore reads the
driver Airflow chose, when Airflow creates the async engine, and hands over that driver's
arguments: asyncpg's above, or psycopg's `prepare_threshold: None` (never prepare on the server;
psycopg's default prepares a statement after five executions). A driver without arguments here
stops the engine with an error naming it, rather than preparing behind PgBouncer. The runtime
tier runs its async probe and statement count for every driver it can install
(runtime/tests/test_async_database.py).

Run as a script (`python airflow_local_settings.py migrate`, the migration Job's command,
helm_values.migration_args), the module runs `airflow db migrate` with a guard. During a version
change the old API server keeps running until the new pods are ready, and those wait for the
migration; its sign-ins read `ab_user` and the role tables, then `UPDATE ab_user`, while FAB's
migrations alter those tables one statement at a time. A sign-in then holds a role table the
migration waits for and waits for `ab_user`, which the migration holds: PostgreSQL aborts the
migration with `deadlock detected` after `deadlock_timeout` (1 s by default, RDS too) (issue 19:
2 of 4 migrations 3.1.8 -> 3.3.2; with sign-ins back to back, every one, runtime tier). The guard
polls every GUARD_POLL_SECONDS and ends, with `pg_terminate_backend`, every session of another
program that blocks one of the migration's sessions (the database role is the same, which is
what PostgreSQL requires to terminate a session). The migration's sessions are told apart in
PgBouncer's console (the program's user is its stats user): its clients carry the
application_name MIGRATION_APP (PGAPPNAME), and SHOW SERVERS names the backend each is linked to
(the backend's own application_name is whichever client set it last). The migration never waits
long enough for a deadlock check, so no cycle is ever detected against it. The old release pays:
its process whose session was ended may not recover (3.1.8's API server answers 500 from then on)
until the upgrade replaces its pod; Airflow asks for no component to run during a migration
("Setting up the database"), and this is the part that matters. Ordering FAB's locks
inside the migration instead does not hold (tried): the migration's own connections (the one
holding the global migration lock, FAB's) and the old API server's two sessions per request then
wait on each other. `airflow db migrate` is retried up to MIGRATION_ATTEMPTS times in place, a
bounded backstop for any other failure.
"""

from __future__ import annotations

MODULE = "airflow_local_settings"
ASYNC_CONNECT_ARGS = "ASYNC_CONNECT_ARGS"
# SQLAlchemy driver names of Airflow's async engine (URL.get_driver_name()).
ASYNCPG, PSYCOPG_ASYNC = "asyncpg", "psycopg_async"
ASYNC_DRIVERS = (ASYNCPG, PSYCOPG_ASYNC)
# The migration Job's command (helm_values.migration_args): this module run as a script.
MIGRATE_COMMAND = "migrate"
# application_name of the migration's sessions, and of the guard's own.
MIGRATION_APP, GUARD_APP = "airflow-eks-migration", "airflow-eks-migration-guard"
MIGRATION_ATTEMPTS = 5
MIGRATION_RETRY_PAUSE_SECONDS = 5
# Well under PostgreSQL's deadlock_timeout (1 s, also RDS's default): a blocker is gone before the
# migration's deadlock check runs.
GUARD_POLL_SECONDS = 0.1

SOURCE = f'''\
"""Generated by airflow-eks (airflow_eks/local_settings.py): Airflow's async engine through
PgBouncer's transaction pooling, for whichever async driver Airflow chose; run as a script, the
migration Job's `airflow db migrate` with its guard."""

import os
import sys
from collections.abc import Mapping

_BY_DRIVER = {{
    # Airflow up to 3.3, and 3.4+ without psycopg 3 installed.
    "{ASYNCPG}": {{
        "statement_cache_size": 0,  # asyncpg's own cache
        "prepared_statement_cache_size": 0,  # SQLAlchemy's asyncpg adapter cache
        # "": asyncpg's unnamed statement, never left behind on a PgBouncer server connection.
        "prepared_statement_name_func": lambda: "",
    }},
    # Airflow 3.4+ with psycopg 3 installed: never prepare on the server.
    "{PSYCOPG_ASYNC}": {{"prepare_threshold": None}},
}}


def async_driver():
    """The driver of the URL Airflow's async engine connects with, as airflow.settings chose it."""
    from airflow import settings
    from sqlalchemy.engine import make_url

    return make_url(settings.SQL_ALCHEMY_CONN_ASYNC).get_driver_name()


class _AsyncConnectArgs(Mapping):
    """Resolved when Airflow creates its async engine, after it has chosen the driver."""

    def _args(self):
        driver = async_driver()
        if driver not in _BY_DRIVER:
            raise RuntimeError(f"airflow-eks: no PgBouncer-safe connect args for the async driver {{driver!r}} "
                               f"(known: {{', '.join(_BY_DRIVER)}}); see airflow_eks/local_settings.py")
        return _BY_DRIVER[driver]

    def __getitem__(self, key):
        return self._args()[key]

    def __iter__(self):
        return iter(self._args())

    def __len__(self):
        return len(self._args())


# [database] sql_alchemy_connect_args_async = {MODULE}.{ASYNC_CONNECT_ARGS}
{ASYNC_CONNECT_ARGS} = _AsyncConnectArgs()


# The migration Job's command: `airflow db migrate`, retried in place, with sessions of other
# programs that block the migration ended before PostgreSQL's deadlock check can run. Through
# PgBouncer a server connection keeps the application_name of whichever client set it last, so
# the migration's sessions are found in PgBouncer's console instead: its clients (by their
# application_name) and the server connections linked to them (remote_pid: the backend).
_TERMINATE_BLOCKERS = """
SELECT blocker.pid, pg_terminate_backend(blocker.pid), left(coalesce(activity.query, ''), 120)
FROM unnest(%(migration)s::int[]) AS waiting(pid)
CROSS JOIN LATERAL unnest(pg_blocking_pids(waiting.pid)) AS blocker(pid)
LEFT JOIN pg_stat_activity AS activity ON activity.pid = blocker.pid
WHERE NOT blocker.pid = ANY(%(migration)s::int[])
"""


def _log(message):
    print(f"airflow-eks: {{message}}", file=sys.stderr, flush=True)


def _rows(cursor, command):
    cursor.execute(command)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def migration_backends(console):
    """Backend PIDs of the migration's sessions that are in a transaction now (linked)."""
    links = {{c["link"] for c in _rows(console, "SHOW CLIENTS")
             if c.get("application_name") == "{MIGRATION_APP}" and c.get("link")}}
    return sorted({{s["remote_pid"] for s in _rows(console, "SHOW SERVERS") if s.get("ptr") in links}})


def _guard(stop, url):
    from urllib.parse import urlsplit

    import psycopg2

    libpq = "postgresql://" + url.split("://", 1)[1]  # the SQLAlchemy URL without its driver
    admin = urlsplit(libpq)._replace(path="/pgbouncer").geturl()  # PgBouncer's console, stats_users
    while not stop.is_set():
        try:
            console = psycopg2.connect(admin, connect_timeout=10)
            database = psycopg2.connect(libpq, application_name="{GUARD_APP}", connect_timeout=10)
            console.autocommit = database.autocommit = True
            with console.cursor() as shows, database.cursor() as cursor:
                while not stop.wait({GUARD_POLL_SECONDS}):
                    waiting = migration_backends(shows)
                    if not waiting:
                        continue
                    cursor.execute(_TERMINATE_BLOCKERS, {{"migration": waiting}})
                    for pid, _, query in cursor.fetchall():
                        _log(f"ended session {{pid}}, which blocked the migration ({{query}})")
        except Exception as error:  # the guard must never stop the migration itself
            _log(f"migration guard: {{type(error).__name__}}: {{error}}")
            stop.wait(1)


def migrate(attempts={MIGRATION_ATTEMPTS}, pause={MIGRATION_RETRY_PAUSE_SECONDS}):
    import subprocess
    import threading
    import time

    stop = threading.Event()
    guard = threading.Thread(target=_guard, args=(stop, os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]),
                             daemon=True)
    guard.start()
    env = {{**os.environ, "PGAPPNAME": "{MIGRATION_APP}"}}
    try:
        for attempt in range(1, attempts + 1):
            if subprocess.run(["airflow", "db", "migrate"], env=env).returncode == 0:
                return 0
            _log(f"airflow db migrate attempt {{attempt}} of {{attempts}} failed")
            if attempt < attempts:
                time.sleep(pause)
        return 1
    finally:
        stop.set()
        guard.join(timeout=10)


if __name__ == "__main__" and sys.argv[1:] == ["{MIGRATE_COMMAND}"]:
    sys.exit(migrate())
'''  # noqa: S608 - a module's source text; its one query is parameterized


def config() -> dict:
    """The airflow.cfg options that use this module."""
    return {"database": {"sql_alchemy_connect_args_async": f"{MODULE}.{ASYNC_CONNECT_ARGS}"}}
