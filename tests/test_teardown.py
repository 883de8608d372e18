"""What `pulumi destroy` leaves behind, for the whole program in the three states
docs/operations/teardown.md describes: prod as committed, prod after `protectData: false` and
`pulumi up` (the documented teardown path), and dev.

AWS honours a deletion setting only as the stack last recorded it, so each state is checked
for the inputs a delete would read: the final snapshot and the automated backups of the
database, and whether buckets and log groups are emptied, deleted or left in place.
"""

from __future__ import annotations

import re

import pytest

from airflow_eks import rds
from airflow_eks.offline import harness, loader

INSTANCE = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BUCKET_TYPES = "aws:s3/"
KEY_COPY = "aws:secretsmanager/secret:Secret"
KEY_COPY_VALUE = "aws:secretsmanager/secretVersion:SecretVersion"
# What the documented teardown `pulumi up` may change, and nothing more: lifting the
# protections (and letting pending instance changes apply now rather than in the window).
TEARDOWN_CHANGES = {"deletionProtection", "applyImmediately"}
TEARDOWN_CONFIG = {"protectData": False}


def documented_teardown_config() -> dict[str, bool]:
    """The `pulumi config set` steps of the documented prod teardown, as config overrides."""
    page = (loader.ROOT / "docs" / "operations" / "teardown.md").read_text()
    block = page.split("```bash", 1)[1].split("```", 1)[0]
    steps = re.findall(r"^pulumi config set (\w+) (true|false) -s prod", block, re.MULTILINE)
    assert "pulumi up -s prod" in block and "pulumi destroy -s prod" in block
    return {key: value == "true" for key, value in steps}


@pytest.fixture(scope="module")
def teardown() -> harness.Run:
    """prod after the documented teardown step: `pulumi config set protectData false`, `pulumi up`."""
    return harness.run_program("prod", overrides=TEARDOWN_CONFIG)


def test_the_documented_teardown_is_the_one_tested_here():
    assert documented_teardown_config() == TEARDOWN_CONFIG


@pytest.fixture
def states(programs, teardown) -> dict[str, harness.Run]:
    return {"prod": programs["prod"], "prod-teardown": teardown, "dev": programs["dev"]}


def _bucket_resources(run: harness.Run) -> list:
    return [r for r in run.resources if r.typ.startswith(BUCKET_TYPES)]


def _kept(run: harness.Run) -> None:
    """The database snapshots itself and keeps its backups; buckets and log groups stay."""
    db = run.one(INSTANCE)
    assert db.get("skipFinalSnapshot") is False
    assert db.get("finalSnapshotIdentifier") == rds.final_snapshot_identifier(db.get("identifier"))
    assert db.get("deleteAutomatedBackups") is False
    buckets = run.find(BUCKET)
    assert len(buckets) == 2
    assert all(b.get("forceDestroy") is False for b in buckets)
    # Each bucket and every setting of it (public access block, TLS policy, encryption,
    # versioning, lifecycle) stays: a kept bucket is never stripped of its protections.
    assert [r.name for r in _bucket_resources(run) if not r.options["retain_on_delete"]] == []
    assert len(run.find("aws:s3/bucketVersioning:BucketVersioning")) == 2
    groups = run.find(LOG_GROUP)
    assert groups and all(g.options["retain_on_delete"] for g in groups)
    # The Fernet key that decrypts the snapshot's connections is kept beside it (restore.md).
    key_copy = run.find(KEY_COPY, name="airflow-fernet-key") + run.find(KEY_COPY_VALUE, name="airflow-fernet-key-value")
    assert len(key_copy) == 2 and all(r.options["retain_on_delete"] for r in key_copy)


def test_prod_stops_destroy_and_would_keep_everything_anyway(states):
    run = states["prod"]
    db = run.one(INSTANCE)
    assert db.get("deletionProtection") is True and db.options["protect"] is True
    assert all(b.options["protect"] for b in _bucket_resources(run))
    _kept(run)


def test_the_documented_prod_teardown_keeps_the_data_with_no_extra_step(states):
    run = states["prod-teardown"]
    db = run.one(INSTANCE)
    # Nothing stops the destroy any more...
    assert db.get("deletionProtection") is False
    assert not any(r.options["protect"] for r in run.resources)
    # ...and what it deletes, it deletes keeping the data.
    _kept(run)


def test_the_teardown_up_only_lifts_the_protections(states):
    """The `pulumi up` before the destroy changes no bucket, snapshot or backup setting: it
    would otherwise suspend versioning or turn force-destroy on, as it once did."""
    before = {r.urn: r for r in states["prod"].resources}
    after = {r.urn: r for r in states["prod-teardown"].resources}
    assert before.keys() == after.keys()
    changed = {key for urn, r in after.items() for key in set(r.plain_inputs) | set(before[urn].plain_inputs)
               if r.plain_inputs.get(key) != before[urn].plain_inputs.get(key)}
    assert changed == TEARDOWN_CHANGES
    kept_before = {urn for urn, r in before.items() if r.options["retain_on_delete"]}
    assert kept_before and {urn for urn, r in after.items() if r.options["retain_on_delete"]} == kept_before


def test_dev_leaves_nothing_behind(states):
    run = states["dev"]
    db = run.one(INSTANCE)
    assert db.get("deletionProtection") is False
    assert db.get("skipFinalSnapshot") is True and db.get("finalSnapshotIdentifier") is None
    assert db.get("deleteAutomatedBackups") is True
    assert all(b.get("forceDestroy") is True for b in run.find(BUCKET))
    assert run.find(KEY_COPY) == []
    assert [r.name for r in run.resources if r.options["protect"] or r.options["retain_on_delete"]] == []


@pytest.mark.parametrize("identifier", ["airflow-eks-prod-0a1b2c3d", "a-1", "x" * 63])
def test_final_snapshot_names_follow_the_rds_rules(identifier):
    name = rds.final_snapshot_identifier(identifier)
    assert name == f"{identifier}-final"
    assert len(name) <= rds.SNAPSHOT_IDENTIFIER_MAX_LENGTH and name[0].isalpha()
    assert "--" not in name and not name.endswith("-")


@pytest.mark.parametrize("identifier", ["1abc", "abc-", "a--b", "a_b", "x" * 250])
def test_an_identifier_rds_would_reject_as_a_snapshot_name_fails_here(identifier):
    with pytest.raises(ValueError, match="DB snapshot identifier"):
        rds.final_snapshot_identifier(identifier)
