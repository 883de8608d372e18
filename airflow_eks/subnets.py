"""The VPC's subnet plan: which CIDR each AZ's private and public subnet gets. Pure.

Layout, for a VPC of prefix P (Pulumi.yaml: /16 to /20):

- private subnet of AZ i: the i-th of the eight /P+3 blocks (1/8 of the VPC each). Nodes and
  pods live here, and the VPC CNI gives every pod a VPC address, so they get the room;
- public subnet of AZ i: the i-th of the eight /P+6 blocks (1/64 each) carved from the
  seventh /P+3 block. Only NAT gateways and load balancers live here;
- the eighth /P+3 block stays free for later (endpoints, another tier).

Six AZs use six private blocks and six public ones, so the plan always fits and never
overlaps; for a /20 that still leaves /23 (512 addresses) per AZ for nodes and pods.
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


@dataclass(frozen=True)
class AzSubnets:
    index: int
    private: ipaddress.IPv4Network
    public: ipaddress.IPv4Network


def plan(vpc_cidr: str, az_count: int) -> list[AzSubnets]:
    """One private and one public subnet per AZ, in AZ order."""
    vpc = ipaddress.ip_network(vpc_cidr, strict=True)
    if not isinstance(vpc, ipaddress.IPv4Network):
        raise ValueError(f"an IPv4 VPC CIDR, got {vpc_cidr!r}")
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"between 1 and {MAX_AZS} availability zones, got {az_count}")
    if vpc.prefixlen + PUBLIC_SHARE_BITS > 28:
        # AWS subnets are /16 to /28; a /23 VPC would give /29 public subnets.
        raise ValueError(f"a VPC of /22 or larger, got /{vpc.prefixlen}")
    blocks = list(vpc.subnets(prefixlen_diff=PRIVATE_SHARE_BITS))
    public = list(blocks[PUBLIC_BLOCK].subnets(prefixlen_diff=PUBLIC_SHARE_BITS - PRIVATE_SHARE_BITS))
    return [AzSubnets(index=i, private=blocks[i], public=public[i]) for i in range(az_count)]
