"""UI access rules: the ALB serves HTTPS only, and an internet-facing one only with SSO and
explicit client CIDRs (0.0.0.0/0 and a missing WAF ACL are advisories).

The ALB's scheme, CIDRs and WAF ACL are pinned by the IngressClassParams the AWS Load Balancer
Controller's chart renders from its values (`ingressClassParams.spec`); an Ingress could also
carry them as annotations where no params pin them, so both places are read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .airflow_values import _airflow_values
from .base import Resource, rule
from .constants import ADVISORY, ALB_ANNOTATION_PREFIX, HELM_RELEASE, INGRESS, LOAD_BALANCER_CONTROLLER_CHART
from .helpers import _is_anywhere, _items, _map, _of_type, _path


def _annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(_path(props, "metadata.annotations"))


def _listen_ports(annotations: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    text = annotations.get(f"{ALB_ANNOTATION_PREFIX}listen-ports")
    try:
        ports = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        ports = []
    return [p for p in _items(ports) if isinstance(p, Mapping)]


@rule("ui-https-only", "ALB Ingresses listen on HTTPS with a certificate; plain HTTP only redirects to HTTPS.",
      types=[INGRESS])
def ui_https_only(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    annotations = _annotations(props)
    if not any(str(k).startswith(ALB_ANNOTATION_PREFIX) for k in annotations):
        return []  # not an ALB Ingress
    ports = _listen_ports(annotations)
    protocols = {str(k) for p in ports for k in p}
    found = []
    if "HTTPS" not in protocols:
        found.append("listen-ports has no HTTPS listener (the controller's default is HTTP:80 only); "
                     "listen on HTTPS 443.")
    if not annotations.get(f"{ALB_ANNOTATION_PREFIX}certificate-arn"):
        found.append("no certificate-arn: name the ACM certificate of the host.")
    if ("HTTP" in protocols or not ports) and not annotations.get(f"{ALB_ANNOTATION_PREFIX}ssl-redirect"):
        found.append("an HTTP listener without ssl-redirect serves the UI (and its session cookies) in clear text.")
    return found


def _albs(resources: Sequence[Resource]) -> list[tuple[Resource, Mapping[str, Any]]]:
    """(resource, settings) of every ALB definition: the controller's IngressClassParams and any
    Ingress that sets its scheme itself."""
    found = []
    for release in _of_type(resources, HELM_RELEASE):
        if str(release.props.get("chart") or "").endswith(LOAD_BALANCER_CONTROLLER_CHART):
            spec = _map(_path(_map(release.props.get("values")), "ingressClassParams.spec"))
            found.append((release, {"scheme": spec.get("scheme"), "cidrs": _items(spec.get("inboundCIDRs")),
                                    "waf": spec.get("wafv2AclArn")}))
    for ingress in _of_type(resources, INGRESS):
        annotations = _annotations(ingress.props)
        if annotations.get(f"{ALB_ANNOTATION_PREFIX}scheme"):
            cidrs = str(annotations.get(f"{ALB_ANNOTATION_PREFIX}inbound-cidrs") or "")
            found.append((ingress, {"scheme": annotations[f"{ALB_ANNOTATION_PREFIX}scheme"],
                                    "cidrs": [c.strip() for c in cidrs.split(",") if c.strip()],
                                    "waf": annotations.get(f"{ALB_ANNOTATION_PREFIX}wafv2-acl-arn")}))
    return found


def _sso_on(resources: Sequence[Resource]) -> bool:
    """Every Airflow release signs people in through OAuth (the generated webserver_config.py)."""
    values = _airflow_values(resources)
    return bool(values) and all("AUTH_TYPE = AUTH_OAUTH" in str(_path(v, "apiServer.apiServerConfig") or "")
                                for v in values)


@rule("ui-internet-facing-guarded", "An internet-facing ALB only with SSO on the UI (no password form on the "
      "internet) and explicit client CIDRs.")
def ui_internet_facing_guarded(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for resource, alb in _albs(resources):
        if alb["scheme"] != "internet-facing":
            continue
        if not _sso_on(resources):
            found.append(("internet-facing ALB while the Airflow UI has a password login: set up SSO "
                          "(ssoIssuerUrl) or keep the ALB internal.", resource.urn))
        if not alb["cidrs"]:
            found.append(("internet-facing ALB without inbound CIDRs: list the client ranges allowed.", resource.urn))
    return found


@rule("ui-internet-facing-exposure", "An internet-facing ALB is not open to 0.0.0.0/0 and has a WAF web ACL.",
      level=ADVISORY)
def ui_internet_facing_exposure(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for resource, alb in _albs(resources):
        if alb["scheme"] != "internet-facing":
            continue
        if any(_is_anywhere(c) for c in alb["cidrs"]):
            found.append(("internet-facing ALB open to 0.0.0.0/0: narrow it to your users' ranges.", resource.urn))
        if not alb["waf"]:
            found.append(("internet-facing ALB without a WAFv2 web ACL (uiWafAclArn).", resource.urn))
    return found
