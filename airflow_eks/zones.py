"""Which availability zones the VPC spans: the region's first N zones where EKS can run.

Looked up while the configuration is validated (config.load), so an availabilityZoneCount
the region cannot satisfy fails before anything is created, and the network component gets
plain zone names.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi_aws as aws

# AZs (by zone ID, which unlike AZ names is the same in every account) where EKS cannot place
# a control plane and current (Nitro) instance types are unavailable: a subnet there fails the
# cluster create with UnsupportedAvailabilityZoneException. Sources: the EKS user guide
# ("Cluster VPC and subnet considerations", the UnsupportedAvailabilityZoneException
# troubleshooting entry) and eksctl#817. IDs of other regions never match, so one list serves all.
UNSUPPORTED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")


def choose(available: Sequence[str], count: int) -> tuple[str, ...]:
    """The first `count` zones (AWS lists them in name order), or ValueError."""
    if count > len(available):
        raise ValueError(
            f"at most {len(available)}: the region's availability zones where EKS can run are "
            + (", ".join(available) or "none")
        )
    return tuple(available[:count])


def available_in_region() -> list[str]:
    """The region's AZ names minus UNSUPPORTED_ZONE_IDS (an AWS call, through the default
    provider, which reads the same aws:region)."""
    # No state="available" filter: the list must be the same on every run, or one impaired
    # zone during an `up` would shift the selection and replace subnets, nodes and the
    # database subnet group.
    result = aws.get_availability_zones(
        exclude_zone_ids=list(UNSUPPORTED_ZONE_IDS),
        # Availability Zones only: in an account that opted into Local or Wavelength Zones the
        # lookup returns those too, and they sort first (us-east-1-bos-1a < us-east-1a).
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    return list(result.names)
