"""The official Airflow chart rendered with the whole program's values (dev and prod): what
Kubernetes will be asked to run, not only what the values say."""

from __future__ import annotations

from airflow_eks import helm_values
from tests import charts, manifests


def airflow_objects(run) -> list[dict]:
    return manifests.release_objects(run, "airflow")


def test_the_chart_renders_the_components_the_program_configures(program):
    objects = airflow_objects(program)
    workloads = {o["metadata"]["name"] for o in objects if o["kind"] in ("Deployment", "StatefulSet")}
    for component in ("scheduler", "api-server", "dag-processor", "triggerer", "statsd", "pgbouncer"):
        assert any(name.endswith(component) for name in workloads), (component, sorted(workloads))


def test_both_jobs_render_with_the_short_ttl_and_without_hooks(program, request):
    """What Kubernetes gets: the TTL controller deletes each finished Job within seconds, and
    neither is a Helm hook (hooks would deadlock the readiness wait). Prod signs in through SSO:
    no generated admin, so no create-user Job."""
    jobs = charts.of_kind(airflow_objects(program), "Job")
    expected = {"dev": ["airflow-create-user", "airflow-run-airflow-migrations"],
                "prod": ["airflow-run-airflow-migrations"]}[request.node.callspec.params["program"]]
    assert sorted(j["metadata"]["name"] for j in jobs) == expected
    for job in jobs:
        assert job["spec"]["ttlSecondsAfterFinished"] == helm_values.JOB_TTL_SECONDS
        assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {})
