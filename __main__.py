"""airflow-eks: Apache Airflow 3 on EKS. Reads like the architecture; logic lives in components/."""

import pulumi
import pulumi_aws as aws

from airflow_eks import config

settings = config.load()  # validates everything before the first resource is registered

# One explicit, tagged AWS provider for every AWS resource (project, stack, managed-by).
aws_provider = aws.Provider(
    "aws",
    region=settings.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
)
on_aws = pulumi.ResourceOptions(providers={"aws": aws_provider})
