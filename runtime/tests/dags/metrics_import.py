"""A DAG file that imports: the metrics tests overwrite it with one that does not (a broken
change arriving through git-sync), and the DAG processor reports the import error."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

with DAG("metrics_import", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def parsed() -> None:
        print("this file imports")

    parsed()
