"""Test 3: the chart's create-user Job, as rendered with the program's values, creates the
admin, who then signs in to the API server and gets a REST API token.

Changes (airflow_env.CHANGES): pgbouncer-address. The Job's init and main containers run
their rendered args with `$(VAR)` expanded from their env, as the kubelet does.
"""

from __future__ import annotations

from airflow_eks import helm_values, secret_data
from airflow_eks.secret_data import SECRET_NAMES

from . import api, program


def test_create_user_job_creates_the_admin_who_gets_an_api_token(gen, stack):
    spec = program.charts.pod_spec(gen.workload("Job", "create-user"))
    # The program's wait-for-migrations init container first, as Kubernetes runs it.
    inits = spec.get("initContainers", [])
    assert inits, "the program adds a wait-for-airflow-migrations init container"
    for init in inits:
        result = stack.home.run_container(init, timeout=120)
        assert result.returncode == 0, (init["name"], result.stderr[-2000:])

    create = next(c for c in spec["containers"] if c["name"] == "create-user")
    assert f"$({helm_values.ADMIN_PASSWORD_ENV})" in create["args"], "the password must come from the Secret"
    result = stack.home.run_container(create)
    assert result.returncode == 0, result.stderr[-3000:]

    password = gen.secret(SECRET_NAMES.admin, secret_data.ADMIN_PASSWORD_KEY)
    status, body = api.token(stack.api, helm_values.ADMIN_USERNAME, password)
    assert status == 201 and body.get("access_token"), (status, body)
    status, dags = api.call("GET", f"{stack.api}/api/v2/dags", token=body["access_token"])
    assert status == 200 and "dags" in dags, (status, dags)

    # The password is the credential: a wrong one gets no token, and no token gets no data.
    status, _ = api.token(stack.api, helm_values.ADMIN_USERNAME, password + "x")
    assert status == 401
    status, _ = api.call("GET", f"{stack.api}/api/v2/dags")
    assert status in (401, 403)
