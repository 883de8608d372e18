"""Sample DAG of the runtime tier: one task that logs a marker, one deferred to the triggerer."""

from __future__ import annotations

import datetime

import pendulum
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG, task

MARKER = "runtime-tier-marker-7f3a"

with DAG("runtime_smoke", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def say_hello() -> int:
        print(f"{MARKER}: hello from a task run through the Execution API")
        return 42

    # Deferrable: the worker hands it to the triggerer, which resumes it after the delta.
    wait = TimeDeltaSensor(task_id="deferred_wait", delta=datetime.timedelta(seconds=2), deferrable=True)

    say_hello() >> wait
