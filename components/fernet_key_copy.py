"""FernetKeyCopy: the Fernet key Airflow runs with, copied to Secrets Manager and kept on destroy.

The key that encrypted the connections and variables in the metadata database is as much part
of the data as the database: without it a restored database's connections cannot be decrypted.
In the cluster it lives only in the `airflow-fernet` Kubernetes Secret, which a teardown
deletes with everything else, and in the stack's state. With keepDataOnDestroy this copy is
left in place with the final snapshot and the buckets (docs/operations/restore.md reads it
back). Nothing in the cluster reads it: its name is outside the secrets backend's prefixes,
and no role is granted it.

Owns the secret and its value; not the key itself (components/airflow_secrets.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from airflow_eks.restore import fernet


@dataclass
class FernetKeyCopyArgs:
    fernet_key: pulumi.Input[str]
    """Secret: the key (or comma-separated keys) Airflow runs with."""
    project: str
    stack: str
    protect_data: bool
    """Pulumi `protect`, like the database and the buckets."""


class FernetKeyCopy(pulumi.ComponentResource):
    secret_name: pulumi.Output[str]
    """Physical name of the secret (not secret itself): `<project>-<stack>-fernet-key-<suffix>`."""

    def __init__(self, name: str, args: FernetKeyCopyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:airflow:FernetKeyCopy", name, None, opts)
        # Created only with keepDataOnDestroy, so always retained: a destroy leaves it behind.
        child = pulumi.ResourceOptions(parent=self, protect=args.protect_data, retain_on_delete=True)
        secret = aws.secretsmanager.Secret(
            f"{name}-fernet-key",
            # A readable prefix the runbook lists by; the provider appends a unique suffix, so a
            # recreated stack never meets the copy an earlier one left behind.
            name_prefix=fernet.copy_name_prefix(args.project, args.stack),
            description=f"Airflow fernet_key of {args.project}/{args.stack}: decrypts the connections and variables "
                        "of its metadata database and snapshots (docs/operations/restore.md)",
            opts=child,
        )
        # The value is retained but not protected: a new key (fernetKey set, or a rotation
        # "<new>,<old>") replaces the version (secret_string is ForceNew in the provider:
        # terraform-provider-aws aws_secretsmanager_secret_version), and Pulumi refuses to replace a
        # protected resource, so `pulumi up` would stop in prod. The replacement puts the new value
        # as AWSCURRENT first; the old version is left alone (its delete is skipped) as AWSPREVIOUS.
        # What a destroy must not take is the secret itself: protected and retained.
        aws.secretsmanager.SecretVersion(
            f"{name}-fernet-key-value", secret_id=secret.id,
            secret_string=pulumi.Output.secret(args.fernet_key),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.secret_name = secret.name
        self.register_outputs({"secret_name": self.secret_name})
