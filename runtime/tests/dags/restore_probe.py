"""Sample DAG of the restore test: one task, in a pool of its own, that reads a connection and a
variable through the Task SDK (the API server decrypts them with the Fernet key) and logs
digests of their secret parts (Airflow masks the values themselves in task logs)."""

from __future__ import annotations

import hashlib

import pendulum
from airflow.sdk import DAG, Connection, Variable, task

MARKER = "restore-probe-marker-5c1e"
CONN_ID = "restore_probe_conn"
VARIABLE = "restore_probe_greeting"
POOL = "restore_probe_pool"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


with DAG("restore_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task(pool=POOL)
    def read_connection_and_variable() -> None:
        conn = Connection.get(CONN_ID)
        print(f"{MARKER}: password={digest(conn.password)} variable={digest(Variable.get(VARIABLE))}")

    read_connection_and_variable()
