"""Database component under mocks: private, encrypted, TLS-only RDS for PostgreSQL that only
the EKS cluster security group reaches, created in parallel with the cluster; protected in
prod, disposable in dev."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pytest

from airflow_eks import config, rds
from airflow_eks.offline import harness, mocks
from components.database import Database, DatabaseArgs

INSTANCE = "aws:rds/instance:Instance"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
CLUSTER_SG = "sg-eks-eks-managed"  # the mock's eks_cluster.vpc_config.cluster_security_group_id


def build():
    s = config.load()
    cluster = eks.Cluster("eks", skip_default_node_group=True, authentication_mode=eks.AuthenticationMode.API)
    db = Database("airflow", DatabaseArgs(
        settings=s.database, protect_data=s.data.protect_data,
        keep_data_on_destroy=s.data.keep_data_on_destroy, vpc_id="vpc-main",
        subnet_ids=["subnet-private-a", "subnet-private-b"],
        client_security_group_id=cluster.eks_cluster.vpc_config.cluster_security_group_id,
        project=s.project, stack=s.stack, log_retention_days=s.data.log_retention_days,
    ))
    # A stand-in for the Airflow release: it consumes the address.
    aws.ssm.Parameter("consumer", type="String", value=db.address)
    for attr in ("address", "port", "password", "instance_identifier", "security_group_id"):
        pulumi.export(attr, getattr(db, attr))
    return db


def run_stack(stack: str, **overrides) -> harness.Run:
    return harness.run(build, stack=stack, overrides=overrides or None)


@pytest.fixture(scope="module")
def runs() -> dict[str, harness.Run]:
    return {stack: run_stack(stack) for stack in ("dev", "prod")}


@pytest.fixture(params=["dev", "prod"])
def run(request, runs) -> harness.Run:
    return runs[request.param]


def test_engine_storage_and_encryption(run):
    db = run.one(INSTANCE)
    assert db.get("engine") == "postgres" and db.get("engineVersion") == "16"
    assert db.get("storageType") == "gp3"
    assert db.get("storageEncrypted") is True
    assert db.get("publiclyAccessible") is False
    assert (db.get("dbName"), db.get("username")) == ("airflow", "airflow")
    assert db.get("port") == 5432
    assert db.get("autoMinorVersionUpgrade") is True and db.get("copyTagsToSnapshot") is True
    assert db.get("performanceInsightsEnabled") is True and db.get("performanceInsightsRetentionPeriod") == 7
    assert sorted(db.get("enabledCloudwatchLogsExports")) == ["postgresql", "upgrade"]


def test_sizes_follow_the_stack_files(runs):
    dev, prod = runs["dev"].one(INSTANCE), runs["prod"].one(INSTANCE)
    assert (dev.get("instanceClass"), dev.get("allocatedStorage"), dev.get("maxAllocatedStorage")) == (
        "db.t4g.micro", 20, 100)
    assert (prod.get("instanceClass"), prod.get("allocatedStorage"), prod.get("maxAllocatedStorage")) == (
        "db.t4g.small", 50, 500)
    assert (dev.get("multiAz"), prod.get("multiAz")) == (False, True)
    assert (dev.get("backupRetentionPeriod"), prod.get("backupRetentionPeriod")) == (1, 14)


def test_the_master_password_is_secret_and_uri_safe(run):
    db = run.one(INSTANCE)
    assert mocks.secret_paths(db.inputs) == ["password"]
    password = db.plain_inputs["password"]
    assert len(password) == 32 and password.isalnum()
    generator = run.one("random:index/randomPassword:RandomPassword")
    assert generator.get("special") is False and generator.get("length") == 32
    assert run.depends_on(db, generator)
    value, is_secret = run.outputs["password"]
    assert value == password and is_secret


def test_parameter_group_forces_tls_and_matches_the_major(run):
    group = run.one("aws:rds/parameterGroup:ParameterGroup")
    assert group.get("family") == "postgres16"
    assert {p["name"]: p["value"] for p in group.get("parameters")} == {"rds.force_ssl": "1"}
    assert group.urn in run.one(INSTANCE).property_dependencies["parameterGroupName"]


def test_static_parameters_apply_at_the_next_reboot(run):
    # rds.force_ssl is static on RDS for PostgreSQL: the provider's default apply method
    # (immediate) fails with InvalidParameterCombination.
    group = run.one("aws:rds/parameterGroup:ParameterGroup")
    assert {p["name"]: p.get("applyMethod") for p in group.get("parameters")} == {"rds.force_ssl": "pending-reboot"}


def test_another_major_gets_its_own_parameter_family():
    run = run_stack("dev", dbEngineVersion="17.2")
    assert run.one(INSTANCE).get("engineVersion") == "17.2"
    assert run.one("aws:rds/parameterGroup:ParameterGroup").get("family") == "postgres17"


def test_subnet_group_holds_the_private_subnets(run):
    group = run.one("aws:rds/subnetGroup:SubnetGroup")
    assert group.get("subnetIds") == ["subnet-private-a", "subnet-private-b"]
    assert group.urn in run.one(INSTANCE).property_dependencies["dbSubnetGroupName"]


def test_own_security_group_is_the_only_one_on_the_instance(run):
    sg = run.one(SG)
    assert sg.get("vpcId") == "vpc-main"
    assert not sg.get("ingress") and not sg.get("egress")
    assert run.one(INSTANCE).get("vpcSecurityGroupIds") == ["sg-airflow-db-sg"]


def test_only_ingress_is_postgres_from_the_cluster_security_group(run):
    rules = run.find(RULE)
    assert len(rules) == 1
    rule = rules[0]
    assert rule.get("securityGroupId") == "sg-airflow-db-sg"
    assert rule.get("referencedSecurityGroupId") == CLUSTER_SG
    assert (rule.get("ipProtocol"), rule.get("fromPort"), rule.get("toPort")) == ("tcp", 5432, 5432)
    assert rule.get("cidrIpv4") is None and rule.get("cidrIpv6") is None and rule.get("prefixListId") is None


def test_nothing_opens_the_database_to_the_internet(run):
    assert not any(mocks.contains_text(r.inputs, "0.0.0.0/0") or mocks.contains_text(r.inputs, "::/0")
                   for r in run.find(RULE) + run.find(SG))


def test_database_is_created_in_parallel_with_the_cluster(run):
    cluster, db, rule = run.one("eks:index:Cluster"), run.one(INSTANCE), run.one(RULE)
    assert not run.depends_on(db, cluster)
    assert run.depends_on(rule, cluster)
    assert run.depends_on(db, run.one(SG))


def test_consumers_of_the_address_wait_for_the_ingress_rule(run):
    consumer = run.one("aws:ssm/parameter:Parameter", name="consumer")
    assert run.depends_on(consumer, run.one(RULE))
    assert run.depends_on(consumer, run.one(INSTANCE))
    assert consumer.get("value") == "airflow-db.abcdefghijkl.us-east-1.rds.amazonaws.com"


def test_outputs(run):
    db: Database = run.value
    assert (db.db_name, db.username) == ("airflow", "airflow")
    assert run.outputs["address"] == ("airflow-db.abcdefghijkl.us-east-1.rds.amazonaws.com", False)
    assert run.outputs["port"] == (5432, False)
    assert run.outputs["security_group_id"] == ("sg-airflow-db-sg", False)
    assert run.outputs["instance_identifier"][0]


def test_prod_is_protected(runs):
    run = runs["prod"]
    db = run.one(INSTANCE)
    assert db.options["protect"] is True
    assert db.get("deletionProtection") is True
    assert db.get("skipFinalSnapshot") is False
    assert db.get("finalSnapshotIdentifier") == f"{db.get('identifier')}-final"
    assert db.get("deleteAutomatedBackups") is False
    assert db.get("applyImmediately") is False


def test_dev_is_disposable(runs):
    run = runs["dev"]
    db = run.one(INSTANCE)
    assert db.options["protect"] is False
    assert db.get("deletionProtection") is False
    assert db.get("skipFinalSnapshot") is True
    assert db.get("finalSnapshotIdentifier") is None
    assert db.get("deleteAutomatedBackups") is True
    assert db.get("applyImmediately") is True
    assert not any(r.options["protect"] for r in run.resources)


def test_children_are_parented_to_the_component(run):
    component = run.one("airflow-eks:database:Database")
    children = [r for r in run.resources if r.name.startswith("airflow-")]
    assert children and all(r.parent == component.urn for r in children)


# --- pure settings -------------------------------------------------------------------

def test_parameter_group_family():
    assert rds.parameter_group_family(13) == "postgres13"
    assert rds.parameter_group_family(17) == "postgres17"


@pytest.mark.parametrize(("allocated", "maximum", "ceiling"), [
    (20, 100, 100), (20, 22, 22), (20, 21, 0), (20, 20, 0), (50, 55, 55), (50, 54, 0), (65536, 65536, 0),
])
def test_storage_autoscaling_needs_ten_percent_headroom_or_is_off(allocated, maximum, ceiling):
    assert rds.storage_autoscaling_ceiling(allocated, maximum) == ceiling
