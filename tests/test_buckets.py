"""Buckets component under mocks: private, encrypted, TLS-only buckets with lifecycle rules;
versioned, protected and kept in prod, emptied and deleted on destroy in dev."""

from __future__ import annotations

import json

import pulumi
import pytest

from airflow_eks import config, iam, storage
from airflow_eks.offline import harness
from components.buckets import Buckets, BucketsArgs

BUCKET = "aws:s3/bucket:Bucket"
PURPOSES = ("logs", "data")


def build():
    s = config.load()
    buckets = Buckets("airflow", BucketsArgs(protect_data=s.data.protect_data,
                                             keep_data_on_destroy=s.data.keep_data_on_destroy,
                                             log_retention_days=s.data.log_retention_days))
    for attr in ("logs_bucket_name", "logs_bucket_arn", "data_bucket_name", "data_bucket_arn"):
        pulumi.export(attr, getattr(buckets, attr))
    return buckets


@pytest.fixture(scope="module")
def runs() -> dict[str, harness.Run]:
    return {stack: harness.run(build, stack=stack) for stack in ("dev", "prod")}


@pytest.fixture(params=["dev", "prod"])
def run(request, runs) -> harness.Run:
    return runs[request.param]


def bucket_name(run: harness.Run, purpose: str) -> str:
    return run.outputs[f"{purpose}_bucket_name"][0]


def config_of(run: harness.Run, typ: str, purpose: str):
    """The one `typ` resource configuring the `purpose` bucket (by its bucket input)."""
    found = [r for r in run.find(typ) if r.get("bucket") == bucket_name(run, purpose)]
    assert len(found) == 1, f"{typ} for {purpose}: {[r.name for r in found]}"
    return found[0]


def rules(run: harness.Run, purpose: str) -> dict[str, dict]:
    lifecycle = config_of(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", purpose)
    return {r["id"]: r for r in lifecycle.get("rules")}


def test_two_auto_named_buckets_with_readable_prefixes(run):
    buckets = run.find(BUCKET)
    assert sorted(b.name for b in buckets) == ["airflow-data", "airflow-logs"]
    stack = run.one("airflow-eks:storage:Buckets").urn.split("::")[0].split(":")[-1]
    for purpose in PURPOSES:
        bucket = run.one(BUCKET, name=f"airflow-{purpose}")
        assert bucket.get("bucket") is None
        assert bucket.get("bucketPrefix") == f"airflow-eks-{stack}-{purpose}-"
        assert bucket_name(run, purpose).startswith(bucket.get("bucketPrefix"))
        assert run.outputs[f"{purpose}_bucket_arn"][0] == f"arn:aws:s3:::{bucket_name(run, purpose)}"


@pytest.mark.parametrize("purpose", PURPOSES)
def test_public_access_is_blocked_and_acls_are_off(run, purpose):
    block = config_of(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", purpose)
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.get(flag) is True, flag
    ownership = config_of(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", purpose)
    assert ownership.get("rule") == {"objectOwnership": "BucketOwnerEnforced"}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_default_encryption_is_kms_with_bucket_keys(run, purpose):
    sse = config_of(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    purpose)
    [rule] = sse.get("rules")
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize("purpose", PURPOSES)
def test_policy_denies_every_request_without_tls(run, purpose):
    policy = config_of(run, "aws:s3/bucketPolicy:BucketPolicy", purpose)
    arn = f"arn:aws:s3:::{bucket_name(run, purpose)}"
    [statement] = json.loads(policy.get("policy"))["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
    assert sorted(statement["Resource"]) == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    block = config_of(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", purpose)
    assert run.depends_on(policy, block)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_incomplete_multipart_uploads_are_aborted(run, purpose):
    rule = rules(run, purpose)["abort-incomplete-multipart-uploads"]
    assert rule["status"] == "Enabled" and rule["filter"] == {}
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1


def test_logs_expire_after_the_retention_and_data_never_expires(runs):
    assert rules(runs["dev"], "logs")["expire-objects"]["expiration"] == {"days": 7}
    assert rules(runs["prod"], "logs")["expire-objects"]["expiration"] == {"days": 90}
    assert rules(runs["prod"], "logs")["expire-objects"]["filter"] == {}
    for run in runs.values():
        # Only orphaned delete markers expire in the data bucket, never objects.
        assert all(r.get("expiration", {}).keys() <= {"expiredObjectDeleteMarker"}
                   for r in rules(run, "data").values())


def test_retention_override_reaches_the_logs_rule():
    run = harness.run(build, stack="dev", overrides={"logRetentionDays": 14})
    assert rules(run, "logs")["expire-objects"]["expiration"] == {"days": 14}


def test_prod_buckets_are_versioned_and_protected(runs):
    run = runs["prod"]
    for purpose in PURPOSES:
        bucket = run.one(BUCKET, name=f"airflow-{purpose}")
        assert bucket.options["protect"] is True and bucket.options["retain_on_delete"] is True
        assert bucket.get("forceDestroy") is False
        versioning = config_of(run, "aws:s3/bucketVersioning:BucketVersioning", purpose)
        assert versioning.get("versioningConfiguration") == {"status": "Enabled"}
        noncurrent = rules(run, purpose)["expire-noncurrent-versions"]["noncurrentVersionExpiration"]
        assert noncurrent["noncurrentDays"] >= 1
        lifecycle = config_of(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", purpose)
        assert run.depends_on(lifecycle, versioning)


def test_prod_protects_every_bucket_setting_with_its_bucket(runs):
    """A prod destroy must not strip versioning, the TLS policy or the lifecycle rules before
    it stops at the protected bucket."""
    children = [r for r in runs["prod"].resources if r.typ.startswith("aws:s3/") and r.typ != BUCKET]
    assert {r.typ.split(":")[-1] for r in children} == {
        "BucketPublicAccessBlock", "BucketOwnershipControls", "BucketServerSideEncryptionConfiguration",
        "BucketPolicy", "BucketVersioning", "BucketLifecycleConfiguration"}
    assert len(children) == 6 * len(PURPOSES)
    assert [r.name for r in children if not r.options["protect"]] == []
    assert [r.name for r in children if not r.options["retain_on_delete"]] == []


def test_versioned_buckets_expire_orphaned_delete_markers(runs):
    for purpose in PURPOSES:
        rule = rules(runs["prod"], purpose)["expire-noncurrent-versions"]
        # S3 rejects expiredObjectDeleteMarker together with days in one expiration.
        assert rule["expiration"] == {"expiredObjectDeleteMarker": True}
        assert rule["status"] == "Enabled" and rule["filter"] == {}
    assert rules(runs["prod"], "logs")["expire-objects"]["expiration"] == {"days": 90}
    assert not any(r.get("expiration", {}).get("expiredObjectDeleteMarker")
                   for purpose in PURPOSES for r in rules(runs["dev"], purpose).values())


def test_dev_buckets_are_emptied_and_deleted_on_destroy(runs):
    run = runs["dev"]
    for purpose in PURPOSES:
        bucket = run.one(BUCKET, name=f"airflow-{purpose}")
        assert bucket.options["protect"] is False and bucket.options["retain_on_delete"] is False
        assert bucket.get("forceDestroy") is True
        assert "expire-noncurrent-versions" not in rules(run, purpose)
    assert run.find("aws:s3/bucketVersioning:BucketVersioning") == []
    assert not any(r.options["protect"] or r.options["retain_on_delete"] for r in run.resources)


def test_only_non_deprecated_s3_resources(run):
    assert not [r.typ for r in run.resources if r.typ.startswith("aws:s3/") and r.typ.endswith("V2")]


def test_children_are_parented_to_the_component(run):
    component = run.one("airflow-eks:storage:Buckets")
    assert all(r.parent == component.urn for r in run.resources if r.typ.startswith("aws:s3/"))


# --- pure helpers --------------------------------------------------------------------

@pytest.mark.parametrize(("project", "stack", "purpose", "expected"), [
    ("airflow-eks", "dev", "logs", "airflow-eks-dev-logs-"),
    ("airflow-eks", "Team_A.Prod", "data", "airflow-eks-team-a-prod-data-"),
    ("airflow-eks", "a-very-long-stack-name-for-testing", "logs", "airflow-eks-a-very-long-stack-n-logs-"),
    ("airflow-eks", "x-----", "data", "airflow-eks-x-data-"),
])
def test_bucket_prefix(project, stack, purpose, expected):
    prefix = storage.bucket_prefix(project, stack, purpose)
    assert prefix == expected
    assert len(prefix) <= storage.MAX_BUCKET_PREFIX
    assert prefix[0].isalnum() and "--" not in prefix and prefix == prefix.lower()


def test_tls_only_policy_grants_nothing():
    doc = storage.tls_only_policy("arn:aws:s3:::b")
    assert all(s["Effect"] == "Deny" for s in iam.statements(doc))
    assert iam.wildcard_actions(doc) == []


def test_lifecycle_rules_abort_uploads_always_and_expire_only_when_asked():
    [abort] = storage.lifecycle_rules(expire_days=None, noncurrent_days=None)
    assert abort["abort_incomplete_multipart_upload"] == {"days_after_initiation": storage.ABORT_MULTIPART_DAYS}
    rules = {r["id"]: r for r in storage.lifecycle_rules(expire_days=30, noncurrent_days=7)}
    assert rules["expire-objects"]["expiration"] == {"days": 30}
    noncurrent = rules["expire-noncurrent-versions"]
    assert noncurrent["noncurrent_version_expiration"] == {"noncurrent_days": 7}
    # S3 rejects expired_object_delete_marker next to days in one expiration.
    assert noncurrent["expiration"] == {"expired_object_delete_marker": True}
    assert all(r["filter"] == {} and r["status"] == "Enabled" for r in rules.values())
