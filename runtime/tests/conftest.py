"""Session services of the runtime tier: one PostgreSQL (TLS only) and one PgBouncer with the
program's configuration, migrated once by `airflow db migrate` through PgBouncer.

Each is started here, waited for with a bound, and stopped at the end of the session.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_eks import secret_data
from airflow_eks.secret_data import SECRET_NAMES

from . import airflow_env, program, services


def pytest_sessionstart(session):
    missing = [str(p) for p in (services.AIRFLOW, services.TOOLS_VENV / "bin" / "moto_server") if not p.exists()]
    if missing:
        raise pytest.UsageError(f"runtime tier not installed ({', '.join(missing)} missing): run `make runtime-install`")


@pytest.fixture(scope="session")
def gen() -> program.Generated:
    """The dev stack's generated Secrets, values and rendered chart."""
    return program.generated("dev")


def pgbouncer_files(gen: program.Generated) -> tuple[str, str]:
    data = gen.secrets[SECRET_NAMES.pgbouncer_config]
    return data["pgbouncer.ini"], data["users.txt"]


def parse_users(users: str) -> tuple[str, str]:
    """users.txt's single `"user" "password"` line (a doubled `"` is one quote)."""
    import shlex
    user, password = shlex.split(users.replace('""', '\\"'))
    return user, password


@dataclass
class Database:
    postgres: services.Postgres
    pgbouncer: services.PgBouncer
    pgbouncer_port: int
    user: str
    password: str
    database: str
    ini: str
    """The pgbouncer.ini PgBouncer runs with (the program's, with CHANGES applied)."""


@pytest.fixture(scope="session")
def database(gen, tmp_path_factory) -> Database:
    ini, users = pgbouncer_files(gen)
    user, password = parse_users(users)
    dbname = next(part.split("=", 1)[1] for part in ini.split() if part.startswith("dbname="))
    pg = services.Postgres(services.owned_dir("i15-runtime-pg-"))
    bouncer_dir = services.owned_dir("i15-runtime-pgbouncer-")
    port = services.free_port()
    local_ini = airflow_env.local_pgbouncer_ini(ini, pg_port=pg.port, listen_port=port,
                                                auth_file=bouncer_dir / "users.txt")
    bouncer = services.PgBouncer(bouncer_dir, local_ini, users)
    try:
        pg.start()
        # What RDS creates from the program's inputs: the master user and the database.
        pg.sql(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password.replace(chr(39), chr(39) * 2)}'")
        pg.sql(f'CREATE DATABASE "{dbname}" OWNER "{user}"')
        bouncer.start(port)
        yield Database(pg, bouncer, port, user, password, dbname, local_ini)
    finally:
        bouncer.stop()
        pg.stop()
        for path in (pg.dir, bouncer_dir):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated(gen, database, tmp_path_factory):
    """`airflow db migrate` as the chart's migration Job runs it, with that Job's environment."""
    home = airflow_env.AirflowHome(tmp_path_factory.mktemp("migrate-home"), gen,
                                   pgbouncer_port=database.pgbouncer_port)
    env = home.env("Job", "run-airflow-migrations", "run-airflow-migrations")
    result = home.run("db", "migrate", env=env, timeout=600)
    return home, env, result


@pytest.fixture(scope="session")
def metadata_url(gen, database) -> str:
    return airflow_env.local_url(gen.secret(SECRET_NAMES.metadata, secret_data.CONNECTION_KEY),
                                 database.pgbouncer_port)


def write_dags(folder: Path, *dags: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in dags:
        shutil.copy(Path(__file__).parent / "dags" / name, folder / name)
    return folder
