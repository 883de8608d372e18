"""Pure S3 helpers: bucket name prefixes, the TLS-only bucket policy and lifecycle rules."""

from __future__ import annotations

import re

from airflow_eks import iam

# Parts of an interrupted multipart upload are billed until they are aborted.
ABORT_MULTIPART_DAYS = 7

# S3 appends a 26-character unique suffix to `bucket_prefix`; names may have 63 characters.
MAX_BUCKET_PREFIX = 37


def bucket_prefix(project: str, stack: str, purpose: str) -> str:
    """`<project>-<stack>-<purpose>-`, cut to what S3 accepts as a prefix.

    Bucket names are global, so the provider's unique suffix does the deduplicating; the
    prefix only tells a human in the console which stack and purpose a bucket serves. Stack
    names may hold upper case, `_` and `.`, which bucket names forbid or discourage.
    """
    text = re.sub(r"[^a-z0-9-]+", "-", f"{project}-{stack}".lower()).strip("-")
    tail = f"-{purpose}-"
    return re.sub(r"-+", "-", text[: MAX_BUCKET_PREFIX - len(tail)].rstrip("-") + tail)


def tls_only_policy(bucket_arn: str) -> dict:
    """Bucket policy that denies every request not made over TLS, on the bucket and its objects."""
    return iam.document({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })


def lifecycle_rules(*, expire_days: int | None, noncurrent_days: int | None) -> list[dict]:
    """BucketLifecycleConfiguration rules (pulumi-aws input dicts): abort stale uploads,
    optionally expire objects and, in a versioned bucket, their noncurrent versions."""
    every_object: dict = {}  # an empty filter: the whole bucket
    rules: list[dict] = [{
        "id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": every_object,
        "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
    }]
    if expire_days is not None:
        rules.append({"id": "expire-objects", "status": "Enabled", "filter": every_object,
                      "expiration": {"days": expire_days}})
    if noncurrent_days is not None:
        rules.append({
            "id": "expire-noncurrent-versions", "status": "Enabled", "filter": every_object,
            "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
            # In a versioned bucket every expiry or delete leaves a delete marker; once its
            # noncurrent versions are gone it only slows down listings. S3 rejects this flag
            # next to `days` in one expiration, so it lives in this rule, not expire-objects.
            "expiration": {"expired_object_delete_marker": True},
        })
    return rules
