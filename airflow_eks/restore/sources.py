"""What a stack can be restored from: RDS snapshot identifiers and ARNs, and what RDS requires of
a snapshot before it restores it into this program's database.

Offline checks only (the snapshot's own facts come from `lookups`). Sources: the RDS API
reference (CreateDBSnapshot for identifiers, RestoreDBInstanceFromDBSnapshot for ARNs of shared
snapshots), the ARN format of RDS resources, and the partitions of botocore's partitions.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_eks import rds

# Partition of each region family (botocore data/partitions.json, regionRegex): the first match
# wins, so the specific families come before the generic `aws`.
_PARTITIONS = (
    (re.compile(r"^us-gov-\w+-\d+$", re.ASCII), "aws-us-gov"),
    (re.compile(r"^us-iso-\w+-\d+$", re.ASCII), "aws-iso"),
    (re.compile(r"^us-isob-\w+-\d+$", re.ASCII), "aws-iso-b"),
    (re.compile(r"^eu-isoe-\w+-\d+$", re.ASCII), "aws-iso-e"),
    (re.compile(r"^us-isof-\w+-\d+$", re.ASCII), "aws-iso-f"),
    (re.compile(r"^cn-\w+-\d+$", re.ASCII), "aws-cn"),
)
_ARN = re.compile(r"arn:(?P<partition>[a-z-]+):rds:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
                  r"(?P<kind>[a-z-]+):(?P<name>.+)", re.ASCII)
# Automated snapshots are named `rds:<instance>-<timestamp>` (a colon no manual name may hold).
AUTOMATED_PREFIX = "rds:"
_VERSION = re.compile(r"(?P<major>[0-9]+)(\.(?P<minor>[0-9]+))?", re.ASCII)


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (`aws-cn` for cn-north-1, `aws` for us-east-1)."""
    return next((partition for pattern, partition in _PARTITIONS if pattern.match(region)), "aws")


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot as configured: the value RDS takes (identifier or ARN) and its parts."""

    value: str
    identifier: str
    account: str = ""
    """The owner account of an ARN ('' for a bare identifier: the stack's own account)."""

    @property
    def is_arn(self) -> bool:
        return bool(self.account)


def _identifier_problem(name: str) -> str | None:
    if name.startswith(AUTOMATED_PREFIX):
        return ("a manual or final snapshot: this is an automated one (rds:...), which RDS deletes with its "
                "instance or when its retention ends; copy it to a manual snapshot first (aws rds "
                "copy-db-snapshot --source-db-snapshot-identifier <it> --target-db-snapshot-identifier <name>)")
    if len(name) > rds.SNAPSHOT_IDENTIFIER_MAX_LENGTH or not rds.SNAPSHOT_IDENTIFIER.fullmatch(name):
        return (f"a DB snapshot identifier: 1 to {rds.SNAPSHOT_IDENTIFIER_MAX_LENGTH} letters, digits and hyphens, "
                "a letter first, no two hyphens in a row and none at the end")
    return None


def parse_snapshot(value: str, region: str) -> SnapshotRef:
    """The snapshot `dbRestoreSnapshotId` names, or ValueError saying what is allowed.

    A bare identifier names a snapshot of the stack's account and region; an ARN
    (`arn:<partition>:rds:<region>:<account>:snapshot:<identifier>`) may name one another
    account shared, but RDS restores only within a region, so its region must be the stack's
    and its partition that region's.
    """
    allowed = (f"the identifier of a manual or final DB snapshot in {region} (e.g. airflow-eks-prod-0a1b2c3d-final) "
               f"or its ARN (arn:{partition_of(region)}:rds:{region}:<account>:snapshot:<identifier>)")
    if not value.isascii() or any(c <= " " or c == "\x7f" for c in value):
        raise ValueError(f"{allowed}; no whitespace, control or non-ASCII characters")
    if not value.startswith("arn:"):
        problem = _identifier_problem(value)
        if problem:
            raise ValueError(problem)
        return SnapshotRef(value=value, identifier=value)
    m = _ARN.fullmatch(value)
    if not m:
        raise ValueError(allowed)
    if m["kind"] != "snapshot":
        raise ValueError(f"{allowed} (this ARN names an RDS {m['kind']}, not a DB instance snapshot"
                         + ("; Aurora cluster snapshots restore to Aurora, which this program does not run)"
                            if m["kind"] == "cluster-snapshot" else ")"))
    if m["region"] != region:
        raise ValueError(f"{allowed} (RDS restores a snapshot only in its own region, {m['region']}: copy it to "
                         f"{region} first with aws rds copy-db-snapshot --source-region {m['region']})")
    if m["partition"] != partition_of(region):
        raise ValueError(f"{allowed} ({region} is in the {partition_of(region)} partition, not {m['partition']})")
    problem = _identifier_problem(m["name"])
    if problem:
        raise ValueError(problem)
    return SnapshotRef(value=value, identifier=m["name"], account=m["account"])


@dataclass(frozen=True)
class SnapshotFacts:
    """What RDS says of a snapshot (DescribeDBSnapshots, through the provider's getSnapshot)."""

    identifier: str
    engine: str
    engine_version: str
    encrypted: bool
    allocated_storage_gb: int
    status: str
    snapshot_type: str
    kms_key_id: str = ""


def _version(text: str) -> tuple[int, int | None]:
    m = _VERSION.match(text)
    if not m:
        raise ValueError(f"not a PostgreSQL version: {text!r}")
    return int(m["major"]), (int(m["minor"]) if m["minor"] is not None else None)


def engine_version_problem(configured: str, snapshot_version: str) -> str | None:
    """Why `dbEngineVersion` cannot restore a snapshot of `snapshot_version`, or None.

    A restore comes up at the snapshot's own version, with the stack's parameter group, whose
    family is dbEngineVersion's major: RDS accepts a parameter group of the snapshot's major
    only. Right after the restore the provider asks RDS to move to dbEngineVersion
    (terraform-provider-aws, restore path of aws_db_instance): a minor at or after the
    snapshot's is an upgrade RDS makes, an earlier one a downgrade it refuses. A bare major
    ("16") is refused too: RDS takes it for a new instance (its default minor), but that
    modification asks for a version to move to, and RDS finds no upgrade path to a bare major
    (InvalidParameterCombination "Cannot find upgrade path from <snapshot's> to <prefix>",
    terraform-aws-modules/terraform-aws-rds#385): the restored instance would be left half made.
    """
    major, minor = _version(configured)
    snap_major, snap_minor = _version(snapshot_version)
    if major != snap_major:
        return (f"the snapshot's major version {snap_major} (it is PostgreSQL {snapshot_version}): a restore keeps "
                f"its version, and the parameter group must be of that major; restore first, then upgrade "
                f"(docs/operations/upgrades.md)")
    if minor is None:
        return (f"a major.minor version, the snapshot's {snapshot_version} or a later minor: right after the "
                f"restore the instance is moved to dbEngineVersion, and RDS finds no upgrade path to a bare major")
    if snap_minor is not None and minor < snap_minor:
        return (f"{snap_major}.{snap_minor} or later (the snapshot is PostgreSQL {snapshot_version}, and RDS "
                f"never downgrades)")
    return None


def snapshot_problems(facts: SnapshotFacts, *, engine_version: str, allocated_storage_gb: int
                      ) -> dict[str, str]:
    """Configuration key -> what it must be, for everything RDS would refuse (or this program's
    guarantees would lose) when restoring `facts`; empty when the restore can go ahead."""
    problems: dict[str, str] = {}
    snapshot = []
    if facts.engine != rds.ENGINE:
        snapshot.append(f"a snapshot of an RDS for PostgreSQL instance (this one's engine is {facts.engine})")
    if facts.snapshot_type == "automated":
        snapshot.append("a manual or final snapshot (this one is automated: copy it to a manual one first)")
    if facts.status != "available":
        snapshot.append(f"an available snapshot (this one is {facts.status}; aws rds wait db-snapshot-available)")
    if not facts.encrypted:
        # The restored instance inherits the snapshot's encryption and storage_encrypted cannot be
        # changed in place: the next `pulumi up` would plan a replacement.
        snapshot.append("an encrypted snapshot: a restore keeps the snapshot's encryption, and this database is "
                        "always encrypted (make an encrypted copy: aws rds copy-db-snapshot --kms-key-id "
                        "alias/aws/rds)")
    if snapshot:
        problems["dbRestoreSnapshotId"] = "; ".join(snapshot)
    if facts.engine == rds.ENGINE:
        version = engine_version_problem(engine_version, facts.engine_version)
        if version:
            problems["dbEngineVersion"] = version
    if allocated_storage_gb < facts.allocated_storage_gb:
        problems["dbAllocatedStorageGb"] = (
            f"at least the snapshot's {facts.allocated_storage_gb} GiB: RDS restores a snapshot onto at least its own "
            "storage, and storage never shrinks")
    return problems
