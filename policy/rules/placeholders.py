"""Template placeholders: values the committed stack files carry only to stand in for yours.

Pulumi.prod.yaml is a template: a documentation address range for the API endpoint's CIDRs,
an example domain and zone for the UI and the identity provider (and a registry configured by
hand may still name AWS's documentation account). They pass every format check, so only their
meaning can be checked: the reserved documentation ranges (RFC 5737, RFC 3849), the reserved
example domains (RFC 2606), AWS's documentation account IDs, and a hosted zone ID spelled with
EXAMPLE.

Only values that come from the stack's configuration are read (the API endpoint's CIDRs, image
repositories, the UI's host name, certificate and DNS record, the OIDC issuer in the generated
webserver_config.py, the alert e-mail). Computed values are left alone: the offline mock engine
gives every ARN AWS's documentation account, and a real stack's own account is no placeholder.

`stack_placeholders()` also feeds `make plan`'s warnings (tools/plan), so the plan and the pack agree.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .airflow_values import _is_airflow
from .base import Resource, rule
from .constants import EKS_CLUSTER, EKS_COMPONENT, HELM_RELEASE, INGRESS
from .helpers import _first, _items, _map, _path

ACM_CERTIFICATE = "aws:acm/certificate:Certificate"
ROUTE53_RECORD = "aws:route53/record:Record"
SNS_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ECR_TYPES = "aws:ecr/"  # the stack's own registry (imageRegistry): repositories, pull-through cache rules

# RFC 5737 (TEST-NET-1, -2, -3) and RFC 3849: reserved for documentation, routed nowhere.
DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(n) for n in
                               ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
# RFC 2606: the second-level example domains and the top-level names reserved for examples and tests.
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid")
# The account IDs AWS's documentation uses in ARNs and registry hosts.
DOCUMENTATION_ACCOUNTS = ("123456789012", "111122223333")
ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?(?:/|$)")
URL = re.compile(r"https?://([A-Za-z0-9.-]+)[^\s\"']*")
DISCOVERY_PATH = "/.well-known/openid-configuration"  # the issuer is the URL before it
# The Airflow chart's values that take airflowImageRepository; every other image is the mirror's.
AIRFLOW_IMAGE_PATHS = ("defaultAirflowRepository", "images.airflow.repository", "images.pod_template.repository")
DOCS = "docs/deploying.md, Before the first prod deploy"


@dataclass(frozen=True)
class Placeholder:
    key: str
    """The configuration key whose value it is."""
    value: str
    reason: str

    @property
    def message(self) -> str:
        return (f"{self.key} = {self.value} is a template placeholder ({self.reason}); replace it with "
                f"your own before deploying ({DOCS}).")


def documentation_network(value: str) -> bool:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return False
    return any(network.version == d.version and network.subnet_of(d) for d in DOCUMENTATION_NETWORKS)


def example_domain(host: str) -> bool:
    name = host.strip().rstrip(".").lower()
    return (name.rsplit(".", 1)[-1] in RESERVED_TLDS
            or any(name == d or name.endswith(f".{d}") for d in EXAMPLE_DOMAINS))


def placeholder_registry(repository: str, *, own_registry: bool = False) -> tuple[str, str] | None:
    """(registry host, why) when an image repository's registry is a placeholder: ECR in AWS's
    documentation account (unless the stack runs its own registry, whose host is computed from
    the account the stack deploys to), or a registry under an example domain; else None."""
    host = repository.split("/", 1)[0]
    match = ECR_HOST.match(repository)
    if match and match.group(1) in DOCUMENTATION_ACCOUNTS and not own_registry:
        return host, f"{match.group(1)} is AWS's documentation account"
    if "." in host and example_domain(host.split(":", 1)[0]):
        return host, "an example domain reserved by RFC 2606"
    return None


def _repositories(values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, repository) of the image repositories in Helm values: `image.repository` (the
    autoscaler's and the controller's charts), `images.<name>.repository` and
    `defaultAirflowRepository` (the Airflow chart). Only these paths are read: during a preview
    CrossGuard raises on any unknown value read, and the rest of the values may be unknown."""
    for path in ("defaultAirflowRepository", "image.repository"):
        value = _path(values, path)
        if isinstance(value, str):
            yield path, value
    images = _path(values, "images")
    for name in images if isinstance(images, Mapping) else ():
        value = _path(_map(images[name]), "repository")
        if isinstance(value, str):
            yield f"images.{name}.repository", value


def _release(props: Mapping[str, Any], own_registry: bool) -> list[Placeholder]:
    values = _map(props.get("values"))
    found = []
    for where, repository in _repositories(values):
        placeholder = placeholder_registry(repository, own_registry=own_registry)
        if placeholder:
            registry, why = placeholder
            key = "airflowImageRepository" if _is_airflow(props) and where in AIRFLOW_IMAGE_PATHS else "imageMirror"
            found.append(Placeholder(key, repository if key == "airflowImageRepository" else registry, why))
    if _is_airflow(props):
        config = str(_path(values, "apiServer.apiServerConfig") or "")
        for match in URL.finditer(config):
            if example_domain(match.group(1)):
                issuer = match.group(0).removesuffix(DISCOVERY_PATH)
                found.append(Placeholder("ssoIssuerUrl", issuer, "an example domain reserved by RFC 2606"))
    return found


def placeholders(typ: str, props: Mapping[str, Any], *, own_registry: bool = False) -> list[Placeholder]:
    """The placeholders among one resource's configured values; `own_registry`: the stack has
    ECR resources of its own (imageRegistry), so its ECR hosts are computed, not configured."""
    example = "an example domain reserved by RFC 2606"
    if typ in (EKS_COMPONENT, EKS_CLUSTER):
        cidrs = _items(props.get("publicAccessCidrs") if typ == EKS_COMPONENT
                       else _first(props.get("vpcConfig")).get("publicAccessCidrs"))
        return [Placeholder("clusterPublicAccessCidrs", str(c), "a documentation address range (RFC 5737): it "
                            "reaches nothing") for c in cidrs if documentation_network(str(c))]
    if typ == HELM_RELEASE:
        return _release(props, own_registry)
    if typ == INGRESS:
        hosts = [str(r.get("host")) for r in _items(_path(props, "spec.rules")) if isinstance(r, Mapping)]
        return [Placeholder("uiHostname", h, example) for h in hosts if h and example_domain(h)]
    if typ == ACM_CERTIFICATE:
        name = str(props.get("domainName") or "")
        return [Placeholder("uiHostname", name, example)] if name and example_domain(name) else []
    if typ == ROUTE53_RECORD:
        zone = str(props.get("zoneId") or "")
        return [Placeholder("uiHostedZoneId", zone, "a made-up zone ID (EXAMPLE)")] if "EXAMPLE" in zone else []
    if typ == SNS_SUBSCRIPTION and str(props.get("protocol")) == "email":
        address = str(props.get("endpoint") or "")
        domain = address.rsplit("@", 1)[-1]
        return [Placeholder("alertEmail", address, example)] if example_domain(domain) else []
    return []


def stack_placeholders(resources: Sequence[Resource]) -> list[tuple[Placeholder, str]]:
    """(placeholder, URN) over a whole stack. A stack rule because the image registries' check
    depends on whether the stack runs its own ECR registry: its host is then the deploying
    account's, which the offline mock engine, like AWS's documentation, spells 123456789012."""
    own_registry = any(r.type.startswith(ECR_TYPES) for r in resources)
    found = []
    for resource in resources:
        try:
            found += [(p, resource.urn) for p in placeholders(resource.type, resource.props, own_registry=own_registry)]
        except Exception as exc:
            # CrossGuard raises UnknownValueError (pulumi_policy.proxy; not importable here, the
            # pack's rules are plain Python) for a value not known during a preview: that resource
            # cannot be judged yet, the others still can.
            if type(exc).__name__ != "UnknownValueError":
                raise
    return found


@rule("no-template-placeholders", "No configured value is still a template placeholder: a documentation "
      "address range, an example domain or hosted zone, AWS's documentation account.")
def no_template_placeholders(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(p.message, urn) for p, urn in stack_placeholders(resources)]
