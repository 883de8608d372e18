"""UI access in the whole program: the Ingress and its ALB settings, certificate and DNS, the
teardown order as dependencies, the API server configured for SSO in the rendered Airflow
chart, and a sentinel client secret that never leaves its Secret."""

from __future__ import annotations

import json

import pytest
import yaml

from airflow_eks import config, helm_values, names, secret_data, sso, ui_ingress
from airflow_eks import load_balancer_controller as lbc
from airflow_eks.offline import harness, mocks
from tests import charts

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RELEASE = "kubernetes:helm.sh/v3:Release"
RECORD = "aws:route53/record:Record"
SECRET = "kubernetes:core/v1:Secret"
SENTINEL = "SENTINEL-sso-client-secret-4d9c1e"


def release(run, chart: str):
    [found] = [r for r in run.find(RELEASE) if r.get("chart") == chart]
    return found


def test_dev_has_no_ingress_controller_or_dns_and_keeps_its_admin(programs):
    dev = programs["dev"]
    assert dev.find(INGRESS) == [] and dev.find(RECORD) == []
    assert [r for r in dev.find(RELEASE) if r.get("chart") == lbc.CHART] == []
    assert "uiLoadBalancerHostname" not in dev.outputs and "airflowAdminPassword" in dev.outputs
    assert dev.outputs["airflowUrl"][0].startswith("http://localhost:8080 after `kubectl port-forward")


def test_prod_ingress_serves_https_with_the_validated_certificate_and_redirects_http(programs):
    prod = programs["prod"]
    ingress = prod.one(INGRESS)
    annotations = ingress.get("metadata.annotations")
    validation = prod.one("aws:acm/certificateValidation:CertificateValidation")
    assert annotations[ui_ingress.PREFIX + "certificate-arn"] == validation.get("certificateArn")
    assert json.loads(annotations[ui_ingress.PREFIX + "listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert annotations[ui_ingress.PREFIX + "ssl-redirect"] == "443"
    assert annotations[ui_ingress.PREFIX + "target-type"] == "ip"
    assert annotations[ui_ingress.PREFIX + "healthcheck-path"] == "/api/v2/monitor/health"
    spec = ingress.get("spec")
    assert spec["ingressClassName"] == ui_ingress.INGRESS_CLASS
    [rule] = spec["rules"]
    assert rule["host"] == "airflow.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": helm_values.API_SERVER_SERVICE, "port": {"number": helm_values.API_SERVER_PORT}}
    assert ingress.get("metadata.namespace") == names.AIRFLOW_NAMESPACE


def test_prod_alb_settings_are_pinned_by_the_ingress_class_params(programs):
    values = release(programs["prod"], lbc.CHART).plain_inputs["values"]
    spec = values["ingressClassParams"]["spec"]
    assert spec["scheme"] == "internal" and spec["inboundCIDRs"] == ["10.0.0.0/16"]
    assert spec["group"] == {"name": "airflow-eks-prod"}  # unique to the stack
    assert spec["listeners"][0]["listenerAttributes"][0]["key"] == ui_ingress.HSTS_ATTRIBUTE  # HSTS
    assert values["ingressClass"] == ui_ingress.INGRESS_CLASS and values["createIngressClassResource"] is True
    assert values["clusterName"] == programs["prod"].outputs["clusterName"][0]
    assert values["vpcId"] == programs["prod"].outputs["vpcId"][0] and values["region"] == "us-east-1"


@pytest.mark.parametrize("variant", ["prod", "ui-internet-facing"])
def test_the_alb_lands_only_in_its_own_subnets_never_the_nodes(variant):
    """The IngressClassParams' subnet selector, applied as the controller does (v3.5.0 docs,
    IngressClassParams spec.subnets.tags: each listed tag present with one of its values, in the
    load balancer's VPC), picks the load balancer subnets, one per AZ, and nothing else; the
    controller's own discovery (role tag of the scheme) would pick the same."""
    from tests.test_rendered_manifests import run

    program = run(variant)
    values = release(program, lbc.CHART).plain_inputs["values"]
    spec = values["ingressClassParams"]["spec"]
    every = program.find("aws:ec2/subnet:Subnet")
    selected = {s.name for s in every
                if all(s.get("tags").get(k) in allowed for k, allowed in spec["subnets"]["tags"].items())}
    role = {"internal": "kubernetes.io/role/internal-elb", "internet-facing": "kubernetes.io/role/elb"}[spec["scheme"]]
    discovered = {s.name for s in every if s.get("tags").get(role) in ("", "1")}
    own = {s.name for s in every if s.name.startswith("airflow-load-balancer-")}
    assert selected == discovered == own
    assert len({s.get("availabilityZone") for s in every if s.name in own}) == len(own) >= 2
    nodes = {i for g in program.find("eks:index:ManagedNodeGroup") for i in g.get("subnetIds")}
    assert not {f"subnet-{n}" for n in own} & nodes


def test_prod_certificate_is_validated_through_route53_and_the_name_points_at_the_alb(programs):
    prod = programs["prod"]
    certificate = prod.one("aws:acm/certificate:Certificate")
    assert (certificate.get("domainName"), certificate.get("validationMethod")) == ("airflow.example.com", "DNS")
    validation_record = prod.one(RECORD, name="airflow-ui-certificate-validation-record")
    assert validation_record.get("zoneId") == "Z0123456789EXAMPLE0" and validation_record.get("type") == "CNAME"
    validation = prod.one("aws:acm/certificateValidation:CertificateValidation")
    assert validation.get("validationRecordFqdns") == [validation_record.get("name").rstrip(".")]
    dns = prod.one(RECORD, name="airflow-ui-dns")
    assert (dns.get("name"), dns.get("type"), dns.get("zoneId")) == ("airflow.example.com", "A", "Z0123456789EXAMPLE0")
    [alias] = dns.get("aliases")
    assert alias["name"] == prod.outputs["uiLoadBalancerHostname"][0] and alias["zoneId"] == "Z35SXDOTRQ7X7K"
    assert prod.outputs["airflowUrl"] == ("https://airflow.example.com", False)


def test_only_prod_labels_the_namespace_for_the_alb_readiness_gates(programs):
    """dev has no controller: its pods must not wait on a gate nobody sets."""
    gate = {stack: run.one("kubernetes:core/v1:Namespace").get("metadata.labels").get(ui_ingress.READINESS_GATE_LABEL)
            for stack, run in programs.items()}
    assert gate == {"dev": None, "prod": "enabled"}


def test_the_gated_pods_are_the_api_servers_and_nothing_else_in_the_namespace(prod_airflow):
    """The webhook's object selector (ui_ingress.TARGET_POD_LABELS) picks exactly the pods the
    Ingress's Service sends traffic to; task pods (the pod template) are not among them."""
    selected = ui_ingress.TARGET_POD_LABELS
    service = charts.one(prod_airflow, "Service", helm_values.API_SERVER_SERVICE)
    assert service["spec"]["selector"].items() <= selected.items()

    def matches(labels: dict) -> bool:
        return selected.items() <= (labels or {}).items()

    workloads = [o for o in prod_airflow if o["kind"] in ("Deployment", "StatefulSet", "Job")]
    assert [o["metadata"]["name"] for o in workloads if matches(o["spec"]["template"]["metadata"]["labels"])] == [
        f"{names.AIRFLOW_RELEASE}-api-server"]
    config = charts.one(prod_airflow, "ConfigMap", f"{names.AIRFLOW_RELEASE}-config")["data"]
    task_pod = yaml.safe_load(config["pod_template_file.yaml"])
    assert task_pod["kind"] == "Pod" and not matches(task_pod["metadata"].get("labels"))


# -- teardown order: destroy runs these edges backwards ---------------------------------------
def test_the_ingress_goes_before_the_controller_and_the_controller_before_the_nodes(programs):
    prod = programs["prod"]
    ingress, controller = prod.one(INGRESS), release(prod, lbc.CHART)
    assert prod.depends_on(ingress, controller)
    for dependency in (prod.one("eks:index:ManagedNodeGroup", name="airflow-system"),
                       prod.one("aws:eks/addon:Addon", name="airflow-addons-pod-identity-agent"),
                       prod.one("aws:eks/podIdentityAssociation:PodIdentityAssociation",
                                name="airflow-lbc-identity-aws-load-balancer-controller"),
                       prod.one("aws:iam/rolePolicy:RolePolicy", name="airflow-lbc-identity-policy")):
        assert prod.depends_on(controller, dependency), dependency.name
    # ...and so, with the nodes, before the subnets and the VPC its ALB and security groups live in.
    assert prod.depends_on(controller, prod.one("aws:ec2/vpc:Vpc"))


def test_the_ingress_needs_the_airflow_service_and_goes_before_it(programs):
    prod = programs["prod"]
    assert prod.depends_on(prod.one(INGRESS), release(prod, "airflow"))
    assert prod.depends_on(prod.one(INGRESS), prod.one("kubernetes:core/v1:Namespace"))


def test_the_dns_record_goes_before_the_ingress_and_the_certificate_after_it(programs):
    prod = programs["prod"]
    ingress = prod.one(INGRESS)
    assert prod.depends_on(prod.one(RECORD, name="airflow-ui-dns"), ingress)
    assert prod.depends_on(ingress, prod.one("aws:acm/certificateValidation:CertificateValidation"))
    assert prod.depends_on(ingress, prod.one("aws:acm/certificate:Certificate"))


# -- the rendered Airflow chart with SSO ---------------------------------------------------------
@pytest.fixture(scope="module")
def prod_airflow(programs) -> list[dict]:
    values = release(programs["prod"], "airflow").plain_inputs["values"]
    return charts.render(charts.airflow_chart_dir(), values, release=names.AIRFLOW_RELEASE,
                         namespace=names.AIRFLOW_NAMESPACE)


def _api_server(objects):
    deployment = charts.one(objects, "Deployment", f"{names.AIRFLOW_RELEASE}-api-server")
    spec = charts.pod_spec(deployment)
    [container] = [c for c in spec["containers"] if c["name"] == "api-server"]
    return spec, container


def test_rendered_api_server_mounts_the_generated_webserver_config(programs, prod_airflow):
    spec, container = _api_server(prod_airflow)
    config_map = charts.one(prod_airflow, "ConfigMap", f"{names.AIRFLOW_RELEASE}-api-server-config")
    settings = harness.run(config.load, stack="prod").value
    # The chart's `|-` block drops the final newline; every other character is ours.
    assert config_map["data"]["webserver_config.py"] == sso.webserver_config(settings.ui.sso).rstrip("\n")
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"].endswith("/webserver_config.py")]
    [volume] = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    assert mount["subPath"] == "webserver_config.py" and mount["mountPath"] == "/opt/airflow/webserver_config.py"


def test_rendered_api_server_reads_the_client_secret_from_the_secret(programs, prod_airflow):
    _, container = _api_server(prod_airflow)
    [env] = [e for e in container["env"] if e["name"] == sso.CLIENT_SECRET_ENV]
    ref = env["valueFrom"]["secretKeyRef"]
    assert ref == {"name": secret_data.SECRET_NAMES.sso_client, "key": secret_data.SSO_CLIENT_SECRET_KEY}
    secret = programs["prod"].one(SECRET, name="airflow-secrets-sso-client")
    assert secret.get("metadata.name") == ref["name"]
    assert mocks.secret_paths(secret.inputs) == ["stringData"]
    assert ref["key"] in secret.plain_inputs["stringData"]
    # Only the API server gets it: no other workload of the chart references the Secret.
    others = [o["metadata"]["name"] for o in prod_airflow if o["kind"] in ("Deployment", "StatefulSet", "Job")
              and o["metadata"]["name"] != f"{names.AIRFLOW_RELEASE}-api-server"
              and ref["name"] in json.dumps(o)]
    assert others == []


def test_rendered_api_server_trusts_the_albs_forwarded_headers_and_knows_its_url(programs, prod_airflow):
    _, container = _api_server(prod_airflow)
    assert "--proxy-headers" in " ".join(container["args"])
    [allowed] = [e["value"] for e in container["env"] if e["name"] == "FORWARDED_ALLOW_IPS"]
    # the ALB's own subnets, where no pod has an address (not the VPC, which holds every pod)
    balancers = sorted((s for s in programs["prod"].find("aws:ec2/subnet:Subnet")
                        if s.name.startswith("airflow-load-balancer-")), key=lambda s: s.name)
    assert balancers and allowed == ",".join([*(s.get("cidrBlock") for s in balancers), "127.0.0.1"])
    config = charts.one(prod_airflow, "ConfigMap", f"{names.AIRFLOW_RELEASE}-config")["data"]["airflow.cfg"]
    assert "base_url = https://airflow.example.com" in config
    assert "enable_proxy_fix = True" in config


def test_with_sso_no_admin_is_generated(programs, prod_airflow):
    assert not [o for o in prod_airflow if o["kind"] == "Job" and "create-user" in o["metadata"]["name"]]
    prod = programs["prod"]
    assert prod.find(SECRET, name="airflow-secrets-admin-user") == []
    assert prod.find("random:index/randomPassword:RandomPassword", name="airflow-secrets-admin-password") == []
    assert "airflowAdminPassword" not in prod.outputs and "airflowAdminUser" not in prod.outputs


# -- the sentinel secret ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sentinel_run() -> harness.Run:
    return harness.run_program("prod", secrets={"ssoClientSecret": SENTINEL})


def test_the_client_secret_reaches_its_secret(sentinel_run):
    secret = sentinel_run.one(SECRET, name="airflow-secrets-sso-client")
    assert secret.plain_inputs["stringData"][secret_data.SSO_CLIENT_SECRET_KEY] == SENTINEL


def test_the_client_secret_appears_nowhere_else_unmarked(sentinel_run):
    holders = [r.name for r in sentinel_run.resources if mocks.contains_text(r.inputs, SENTINEL,
                                                                              outside_secrets=False)]
    assert holders == ["airflow-secrets-sso-client"]
    for r in sentinel_run.resources:
        assert not mocks.contains_text(r.inputs, SENTINEL), f"{r.typ} {r.name} holds the secret unmarked"
    for urn, outputs in sentinel_run.mocks.monitor.registered_outputs.items():
        assert not mocks.contains_text(outputs, SENTINEL, outside_secrets=False), urn
    for name, (value, _) in sentinel_run.outputs.items():
        assert SENTINEL not in json.dumps(value), name
    values = release(sentinel_run, "airflow").plain_inputs["values"]
    assert SENTINEL not in json.dumps(values)


def test_a_rotated_client_secret_rolls_the_api_server_without_its_value_in_the_values(sentinel_run):
    """The API server reads the secret at start only: a new value must change its pod template."""
    rotated = harness.run_program("prod", secrets={"ssoClientSecret": SENTINEL + "-rotated"})
    generations = [run.one("random:index/randomId:RandomId", name="airflow-secrets-sso-client-generation")
                   for run in (sentinel_run, rotated)]
    # pulumi-random draws a new ID when a keeper changes: the keeper follows the secret, as a secret.
    assert [mocks.secret_paths(g.inputs) for g in generations] == [["keepers"], ["keepers"]]
    assert generations[0].plain_inputs["keepers"] != generations[1].plain_inputs["keepers"]
    ids = []
    for run, generation in zip((sentinel_run, rotated), generations, strict=True):
        airflow_release = release(run, "airflow")
        ids.append(airflow_release.plain_inputs["values"]["apiServer"]["podAnnotations"][
            helm_values.SSO_CLIENT_GENERATION_ANNOTATION])
        assert run.depends_on(airflow_release, generation)
        assert not mocks.contains_text(generation.inputs, SENTINEL, outside_secrets=False)
    # The mock draws the ID from the keepers, as pulumi-random draws anew when they change.
    assert ids[0] and ids[1] and ids[0] != ids[1]
