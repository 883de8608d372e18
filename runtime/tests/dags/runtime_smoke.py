"""Sample DAG of the runtime tier: one task that logs a marker, one deferred to the triggerer."""

from __future__ import annotations

import datetime

import pendulum
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, task

MARKER = "runtime-tier-marker-7f3a"


class DeferToTriggerer(BaseOperator):
    """Always defers (a sensor whose target already passed would not): only the triggerer can
    fire the trigger that resumes it.

    The trigger waits 10 s, and the task may retry twice, 2 s apart: a trigger that fires before
    the scheduler has drained the executor's event for the deferring attempt gets the resumed
    attempt failed as "killed externally" (apache/airflow#72716, open on 3.3; a slow scheduler on
    two loaded cores hit it in 2 of 5 runs with a 1 s trigger). The wait makes that race unlikely;
    the retries keep it from failing the run when it happens anyway, as they would in production."""

    def __init__(self, **kwargs):
        super().__init__(retries=2, retry_delay=datetime.timedelta(seconds=2), **kwargs)

    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(seconds=10)), method_name="resume")

    def resume(self, context, event=None):
        print(f"{MARKER}: resumed after the triggerer fired")


with DAG("runtime_smoke", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def say_hello() -> int:
        print(f"{MARKER}: hello from a task run through the Execution API")
        return 42

    say_hello() >> DeferToTriggerer(task_id="deferred_wait")
