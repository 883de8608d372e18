"""Sample DAG of the upgrade test: one task whose XCom, state and S3 log must survive the
metadata database's migration to a newer Airflow (no deferral: no triggerer needed)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

MARKER = "upgrade-test-marker-5c1e"


with DAG("upgrade_smoke", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def remember() -> dict:
        print(f"{MARKER}: written before the upgrade")
        return {"answer": 42}

    remember()
