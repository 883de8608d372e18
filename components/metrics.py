"""Metrics: Airflow and cluster metrics in Amazon Managed Service for Prometheus, with alerts.

Owns, when `metrics: amp`:
- an AMP workspace encrypted with a customer managed key of its own;
- an AWS-managed collector (aws.amp.Scraper) with ENIs in subnets of its own (the Network's
  collector subnets, where no pod has an address, so NetworkPolicies can admit exactly it) and a
  security group of its own, scraping what airflow_eks/scrape.py lists; the cluster security
  group admits it on exactly those ports. Because the workspace uses a customer managed key,
  the collector writes through a source and a target role (airflow_eks/alerting.py);
- the alert rules (one rule group namespace, airflow_eks/alert_rules.py) and an alert manager
  definition that routes every alert to an SNS topic, encrypted with a key of its own, that
  only this workspace may publish to; `alertEmail` is subscribed when set.

Deliberately not here: the collector's EKS access entry and its Kubernetes permissions. On a
cluster in API authentication mode AMP creates the access entry for the collector's
service-linked role itself, with the access policy the AMP user guide lists ("Configure Amazon
EKS for scraper access with access entries"); the guide's aps-collector-role ClusterRole is for
aws-auth clusters only, and EKS refuses access entries for service-linked roles made by anyone
else ("not allowed to modify access entries with a principalArn value of a Service Linked Role").
The Airflow StatsD mapping is part of the release (airflow_eks/helm_values.py): the names
exist whether or not anything scrapes them.

Teardown: the collector's source names the cluster's ARN and its security group rules name the
cluster security group, so Pulumi deletes the collector (and its ENIs) before the cluster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from airflow_eks import alert_rules, alerting, scrape
from airflow_eks.config import MetricsSettings


@dataclass
class MetricsArgs:
    settings: MetricsSettings
    region: str
    project: str
    stack: str
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    """The EKS-managed cluster security group: nodes, pods and the API server's ENIs carry it."""
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """The collector's own subnets: two to five zones (it puts one ENI in each)."""
    system_min_nodes: int
    """The system pool's minimum, which the node alert compares against."""


class Metrics(pulumi.ComponentResource):
    """AMP workspace, managed collector, alert rules and the alerts' SNS topic."""

    workspace_id: pulumi.Output[str]
    workspace_arn: pulumi.Output[str]
    prometheus_endpoint: pulumi.Output[str]
    alert_topic_arn: pulumi.Output[str]
    scraper: aws.amp.Scraper

    def __init__(self, name: str, args: MetricsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:metrics:Metrics", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke)
        self._partition = partition.partition
        self._dns_suffix = partition.dns_suffix
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._region = args.region

        workspace_key = aws.kms.Key(
            f"{name}-workspace-key", description="Encryption of the Amazon Managed Prometheus workspace",
            enable_key_rotation=True, deletion_window_in_days=30, opts=self._child)
        workspace = aws.amp.Workspace(
            f"{name}-workspace", alias=f"{args.project}-{args.stack}", kms_key_arn=workspace_key.arn,
            # The collector tags its destination workspace; declared here so `pulumi up` does
            # not remove it again (pulumi-aws Scraper docs).
            tags={"AMPAgentlessScraper": ""},
            opts=self._child)
        self.workspace_id = workspace.id
        self.workspace_arn = workspace.arn
        self.prometheus_endpoint = workspace.prometheus_endpoint

        self.scraper = self._collector(args, workspace, workspace_key)
        aws.amp.RuleGroupNamespace(
            f"{name}-rules", name=alert_rules.GROUP, workspace_id=workspace.id,
            data=alert_rules.rules_yaml(system_min_nodes=args.system_min_nodes), opts=self._child)
        self.alert_topic_arn = self._alerts(args, workspace)

        self.register_outputs({
            "workspace_id": self.workspace_id,
            "workspace_arn": self.workspace_arn,
            "prometheus_endpoint": self.prometheus_endpoint,
            "alert_topic_arn": self.alert_topic_arn,
        })

    def _collector(self, args: MetricsArgs, workspace: aws.amp.Workspace, key: aws.kms.Key) -> aws.amp.Scraper:
        name, child = self._name, self._child
        group = aws.ec2.SecurityGroup(
            f"{name}-collector-sg", vpc_id=args.vpc_id,
            description="AMP managed collector ENIs: scrape Airflow, PgBouncer, the autoscaler and the API server",
            opts=child)
        # The collector only opens connections; only the cluster security group's members
        # (pods, nodes, the API server's ENIs) on the scraped ports are reachable from it.
        for port in (*scrape.TARGET_PORTS, 443):
            what = "the API server (kubelets through its proxy)" if port == 443 else f"metrics port {port}"
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-collector-to-{port}", security_group_id=group.id,
                referenced_security_group_id=args.cluster_security_group_id,
                ip_protocol="tcp", from_port=port, to_port=port,
                description=f"AMP collector to {what}", opts=child)
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-cluster-from-collector-{port}", security_group_id=args.cluster_security_group_id,
                referenced_security_group_id=group.id, ip_protocol="tcp", from_port=port, to_port=port,
                description=f"{what} from the AMP managed collector", opts=child)

        source, target, grants = self._collector_roles(workspace, key)
        return aws.amp.Scraper(
            f"{name}-collector", alias=f"{args.project}-{args.stack}",
            source=aws.amp.ScraperSourceArgs(eks=aws.amp.ScraperSourceEksArgs(
                cluster_arn=args.cluster_arn, subnet_ids=list(args.subnet_ids), security_group_ids=[group.id])),
            destination=aws.amp.ScraperDestinationArgs(
                amp=aws.amp.ScraperDestinationAmpArgs(workspace_arn=workspace.arn)),
            role_configuration=aws.amp.ScraperRoleConfigurationArgs(
                source_role_arn=source.arn, target_role_arn=target.arn),
            scrape_configuration=pulumi.Output.from_input(args.cluster_name).apply(
                lambda cluster: scrape.scrape_configuration(args.settings.scrape_interval, cluster_name=cluster)),
            # The roles must be usable when the collector first writes; nothing in the inputs
            # says their policies must exist.
            opts=child.merge(pulumi.ResourceOptions(depends_on=grants)))

    def _collector_roles(self, workspace: aws.amp.Workspace,
                         key: aws.kms.Key) -> tuple[aws.iam.Role, aws.iam.Role, list]:
        name, child, region = self._name, self._child, self._region
        ids = pulumi.Output.all(self._partition, self._account)
        source = aws.iam.Role(
            f"{name}-collector-source", description="AMP managed collector: assumes the workspace writer role",
            assume_role_policy=ids.apply(lambda v: json.dumps(alerting.scraper_source_trust(
                partition=v[0], region=region, account=v[1]))),
            opts=child)
        target = aws.iam.Role(
            f"{name}-collector-writer", description="AMP managed collector: remote write into the workspace",
            assume_role_policy=pulumi.Output.all(source.arn, self._partition, self._account).apply(
                lambda v: json.dumps(alerting.scraper_target_trust(
                    source_role_arn=v[0], partition=v[1], region=region, account=v[2]))),
            opts=child)
        grants = [
            aws.iam.RolePolicy(
                f"{name}-collector-source-assume", role=source.id,
                policy=target.arn.apply(lambda arn: json.dumps(alerting.scraper_source_policy(target_role_arn=arn))),
                opts=child),
            aws.iam.RolePolicy(
                f"{name}-collector-writer-write", role=target.id,
                policy=pulumi.Output.all(workspace.arn, key.arn, self._dns_suffix).apply(
                    lambda v: json.dumps(alerting.scraper_target_policy(
                        workspace_arn=v[0], key_arn=v[1], region=region, dns_suffix=v[2]))),
                opts=child),
        ]
        return source, target, grants

    def _alerts(self, args: MetricsArgs, workspace: aws.amp.Workspace) -> pulumi.Output[str]:
        name, child = self._name, self._child
        ids = pulumi.Output.all(self._account, self._partition, workspace.arn)
        key = aws.kms.Key(
            f"{name}-alerts-key", description="Encryption of the alerts SNS topic (AMP publishes to it)",
            enable_key_rotation=True, deletion_window_in_days=30,
            policy=ids.apply(lambda v: json.dumps(alerting.topic_key_policy(
                account=v[0], partition=v[1], workspace_arn=v[2]))),
            opts=child)
        topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id=key.arn, opts=child)
        policy = aws.sns.TopicPolicy(
            f"{name}-alerts-policy", arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, workspace.arn, self._account).apply(
                lambda v: json.dumps(alerting.topic_policy(topic_arn=v[0], workspace_arn=v[1], account=v[2]))),
            opts=child)
        if args.settings.alert_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email", topic=topic.arn, protocol="email",
                endpoint=args.settings.alert_email, opts=child)
        aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager", workspace_id=workspace.id,
            definition=topic.arn.apply(lambda arn: alerting.alertmanager_definition(topic_arn=arn,
                                                                                    region=args.region)),
            # AMP must be allowed to publish before it routes the first alert.
            opts=child.merge(pulumi.ResourceOptions(depends_on=[policy])))
        return topic.arn
