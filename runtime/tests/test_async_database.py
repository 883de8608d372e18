"""The prepared-statement question: Airflow 3 derives an async URL from the metadata connection
(settings.SQL_ALCHEMY_CONN_ASYNC) for the API server's async endpoints: asyncpg up to 3.3, psycopg
3 from 3.4 when it is installed. Both prepare statements on the server unless told not to, and
PgBouncer in transaction pooling hands each transaction any server connection. Does Airflow's own
async engine work through the program's PgBouncer, with each driver?

Found here and fixed in the program (offline tests in tests/test_secret_data.py and
tests/test_local_settings.py): the metadata URL's `?sslmode=disable` broke every async session;
asyncpg's named, cached statements broke under concurrency; and SQLAlchemy's UUID-name recipe,
without the NullPool and DISCARD it also asks for, left statements prepared on PgBouncer's
server connections. The program's connect args (airflow_eks/local_settings.py) prepare only
unnamed statements with asyncpg, and none with psycopg (issue 19: with Airflow 3.4.0b2 and
psycopg installed, asyncpg's arguments made every async session fail).

Every case runs for each async driver the tier's Airflow has installed (asyncpg and psycopg 3,
both pinned by runtime/constraints-airflow.txt): the default Airflow derives asyncpg, and
psycopg_async is named through [database] sql_alchemy_conn_async, as Airflow 3.4 would derive it.

Changes (airflow_env.CHANGES): pgbouncer-address, pgbouncer-listen, rds-address, async-driver.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from airflow_eks import local_settings, secret_data
from airflow_eks.secret_data import SECRET_NAMES

from . import airflow_env, services

PROBE = Path(__file__).with_name("async_probe.py")
COUNTER = Path(__file__).with_name("server_statements.py")
WORKERS, ROUNDS = 12, 40


def async_probe(env: dict, workers: int = WORKERS, rounds: int = ROUNDS) -> dict:
    """`workers` concurrent coroutines, each opening `rounds` sessions of Airflow's async engine."""
    result = subprocess.run([str(services.AIRFLOW_VENV / "bin" / "python"), str(PROBE), str(workers), str(rounds)],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.split("RESULT", 1)[1])


def tracks_prepared_statements(version: str, ini: str) -> bool:
    """PgBouncer >= 1.21 tracks protocol-level prepared statements in transaction pooling when
    max_prepared_statements > 0; the default is 0 before 1.24 and 200 from 1.24 on."""
    major_minor = tuple(int(x) for x in version.split(".")[:2])
    match = re.search(r"^max_prepared_statements\s*=\s*(\d+)", ini, re.MULTILINE)
    setting = int(match.group(1)) if match else (200 if major_minor >= (1, 24) else 0)
    return major_minor >= (1, 21) and setting > 0


def statements_on_server_connections(env: dict, metadata_url: str) -> int:
    """Prepared statements held on all of PgBouncer's server connections (its pool_size)."""
    size = secret_data.PGBOUNCER_POOL_SIZE
    result = subprocess.run([str(services.AIRFLOW_VENV / "bin" / "python"), str(COUNTER), metadata_url, str(size)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT", 1)[1])
    assert out["server_connections"] == size, out  # every server connection asked, each once
    return out["statements"]


def installed_in_airflow_venv(module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([str(services.AIRFLOW_VENV / "bin" / "python"), "-c", code], timeout=60).returncode == 0


DRIVER_MODULES = {local_settings.ASYNCPG: "asyncpg", local_settings.PSYCOPG_ASYNC: "psycopg"}
assert set(DRIVER_MODULES) == set(local_settings.ASYNC_DRIVERS)


def driver_env(home, gen, database, driver: str) -> dict:
    """The API server's environment, its async engine on `driver` (CHANGES async-driver for psycopg)."""
    assert installed_in_airflow_venv(DRIVER_MODULES[driver]), f"{driver}: not installed in the Airflow venv"
    env = home.env("Deployment", "api-server")
    if driver != local_settings.ASYNCPG:  # the default Airflow's own derivation
        url = airflow_env.local_url(gen.secret(SECRET_NAMES.metadata, secret_data.CONNECTION_KEY),
                                    database.pgbouncer_port)
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = airflow_env.async_url(url, driver)
    return env


def uses_connect_args(env: dict, module: str) -> dict:
    """`env` with [database] sql_alchemy_connect_args_async pointed at a control module here."""
    return {**env, "PYTHONPATH": str(Path(__file__).parent),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": f"{module}.ARGS"}


@pytest.mark.parametrize("driver", local_settings.ASYNC_DRIVERS)
def test_airflows_async_engine_works_through_pgbouncer_and_leaves_no_statement_behind(
        driver, gen, migrated, database, metadata_url, record_property):
    record_property("pgbouncer_version", services.pgbouncer_version())
    home, _, _ = migrated
    env = driver_env(home, gen, database, driver)
    before = statements_on_server_connections(env, metadata_url)
    out = async_probe(env)
    # The engine really ran on `driver` (the default Airflow derives asyncpg by itself).
    assert out["url"].startswith(f"postgresql+{driver}://"), out["url"]
    assert "sslmode" not in out["url"], out["url"]
    assert out["errors"] == {}, (services.pgbouncer_version(), out)
    assert out["ok"] == WORKERS * ROUNDS
    # Nothing the probe prepared is still held by PostgreSQL on PgBouncer's server connections.
    assert statements_on_server_connections(env, metadata_url) == before


@pytest.mark.parametrize("driver", local_settings.ASYNC_DRIVERS)
def test_without_the_programs_connect_args_the_driver_breaks_through_this_pgbouncer(
        driver, gen, migrated, database, record_property):
    """The evidence behind the fix, per driver: same probe, the driver's defaults (asyncpg's named
    statement cache; psycopg's prepare after five executions). On a PgBouncer that does not track
    prepared statements (Debian 12's 1.18, or the chart's 1.23.1 with its default
    max_prepared_statements = 0) sessions fail; on one that does, they must not."""
    home, _, _ = migrated
    out = async_probe(uses_connect_args(driver_env(home, gen, database, driver), "no_async_connect_args"))
    assert out["url"].startswith(f"postgresql+{driver}://"), out["url"]
    version = services.pgbouncer_version()
    record_property("pgbouncer_version", version)
    record_property(f"failed_sessions_without_fix_{driver}", sum(out["errors"].values()))
    if tracks_prepared_statements(version, database.ini):
        assert out["errors"] == {}, (version, out)
    else:
        failures = sum(out["errors"].values())
        assert failures > 0, (version, out)
        assert any("prepared statement" in error for error in out["errors"]), out["errors"]
        print(f"PgBouncer {version}, {driver}: {failures} of {WORKERS * ROUNDS} sessions failed without the "
              "connect args: " + "; ".join(sorted(out["errors"]))[:2000])


def test_sqlalchemys_uuid_names_alone_leave_statements_on_pgbouncers_server_connections(
        migrated, database, metadata_url, record_property):
    """The evidence for unnamed statements over SQLAlchemy's documented UUID names: without a
    NullPool and a DISCARD on every returned connection (neither available for Airflow's async
    engine), the uniquely named statements work but stay prepared on PgBouncer's server
    connections. A PgBouncer that tracks prepared statements keeps them itself instead."""
    home, _, _ = migrated
    env = uses_connect_args(home.env("Deployment", "api-server"), "uuid_connect_args")
    before = statements_on_server_connections(env, metadata_url)
    out = async_probe(env)
    assert out["errors"] == {}, out
    left = statements_on_server_connections(env, metadata_url) - before
    record_property("statements_left_by_uuid_names", left)
    if not tracks_prepared_statements(services.pgbouncer_version(), database.ini):
        assert left > 0
        print(f"UUID names: {left} prepared statements left on PgBouncer's server connections after "
              f"{WORKERS * ROUNDS} sessions")
