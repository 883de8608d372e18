"""S3 buckets of the stack: Airflow's remote task logs and task data.

Both are private (public access blocked, owner-enforced ownership, TLS-only policy) and
encrypted; logs expire after logRetentionDays. Who may use them is decided by the Pod
Identity roles (components/airflow_identity.py), not by bucket policies.

A bucket can also be adopted (existingLogsBucketName, existingDataBucketName: one a teardown
kept). It is referenced, not imported: the bucket is never in the stack's state, so no destroy
can delete or empty it, and an import would have to match the kept bucket's every setting and
tag (the old stack's) or fail. Its settings are the stack's as for a bucket it creates, so the
guarantees hold whatever the bucket went through; they are kept on destroy like the bucket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from airflow_eks import airflow_iam, storage

# With versioning (keepDataOnDestroy), an overwrite or delete keeps the old version this long:
# enough to notice and restore a mistake without keeping every task-log append forever.
LOGS_NONCURRENT_DAYS = 7
DATA_NONCURRENT_DAYS = 30

_SSE_DEFAULT = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs


@dataclass
class BucketsArgs:
    protect_data: bool
    """Pulumi `protect` on each bucket and its settings: a destroy stops before them."""
    keep_data_on_destroy: bool
    """Versioned, never emptied, and left in place with their settings when deleted; without
    it buckets are emptied and deleted on destroy."""
    log_retention_days: int
    existing_logs_bucket: str = ""
    """'' to create the logs bucket, or the name of an existing one to adopt (in the stack's region)."""
    existing_data_bucket: str = ""
    """'' to create the data bucket, or the name of an existing one to adopt."""


class Buckets(pulumi.ComponentResource):
    logs_bucket_name: pulumi.Output[str]
    logs_bucket_arn: pulumi.Output[str]
    data_bucket_name: pulumi.Output[str]
    data_bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BucketsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:storage:Buckets", name, None, opts)
        self._args = args
        self.logs_bucket_name, self.logs_bucket_arn = self._bucket(
            f"{name}-logs", "logs", existing=args.existing_logs_bucket, expire_days=args.log_retention_days,
            noncurrent_days=LOGS_NONCURRENT_DAYS)
        self.data_bucket_name, self.data_bucket_arn = self._bucket(
            f"{name}-data", "data", existing=args.existing_data_bucket, expire_days=None,
            noncurrent_days=DATA_NONCURRENT_DAYS)
        self.register_outputs({
            "logs_bucket_name": self.logs_bucket_name, "logs_bucket_arn": self.logs_bucket_arn,
            "data_bucket_name": self.data_bucket_name, "data_bucket_arn": self.data_bucket_arn,
        })

    def _bucket(self, name: str, purpose: str, *, existing: str, expire_days: int | None,
                noncurrent_days: int) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """(name, ARN) of the bucket, created or adopted, with every setting the stack gives it."""
        # An adopted bucket is kept data by definition (it outlived a stack already): it is
        # versioned and its settings stay on destroy whatever keepDataOnDestroy says.
        keep = self._args.keep_data_on_destroy or bool(existing)
        # Every bucket setting is protected and kept with the bucket: otherwise a `pulumi
        # destroy` would first suspend versioning, drop the TLS-only policy, the public access
        # block and the lifecycle rules, and then stop at (or leave behind) a bucket without
        # them. A bucket left in place keeps expiring old logs, like the kept log groups.
        child = pulumi.ResourceOptions(parent=self, protect=self._args.protect_data, retain_on_delete=keep)
        if existing:
            partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
            bucket_id: pulumi.Output[str] = pulumi.Output.from_input(existing)
            bucket_name, bucket_arn = bucket_id, partition.apply(lambda p: airflow_iam.bucket_arn(existing, p))
        else:
            bucket = aws.s3.Bucket(
                name,
                # Names are global: the provider appends a unique suffix to this readable prefix.
                bucket_prefix=storage.bucket_prefix(pulumi.get_project(), pulumi.get_stack(), purpose),
                # Retained buckets are never deleted; never emptying them as well guards the data
                # if the retain option is ever lost.
                force_destroy=not keep,
                opts=child,
            )
            bucket_id, bucket_name, bucket_arn = bucket.id, bucket.bucket, bucket.arn
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket_id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket_id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                # SSE-KMS with the AWS managed key aws/s3: key use shows in CloudTrail, its key
                # policy already admits the account's principals through S3 (no kms:* grants),
                # and bucket keys cut the KMS requests (and their cost) by up to 99%.
                apply_server_side_encryption_by_default=_SSE_DEFAULT(sse_algorithm="aws:kms"),
                bucket_key_enabled=True,
            )],
            opts=child,
        )
        # S3 rejects concurrent configuration writes to one bucket with OperationAborted
        # (hashicorp/terraform-provider-aws#7628); putting the policy last avoids the race.
        aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=bucket_id,
            policy=bucket_arn.apply(lambda arn: json.dumps(storage.tls_only_policy(arn))),
            opts=child.merge(pulumi.ResourceOptions(depends_on=[block, ownership])),
        )
        lifecycle_deps: list[pulumi.Resource] = []
        if keep:
            lifecycle_deps.append(aws.s3.BucketVersioning(
                f"{name}-versioning", bucket=bucket_id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=child,
            ))
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket_id,
            rules=storage.lifecycle_rules(expire_days=expire_days,
                                          noncurrent_days=noncurrent_days if keep else None),
            # Noncurrent-version rules need versioning in place first (pulumi-aws docs example).
            opts=child.merge(pulumi.ResourceOptions(depends_on=lifecycle_deps)),
        )
        return bucket_name, bucket_arn
