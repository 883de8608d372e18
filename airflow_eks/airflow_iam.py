"""Airflow's AWS permissions as pure functions: what task pods and Airflow's own pods may do.

Two documents, one per Pod Identity role: the task role (KubernetesExecutor worker pods) and
the components role (scheduler, API server, triggerer, DAG processor). Trust is the same for
both (`iam.pod_identity_trust()`). Every statement names its buckets or secret prefixes; the
callers resolve Outputs (bucket ARNs, account id) and pass plain strings.

Deliberately absent: KMS permissions. The buckets use the AWS managed key `aws/s3`, whose key
policy already lets every principal of the account use it through S3. Existing task buckets
encrypted with a customer managed key need a kms:Decrypt/GenerateDataKey grant added there.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_eks import iam, names

# Bucket-level and object-level actions, split because they apply to `arn` and `arn/*`.
BUCKET_LIST = ("s3:GetBucketLocation", "s3:ListBucket")
BUCKET_READ_WRITE = (*BUCKET_LIST, "s3:ListBucketMultipartUploads")
OBJECT_READ_WRITE = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                     "s3:ListMultipartUploadParts", "s3:PutObject")
# The amazon provider's S3 log handler appends: it checks for the existing log object
# (HeadObject, which answers 403 instead of 404 without s3:ListBucket, and the handler then
# drops the upload), reads it, and writes old + new with PutObject. The API server lists the
# keys under a task's prefix and reads them. No delete: logs leave only through the lifecycle.
LOG_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
SECRETS_READ = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
SECRETS_PREFIXES = (names.SECRETS_CONNECTIONS_PREFIX, names.SECRETS_VARIABLES_PREFIX)


def bucket_arn(bucket_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket_name}"


def objects(arns: Sequence[str]) -> list[str]:
    return [f"{arn}/*" for arn in arns]


def secret_arns(*, partition: str, region: str, account_id: str) -> list[str]:
    """ARN patterns of the secrets backend's connections and variables, nothing else.

    The trailing `*` covers the secret name below the prefix and the random six-character
    suffix Secrets Manager appends to every ARN.
    """
    return [f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{prefix}/*"
            for prefix in SECRETS_PREFIXES]


def _read_write(sid: str, arns: Sequence[str]) -> list[dict]:
    return [iam.allow(BUCKET_READ_WRITE, list(arns), sid=f"{sid}Buckets"),
            iam.allow(OBJECT_READ_WRITE, objects(arns), sid=f"{sid}Objects")]


def _logs(logs_bucket_arn: str) -> list[dict]:
    return [iam.allow(BUCKET_LIST, [logs_bucket_arn], sid="ListTaskLogs"),
            iam.allow(LOG_OBJECT_ACTIONS, objects([logs_bucket_arn]), sid="ReadWriteTaskLogs")]


def _secrets(arns: Sequence[str]) -> list[dict]:
    return [iam.allow(SECRETS_READ, list(arns), sid="ReadAirflowSecrets")] if arns else []


def task_policy(*, data_bucket_arn: str, logs_bucket_arn: str, task_bucket_arns: Sequence[str] = (),
                secret_arns: Sequence[str] = ()) -> dict:
    """Worker pods: read/write task data, upload their own logs, read backend secrets.

    Airflow 3 workers resolve connections themselves (task SDK `[workers] secrets_backend`,
    falling back to `[secrets] backend`), so they need the secrets grant as much as the
    scheduler does.
    """
    return iam.document(*_read_write("TaskData", [data_bucket_arn, *task_bucket_arns]),
                        *_logs(logs_bucket_arn), *_secrets(secret_arns))


def components_policy(*, logs_bucket_arn: str, secret_arns: Sequence[str] = ()) -> dict:
    """Scheduler, API server, triggerer, DAG processor: task logs (the API server reads them,
    the triggerer and DAG processor upload theirs) and backend secrets. No task data."""
    return iam.document(*_logs(logs_bucket_arn), *_secrets(secret_arns))
