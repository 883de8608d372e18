"""The AWS look-ups a restore needs before the first resource: the snapshot and the kept buckets.

Made while the configuration is validated (config.load), like the availability zones, through
the default provider (which reads the same aws:region), so a snapshot RDS would refuse or a
bucket that is not there fails `pulumi preview` with a message naming the key, before anything
is created. Each call is made only when its key is set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi_aws as aws

from airflow_eks.restore.sources import SnapshotFacts, SnapshotRef


class NotFoundError(LookupError):
    """AWS answered, and the snapshot or bucket is not there (or not visible to the caller)."""


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def describe_snapshot(ref: SnapshotRef) -> SnapshotFacts:
    """DescribeDBSnapshots through the provider's getSnapshot; a shared snapshot (ARN of another
    account) is visible only with include_shared."""
    try:
        found = aws.rds.get_snapshot(db_snapshot_identifier=ref.value, include_shared=ref.is_arn or None)
    except Exception as error:  # the invoke's error is the provider's text: say it, under the key
        raise NotFoundError(_first_line(error)) from None
    return SnapshotFacts(
        identifier=found.db_snapshot_identifier or ref.identifier,
        engine=found.engine or "",
        engine_version=found.engine_version or "",
        encrypted=bool(found.encrypted),
        allocated_storage_gb=int(found.allocated_storage or 0),
        status=found.status or "",
        snapshot_type=found.snapshot_type or "",
        kms_key_id=found.kms_key_id or "",
    )


def bucket_region(name: str) -> str:
    """The region an existing bucket lives in (getBucket, i.e. HeadBucket)."""
    try:
        found = aws.s3.get_bucket(bucket=name)
    except Exception as error:
        raise NotFoundError(_first_line(error)) from None
    return found.bucket_region


@dataclass(frozen=True)
class Lookups:
    """Injectable for tests, as config.load's `available_zones` is."""

    snapshot: Callable[[SnapshotRef], SnapshotFacts] = describe_snapshot
    bucket_region: Callable[[str], str] = bucket_region


AWS = Lookups()
