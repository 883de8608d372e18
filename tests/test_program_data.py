"""Data and identity in the whole program, for both stack files: the database sits in the
private subnets behind the cluster security group and is built in parallel with EKS, the
buckets and Pod Identity roles are wired to the real cluster, prod data is protected and dev
destroys cleanly."""

from __future__ import annotations

import json

import pytest

from airflow_eks import iam, names
from airflow_eks.offline import harness, mocks

INSTANCE = "aws:rds/instance:Instance"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
BUCKET = "aws:s3/bucket:Bucket"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
DATA_EXPORTS = ("dbEndpoint", "dbPort", "dbName", "logsBucketName", "dataBucketName",
                "airflowTaskRoleArn", "airflowComponentsRoleArn")


def db_security_group(run: harness.Run):
    [sg] = [r for r in run.find("aws:ec2/securityGroup:SecurityGroup")
            if r.parent == run.one("airflow-eks:database:Database").urn]
    return sg


def cluster_sg_id(run: harness.Run) -> str:
    return f"sg-{run.one('eks:index:Cluster').name}-eks-managed"  # the mock's EKS-managed cluster SG


def airflow_policies(run: harness.Run) -> dict[str, dict]:
    identity = run.one("airflow-eks:identity:AirflowIdentity")
    roles = {r.urn for r in run.find("airflow-eks:identity:PodIdentityRole") if r.parent == identity.urn}
    return {p.name: json.loads(p.get("policy")) for p in run.find("aws:iam/rolePolicy:RolePolicy")
            if p.parent in roles}


@pytest.fixture(scope="module")
def variant() -> harness.Run:
    """dev with the secrets backend on and two existing task buckets."""
    return harness.run_program("dev", overrides={
        "secretsBackend": "aws-secrets-manager", "taskS3BucketNames": ["raw-events", "curated-data"]})


def test_database_lives_in_the_private_subnets(program):
    private = sorted(r.name for r in program.find("aws:ec2/subnet:Subnet") if "private" in r.name)
    group = program.one("aws:rds/subnetGroup:SubnetGroup")
    assert private and sorted(group.get("subnetIds")) == sorted(f"subnet-{n}" for n in private)
    db = program.one(INSTANCE)
    assert db.get("publiclyAccessible") is False and db.get("storageEncrypted") is True
    assert db_security_group(program).get("vpcId") == program.outputs["vpcId"][0]


def test_only_database_ingress_is_postgres_from_the_cluster_security_group(program):
    sg = db_security_group(program)
    sg_id = program.one(INSTANCE).get("vpcSecurityGroupIds")[0]
    assert sg.get("ingress") in (None, [])
    rules = [r for r in program.find(RULE) if r.get("securityGroupId") == sg_id]
    assert [(r.get("ipProtocol"), r.get("fromPort"), r.get("toPort"), r.get("referencedSecurityGroupId"))
            for r in rules] == [("tcp", 5432, 5432, cluster_sg_id(program))]
    assert program.depends_on(rules[0], program.one("eks:index:Cluster"))


def test_no_rule_anywhere_opens_the_database_to_the_internet(program):
    sg_id = program.one(INSTANCE).get("vpcSecurityGroupIds")[0]
    for rule in program.find(RULE) + program.find("aws:ec2/securityGroupRule:SecurityGroupRule"):
        if rule.get("securityGroupId") == sg_id:
            assert not mocks.contains_text(rule.inputs, "0.0.0.0/0")
            assert not mocks.contains_text(rule.inputs, "::/0")
            assert rule.get("cidrIpv4") is None and rule.get("cidrBlocks") is None


def test_database_is_created_in_parallel_with_eks(program):
    db = program.one(INSTANCE)
    assert not program.depends_on(db, program.one("eks:index:Cluster"))
    for node_group in program.find("eks:index:ManagedNodeGroup"):
        assert not program.depends_on(db, node_group)


def test_master_password_is_secret_and_never_exported(program):
    db = program.one(INSTANCE)
    assert "password" in mocks.secret_paths(db.inputs)
    password = db.plain_inputs["password"]
    for name, (value, is_secret) in program.outputs.items():
        assert is_secret or password not in json.dumps(value), name


def test_data_exports_are_present_and_plain(program):
    for name in DATA_EXPORTS:
        value, is_secret = program.outputs[name]
        assert value not in (None, "") and not is_secret, name
    assert program.outputs["dbPort"][0] == 5432
    assert program.outputs["dbName"][0] == "airflow"
    assert program.outputs["dbEndpoint"][0].endswith(".rds.amazonaws.com")
    buckets = {b.get("bucketPrefix") for b in program.find(BUCKET)}
    for name in ("logsBucketName", "dataBucketName"):
        assert any(program.outputs[name][0].startswith(p) for p in buckets)


def test_pod_identity_associations_target_the_real_cluster(program):
    cluster_name = program.outputs["clusterName"][0]
    associations = [a for a in program.find(ASSOCIATION) if a.get("namespace") == names.AIRFLOW_NAMESPACE]
    assert sorted(a.get("serviceAccount") for a in associations) == sorted(
        [names.SERVICE_ACCOUNTS.worker, *names.SERVICE_ACCOUNTS.components])
    for association in associations:
        assert association.get("clusterName") == cluster_name
        expected = "airflowTaskRoleArn" if association.get("serviceAccount") == names.SERVICE_ACCOUNTS.worker \
            else "airflowComponentsRoleArn"
        assert association.get("roleArn") == program.outputs[expected][0]


def test_airflow_roles_trust_only_pod_identity(program):
    for arn_export in ("airflowTaskRoleArn", "airflowComponentsRoleArn"):
        role_name = program.outputs[arn_export][0].rsplit("/", 1)[1]
        [role] = [r for r in program.find("aws:iam/role:Role") if role_name.startswith(r.name)]
        [statement] = json.loads(role.get("assumeRolePolicy"))["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]


def _allowed_resources(run: harness.Run, *, task_buckets=(), secrets=False) -> set[str]:
    arns = [f"arn:aws:s3:::{run.outputs[n][0]}" for n in ("logsBucketName", "dataBucketName")]
    arns += [f"arn:aws:s3:::{b}" for b in task_buckets]
    allowed = {*arns, *(f"{a}/*" for a in arns)}
    if secrets:
        allowed |= {f"arn:aws:secretsmanager:us-east-1:{mocks.ACCOUNT}:secret:{p}/*"
                    for p in (names.SECRETS_CONNECTIONS_PREFIX, names.SECRETS_VARIABLES_PREFIX)}
    return allowed


def _check_scoped(policies: dict[str, dict], allowed: set[str]) -> None:
    assert set(policies) == {"airflow-task-policy", "airflow-components-policy"}
    for name, doc in policies.items():
        assert iam.wildcard_actions(doc) == [], name
        assert list(iam.actions_on_any_resource(doc)) == [], name
        for statement in iam.statements(doc):
            assert set(iam._as_list(statement["Resource"])) <= allowed, (name, statement)


def test_every_airflow_iam_statement_is_scoped_to_these_buckets(program):
    policies = airflow_policies(program)
    _check_scoped(policies, _allowed_resources(program))
    data_arn = f"arn:aws:s3:::{program.outputs['dataBucketName'][0]}"
    components = json.dumps(policies["airflow-components-policy"])
    assert data_arn not in components and "secretsmanager" not in components


def test_secrets_backend_and_task_buckets_extend_the_grants(variant):
    policies = airflow_policies(variant)
    _check_scoped(policies, _allowed_resources(variant, task_buckets=("raw-events", "curated-data"), secrets=True))
    task = json.dumps(policies["airflow-task-policy"])
    assert "arn:aws:s3:::raw-events/*" in task and "arn:aws:s3:::curated-data" in task
    for doc in policies.values():
        assert "secretsmanager:GetSecretValue" in json.dumps(doc)


def test_prod_data_is_protected_from_destroy(programs):
    run = programs["prod"]
    db = run.one(INSTANCE)
    assert db.options["protect"] is True
    assert db.get("deletionProtection") is True
    assert db.get("skipFinalSnapshot") is False and db.get("finalSnapshotIdentifier")
    assert db.get("multiAz") is True
    for bucket in run.find(BUCKET):
        assert bucket.options["protect"] is True and bucket.get("forceDestroy") is False
    versioned = {v.get("bucket") for v in run.find("aws:s3/bucketVersioning:BucketVersioning")
                 if v.get("versioningConfiguration") == {"status": "Enabled"}}
    assert versioned == {run.outputs["logsBucketName"][0], run.outputs["dataBucketName"][0]}


def test_dev_destroys_cleanly(programs):
    run = programs["dev"]
    db = run.one(INSTANCE)
    assert db.options["protect"] is False
    assert db.get("deletionProtection") is False and db.get("skipFinalSnapshot") is True
    for bucket in run.find(BUCKET):
        assert bucket.options["protect"] is False and bucket.get("forceDestroy") is True
    assert run.find("aws:s3/bucketVersioning:BucketVersioning") == []


def test_logs_expire_per_stack(programs):
    for stack, days in (("dev", 7), ("prod", 90)):
        run = programs[stack]
        logs = run.outputs["logsBucketName"][0]
        [lifecycle] = [r for r in run.find("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
                       if r.get("bucket") == logs]
        assert {"days": days} in [r.get("expiration") for r in lifecycle.get("rules")]
