"""Task pods as the real KubernetesExecutor builds them, against the program's NetworkPolicies.

The StatsD policies tell task pods from Airflow's components by the `kubernetes_executor`
label (airflow_eks/pod_security.py). Here the cncf.kubernetes provider of the Airflow image
builds task pods from the rendered pod template, as its executor does (PodGenerator.construct_pod,
with the scheduler's pod mutation hook), once plainly and once with a task's executor_config
pod_override that claims to be the scheduler and tries to drop that label; the rendered
NetworkPolicies (tests/test_network_policies.py's evaluator) must keep both away from the
components' StatsD ingest and let both reach the task pods' own exporter.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import yaml

from airflow_eks import names
from airflow_eks.offline import harness
from tests import manifests
from tests.test_network_policies import Source, allowed

from . import services

BUILD = r"""
import json, sys
from kubernetes.client import ApiClient, models as k8s
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

base = PodGenerator.deserialize_model_file(sys.argv[1])
overrides = {
    "plain": None,
    # What a DAG can put in executor_config: any label, even the executor's own, set to None.
    "spoofing": k8s.V1Pod(metadata=k8s.V1ObjectMeta(labels={
        "component": "scheduler", "kubernetes_executor": None, "tier": "airflow", "release": "airflow"})),
}
out = {}
for name, override in overrides.items():
    pod = PodGenerator.construct_pod(
        dag_id="a_dag", task_id="a_task", pod_id="a-dag-a-task", try_number=1, kube_image="apache/airflow:3.1.8",
        date=None, args=["true"], pod_override_object=override, base_worker_pod=base, namespace="airflow",
        scheduler_job_id="7", run_id="manual__1", with_mutation_hook=True)
    out[name] = ApiClient().sanitize_for_serialization(pod)["metadata"]["labels"]
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def prod():
    return harness.run_program("prod")


def executor_labels(template: dict) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pod_template_file.yaml"
        path.write_text(yaml.safe_dump(template))
        # Its own AIRFLOW_HOME: the mutation hook's import reads Airflow's settings.
        env = {"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": tmp}
        result = services.airflow_python(BUILD, str(path), env=env, timeout=300)
    return json.loads(result.split("RESULT", 1)[1])


def test_task_pods_the_executor_builds_reach_their_own_statsd_only(prod):
    objects = manifests.all_objects(prod)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == "airflow"]
    template = manifests.task_pod_template(manifests.release_objects(prod, "airflow"))
    built = executor_labels(template)

    def target(name: str) -> dict:
        [found] = [o["spec"]["template"]["metadata"]["labels"] for o in objects if o["kind"] == "Deployment"
                   and o["metadata"]["name"] == f"{names.AIRFLOW_RELEASE}-{name}"]
        return found

    assert "kubernetes_executor" in built["plain"] and "kubernetes_executor" in built["spoofing"]
    assert built["spoofing"]["component"] == "scheduler"  # the override did win where it could
    for name, labels in built.items():
        # A null label value reaches the API server as "": the key stays (and with it the match).
        labels = {k: "" if v is None else v for k, v in labels.items()}
        task = Source(names.AIRFLOW_NAMESPACE, labels, ip="10.0.0.10")
        assert not allowed(policies, target("statsd"), task, 9125, "UDP"), name
        assert allowed(policies, target("task-statsd"), task, 9125, "UDP"), name
        # what a task pod needs keeps working: the Execution API and PgBouncer
        assert allowed(policies, target("api-server"), task, 8080), name
        assert allowed(policies, target("pgbouncer"), task, 6543), name
