"""The subnet plan: per AZ a private 1/8 and a public 1/64 of the VPC, always fitting, never overlapping."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_eks import subnets

PRIVATE_BASES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@st.composite
def vpc_cidrs(draw) -> str:
    base = ipaddress.ip_network(draw(st.sampled_from(PRIVATE_BASES)))
    prefix = draw(st.integers(max(16, base.prefixlen), 20))
    offset = draw(st.integers(0, 2 ** (prefix - base.prefixlen) - 1))
    return str(ipaddress.ip_network((int(base.network_address) + offset * 2 ** (32 - prefix), prefix)))


@given(cidr=vpc_cidrs(), az_count=st.integers(2, 6))
def test_plan_fits_the_vpc_and_never_overlaps(cidr, az_count):
    vpc = ipaddress.ip_network(cidr)
    plan = subnets.plan(cidr, az_count)
    assert [az.index for az in plan] == list(range(az_count))
    every = [n for az in plan for n in (az.private, az.public)]
    assert all(n.subnet_of(vpc) for n in every)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(every, 2))
    for az in plan:
        assert az.private.num_addresses * 8 == vpc.num_addresses
        assert az.public.num_addresses * 64 == vpc.num_addresses


@given(cidr=vpc_cidrs(), az_count=st.integers(2, 6))
def test_adding_an_az_keeps_the_existing_subnets(cidr, az_count):
    """Raising availabilityZoneCount must not move (and so replace) any existing subnet."""
    smaller, larger = subnets.plan(cidr, az_count - 1), subnets.plan(cidr, az_count)
    assert larger[: az_count - 1] == smaller


def test_default_vpc_layout():
    plan = subnets.plan("10.0.0.0/16", 3)
    assert [str(az.private) for az in plan] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [str(az.public) for az in plan] == ["10.0.192.0/22", "10.0.196.0/22", "10.0.200.0/22"]


def test_smallest_vpc_still_leaves_room_for_nodes():
    plan = subnets.plan("10.1.0.0/20", 6)
    assert {az.private.prefixlen for az in plan} == {23}
    assert {az.public.prefixlen for az in plan} == {26}


@pytest.mark.parametrize(("cidr", "az_count", "message"), [
    ("10.0.0.0/16", 0, "availability zones"),
    ("10.0.0.0/16", 7, "availability zones"),
    ("10.0.0.0/24", 2, "/22 or larger"),
    ("10.0.0.1/16", 2, "host bits"),
    ("fd00::/56", 2, "IPv4"),
])
def test_plan_rejects_what_cannot_fit(cidr, az_count, message):
    with pytest.raises(ValueError, match=message):
        subnets.plan(cidr, az_count)
