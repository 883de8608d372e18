"""UiIngress on its own, for both certificate paths, and the pure Ingress pieces."""

from __future__ import annotations

import json
import re
import string

import pulumi
import pulumi_kubernetes as k8s
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_eks import config, ui_ingress
from airflow_eks.offline import harness
from airflow_eks.ui_config import UiSettings
from components.ui_ingress import UiIngress, UiIngressArgs

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
ZONE = "Z0123456789EXAMPLE0"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RECORD = "aws:route53/record:Record"


def ui(**changes) -> UiSettings:
    base = dict(hostname="airflow.example.com", certificate_arn="", hosted_zone_id=ZONE, scheme="internal",
                allowed_cidrs=("10.0.0.0/16",), waf_acl_arn="", sso=None, client_secret=None)
    return UiSettings(**{**base, **changes})


def build(settings: UiSettings):
    def run():
        provider = k8s.Provider("k8s", kubeconfig="{}")
        controller = k8s.core.v1.ConfigMap("controller-stand-in", opts=pulumi.ResourceOptions(provider=provider))
        return UiIngress("ui", UiIngressArgs(ui=settings, region="us-east-1", namespace="airflow",
                                             depends_on=[controller]),
                         pulumi.ResourceOptions(providers={"kubernetes": provider}))
    return harness.run(run)


@pytest.fixture(scope="module")
def with_zone() -> harness.Run:
    return build(ui())


@pytest.fixture(scope="module")
def with_certificate() -> harness.Run:
    return build(ui(certificate_arn=CERT, hosted_zone_id=""))


def test_with_a_zone_the_certificate_is_validated_before_the_ingress_uses_it(with_zone):
    run = with_zone
    ingress = run.one(INGRESS)
    validation = run.one("aws:acm/certificateValidation:CertificateValidation")
    assert run.depends_on(ingress, validation)
    assert run.depends_on(validation, run.one(RECORD, name="ui-certificate-validation-record"))
    assert ingress.get("metadata.annotations")[ui_ingress.PREFIX + "certificate-arn"] == validation.get(
        "certificateArn")
    assert run.depends_on(ingress, run.one("kubernetes:core/v1:ConfigMap"))  # what it was told to wait for


def test_with_a_zone_the_host_is_an_alias_of_the_alb(with_zone):
    dns = with_zone.one(RECORD, name="ui-dns")
    assert with_zone.depends_on(dns, with_zone.one(INGRESS))
    [alias] = dns.get("aliases")
    assert alias["name"].endswith(".elb.amazonaws.com") and alias["evaluateTargetHealth"] is True


def test_with_an_existing_certificate_no_acm_and_no_dns(with_certificate):
    run = with_certificate
    assert run.find("aws:acm/certificate:Certificate") == [] and run.find(RECORD) == []
    assert run.one(INGRESS).get("metadata.annotations")[ui_ingress.PREFIX + "certificate-arn"] == CERT


def test_annotations_route_https_to_pod_ips_and_check_airflow_3s_health_endpoint():
    a = ui_ingress.annotations(CERT)
    assert a[ui_ingress.PREFIX + "target-type"] == "ip"
    assert json.loads(a[ui_ingress.PREFIX + "listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert a[ui_ingress.PREFIX + "ssl-redirect"] == "443"
    assert a[ui_ingress.PREFIX + "healthcheck-path"] == "/api/v2/monitor/health"
    assert a[ui_ingress.PREFIX + "certificate-arn"] == CERT


def test_class_params_pin_scheme_cidrs_group_tls_and_namespace_and_waf_only_when_set():
    params = ui_ingress.class_params(ui(scheme="internet-facing", allowed_cidrs=("203.0.113.0/24",)), group="g")
    assert (params["scheme"], params["inboundCIDRs"], params["group"]) == (
        "internet-facing", ["203.0.113.0/24"], {"name": "g"})
    assert params["sslPolicy"].startswith("ELBSecurityPolicy-TLS13") and "wafv2AclArn" not in params
    assert ui_ingress.class_params(ui(waf_acl_arn="arn:waf"), group="g")["wafv2AclArn"] == "arn:waf"


def test_hsts_is_a_listener_attribute_of_the_https_listener_pinned_by_the_class():
    """The attribute key from the ELB API (ListenerAttribute), on the HTTPS listener the
    Ingress opens (the class's listeners only set attributes, they open nothing)."""
    [listener] = ui_ingress.class_params(ui(), group="g")["listeners"]
    assert {listener["protocol"]: listener["port"]} in json.loads(
        ui_ingress.annotations(CERT)[ui_ingress.PREFIX + "listen-ports"])
    assert listener["protocol"] == "HTTPS"
    [attribute] = listener["listenerAttributes"]
    assert attribute == {"key": "routing.http.response.strict_transport_security.header_value",
                         "value": "max-age=31536000"}
    # RFC 6797 6.1.1: max-age is required; one year, no includeSubDomains/preload.
    assert re.fullmatch(r"max-age=\d+", attribute["value"]) and int(attribute["value"].split("=")[1]) >= 31536000


@pytest.mark.parametrize(("project", "stack", "group"), [
    ("airflow-eks", "prod", "airflow-eks-prod"),
    ("Airflow_EKS", "Team.Prod", "airflow-eks-team-prod"),
    ("p" * 40, "s" * 40, ("p" * 40 + "-" + "s" * 40)[:63]),
])
def test_group_name_is_the_stacks_within_the_controllers_limits(project, stack, group):
    assert ui_ingress.group_name(project, stack) == group


# The controller's own check (v3.5.0 pkg/ingress/group_loader.go: groupNameRegex and
# maxGroupNameLength), copied from its source rather than from the code under test.
CONTROLLER_GROUP_NAME = re.compile(r"^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$")
# What Pulumi accepts as a stack name: letters, digits, "-", "_" and ".", up to 100 characters.
stack_names = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=100)


def test_a_long_stack_name_cut_at_a_dash_is_not_left_ending_in_one():
    # "airflow-eks-" + 50 letters is 62 characters: the 63rd is the stack's own dash.
    stack = "x" * 50 + "-team"
    assert ui_ingress.group_name(config.PROJECT, stack) == f"{config.PROJECT}-{'x' * 50}"


@given(stack=stack_names)
def test_every_stack_name_gives_a_group_name_the_controller_accepts(stack):
    name = ui_ingress.group_name(config.PROJECT, stack)
    assert CONTROLLER_GROUP_NAME.match(name) and len(name) <= 63
    assert name.startswith(config.PROJECT)


@given(project=st.text(alphabet=string.ascii_lowercase + "-_.", min_size=1, max_size=40).filter(
    lambda p: any(c.isalpha() for c in p)), stack=stack_names)
def test_any_project_with_a_letter_gives_a_valid_group_name(project, stack):
    name = ui_ingress.group_name(project, stack)
    assert CONTROLLER_GROUP_NAME.match(name) and len(name) <= 63


def test_airflow_url_is_https_or_the_port_forward_hint():
    assert ui_ingress.airflow_url(ui()) == "https://airflow.example.com"
    assert "kubectl port-forward" in ui_ingress.airflow_url(ui(hostname=""))


def test_the_namespace_asks_for_readiness_gates_only_with_the_ui():
    """Without the UI there is no controller to set a gate, so none may be injected."""
    assert ui_ingress.namespace_labels(ui()) == {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}
    assert ui_ingress.namespace_labels(ui(hostname="")) == {}
    assert ui_ingress.namespace_labels(None) == {}
