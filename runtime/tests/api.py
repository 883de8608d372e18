"""A plain HTTP client for Airflow's REST API (stdlib only: the tests run in the project venv)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def call(method: str, url: str, body: Any = None, token: str | None = None,
         timeout: float = 30) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback test URL
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def token(api: str, username: str, password: str) -> tuple[int, Any]:
    """FAB auth manager's REST login (POST /auth/token)."""
    return call("POST", f"{api}/auth/token", {"username": username, "password": password})


def poll(fetch, done, *, timeout: float, interval: float = 1.0, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if done(last):
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not done after {timeout:.0f} s; last: {last}")


def trigger_dag(api: str, token: str, dag_id: str) -> str:
    """Unpause `dag_id` once the DAG processor has parsed it and trigger a run: the run's URL."""
    poll(lambda: call("GET", f"{api}/api/v2/dags/{dag_id}", token=token)[0], lambda s: s == 200,
         timeout=180, what=f"DAG {dag_id} parsed by the DAG processor")
    status, _ = call("PATCH", f"{api}/api/v2/dags/{dag_id}", {"is_paused": False}, token=token)
    assert status == 200
    status, run = call("POST", f"{api}/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None}, token=token)
    assert status == 200, run
    return f"{api}/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}"


def wait_run(url: str, token: str, *, timeout: float = 300) -> dict:
    """A DAG run (its URL) once it has ended."""
    return poll(lambda: call("GET", url, token=token)[1], lambda r: r["state"] in ("success", "failed"),
                timeout=timeout, interval=2, what=f"run {url}")


def run_dag(api: str, token: str, dag_id: str, *, timeout: float = 300) -> dict:
    """Unpause `dag_id` once the DAG processor has parsed it, trigger a run, wait for its end."""
    return wait_run(trigger_dag(api, token, dag_id), token, timeout=timeout)
