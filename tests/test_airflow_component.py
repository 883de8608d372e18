"""AirflowRelease alone under mocks: the Secrets it creates are the ones the values name,
credentials never leave a secret, ordering protects install and destroy, and the generated
keys have the shape Airflow requires."""

from __future__ import annotations

import base64
import functools
import re
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from airflow_eks import config, helm_values, names
from airflow_eks import secret_data as data
from airflow_eks.metrics import task_statsd
from airflow_eks.offline import harness, mocks
from components.airflow import AirflowRelease, AirflowReleaseArgs

DB_PASSWORD = "Db-pa55:w/rd@x"
DB_HOST = "airflow-db.abc.us-east-1.rds.amazonaws.com"
TOKEN = "ghp_componentTestToken0123456789"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----"
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
HTTPS = ({"gitSyncRepo": "https://github.com/org/private-dags.git", "gitSyncUsername": "x-access-token",
          "taskCpuRequest": "300m", "taskMemoryRequest": "768Mi", "taskCpuLimit": "2", "taskMemoryLimit": "3Gi"},
         {"gitSyncToken": TOKEN})
SSH = ({"gitSyncRepo": "git@github.com:org/dags.git", "gitSyncKnownHosts": KNOWN_HOSTS}, {"gitSyncSshKey": SSH_KEY})
# The same setups after a credential rotation: a new token, a new username, a new deploy key.
ROTATED_SSH_KEY = SSH_KEY.replace("b3Blbg==", "bmV3a2V5")
VARIANTS = {
    "https": HTTPS, "ssh": SSH, "public": ({}, {}),
    "https-new-token": (HTTPS[0], {"gitSyncToken": TOKEN + "-rotated"}),
    "https-new-username": ({**HTTPS[0], "gitSyncUsername": "ci-bot"}, HTTPS[1]),
    "ssh-new-key": (SSH[0], {"gitSyncSshKey": ROTATED_SSH_KEY}),
}

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
RANDOM_ID = "random:index/randomId:RandomId"


def build(db_host: str = DB_HOST):
    settings = config.load()
    provider = k8s.Provider("k8s", kubeconfig="{}")
    on_k8s = pulumi.ResourceOptions(provider=provider)
    csi = aws.eks.Addon("ebs-csi", cluster_name="c", addon_name="aws-ebs-csi-driver")
    storage_class = k8s.storage.v1.StorageClass(
        "gp3", metadata=k8s.meta.v1.ObjectMetaArgs(name="gp3"), provisioner="ebs.csi.aws.com", opts=on_k8s)
    association = aws.eks.PodIdentityAssociation(
        "worker", cluster_name="c", namespace=names.AIRFLOW_NAMESPACE,
        service_account=names.SERVICE_ACCOUNTS.worker, role_arn="arn:aws:iam::123456789012:role/tasks")
    node_group = aws.eks.NodeGroup(
        "spot", cluster_name="c", node_role_arn="arn:aws:iam::123456789012:role/nodes", subnet_ids=["subnet-a"],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, desired_size=0, max_size=2))
    airflow = AirflowRelease("airflow", AirflowReleaseArgs(
        settings=settings.airflow,
        region=settings.region,
        storage_class_name=storage_class.metadata.name,
        db_host=pulumi.Output.from_input(db_host),
        db_port=pulumi.Output.from_input(5432),
        db_name="airflow",
        db_username="airflow",
        db_password=pulumi.Output.secret(DB_PASSWORD),
        logs_bucket_name=pulumi.Output.from_input("airflow-logs-123"),
        namespace_depends_on=[csi, storage_class, association],
        release_depends_on=[node_group, csi, association],
    ), pulumi.ResourceOptions(providers={"kubernetes": provider}))
    pulumi.export("airflowNamespace", airflow.namespace)
    pulumi.export("airflowUiCommand", airflow.ui_command)
    pulumi.export("airflowAdminUser", airflow.admin_user)
    pulumi.export("airflowAdminPassword", airflow.admin_password)
    return airflow


@functools.cache
def run(variant: str = "https", db_host: str = DB_HOST) -> harness.Run:
    overrides, secrets = VARIANTS[variant]
    return harness.run(lambda: build(db_host), stack="dev", overrides=overrides, secrets=secrets)


def secrets_by_name(r: harness.Run) -> dict[str, mocks.Registered]:
    return {s.get("metadata.name"): s for s in r.find(SECRET)}


def string_data(secret: mocks.Registered) -> dict[str, str]:
    return secret.plain_inputs["stringData"]


def values(r: harness.Run) -> dict:
    return r.one(RELEASE).plain_inputs["values"]


def generated(r: harness.Run) -> dict[str, str]:
    by_name = secrets_by_name(r)
    return {
        "fernet": string_data(by_name[data.SECRET_NAMES.fernet])[data.FERNET_KEY],
        "api": string_data(by_name[data.SECRET_NAMES.api_secret_key])[data.API_SECRET_KEY],
        "jwt": string_data(by_name[data.SECRET_NAMES.jwt])[data.JWT_KEY],
        "admin": string_data(by_name[data.SECRET_NAMES.admin])[data.ADMIN_PASSWORD_KEY],
    }


def test_every_secret_the_values_name_exists_in_the_namespace_with_the_keys_the_chart_reads():
    r = run()
    v, by_name = values(r), secrets_by_name(r)
    wait_env = v["createUserJob"]["extraInitContainers"][0]["env"][0]["valueFrom"]["secretKeyRef"]
    admin_env = v["createUserJob"]["env"][0]["valueFrom"]["secretKeyRef"]
    referenced = {
        v["data"]["metadataSecretName"]: {data.CONNECTION_KEY},
        v["pgbouncer"]["configSecretName"]: {"pgbouncer.ini", "users.txt"},
        v["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"]: {data.CONNECTION_KEY},
        v["fernetKeySecretName"]: {data.FERNET_KEY},
        v["apiSecretKeySecretName"]: {data.API_SECRET_KEY},
        v["jwtSecretName"]: {data.JWT_KEY},
        v["dags"]["gitSync"]["credentialsSecret"]: set(data.GIT_CREDENTIAL_KEYS),
        admin_env["name"]: {admin_env["key"]},
    }
    assert wait_env["name"] == v["data"]["metadataSecretName"] and wait_env["key"] == data.CONNECTION_KEY
    assert set(by_name) == set(referenced)  # nothing unreferenced, nothing missing
    for name, keys in referenced.items():
        assert by_name[name].get("metadata.namespace") == names.AIRFLOW_NAMESPACE, name
        assert set(string_data(by_name[name])) == keys, name
        assert all(string_data(by_name[name]).values()), name


def test_git_credentials_hold_username_and_token_under_all_four_keys():
    creds = string_data(secrets_by_name(run())[data.SECRET_NAMES.git_credentials])
    assert creds == {"GIT_SYNC_USERNAME": "x-access-token", "GITSYNC_USERNAME": "x-access-token",
                     "GIT_SYNC_PASSWORD": TOKEN, "GITSYNC_PASSWORD": TOKEN}


def test_ssh_auth_stores_the_key_and_public_repos_need_no_git_secret():
    by_name = secrets_by_name(run("ssh"))
    assert string_data(by_name[data.SECRET_NAMES.git_ssh_key]) == {data.GIT_SSH_KEY: SSH_KEY}
    assert values(run("ssh"))["dags"]["gitSync"]["sshKeySecret"] == data.SECRET_NAMES.git_ssh_key
    assert data.SECRET_NAMES.git_credentials not in by_name
    public = secrets_by_name(run("public"))
    assert not {data.SECRET_NAMES.git_credentials, data.SECRET_NAMES.git_ssh_key} & set(public)


def test_db_secrets_point_airflow_at_pgbouncer_and_pgbouncer_at_rds_over_tls():
    by_name = secrets_by_name(run())
    conn = string_data(by_name[data.SECRET_NAMES.metadata])[data.CONNECTION_KEY]
    assert conn == data.metadata_connection(user="airflow", password=DB_PASSWORD)
    bouncer = string_data(by_name[data.SECRET_NAMES.pgbouncer_config])
    assert "host=airflow-db.abc.us-east-1.rds.amazonaws.com dbname=airflow port=5432" in bouncer["pgbouncer.ini"]
    assert "server_tls_sslmode = require" in bouncer["pgbouncer.ini"]
    assert bouncer["users.txt"] == f'"airflow" "{DB_PASSWORD}"\n'


def test_pgbouncer_pods_roll_when_the_ini_in_their_secret_changes():
    def checksum(r: harness.Run) -> str:
        return values(r)["pgbouncer"]["podAnnotations"][helm_values.PGBOUNCER_INI_CHECKSUM_ANNOTATION]

    def stored_ini(r: harness.Run) -> str:
        return string_data(secrets_by_name(r)[data.SECRET_NAMES.pgbouncer_config])["pgbouncer.ini"]

    same, moved = run("public"), run("public", db_host="airflow-db-2.abc.us-east-1.rds.amazonaws.com")
    # Exactly the ini PgBouncer reads, so any change to it (endpoint, port, pool) rolls the pods.
    assert checksum(same) == data.pgbouncer_ini_sha256(stored_ini(same))
    assert checksum(moved) == data.pgbouncer_ini_sha256(stored_ini(moved)) != checksum(same)
    assert not mocks.secret_paths(run("public").one(RELEASE).inputs)  # the values stay readable


def test_service_accounts_and_node_pools_in_the_values_are_the_shared_names():
    v = values(run())
    sa = names.SERVICE_ACCOUNTS
    assert v["workers"]["serviceAccount"]["name"] == sa.worker
    assert [v[b]["serviceAccount"]["name"] for b in ("scheduler", "apiServer", "triggerer", "dagProcessor")] == [
        sa.scheduler, sa.api_server, sa.triggerer, sa.dag_processor]
    assert v["workers"]["nodeSelector"] == names.TASK_NODE_LABELS
    assert v["workers"]["tolerations"] == [{"key": names.TASK_NODE_TAINT.key, "operator": "Equal",
                                            "value": names.TASK_NODE_TAINT.value, "effect": "NoSchedule"}]
    assert v["triggerer"]["persistence"]["storageClassName"] == "gp3"
    assert v["config"]["logging"]["remote_base_log_folder"] == "s3://airflow-logs-123/logs"


def test_install_and_destroy_ordering():
    r = run()
    release, namespace = r.one(RELEASE), r.one("kubernetes:core/v1:Namespace")
    csi, association = r.one("aws:eks/addon:Addon"), r.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    storage_class, node_group = r.one("kubernetes:storage.k8s.io/v1:StorageClass"), r.one("aws:eks/nodeGroup:NodeGroup")
    # Destroy removes the namespace (PVCs, EBS volumes) while the CSI driver still runs.
    for dependency in (csi, storage_class, association):
        assert r.depends_on(namespace, dependency), dependency.name
    assert not r.depends_on(namespace, node_group)
    for dependency in (node_group, csi, association, storage_class, namespace,
                       r.one("kubernetes:core/v1:LimitRange"), *r.find(SECRET)):
        assert r.depends_on(release, dependency), dependency.name
    for namespaced in (r.one("kubernetes:core/v1:LimitRange"), *r.find(SECRET)):
        assert r.depends_on(namespaced, namespace), namespaced.name


def test_children_are_parented_and_use_the_callers_kubernetes_provider():
    r = run()
    component = r.one("airflow-eks:airflow:AirflowRelease")
    provider = r.one("pulumi:providers:kubernetes")
    assert r.one(RELEASE).parent == component.urn
    assert r.one("airflow-eks:airflow:AirflowSecrets").parent == component.urn
    k8s_children = [x for x in r.resources if x.typ.startswith("kubernetes:") and x.name != "gp3"]
    # namespace, LimitRange, release, Secrets (https), the scheduler's Role and RoleBinding,
    # NetworkPolicies (default deny, API server, PgBouncer, StatsD, task StatsD, triggerer logs;
    # no scraper given here), the task pods' StatsD exporter (ConfigMap, Deployment, Service)
    assert len(k8s_children) == 1 + 1 + 1 + 8 + 2 + 6 + 3
    assert all(x.provider.startswith(provider.urn) for x in k8s_children)


def test_the_task_statsd_exporter_runs_on_the_system_nodes_once_they_exist():
    r = run()
    deployment = r.one("kubernetes:apps/v1:Deployment")
    service = r.one("kubernetes:core/v1:Service")
    config = r.one("kubernetes:core/v1:ConfigMap")
    for obj in (deployment, service, config):
        assert (obj.get("metadata.name"), obj.get("metadata.namespace")) == (task_statsd.NAME, names.AIRFLOW_NAMESPACE)
    node_group = r.one("aws:eks/nodeGroup:NodeGroup")
    assert r.depends_on(deployment, node_group) and r.depends_on(deployment, config)
    # the task pods send to it by the Service's name
    assert r.one(RELEASE).plain_inputs["values"]["workers"]["env"] == [
        {"name": "AIRFLOW__METRICS__STATSD_HOST", "value": service.get("metadata.name")}]


def test_release_installs_the_pinned_chart_and_waits_long_enough():
    release = run().one(RELEASE)
    i = release.plain_inputs
    assert (i["chart"], i["version"], i["repositoryOpts"]["repo"]) == ("airflow", "1.19.0", "https://airflow.apache.org")
    assert (i["name"], i["namespace"]) == (names.AIRFLOW_RELEASE, names.AIRFLOW_NAMESPACE)
    assert i["timeout"] >= 900
    assert i.get("skipAwait", False) is False
    # Helm would look for the Jobs after their TTL may have deleted them (bitnami/charts#29847).
    assert i.get("waitForJobs", False) is False
    # ...which they do within seconds, so an upgrade recreates them instead of patching them.
    assert values(run())["migrateDatabaseJob"]["ttlSecondsAfterFinished"] == helm_values.JOB_TTL_SECONDS
    assert i["atomic"] is True and i["cleanupOnFail"] is True
    # Fixed physical name: the Pod Identity associations name this namespace.
    assert run().one("kubernetes:core/v1:Namespace").get("metadata.name") == names.AIRFLOW_NAMESPACE


def test_limit_range_gives_every_container_the_task_defaults():
    limit_range = run().one("kubernetes:core/v1:LimitRange")
    assert limit_range.get("metadata.namespace") == names.AIRFLOW_NAMESPACE
    (item,) = limit_range.get("spec.limits")
    assert item == {"type": "Container", "default": {"cpu": "2", "memory": "3Gi"},
                    "defaultRequest": {"cpu": "300m", "memory": "768Mi"}}


@pytest.mark.parametrize("variant", ["https", "ssh"])
def test_no_credential_appears_outside_a_secret(variant):
    r = run(variant)
    values_ = {**generated(r), "db": DB_PASSWORD, "db-url-encoded": quote(DB_PASSWORD, safe=""),
               "git": TOKEN if variant == "https" else SSH_KEY}
    for what, value in values_.items():
        # Present somewhere (else this test proves nothing), but only inside secret markers.
        assert any(mocks.contains_text(x.inputs, value, outside_secrets=False) for x in r.resources), what
        leaks = [x.name for x in r.resources if mocks.contains_text(x.inputs, value)]
        assert leaks == [], what
        # Not even secret-wrapped in the Helm values: the release manifest stores them in plain text.
        assert not mocks.contains_text(r.one(RELEASE).inputs, value, outside_secrets=False), what
        for export, (exported, is_secret) in r.outputs.items():
            assert is_secret or value not in str(exported), (what, export)


def test_outputs_for_the_stack():
    r = run()
    assert r.outputs["airflowNamespace"] == ("airflow", False)
    assert r.outputs["airflowUiCommand"] == ("kubectl port-forward svc/airflow-api-server 8080:8080 -n airflow", False)
    assert r.outputs["airflowAdminUser"] == ("admin", False)
    assert r.outputs["airflowAdminPassword"] == (generated(r)["admin"], True)


def test_fernet_key_is_urlsafe_base64_of_32_bytes():
    key = generated(run())["fernet"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=", key)
    assert len(base64.urlsafe_b64decode(key)) == 32


def test_api_and_jwt_secrets_are_long_random_keys():
    keys = generated(run())
    assert len(bytes.fromhex(keys["jwt"])) >= 64  # HS512 wants a 64-byte key
    assert len(bytes.fromhex(keys["api"])) >= 32
    assert len(keys["admin"]) >= 20


def test_nothing_regenerates_on_the_next_up():
    randoms = [x for x in run().resources if x.typ.startswith("random:")]
    # The one random with keepers is the git credentials' generation ID, which exists to change.
    generations = [x for x in randoms if "keepers" in x.inputs]
    assert [(x.typ, x.name) for x in generations] == [(RANDOM_ID, "airflow-secrets-git-credentials-generation")]
    randoms = [x for x in randoms if x not in generations]
    assert {x.typ for x in randoms} == {"random:index/randomBytes:RandomBytes",
                                        "random:index/randomPassword:RandomPassword"}
    assert {x.name: x.inputs["length"] for x in randoms if "Bytes" in x.typ} == {
        "airflow-secrets-fernet-key": 32, "airflow-secrets-api-secret-key": 32, "airflow-secrets-jwt-secret": 64}


def test_the_scheduler_gets_its_own_pod_launcher_role_unless_tasks_may_launch_pods():
    rbac = "kubernetes:rbac.authorization.k8s.io/v1"
    role_type, binding_type = f"{rbac}:Role", f"{rbac}:RoleBinding"
    r = run()
    role, binding = r.one(role_type), r.one(binding_type)
    assert binding.get("roleRef.name") == role.get("metadata.name")
    assert binding.get("subjects") == [{"kind": "ServiceAccount", "name": names.SERVICE_ACCOUNTS.scheduler,
                                        "namespace": names.AIRFLOW_NAMESPACE}]
    release = r.one(RELEASE)
    assert r.depends_on(release, role) and r.depends_on(release, binding)  # no window without it
    assert all(r.depends_on(release, p) for p in r.find("kubernetes:networking.k8s.io/v1:NetworkPolicy"))
    overrides, secrets = HTTPS
    launching = harness.run(build, stack="dev", overrides={**overrides, "tasksMayLaunchPods": "true"}, secrets=secrets)
    assert launching.find(role_type) == [] and launching.find(binding_type) == []
    assert launching.one(RELEASE).get("values.allowPodLaunching") is True


# -- rotated git credentials roll the pods whose git-sync read them at start -----------------


def git_generation(r: harness.Run) -> str | None:
    """The git credentials' generation ID on the pods that run git-sync (one ID for all)."""
    v = values(r)
    found = {v[c].get("podAnnotations", {}).get(helm_values.GIT_CREDENTIALS_GENERATION_ANNOTATION)
             for c in helm_values.GIT_SYNC_COMPONENTS}
    assert len(found) == 1, found
    return found.pop()


@pytest.mark.parametrize(("before", "after"), [("https", "https-new-token"), ("https", "https-new-username"),
                                               ("ssh", "ssh-new-key")])
def test_a_rotated_git_credential_draws_a_new_generation_for_the_git_sync_pods(before, after):
    assert git_generation(run(before)) and git_generation(run(after))
    assert git_generation(run(before)) != git_generation(run(after))


def test_the_git_generation_stays_while_the_git_credentials_do():
    """Anything else changing (here the database endpoint) leaves git-sync alone; a public
    repository has no credentials and so no generation."""
    assert git_generation(run("https", db_host="airflow-db-2.abc.us-east-1.rds.amazonaws.com")) == git_generation(run())
    assert git_generation(run("public")) is None
    assert run("public").find(RANDOM_ID) == []


@pytest.mark.parametrize("variant", ["https", "ssh"])
def test_the_generation_is_keyed_on_the_stored_credentials_as_a_secret_and_orders_before_the_release(variant):
    r = run(variant)
    name = {"https": "git-credentials", "ssh": "git-ssh-key"}[variant]
    generation = r.one(RANDOM_ID, name=f"airflow-secrets-{name}-generation")
    stored = string_data(r.one(SECRET, name=f"airflow-secrets-{name}"))
    # The keeper is the digest of exactly what the Secret holds (so any stored change rolls the
    # pods), marked secret: it stays in state, never in the release.
    assert mocks.secret_paths(generation.inputs) == ["keepers"]
    assert generation.plain_inputs["keepers"] == {"stringDataSha256": data.string_data_sha256(stored)}
    digest = data.string_data_sha256(stored)
    assert not any(mocks.contains_text(x.inputs, digest) for x in r.resources)
    assert not mocks.contains_text(r.one(RELEASE).inputs, digest, outside_secrets=False)
    assert r.depends_on(r.one(RELEASE), generation)
    # Only the pods that run git-sync carry it; the scheduler and API server do not.
    v = values(r)
    assert {c for c in v if isinstance(v[c], dict)
            and helm_values.GIT_CREDENTIALS_GENERATION_ANNOTATION in v[c].get("podAnnotations", {})} == set(
        helm_values.GIT_SYNC_COMPONENTS)
