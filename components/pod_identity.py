"""A Pod Identity role: an IAM role trusted by EKS Pod Identity, its inline policy, and one
association per Kubernetes service account that may use it.

Which service accounts get the role is decided here, by the associations; the trust policy
(`iam.pod_identity_trust()`) is the same for every such role. No OIDC provider and no
service account annotation are involved (that was IRSA).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from airflow_eks import iam


@dataclass
class PodIdentityRoleArgs:
    cluster_name: pulumi.Input[str]
    namespace: str
    service_accounts: Sequence[str]
    policy: pulumi.Input[str]
    """The role's permissions, a JSON policy document (least privilege: scoped resources)."""

    def __post_init__(self) -> None:
        if not self.service_accounts:
            raise ValueError("PodIdentityRoleArgs.service_accounts: at least one service account")
        if len(set(self.service_accounts)) != len(self.service_accounts):
            raise ValueError(f"PodIdentityRoleArgs.service_accounts: duplicates in {list(self.service_accounts)}")


class PodIdentityRole(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    associations: list[aws.eks.PodIdentityAssociation]
    """Pods started before their association exists get no credentials: wait for these."""

    def __init__(self, name: str, args: PodIdentityRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:identity:PodIdentityRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(iam.pod_identity_trust()),
            description=f"EKS Pod Identity: {args.namespace}/{', '.join(args.service_accounts)}",
            opts=child,
        )
        permissions = aws.iam.RolePolicy(f"{name}-policy", role=role.name, policy=args.policy, opts=child)
        # The associations also wait for the policy: whoever waits for the associations then
        # starts pods whose credentials already carry their permissions.
        with_policy = child.merge(pulumi.ResourceOptions(depends_on=[permissions]))
        self.associations = [
            aws.eks.PodIdentityAssociation(
                f"{name}-{service_account}",
                cluster_name=args.cluster_name,
                namespace=args.namespace,
                service_account=service_account,
                role_arn=role.arn,
                opts=with_policy,
            )
            for service_account in args.service_accounts
        ]
        self.role_arn = role.arn
        self.role_name = role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
