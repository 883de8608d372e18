"""The prepared-statement question: Airflow 3 derives an asyncpg URL from the metadata
connection (settings.SQL_ALCHEMY_CONN_ASYNC) for the API server's async endpoints; asyncpg
names its prepared statements, and PgBouncer in transaction pooling hands each transaction
any server connection. Does Airflow's own async engine work through the program's PgBouncer?

Found here and fixed in the program (offline tests in tests/test_secret_data.py and
tests/test_local_settings.py): the metadata URL's `?sslmode=disable` broke every async session,
and asyncpg's named, cached statements broke under concurrency (airflow_eks/local_settings.py).

Changes (airflow_env.CHANGES): pgbouncer-address, pgbouncer-listen, rds-address.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from . import services

PROBE = Path(__file__).with_name("async_probe.py")
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


def test_airflows_async_engine_works_through_pgbouncer_under_concurrency(migrated, database, record_property):
    record_property("pgbouncer_version", services.pgbouncer_version())
    home, _, _ = migrated
    env = home.env("Deployment", "api-server")
    out = async_probe(env)
    assert "sslmode" not in out["url"], out["url"]
    assert out["errors"] == {}, (services.pgbouncer_version(), out)
    assert out["ok"] == WORKERS * ROUNDS


def test_without_the_programs_connect_args_asyncpg_breaks_through_this_pgbouncer(migrated, database,
                                                                                record_property):
    """The evidence behind the fix: same probe, asyncpg's defaults. On a PgBouncer that does not
    track prepared statements (Debian 12's 1.18, or the chart's 1.23.1 with its default
    max_prepared_statements = 0) sessions fail; on one that does, they must not."""
    home, _, _ = migrated
    env = home.env("Deployment", "api-server")
    env["PYTHONPATH"] = str(Path(__file__).parent)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC"] = "no_async_connect_args.ARGS"
    out = async_probe(env)
    version = services.pgbouncer_version()
    record_property("pgbouncer_version", version)
    record_property("failed_sessions_without_fix", sum(out["errors"].values()))
    if tracks_prepared_statements(version, database.ini):
        assert out["errors"] == {}, (version, out)
    else:
        failures = sum(out["errors"].values())
        assert failures > 0, (version, out)
        assert any("prepared statement" in error for error in out["errors"]), out["errors"]
        print(f"PgBouncer {version}: {failures} of {WORKERS * ROUNDS} sessions failed without the connect args: "
              + "; ".join(sorted(out["errors"]))[:2000])
