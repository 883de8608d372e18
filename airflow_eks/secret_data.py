"""What goes into the Kubernetes Secrets the Airflow chart reads, and what they are called.

Pure text builders: the metadata connection URL, PgBouncer's `pgbouncer.ini` (and its
checksum) and `users.txt`, the PgBouncer exporter's stats URL and the Fernet key format.
The caller (components/airflow_secrets.py) resolves the Outputs, calls these inside a
value-only `apply` and keeps the results secret. Nothing here creates resources.

Why our own Secrets instead of `data.metadataConnection`: that value would put the DB
password into the Helm values (and the Helm release Secret); with named Secrets the values
carry no credential at all (airflow-chart.md §4.3/4.4). The chart then needs all three
PgBouncer-related Secrets from us, which is what this module builds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from airflow_eks import names

# Chart defaults (values.yaml `ports.pgbouncer`, pgbouncer.auth_file): the chart's PgBouncer
# Deployment listens there and mounts our `pgbouncer.ini`/`users.txt` at /etc/pgbouncer.
PGBOUNCER_PORT = 6543
PGBOUNCER_AUTH_FILE = "/etc/pgbouncer/users.txt"
# The chart names the Service `<fullname>-pgbouncer`; fullname is the release name when it
# contains "airflow" (chart `airflow.fullname`), and the database alias `<release>-metadata`.
PGBOUNCER_HOST = f"{names.AIRFLOW_RELEASE}-pgbouncer.{names.AIRFLOW_NAMESPACE}"
PGBOUNCER_DATABASE = f"{names.AIRFLOW_RELEASE}-metadata"
# Airflow 3 task pods reach the database only through the API server (Task SDK), so the
# clients are the scheduler(s), API server workers, DAG processor and triggerer, each with a
# SQLAlchemy pool of up to 15. 250 client slots cover prod (2+2 replicas) with headroom; 20
# server connections fit the smallest RDS class (db.t4g.micro allows about 80).
PGBOUNCER_MAX_CLIENT_CONN = 250
PGBOUNCER_POOL_SIZE = 20


@dataclass(frozen=True)
class SecretNames:
    """Fixed physical names: the chart values refer to these Secrets by name.

    Deliberately different from the names the chart would generate itself
    (`airflow-fernet-key`, `airflow-airflow-metadata`, ...), so ours can never be mistaken
    for, or collide with, a chart-managed Secret.
    """

    metadata: str = f"{names.AIRFLOW_RELEASE}-metadata-connection"
    pgbouncer_config: str = f"{names.AIRFLOW_RELEASE}-pgbouncer-ini"
    pgbouncer_stats: str = f"{names.AIRFLOW_RELEASE}-pgbouncer-stats-connection"
    fernet: str = f"{names.AIRFLOW_RELEASE}-fernet"
    api_secret_key: str = f"{names.AIRFLOW_RELEASE}-api-secret"
    jwt: str = f"{names.AIRFLOW_RELEASE}-jwt"
    admin: str = f"{names.AIRFLOW_RELEASE}-admin-user"
    git_credentials: str = f"{names.AIRFLOW_RELEASE}-git-credentials"
    git_ssh_key: str = f"{names.AIRFLOW_RELEASE}-git-ssh-key"
    sso_client: str = f"{names.AIRFLOW_RELEASE}-sso-client"


SECRET_NAMES = SecretNames()


@dataclass(frozen=True)
class Generations:
    """Random IDs that change with the credentials some pods read only at start (drawn by
    components/airflow_secrets.py, keyed on string_data_sha256); '' where that Secret does not
    exist. Not secret: random, so they tell nothing of the values."""

    sso_client: str = ""
    git_credentials: str = ""


NO_GENERATIONS = Generations()

# Keys the chart templates read (secretKeyRef keys are fixed in the chart).
CONNECTION_KEY = "connection"
FERNET_KEY = "fernet-key"
API_SECRET_KEY = "api-secret-key"
JWT_KEY = "jwt-secret"
ADMIN_PASSWORD_KEY = "password"
GIT_SSH_KEY = "gitSshKey"
SSO_CLIENT_SECRET_KEY = "client-secret"
# Chart <= 1.19 references all four, not optional (apache/airflow#43247; the per-version
# split of PR #56245 was reverted in #61098): git-sync v3 reads GIT_SYNC_*, v4 GITSYNC_*.
GIT_CREDENTIAL_KEYS = ("GIT_SYNC_USERNAME", "GIT_SYNC_PASSWORD", "GITSYNC_USERNAME", "GITSYNC_PASSWORD")


# The metadata URL's driver, named so that no library upgrade picks another one: SQLAlchemy 2.1
# makes a bare `postgresql://` mean psycopg 3, which prepares statements on the server after five
# executions; through PgBouncer's transaction pooling the next transaction may run on another
# server connection, and the API server died with `prepared statement "_pg3_1" does not exist`
# (issue 19: Airflow 3.3.2 with dependencies newer than its release). psycopg2 never prepares.
# Airflow derives its async URL from this one by swapping the driver (airflow_eks/local_settings.py
# makes that engine safe behind PgBouncer for either async driver).
METADATA_URL_SCHEME = "postgresql+psycopg2"


def metadata_connection(*, user: str, password: str) -> str:
    """SQLAlchemy URL Airflow uses: to PgBouncer in the cluster, not to RDS, with psycopg2.

    The chart also hands it to Airflow as AIRFLOW_CONN_AIRFLOW_DB, where the connection type
    reads `postgresql+psycopg2`, not `postgres`: a task that wants the metadata database as a
    Connection should name its own (Airflow 3 tasks reach it only through the API anyway).

    No query parameters: Airflow 3 derives its async URL from this one by swapping the
    scheme (settings.SQL_ALCHEMY_CONN_ASYNC), and asyncpg rejects libpq-only parameters
    (`sslmode=disable` made every async session fail with "connect() got an unexpected keyword
    argument 'sslmode'"; found by the runtime tier). Both drivers then default to `prefer`,
    which falls back to plain text because the chart's PgBouncer offers no client-side TLS;
    the leg stays inside the cluster network. TLS is enforced on the PgBouncer -> RDS leg
    (`server_tls_sslmode` in `pgbouncer_ini`).
    """
    return (f"{METADATA_URL_SCHEME}://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{PGBOUNCER_HOST}:{PGBOUNCER_PORT}/{PGBOUNCER_DATABASE}")


def pgbouncer_stats_connection(*, user: str, password: str) -> str:
    """URL of PgBouncer's admin console for the metrics exporter sidecar (same pod)."""
    return (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@127.0.0.1:{PGBOUNCER_PORT}/pgbouncer?sslmode=disable")


def pgbouncer_ini(*, host: str, port: int, database: str, user: str) -> str:
    """`pgbouncer.ini` in the shape of the chart's own `pgbouncer_config` template.

    `server_tls_sslmode = require`: RDS for PostgreSQL 15+ forces TLS (rds.force_ssl=1), and
    credentials must not cross the VPC in clear text. `require` encrypts without verifying
    the RDS certificate; verify-full would need the RDS CA bundle mounted into PgBouncer.
    `auth_type = scram-sha-256` matches RDS's default password_encryption; `users.txt`
    therefore holds the plain password (PgBouncer needs it to answer the server's SCRAM).
    """
    return "\n".join([
        "[databases]",
        f"{PGBOUNCER_DATABASE} = host={host} dbname={database} port={int(port)} pool_size={PGBOUNCER_POOL_SIZE}",
        "",
        "[pgbouncer]",
        "pool_mode = transaction",
        f"listen_port = {PGBOUNCER_PORT}",
        "listen_addr = *",
        # No Unix socket (default /tmp, on the read-only root filesystem): the pods, the metrics
        # exporter beside it included, connect over TCP.
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        f"auth_file = {PGBOUNCER_AUTH_FILE}",
        f"stats_users = {user}",
        "ignore_startup_parameters = extra_float_digits",
        f"max_client_conn = {PGBOUNCER_MAX_CLIENT_CONN}",
        "verbose = 0",
        "log_disconnections = 0",
        "log_connections = 0",
        "",
        "server_tls_sslmode = require",
        "server_tls_ciphers = normal",
        "",
    ])


def pgbouncer_ini_sha256(ini: str) -> str:
    """Checksum of `pgbouncer.ini` for the PgBouncer pod annotation that rolls the pods when
    it changes. Only of the ini (no password in it), so the Helm values stay credential-free."""
    return hashlib.sha256(ini.encode()).hexdigest()


def string_data_sha256(string_data: Mapping[str, str]) -> str:
    """SHA-256 of a Secret's keys and values: the keeper that draws a new generation ID (and so
    rolls the pods that read the Secret only at start) whenever any value changes. Secret
    itself: kept only as a Pulumi secret in state, never in a pod template."""
    return hashlib.sha256(json.dumps(dict(string_data), sort_keys=True).encode()).hexdigest()


def pgbouncer_users(*, user: str, password: str) -> str:
    """`users.txt`: one `"user" "password"` line; a `"` inside is written twice."""
    def q(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    return f"{q(user)} {q(password)}\n"


def urlsafe_base64(standard: str) -> str:
    """A Fernet key is urlsafe base64 of 32 bytes; random.RandomBytes gives standard base64."""
    return standard.replace("+", "-").replace("/", "_")
