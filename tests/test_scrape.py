"""The collector's scrape configuration against what the charts really render, the series
estimate against a simulation of Airflow's metrics through the mapping, and the plan's metrics
cost (prod idle with metrics and the UI's load balancer within $450/month)."""

from __future__ import annotations

import ipaddress
import re
import subprocess

import pytest
import yaml

from airflow_eks import names, scrape, versions
from airflow_eks.metrics import task_statsd
from tests import airflow_statsd, charts, manifests
from tests.promql import promtool
from tests.test_rendered_airflow import airflow_objects
from tools.plan import build, cost, model

HELM = "kubernetes:helm.sh/v3:Release"
SCRAPER = "aws:amp/scraper:Scraper"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
# i13's sourced ALB prices ($0.0225/ALB-hour + one LCU at $0.008/h, 730 h): the UI's load
# balancer, added to prod's total until the plan prices it itself.
ALB_ALLOWANCE = round((0.0225 + 0.008) * 730, 2)


def config(interval: str = "60s") -> dict:
    return yaml.safe_load(scrape.scrape_configuration(interval, cluster_name="c"))


def job(name: str) -> dict:
    return next(j for j in config()["scrape_configs"] if j["job_name"] == name)


def keep(j: dict) -> tuple[list[str], str]:
    [rule] = [r for r in j["relabel_configs"] if r.get("action") == "keep"]
    return rule["source_labels"], rule["regex"]


# --- what the managed collector accepts -------------------------------------------------------

def test_only_what_the_managed_collector_supports():
    c = config()
    assert set(c) == {"global", "scrape_configs"}
    for j in c["scrape_configs"]:
        assert [sd["role"] for sd in j["kubernetes_sd_configs"]], j["job_name"]  # kubernetes SD only
        assert "static_configs" not in j and "scrape_interval" not in j
        if "authorization" in j:
            assert j["authorization"] == {"type": "Bearer", "credentials_file": scrape.TOKEN}
        for rule in j.get("relabel_configs", []):
            if rule.get("target_label") == "__address__":
                assert rule["replacement"] == "kubernetes.default.svc:443"  # the one name it resolves


# What the access policy AMP attaches to the collector's access entry lets it get, list and
# watch (AMP user guide, "Access entry policy created"): nodes (and nodes/proxy, nodes/metrics),
# services, endpoints, pods, ingresses, ConfigMaps; no EndpointSlices. Discovery roles that
# watch anything else find nothing, silently.
DISCOVERABLE = {"node": {"nodes"}, "endpoints": {"endpoints", "services", "pods"}, "pod": {"pods"},
                "service": {"services"}, "ingress": {"ingresses"}}


def test_every_discovery_role_is_one_the_collector_s_access_policy_lets_it_watch():
    roles = {sd["role"] for j in config()["scrape_configs"] for sd in j["kubernetes_sd_configs"]}
    assert roles and roles <= set(DISCOVERABLE), roles - set(DISCOVERABLE)
    # The node-proxy jobs read /api/v1/nodes/<node>/proxy/..., which nodes/proxy allows.
    assert all(j["kubernetes_sd_configs"] == [{"role": "node"}] for j in config()["scrape_configs"]
               if "/proxy/" in str(j.get("relabel_configs")))


def test_kubelets_are_reached_through_the_api_server_with_the_pool_label():
    for name, path in ((scrape.JOB_KUBELET, "resource"), (scrape.JOB_CADVISOR, "cadvisor")):
        j = job(name)
        assert j["scheme"] == "https" and j["kubernetes_sd_configs"] == [{"role": "node"}]
        rules = j["relabel_configs"]
        assert {"source_labels": ["__meta_kubernetes_node_name"], "regex": "(.+)", "target_label": "__metrics_path__",
                "replacement": f"/api/v1/nodes/$1/proxy/metrics/{path}"} in rules
        assert {"source_labels": ["__meta_kubernetes_node_label_airflow_eks_pool"], "target_label": "pool"} in rules
    assert names.POOL_LABEL == "airflow-eks/pool"  # the label the relabel name is derived from


def test_every_job_keeps_only_listed_metrics_except_the_mapped_statsd_one():
    for j in config()["scrape_configs"]:
        if j["job_name"] == scrape.JOB_STATSD:
            assert "metric_relabel_configs" not in j  # the mapping already is the allowlist
        else:
            [rule] = j["metric_relabel_configs"]
            assert rule["action"] == "keep" and "__name__" in rule["source_labels"], j["job_name"]


# --- the targets exist as configured: the charts rendered with the program's values -----------

def _selected(services: list[dict], j: dict) -> tuple[list[dict], str]:
    """The Services a job's keep rule selects (Prometheus anchors relabel regexes) and the port
    name it keeps."""
    labels, regex = keep(j)
    assert labels == ["__meta_kubernetes_service_label_component", "__meta_kubernetes_endpoint_port_name"]
    component, port_name = regex.split(";")
    return [s for s in services if re.fullmatch(component, s["metadata"].get("labels", {}).get("component", ""))
            ], port_name


def test_statsd_and_pgbouncer_services_match_the_jobs(programs):
    """The StatsD job selects both exporters: the chart's (Airflow's components) and the task
    pods' own, a program object (airflow_eks/metrics/task_statsd.py)."""
    prod = programs["prod"]
    services = charts.of_kind(manifests.all_objects(prod), "Service")
    for name, port, count in ((scrape.JOB_STATSD, scrape.STATSD_PORT, 2),
                              (scrape.JOB_PGBOUNCER, scrape.PGBOUNCER_PORT, 1)):
        selected, port_name = _selected(services, job(name))
        assert len(selected) == count, [s["metadata"]["name"] for s in selected]
        for service in selected:
            assert {"name": port_name, "port": port} == {k: v for p in service["spec"]["ports"]
                                                         if p["name"] == port_name for k, v in p.items()
                                                         if k in ("name", "port")}
        release = next(r for r in prod.find(HELM) if r.get("chart") == "airflow")
        assert job(name)["kubernetes_sd_configs"][0]["namespaces"] == {"names": [release.get("namespace")]}
    statsd, _ = _selected(services, job(scrape.JOB_STATSD))
    assert {s["metadata"]["name"] for s in statsd} == {f"{names.AIRFLOW_RELEASE}-statsd", task_statsd.NAME}


def test_the_autoscaler_service_matches_its_job(programs):
    release = next(r for r in programs["prod"].find(HELM) if r.get("chart") == versions.CLUSTER_AUTOSCALER_CHART)
    objects = charts.render(charts.chart_dir(versions.CLUSTER_AUTOSCALER_CHART, release.get("version")),
                            release.plain_inputs["values"], release=release.get("name"),
                            namespace=release.get("namespace"))
    service = charts.one(objects, "Service", names.CLUSTER_AUTOSCALER_SERVICE)
    labels, regex = keep(job(scrape.JOB_AUTOSCALER))
    assert labels == ["__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name"]
    assert regex == f"{names.CLUSTER_AUTOSCALER_SERVICE};http"
    [port] = [p for p in service["spec"]["ports"] if p["name"] == "http"]
    assert port["port"] == scrape.AUTOSCALER_PORT
    assert job(scrape.JOB_AUTOSCALER)["kubernetes_sd_configs"][0]["namespaces"] == {"names": [release.get("namespace")]}


# --- the series estimate -------------------------------------------------------------------------

def simulated_statsd_series(mappings_yml: str, w: scrape.Workload) -> int:
    """Distinct series the exporter exposes after every name the pinned Airflow was seen
    sending (tests/data/airflow-statsd-metrics.txt) was sent for this workload, through the
    chart's mapping by the statsd_exporter port (timers as summaries: 3 quantiles + _sum +
    _count)."""
    dags = [f"dag{i}" for i in range(w.dags)]
    values = {**airflow_statsd.EXAMPLES, "dag_id": dags, "dag_file": dags,
              "task_id": [f"t{i}" for i in range(w.tasks_per_dag)]}
    return len(airflow_statsd.samples(airflow_statsd.exporter_after(
        mappings_yml, airflow_statsd.statsd_names(values)).exposition()))


@pytest.mark.parametrize("workload", [scrape.Workload(), scrape.Workload(dags=10, tasks_per_dag=3),
                                      scrape.Workload(dags=20, tasks_per_dag=15)])
def test_the_statsd_estimate_matches_a_simulation_through_the_mapping(workload, programs):
    estimated = scrape.series_estimate(workload)[scrape.JOB_STATSD]
    simulated = simulated_statsd_series(airflow_statsd.rendered_mappings(airflow_objects(programs["prod"])), workload)
    # The estimate may count a few series one run cannot show (a second pool); it must stay
    # within 5% and never below.
    assert simulated <= estimated <= simulated * 1.05 + 10, (estimated, simulated)


def test_series_scale_with_dags_and_tasks_not_with_anything_else():
    base = scrape.series_estimate()
    more_tasks = scrape.series_estimate(scrape.Workload(tasks_per_dag=scrape.Workload.tasks_per_dag + 1))
    assert more_tasks[scrape.JOB_STATSD] - base[scrape.JOB_STATSD] == 3 * scrape.Workload.dags
    assert base[scrape.JOB_APISERVER] == 0  # only 5xx responses are kept


# --- cost ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plans(programs) -> dict[str, dict]:
    return {stack: build.assemble(run, stack) for stack, run in programs.items()}


def items(plan: dict) -> dict[str, dict]:
    return {i["key"]: i for i in plan["cost"]["lineItems"]}


def test_dev_pays_nothing_for_metrics(plans):
    assert not [k for k in items(plans["dev"]) if k.startswith("amp")]


def test_prod_prices_collector_hours_samples_and_storage(plans):
    lines, prices = items(plans["prod"]), cost.load_prices()
    amp = prices["amp"]
    assert lines["amp-collector:airflow-collector"]["idle"] == round(amp["collector_hourly"] * 730, 2)
    series = sum(scrape.series_estimate(scrape.Workload(system_nodes=2)).values())
    samples = series * 730 * 3600 / 60
    per_sample = (amp["ingest_per_10m_samples"] + amp["collector_per_10m_samples"]) / 1e7
    assert lines["amp-samples:airflow-collector"]["idle"] == round(samples * per_sample, 2)
    assert 0 < lines["amp-storage:airflow-collector"]["idle"] < 1
    assert {"AWS-AMP", "IC-AMP", "AWS-AMP-INGEST"} <= set(prices["sources"])  # the amp block's citations


def test_a_longer_interval_halves_the_sample_cost(programs):
    entries = model.resources(programs["prod"].resources)
    [scraper] = [e for e in entries if e["type"] == cost.SCRAPER]
    prices = cost.load_prices()
    before = {i["key"]: i["idle"] for i in cost.estimate(entries, prices)["lineItems"]}
    scraper["inputs"]["scrapeConfiguration"] = scrape.scrape_configuration("120s", cluster_name="c")
    after = {i["key"]: i["idle"] for i in cost.estimate(entries, prices)["lineItems"]}
    key = "amp-samples:airflow-collector"
    assert after[key] == pytest.approx(before[key] / 2, abs=0.01)


def test_prod_idle_with_metrics_and_the_ui_load_balancer_stays_within_450(plans):
    lines = items(plans["prod"])
    total = plans["prod"]["cost"]["total"]["idle"]
    priced_alb = any(k.startswith("alb") for k in lines)
    assert any(k.startswith("amp-collector") for k in lines)
    assert total + (0 if priced_alb else ALB_ALLOWANCE) <= 450.0


def test_promtool_accepts_the_scrape_configuration(tmp_path):
    """Debian's Prometheus is built without Kubernetes discovery, so each job's discovery is
    swapped for a static target and the token for a local file; everything else (relabel
    regexes, keep-lists, external labels, authorization) is checked as written."""
    token = tmp_path / "token"
    token.write_text("t")
    c = config()
    for j in c["scrape_configs"]:
        assert j.pop("kubernetes_sd_configs")
        j["static_configs"] = [{"targets": ["192.0.2.1:9102"]}]
        if "authorization" in j:
            j["authorization"]["credentials_file"] = str(token)
    path = tmp_path / "prometheus.yaml"
    path.write_text(yaml.safe_dump(c))
    result = subprocess.run([promtool(), "check", "config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    c["scrape_configs"][0]["relabel_configs"][0]["regex"] = "statsd;(unclosed"
    path.write_text(yaml.safe_dump(c))
    assert subprocess.run([promtool(), "check", "config", str(path)], capture_output=True, check=False).returncode


# --- the collector reaches every target: security groups and network policies together ------

def _endpoint_port(objects: list[dict], service: dict, port_name: str) -> tuple[int, list[dict]]:
    """The port the collector connects to (endpoints discovery yields the pod's address and the
    Service port's targetPort, by number or by container port name) and the pods' labels."""
    [port] = [p for p in service["spec"]["ports"] if p["name"] == port_name]
    selector, namespace = service["spec"]["selector"], service["metadata"]["namespace"]
    templates = [o["spec"]["template"] for o in objects if o["kind"] in ("Deployment", "StatefulSet")
                 and o["metadata"]["namespace"] == namespace
                 and selector.items() <= o["spec"]["template"]["metadata"]["labels"].items()]
    assert templates, service["metadata"]["name"]
    target = port.get("targetPort", port["port"])
    if isinstance(target, str):
        [target] = {p["containerPort"] for t in templates for c in t["spec"]["containers"]
                    for p in c.get("ports", []) if p.get("name") == target}
    return int(target), [t["metadata"]["labels"] for t in templates]


def test_every_endpoints_target_is_open_in_the_security_groups_and_the_network_policies(programs):
    """For each job scraped at pod IPs: the Service the job selects, resolved to the pods' real
    port, is open from the collector's security group to the cluster security group (which
    managed nodes, hence their pods, carry) and admitted by the rendered NetworkPolicies from an
    address of the subnets the collector's ENIs live in (its own). The API server is reached on
    443 the same way (its ENIs carry the cluster security group)."""
    from tests.test_network_policies import Source, allowed  # the NetworkPolicy evaluator

    prod = programs["prod"]
    objects = manifests.all_objects(prod)
    [collector_group] = prod.one(SCRAPER).get("source")["eks"]["securityGroupIds"]
    # The EKS-managed cluster security group: the one the database admits the nodes by.
    cluster_group = prod.one(INGRESS, name="airflow-db-from-cluster").get("referencedSecurityGroupId")
    def rules(typ: str) -> set[tuple]:
        return {(r.get("securityGroupId"), r.get("referencedSecurityGroupId"), int(r.get("fromPort")),
                 int(r.get("toPort"))) for r in prod.find(typ)}

    egress, ingress = rules(EGRESS), rules(INGRESS)

    def open_between_groups(port: int) -> bool:
        return any(g == collector_group and ref == cluster_group and lo <= port <= hi for g, ref, lo, hi in egress) \
            and any(g == cluster_group and ref == collector_group and lo <= port <= hi for g, ref, lo, hi in ingress)

    [subnet_id, *_] = prod.one(SCRAPER).get("source")["eks"]["subnetIds"]
    own = next(s for s in prod.find("aws:ec2/subnet:Subnet") if f"subnet-{s.name}" == subnet_id)
    collector = Source(ip=str(next(ipaddress.ip_network(own.get("cidrBlock")).hosts())))
    checked = []
    for name in (scrape.JOB_STATSD, scrape.JOB_PGBOUNCER, scrape.JOB_AUTOSCALER):
        j = job(name)
        labels, regex = keep(j)
        selected, port_name = regex.split(";")
        [namespace] = j["kubernetes_sd_configs"][0]["namespaces"]["names"]
        by = "component" if labels[0].endswith("_label_component") else "name"
        services = [o for o in objects if o["kind"] == "Service" and o["metadata"]["namespace"] == namespace
                    and re.fullmatch(selected, (o["metadata"].get("labels", {}).get("component", "")
                                                if by == "component" else o["metadata"]["name"]))]
        assert services, name
        for service in services:
            port, pod_labels = _endpoint_port(objects, service, port_name)
            policies = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == namespace]
            assert open_between_groups(port), (name, port)
            assert all(allowed(policies, labels_, collector, port) for labels_ in pod_labels), (name, port)
            checked.append(port)
    assert open_between_groups(443)
    assert sorted(set(checked)) == sorted(scrape.TARGET_PORTS)
    # Managed nodes carry the cluster security group only when their launch template names none.
    assert all(not t.get("vpcSecurityGroupIds") for t in prod.find("aws:ec2/launchTemplate:LaunchTemplate"))
