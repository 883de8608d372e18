"""S3 rules: each bucket's public access block, encryption, TLS-only policy and versioning; log expiry;
buckets never emptied by a destroy. Each bucket is one the stack creates or one it adopts (a kept
bucket it configures but never created)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .airflow_values import _log_bucket, _values
from .base import Resource, rule
from .constants import (
    HELM_RELEASE,
    S3_BUCKETS,
    S3_ENCRYPTION,
    S3_LIFECYCLE,
    S3_POLICY,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_VERSIONING,
)
from .helpers import _attached, _buckets, _items, _map, _number, _of_type, _path, _statements

# A bucket's settings: the resources that name it by its `bucket` input.
S3_SETTINGS = (S3_PUBLIC_ACCESS_BLOCK, S3_ENCRYPTION, S3_POLICY, S3_LIFECYCLE, S3_VERSIONING)


def _stack_buckets(resources: Sequence[Resource]) -> list[Resource]:
    """Every bucket the stack creates or adopts (an adopted one has settings but no bucket resource)."""
    return _buckets(resources, S3_BUCKETS, S3_SETTINGS)


def _per_bucket(resources: Sequence[Resource], typ: str, ok: Callable[[Resource], bool],
                message: str) -> list[tuple[str, str]]:
    return [(message, bucket.urn) for bucket in _stack_buckets(resources)
            if not any(ok(r) for r in _attached(bucket, resources, typ))]


@rule("s3-public-access-block", "Every bucket blocks public ACLs and policies (all four settings).")
def s3_public_access_block(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return _per_bucket(resources, S3_PUBLIC_ACCESS_BLOCK, lambda b: all(b.props.get(f) is True for f in flags),
                       "needs a BucketPublicAccessBlock with " + ", ".join(flags) + " all true.")


@rule("s3-encryption", "Every bucket has default server-side encryption configured.",
      config={"allowedAlgorithms": {"type": "array", "items": {"type": "string"},
                                    "default": ["aws:kms", "aws:kms:dsse", "AES256"],
                                    "description": "Accepted sseAlgorithm values."}})
def s3_encryption(resources: Sequence[Resource], cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    allowed = set(cfg["allowedAlgorithms"])

    def ok(config: Resource) -> bool:
        return any(_path(_map(r), "applyServerSideEncryptionByDefault.sseAlgorithm") in allowed
                   for r in _items(config.props.get("rules")))
    return _per_bucket(resources, S3_ENCRYPTION, ok,
                       f"needs a BucketServerSideEncryptionConfiguration with one of {sorted(allowed)}.")


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    condition = _path(statement, "Condition.Bool", {})
    secure = condition.get("aws:SecureTransport") if isinstance(condition, Mapping) else None
    actions = {str(a) for a in _items(statement.get("Action"))}
    return (statement.get("Effect") == "Deny" and str(secure).lower() == "false"
            and bool(actions & {"s3:*", "*"}))


@rule("s3-tls-only", "Every bucket policy denies requests that do not use TLS (aws:SecureTransport).")
def s3_tls_only(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    return _per_bucket(resources, S3_POLICY,
                       lambda p: any(_denies_plain_http(s) for s in _statements(p.props.get("policy"))),
                       "needs a BucketPolicy that denies s3:* when aws:SecureTransport is false.")


@rule("s3-versioning", "Every bucket is versioned (prod data protection; relaxed for dev).")
def s3_versioning(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    return _per_bucket(resources, S3_VERSIONING,
                       lambda v: _path(v.props, "versioningConfiguration.status") == "Enabled",
                       "needs BucketVersioning with status Enabled, so overwritten or deleted objects "
                       "can be restored.")


@rule("s3-no-force-destroy", "Buckets are never emptied by a destroy: forceDestroy is off (prod; relaxed for dev).",
      types=S3_BUCKETS)
def s3_no_force_destroy(_typ: str, props: Mapping[str, Any], _cfg: Mapping[str, Any]) -> list[str]:
    if props.get("forceDestroy") is True:
        return ["forceDestroy must be false (set keepDataOnDestroy): it deletes every object and version "
                "when the bucket is deleted."]
    return []


def _expires(lifecycle: Resource) -> bool:
    return any(_map(r).get("status") == "Enabled" and (_number(_path(_map(r), "expiration.days")) or 0) > 0
               for r in _items(lifecycle.props.get("rules")))


@rule("s3-logs-lifecycle", "The task-log bucket expires old logs through a lifecycle rule.")
def s3_logs_lifecycle(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    lifecycles = _of_type(resources, S3_LIFECYCLE)
    releases = [(r, _log_bucket(v)) for r in _of_type(resources, HELM_RELEASE) if (v := _values(r.props))]
    named = [(release, bucket) for release, bucket in releases if bucket]
    if named:  # the bucket Airflow's remote logging writes to
        return [(f"the task-log bucket {bucket} needs a lifecycle rule that expires objects, or logs grow "
                 "(and are billed) forever.", release.urn)
                for release, bucket in named
                if not any(str(c.props.get("bucket")) == bucket and _expires(c) for c in lifecycles)]
    # No Airflow release to read it from: judge the buckets named for logs.
    return [("a log bucket needs a lifecycle rule that expires objects.", b.urn)
            for b in _stack_buckets(resources)
            if "log" in b.name and not any(_expires(c) for c in _attached(b, resources, S3_LIFECYCLE))]
