"""Network: a new VPC with per-AZ subnets by purpose, NAT and routing.

Plain pulumi_aws resources (no awsx), so every subnet, NAT gateway and EIP is a resource of
this program that cost estimates and policy checks can see. The subnet plan is the pure
`airflow_eks.subnets.plan`; this component only turns it into resources: private subnets
(nodes, pods, database; out through NAT), public ones (NAT gateways), and, when asked for,
the UI load balancer's and the metrics collector's own small subnets, where no pod ever gets
an address, so NetworkPolicies can admit exactly them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from airflow_eks import subnets

LOAD_BALANCER_SCHEMES = ("", *subnets.ROLE_TAGS)


@dataclass
class NetworkArgs:
    cidr: str
    availability_zones: Sequence[str]
    """Zone names, one subnet of each tier each (config.load looks them up: airflow_eks/zones.py)."""
    nat_gateways: str  # "single" | "onePerAz"
    load_balancer_scheme: str = ""
    """The UI's ALB: "internal" or "internet-facing" gives it subnets of its own; "" none."""
    collector: bool = False
    """Subnets of its own for the AMP managed collector's network interfaces."""

    def __post_init__(self) -> None:
        if self.nat_gateways not in subnets.NAT_MODES:
            raise ValueError(f"nat_gateways must be one of {subnets.NAT_MODES}, got {self.nat_gateways!r}")
        if self.load_balancer_scheme not in LOAD_BALANCER_SCHEMES:
            raise ValueError(f"load_balancer_scheme must be one of {LOAD_BALANCER_SCHEMES}, "
                             f"got {self.load_balancer_scheme!r}")
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError(f"availability_zones must be distinct, got {list(self.availability_zones)}")
        subnets.plan(self.cidr, len(self.availability_zones))  # raises on a layout that cannot fit


class Network(pulumi.ComponentResource):
    """VPC, internet gateway, per-AZ subnets of each tier, NAT gateways and routes."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    availability_zones: list[str]
    private_subnet_ids: list[pulumi.Output[str]]
    """Nodes, pods and the database; egress through NAT."""
    public_subnet_ids: list[pulumi.Output[str]]
    """NAT gateways only."""
    load_balancer_subnet_ids: list[pulumi.Output[str]]
    """The UI's ALB, one per AZ (none without load_balancer_scheme)."""
    collector_subnet_ids: list[pulumi.Output[str]]
    """The AMP collector's network interfaces, in up to five AZs (none without collector)."""
    nat_gateway_ids: list[pulumi.Output[str]]
    private_egress: list[pulumi.Resource]
    """The private subnets' NAT route associations: nodes must not launch before them (they
    pull images and register through NAT)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:network:Network", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self.availability_zones = list(args.availability_zones)
        plan = subnets.plan(args.cidr, len(self.availability_zones))

        vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=args.cidr,
            # EKS nodes register by private DNS name, and interface endpoints need both.
            enable_dns_hostnames=True, enable_dns_support=True,
            tags={"Name": f"{name}-vpc"}, opts=self._child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=self._child)

        public = [self._subnet(vpc, az, subnets.PUBLIC, az.public) for az in plan]
        private = [self._subnet(vpc, az, subnets.PRIVATE, az.private) for az in plan]

        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{name}-public"}, opts=self._child,
        )
        for az, subnet in zip(plan, public, strict=True):
            aws.ec2.RouteTableAssociation(f"{name}-public-{az.index}", subnet_id=subnet.id,
                                          route_table_id=public_routes.id, opts=self._child)

        nat_count = len(plan) if args.nat_gateways == "onePerAz" else 1
        nats = [self._nat_gateway(i, public[i], igw) for i in range(nat_count)]
        private_routes = [
            aws.ec2.RouteTable(
                f"{name}-private-rt-{i}", vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={"Name": f"{name}-private-{i}"}, opts=self._child,
            )
            for i, nat in enumerate(nats)
        ]
        # With one NAT gateway every AZ routes through it; otherwise each AZ keeps its egress
        # in-zone (no cross-AZ data charges, no shared point of failure).
        private_table = [private_routes[az.index if nat_count > 1 else 0] for az in plan]
        self.private_egress = [
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{az.index}", subnet_id=subnet.id,
                route_table_id=private_table[az.index].id, opts=self._child)
            for az, subnet in zip(plan, private, strict=True)
        ]

        # An internet-facing ALB's subnets route to the internet gateway. An internal ALB's share
        # the route table of their AZ's private subnets, as when the ALB lived in those: the
        # clients of an internal ALB are in the VPC or in networks connected to it (VPN, Direct
        # Connect, peering, a transit gateway), whose routes operators add to the private route
        # tables (or propagate into them); a table of its own, with none of those routes, would
        # leave the ALB unable to answer them. The default route through NAT is never used by an
        # ALB, which opens no connection out. The collector only reaches pods and the API
        # server's private endpoint in the VPC (it writes to AMP from AWS's side), so its subnets
        # have a table with the local route alone.
        scheme = args.load_balancer_scheme
        load_balancers = [(az, self._subnet(vpc, az, subnets.LOAD_BALANCER, az.load_balancer,
                                            role=subnets.ROLE_TAGS[scheme]))
                          for az in plan if scheme]
        collectors = [(az, self._subnet(vpc, az, subnets.COLLECTOR, az.collector))
                      for az in plan if args.collector and az.collector is not None]
        local_only = aws.ec2.RouteTable(
            f"{name}-isolated-rt", vpc_id=vpc.id, routes=[], tags={"Name": f"{name}-isolated"},
            opts=self._child) if collectors else None
        for az, subnet in load_balancers:
            table = public_routes if scheme == "internet-facing" else private_table[az.index]
            aws.ec2.RouteTableAssociation(f"{name}-{subnets.LOAD_BALANCER}-{az.index}", subnet_id=subnet.id,
                                          route_table_id=table.id, opts=self._child)
        for az, subnet in collectors:
            aws.ec2.RouteTableAssociation(f"{name}-{subnets.COLLECTOR}-{az.index}", subnet_id=subnet.id,
                                          route_table_id=local_only.id, opts=self._child)

        self.vpc_id = vpc.id
        self.vpc_cidr = args.cidr
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.load_balancer_subnet_ids = [s.id for _, s in load_balancers]
        self.collector_subnet_ids = [s.id for _, s in collectors]
        self.nat_gateway_ids = [n.id for n in nats]
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "private_subnet_ids": self.private_subnet_ids,
            "public_subnet_ids": self.public_subnet_ids,
            "load_balancer_subnet_ids": self.load_balancer_subnet_ids,
            "collector_subnet_ids": self.collector_subnet_ids,
            "nat_gateway_ids": self.nat_gateway_ids,
        })

    def _subnet(self, vpc: aws.ec2.Vpc, az: subnets.AzSubnets, tier: str, cidr: ipaddress.IPv4Network, *,
                role: str = "") -> aws.ec2.Subnet:
        name = f"{self._name}-{tier}-{az.index}"
        # Only the load balancer subnets carry a role tag for the controller's subnet discovery.
        tags = {"Name": name, subnets.TIER_TAG: tier, **({role: "1"} if role else {})}
        return aws.ec2.Subnet(
            name,
            vpc_id=vpc.id, cidr_block=str(cidr), availability_zone=self.availability_zones[az.index],
            # Only the NAT gateways' tier hands out public IPs (an internet-facing ALB gets its
            # own whatever its subnet says); nodes stay private.
            map_public_ip_on_launch=tier == subnets.PUBLIC,
            tags=tags,
            opts=self._child,
        )

    def _nat_gateway(self, index: int, subnet: aws.ec2.Subnet, igw: aws.ec2.InternetGateway) -> aws.ec2.NatGateway:
        eip = aws.ec2.Eip(f"{self._name}-nat-eip-{index}", domain="vpc",
                          tags={"Name": f"{self._name}-nat-{index}"}, opts=self._child)
        return aws.ec2.NatGateway(
            f"{self._name}-nat-{index}", allocation_id=eip.id, subnet_id=subnet.id,
            tags={"Name": f"{self._name}-nat-{index}"},
            # A NAT gateway only works once the VPC has an internet gateway (AWS docs);
            # nothing in its inputs says so.
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=[igw])),
        )
