"""The one AWS lookup of the image family: the account the stack deploys to, whose ECR registry
the stack owns with imageRegistry. Called while the configuration is validated (config.load),
after every offline check, so the registry's host is a plain string everywhere after."""

from __future__ import annotations

import pulumi_aws as aws


def account_id() -> str:
    """The account of the credentials the program runs with (through the default provider,
    which reads the same environment as the stack's explicit one)."""
    return aws.get_caller_identity().account_id
