"""Airflow chart values: valid for the pinned chart's schema in every auth/backend variant,
and each requirement of the release (executor, DB, jobs, secrets, gitSync, node pools, logs,
spot safety, storage, metrics, secrets backend, admin user) visible in the values."""

from __future__ import annotations

import copy
import functools
import json
import re

import jsonschema
import pytest

from airflow_eks import config, formats, helm_values, images, names
from airflow_eks import secret_data as data
from airflow_eks.offline import harness, loader
from airflow_eks.secret_data import SECRET_NAMES

DEFAULT_AIRFLOW = loader.project_file()["config"]["airflowVersion"]["default"]

BUCKET = "airflow-eks-dev-logs-20261123000000"
STORAGE_CLASS = "gp3"
SSH_REPO = "git@github.com:org/dags.git"
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----"
HTTPS_REPO = "https://github.com/org/private-dags.git"
ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/airflow"
INI_SHA256 = data.pgbouncer_ini_sha256(data.pgbouncer_ini(
    host="airflow-db.abc.us-east-1.rds.amazonaws.com", port=5432, database="airflow", user="airflow"))

# variant -> (stack, overrides, secrets)
VARIANTS = {
    "dev": ("dev", {}, {}),
    "prod": ("prod", {}, {}),
    "ssh": ("dev", {"gitSyncRepo": SSH_REPO, "gitSyncKnownHosts": KNOWN_HOSTS}, {"gitSyncSshKey": SSH_KEY}),
    "https": ("dev", {"gitSyncRepo": HTTPS_REPO, "gitSyncUsername": "x-access-token"},
              {"gitSyncToken": "ghp_exampletoken0123456789"}),
    "secrets-manager": ("prod", {"secretsBackend": "aws-secrets-manager"}, {}),
    "custom": ("dev", {"aws:region": "eu-west-1", "airflowImageRepository": ECR_IMAGE, "airflowVersion": "3.1.7",
                       "gitSyncBranch": "release/v2", "gitSyncSubPath": "airflow/dags", "gitSyncPeriod": "2m",
                       "taskCpuRequest": "300m", "taskMemoryRequest": "768Mi",
                       "taskCpuLimit": "2", "taskMemoryLimit": "3Gi"}, {}),
    "mirror": ("dev", {"imageMirror": "harbor.example.com/proxy"}, {}),
    # The UI behind the ALB with its password login (prod's UI without SSO).
    "ui-password": ("prod", {"ssoIssuerUrl": "", "ssoClientId": "", "ssoRoleMapping": {}, "ssoClientSecret": None}, {}),
}
SYSTEM_BLOCKS = ("scheduler", "apiServer", "triggerer", "dagProcessor", "pgbouncer", "statsd",
                 "migrateDatabaseJob", "createUserJob")


@functools.cache
def settings(variant: str) -> config.Settings:
    stack, overrides, secrets = VARIANTS[variant]
    return harness.run(config.load, stack=stack, overrides=overrides, secrets=secrets).value


def values(variant: str) -> dict:
    s = settings(variant)
    return helm_values.airflow_values(s.airflow, region=s.region, logs_bucket=BUCKET, storage_class=STORAGE_CLASS,
                                      pgbouncer_ini_sha256=INI_SHA256, image_mirror=s.image_mirror, ui=s.ui,
                                      load_balancer_cidrs=s.load_balancer_cidrs)


def schema_errors(schema: dict, instance: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.path))}: {e.message}"
            for e in jsonschema.Draft7Validator(schema).iter_errors(instance)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_values_validate_against_the_pinned_charts_schema(variant, chart_schema):
    assert settings(variant).airflow.chart_version == "1.19.0"  # the schema's version
    assert schema_errors(chart_schema, values(variant)) == []


def test_the_schema_check_is_not_vacuous(chart_schema):
    broken = values("dev")
    broken["scheduler"]["replica"] = 2  # typo of `replicas`: component blocks are strict
    broken["config"]["secrets"] = {"backend_kwargs": {"a": "b"}}  # must be a JSON string
    assert len(schema_errors(chart_schema, broken)) == 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_values_are_plain_data_without_credentials(variant):
    v = values(variant)
    assert json.loads(json.dumps(v)) == v  # no Outputs or objects the release would mangle
    text = json.dumps(v)
    assert "ghp_" not in text and "PRIVATE KEY" not in text
    assert "metadataConnection" not in v["data"]  # that path would carry the DB password


def test_one_image_for_every_airflow_container_and_task_pod():
    v, s = values("custom"), settings("custom").airflow
    assert v["executor"] == "KubernetesExecutor"
    assert (v["defaultAirflowRepository"], v["defaultAirflowTag"], v["airflowVersion"]) == (
        ECR_IMAGE, "3.1.7", "3.1.7") == (s.image_repository, s.version, s.version)
    # A repository or tag in images.airflow / images.pod_template would split components and
    # task pods apart; only the pull policy is set there, by role (images.py): the task pods
    # start from the node's cache, the components ask the registry at each start.
    assert v["images"]["airflow"] == {"pullPolicy": "Always"}
    assert v["images"]["pod_template"] == {"pullPolicy": "IfNotPresent"}
    assert v["createUserJob"]["extraInitContainers"][0]["imagePullPolicy"] == "Always"
    assert v["createUserJob"]["extraInitContainers"][0]["image"] == f"{ECR_IMAGE}:3.1.7"
    assert v["postgresql"] == {"enabled": False} and v["redis"] == {"enabled": False}


def test_metadata_db_goes_through_pgbouncer_with_our_three_secrets():
    v = values("dev")
    assert v["data"] == {"metadataSecretName": SECRET_NAMES.metadata}
    bouncer = v["pgbouncer"]
    assert bouncer["enabled"] is True
    assert bouncer["configSecretName"] == SECRET_NAMES.pgbouncer_config
    assert bouncer["metricsExporterSidecar"]["statsSecretName"] == SECRET_NAMES.pgbouncer_stats
    assert bouncer["sslmode"] == "require"


def test_pgbouncer_pods_carry_the_checksum_of_their_ini_so_a_new_endpoint_rolls_them():
    annotations = values("dev")["pgbouncer"]["podAnnotations"]
    assert annotations == {helm_values.PGBOUNCER_INI_CHECKSUM_ANNOTATION: INI_SHA256}
    # Not the chart's own key (that one only hashes a Secret the chart renders, empty here).
    assert helm_values.PGBOUNCER_INI_CHECKSUM_ANNOTATION != "checksum/pgbouncer-config-secret"
    assert re.fullmatch(r"[0-9a-f]{64}", INI_SHA256)


@pytest.mark.parametrize("variant,replicas", [("dev", 1), ("prod", 2)])
def test_pgbouncer_is_replicated_with_a_disruption_budget_when_airflow_is(variant, replicas):
    bouncer, airflow = values(variant)["pgbouncer"], settings(variant).airflow
    assert (airflow.scheduler_replicas > 1 or airflow.api_server_replicas > 1) is (replicas > 1)
    assert bouncer["replicas"] == replicas
    assert bouncer["podDisruptionBudget"] == {"enabled": replicas > 1, "config": {"maxUnavailable": 1}}
    if replicas == 1:
        assert "topologySpreadConstraints" not in bouncer
        return
    (spread,) = bouncer["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["maxSkew"]) == ("kubernetes.io/hostname", 1)
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"  # never leaves a pod Pending on one node
    # The chart's pgbouncer Deployment selector: a typo here would spread nothing.
    assert spread["labelSelector"] == {"matchLabels": {"tier": "airflow", "component": "pgbouncer",
                                                       "release": names.AIRFLOW_RELEASE}}


def test_finished_jobs_go_within_seconds_so_an_upgrade_recreates_rather_than_patches_them(chart_values):
    """A Job still there at the next upgrade is patched and fails on its immutable pod template
    (apache/airflow#27561); the chart keeps it 300 s. Seconds, not minutes: shorter than the
    least time to the next upgrade."""
    v = values("dev")
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert v[job]["ttlSecondsAfterFinished"] == helm_values.JOB_TTL_SECONDS
        assert chart_values[job]["ttlSecondsAfterFinished"] > helm_values.JOB_TTL_SECONDS
    assert 0 < helm_values.JOB_TTL_SECONDS <= 60


def test_install_jobs_run_without_hooks_and_wait_for_migrations():
    v = values("dev")
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert v[job]["enabled"] is True
        assert (v[job]["useHelmHooks"], v[job]["applyCustomEnv"]) == (False, False)
    assert v["images"]["migrationsWaitTimeout"] >= 600
    (wait,) = v["createUserJob"]["extraInitContainers"]
    assert wait["args"][:3] == ["airflow", "db", "check-migrations"]
    assert f"--migration-wait-timeout={v['images']['migrationsWaitTimeout']}" in wait["args"]
    (conn,) = wait["env"]
    assert conn["name"] == "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
    assert conn["valueFrom"]["secretKeyRef"] == {"name": SECRET_NAMES.metadata, "key": data.CONNECTION_KEY}
    # As hardened as the chart's own containers (its default container securityContext), with
    # a read-only root filesystem, and the config files the chart mounts into its own
    # wait-for-airflow-migrations (or Airflow writes a default airflow.cfg into AIRFLOW_HOME).
    assert wait["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                       "runAsNonRoot": True, "readOnlyRootFilesystem": True}
    assert {m["mountPath"] for m in wait["volumeMounts"]} == {
        "/opt/airflow/airflow.cfg", "/opt/airflow/config/airflow_local_settings.py", "/tmp"}


def test_fernet_api_and_jwt_secrets_are_pinned_by_name():
    v = values("prod")
    assert v["fernetKeySecretName"] == SECRET_NAMES.fernet
    assert v["apiSecretKeySecretName"] == SECRET_NAMES.api_secret_key
    assert v["jwtSecretName"] == SECRET_NAMES.jwt
    assert not {"fernetKey", "apiSecretKey", "jwtSecret"} & set(v)


@pytest.mark.parametrize("variant", ["dev", "custom", "https", "ssh"])
def test_git_sync_checks_out_the_configured_branch_for_v3_and_v4(variant):
    git, s = values(variant)["dags"]["gitSync"], settings(variant).airflow.git_sync
    assert git["enabled"] is True
    assert (git["repo"], git["subPath"], git["period"]) == (s.repo, s.sub_path, s.period)
    assert git["ref"] == git["branch"] == s.branch != "v2-2-stable"


def test_git_sync_auth_matches_the_configured_method():
    public, https, ssh = (values(v)["dags"]["gitSync"] for v in ("dev", "https", "ssh"))
    assert not {"credentialsSecret", "sshKeySecret", "knownHosts"} & set(public)
    assert https["credentialsSecret"] == SECRET_NAMES.git_credentials
    assert not {"sshKeySecret", "knownHosts"} & set(https)
    assert ssh["sshKeySecret"] == SECRET_NAMES.git_ssh_key and ssh["knownHosts"] == KNOWN_HOSTS
    assert ssh["repo"] == SSH_REPO and "credentialsSecret" not in ssh


def test_each_generation_goes_on_the_pods_that_read_its_credential_at_start():
    assert helm_values.generation_annotations(data.NO_GENERATIONS) == {}
    both = helm_values.generation_annotations(data.Generations(sso_client="0a1b2c3d", git_credentials="4e5f6a7b"))
    assert both == {"apiServer": {helm_values.SSO_CLIENT_GENERATION_ANNOTATION: "0a1b2c3d"},
                    "dagProcessor": {helm_values.GIT_CREDENTIALS_GENERATION_ANNOTATION: "4e5f6a7b"},
                    "triggerer": {helm_values.GIT_CREDENTIALS_GENERATION_ANNOTATION: "4e5f6a7b"}}
    s = settings("https")
    v = helm_values.airflow_values(s.airflow, region=s.region, logs_bucket=BUCKET, storage_class=STORAGE_CLASS,
                                   pgbouncer_ini_sha256=INI_SHA256,
                                   generations=data.Generations(git_credentials="4e5f6a7b"))
    assert {c: v[c].get("podAnnotations") for c in ("apiServer", "dagProcessor", "triggerer", "scheduler")} == {
        "apiServer": None, "scheduler": None, **{c: both[c] for c in ("dagProcessor", "triggerer")}}
    # Beside, not instead of, the annotations a block already has.
    assert helm_values.STATSD_MAPPING_CHECKSUM_ANNOTATION in v["statsd"]["podAnnotations"]


def test_task_pods_run_on_the_spot_pool_with_the_task_resources():
    w, task = values("custom")["workers"], settings("custom").airflow.task_resources
    assert w["nodeSelector"] == names.TASK_NODE_LABELS
    assert w["tolerations"] == [names.TASK_NODE_TAINT.toleration()]
    assert w["resources"] == {"requests": {"cpu": "300m", "memory": "768Mi"},
                              "limits": {"cpu": "2", "memory": "3Gi"}}
    assert (task.cpu_request, task.memory_limit) == ("300m", "3Gi")
    # No Kubernetes API token unless tasksMayLaunchPods (tests/test_pod_security.py).
    assert w["serviceAccount"] == {"create": True, "name": names.SERVICE_ACCOUNTS.worker,
                                   "automountServiceAccountToken": False}
    assert "annotations" not in w["serviceAccount"]  # Pod Identity, not IRSA
    assert w["safeToEvict"] is False


def test_airflows_own_pods_run_on_system_nodes_with_the_named_service_accounts():
    v = values("prod")
    assert v["nodeSelector"] == names.SYSTEM_NODE_LABELS
    for block in SYSTEM_BLOCKS:
        if v[block].get("enabled") is False:
            continue  # prod's createUserJob: no generated admin with SSO
        assert v[block]["nodeSelector"] == names.SYSTEM_NODE_LABELS, block
        assert "tolerations" not in v[block], block  # only task pods tolerate the spot taint
    sa = names.SERVICE_ACCOUNTS
    for block, name, token in (("scheduler", sa.scheduler, True), ("apiServer", sa.api_server, True),
                               ("triggerer", sa.triggerer, False), ("dagProcessor", sa.dag_processor, False)):
        assert v[block]["serviceAccount"] == {"create": True, "name": name, "automountServiceAccountToken": token}


@pytest.mark.parametrize("variant,replicas,pdb", [("dev", 1, False), ("prod", 2, True)])
def test_replicas_from_config_get_a_disruption_budget_when_more_than_one(variant, replicas, pdb):
    v = values(variant)
    for block in ("scheduler", "apiServer"):
        assert v[block]["replicas"] == replicas
        assert v[block]["podDisruptionBudget"] == {"enabled": pdb, "config": {"maxUnavailable": 1}}


def _container_resources(v: dict) -> dict[str, dict]:
    found = {block: v[block]["resources"] for block in SYSTEM_BLOCKS}
    found |= {f"{b}.logGroomerSidecar": v[b]["logGroomerSidecar"]["resources"]
              for b in ("scheduler", "triggerer", "dagProcessor")}
    found["pgbouncer.metricsExporterSidecar"] = v["pgbouncer"]["metricsExporterSidecar"]["resources"]
    found["dags.gitSync"] = v["dags"]["gitSync"]["resources"]
    found["createUserJob.wait-for-migrations"] = v["createUserJob"]["extraInitContainers"][0]["resources"]
    found["workers"] = v["workers"]["resources"]
    return found


def test_every_airflow_container_sets_requests_and_limits_so_the_limit_range_only_fills_gaps():
    # A request above the LimitRange's default limit (or a limit below its default request)
    # makes the API server reject the pod, so each container sets both, consistently.
    for where, res in _container_resources(values("dev")).items():
        for kind in ("cpu", "memory"):
            request, limit = res["requests"][kind], res["limits"][kind]
            assert formats.quantity(request, kind=kind) <= formats.quantity(limit, kind=kind), where


def test_task_logs_go_to_the_logs_bucket_through_a_keyless_aws_connection():
    v, region = values("custom"), settings("custom").region
    logging = v["config"]["logging"]
    assert logging["remote_logging"] == "True"
    assert logging["remote_base_log_folder"] == f"s3://{BUCKET}/logs"
    assert logging["remote_log_conn_id"] == "aws_default"
    env = {e["name"]: e["value"] for e in v["env"]}
    assert json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"]) == {"conn_type": "aws", "extra": {"region_name": "eu-west-1"}}
    assert region == "eu-west-1"
    assert v["logs"] == {"persistence": {"enabled": False}}


def test_spot_interruptions_are_retried_and_pending_pods_wait_for_scale_up():
    cfg = values("dev")["config"]
    assert cfg["core"]["default_task_retries"] >= 1
    # A task stays QUEUED while its pod is Pending; Airflow 3 fails it after this (default 600).
    assert cfg["scheduler"]["task_queued_timeout"] >= 900
    # Folded into task_queued_timeout (apache/airflow#30375); Airflow 3 ignores it.
    assert "worker_pods_pending_timeout" not in cfg.get("kubernetes_executor", {})


def test_triggerer_volume_is_small_gp3_and_deleted_with_the_statefulset():
    persistence = values("dev")["triggerer"]["persistence"]
    assert persistence["enabled"] is True
    assert persistence["storageClassName"] == STORAGE_CLASS
    assert persistence["size"] == "5Gi"
    assert persistence["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Delete", "whenScaled": "Delete"}


def test_statsd_is_on_and_its_service_is_scrapeable():
    statsd = values("dev")["statsd"]
    assert statsd["enabled"] is True
    annotations = statsd["service"]["extraAnnotations"]
    assert annotations["prometheus.io/path"] == "/metrics"
    # The chart's Service template already writes these two keys; repeating them breaks YAML.
    assert not {"prometheus.io/scrape", "prometheus.io/port"} & set(annotations)


def test_secrets_manager_backend_reads_exactly_the_prefixes_iam_allows():
    assert "secrets" not in values("prod")["config"]
    secrets = values("secrets-manager")["config"]["secrets"]
    assert secrets["backend"] == "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    assert isinstance(secrets["backend_kwargs"], str)
    kwargs = json.loads(secrets["backend_kwargs"])
    assert kwargs["connections_prefix"] == names.SECRETS_CONNECTIONS_PREFIX
    assert kwargs["variables_prefix"] == names.SECRETS_VARIABLES_PREFIX
    assert kwargs["config_prefix"] is None
    assert kwargs["region_name"] == settings("secrets-manager").region


def test_admin_user_password_comes_from_its_secret_not_from_the_values():
    job = values("dev")["createUserJob"]
    user = job["defaultUser"]
    assert user["username"] == helm_values.ADMIN_USERNAME and user["role"] == "Admin"
    # Kubernetes expands $(VAR) in args from the container env (the chart passes `-p <password>`).
    assert user["password"] == f"$({helm_values.ADMIN_PASSWORD_ENV})"
    (env,) = job["env"]
    assert env["name"] == helm_values.ADMIN_PASSWORD_ENV
    assert env["valueFrom"]["secretKeyRef"] == {"name": SECRET_NAMES.admin, "key": data.ADMIN_PASSWORD_KEY}


def test_builder_does_not_mutate_or_share_state_between_calls():
    first = values("dev")
    snapshot = copy.deepcopy(first)
    first["workers"]["nodeSelector"]["x"] = "y"
    first["nodeSelector"]["x"] = "y"
    first["scheduler"]["resources"]["limits"]["cpu"] = "64"
    assert values("dev") == snapshot
    assert names.TASK_NODE_LABELS == {names.POOL_LABEL: names.TASK_POOL}
    assert names.SYSTEM_NODE_LABELS == {names.POOL_LABEL: names.SYSTEM_POOL}


def test_ui_command_targets_the_charts_api_server_service():
    assert helm_values.ui_command("airflow") == "kubectl port-forward svc/airflow-api-server 8080:8080 -n airflow"


def image_repositories(v: dict, chart_values: dict) -> dict[str, str]:
    """Every image the release runs: Airflow's, and each sidecar the values turn on, with the
    chart default where the values set none."""
    found = {"airflow": v["defaultAirflowRepository"]}
    for key in images.CHART_SIDECAR_IMAGES:
        found[key] = v["images"].get(key, {}).get("repository") or chart_values["images"][key]["repository"]
    return found


def test_the_sidecar_table_is_the_charts(chart_values):
    assert {k: chart_values["images"][k]["repository"] for k in images.CHART_SIDECAR_IMAGES} == (
        images.CHART_SIDECAR_IMAGES)
    # The sidecars the values run: PgBouncer (and exporter), StatsD, git-sync.
    v = values("dev")
    assert v["pgbouncer"]["enabled"] is True and v["dags"]["gitSync"]["enabled"] is True
    assert v.get("statsd", {}).get("enabled", chart_values["statsd"]["enabled"]) is True


def test_without_a_mirror_images_come_from_the_public_defaults(chart_values):
    got = image_repositories(values("dev"), chart_values)
    assert got == {"airflow": "apache/airflow", **images.CHART_SIDECAR_IMAGES}
    assert not any("repository" in block for block in values("dev")["images"].values() if isinstance(block, dict))


def test_a_mirror_serves_every_public_image_under_its_upstream_path(chart_values):
    got = image_repositories(values("mirror"), chart_values)
    assert got == {
        "airflow": "harbor.example.com/proxy/docker.io/apache/airflow",
        "pgbouncer": "harbor.example.com/proxy/docker.io/apache/airflow",
        "pgbouncerExporter": "harbor.example.com/proxy/docker.io/apache/airflow",
        "statsd": "harbor.example.com/proxy/quay.io/prometheus/statsd-exporter",
        "gitSync": "harbor.example.com/proxy/registry.k8s.io/git-sync/git-sync",
    }
    v = values("mirror")
    [wait] = v["createUserJob"]["extraInitContainers"]
    assert wait["image"] == f"harbor.example.com/proxy/docker.io/apache/airflow:{DEFAULT_AIRFLOW}"
    # Tags stay the chart's: only repositories are set.
    assert all(set(v["images"][k]) == {"repository", "pullPolicy"} for k in images.CHART_SIDECAR_IMAGES)
    # git-sync is also every task pod's init container: it stays off the registry's path.
    assert {k: v["images"][k]["pullPolicy"] for k in images.CHART_SIDECAR_IMAGES} == {
        "pgbouncer": "Always", "pgbouncerExporter": "Always", "statsd": "Always", "gitSync": "IfNotPresent"}


def test_prod_pulls_every_image_through_its_own_registry(chart_values):
    got = image_repositories(values("prod"), chart_values)
    mirror = settings("prod").image_mirror
    # The stack's registry (imageRegistry) in the mock account, under the stack's namespace.
    assert mirror == "123456789012.dkr.ecr.us-east-1.amazonaws.com/prod"
    # Before the image workflow's first digest: the official image through the stack's cache.
    assert got["airflow"] == f"{mirror}/docker.io/apache/airflow"
    assert all(got[k].startswith(mirror + "/") for k in images.CHART_SIDECAR_IMAGES)
    assert not [r for r in got.values() if images.is_public(r)]


def test_without_an_ingress_the_api_server_runs_as_the_chart_starts_it():
    v = values("dev")
    assert "api" not in v["config"] and not {"args", "env", "apiServerConfig"} & set(v["apiServer"])
    # http://localhost through port-forward: a Secure cookie would depend on the browser.
    assert "fab" not in v["config"]
    assert v["createUserJob"]["enabled"] is True


def test_behind_the_alb_airflow_knows_its_url_and_trusts_only_the_albs_forwarded_headers():
    v = values("ui-password")
    assert v["config"]["api"] == {"base_url": "https://airflow.example.com"}
    # Served over HTTPS only: FAB's session cookie carries the Secure flag.
    assert v["config"]["fab"] == {"enable_proxy_fix": "True", "cookie_secure": "True"}
    assert v["apiServer"]["args"] == ["bash", "-c", "exec airflow api-server --proxy-headers"]
    # prod's 10.0.0.0/16 over 3 AZs: the load balancer's /27s (airflow_eks/subnets.py), no pod's
    assert v["apiServer"]["env"] == [{"name": "FORWARDED_ALLOW_IPS",
                                      "value": "10.0.224.0/27,10.0.224.32/27,10.0.224.64/27,127.0.0.1"}]
    # Password login stays (internal ALB only): the generated admin is still created.
    assert "apiServerConfig" not in v["apiServer"] and v["createUserJob"]["enabled"] is True


def test_with_sso_the_api_server_gets_the_generated_config_and_the_secret_and_no_admin_is_created():
    from airflow_eks import sso

    v, s = values("prod"), settings("prod")
    assert v["apiServer"]["apiServerConfig"] == sso.webserver_config(s.ui.sso)
    assert {"name": sso.CLIENT_SECRET_ENV, "valueFrom": {"secretKeyRef": {
        "name": SECRET_NAMES.sso_client, "key": data.SSO_CLIENT_SECRET_KEY}}} in v["apiServer"]["env"]
    assert v["createUserJob"] == {"enabled": False}
    # `env` reaches every container and the task pods: the secret must only be in apiServer.env.
    assert sso.CLIENT_SECRET_ENV not in json.dumps(v["env"])
