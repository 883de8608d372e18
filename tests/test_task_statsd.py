"""The task pods' own StatsD exporter (airflow_eks/metrics/task_statsd.py): the same exporter the
chart runs for Airflow's components, rendered by the real chart beside it; a mapping that keeps
task metrics only; and the task pod template, rendered, sending to it. Who may reach it:
tests/test_network_policies.py."""

from __future__ import annotations

import pytest
import yaml

from airflow_eks import helm_values, names, statsd_mapping, versions
from airflow_eks.metrics import task_statsd
from tests import charts, manifests
from tests.test_metric_names import airflow_metrics
from tests.test_rendered_manifests import _stack_runs, objects, run, task_pod  # noqa: F401 (fixture)

CHART_EXPORTER = f"{names.AIRFLOW_RELEASE}-statsd"


def _deployment(variant: str, name: str) -> dict:
    [found] = [o for o in objects(variant) if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    return found


def test_the_tag_is_the_airflow_charts_statsd_tag():
    values = yaml.safe_load((charts.require(charts.airflow_chart_dir()) / "values.yaml").read_text())
    assert values["images"]["statsd"]["tag"] == versions.STATSD_EXPORTER_TAG


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_it_runs_what_the_chart_runs_for_the_components(variant):
    """Same image (mirrored in prod), ports, probes, resources and hardening as the chart's
    rendered exporter; its own mapping, mounted where its argument says."""
    [chart_pod, own_pod] = [charts.pod_spec(_deployment(variant, n)) for n in (CHART_EXPORTER, task_statsd.NAME)]
    [chart_c], [own_c] = chart_pod["containers"], own_pod["containers"]
    for key in ("image", "imagePullPolicy", "livenessProbe", "readinessProbe", "resources", "securityContext"):
        assert own_c[key] == chart_c[key], key
    tcp_default = [{"protocol": "TCP", **p} for p in chart_c["ports"]]  # a port's protocol defaults to TCP
    assert own_c["ports"] == tcp_default
    for key in ("nodeSelector", "securityContext"):
        assert own_pod[key] == chart_pod[key], key
    assert own_pod["automountServiceAccountToken"] is False
    [arg] = own_c["args"]
    [mount] = own_c["volumeMounts"]
    [volume] = own_pod["volumes"]
    assert arg == f"--statsd.mapping-config={mount['mountPath']}/{task_statsd.MAPPING_FILE}" and mount["readOnly"]
    [config] = [o for o in objects(variant) if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == volume["configMap"]["name"]]
    assert yaml.safe_load(config["data"][task_statsd.MAPPING_FILE]) == {
        "mappings": statsd_mapping.task_override_mappings()}


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_task_pods_send_to_its_service_and_the_components_to_the_charts(variant):
    [base] = [c for c in task_pod(variant)["spec"]["containers"] if c["name"] == "base"]
    [host] = [e["value"] for e in base["env"] if e["name"] == "AIRFLOW__METRICS__STATSD_HOST"]
    [service] = [o for o in objects(variant) if o["kind"] == "Service" and o["metadata"]["name"] == host
                 and o["metadata"]["namespace"] == names.AIRFLOW_NAMESPACE]
    pod_labels = _deployment(variant, task_statsd.NAME)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert {"name": "statsd-ingest", "protocol": "UDP", "port": 9125, "targetPort": 9125} in service["spec"]["ports"]
    # Airflow's components keep the chart's exporter (airflow.cfg [metrics] statsd_host), no override
    config = charts.one(manifests.release_objects(run(variant), "airflow"), "ConfigMap",
                        f"{names.AIRFLOW_RELEASE}-config")["data"]["airflow.cfg"]
    assert f"statsd_host = {CHART_EXPORTER}" in config
    components = [o for o in objects(variant) if o["kind"] in ("Deployment", "StatefulSet")
                  and o["metadata"]["namespace"] == names.AIRFLOW_NAMESPACE]
    assert not [o["metadata"]["name"] for o in components for c in charts.pod_spec(o)["containers"]
                for e in c.get("env", []) if e["name"] == "AIRFLOW__METRICS__STATSD_HOST"]


def test_its_mapping_keeps_task_metrics_only():
    """Every metric of Airflow 3.1 through both mappings: what a task runner sends maps the same
    in both; nothing else (heartbeats, parse errors, executor slots, pools) maps in the task
    pods' one, so a task pod cannot fake a component's metric."""
    task_rules = statsd_mapping.task_rules()
    sent_by_tasks = {f"{statsd_mapping.PREFIX}.{n}" for n in statsd_mapping.TASK_RUNNER_SAMPLES}
    for _kind, name in airflow_metrics():
        full, task = statsd_mapping.match(name), statsd_mapping.match(name, task_rules)
        if task is not None:
            assert task == full, name
    for name in sent_by_tasks:
        assert statsd_mapping.match(name, task_rules) == statsd_mapping.match(name), name
    for forged in ("scheduler_heartbeat", "dag_processor_heartbeat", "triggerer_heartbeat",
                   "dag_processing.import_errors", "executor.open_slots", "pool.queued_slots.default_pool",
                   "scheduler.scheduler_loop_duration"):
        assert statsd_mapping.match(f"{statsd_mapping.PREFIX}.{forged}") is not None, forged
        assert statsd_mapping.match(f"{statsd_mapping.PREFIX}.{forged}", task_rules) is None, forged
    assert statsd_mapping.task_override_mappings()[-1] == statsd_mapping.DROP_REST


def test_resources_are_the_chart_exporters():
    spec = task_statsd.deployment_spec(image_mirror="", resources=helm_values.COMPONENT_RESOURCES["statsd"])
    assert spec["template"]["spec"]["containers"][0]["resources"] == helm_values.COMPONENT_RESOURCES["statsd"]
