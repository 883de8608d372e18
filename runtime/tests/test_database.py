"""Tests 1 and 2: PostgreSQL that accepts only TLS, PgBouncer with the program's pgbouncer.ini
and users.txt, and the default Airflow's migrations through it as the chart's migration Job runs them
(its rendered args, environment and metadata Secret).

Changes from the cluster (airflow_env.CHANGES): pgbouncer-address, pgbouncer-listen,
rds-address. Nothing else in pgbouncer.ini, users.txt or the connection URLs is touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from airflow_eks import secret_data
from airflow_eks.secret_data import SECRET_NAMES

from . import airflow_env, services


def test_the_test_database_rejects_connections_without_tls_like_rds_with_force_ssl(database):
    base = f"postgresql://{database.user}:{database.password}@127.0.0.1:{database.postgres.port}/{database.database}"
    plain = services.psql(f"{base}?sslmode=disable", "select 1")
    assert plain.returncode != 0 and "no encryption" in plain.stderr, plain.stderr
    tls = services.psql(f"{base}?sslmode=require", "select 1")
    assert tls.returncode == 0 and tls.stdout.strip() == "1", tls.stderr


def test_airflow_db_migrate_through_pgbouncer_with_the_metadata_secret_succeeds(migrated, database):
    home, env, result = migrated
    assert result.returncode == 0, f"{airflow_env.CHANGES}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    check = home.run("db", "check-migrations", "--migration-wait-timeout=30", env=env)
    assert check.returncode == 0, check.stderr[-3000:]
    # Airflow's tables exist in the database the program names, owned by the program's user.
    tables = database.postgres.sql(
        "select count(*) from pg_tables where tablename in ('dag', 'task_instance', 'alembic_version') "
        f"and tableowner = '{database.user}'", database=database.database)
    assert tables == "3"


def test_pgbouncer_reaches_postgres_over_tls_only(migrated, database):
    """server_tls_sslmode = require from the program's ini: every server connection PgBouncer
    opened for Airflow is encrypted (and pg_hba would have rejected any other)."""
    rows = database.postgres.sql(
        "select a.usename, s.ssl from pg_stat_activity a join pg_stat_ssl s using (pid) "
        f"where a.usename = '{database.user}'").splitlines()
    assert rows, "PgBouncer holds no server connection after the migration"
    assert all(row.endswith("|t") for row in rows), rows


def test_pgbouncer_stats_user_of_the_exporter_secret_can_show_stats(migrated, gen, database):
    url = gen.secret(SECRET_NAMES.pgbouncer_stats, secret_data.CONNECTION_KEY)
    # The exporter sidecar reaches PgBouncer on 127.0.0.1:6543 in the same pod: only the port changes.
    local = url.replace(f"127.0.0.1:{secret_data.PGBOUNCER_PORT}/", f"127.0.0.1:{database.pgbouncer_port}/")
    assert local != url
    result = services.psql(local, "SHOW STATS")
    assert result.returncode == 0, result.stderr
    databases = [line.split("|")[0] for line in result.stdout.splitlines()]
    assert secret_data.PGBOUNCER_DATABASE in databases, result.stdout


def test_pgbouncer_with_the_programs_ini_opens_no_unix_socket(database, tmp_path):
    """The pod's root filesystem is read-only and PgBouncer's Unix socket would go to /tmp
    (its default unix_socket_dir): the program's `unix_socket_dir =` turns it off, so PgBouncer
    writes nothing. The same ini without that line opens the socket, so the check can fail."""
    port = database.pgbouncer_port
    assert "unix_socket_dir =\n" in database.ini
    assert not Path(f"/tmp/.s.PGSQL.{port}").exists()  # noqa: S108 - PgBouncer's default socket folder
    assert "unix:" not in database.pgbouncer.log()
    control_port = services.free_port()
    control_ini = database.ini.replace("unix_socket_dir =\n", "").replace(
        f"listen_port = {port}\n", f"listen_port = {control_port}\n")
    folder = services.owned_dir("airflow-eks-runtime-pgbouncer-control-")
    users = (Path(database.ini.split("auth_file = ")[1].splitlines()[0])).read_text()
    control = services.PgBouncer(folder, control_ini, users)
    try:
        control.start(control_port)
        assert Path(f"/tmp/.s.PGSQL.{control_port}").exists()  # noqa: S108
        assert "unix:" in control.log()
    finally:
        control.stop()
        shutil.rmtree(folder, ignore_errors=True)
