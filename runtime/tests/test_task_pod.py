"""Test 9: the task pod the KubernetesExecutor would submit, built by the cncf.kubernetes
provider's own code from the rendered pod_template_file.yaml, in the scheduler container's
environment (its airflow.cfg and airflow_local_settings.py): get_base_pod_from_template and
PodGenerator.construct_pod with the pod mutation hook, as AirflowKubernetesScheduler.run_next
calls them. What the template says must survive into the pod Kubernetes gets: no
service-account token, read-only root filesystems, the scratch volumes.

Changes (airflow_env.CHANGES): none that matter here (no database, no Kubernetes API: the
pod is built, not submitted).
"""

from __future__ import annotations

import json

from airflow_eks import names, pod_security

from . import airflow_env, services

BUILD = """
import json, sys
from kubernetes.client import ApiClient
from airflow.providers.cncf.kubernetes.executors.kubernetes_executor_utils import get_base_pod_from_template
from airflow.providers.cncf.kubernetes.kube_config import KubeConfig
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

kube_config = KubeConfig()
pod = PodGenerator.construct_pod(
    namespace=kube_config.kube_namespace, scheduler_job_id="1", pod_id="runtime-task", dag_id="runtime_smoke",
    task_id="say_hello", kube_image=kube_config.kube_image, try_number=1, map_index=-1, date=None, run_id="r",
    args=["airflow", "tasks", "run"], pod_override_object=None,
    base_worker_pod=get_base_pod_from_template(sys.argv[1], kube_config), with_mutation_hook=True)
print(json.dumps(ApiClient().sanitize_for_serialization(pod)))
"""


def test_the_executors_task_pod_keeps_the_templates_hardening(gen, tmp_path):
    scheduler = gen.container("Deployment", "scheduler", "scheduler")
    home = airflow_env.AirflowHome(tmp_path, gen, pgbouncer_port=services.free_port())
    env = home.container_env(scheduler)
    [template] = [m["mountPath"] for m in scheduler["volumeMounts"] if m.get("subPath") == "pod_template_file.yaml"]
    local_template = home.roots(scheduler)[airflow_env.CHART_AIRFLOW_HOME] / template.removeprefix(
        f"{airflow_env.CHART_AIRFLOW_HOME}/")
    done = services.airflow_python(BUILD, str(local_template), env=env, timeout=180)
    pod = json.loads(done.strip().splitlines()[-1])
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False  # dev: tasksMayLaunchPods off
    assert spec["serviceAccountName"] == names.SERVICE_ACCOUNTS.worker
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]
    scratch = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    assert {pod_security.AIRFLOW_TMP_VOLUME, pod_security.GIT_SYNC_TMP_VOLUME, "logs", "dags"} <= scratch
    [base] = [c for c in spec["containers"] if c["name"] == "base"]
    assert {m["mountPath"] for m in base["volumeMounts"]} >= {pod_security.TMP_PATH, pod_security.AIRFLOW_LOGS_PATH}
    assert base["args"] == ["airflow", "tasks", "run"]  # the executor's own part is there too
