"""Restoring a stack from what a teardown kept (airflow_eks/restore, docs/operations/restore.md).

The keys (dbRestoreSnapshotId, existingLogsBucketName, existingDataBucketName, fernetKey) are
validated like every key, with table tests; the checks against RDS and S3 run on injected
look-ups. Then the whole program for prod with the keys: the database is created from the
snapshot and never replaced by a later change of the key, no bucket is created, every policy
names the adopted buckets, the pack passes, a teardown keeps them, the Airflow release reads
the carried-over key, and the plan says where the data comes from.
"""

from __future__ import annotations

import glob
import json
import re

import pulumi
import pytest
from pulumi import _types
from pulumi_aws.rds import InstanceArgs

from airflow_eks import airflow_iam, config, formats, rds, storage
from airflow_eks import secret_data as data
from airflow_eks.offline import harness, loader, mocks
from airflow_eks.restore import fernet, lookups, sources
from airflow_eks.restore import settings as restore
from policy import rules
from tests import manifests
from tests.conftest import IMAGE_DIGEST
from tests.test_policy_program import AIRFLOW_GRACE, PLACEHOLDERS, pack_config
from tools.plan import build, deploy_time, render

REGION = "us-east-1"
SNAPSHOT = "airflow-eks-prod-0a1b2c3d-final"
LOGS, DATA = "airflow-eks-prod-logs-20260101000000", "airflow-eks-prod-data-20260101000000"
RESTORE = {restore.SNAPSHOT_KEY: SNAPSHOT, restore.LOGS_BUCKET_KEY: LOGS, restore.DATA_BUCKET_KEY: DATA,
           "dbEngineVersion": mocks.SNAPSHOT_ENGINE_VERSION}
# A key from the Fernet spec's test vectors (github.com/fernet/spec, generate.json).
SPEC_KEY = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="
OTHER_KEY = "e3Wq5lfo9ikYPFZ9JZYmlmY-0kAKlIDk2q2-t4Ps7KM="
INSTANCE = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
FACTS = sources.SnapshotFacts(identifier=SNAPSHOT, engine="postgres", engine_version="16.8", encrypted=True,
                              allocated_storage_gb=20, status="available", snapshot_type="manual")


# -- snapshot identifiers and ARNs ------------------------------------------------------------
def partitions_of_botocore() -> list[dict]:
    """botocore's partitions.json (in scan/venv, `make install`): the regions of each partition."""
    found = glob.glob(str(loader.ROOT / "scan" / "venv" / "lib" / "python3*" / "site-packages" / "botocore" /
                          "data" / "partitions.json"))
    if not found:
        pytest.skip("botocore's partitions.json not found (make install builds scan/venv)")
    return json.loads(open(found[0]).read())["partitions"]


def test_each_region_gets_the_partition_botocore_puts_it_in():
    checked = 0
    for partition in partitions_of_botocore():
        for region in partition["regions"]:
            if re.fullmatch(partition["regionRegex"], region):
                assert sources.partition_of(region) == partition["id"], region
                checked += 1
        # A region the family's pattern describes, listed or not yet (aws-iso-f lists none).
        sample = {"aws": "eu-central-9", "aws-cn": "cn-east-9", "aws-us-gov": "us-gov-north-9",
                  "aws-iso": "us-iso-north-9", "aws-iso-b": "us-isob-west-9", "aws-iso-e": "eu-isoe-north-9",
                  "aws-iso-f": "us-isof-south-1"}.get(partition["id"])
        if sample and re.fullmatch(partition["regionRegex"], sample):
            assert sources.partition_of(sample) == partition["id"]
    assert checked > 30


@pytest.mark.parametrize(("value", "region", "identifier", "account"), [
    (SNAPSHOT, REGION, SNAPSHOT, ""),
    ("a", REGION, "a", ""),
    ("Pre-Airflow-3-2", REGION, "Pre-Airflow-3-2", ""),
    ("x" * 255, REGION, "x" * 255, ""),
    (f"arn:aws:rds:{REGION}:210987654321:snapshot:{SNAPSHOT}", REGION, SNAPSHOT, "210987654321"),
    (f"arn:aws-cn:rds:cn-north-1:210987654321:snapshot:{SNAPSHOT}", "cn-north-1", SNAPSHOT, "210987654321"),
    ("arn:aws-us-gov:rds:us-gov-west-1:210987654321:snapshot:s1", "us-gov-west-1", "s1", "210987654321"),
])
def test_snapshot_identifiers_and_arns_rds_accepts(value, region, identifier, account):
    ref = sources.parse_snapshot(value, region)
    assert (ref.value, ref.identifier, ref.account, ref.is_arn) == (value, identifier, account, bool(account))


@pytest.mark.parametrize(("value", "region", "allowed"), [
    ("rds:airflow-eks-prod-0a1b2c3d-2026-01-01-03-10", REGION, "automated one"),
    ("1st-snapshot", REGION, "a letter first"),
    ("pre--upgrade", REGION, "no two hyphens"),
    ("pre-upgrade-", REGION, "none at the end"),
    ("pre_upgrade", REGION, "letters, digits and hyphens"),
    ("x" * 256, REGION, "1 to 255"),
    (" pre-upgrade", REGION, "no whitespace"),
    ("pre-upgrade\n", REGION, "no whitespace"),
    ("préupgrade", REGION, "non-ASCII"),
    (f"arn:aws:rds:eu-west-1:210987654321:snapshot:{SNAPSHOT}", REGION, "copy it to us-east-1 first"),
    (f"arn:aws-cn:rds:{REGION}:210987654321:snapshot:{SNAPSHOT}", REGION, "in the aws partition, not aws-cn"),
    (f"arn:aws:rds:cn-north-1:210987654321:snapshot:{SNAPSHOT}", "cn-north-1", "aws-cn partition, not aws"),
    (f"arn:aws:rds:{REGION}:210987654321:cluster-snapshot:{SNAPSHOT}", REGION, "Aurora"),
    (f"arn:aws:rds:{REGION}:210987654321:db:{SNAPSHOT}", REGION, "names an RDS db"),
    (f"arn:aws:rds:{REGION}:2109876:snapshot:{SNAPSHOT}", REGION, "or its ARN"),
    (f"arn:aws:rds:{REGION}:210987654321:snapshot:rds:prod-2026-01-01-03-10", REGION, "automated one"),
    (f"arn:aws:s3:::{SNAPSHOT}", REGION, "or its ARN"),
])
def test_snapshot_values_rds_would_refuse_are_refused(value, region, allowed):
    with pytest.raises(ValueError, match=re.escape(allowed)):
        sources.parse_snapshot(value, region)


def test_the_final_snapshot_a_teardown_leaves_is_accepted_as_it_is_named():
    name = rds.final_snapshot_identifier(rds.instance_identifier("airflow-eks", "prod", "0a1b2c3d"))
    assert sources.parse_snapshot(name, REGION).identifier == name


# -- what RDS requires of a snapshot ----------------------------------------------------------
@pytest.mark.parametrize(("configured", "snapshot", "problem"), [
    ("16", "16.8", "a major.minor version, the snapshot's 16.8"),  # no upgrade path to a bare major
    ("16.8", "16.8", None),
    ("16.9", "16.8", None),           # a minor upgrade right after the restore
    ("16.4", "16.8", "16.8 or later"),  # RDS never downgrades
    ("17", "16.8", "major version 16"),
    ("15.10", "16.8", "major version 16"),
])
def test_engine_version_against_the_snapshots(configured, snapshot, problem):
    found = sources.engine_version_problem(configured, snapshot)
    assert found is None if problem is None else problem in found


def test_the_downgrade_refusal_offers_no_bare_major_which_a_restore_refuses():
    found = sources.engine_version_problem("16.4", "16.8")
    assert found.startswith("16.8 or later") and ", or 16 " not in found
    assert sources.engine_version_problem("16", "16.8") is not None


@pytest.mark.parametrize(("change", "key", "allowed"), [
    ({"encrypted": False}, "dbRestoreSnapshotId", "an encrypted snapshot"),
    ({"engine": "mysql"}, "dbRestoreSnapshotId", "RDS for PostgreSQL"),
    ({"status": "creating"}, "dbRestoreSnapshotId", "available snapshot"),
    ({"snapshot_type": "automated"}, "dbRestoreSnapshotId", "manual or final"),
    ({"engine_version": "17.2"}, "dbEngineVersion", "major version 17"),
    ({"allocated_storage_gb": 50}, "dbAllocatedStorageGb", "at least the snapshot's 50 GiB"),
])
def test_what_rds_refuses_in_a_snapshot_names_the_key_to_change(change, key, allowed):
    facts = sources.SnapshotFacts(**{**FACTS.__dict__, **change})
    problems = sources.snapshot_problems(facts, engine_version="16.8", allocated_storage_gb=20)
    assert list(problems) == [key] and allowed in problems[key]
    assert sources.snapshot_problems(FACTS, engine_version="16.8", allocated_storage_gb=20) == {}


# -- Fernet keys and bucket names ---------------------------------------------------------------
@pytest.mark.parametrize("value", [SPEC_KEY, f"{OTHER_KEY},{SPEC_KEY}"])
def test_fernet_keys_airflow_accepts(value):
    assert fernet.keys(value) == value.split(",")


@pytest.mark.parametrize(("value", "why"), [
    ("", "key 1 of 1"),
    (SPEC_KEY[:-1], "key 1 of 1"),                          # no padding
    (SPEC_KEY.replace("_", "/"), "key 1 of 1"),            # standard, not URL-safe, base64
    (SPEC_KEY[:-2] + "==", "key 1 of 1"),                   # 31 bytes
    (f"{SPEC_KEY}, {OTHER_KEY}", "key 2 of 2"),            # a space after the comma
    (f"{SPEC_KEY},", "key 2 of 2"),
    (f"{SPEC_KEY},{SPEC_KEY}", "listed twice"),
])
def test_fernet_keys_airflow_would_refuse(value, why):
    with pytest.raises(ValueError, match=why) as err:
        fernet.keys(value)
    assert SPEC_KEY not in str(err.value) and OTHER_KEY not in str(err.value)


@pytest.mark.parametrize(("name", "ok"), [
    (LOGS, True), ("a.b-c", True), ("abc", True),
    ("xn--bucket", False), ("sthree-bucket", False), ("amzn-s3-demo-bucket", False),
    ("bucket-s3alias", False), ("bucket--ol-s3", False), ("bucket.mrap", False), ("bucket--x-s3", False),
    ("bucket--table-s3", False), ("Bucket", False), ("ab", False), ("a..b", False), ("192.168.5.4", False),
    ("-bucket", False), ("bucket-", False), ("x" * 64, False),
])
def test_bucket_names_follow_the_s3_rules(name, ok):
    if ok:
        assert formats.s3_bucket_name(name) == name
    else:
        with pytest.raises(ValueError, match="an S3 bucket name"):
            formats.s3_bucket_name(name)


# -- the keys through config.load ----------------------------------------------------------------
def fake_lookups(facts: sources.SnapshotFacts = FACTS, *, missing: bool = False, bucket_region: str = REGION,
                 asked: list | None = None) -> lookups.Lookups:
    asked = asked if asked is not None else []

    def snapshot(ref):
        asked.append(("snapshot", ref.value))
        if missing:
            raise lookups.NotFoundError("DBSnapshotNotFound: Your query returned no results.")
        return facts

    def region(name):
        asked.append(("bucket", name))
        if missing:
            raise lookups.NotFoundError("couldn't find resource")
        return bucket_region

    return lookups.Lookups(snapshot=snapshot, bucket_region=region)


def load(stack: str = "prod", overrides=None, secrets=None, lookup: lookups.Lookups | None = None) -> config.Settings:
    return harness.value(lambda: config.load(lookups=lookup or fake_lookups()), stack=stack,
                         overrides=overrides, secrets=secrets)


def test_without_the_keys_nothing_is_restored_or_looked_up():
    asked: list = []
    s = load(lookup=fake_lookups(asked=asked)).restore
    assert (s.db_snapshot, s.logs_bucket, s.data_bucket, s.fernet_key, s.restores_database) == ("", "", "", None, False)
    assert asked == []


def test_the_keys_load_after_checking_the_snapshot_and_buckets_with_aws():
    asked: list = []
    s = load(overrides=RESTORE, secrets={"fernetKey": SPEC_KEY}, lookup=fake_lookups(asked=asked)).restore
    assert (s.db_snapshot, s.logs_bucket, s.data_bucket) == (SNAPSHOT, LOGS, DATA)
    assert s.db_snapshot_facts == FACTS and s.restores_database
    assert asked == [("snapshot", SNAPSHOT), ("bucket", LOGS), ("bucket", DATA)]


@pytest.mark.parametrize(("overrides", "lookup", "key", "allowed"), [
    ({restore.SNAPSHOT_KEY: "rds:prod-2026"}, None, restore.SNAPSHOT_KEY, "automated one"),
    ({restore.SNAPSHOT_KEY: SNAPSHOT}, fake_lookups(missing=True), restore.SNAPSHOT_KEY,
     "a snapshot RDS finds in us-east-1 (it answered: DBSnapshotNotFound"),
    ({restore.SNAPSHOT_KEY: SNAPSHOT}, fake_lookups(sources.SnapshotFacts(**{**FACTS.__dict__, "encrypted": False})),
     restore.SNAPSHOT_KEY, "an encrypted snapshot"),
    ({restore.SNAPSHOT_KEY: SNAPSHOT, "dbEngineVersion": "17"}, None, "dbEngineVersion", "major version 16"),
    ({restore.SNAPSHOT_KEY: SNAPSHOT, "dbEngineVersion": "16.2"}, None, "dbEngineVersion", "16.8 or later"),
    ({restore.SNAPSHOT_KEY: SNAPSHOT}, None, "dbEngineVersion", "a major.minor version"),  # prod's "16"
    ({restore.SNAPSHOT_KEY: SNAPSHOT, "dbEngineVersion": "16.8"},
     fake_lookups(sources.SnapshotFacts(**{**FACTS.__dict__, "allocated_storage_gb": 80})),
     "dbAllocatedStorageGb", "at least the snapshot's 80 GiB"),
    ({restore.LOGS_BUCKET_KEY: "Logs"}, None, restore.LOGS_BUCKET_KEY, "an S3 bucket name"),
    ({restore.DATA_BUCKET_KEY: "data-s3alias"}, None, restore.DATA_BUCKET_KEY, "reserves"),
    ({restore.LOGS_BUCKET_KEY: LOGS, restore.DATA_BUCKET_KEY: LOGS}, None, restore.DATA_BUCKET_KEY,
     "other than existingLogsBucketName"),
    ({restore.DATA_BUCKET_KEY: DATA, "taskS3BucketNames": [DATA]}, None, restore.DATA_BUCKET_KEY,
     "not also in taskS3BucketNames"),
    ({restore.LOGS_BUCKET_KEY: LOGS}, fake_lookups(missing=True), restore.LOGS_BUCKET_KEY,
     "an existing bucket this account can reach"),
    ({restore.LOGS_BUCKET_KEY: LOGS}, fake_lookups(bucket_region="eu-west-1"), restore.LOGS_BUCKET_KEY,
     "in the stack's region us-east-1 (this one is in eu-west-1"),
])
def test_bad_restore_keys_are_run_errors_naming_the_key(overrides, lookup, key, allowed):
    with pytest.raises(pulumi.RunError) as err:
        load(overrides=overrides, lookup=lookup)
    message = str(err.value)
    assert message.startswith(f"Invalid configuration airflow-eks:{key} = ") and allowed in message


def test_the_aws_lookups_run_only_after_every_offline_check():
    asked: list = []
    with pytest.raises(pulumi.RunError, match="airflowVersion"):
        load(overrides={**RESTORE, "airflowVersion": "2.0.0"}, lookup=fake_lookups(asked=asked))
    with pytest.raises(pulumi.RunError, match="vpcCidr"):
        load(overrides={**RESTORE, "vpcCidr": "8.8.0.0/16"}, lookup=fake_lookups(asked=asked))
    assert asked == []


@pytest.mark.parametrize("value", ["not-a-key", f"{SPEC_KEY},oops", SPEC_KEY[:-1]])
def test_a_bad_fernet_key_is_refused_without_showing_it(value):
    with pytest.raises(pulumi.RunError) as err:
        load(secrets={"fernetKey": value})
    message = str(err.value)
    assert message.startswith("Invalid configuration airflow-eks:fernetKey = [secret]: expected one Fernet key")
    assert "oops" not in message and "not-a-key" not in message and SPEC_KEY[:20] not in message


def test_a_fernet_key_in_plain_text_is_refused():
    with pytest.raises(pulumi.RunError, match=r"fernetKey = \[secret\]: expected a secret"):
        load(overrides={"fernetKey": SPEC_KEY})


def test_a_restored_stack_file_with_its_secure_fernet_key_plans_offline(tmp_path, monkeypatch):
    """`make plan` of a stack whose file holds `fernetKey` as a `secure:` value: the loader's
    stand-in has the shape the program checks, and stays a secret."""
    (tmp_path / "Pulumi.yaml").write_text((loader.ROOT / "Pulumi.yaml").read_text())
    stack_file = (loader.ROOT / "Pulumi.dev.yaml").read_text() + "".join(
        f"  airflow-eks:{k}: {v}\n" for k, v in RESTORE.items()) + "  airflow-eks:fernetKey:\n    secure: v1:abc\n"
    (tmp_path / "Pulumi.restored.yaml").write_text(stack_file)
    monkeypatch.setattr(loader, "ROOT", tmp_path)
    _, values, secret_keys = loader.stack_config("restored")
    assert "airflow-eks:fernetKey" in secret_keys
    assert fernet.keys(values["airflow-eks:fernetKey"]) == [loader.SECURE_STAND_INS["fernetKey"]]
    s = load("restored")
    assert (s.restore.db_snapshot, s.restore.logs_bucket, s.restore.data_bucket) == (SNAPSHOT, LOGS, DATA)


def test_a_refused_restore_registers_nothing():
    with pytest.raises(harness.ProgramError) as failed:
        harness.run_program("prod", overrides={restore.SNAPSHOT_KEY: "rds:prod-2026"})
    assert isinstance(failed.value.error, pulumi.RunError) and failed.value.resources == []


# -- the whole program, restored ----------------------------------------------------------------
@pytest.fixture(scope="module")
def restored() -> harness.Run:
    """prod as it runs (Airflow by digest, tests/conftest.prod_pinned) with every restore key; the
    mocks answer the snapshot and bucket look-ups."""
    return harness.run_program("prod", overrides={**RESTORE, "airflowImageDigest": IMAGE_DIGEST},
                               secrets={"fernetKey": SPEC_KEY})


def test_the_database_is_created_from_the_snapshot_with_the_programs_password(restored):
    db = restored.one(INSTANCE)
    assert db.get("snapshotIdentifier") == SNAPSHOT
    # The snapshot brings its master user and database; the program's password is applied.
    assert db.get("username") is None and db.get("dbName") is None
    assert mocks.secret_paths(db.inputs) == ["password"]
    assert db.get("storageEncrypted") is True and db.get("parameterGroupName")
    # The restore source in the snapshot a final snapshot of this stack would leave.
    assert db.get("finalSnapshotIdentifier") == rds.final_snapshot_identifier(db.get("identifier"))


def test_a_later_change_of_the_restore_key_never_replaces_the_database(restored, programs):
    """The create-only inputs are ignored after the create, in every state: setting the key on a
    stack whose database exists, changing it, or removing it after a restore."""
    names = _types.input_type_py_to_pulumi_names(InstanceArgs)
    assert set(rds.CREATE_ONLY_INPUTS) <= set(names.values())  # real inputs of aws.rds.Instance
    for run in (restored, programs["prod"], programs["dev"]):
        options = run.one(INSTANCE).options
        assert set(rds.CREATE_ONLY_INPUTS) <= set(options["ignore_changes"])
        assert options["delete_before_replace"] is True


def test_no_bucket_is_created_and_every_setting_and_policy_names_the_adopted_buckets(restored):
    assert restored.find(BUCKET) == []
    for typ in ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketVersioning:BucketVersioning",
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        assert sorted(r.get("bucket") for r in restored.find(typ)) == sorted([LOGS, DATA]), typ
    for policy in restored.find("aws:s3/bucketPolicy:BucketPolicy"):
        arn = airflow_iam.bucket_arn(policy.get("bucket"))
        assert json.loads(policy.get("policy"))["Statement"][0]["Resource"] == [arn, f"{arn}/*"]
    # The Pod Identity roles: task pods read and write data and logs, Airflow's components logs.
    documents = {r.name: json.loads(r.get("policy")) for r in restored.find("aws:iam/rolePolicy:RolePolicy")}
    task = next(d for n, d in documents.items() if "task" in n)
    components = next(d for n, d in documents.items() if "components" in n)
    named = {r for d in (task, components) for s in d["Statement"] for r in
             (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])}
    assert {airflow_iam.bucket_arn(LOGS), airflow_iam.bucket_arn(DATA)} <= named
    assert not [r for r in named if ":s3:::" in r and LOGS not in r and DATA not in r]
    # Airflow's remote logging writes to the adopted logs bucket.
    release = manifests.releases(restored)["airflow"]
    assert release.get("values.config.logging.remote_base_log_folder").startswith(f"s3://{LOGS}/")
    assert restored.outputs["logsBucketName"][0] == LOGS and restored.outputs["dataBucketName"][0] == DATA


def test_the_pack_judges_the_adopted_buckets_and_passes(restored):
    assert [str(v) for v in rules.evaluate(restored.resources, pack_config("prod"))
            if v.rule not in (PLACEHOLDERS, AIRFLOW_GRACE)] == []
    # The per-bucket rules see both adopted buckets: without a setting, each fails.
    for typ, rule in (("aws:s3/bucketVersioning:BucketVersioning", "s3-versioning"),
                      ("aws:s3/bucketPolicy:BucketPolicy", "s3-tls-only")):
        without = [r for r in rules.as_resources(restored.resources) if r.type != typ]
        found = [v for v in rules.evaluate(without, pack_config("prod")) if v.rule == rule]
        assert len(found) == 2, found


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_a_teardown_keeps_adopted_buckets_with_their_settings(stack):
    """Even dev (keepDataOnDestroy false), and prod after the documented teardown step: the
    buckets are not the stack's to delete, and their settings stay with them."""
    run = harness.run_program(stack, overrides={**RESTORE, "protectData": False})
    assert run.find(BUCKET) == []
    settings = [r for r in run.resources if r.typ.startswith("aws:s3/")]
    assert settings and all(r.options["retain_on_delete"] for r in settings)
    assert len(run.find("aws:s3/bucketVersioning:BucketVersioning")) == 2


def test_the_release_reads_the_carried_over_fernet_key_and_a_teardown_keeps_a_copy(restored, programs):
    secret = next(r for r in restored.find("kubernetes:core/v1:Secret")
                  if r.get("metadata.name") == data.SECRET_NAMES.fernet)
    assert secret.plain_inputs["stringData"] == {data.FERNET_KEY: SPEC_KEY}
    assert mocks.secret_paths(secret.inputs) == ["stringData"]
    # Without fernetKey, the stack's own generated key: not the carried one.
    generated = next(r for r in programs["prod"].find("kubernetes:core/v1:Secret")
                     if r.get("metadata.name") == data.SECRET_NAMES.fernet)
    assert generated.plain_inputs["stringData"][data.FERNET_KEY] != SPEC_KEY
    # The kept copy in Secrets Manager holds the key Airflow runs with, and stays on destroy.
    version = restored.one("aws:secretsmanager/secretVersion:SecretVersion", name="airflow-fernet-key-value")
    assert version.plain_inputs["secretString"] == SPEC_KEY and mocks.secret_paths(version.inputs) == ["secretString"]
    copy = restored.one("aws:secretsmanager/secret:Secret", name="airflow-fernet-key")
    assert copy.get("namePrefix") == fernet.copy_name_prefix("airflow-eks", "prod")
    assert not copy.get("namePrefix").startswith(airflow_iam.SECRETS_PREFIXES)  # never read as a connection
    assert all(r.options["retain_on_delete"] for r in (copy, version)) and copy.options["protect"]
    # A new fernetKey (a rotation: "<new>,<old>") replaces the version, its secret_string being
    # ForceNew (terraform-provider-aws aws_secretsmanager_secret_version), and Pulumi refuses to
    # replace a protected resource: the version must not be, or a prod `up` stops there.
    assert not version.options["protect"]
    assert restored.outputs["fernetKeySecretName"] == ("airflow-eks-prod-fernet-key-20261123000000", False)
    # dev keeps nothing, so no copy either.
    assert programs["dev"].find("aws:secretsmanager/secret:Secret") == []


def test_the_plan_says_where_the_data_comes_from_and_counts_the_restore(restored, programs):
    plan = build.assemble(restored, "prod", day=harness.REFERENCE_DAY)
    assert plan["dataSources"] == {
        "databases": [{"resource": "airflow-db", "snapshot": SNAPSHOT}],
        "buckets": [{"resource": "airflow-data", "adopted": DATA}, {"resource": "airflow-logs", "adopted": LOGS}]}
    text = render.render_plan(plan, ("data",))
    assert f"restored from DB snapshot {SNAPSHOT}" in text and f"the existing bucket {LOGS}" in text
    fresh = build.assemble(programs["prod"], "prod", day=harness.REFERENCE_DAY)
    assert [b.get("adopted") for b in fresh["dataSources"]["buckets"]] == [None, None]
    assert "new and empty" in render.render_plan(fresh, ("data",))
    # A restored Multi-AZ instance takes the longest variant of the durations table.
    table = deploy_time.load_durations()
    rds_entry = next(e for e in plan["resources"] if e["type"] == INSTANCE)
    fresh_entry = next(e for e in fresh["resources"] if e["type"] == INSTANCE)
    restored_seconds, fresh_seconds = (deploy_time.seconds_for(e, table)[0] for e in (rds_entry, fresh_entry))
    assert restored_seconds > fresh_seconds == 900
    step = next(s for s in plan["deployTime"]["path"] if s["type"] == INSTANCE)
    assert step["seconds"] == restored_seconds


# -- the runbook ---------------------------------------------------------------------------------
def test_the_runbook_names_the_keys_and_where_each_kept_thing_is():
    """docs/operations/restore.md: the names it tells people to look for are the program's."""
    page = (loader.ROOT / "docs" / "operations" / "restore.md").read_text()
    for key in (restore.SNAPSHOT_KEY, restore.LOGS_BUCKET_KEY, restore.DATA_BUCKET_KEY, restore.FERNET_KEY):
        assert f"pulumi config set {'--secret ' if key == restore.FERNET_KEY else ''}{key} " in page, key
    assert fernet.copy_name_prefix("airflow-eks", "prod") in page       # the key's kept copy
    assert f"secret {data.SECRET_NAMES.fernet} -o jsonpath='{{.data.{data.FERNET_KEY}}}'" in page
    assert "airflow-secrets-fernet-key" in page                           # the generated key in state
    assert storage.bucket_prefix("airflow-eks", "prod", "logs").removesuffix("logs-") in page
    final = rds.final_snapshot_identifier(rds.instance_identifier("airflow-eks", "prod", "0a1b2c3d"))
    assert f"pulumi config set dbRestoreSnapshotId {final}" in page
    assert "fernetKeySecretName" in page and "--target-dependents" in page and "upgrades.md" in page
