"""The restore keys: validated like every key, before the first resource.

`dbRestoreSnapshotId` creates the metadata database from a snapshot, `existingLogsBucketName`
and `existingDataBucketName` adopt kept buckets, `fernetKey` carries over the key that
encrypted the database's connections and variables. Offline checks first (formats, keys that
contradict each other), then the look-ups (`lookups`), each only when its key is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from airflow_eks import formats
from airflow_eks.config_reader import Reader, invalid
from airflow_eks.restore import fernet, lookups, sources

SNAPSHOT_KEY = "dbRestoreSnapshotId"
LOGS_BUCKET_KEY = "existingLogsBucketName"
DATA_BUCKET_KEY = "existingDataBucketName"
FERNET_KEY = "fernetKey"
# Shown whenever dbRestoreSnapshotId is set: on a stack whose database exists it changes nothing.
CREATE_ONLY_WARNING = (
    f"{SNAPSHOT_KEY} is read only when this stack creates its database: a stack whose database exists keeps it "
    "as it is (changing or removing the key never replaces it). To restore into an existing stack, follow "
    "docs/operations/restore.md; once a restore is done you may remove the key.")


@dataclass(frozen=True)
class RestoreSettings:
    db_snapshot: str
    """'' (a new, empty database) or the snapshot identifier or ARN RDS restores from."""
    db_snapshot_facts: sources.SnapshotFacts | None
    logs_bucket: str
    """'' (the stack creates its logs bucket) or the kept bucket it adopts."""
    data_bucket: str
    fernet_key: pulumi.Output[str] | None
    """Secret; None: the stack's own generated key."""

    @property
    def restores_database(self) -> bool:
        return bool(self.db_snapshot)


def _snapshot_facts(r: Reader, ref: sources.SnapshotRef, *, region: str, engine_version: str,
                    allocated_storage_gb: int, lookup: lookups.Lookups) -> sources.SnapshotFacts:
    try:
        facts = lookup.snapshot(ref)
    except lookups.NotFoundError as error:
        raise invalid(r.key(SNAPSHOT_KEY), ref.value, (
            f"a snapshot RDS finds in {region} (it answered: {error}); a snapshot another account shared is named by "
            "its ARN. If this stack's database was restored from it and the snapshot is gone since, remove the "
            "key: it is read only when the database is created")) from None
    problems = sources.snapshot_problems(facts, engine_version=engine_version,
                                         allocated_storage_gb=allocated_storage_gb)
    for key, allowed in problems.items():
        shown = {"dbEngineVersion": engine_version, "dbAllocatedStorageGb": allocated_storage_gb}.get(key, ref.value)
        raise invalid(r.key(key), shown, f"{allowed} (restoring {SNAPSHOT_KEY} {ref.value})")
    return facts


def _bucket_name(r: Reader, key: str, task_buckets: tuple[str, ...]) -> str:
    name = r.raw(key)
    if name == "":
        return name
    r.check(key, name, formats.s3_bucket_name)
    if name in task_buckets:
        raise invalid(r.key(key), name, "a bucket not also in taskS3BucketNames (that list is for buckets this stack "
                      "does not manage; an adopted bucket gets the stack's settings)")
    return name


def _bucket_in_region(r: Reader, key: str, name: str, *, region: str, lookup: lookups.Lookups) -> None:
    try:
        where = lookup.bucket_region(name)
    except lookups.NotFoundError as error:
        raise invalid(r.key(key), name, f"an existing bucket this account can reach (S3 answered: {error})") from None
    if where != region:
        raise invalid(r.key(key), name, f"a bucket in the stack's region {region} (this one is in {where}; copy its "
                      "objects there first, e.g. with S3 Batch Replication)")


def _fernet_key(r: Reader) -> pulumi.Output[str] | None:
    value = r.secret(FERNET_KEY, fernet.keys)
    return pulumi.Output.secret(value) if value is not None else None


@dataclass(frozen=True)
class Checked:
    """The restore keys after the offline checks; `resolve` makes the AWS look-ups."""

    snapshot: sources.SnapshotRef | None
    buckets: dict[str, str]
    fernet_key: pulumi.Output[str] | None

    def resolve(self, r: Reader, *, region: str, engine_version: str, allocated_storage_gb: int,
                lookup: lookups.Lookups = lookups.AWS) -> RestoreSettings:
        facts = None
        if self.snapshot is not None:
            facts = _snapshot_facts(r, self.snapshot, region=region, engine_version=engine_version,
                                    allocated_storage_gb=allocated_storage_gb, lookup=lookup)
            pulumi.log.warn(CREATE_ONLY_WARNING)
        for key, name in self.buckets.items():
            if name:
                _bucket_in_region(r, key, name, region=region, lookup=lookup)
        return RestoreSettings(
            db_snapshot=self.snapshot.value if self.snapshot else "", db_snapshot_facts=facts,
            logs_bucket=self.buckets[LOGS_BUCKET_KEY], data_bucket=self.buckets[DATA_BUCKET_KEY],
            fernet_key=self.fernet_key)


def check(r: Reader, *, region: str, task_buckets: tuple[str, ...]) -> Checked:
    """Every offline check of the restore keys (formats, and keys that contradict each other)."""
    snapshot = r.raw(SNAPSHOT_KEY)
    ref = r.check(SNAPSHOT_KEY, snapshot, lambda v: sources.parse_snapshot(v, region)) if snapshot else None
    buckets = {key: _bucket_name(r, key, task_buckets) for key in (LOGS_BUCKET_KEY, DATA_BUCKET_KEY)}
    if buckets[LOGS_BUCKET_KEY] and buckets[LOGS_BUCKET_KEY] == buckets[DATA_BUCKET_KEY]:
        raise invalid(r.key(DATA_BUCKET_KEY), buckets[DATA_BUCKET_KEY], f"a bucket other than {LOGS_BUCKET_KEY}: "
                      "the logs bucket expires its objects after logRetentionDays")
    return Checked(snapshot=ref, buckets=buckets, fernet_key=_fernet_key(r))
