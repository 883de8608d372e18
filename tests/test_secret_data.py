"""Secret contents the chart reads: URLs survive any password, PgBouncer talks TLS to RDS,
and the Fernet key has the alphabet Fernet accepts."""

from __future__ import annotations

import base64
import configparser
from urllib.parse import unquote, urlsplit

from airflow_eks import secret_data as data

USER = "air flow"
PASSWORD = 'p@ss:w/rd%?#"x'


def test_metadata_connection_goes_to_pgbouncer_and_round_trips_any_password():
    url = urlsplit(data.metadata_connection(user=USER, password=PASSWORD))
    # The driver is named (SQLAlchemy's dialect+driver form): a bare postgresql:// means psycopg 3
    # from SQLAlchemy 2.1 on, which prepares statements on PgBouncer's server connections.
    assert url.scheme == "postgresql+psycopg2"
    assert (unquote(url.username), unquote(url.password)) == (USER, PASSWORD)
    assert (url.hostname, url.port) == ("airflow-pgbouncer.airflow", 6543)
    assert url.path == "/airflow-metadata"
    # No query: Airflow 3 reuses this URL for asyncpg, which rejects libpq parameters such as
    # sslmode (runtime tier, test_async_database); `require` would also fail against the
    # chart's PgBouncer, which has no client-side TLS.
    assert url.query == ""


def test_stats_connection_reaches_the_admin_console_in_the_same_pod():
    url = urlsplit(data.pgbouncer_stats_connection(user=USER, password=PASSWORD))
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", 6543, "/pgbouncer")
    assert unquote(url.password) == PASSWORD


def test_pgbouncer_requires_tls_to_rds_and_serves_the_alias_airflow_uses():
    ini = configparser.ConfigParser()
    ini.read_string(data.pgbouncer_ini(host="db.rds.amazonaws.com", port=5432.0, database="airflow", user="airflow"))
    alias = dict(part.split("=") for part in ini["databases"]["airflow-metadata"].split())
    assert alias["host"] == "db.rds.amazonaws.com" and alias["dbname"] == "airflow"
    assert alias["port"] == "5432"  # mock and JSON numbers arrive as floats
    bouncer = ini["pgbouncer"]
    assert bouncer["server_tls_sslmode"] == "require"
    assert bouncer["listen_port"] == str(data.PGBOUNCER_PORT)
    assert bouncer["auth_type"] == "scram-sha-256" and bouncer["auth_file"] == data.PGBOUNCER_AUTH_FILE
    assert bouncer["stats_users"] == "airflow"
    # Empty: no Unix socket in /tmp (PgBouncer's default), which is read-only in the pod (the
    # runtime tier runs PgBouncer with this file and finds no socket).
    assert bouncer["unix_socket_dir"] == ""


def test_users_file_quotes_and_escapes_double_quotes():
    assert data.pgbouncer_users(user="airflow", password='a"b') == '"airflow" "a""b"\n'


def test_fernet_key_uses_the_urlsafe_alphabet_of_the_same_bytes():
    raw = bytes(range(256))[-32:]  # 0xe0..0xff: standard base64 of these contains + and /
    standard = base64.b64encode(raw).decode()
    assert "+" in standard or "/" in standard
    key = data.urlsafe_base64(standard)
    assert "+" not in key and "/" not in key
    assert base64.urlsafe_b64decode(key) == raw


def test_secret_names_are_distinct_and_never_the_charts_own():
    chart_generated = {"airflow-fernet-key", "airflow-airflow-metadata", "airflow-pgbouncer-config",
                       "airflow-pgbouncer-stats", "airflow-api-secret-key", "airflow-jwt-secret", "airflow-ssh-secret"}
    chosen = list(vars(data.SECRET_NAMES).values())
    assert len(set(chosen)) == len(chosen)
    assert not set(chosen) & chart_generated


def test_the_string_data_digest_follows_every_value_and_not_the_key_order():
    stored = {"GITSYNC_USERNAME": "bot", "GITSYNC_PASSWORD": "token-1"}
    digest = data.string_data_sha256(stored)
    assert digest == data.string_data_sha256(dict(reversed(stored.items())))
    assert digest != data.string_data_sha256({**stored, "GITSYNC_PASSWORD": "token-2"})
    assert digest != data.string_data_sha256({**stored, "GITSYNC_USERNAME": "other-bot"})
    assert "token-1" not in digest and len(digest) == 64
