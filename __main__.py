"""airflow-eks: Apache Airflow 3 on EKS. Reads like the architecture; logic lives in components/."""

import pulumi
import pulumi_aws as aws

from airflow_eks import config, ui_ingress
from components.airflow import AirflowRelease, AirflowReleaseArgs
from components.airflow_identity import AirflowIdentity, AirflowIdentityArgs
from components.buckets import Buckets, BucketsArgs
from components.cluster import Cluster, ClusterArgs
from components.database import Database, DatabaseArgs
from components.fernet_key_copy import FernetKeyCopy, FernetKeyCopyArgs
from components.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.metrics import Metrics, MetricsArgs
from components.network import Network, NetworkArgs
from components.registry import ImageRegistry, ImageRegistryArgs
from components.ui_ingress import UiIngress, UiIngressArgs

settings = config.load()  # validates everything before the first resource is registered

# Explicit rather than the default provider: every AWS resource gets the stack's tags, and
# a stray AWS_REGION in someone's shell cannot move a stack to another region.
aws_provider = aws.Provider(
    "aws",
    region=settings.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
)
on_aws = pulumi.ResourceOptions(providers={"aws": aws_provider})

# The UI's load balancer and the metrics collector get small subnets of their own, where no pod
# has an address, so the NetworkPolicies admit exactly them (airflow_eks/subnets.py).
network = Network("airflow", NetworkArgs(
    cidr=settings.network.vpc_cidr,
    availability_zones=settings.network.availability_zones,
    nat_gateways=settings.network.nat_gateways,
    load_balancer_scheme=settings.ui.scheme if settings.ui.enabled else "",
    collector=settings.metrics.enabled,
), on_aws)

# The stack's own registry (imageRegistry). Its cache rules and their creation templates exist
# before any node can pull through them; its repository policy names the node role, which the
# cluster creates next.
image_registry = None
if settings.image_registry.enabled:
    node_role_arn, resolve_node_role_arn = pulumi.deferred_output()
    image_registry = ImageRegistry("airflow", ImageRegistryArgs(
        settings=settings.image_registry,
        upstreams=settings.mirrored_registries,
        node_role_arn=node_role_arn,
        project=settings.project,
        stack=settings.stack,
        tags=settings.tags,
    ), on_aws)

cluster = Cluster("airflow", ClusterArgs(
    settings=settings.cluster,
    region=settings.region,
    vpc_id=network.vpc_id,
    private_subnet_ids=network.private_subnet_ids,
    public_subnet_ids=network.public_subnet_ids,
    nodes_depend_on=[*network.private_egress, *(image_registry.pull_through if image_registry else [])],
    project=settings.project,
    stack=settings.stack,
    log_retention_days=settings.data.log_retention_days,
    keep_data_on_destroy=settings.data.keep_data_on_destroy,
    tags=settings.tags,
    image_mirror=settings.image_mirror,
    mirrored_registries=settings.mirrored_registries,
), on_aws)

if image_registry is not None:
    resolve_node_role_arn(cluster.node_role_arn)

# Built alongside the cluster, not after it: only the database's ingress rule waits for the
# cluster security group.
database = Database("airflow", DatabaseArgs(
    settings=settings.database,
    protect_data=settings.data.protect_data,
    keep_data_on_destroy=settings.data.keep_data_on_destroy,
    vpc_id=network.vpc_id,
    subnet_ids=network.private_subnet_ids,
    client_security_group_id=cluster.cluster_security_group_id,
    project=settings.project,
    stack=settings.stack,
    log_retention_days=settings.data.log_retention_days,
    restore_snapshot=settings.restore.db_snapshot,
), on_aws)

buckets = Buckets("airflow", BucketsArgs(
    protect_data=settings.data.protect_data,
    keep_data_on_destroy=settings.data.keep_data_on_destroy,
    log_retention_days=settings.data.log_retention_days,
    existing_logs_bucket=settings.restore.logs_bucket,
    existing_data_bucket=settings.restore.data_bucket,
), on_aws)

# Pods get AWS credentials only if their association exists when they start: the release
# waits for identity.associations.
identity = AirflowIdentity("airflow", AirflowIdentityArgs(
    cluster_name=cluster.cluster_name,
    region=settings.region,
    logs_bucket_arn=buckets.logs_bucket_arn,
    data_bucket_arn=buckets.data_bucket_arn,
    task_bucket_names=settings.data.task_bucket_names,
    secrets_backend=settings.airflow.secrets_backend,
), on_aws)

# The namespace waits for the CSI driver, the StorageClass, the volume teardown guard and the
# associations, so on destroy it (with its PVCs) goes first and the guard gives the EBS
# volumes time to be deleted while the driver still runs; the release waits for the nodes and
# add-ons its pods need.
airflow = AirflowRelease("airflow", AirflowReleaseArgs(
    settings=settings.airflow,
    region=settings.region,
    storage_class_name=cluster.storage_class_name,
    db_host=database.address,
    db_port=database.port,
    db_name=database.db_name,
    db_username=database.username,
    db_password=database.password,
    logs_bucket_name=buckets.logs_bucket_name,
    namespace_depends_on=[cluster.ebs_csi_driver, cluster.storage_class, cluster.volume_teardown_guard,
                          *identity.associations],
    release_depends_on=[cluster.system_node_group, cluster.spot_node_group, cluster.pod_identity_agent,
                        cluster.coredns, cluster.ebs_csi_driver, *identity.associations],
    image_mirror=settings.image_mirror,
    ui=settings.ui,
    # The UI's ALB and the metrics collector connect from their own subnets.
    load_balancer_cidrs=settings.load_balancer_cidrs,
    metrics_scraper_cidrs=settings.metrics_scraper_cidrs,
    fernet_key=settings.restore.fernet_key,
), pulumi.ResourceOptions(providers={"kubernetes": cluster.k8s_provider}))

# The key that decrypts the database's connections is part of the data: a teardown that keeps
# the database keeps a copy of it (docs/operations/restore.md).
key_copy = FernetKeyCopy("airflow", FernetKeyCopyArgs(
    fernet_key=airflow.fernet_key,
    project=settings.project,
    stack=settings.stack,
    protect_data=settings.data.protect_data,
), on_aws) if settings.data.keep_data_on_destroy else None

on_aws_and_cluster = pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": cluster.k8s_provider})
ui = None
if settings.ui.enabled:
    # Teardown order is the reverse: the Ingress (and with it the ALB, its target groups and
    # security groups, deleted by the controller) before the controller, the controller before
    # the nodes, its association and the Pod Identity agent; nothing is left in the VPC.
    controller = LoadBalancerController("airflow-lbc", LoadBalancerControllerArgs(
        cluster_name=cluster.cluster_name,
        cluster_arn=cluster.cluster_arn,
        region=settings.region,
        vpc_id=network.vpc_id,
        ingress_class=ui_ingress.INGRESS_CLASS,
        class_params=ui_ingress.class_params(settings.ui, group=ui_ingress.group_name(settings.project,
                                                                                      settings.stack)),
        tags=settings.tags,
        wait_for=[cluster.system_node_group, cluster.pod_identity_agent, cluster.coredns],
        waf_acl_arn=settings.ui.waf_acl_arn,
        image_mirror=settings.image_mirror,
    ), on_aws_and_cluster)
    ui = UiIngress("airflow-ui", UiIngressArgs(
        ui=settings.ui,
        region=settings.region,
        namespace=airflow.namespace,
        depends_on=[controller.release, airflow.release],
    ), on_aws_and_cluster)

# Prometheus metrics, alert rules and alert delivery (metrics: amp); the collector names the
# cluster, so it is deleted before it.
metrics = Metrics("airflow", MetricsArgs(
    settings=settings.metrics,
    region=settings.region,
    project=settings.project,
    stack=settings.stack,
    cluster_name=cluster.cluster_name,
    cluster_arn=cluster.cluster_arn,
    cluster_security_group_id=cluster.cluster_security_group_id,
    vpc_id=network.vpc_id,
    subnet_ids=network.collector_subnet_ids,
    system_min_nodes=settings.cluster.system_nodes.min_size,
), on_aws) if settings.metrics.enabled else None

pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("clusterEndpoint", cluster.cluster_endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)  # secret
pulumi.export("kubeconfigCommand", cluster.kubeconfig_command)
pulumi.export("systemNodeGroupName", cluster.system_node_group_name)
pulumi.export("spotNodeGroupName", cluster.spot_node_group_name)
pulumi.export("ebsCsiRoleArn", cluster.ebs_csi_role_arn)
pulumi.export("dbEndpoint", database.address)
pulumi.export("dbPort", database.port)
pulumi.export("dbName", database.db_name)
pulumi.export("logsBucketName", buckets.logs_bucket_name)
pulumi.export("dataBucketName", buckets.data_bucket_name)
pulumi.export("airflowTaskRoleArn", identity.task_role_arn)
pulumi.export("airflowComponentsRoleArn", identity.components_role_arn)
pulumi.export("airflowNamespace", airflow.namespace)
pulumi.export("airflowUiCommand", airflow.ui_command)
pulumi.export("airflowUrl", ui_ingress.airflow_url(settings.ui))
if ui is not None:
    pulumi.export("uiLoadBalancerHostname", ui.load_balancer_hostname)
if airflow.admin_password is not None:  # with SSO there is no password login
    pulumi.export("airflowAdminUser", airflow.admin_user)
    pulumi.export("airflowAdminPassword", airflow.admin_password)  # secret
pulumi.export("airflowImage", airflow.image)
if image_registry is not None:
    pulumi.export("airflowImageRepositoryUrl", image_registry.repository_url)
if key_copy is not None:
    pulumi.export("fernetKeySecretName", key_copy.secret_name)  # the copy's name, not the key
if metrics is not None:
    pulumi.export("metricsWorkspaceId", metrics.workspace_id)
    pulumi.export("metricsPrometheusEndpoint", metrics.prometheus_endpoint)
    pulumi.export("alertTopicArn", metrics.alert_topic_arn)
