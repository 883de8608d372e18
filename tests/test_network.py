"""Network on its own: VPC, per-AZ subnets from the plan, NAT per mode, routing, subnet tags, and
the load balancer's and collector's own subnets when asked for."""

from __future__ import annotations

import pulumi
import pytest

from airflow_eks import subnets
from airflow_eks.offline import harness, mocks
from components.network import Network, NetworkArgs

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
CIDR = "10.20.0.0/16"
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d", "eu-west-1e", "eu-west-1f")
ROLE_TAGS = ("kubernetes.io/role/elb", "kubernetes.io/role/internal-elb")


def build(az_count: int, nat_gateways: str, scheme: str = "", collector: bool = False):
    def run():
        network = Network("net", NetworkArgs(cidr=CIDR, availability_zones=ZONES[:az_count],
                                             nat_gateways=nat_gateways, load_balancer_scheme=scheme,
                                             collector=collector))
        pulumi.export("vpc", network.vpc_id)
        pulumi.export("private", network.private_subnet_ids)
        pulumi.export("public", network.public_subnet_ids)
        pulumi.export("lb", network.load_balancer_subnet_ids)
        pulumi.export("collector", network.collector_subnet_ids)
        pulumi.export("nats", network.nat_gateway_ids)
        pulumi.export("azs", network.availability_zones)
        return network
    return run


@pytest.fixture(scope="module")
def ha() -> harness.Run:
    return harness.run(build(3, "onePerAz"))


@pytest.fixture(scope="module")
def single() -> harness.Run:
    return harness.run(build(2, "single"))


@pytest.fixture(scope="module")
def internal() -> harness.Run:
    """An internal ALB and a collector: prod's shape."""
    return harness.run(build(3, "onePerAz", scheme="internal", collector=True))


@pytest.fixture(scope="module")
def internet_facing() -> harness.Run:
    """An internet-facing ALB in six zones, a collector in the first five."""
    return harness.run(build(6, "single", scheme="internet-facing", collector=True))


def tier(run: harness.Run, name: str) -> list[mocks.Registered]:
    return sorted((s for s in run.find(SUBNET) if f"-{name}-" in s.name), key=lambda s: s.name)


def by_id(run: harness.Run, typ: str) -> dict[str, mocks.Registered]:
    prefix = {SUBNET: "subnet-", NAT: "nat-", ROUTE_TABLE: "rtb-", EIP: "eipalloc-"}[typ]
    return {f"{prefix}{r.name}": r for r in run.find(typ)}


def test_vpc_has_the_configured_cidr_and_dns(ha):
    vpc = ha.one("aws:ec2/vpc:Vpc")
    assert vpc.get("cidrBlock") == CIDR
    assert vpc.get("enableDnsHostnames") is True and vpc.get("enableDnsSupport") is True
    assert ha.outputs["vpc"][0] == f"vpc-{vpc.name}"


def test_subnets_follow_the_plan_one_pair_per_az(ha):
    plan = subnets.plan(CIDR, 3)
    private, public = tier(ha, "private"), tier(ha, "public")
    assert [s.get("cidrBlock") for s in private] == [str(az.private) for az in plan]
    assert [s.get("cidrBlock") for s in public] == [str(az.public) for az in plan]
    azs = ha.outputs["azs"][0]
    assert azs == list(ZONES[:3])
    assert [s.get("availabilityZone") for s in private] == azs
    assert [s.get("availabilityZone") for s in public] == azs
    assert ha.outputs["private"][0] == [f"subnet-{s.name}" for s in private]
    assert ha.outputs["public"][0] == [f"subnet-{s.name}" for s in public]


def test_the_component_looks_nothing_up(ha):
    """Zones come from config.load, validated before any resource exists."""
    assert not [token for token, _ in ha.mocks.calls if "getAvailabilityZones" in token]


def test_only_public_subnets_map_public_ips(ha):
    assert all(s.get("mapPublicIpOnLaunch") is True for s in tier(ha, "public"))
    assert all(s.get("mapPublicIpOnLaunch") is False for s in tier(ha, "private"))


def test_only_the_load_balancer_subnets_carry_a_role_tag_for_the_controllers_discovery(ha, internal, internet_facing):
    """The controller takes only subnets with the scheme's role tag when any has one (v3.5.0
    docs/deploy/subnet_discovery.md); the nodes' and the NAT gateways' subnets have none."""
    for run in (ha, internal, internet_facing):
        for s in tier(run, "private") + tier(run, "public") + tier(run, "collector"):
            assert not set(ROLE_TAGS) & set(s.get("tags")), s.name
    assert not tier(ha, "load-balancer") and not tier(ha, "collector")
    for run, role in ((internal, "kubernetes.io/role/internal-elb"), (internet_facing, "kubernetes.io/role/elb")):
        balancers = tier(run, "load-balancer")
        assert balancers and all(s.get("tags")[role] == "1" and set(ROLE_TAGS) & set(s.get("tags")) == {role}
                                 for s in balancers)


def test_every_subnet_says_its_tier(internal):
    for name in ("private", "public", "load-balancer", "collector"):
        assert {s.get("tags")[subnets.TIER_TAG] for s in tier(internal, name)} == {name}


def test_load_balancer_and_collector_subnets_follow_the_plan(internal, internet_facing):
    for run, count in ((internal, 3), (internet_facing, 6)):
        plan = subnets.plan(CIDR, count)
        balancers, collectors = tier(run, "load-balancer"), tier(run, "collector")
        assert [s.get("cidrBlock") for s in balancers] == [str(az.load_balancer) for az in plan]
        assert [s.get("availabilityZone") for s in balancers] == list(ZONES[:count])
        # CreateScraper takes at most five subnets, one per zone
        assert [s.get("cidrBlock") for s in collectors] == [str(az.collector) for az in plan[:5]]
        assert [s.get("availabilityZone") for s in collectors] == list(ZONES[:min(count, 5)])
        assert run.outputs["lb"][0] == [f"subnet-{s.name}" for s in balancers]
        assert run.outputs["collector"][0] == [f"subnet-{s.name}" for s in collectors]
        assert not any(s.get("mapPublicIpOnLaunch") for s in balancers + collectors)


def _routes_of(run: harness.Run, name: str) -> list[list]:
    subnets_by_id, tables = by_id(run, SUBNET), by_id(run, ROUTE_TABLE)
    return [tables[a.get("routeTableId")].get("routes") for a in run.find(ASSOCIATION)
            if f"-{name}-" in subnets_by_id[a.get("subnetId")].name]


def _tables_of(run: harness.Run, name: str) -> list[str]:
    """Route table of each subnet of tier `name`, in AZ order."""
    subnets_by_id = by_id(run, SUBNET)
    pairs = [(subnets_by_id[a.get("subnetId")], a.get("routeTableId")) for a in run.find(ASSOCIATION)]
    return [table for s, table in sorted(pairs, key=lambda p: p[0].get("availabilityZone"))
            if s.get("tags")[subnets.TIER_TAG] == name]


def test_the_collector_has_no_way_out_of_the_vpc(internal, internet_facing):
    assert _routes_of(internal, "collector") == [[]] * 3
    assert _routes_of(internet_facing, "collector") == [[]] * 5


@pytest.mark.parametrize("nat_gateways", ["onePerAz", "single"])
def test_an_internal_alb_shares_the_route_table_of_its_azs_private_subnet(nat_gateways):
    """Clients of an internal ALB in networks connected to the VPC (VPN, Direct Connect, peering,
    transit gateway) are reached through routes operators put in the private route tables; the
    ALB's subnets must see the same routes, or its answers to those clients go nowhere. (Before
    the ALB had subnets of its own it lived in the private subnets, with these very tables.)"""
    run = harness.run(build(3, nat_gateways, scheme="internal", collector=True))
    private = _tables_of(run, subnets.PRIVATE)
    assert _tables_of(run, subnets.LOAD_BALANCER) == private
    assert not set(private) & set(_tables_of(run, subnets.COLLECTOR))


def test_an_internet_facing_alb_routes_to_the_internet_gateway(internet_facing):
    igw = f"igw-{internet_facing.one('aws:ec2/internetGateway:InternetGateway').name}"
    routes = _routes_of(internet_facing, "load-balancer")
    assert len(routes) == 6 and all(r == [{"cidrBlock": "0.0.0.0/0", "gatewayId": igw}] for r in routes)


def test_one_nat_gateway_per_az_each_with_an_eip_in_its_public_subnet(ha):
    nats, eips = ha.find(NAT), by_id(ha, EIP)
    assert len(nats) == 3 and len(eips) == 3
    public_ids = [f"subnet-{s.name}" for s in tier(ha, "public")]
    assert sorted(n.get("subnetId") for n in nats) == sorted(public_ids)
    assert sorted(n.get("allocationId") for n in nats) == sorted(eips)
    assert all(e.get("domain") == "vpc" for e in eips.values())
    assert sorted(ha.outputs["nats"][0]) == sorted(f"nat-{n.name}" for n in nats)


def test_each_private_subnet_routes_through_the_nat_in_its_own_az(ha):
    subnets_by_id, tables, nats = by_id(ha, SUBNET), by_id(ha, ROUTE_TABLE), by_id(ha, NAT)
    for assoc in ha.find(ASSOCIATION):
        subnet = subnets_by_id[assoc.get("subnetId")]
        [route] = tables[assoc.get("routeTableId")].get("routes")
        assert route["cidrBlock"] == "0.0.0.0/0"
        if "-private-" in subnet.name:
            nat = nats[route["natGatewayId"]]
            assert nat.get("subnetId").rsplit("-", 1)[-1] == subnet.name.rsplit("-", 1)[-1]
        else:
            assert route["gatewayId"] == f"igw-{ha.one('aws:ec2/internetGateway:InternetGateway').name}"
    assert len(ha.find(ASSOCIATION)) == 6


def test_single_mode_has_one_nat_shared_by_every_private_subnet(single):
    [nat] = single.find(NAT)
    assert len(single.find(EIP)) == 1
    tables = by_id(single, ROUTE_TABLE)
    private_tables = {a.get("routeTableId") for a in single.find(ASSOCIATION) if "-private-" in a.name}
    assert len(private_tables) == 1
    [route] = tables[private_tables.pop()].get("routes")
    assert route["natGatewayId"] == f"nat-{nat.name}"


def test_nat_gateways_wait_for_the_internet_gateway(ha):
    igw = ha.one("aws:ec2/internetGateway:InternetGateway")
    assert all(ha.depends_on(nat, igw) for nat in ha.find(NAT))


def test_every_resource_is_a_child_of_the_component(ha):
    component = ha.one("airflow-eks:network:Network")
    assert all(r.parent == component.urn for r in ha.resources if r.custom)


def test_every_subnet_and_nat_is_a_plain_aws_resource(ha, single):
    """Cost estimates and policy checks read these records; awsx would hide them in a component."""
    for run in (ha, single):
        assert not [r for r in run.resources if r.typ.startswith("awsx:")]
        assert all(r.custom for r in run.find(SUBNET) + run.find(NAT) + run.find(EIP))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"nat_gateways": "none"}, "nat_gateways"),
    ({"availability_zones": [f"us-east-1{x}" for x in "abcdefg"]}, "availability zones"),
    ({"availability_zones": ["us-east-1a", "us-east-1a"]}, "distinct"),
    ({"cidr": "10.0.0.0/21"}, "/20 or larger"),
    ({"load_balancer_scheme": "public"}, "load_balancer_scheme"),
])
def test_args_reject_impossible_layouts(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NetworkArgs(**{"cidr": CIDR, "availability_zones": ZONES[:2], "nat_gateways": "single", **kwargs})
