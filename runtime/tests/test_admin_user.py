"""Test 3: the chart's create-user Job, as rendered with the program's values, creates the
admin, who then signs in to the API server and gets a REST API token.

Changes (airflow_env.CHANGES): pgbouncer-address. The Job's init and main containers run
their rendered args with `$(VAR)` expanded from their env, as the kubelet does (conftest.admin).
"""

from __future__ import annotations

from airflow_eks import helm_values

from . import api


def test_create_user_job_creates_the_admin_who_gets_an_api_token(gen, stack, admin):
    names = [name for name, _ in admin.results]
    assert names == ["wait-for-airflow-migrations", "create-user"], names
    for name, result in admin.results:
        assert result.returncode == 0, (name, result.stderr[-3000:])
    create = next(c for c in gen.workload("Job", "create-user")["spec"]["template"]["spec"]["containers"])
    assert f"$({helm_values.ADMIN_PASSWORD_ENV})" in create["args"], "the password must come from the Secret"

    status, body = api.token(stack.api, admin.username, admin.password)
    assert status == 201 and body.get("access_token"), (status, body)
    status, dags = api.call("GET", f"{stack.api}/api/v2/dags", token=body["access_token"])
    assert status == 200 and "dags" in dags, (status, dags)

    # The password is the credential: a wrong one gets no token, and no token gets no data.
    status, _ = api.token(stack.api, admin.username, admin.password + "x")
    assert status == 401
    status, _ = api.call("GET", f"{stack.api}/api/v2/dags")
    assert status in (401, 403)
