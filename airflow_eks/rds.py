"""Pure RDS for PostgreSQL settings derived from the validated database configuration."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_eks import physical_names

ENGINE = "postgres"
PORT = 5432
DB_NAME = "airflow"
USERNAME = "airflow"
# What RDS can export to CloudWatch Logs for PostgreSQL: the server log and major-upgrade logs.
LOG_EXPORTS = ("postgresql", "upgrade")
# DB instance identifiers: 1 to 63 characters (CreateDBInstance API).
IDENTIFIER_MAX_LENGTH = 63
# DB snapshot identifiers (CreateDBSnapshot/DeleteDBInstance API): 1 to 255 letters, digits and
# hyphens, a letter first, no two hyphens in a row, no hyphen at the end; unique per account
# and region.
SNAPSHOT_IDENTIFIER = re.compile(r"[A-Za-z](-?[A-Za-z0-9])*", re.ASCII)
SNAPSHOT_IDENTIFIER_MAX_LENGTH = 255
# Instance inputs that only matter when RDS creates the instance, each ForceNew in the provider:
# the snapshot a restore starts from, and the master user and database name (a restore takes
# them from the snapshot). Ignored after the create (components/database.py).
CREATE_ONLY_INPUTS = ("snapshotIdentifier", "username", "dbName")
# The Performance Insights free tier keeps 7 days; longer retention is billed per vCPU-month.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7


@dataclass(frozen=True)
class Parameter:
    name: str
    value: str
    apply_method: str
    """`pending-reboot` for static parameters: RDS rejects `immediate` (the provider's default)
    for them with InvalidParameterCombination."""


# Clients must use TLS: the metadata connection carries the master password. rds.force_ssl is
# static on RDS for PostgreSQL; a new instance starts with it, a changed value waits for a reboot.
PARAMETERS = (Parameter("rds.force_ssl", "1", apply_method="pending-reboot"),)


def instance_identifier(project: str, stack: str, suffix: str) -> str:
    """The DB instance identifier, fixed by the program so its log groups can exist first."""
    return physical_names.stack_scoped(project, stack, suffix, max_length=IDENTIFIER_MAX_LENGTH)


def final_snapshot_identifier(instance_identifier: str) -> str:
    """Name of the snapshot RDS takes when it deletes the instance: `<identifier>-final`.

    Unique per deletion: the identifier's random suffix (physical_names) is drawn anew for
    every life of the stack, so a recreated stack's teardown never meets the snapshot of an
    earlier one. One life deletes its instance twice only if a replacement came before the
    teardown; the second delete finds the name taken, RDS refuses it (DBSnapshotAlreadyExists)
    and the instance stays: the collision fails safe, never a delete without a snapshot
    (rename the older snapshot and destroy again, docs/troubleshooting.md).
    """
    name = f"{instance_identifier}-final"
    if len(name) > SNAPSHOT_IDENTIFIER_MAX_LENGTH or not SNAPSHOT_IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a valid DB snapshot identifier: {name!r}")
    return name


def log_group_name(identifier: str, export: str) -> str:
    """Where RDS writes one of LOG_EXPORTS; it reuses a log group that already exists."""
    return f"/aws/rds/instance/{identifier}/{export}"


def parameter_group_family(engine_major: int) -> str:
    """`postgres16` for PostgreSQL 16: a parameter group only fits its own major."""
    return f"{ENGINE}{engine_major}"


def storage_autoscaling_ceiling(allocated_gb: int, maximum_gb: int) -> int:
    """`max_allocated_storage` for RDS: the configured ceiling, or 0 (autoscaling off).

    RDS rejects a ceiling less than 10% above the allocation ("The maximum allocated storage
    must be increased by at least 10 percent"); configuration allows `maximum == allocated`
    to mean "no growth", so any ceiling inside that band turns autoscaling off instead of
    failing the create.
    """
    return maximum_gb if maximum_gb * 10 >= allocated_gb * 11 else 0
