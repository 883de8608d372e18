"""Pure S3 helpers: bucket name prefixes and the TLS-only bucket policy."""

from __future__ import annotations

import re

from airflow_eks import iam

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
