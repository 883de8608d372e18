"""The subnet plan: per AZ a private 1/8 and a public 1/64 of the VPC, a /27 for load balancers
and a /28 for the metrics collector, always fitting, never overlapping, for every VPC the
configuration accepts."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_eks import formats, subnets

# What AWS accepts or asks for (not the plan's own constants): subnets are /16 to /28 (VPC user
# guide, "Subnet CIDR blocks"); an ALB subnet at least a /27 with 8 free addresses (ELB user
# guide, "Subnets for your load balancer"); the AMP collector at most 5 subnets, one network
# interface each (AMP API reference, EksConfiguration.subnetIds), in at least two AZs.
AWS_SUBNET_PREFIXES = range(16, 29)
ALB_SUBNET_MAX_PREFIX = 27
ALB_FREE_ADDRESSES = 8
AWS_RESERVED_PER_SUBNET = 5
AMP_COLLECTOR_MAX_SUBNETS = 5

PRIVATE_BASES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@st.composite
def vpc_cidrs(draw) -> str:
    base = ipaddress.ip_network(draw(st.sampled_from(PRIVATE_BASES)))
    prefix = draw(st.integers(max(16, base.prefixlen), 20))
    offset = draw(st.integers(0, 2 ** (prefix - base.prefixlen) - 1))
    return str(ipaddress.ip_network((int(base.network_address) + offset * 2 ** (32 - prefix), prefix)))


def _every(plan: list[subnets.AzSubnets]) -> list:
    return [n for az in plan for n in (az.private, az.public, az.load_balancer, az.collector) if n is not None]


@given(cidr=vpc_cidrs())
def test_every_vpc_the_configuration_accepts_is_one_the_plan_fits(cidr):
    formats.private_vpc_cidr(cidr)  # accepted by config
    assert len(subnets.plan(cidr, subnets.MAX_AZS)) == subnets.MAX_AZS


@given(cidr=vpc_cidrs(), az_count=st.integers(2, 6))
def test_plan_fits_the_vpc_and_never_overlaps(cidr, az_count):
    vpc = ipaddress.ip_network(cidr)
    plan = subnets.plan(cidr, az_count)
    assert [az.index for az in plan] == list(range(az_count))
    every = _every(plan)
    assert all(n.subnet_of(vpc) for n in every)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(every, 2))
    assert all(n.prefixlen in AWS_SUBNET_PREFIXES for n in every)
    for az in plan:
        assert az.private.num_addresses * 8 == vpc.num_addresses
        assert az.public.num_addresses * 64 == vpc.num_addresses


@given(cidr=vpc_cidrs(), az_count=st.integers(2, 6))
def test_load_balancer_and_collector_subnets_are_small_and_where_no_node_or_pod_lives(cidr, az_count):
    """Nodes, and so pods (the VPC CNI gives them their node's subnet's addresses), live in the
    private subnets only: an address in a load balancer or collector subnet is never a pod's."""
    plan = subnets.plan(cidr, az_count)
    nodes = [az.private for az in plan]
    for az in plan:
        assert az.load_balancer.prefixlen <= ALB_SUBNET_MAX_PREFIX
        assert az.load_balancer.num_addresses - AWS_RESERVED_PER_SUBNET >= ALB_FREE_ADDRESSES
        assert not any(az.load_balancer.overlaps(n) for n in nodes)
        if az.collector is not None:
            assert az.collector.num_addresses - AWS_RESERVED_PER_SUBNET >= 1  # its one interface
            assert not any(az.collector.overlaps(n) for n in nodes)
        assert az.load_balancer.num_addresses <= 32 and (az.collector is None or az.collector.num_addresses <= 16)
    collectors = subnets.collector_cidrs(cidr, az_count)
    assert 2 <= len(collectors) <= AMP_COLLECTOR_MAX_SUBNETS
    assert list(collectors) == [str(az.collector) for az in plan[:AMP_COLLECTOR_MAX_SUBNETS]]
    assert subnets.load_balancer_cidrs(cidr, az_count) == tuple(str(az.load_balancer) for az in plan)


@given(cidr=vpc_cidrs(), az_count=st.integers(2, 6))
def test_adding_an_az_keeps_the_existing_subnets(cidr, az_count):
    """Raising availabilityZoneCount must not move (and so replace) any existing subnet."""
    smaller, larger = subnets.plan(cidr, az_count - 1), subnets.plan(cidr, az_count)
    assert larger[: az_count - 1] == smaller


def test_default_vpc_layout():
    plan = subnets.plan("10.0.0.0/16", 3)
    assert [str(az.private) for az in plan] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [str(az.public) for az in plan] == ["10.0.192.0/22", "10.0.196.0/22", "10.0.200.0/22"]
    assert [str(az.load_balancer) for az in plan] == ["10.0.224.0/27", "10.0.224.32/27", "10.0.224.64/27"]
    assert [str(az.collector) for az in plan] == ["10.0.225.0/28", "10.0.225.16/28", "10.0.225.32/28"]


def test_smallest_vpc_still_leaves_room_for_nodes():
    plan = subnets.plan("10.1.0.0/20", 6)
    assert {az.private.prefixlen for az in plan} == {23}
    assert {az.public.prefixlen for az in plan} == {26}
    assert {az.load_balancer.prefixlen for az in plan} == {27}
    assert [az.collector.prefixlen if az.collector else None for az in plan] == [28] * 5 + [None]


@pytest.mark.parametrize(("cidr", "az_count", "message"), [
    ("10.0.0.0/16", 0, "availability zones"),
    ("10.0.0.0/16", 7, "availability zones"),
    ("10.0.0.0/21", 2, "/20 or larger"),
    ("10.0.0.0/24", 2, "/20 or larger"),
    ("10.0.0.1/16", 2, "host bits"),
    ("fd00::/56", 2, "IPv4"),
])
def test_plan_rejects_what_cannot_fit(cidr, az_count, message):
    with pytest.raises(ValueError, match=message):
        subnets.plan(cidr, az_count)
