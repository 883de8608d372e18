"""Session services of the runtime tier: one PostgreSQL (TLS only) and one PgBouncer with the
program's configuration, migrated once by `airflow db migrate` through PgBouncer.

Each is started here, waited for with a bound, and stopped at the end of the session.
"""

from __future__ import annotations

import shutil
import signal
from dataclasses import dataclass

import pytest

from airflow_eks import helm_values, secret_data
from airflow_eks.secret_data import SECRET_NAMES
from tests import charts

from . import airflow_env, api, program, services


def pytest_configure(config):
    # The services run in sessions of their own (so they can be stopped as a group), so a
    # SIGTERM that kills pytest would orphan them all: make it an interrupt, which pytest
    # answers by tearing the fixtures down, stopping every service they started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_sessionstart(session):
    missing = [str(p) for p in (services.AIRFLOW, services.OLD_AIRFLOW_VENV / "bin" / "airflow",
                                services.TOOLS_VENV / "bin" / "moto_server") if not p.exists()]
    if missing:
        raise pytest.UsageError(f"runtime tier not installed ({', '.join(missing)} missing): "
                                "run `make runtime-install`")
    # A venv left from before a version change would test the wrong Airflow.
    for venv, version in ((services.AIRFLOW_VENV, services.AIRFLOW_VERSION),
                          (services.OLD_AIRFLOW_VENV, services.UPGRADE_FROM)):
        if services.installed_airflow(venv) != version:
            raise pytest.UsageError(f"{venv} has Airflow {services.installed_airflow(venv)}, the constraints pin "
                                    f"{version}: remove it and run `make runtime-install`")


@pytest.fixture(scope="session")
def gen() -> program.Generated:
    """The dev stack's generated Secrets, values and rendered chart."""
    return program.generated("dev")


pgbouncer_files = airflow_env.pgbouncer_files
parse_users = airflow_env.parse_users


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
def database(gen) -> Database:
    ini, users = pgbouncer_files(gen)
    user, password = parse_users(users)
    dbname = next(part.split("=", 1)[1] for part in ini.split() if part.startswith("dbname="))
    pg = services.Postgres(services.owned_dir("airflow-eks-runtime-pg-"))
    bouncer_dir = services.owned_dir("airflow-eks-runtime-pgbouncer-")
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
    job = gen.container("Job", "run-airflow-migrations", "run-airflow-migrations")
    result = home.run_container(job, timeout=600)  # its rendered args: `airflow db migrate`, retried
    return home, home.container_env(job), result


@pytest.fixture(scope="session")
def metadata_url(gen, database) -> str:
    """The metadata Secret's URL (CHANGES pgbouncer-address) as libpq reads it: the SQLAlchemy
    driver suffix (`postgresql+psycopg2`) dropped, for the tests' own psycopg2/psql connections."""
    url = airflow_env.local_url(gen.secret(SECRET_NAMES.metadata, secret_data.CONNECTION_KEY), database.pgbouncer_port)
    return airflow_env.libpq_url(url)


Stack = airflow_env.Stack


@pytest.fixture(scope="session")
def stack(gen, database, migrated, tmp_path_factory) -> Stack:
    """API server, scheduler, DAG processor and triggerer from the rendered chart, through
    PgBouncer, remote logs to moto's S3. CHANGES: all of airflow_env.CHANGES (ports-and-workers:
    one API server worker on 127.0.0.1 instead of four on 0.0.0.0, and free ports instead of
    8080 (API), 8793 and 8794 (the worker's and triggerer's log servers))."""
    assert migrated[2].returncode == 0, "migration failed (see test_database)"
    base = tmp_path_factory.mktemp("stack")
    moto = services.Moto(base)
    try:
        with airflow_env.started_stack(base, gen, pgbouncer_port=database.pgbouncer_port, moto=moto,
                                       dags=("runtime_smoke.py",)) as started:
            yield started
    finally:
        moto.stop()


@dataclass
class Admin:
    results: list
    """(container name, CompletedProcess) of the create-user Job's containers, in order."""
    username: str
    password: str


@pytest.fixture(scope="session")
def admin(gen, stack) -> Admin:
    """The chart's create-user Job as rendered: init containers, then the create-user container."""
    spec = charts.pod_spec(gen.workload("Job", "create-user"))
    results = []
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        results.append((container["name"], stack.home.run_container(container, timeout=300)))
        if results[-1][1].returncode:
            break
    return Admin(results, helm_values.ADMIN_USERNAME, gen.secret(SECRET_NAMES.admin, secret_data.ADMIN_PASSWORD_KEY))


@pytest.fixture(scope="session")
def admin_token(admin, stack) -> str:
    status, body = api.token(stack.api, admin.username, admin.password)
    assert status == 201, (status, body, [(n, r.returncode, r.stderr[-500:]) for n, r in admin.results])
    return body["access_token"]
