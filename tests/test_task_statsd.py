"""The task pods' own StatsD exporter (airflow_eks/metrics/task_statsd.py): the same exporter the
chart runs for Airflow's components, rendered by the real chart beside it; a mapping that keeps
task metrics only; and the task pod template, rendered, sending to it. Who may reach it:
tests/test_network_policies.py."""

from __future__ import annotations

import pytest
import yaml

from airflow_eks import helm_values, names, statsd_mapping, versions
from airflow_eks.metrics import task_statsd
from tests import airflow_statsd, charts, manifests, metric_list
from tests.statsd_exporter.mapper import MetricMapper
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
    """Every name the pinned Airflow was seen sending (tests/data/airflow-statsd-metrics.txt)
    through both mappings, as statsd_exporter applies them (the port): what the task pods'
    one keeps maps exactly as in the chart's; nothing else (heartbeats, parse errors, executor
    slots, pools) maps there, so a task pod cannot fake a component's metric."""
    full, task = MetricMapper(airflow_statsd_mappings(statsd_mapping.override_mappings())), \
        MetricMapper(task_statsd.mapping_yaml())
    kept = set()
    for kind, name in airflow_statsd.statsd_names():
        event = airflow_statsd.EVENT_TYPE[kind]
        mine = task.get_mapping(name, event)
        if mine.action != "drop":
            theirs = full.get_mapping(name, event)
            assert (mine.name, mine.labels) == (theirs.name, theirs.labels), name
            kept.add(mine.name)
    assert kept == {r.name for r in statsd_mapping.task_rules()}
    sent_by_tasks = {f"{statsd_mapping.PREFIX}.{n}" for n in statsd_mapping.TASK_RUNNER_SAMPLES}
    for name in sent_by_tasks:
        assert (task.get_mapping(name, "counter").action == "drop") == (full.get_mapping(name, "counter").action
                                                                       == "drop"), name
    for forged in ("scheduler_heartbeat", "dag_processor_heartbeat", "triggerer_heartbeat",
                   "dag_processing.import_errors", "executor.open_slots", "pool.queued_slots.default_pool",
                   "scheduler.scheduler_loop_duration"):
        assert full.get_mapping(f"{statsd_mapping.PREFIX}.{forged}", "gauge").action == "map", forged
        assert task.get_mapping(f"{statsd_mapping.PREFIX}.{forged}", "gauge").action == "drop", forged
    assert statsd_mapping.task_override_mappings()[-1] == statsd_mapping.DROP_REST


def test_the_task_runner_samples_that_choose_the_task_rules_are_names_airflow_sends():
    """Each sample a rule maps (and so chooses a task rule) is a name of the captured list."""
    identifiers = {"dag_id": ["a_dag"], "task_id": ["a_task"], "operator_name": ["PythonOperator"]}
    listed = metric_list.load().templates
    choosing = [n for n in statsd_mapping.TASK_RUNNER_SAMPLES if statsd_mapping.match(f"{statsd_mapping.PREFIX}.{n}")]
    assert len(choosing) >= 5
    assert [n for n in choosing if metric_list.template(metric_list.PREFIX + n, identifiers) not in listed] == []


def airflow_statsd_mappings(mappings: list[dict]) -> str:
    return yaml.safe_dump({"mappings": mappings}, sort_keys=False)


def test_resources_are_the_chart_exporters():
    spec = task_statsd.deployment_spec(image_mirror="", resources=helm_values.COMPONENT_RESOURCES["statsd"])
    assert spec["template"]["spec"]["containers"][0]["resources"] == helm_values.COMPONENT_RESOURCES["statsd"]
