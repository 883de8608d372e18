"""The VPC's subnet plan: which CIDR each AZ's subnets get, and how subnets say what they are for. Pure.

Layout, for a VPC of prefix P (Pulumi.yaml: /16 to /20), cut into eight /P+3 blocks:

- private subnet of AZ i: block i (1/8 of the VPC). Nodes, pods and the database live here,
  and the VPC CNI gives every pod a VPC address, so they get the room;
- public subnet of AZ i: the i-th /P+6 (1/64 of the VPC) of block 6. NAT gateways only;
- block 7 (at least a /23) holds the small subnets of what reaches pods from outside the
  cluster, so that no pod ever has an address in them and a NetworkPolicy can admit exactly
  them by address (the VPC CNI's policy agent matches `ipBlock` peers by address alone):
  - load balancer subnet of AZ i: the i-th /27 of block 7's first /24. The UI's ALB, internal
    or internet-facing (then routed to the internet gateway). AWS asks for at least a /27
    with 8 free addresses per ALB subnet (ELB user guide, "Subnets for your load balancer");
  - collector subnet of AZ i: the i-th /28 of block 7's second /24, for the first
    MAX_COLLECTOR_SUBNETS AZs only. The AMP managed collector puts one network interface in
    each subnet it is given and takes at most five (AMP API reference, CreateScraper and
    EksConfiguration); /28 is the smallest subnet AWS allows.

Six AZs use six of each, so the plan always fits and never overlaps, and each AZ added later
keeps every existing subnet where it is. A /20 VPC still leaves a /23 (512 addresses) per AZ
for nodes and pods; a VPC smaller than /20 cannot hold block 7's two /24s.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_AZS = 6
# One NAT gateway for the VPC (cheap; egress stops if its AZ fails) or one per AZ.
NAT_MODES = ("single", "onePerAz")
PRIVATE_SHARE_BITS = 3  # 1/8 of the VPC
PUBLIC_SHARE_BITS = 6  # 1/64 of the VPC
PUBLIC_BLOCK = 6  # index of the /P+3 block the public subnets are cut from
EDGE_BLOCK = 7  # index of the /P+3 block the load balancer and collector subnets are cut from
LOAD_BALANCER_PREFIX = 27
COLLECTOR_PREFIX = 28
MAX_COLLECTOR_SUBNETS = 5
MIN_VPC_PREFIX = 20  # block 7 must hold two /24s

# Every subnet says what it is for; the UI's IngressClassParams select the load balancer
# subnets by this tag (ui_ingress.class_params), so the controller never picks another tier.
TIER_TAG = "airflow-eks/subnet-tier"
PRIVATE = "private"
PUBLIC = "public"
LOAD_BALANCER = "load-balancer"
COLLECTOR = "collector"
# The AWS Load Balancer Controller's subnet discovery (v3.5.0 docs/deploy/subnet_discovery.md):
# when any subnet carries the role tag of the load balancer's scheme, only those are candidates.
# Only the load balancer subnets carry one.
ROLE_TAGS = {"internal": "kubernetes.io/role/internal-elb", "internet-facing": "kubernetes.io/role/elb"}


@dataclass(frozen=True)
class AzSubnets:
    index: int
    private: ipaddress.IPv4Network
    public: ipaddress.IPv4Network
    load_balancer: ipaddress.IPv4Network
    collector: ipaddress.IPv4Network | None
    """None beyond the first MAX_COLLECTOR_SUBNETS AZs."""


def plan(vpc_cidr: str, az_count: int) -> list[AzSubnets]:
    """The subnets of each AZ, in AZ order."""
    vpc = ipaddress.ip_network(vpc_cidr, strict=True)
    if not isinstance(vpc, ipaddress.IPv4Network):
        raise ValueError(f"an IPv4 VPC CIDR, got {vpc_cidr!r}")
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"between 1 and {MAX_AZS} availability zones, got {az_count}")
    if vpc.prefixlen > MIN_VPC_PREFIX:
        raise ValueError(f"a VPC of /{MIN_VPC_PREFIX} or larger, got /{vpc.prefixlen}")
    blocks = list(vpc.subnets(prefixlen_diff=PRIVATE_SHARE_BITS))
    public = list(blocks[PUBLIC_BLOCK].subnets(prefixlen_diff=PUBLIC_SHARE_BITS - PRIVATE_SHARE_BITS))
    edge = list(blocks[EDGE_BLOCK].subnets(new_prefix=24))
    load_balancers = list(edge[0].subnets(new_prefix=LOAD_BALANCER_PREFIX))
    collectors = list(edge[1].subnets(new_prefix=COLLECTOR_PREFIX))
    return [AzSubnets(index=i, private=blocks[i], public=public[i], load_balancer=load_balancers[i],
                      collector=collectors[i] if i < MAX_COLLECTOR_SUBNETS else None)
            for i in range(az_count)]


def load_balancer_cidrs(vpc_cidr: str, az_count: int) -> tuple[str, ...]:
    return tuple(str(az.load_balancer) for az in plan(vpc_cidr, az_count))


def collector_cidrs(vpc_cidr: str, az_count: int) -> tuple[str, ...]:
    return tuple(str(az.collector) for az in plan(vpc_cidr, az_count) if az.collector is not None)
