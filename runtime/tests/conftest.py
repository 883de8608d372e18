"""Session services of the runtime tier: one PostgreSQL (TLS only) and one PgBouncer with the
program's configuration, migrated once by `airflow db migrate` through PgBouncer.

Each is started here, waited for with a bound, and stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_eks import helm_values, secret_data
from airflow_eks.secret_data import SECRET_NAMES
from tests import charts, metric_list

from . import airflow_env, api, monitoring, program, services


def pytest_configure(config):
    # The services run in sessions of their own (so they can be stopped as a group), so a
    # SIGTERM that kills pytest would orphan them all: make it an interrupt, which pytest
    # answers by tearing the fixtures down, stopping every service they started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_collection_modifyitems(items):
    # test_metrics.py provokes every alert on the session's stack (it stops the scheduler and
    # exhausts PgBouncer's pool), so it runs after every other module, in its own order.
    items.sort(key=lambda item: item.module.__name__.endswith(".test_metrics"))


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


def pgbouncer_files(gen: program.Generated) -> tuple[str, str]:
    data = gen.secrets[SECRET_NAMES.pgbouncer_config]
    return data["pgbouncer.ini"], data["users.txt"]


def parse_users(users: str) -> tuple[str, str]:
    """users.txt's single `"user" "password"` line (a doubled `"` is one quote)."""
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


def program_database(gen: program.Generated) -> str:
    """The database pgbouncer.ini's alias points at (RDS's database)."""
    ini, _ = pgbouncer_files(gen)
    return next(part.split("=", 1)[1] for part in ini.split() if part.startswith("dbname="))


@contextlib.contextmanager
def pgbouncer(gen: program.Generated, postgres: services.Postgres, dbname: str | None = None) -> Iterator[Database]:
    """PgBouncer with the program's pgbouncer.ini and users.txt (CHANGES pgbouncer-listen,
    rds-address) in front of `postgres`, its database alias on `dbname` (default: the program's)."""
    ini, users = pgbouncer_files(gen)
    user, password = parse_users(users)
    dbname = dbname or program_database(gen)
    folder = services.owned_dir("airflow-eks-runtime-pgbouncer-")
    port = services.free_port()
    local_ini = airflow_env.local_pgbouncer_ini(ini, pg_port=postgres.port, listen_port=port,
                                                auth_file=folder / "users.txt")
    local_ini = re.sub(r"(?<= dbname=)\S+", dbname, local_ini, count=1)
    bouncer = services.PgBouncer(folder, local_ini, users)
    try:
        bouncer.start(port)
        yield Database(postgres, bouncer, port, user, password, dbname, local_ini)
    finally:
        bouncer.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def metadata_database(gen: program.Generated,
                      restore: Callable[[services.Postgres, str], None] | None = None) -> Iterator[Database]:
    """PostgreSQL as RDS creates it from the program's inputs (the master user with the
    program's password, and its database), behind PgBouncer with the program's files.
    `restore(postgres, dbname)` fills the database before PgBouncer starts, as an RDS restore
    from a snapshot would."""
    user, password = parse_users(pgbouncer_files(gen)[1])
    dbname = program_database(gen)
    pg = services.Postgres(services.owned_dir("airflow-eks-runtime-pg-"))
    try:
        pg.start()
        pg.sql(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password.replace(chr(39), chr(39) * 2)}'")
        pg.sql(f'CREATE DATABASE "{dbname}" OWNER "{user}"')
        if restore is not None:
            restore(pg, dbname)
        with pgbouncer(gen, pg) as db:
            yield db
    finally:
        pg.stop()
        shutil.rmtree(pg.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database(gen) -> Database:
    with metadata_database(gen) as db:
        yield db


@pytest.fixture(scope="session")
def statsd_exporter(gen, tmp_path_factory) -> monitoring.StatsdExporter:
    """The chart's StatsD exporter with the mapping the chart renders, receiving from every
    Airflow process of the session's stack (and the migration); every line it receives is kept
    in build/runtime/statsd/capture-airflow-<version>.txt."""
    configmap = charts.one(gen.objects, "ConfigMap", f"{gen.release}-statsd")
    metric_list.STATSD_DIR.mkdir(parents=True, exist_ok=True)
    capture = metric_list.STATSD_DIR / f"capture-airflow-{services.AIRFLOW_VERSION}.txt"
    capture.write_text("")
    exporter = monitoring.StatsdExporter(tmp_path_factory.mktemp("statsd"), configmap["data"]["mappings.yml"], capture)
    yield exporter
    exporter.stop()


@pytest.fixture(scope="session")
def migrated(gen, database, statsd_exporter, tmp_path_factory):
    """`airflow db migrate` as the chart's migration Job runs it, with that Job's environment."""
    home = airflow_env.AirflowHome(tmp_path_factory.mktemp("migrate-home"), gen,
                                   pgbouncer_port=database.pgbouncer_port, statsd_port=statsd_exporter.udp_port)
    job = gen.container("Job", "run-airflow-migrations", "run-airflow-migrations")
    result = home.run_container(job, timeout=600)  # its rendered args: `airflow db migrate`, guarded and retried
    return home, home.container_env(job), result


@pytest.fixture(scope="session")
def metadata_url(gen, database) -> str:
    """The metadata Secret's URL (CHANGES pgbouncer-address) as libpq reads it: the SQLAlchemy
    driver suffix (`postgresql+psycopg2`) dropped, for the tests' own psycopg2/psql connections."""
    url = airflow_env.local_url(gen.secret(SECRET_NAMES.metadata, secret_data.CONNECTION_KEY), database.pgbouncer_port)
    return airflow_env.libpq_url(url)


def write_dags(folder: Path, *dags: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in dags:
        shutil.copy(Path(__file__).parent / "dags" / name, folder / name)
    return folder


@dataclass
class Stack:
    home: airflow_env.AirflowHome
    api: str
    """Base URL of the API server."""
    moto: services.Moto
    aws_env: dict[str, str]
    logs_bucket: str
    logs_prefix: str
    processes: dict[str, services.Process]

    def restart_api_server(self) -> None:
        """A new API server process, as Kubernetes replaces a pod, up when this returns."""
        self.processes["api-server"].stop()
        container = self.home.gen.container("Deployment", "api-server", "api-server")
        self.processes["api-server"] = self.home.start_container(container, "api-server")
        self.processes["api-server"].wait_ready(lambda: services.http_ok(f"{self.api}/api/v2/monitor/health"),
                                                timeout=180, what="API server")


def remote_log_folder(cfg: str) -> tuple[str, str]:
    import configparser
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(cfg)
    folder = parser.get("logging", "remote_base_log_folder")
    assert folder.startswith("s3://"), folder
    bucket, _, prefix = folder.removeprefix("s3://").partition("/")
    return bucket, prefix


def moto_aws_env(gen: program.Generated, moto: services.Moto) -> dict[str, str]:
    """The pods' AWS environment on `moto` (CHANGES aws), with the remote logs bucket the
    program's airflow.cfg names created there."""
    region = gen.env(gen.container("Deployment", "scheduler", "scheduler"))["AWS_DEFAULT_REGION"]
    aws_env = services.fake_aws_env(moto.url, region)
    bucket, _ = remote_log_folder(gen.airflow_cfg())
    services.tools_python(f"import boto3; boto3.client('s3').create_bucket(Bucket={bucket!r})", env=aws_env)
    return aws_env


# The sample DAGs the session's Airflow serves (dags/): the smoke test's, the restore test's and
# the metrics test's. Every DAG file is there from the start: the DAG processor lists new files
# only every [dag_processor] refresh_interval (5 minutes), and re-parses known ones far sooner.
STACK_DAGS = ("runtime_smoke.py", "restore_probe.py", "metrics_outcomes.py", "metrics_import.py")


@contextlib.contextmanager
def airflow_components(gen: program.Generated, database: Database, base: Path, moto: services.Moto,
                       aws_env: dict[str, str], components=airflow_env.COMPONENTS, dags: tuple[str, ...] = STACK_DAGS,
                       venv: Path = services.AIRFLOW_VENV, statsd_port: int | None = None) -> Iterator[Stack]:
    """`components` from the rendered chart on `venv`'s Airflow, through `database`'s PgBouncer,
    remote logs to moto's S3, `dags` in their DAG folder, StatsD to `statsd_port` (none: a free port
    nobody reads). CHANGES: all of airflow_env.CHANGES
    (ports-and-workers: one API server worker on 127.0.0.1 instead of four on 0.0.0.0, and free
    ports instead of 8080 (API), 8793 and 8794 (the worker's and triggerer's log servers))."""
    processes: dict[str, services.Process] = {}
    try:
        bucket, prefix = remote_log_folder(gen.airflow_cfg())
        api_port = services.free_port()
        home = airflow_env.AirflowHome(
            base / "airflow", gen, pgbouncer_port=database.pgbouncer_port, api_port=api_port,
            statsd_port=statsd_port, dags_folder=write_dags(base / "dags", *dags), executor="LocalExecutor", venv=venv,
            extra_env={**aws_env, "AIRFLOW__API__WORKERS": "1", "AIRFLOW__API__PORT": str(api_port),
                       "AIRFLOW__API__HOST": services.LOOPBACK,
                       "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(services.free_port()),
                       "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(services.free_port())})
        for kind, component in components:
            processes[component] = home.start_container(gen.container(kind, component, component), component)
        api = f"http://127.0.0.1:{api_port}"
        processes["api-server"].wait_ready(lambda: services.http_ok(f"{api}/api/v2/monitor/health"),
                                           timeout=180, what="API server")
        yield Stack(home, api, moto, aws_env, bucket, prefix, processes)
    finally:
        for process in processes.values():  # all at once: each may take seconds to shut down
            process.terminate()
        for process in processes.values():
            process.stop()


@pytest.fixture(scope="session")
def stack(gen, database, migrated, statsd_exporter, tmp_path_factory) -> Stack:
    """API server, scheduler, DAG processor and triggerer (airflow_components), sending their
    StatsD to the session's exporter, and the moto server with the logs bucket."""
    assert migrated[2].returncode == 0, "migration failed (see test_database)"
    base = tmp_path_factory.mktemp("stack")
    moto = services.Moto(base)
    try:
        with airflow_components(gen, database, base, moto, moto_aws_env(gen, moto),
                                statsd_port=statsd_exporter.udp_port) as started:
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
