"""The UI's ALB: IngressClassParams, Ingress annotations and spec, and the UI URL. Pure.

Who may set what: the IngressClassParams (rendered by the controller's chart, referenced by
the IngressClass `INGRESS_CLASS`) pin the scheme, the subnets, the inbound CIDRs, the WAF ACL,
the TLS policy, HSTS, the ALB group and the namespace allowed to use the class, so no Ingress, ours or
anyone else's, can turn the ALB internet-facing or open it wider. The Ingress annotations
only describe the routing: IP targets, HTTPS with the certificate, HTTP redirected to HTTPS,
and the API server's health endpoint.
"""

from __future__ import annotations

import json
import re

from airflow_eks import helm_values, names, subnets
from airflow_eks.ui_config import UiSettings

INGRESS_CLASS = "airflow-alb"
PREFIX = "alb.ingress.kubernetes.io/"
# Airflow 3's health endpoint (apache/airflow#58129); the Airflow 2 `/health` is gone.
HEALTH_CHECK_PATH = "/api/v2/monitor/health"
# TLS 1.3 and 1.2 with forward secrecy only (ELB's recommended policy for ALBs).
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HTTPS_PORT = 443
LISTEN_PORTS = [{"HTTP": 80}, {"HTTPS": HTTPS_PORT}]
# HSTS on every response of the HTTPS listener: browsers that have seen it go to https by
# themselves, so even an old http:// bookmark never reaches the HTTP listener. An ALB listener
# attribute (ELB docs: "HTTP header modification for your Application Load Balancer"; API
# ListenerAttribute), set through the IngressClassParams' `listeners` (controller v3.5.0 docs,
# guide/ingress/ingress_class.md, spec.listeners), where the class's value wins over any
# Ingress annotation (pkg/ingress/model_build_listener.go, buildIngressGroupListenerAttributes).
# One year; without includeSubDomains or preload, which would bind names that are not the UI's.
HSTS_ATTRIBUTE = "routing.http.response.strict_transport_security.header_value"
HSTS_HEADER = "max-age=31536000"
# On Airflow's namespace when the UI is on: the controller's pod webhook (mpod.elbv2.k8s.aws)
# then gives each new pod behind the ALB a readiness gate that turns true only once the ALB
# sees the pod healthy, so a rolling update keeps the old API server pods until the new ones
# serve (with IP targets, a pod Ready before the ALB's health checks pass leaves the target
# group with only initial and draining targets: brief 502s). Not in dev: no controller there,
# so nothing would ever set the gate.
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
# The pods behind the ALB: the chart's labels of the API server (its Service's selector). The
# webhook is limited to them, so task pods never wait on it.
TARGET_POD_LABELS = {"tier": "airflow", "component": "api-server", "release": names.AIRFLOW_RELEASE}
_GROUP = re.compile(r"[^a-z0-9-]+")
# The controller's rule for group names (v3.5.0 pkg/ingress/group_loader.go, validateGroupName):
# it refuses any other with "invalid ingress group", and the Ingress never gets an ALB.
GROUP_NAME = re.compile(r"^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$")
GROUP_NAME_MAX = 63


def group_name(project: str, stack: str) -> str:
    """The ALB group, unique to the stack: lower-case letters, digits and dashes, cut to the
    controller's 63 characters and only then stripped of dashes, so it never ends in one."""
    name = _GROUP.sub("-", f"{project}-{stack}".lower())[:GROUP_NAME_MAX].strip("-")
    if not GROUP_NAME.match(name):
        raise ValueError(f"no ALB group name can be made of project {project!r} and stack {stack!r}")
    return name


def class_params(ui: UiSettings, *, group: str) -> dict:
    """IngressClassParams spec: what no Ingress may change."""
    spec: dict = {
        "scheme": ui.scheme,
        "inboundCIDRs": list(ui.allowed_cidrs),
        "group": {"name": group},
        "sslPolicy": SSL_POLICY,
        "targetType": "ip",
        # The load balancer's own subnets (airflow_eks/subnets.py), by their tier tag: with a
        # selector the controller discovers nothing else, so the ALB never lands in the nodes'
        # subnets, and the API server's NetworkPolicy admits exactly these addresses.
        "subnets": {"tags": {subnets.TIER_TAG: [subnets.LOAD_BALANCER]}},
        "listeners": [{"protocol": "HTTPS", "port": HTTPS_PORT,
                       "listenerAttributes": [{"key": HSTS_ATTRIBUTE, "value": HSTS_HEADER}]}],
        # Only Ingresses in Airflow's namespace may use this class (and so join this ALB).
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": names.AIRFLOW_NAMESPACE}},
    }
    if ui.waf_acl_arn:
        spec["wafv2AclArn"] = ui.waf_acl_arn
    return spec


def namespace_labels(ui: UiSettings | None) -> dict[str, str]:
    """Labels of Airflow's namespace: the readiness gate injection, with the UI only."""
    return {READINESS_GATE_LABEL: "enabled"} if ui and ui.enabled else {}


def annotations(certificate_arn: str) -> dict[str, str]:
    return {
        # Pods as targets: no NodePort hop, and the health check reaches the API server itself.
        f"{PREFIX}target-type": "ip",
        f"{PREFIX}listen-ports": json.dumps(LISTEN_PORTS),
        f"{PREFIX}ssl-redirect": "443",
        f"{PREFIX}certificate-arn": certificate_arn,
        f"{PREFIX}backend-protocol": "HTTP",
        f"{PREFIX}healthcheck-path": HEALTH_CHECK_PATH,
        f"{PREFIX}success-codes": "200",
    }


def ingress_spec(hostname: str) -> dict:
    """Route by host, not path: Airflow 3 breaks under a path prefix (apache/airflow#51450)."""
    return {
        "ingressClassName": INGRESS_CLASS,
        "rules": [{"host": hostname, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": helm_values.API_SERVER_SERVICE,
                                    "port": {"number": helm_values.API_SERVER_PORT}}},
        }]}}],
    }


def airflow_url(ui: UiSettings) -> str:
    """What people open: the https URL, or how to reach the UI without an ingress."""
    if ui.enabled:
        return ui.url
    return (f"http://localhost:{helm_values.API_SERVER_PORT} after "
            f"`{helm_values.ui_command(names.AIRFLOW_NAMESPACE)}` (no ingress: uiHostname is empty)")
