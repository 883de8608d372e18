"""Pod Identity roles: the reusable PodIdentityRole, Airflow's two roles (AirflowIdentity) and
the pure policy documents behind them (least privilege, scoped to these buckets and prefixes)."""

from __future__ import annotations

import json

import pulumi
import pytest

from airflow_eks import airflow_iam, config, iam, names
from airflow_eks.offline import harness
from components.airflow_identity import AirflowIdentity, AirflowIdentityArgs
from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
LOGS_ARN = "arn:aws:s3:::airflow-logs-bucket"
DATA_ARN = "arn:aws:s3:::airflow-data-bucket"
ACCOUNT = "123456789012"
SECRET_ARNS = [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:airflow/connections/*",
               f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:airflow/variables/*"]


def assert_pod_identity_trust(role) -> None:
    [statement] = json.loads(role.get("assumeRolePolicy"))["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert "Condition" not in statement


# --- PodIdentityRole -----------------------------------------------------------------

POLICY_DOC = json.dumps(iam.document(iam.allow(["s3:GetObject"], [f"{DATA_ARN}/*"])))


def build_role():
    role = PodIdentityRole("reader", PodIdentityRoleArgs(
        cluster_name="my-cluster", namespace="team", service_accounts=["sa-one", "sa-two"], policy=POLICY_DOC))
    pulumi.export("role_arn", role.role_arn)
    pulumi.export("role_name", role.role_name)
    return role


@pytest.fixture(scope="module")
def role_run() -> harness.Run:
    return harness.run(build_role)


def test_role_trusts_only_the_pod_identity_service(role_run):
    assert_pod_identity_trust(role_run.one(ROLE))


def test_role_carries_exactly_the_given_policy(role_run):
    policy = role_run.one(POLICY)
    assert policy.get("policy") == POLICY_DOC
    assert policy.get("role") == role_run.outputs["role_name"][0]


def test_one_association_per_service_account(role_run):
    associations = role_run.find(ASSOCIATION)
    assert sorted(a.get("serviceAccount") for a in associations) == ["sa-one", "sa-two"]
    for association in associations:
        assert association.get("namespace") == "team"
        assert association.get("clusterName") == "my-cluster"
        assert association.get("roleArn") == role_run.outputs["role_arn"][0]
        assert role_run.depends_on(association, role_run.one(POLICY))
    assert len(role_run.value.associations) == 2


def test_role_children_are_parented(role_run):
    component = role_run.one("airflow-eks:identity:PodIdentityRole")
    assert all(r.parent == component.urn for r in role_run.resources if r.typ.startswith("aws:"))


@pytest.mark.parametrize("accounts", [[], ["a", "a"]])
def test_role_args_need_distinct_service_accounts(accounts):
    with pytest.raises(ValueError, match="service_accounts"):
        PodIdentityRoleArgs(cluster_name="c", namespace="n", service_accounts=accounts, policy="{}")


# --- AirflowIdentity -----------------------------------------------------------------

def build_identity():
    s = config.load()
    identity = AirflowIdentity("airflow", AirflowIdentityArgs(
        cluster_name="airflow-eks-cluster", region=s.region, logs_bucket_arn=LOGS_ARN, data_bucket_arn=DATA_ARN,
        task_bucket_names=s.data.task_bucket_names, secrets_backend=s.airflow.secrets_backend))
    pulumi.export("task_role_arn", identity.task_role_arn)
    pulumi.export("components_role_arn", identity.components_role_arn)
    return identity


@pytest.fixture(scope="module")
def identity_runs() -> dict[str, harness.Run]:
    return {
        "plain": harness.run(build_identity),
        "full": harness.run(build_identity, overrides={
            "secretsBackend": "aws-secrets-manager", "taskS3BucketNames": ["raw-events", "curated.data"]}),
    }


def policy_of(run: harness.Run, role: str) -> dict:
    return json.loads(run.one(POLICY, name=f"airflow-{role}-policy").get("policy"))


def resources_of(doc: dict) -> set[str]:
    return {r for s in iam.statements(doc) for r in iam._as_list(s["Resource"])}


def test_task_pods_and_components_get_separate_roles(identity_runs):
    run = identity_runs["plain"]
    roles = run.find(ROLE)
    assert sorted(r.name for r in roles) == ["airflow-components-role", "airflow-task-role"]
    for role in roles:
        assert_pod_identity_trust(role)
    task, components = run.outputs["task_role_arn"], run.outputs["components_role_arn"]
    assert task[0] != components[0] and not task[1] and not components[1]


def test_associations_bind_the_shared_service_account_names(identity_runs):
    run = identity_runs["plain"]
    by_role = {}
    for association in run.find(ASSOCIATION):
        assert association.get("namespace") == names.AIRFLOW_NAMESPACE
        assert association.get("clusterName") == "airflow-eks-cluster"
        by_role.setdefault(association.get("roleArn"), set()).add(association.get("serviceAccount"))
    assert by_role == {run.outputs["task_role_arn"][0]: {names.SERVICE_ACCOUNTS.worker},
                       run.outputs["components_role_arn"][0]: set(names.SERVICE_ACCOUNTS.components)}
    assert len(run.value.associations) == 5
    assert {a._name for a in run.value.associations} == {a.name for a in run.find(ASSOCIATION)}


def test_without_secrets_backend_no_secret_is_readable(identity_runs):
    run = identity_runs["plain"]
    for role in ("task", "components"):
        assert not any(a.startswith("secretsmanager:")
                       for s in iam.statements(policy_of(run, role)) for a in s["Action"])


def test_secrets_backend_grants_read_on_the_two_prefixes_only(identity_runs):
    run = identity_runs["full"]
    for role in ("task", "components"):
        [statement] = [s for s in iam.statements(policy_of(run, role)) if s["Sid"] == "ReadAirflowSecrets"]
        assert sorted(statement["Action"]) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
        assert statement["Resource"] == SECRET_ARNS


def test_task_role_reaches_data_logs_and_the_configured_buckets(identity_runs):
    doc = policy_of(identity_runs["full"], "task")
    extra = ["arn:aws:s3:::raw-events", "arn:aws:s3:::curated.data"]
    assert resources_of(doc) == {DATA_ARN, f"{DATA_ARN}/*", LOGS_ARN, f"{LOGS_ARN}/*", *extra,
                                 *(f"{a}/*" for a in extra), *SECRET_ARNS}
    assert resources_of(policy_of(identity_runs["plain"], "task")) == {DATA_ARN, f"{DATA_ARN}/*",
                                                                        LOGS_ARN, f"{LOGS_ARN}/*"}


def test_components_role_never_touches_task_data(identity_runs):
    doc = policy_of(identity_runs["full"], "components")
    assert resources_of(doc) == {LOGS_ARN, f"{LOGS_ARN}/*", *SECRET_ARNS}


@pytest.mark.parametrize("variant", ["plain", "full"])
def test_every_statement_is_least_privilege(identity_runs, variant):
    for role in ("task", "components"):
        doc = policy_of(identity_runs[variant], role)
        assert iam.wildcard_actions(doc) == []
        assert list(iam.actions_on_any_resource(doc)) == []
        assert all(s["Effect"] == "Allow" for s in iam.statements(doc))


# --- pure policy documents -------------------------------------------------------------

def allowed(doc: dict, resource: str) -> set[str]:
    return {a for s in iam.statements(doc) if resource in iam._as_list(s["Resource"]) for a in s["Action"]}


def test_log_access_is_what_the_s3_task_handler_needs_and_no_delete():
    for doc in (airflow_iam.task_policy(data_bucket_arn=DATA_ARN, logs_bucket_arn=LOGS_ARN),
                airflow_iam.components_policy(logs_bucket_arn=LOGS_ARN)):
        assert "s3:ListBucket" in allowed(doc, LOGS_ARN)
        assert allowed(doc, f"{LOGS_ARN}/*") == {"s3:GetObject", "s3:PutObject"}


def test_task_data_is_read_write_with_multipart_but_scoped():
    doc = airflow_iam.task_policy(data_bucket_arn=DATA_ARN, logs_bucket_arn=LOGS_ARN,
                                  task_bucket_arns=["arn:aws:s3:::other"])
    for arn in (DATA_ARN, "arn:aws:s3:::other"):
        assert {"s3:ListBucket", "s3:ListBucketMultipartUploads"} <= allowed(doc, arn)
        assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"} <= allowed(
            doc, f"{arn}/*")
    assert not any(a.startswith("s3:PutBucket") or a.startswith("s3:DeleteBucket")
                   for s in iam.statements(doc) for a in s["Action"])


def test_secret_arns_use_the_shared_prefixes():
    arns = airflow_iam.secret_arns(partition="aws-us-gov", region="us-gov-west-1", account_id="111122223333")
    assert arns == [f"arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:{p}/*"
                    for p in (names.SECRETS_CONNECTIONS_PREFIX, names.SECRETS_VARIABLES_PREFIX)]
    assert names.SECRETS_CONNECTIONS_PREFIX == "airflow/connections"
    assert names.SECRETS_VARIABLES_PREFIX == "airflow/variables"


def test_bucket_arn_and_object_patterns():
    assert airflow_iam.bucket_arn("b") == "arn:aws:s3:::b"
    assert airflow_iam.bucket_arn("b", "aws-cn") == "arn:aws-cn:s3:::b"
    assert airflow_iam.objects(["arn:aws:s3:::b"]) == ["arn:aws:s3:::b/*"]


def test_statement_ids_are_unique_and_valid():
    doc = airflow_iam.task_policy(data_bucket_arn=DATA_ARN, logs_bucket_arn=LOGS_ARN, secret_arns=SECRET_ARNS)
    sids = [s["Sid"] for s in iam.statements(doc)]
    assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids)
