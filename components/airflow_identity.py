"""Airflow's two Pod Identity roles: one for task pods, one for Airflow's own components.

Split so a DAG's code (running in a task pod) never holds more than tasks need, and the
long-running components never touch task data. The policy documents are pure functions in
airflow_eks/airflow_iam.py; this component only resolves ARNs and wires them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from airflow_eks import airflow_iam, names
from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs


@dataclass
class AirflowIdentityArgs:
    cluster_name: pulumi.Input[str]
    region: str
    logs_bucket_arn: pulumi.Input[str]
    data_bucket_arn: pulumi.Input[str]
    task_bucket_names: Sequence[str]
    """Existing buckets task pods may read and write (taskS3BucketNames)."""
    secrets_backend: str
    """`none` or `aws-secrets-manager` (read access to the backend's prefixes)."""


class AirflowIdentity(pulumi.ComponentResource):
    task_role_arn: pulumi.Output[str]
    components_role_arn: pulumi.Output[str]
    associations: list[aws.eks.PodIdentityAssociation]
    """Every association of both roles: the Airflow release must wait for them."""

    def __init__(self, name: str, args: AirflowIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:identity:AirflowIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        on_provider = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=on_provider).partition

        if args.secrets_backend == "aws-secrets-manager":
            account_id = aws.get_caller_identity_output(opts=on_provider).account_id
            secrets = pulumi.Output.all(partition, account_id).apply(
                lambda v: airflow_iam.secret_arns(partition=v[0], region=args.region, account_id=v[1]))
        else:
            secrets = pulumi.Output.from_input([])

        task_policy = pulumi.Output.all(partition, args.data_bucket_arn, args.logs_bucket_arn, secrets).apply(
            lambda v: json.dumps(airflow_iam.task_policy(
                data_bucket_arn=v[1], logs_bucket_arn=v[2],
                task_bucket_arns=[airflow_iam.bucket_arn(b, v[0]) for b in args.task_bucket_names],
                secret_arns=v[3])))
        components_policy = pulumi.Output.all(args.logs_bucket_arn, secrets).apply(
            lambda v: json.dumps(airflow_iam.components_policy(logs_bucket_arn=v[0], secret_arns=v[1])))

        task = PodIdentityRole(f"{name}-task", PodIdentityRoleArgs(
            cluster_name=args.cluster_name, namespace=names.AIRFLOW_NAMESPACE,
            service_accounts=[names.SERVICE_ACCOUNTS.worker], policy=task_policy,
        ), opts=child)
        components = PodIdentityRole(f"{name}-components", PodIdentityRoleArgs(
            cluster_name=args.cluster_name, namespace=names.AIRFLOW_NAMESPACE,
            service_accounts=list(names.SERVICE_ACCOUNTS.components), policy=components_policy,
        ), opts=child)

        self.task_role_arn = task.role_arn
        self.components_role_arn = components.role_arn
        self.associations = [*task.associations, *components.associations]
        self.register_outputs({"task_role_arn": self.task_role_arn,
                               "components_role_arn": self.components_role_arn})
