"""Test 8 (issue 25's workload cost): the Airflow facts the offline cost model rests on
(tools/plan/workload.yaml) are what the default Airflow does with the program's configuration:

- [core] parallelism, the tasks one scheduler runs at once, as Airflow reads the rendered
  airflow.cfg of each stack (the model flags a concurrency above parallelism x schedulers);
- the S3 requests one task attempt's log costs: the provider's S3RemoteLogIO uploading a log
  (what the Task SDK does at the end of a task) makes exactly the requests the model prices.

Changes (airflow_env.CHANGES): aws (moto instead of S3, test credentials instead of Pod Identity).
No database: neither reads it.
"""

from __future__ import annotations

import pytest

from tools.plan import workload

from . import airflow_env, program, services
from .conftest import moto_aws_env, remote_log_folder

MODEL = workload.load_assumptions()

UPLOAD_ONE_LOG = """
import pathlib, sys
from airflow.providers.amazon.aws.log.s3_task_handler import S3RemoteLogIO
base = pathlib.Path(sys.argv[2])
log = base / "dag_id=cost/run_id=r1/task_id=t/attempt=1.log"
log.parent.mkdir(parents=True)
log.write_text("one task attempt's log\\n")
S3RemoteLogIO(remote_base=sys.argv[1], base_log_folder=base, delete_local_copy=False).upload(log, None)
print("RESULT uploaded")
"""


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_parallelism_the_cost_model_assumes_is_what_airflow_reads(stack_name, tmp_path):
    home = airflow_env.AirflowHome(tmp_path, program.generated(stack_name), pgbouncer_port=1)
    result = home.run("config", "get-value", "core", "parallelism", env=home.env("Deployment", "scheduler"),
                      timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip()) == MODEL["airflow_parallelism"]


def test_one_task_log_costs_the_s3_requests_the_model_prices(gen, tmp_path_factory):
    base = tmp_path_factory.mktemp("cost-logs")
    moto = services.Moto(base, record=True)
    try:
        aws = moto_aws_env(gen, moto)
        bucket, prefix = remote_log_folder(gen.airflow_cfg())
        moto.start_recording()
        home = airflow_env.AirflowHome(base / "airflow", gen, pgbouncer_port=1, extra_env=aws)
        result = services.airflow_python(UPLOAD_ONE_LOG, f"s3://{bucket}/{prefix}", str(base / "logs"),
                                         env=home.env("Deployment", "scheduler"))
        assert "RESULT uploaded" in result, result
        # Every request of the upload (the key's "=" arrive percent-encoded in the raw URL).
        requests = [(r["method"], r["url"]) for r in moto.recorded()]
    finally:
        moto.stop()
    assert requests and all("task_id" in url for _, url in requests), requests
    # S3 bills PUT (and COPY, POST, LIST) at one rate and GET, HEAD and the rest at another.
    puts = [m for m, _ in requests if m in ("PUT", "POST")]
    gets = [m for m, _ in requests if m in ("GET", "HEAD")]
    assert len(puts) + len(gets) == len(requests), requests
    assert len(puts) == MODEL["log_requests_per_task"]["put"], requests
    assert len(gets) == MODEL["log_requests_per_task"]["get"], requests
