"""DAGs the metrics tests run: a healthy one, several distinct tasks that fail (each for the
first time), and tasks that only need a worker (they stay queued while the executor has no
capacity)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")
FAILING_TASKS = 5

with DAG("metrics_healthy", schedule=None, start_date=START, catchup=False):

    @task
    def extract() -> int:
        return 3

    @task
    def load(rows: int) -> None:
        print(f"loaded {rows} rows")

    load(extract())

with DAG("metrics_failures", schedule=None, start_date=START, catchup=False, default_args={"retries": 0}):
    for number in range(FAILING_TASKS):

        @task(task_id=f"fails_{number}")
        def fail() -> None:
            raise RuntimeError("metrics test: this task fails on purpose")

        fail()

with DAG("metrics_queued", schedule=None, start_date=START, catchup=False):
    for number in range(3):

        @task(task_id=f"waits_for_a_worker_{number}")
        def run() -> None:
            print("ran once a worker took it")

        run()
