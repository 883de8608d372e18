"""The CloudWatch log group an AWS service writes to, created by the program before the service.

EKS (control-plane logs) and RDS (log exports) create their log groups on first write, with no
retention and outside the stack, so `pulumi destroy` leaves them behind, kept forever. Both
reuse a log group that already exists under the name they expect; creating it first makes it
managed: it expires, and it goes with the stack unless the stack keeps its data on destroy.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from airflow_eks import cloudwatch


def service_log_group(resource_name: str, log_group_name: pulumi.Input[str], *, retention_days: int,
                      keep_on_destroy: bool, opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogGroup:
    """A log group under the exact name the service derives; the service must depend on it.

    keep_on_destroy (keepDataOnDestroy): audit and database logs outlive a `pulumi destroy`; they
    still expire after their retention.
    """
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=log_group_name,
        retention_in_days=cloudwatch.retention_days(retention_days),
        opts=opts.merge(pulumi.ResourceOptions(retain_on_delete=keep_on_destroy)),
    )
