"""Network rules: security groups accept no ingress from anywhere, except tagged load balancers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import rule
from .constants import SECURITY_GROUP, SECURITY_GROUP_INGRESS, SECURITY_GROUP_RULE
from .helpers import _is_anywhere, _items, _map, _number, _tags


def _ports(rule_props: Mapping[str, Any]) -> set[int] | None:
    """The ports a rule opens, or None for every port (protocol -1 / all)."""
    low, high = _number(rule_props.get("fromPort")), _number(rule_props.get("toPort"))
    protocol = str(rule_props.get("protocol", rule_props.get("ipProtocol", "-1")))
    if protocol in ("-1", "all") or low is None or high is None or high - low > 1024:
        return None
    return set(range(int(low), int(high) + 1))


def _open_ingress(entries: Iterable[Mapping[str, Any]], exempt: bool, allowed_ports: set[int]) -> list[str]:
    found = []
    for entry in entries:
        cidrs = [*_items(entry.get("cidrBlocks")), *_items(entry.get("ipv6CidrBlocks")),
                 *_items(entry.get("cidrIpv4")), *_items(entry.get("cidrIpv6"))]
        if not any(_is_anywhere(c) for c in cidrs):
            continue
        ports = _ports(entry)
        if exempt and ports is not None and ports <= allowed_ports:
            continue
        shown = "all ports" if ports is None else f"ports {min(ports)}-{max(ports)}"
        found.append(f"ingress from anywhere ({shown}); only load balancers tagged for it may accept "
                     "0.0.0.0/0, and only on their listener ports.")
    return found


@rule("no-open-ingress", "No security group accepts traffic from 0.0.0.0/0 or ::/0, except tagged load balancers.",
      types=[SECURITY_GROUP, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS],
      config={"loadBalancerTag": {"type": "string", "default": "airflow-eks/public-load-balancer",
                                  "description": "Tag (value \"true\") marking an internet-facing load "
                                                 "balancer's security group or rule."},
              "allowedPorts": {"type": "array", "items": {"type": "integer"}, "default": [80, 443],
                               "description": "Ports such a load balancer may open to the internet."}})
def no_open_ingress(typ: str, props: Mapping[str, Any], cfg: Mapping[str, Any]) -> list[str]:
    exempt = str(_tags(props).get(cfg["loadBalancerTag"])).lower() == "true"
    allowed = {int(p) for p in cfg["allowedPorts"]}
    if typ == SECURITY_GROUP:
        entries = [_map(e) for e in _items(props.get("ingress"))]
    elif typ == SECURITY_GROUP_RULE:
        entries = [props] if props.get("type") == "ingress" else []
    else:
        entries = [props]
    return _open_ingress(entries, exempt, allowed)
