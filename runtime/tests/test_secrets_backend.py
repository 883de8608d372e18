"""Test 6: the Secrets Manager backend, configured by the chart from the program's values
(secretsBackend: aws-secrets-manager), reads a connection and a variable from moto under the
configured prefixes, and nothing outside them.

Changes (airflow_env.CHANGES): aws (moto instead of Secrets Manager, test credentials instead
of Pod Identity), pgbouncer-address. The backend's kwargs are the rendered airflow.cfg's.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from airflow_eks import names

from . import airflow_env, program, services

PROBE = Path(__file__).with_name("secrets_probe.py")
CONNECTION_URI = "postgresql://reader:s3cret@warehouse.example.com:5432/analytics"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = services.Moto(tmp_path_factory.mktemp("moto-secrets"), record=True)
    yield server
    server.stop()


def test_secrets_manager_backend_reads_only_under_the_configured_prefixes(database, moto, tmp_path):
    gen = program.generated("dev", secretsBackend="aws-secrets-manager")
    region = gen.env(gen.container("Deployment", "scheduler", "scheduler"))["AWS_DEFAULT_REGION"]
    aws = services.fake_aws_env(moto.url, region)
    connections, variables = names.SECRETS_CONNECTIONS_PREFIX, names.SECRETS_VARIABLES_PREFIX
    seeds = {
        f"{connections}/warehouse": CONNECTION_URI,
        f"{variables}/greeting": "hello from secrets manager",
        # Outside the prefixes: never to be read.
        "other/variables/outside": "must not be read",
        "airflow/config/sql_alchemy_conn": "must not be read (config_prefix is null)",
    }
    services.tools_python("import boto3, json, sys\nsm = boto3.client('secretsmanager')\n"
                          f"for name, value in json.loads({json.dumps(seeds)!r}).items():\n"
                          "    sm.create_secret(Name=name, SecretString=value)", env=aws)
    moto.start_recording()

    home = airflow_env.AirflowHome(tmp_path, gen, pgbouncer_port=database.pgbouncer_port, extra_env=aws)
    env = home.env("Deployment", "scheduler")
    result = subprocess.run([str(services.AIRFLOW_VENV / "bin" / "python"), str(PROBE), "warehouse", "greeting",
                             "outside", "sql_alchemy_conn"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT", 1)[1])

    assert out["backend"].endswith("SecretsManagerBackend"), out
    assert out["connection"] == {"conn_type": "postgres", "host": "warehouse.example.com", "login": "reader",
                                 "schema": "analytics"}, out
    assert out["variable"] == "hello from secrets manager"
    assert out["outside_variable"] is None
    assert out["config"] is None

    # Every secret Airflow asked moto for was under one of the two prefixes the IAM policy allows.
    asked = moto.recorded_secret_ids()
    assert f"{connections}/warehouse" in asked and f"{variables}/greeting" in asked, asked
    assert all(a.startswith((f"{connections}/", f"{variables}/")) for a in asked), asked
