"""Alert delivery and the collector's identity, as pure documents.

- The alert manager definition routes every alert to one SNS topic (AMP's SNS receiver, signed
  with SigV4 in the workspace's region).
- The topic is encrypted with a key of its own. AMP publishes as the service principal
  aps.amazonaws.com, so the topic policy and the key policy admit that principal for exactly
  this workspace (aws:SourceArn, aws:SourceAccount), and the topic policy denies publishing to
  anything else, humans included (AMP user guide, "Permission to send alert messages to your
  Amazon SNS topic").
- A workspace encrypted with a customer managed key takes metrics from an AWS-managed collector
  only through a role configuration: the collector assumes a source role, which assumes a
  target role allowed to write to the workspace and to use its key through AMP (AMP user
  guide, "Creating scraper for workspaces enabled with customer managed keys"; the older note
  on the "Encryption at rest" page that such workspaces take no managed collector predates it).
  The collector's ARN does not exist before the roles, so the trust conditions name this
  account's collectors in this region.
"""

from __future__ import annotations

import yaml

from airflow_eks import iam

AMP_SERVICE = "aps.amazonaws.com"
SCRAPER_SERVICE = "scraper.aps.amazonaws.com"
# Alert manager grouping: one notification per alert name, re-sent while it fires.
GROUP_WAIT, GROUP_INTERVAL, REPEAT_INTERVAL = "30s", "5m", "4h"


def alertmanager_definition(*, topic_arn: str, region: str) -> str:
    """The workspace's alert manager definition (AMP's `alertmanager_config` wrapper)."""
    config = {
        "route": {"receiver": "sns", "group_by": ["alertname"], "group_wait": GROUP_WAIT,
                  "group_interval": GROUP_INTERVAL, "repeat_interval": REPEAT_INTERVAL},
        "receivers": [{"name": "sns", "sns_configs": [{
            "topic_arn": topic_arn,
            "sigv4": {"region": region},
            # Shown as the e-mail subject; SNS caps subjects at 100 characters.
            "subject": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
        }]}],
    }
    body = yaml.safe_dump(config, sort_keys=False, width=1000)
    # AMP's wrapper: the Alertmanager configuration as one block string.
    return "alertmanager_config: |\n" + "".join(f"  {line}\n" for line in body.splitlines())


def _from_workspace(workspace_arn: str, account: str) -> dict:
    return {"ArnEquals": {"aws:SourceArn": workspace_arn}, "StringEquals": {"aws:SourceAccount": account}}


def topic_policy(*, topic_arn: str, workspace_arn: str, account: str) -> dict:
    """Only this workspace may publish to the alert topic."""
    return iam.document(
        {"Sid": "AmpWorkspacePublishes", "Effect": "Allow", "Principal": {"Service": AMP_SERVICE},
         "Action": ["sns:GetTopicAttributes", "sns:Publish"], "Resource": topic_arn,
         "Condition": _from_workspace(workspace_arn, account)},
        # Requests without this workspace as their source (any IAM principal of the account
        # included) cannot publish: the topic carries nothing but this workspace's alerts.
        {"Sid": "NothingElsePublishes", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
         "Resource": topic_arn, "Condition": {"ArnNotEquals": {"aws:SourceArn": workspace_arn}}},
    )


# What AWS's default key policy delegates to the account's IAM with `kms:*`, spelled out:
# administering the key (what `pulumi up`/`destroy` do) and using it.
KEY_ACCOUNT_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant",
    "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)


def topic_key_policy(*, account: str, partition: str, workspace_arn: str) -> dict:
    """Key policy of the alert topic's key: the account administers and uses the key through
    IAM (as with AWS's default policy), and AMP may encrypt messages for this workspace only."""
    return iam.document(
        {"Sid": "AccountAdministersThroughIam", "Effect": "Allow",
         "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": list(KEY_ACCOUNT_ACTIONS),
         "Resource": "*"},
        # SNS calls exactly these two for a publisher; AWS's examples for service publishers
        # name them (`kms:GenerateDataKey*` would add the key-pair and no-plaintext variants).
        {"Sid": "AmpWorkspaceEncrypts", "Effect": "Allow", "Principal": {"Service": AMP_SERVICE},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
         "Condition": _from_workspace(workspace_arn, account)},
    )


def scraper_arns(*, partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:aps:{region}:{account}:scraper/*"


def scraper_source_trust(*, partition: str, region: str, account: str) -> dict:
    """The collector (this account's, in this region) may assume the source role."""
    return iam.document({
        "Effect": "Allow", "Principal": {"Service": SCRAPER_SERVICE}, "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:SourceArn": scraper_arns(partition=partition, region=region, account=account)},
                      "StringEquals": {"aws:SourceAccount": account}},
    })


def scraper_source_policy(*, target_role_arn: str) -> dict:
    return iam.document(iam.allow(["sts:AssumeRole"], [target_role_arn]))


def scraper_target_trust(*, source_role_arn: str, partition: str, region: str, account: str) -> dict:
    """Only the source role may assume the target role, and only on a collector's behalf (the
    collector passes its ARN as the external id)."""
    return iam.document({
        "Effect": "Allow", "Principal": {"AWS": source_role_arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringLike": {"sts:ExternalId": scraper_arns(partition=partition, region=region,
                                                                      account=account)}},
    })


def scraper_target_policy(*, workspace_arn: str, key_arn: str, region: str, dns_suffix: str) -> dict:
    """Remote write into this workspace, nothing else (AmazonPrometheusRemoteWriteAccess allows
    every workspace), and the use of its key that writing into a CMK workspace takes.

    AMP encrypts what a principal writes with the workspace's key on that principal's behalf:
    the key policy AWS documents for AMP admits the account's principals to DescribeKey,
    GenerateDataKey and Decrypt only through AMP (kms:ViaService), and AWS's own example of a
    second service reading the workspace makes its role a key user (AMP user guide,
    "Encryption at rest"). The key's default policy delegates to IAM, so the writer gets
    exactly those three actions, on this key, through AMP in this region.
    """
    return iam.document(
        iam.allow(["aps:RemoteWrite"], [workspace_arn]),
        iam.allow(["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], [key_arn],
                  condition={"StringEquals": {"kms:ViaService": f"aps.{region}.{dns_suffix}"}}),
    )
