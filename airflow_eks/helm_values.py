"""Values of the official Airflow chart (pinned 1.19.0), built by one pure function.

`airflow_values()` turns the validated settings and the names other components wire in
(region, logs bucket, StorageClass) into the chart's values. Plain data in, plain data out:
the caller resolves Outputs first, and tests validate the result against the chart's
values.schema.json. The values carry NO credential: every secret is a Kubernetes Secret
referenced by name (secret_data.SECRET_NAMES), so `pulumi preview` diffs of the release
stay readable.

Value paths and the traps behind them: shared/docs/airflow-chart.md (section numbers below).
"""

from __future__ import annotations

import copy
import json

from airflow_eks import images, local_settings, names, pod_security, secret_data, sso, statsd_mapping
from airflow_eks.config import AirflowSettings, GitSyncSettings, TaskResources
from airflow_eks.image import digest
from airflow_eks.metrics import task_statsd
from airflow_eks.secret_data import NO_GENERATIONS, SECRET_NAMES, Generations, SecretNames
from airflow_eks.ui_config import UiSettings

SECRETS_MANAGER_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
AWS_CONN_ID = "aws_default"
LOGS_PREFIX = "logs"
# Default 60 s; the first `airflow db migrate` of Airflow 3 on a fresh RDS takes longer, and
# every pod waits in `wait-for-airflow-migrations` meanwhile (§3.2, apache/airflow#20803).
MIGRATION_WAIT_SECONDS = 600
# How long a finished migration or create-user Job stays (the chart's default is 300 s). With
# Helm hooks off they are ordinary release objects: an upgrade that changes a Job's pod
# template while the old Job still exists patches it and fails on an immutable field
# (apache/airflow#27561), and the atomic release rolls back. Gone within seconds of finishing,
# the Job is simply created anew by the next upgrade (Helm creates a release object that is
# missing), which is how migrations run again. Nothing waits for it: `wait_for_jobs` is off,
# so its deletion cannot fail a release. Shorter than the least time to the next upgrade (the
# rest of this release's readiness wait, then the next `pulumi up`'s own preview); the cost is
# that a failed Job's logs go with it (docs/troubleshooting.md).
JOB_TTL_SECONDS = 30
# Triggerer logs only (task logs go to S3); the chart's 100Gi default would be wasted EBS.
TRIGGERER_VOLUME_SIZE = "5Gi"
# A task stays QUEUED while its pod is Pending, and `[scheduler] task_queued_timeout` (default
# 600 s) then fails it. A spot task node scaled from zero needs 2-4 minutes to join plus the
# image pull, so leave more. (`[kubernetes_executor] worker_pods_pending_timeout` was folded
# into this option by apache/airflow#30375 and Airflow 3 ignores it.)
TASK_QUEUED_TIMEOUT_SECONDS = 900
# Spot interruptions kill task pods; a retried task lands on a surviving or new node.
DEFAULT_TASK_RETRIES = 2

# The chart names the API server Service `<fullname>-api-server` (fullname = release name,
# since it contains "airflow") on port `ports.apiServer`.
API_SERVER_SERVICE = f"{names.AIRFLOW_RELEASE}-api-server"
API_SERVER_PORT = pod_security.API_SERVER_PORT

# Labels of the PgBouncer pods (the selector of the chart's pgbouncer Deployment).
PGBOUNCER_POD_LABELS = {"tier": "airflow", "component": "pgbouncer", "release": names.AIRFLOW_RELEASE}
# Ours, next to the chart's own `checksum/pgbouncer-config-secret` (a duplicate key would break
# the rendered YAML).
PGBOUNCER_INI_CHECKSUM_ANNOTATION = "checksum/pgbouncer-ini"
STATSD_MAPPING_CHECKSUM_ANNOTATION = statsd_mapping.CHECKSUM_ANNOTATION
# Pods that read a Secret only at start (env from secretKeyRef, a subPath mount: neither is
# refreshed in a running pod) carry its generation ID (secret_data.Generations), never the
# secret or a digest of it, so a rotated credential rolls them. The API server reads the SSO
# client secret; the git-sync sidecars and init containers of the DAG processor and the
# triggerer read the git credentials. Not the scheduler (with Airflow 3's DAG processor it runs
# no git-sync) and not task pods (each starts a fresh git-sync init container).
SSO_CLIENT_GENERATION_ANNOTATION = "airflow-eks/sso-client-generation"
GIT_CREDENTIALS_GENERATION_ANNOTATION = "airflow-eks/git-credentials-generation"
GIT_SYNC_COMPONENTS = ("dagProcessor", "triggerer")
# The chart's default for its own containers (`containerSecurityContext` helper), plus
# runAsNonRoot (the Airflow image runs as uid 50000 and the pod context sets that uid) and a
# read-only root filesystem: Airflow writes only to the scratch volumes below.
CONTAINER_SECURITY_CONTEXT = pod_security.container_context()
# The chart's Airflow config files (its `airflow_config_mount` helper): mounted into our own
# init container too, or Airflow would try to write a default airflow.cfg into the read-only
# AIRFLOW_HOME (configuration.write_default_airflow_configuration_if_needed).
AIRFLOW_CONFIG_MOUNTS = tuple(
    {"name": "config", "mountPath": f"{pod_security.AIRFLOW_HOME}/{path}", "subPath": path.rpartition("/")[2],
     "readOnly": True}
    for path in ("airflow.cfg", "config/airflow_local_settings.py"))

ADMIN_USERNAME = "admin"
# The create-user Job gets the password from this env var (secretKeyRef on our Secret), and
# the chart's own args pass `-p <defaultUser.password>`: Kubernetes expands `$(VAR)` in
# container args from the container's env, so the Helm values hold only the reference.
ADMIN_PASSWORD_ENV = "AIRFLOW_ADMIN_PASSWORD"


def resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> dict:
    """Both requests and limits, always: the namespace LimitRange would otherwise add a
    default limit below an explicit request (or a default request above an explicit limit),
    and the API server rejects such pods."""
    return {"requests": {"cpu": cpu_request, "memory": memory_request},
            "limits": {"cpu": cpu_limit, "memory": memory_limit}}


# Airflow's own containers. Requests sum to about 0.85 vCPU and 4 GiB with one replica each
# (sidecars included), which leaves room for kube-system and the two install Jobs on one dev
# system node (t3.large: 2 vCPU, 8 GiB); limits allow bursts (parsing, UI).
COMPONENT_RESOURCES = {
    "scheduler": resources("200m", "1Gi", "1", "2Gi"),
    "apiServer": resources("200m", "1Gi", "1", "2Gi"),
    "dagProcessor": resources("200m", "1Gi", "1", "2Gi"),
    "triggerer": resources("100m", "512Mi", "500m", "1Gi"),
    "pgbouncer": resources("50m", "64Mi", "250m", "256Mi"),
    "pgbouncerExporter": resources("10m", "32Mi", "100m", "64Mi"),
    "statsd": resources("20m", "64Mi", "200m", "128Mi"),
    "gitSync": resources("20m", "64Mi", "200m", "256Mi"),
    "logGroomer": resources("10m", "32Mi", "100m", "128Mi"),
    "job": resources("100m", "512Mi", "1", "1Gi"),
}


def airflow_values(
    airflow: AirflowSettings,
    *,
    region: str,
    logs_bucket: str,
    storage_class: str,
    pgbouncer_ini_sha256: str,
    image_mirror: str = "",
    load_balancer_cidrs: tuple[str, ...] = (),
    secrets: SecretNames = SECRET_NAMES,
    ui: UiSettings | None = None,
    generations: Generations = NO_GENERATIONS,
) -> dict:
    """The chart values for KubernetesExecutor on EKS with RDS, S3 logs and gitSync.

    `pgbouncer_ini_sha256` is secret_data.pgbouncer_ini_sha256() of the pgbouncer.ini in our
    Secret (host, port, database, pool settings; no password). `image_mirror`: see
    airflow_eks/images.py. `ui`: the UI behind the ALB (and SSO). `load_balancer_cidrs`: the
    subnets that ALB connects from (the API server trusts forwarded headers from them alone).
    `generations`: the IDs that change with the credentials read at start.
    """
    launch = airflow.tasks_may_launch_pods
    repository = images.mirrored(airflow.image_repository, image_mirror)
    image = airflow_image(airflow, image_mirror)
    values = {
        "executor": "KubernetesExecutor",
        # defaultAirflow* (not images.airflow.*) also feed the worker pod template (§4.1).
        "defaultAirflowRepository": repository,
        "defaultAirflowTag": airflow.version,
        "airflowVersion": airflow.version,
        "images": {
            "migrationsWaitTimeout": MIGRATION_WAIT_SECONDS,
            **_images(image_mirror),
        },
        # Fallback for any pod the chart renders without its own selector (the worker pod
        # template uses workers.nodeSelector first).
        "nodeSelector": dict(names.SYSTEM_NODE_LABELS),
        "postgresql": {"enabled": False},
        # Every Airflow pod (components, jobs, task pods) unless its block says otherwise.
        "securityContexts": {
            "pod": pod_security.pod_context(pod_security.AIRFLOW_UID, pod_security.AIRFLOW_GID),
            "containers": CONTAINER_SECURITY_CONTEXT,
        },
        # Off: the chart's StatsD policy admits task pods too, and the chart cannot leave out that
        # one alone. The Airflow component renders every policy of the namespace instead
        # (pod_security.network_policies), enforced by the VPC CNI (components/cluster.py).
        "networkPolicies": {"enabled": False},
        # The chart binds its pod-launcher role to the scheduler, the triggerer AND the task
        # pods' service account, which lets any task exec into the scheduler or start a pod
        # under another service account (and its Pod Identity role). Off, the component
        # binds a narrower role to the scheduler alone (pod_security.SCHEDULER_POD_LAUNCHER_RULES).
        "allowPodLaunching": launch,
        # Celery only; left on it would render pre-install hook Secrets for nothing (§4.1).
        "redis": {"enabled": False},
        "data": {"metadataSecretName": secrets.metadata},
        # Pinned so no pod ever sees a key the chart generated: the fernet key encrypts
        # connections, and chart-generated API/JWT keys rotate on every upgrade (§3.3, §8).
        "fernetKeySecretName": secrets.fernet,
        "apiSecretKeySecretName": secrets.api_secret_key,
        "jwtSecretName": secrets.jwt,
        "pgbouncer": _pgbouncer(airflow, secrets, pgbouncer_ini_sha256),
        # Pulumi's Release waits for readiness (Helm --wait), and post-install hooks would
        # only run after that: with hooks the install deadlocks (§3.3, apache/airflow#11979).
        "migrateDatabaseJob": {
            **_system(COMPONENT_RESOURCES["job"]),
            "enabled": True, "useHelmHooks": False, "applyCustomEnv": False,
            # `airflow db migrate` with a guard against deadlocks with the old release's sessions
            # during a version change, retried in place (local_settings.py says why and how).
            "args": migration_args(),
            "serviceAccount": _no_token(),
            "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
            **_scratch(),
        },
        # With SSO there is no password login, so no generated admin: the first Admin is a
        # member of a group ssoRoleMapping maps to Admin.
        "createUserJob": {"enabled": False} if ui and ui.sso else _create_user_job(image, secrets),
        "dags": {"gitSync": _git_sync(airflow.git_sync, secrets)},
        "workers": _workers(airflow.task_resources,
                            api_token=pod_security.needs_api_token("workers", tasks_may_launch_pods=launch)),
        **({} if pod_security.needs_api_token("workers", tasks_may_launch_pods=launch)
           else {"podTemplate": POD_TEMPLATE_WITHOUT_TOKEN}),
        "scheduler": {
            **_system(COMPONENT_RESOURCES["scheduler"], names.SERVICE_ACCOUNTS.scheduler),
            **_replicated(airflow.scheduler_replicas),
            **_scratch(),
            "logGroomerSidecar": {"resources": COMPONENT_RESOURCES["logGroomer"]},
        },
        "apiServer": {
            **_system(COMPONENT_RESOURCES["apiServer"], names.SERVICE_ACCOUNTS.api_server),
            **_replicated(airflow.api_server_replicas),
            **_scratch(),
            **(_behind_alb(ui, secrets, load_balancer_cidrs) if ui and ui.enabled else {}),
        },
        "triggerer": {
            **_system(COMPONENT_RESOURCES["triggerer"], names.SERVICE_ACCOUNTS.triggerer,
                      api_token=pod_security.needs_api_token("triggerer", tasks_may_launch_pods=launch)),
            **_scratch(git_sync=True),
            "logGroomerSidecar": {"resources": COMPONENT_RESOURCES["logGroomer"]},
            "persistence": {
                "enabled": True,
                "size": TRIGGERER_VOLUME_SIZE,
                # EKS clusters created on 1.30+ have no default StorageClass: the PVC would stay Pending.
                "storageClassName": storage_class,
                # StatefulSet PVCs outlive `helm uninstall` by default (Retain), which would
                # orphan their EBS volumes on `pulumi destroy`.
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
            },
        },
        "dagProcessor": {
            **_system(COMPONENT_RESOURCES["dagProcessor"], names.SERVICE_ACCOUNTS.dag_processor,
                      api_token=pod_security.needs_api_token("dagProcessor", tasks_may_launch_pods=launch)),
            **_scratch(git_sync=True),
            "logGroomerSidecar": {"resources": COMPONENT_RESOURCES["logGroomer"]},
        },
        "statsd": {
            **_system(COMPONENT_RESOURCES["statsd"]),
            "enabled": True,
            "serviceAccount": _no_token(),
            # The exporter only reads its mapping file and listens: no scratch volume.
            "securityContexts": {
                "pod": pod_security.pod_context(pod_security.NOBODY_UID),
                "container": pod_security.container_context(),
            },
            # The chart already annotates the Service with prometheus.io/scrape and /port
            # (9102); repeating those keys here would duplicate them and break the render.
            "service": {"extraAnnotations": {"prometheus.io/path": "/metrics"}},
            # Stable names with labels for dashboards and alerts, everything else dropped
            # (airflow_eks/statsd_mapping.py). The exporter reads its mapping only at start:
            # the annotation restarts it when the mapping changes.
            "overrideMappings": statsd_mapping.override_mappings(),
            "podAnnotations": {STATSD_MAPPING_CHECKSUM_ANNOTATION: statsd_mapping.mappings_sha256()},
        },
        # S3 remote logging replaces the shared logs volume (which would need RWX/EFS).
        "logs": {"persistence": {"enabled": False}},
        # `env` reaches every Airflow container and, through the chart's
        # AIRFLOW__KUBERNETES_ENVIRONMENT_VARIABLES__*, the task pods (airflow-helm/charts#34).
        "env": [
            {"name": "AIRFLOW_CONN_AWS_DEFAULT", "value": aws_connection(region)},
            {"name": "AWS_DEFAULT_REGION", "value": region},
        ],
        "config": _config(airflow, region=region, logs_bucket=logs_bucket, ui=ui),
        # Mounted into every Airflow pod as airflow_local_settings.py (local_settings.py: asyncpg
        # through PgBouncer's transaction pooling).
        "airflowLocalSettings": local_settings.SOURCE,
    }
    for component, generation in generation_annotations(generations).items():
        values[component]["podAnnotations"] = {**values[component].get("podAnnotations", {}), **generation}
    # The blocks above share the module's constant dicts; callers get their own copy.
    values = copy.deepcopy(values)
    if airflow.image_digest:
        _merge(values, digest.chart_values(repository, airflow.image_digest))
    return values


def airflow_image(airflow: AirflowSettings, image_mirror: str = "") -> str:
    """The image reference every Airflow container runs: by digest when one is set."""
    repository = images.mirrored(airflow.image_repository, image_mirror)
    if airflow.image_digest:
        return digest.reference(repository, airflow.image_digest)
    return f"{repository}:{airflow.version}"


def _merge(into: dict, extra: dict) -> None:
    """`extra` merged into `into`, nested maps key by key (as Helm merges values)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def migration_args() -> list[str]:
    """The migration Job's container args: the mounted airflow_local_settings.py run as a script,
    which runs `airflow db migrate` with its guard and bounded retries. $AIRFLOW_HOME is the
    image's (/opt/airflow, where the chart mounts the module under config/); no `$(...)`, which
    Kubernetes would read as a variable reference."""
    module = f"$AIRFLOW_HOME/config/{local_settings.MODULE}.py"
    return ["bash", "-c", f'exec python "{module}" {local_settings.MIGRATE_COMMAND}']


def generation_annotations(generations: Generations) -> dict[str, dict[str, str]]:
    """Pod annotations per chart component: each credential's generation ID on the pods that
    read that credential only at start (none for a credential that does not exist)."""
    readers = ((generations.sso_client, SSO_CLIENT_GENERATION_ANNOTATION, ("apiServer",)),
               (generations.git_credentials, GIT_CREDENTIALS_GENERATION_ANNOTATION, GIT_SYNC_COMPONENTS))
    found: dict[str, dict[str, str]] = {}
    for generation, annotation, components in readers:
        for component in components if generation else ():
            found.setdefault(component, {})[annotation] = generation
    return found


def _images(image_mirror: str) -> dict:
    # Repositories only: the tags stay the chart's, tested together. pod_template is the
    # task pods' main container (the Airflow image unless set); images.airflow the components'.
    mirrored = images.sidecar_repositories(image_mirror)
    return {key: {"pullPolicy": images.chart_pull_policy(key),
                  **({"repository": mirrored[key]} if key in mirrored else {})}
            for key in ("airflow", "pod_template", *images.CHART_SIDECAR_IMAGES)}


def aws_connection(region: str) -> str:
    """An AWS connection without keys: boto3 falls back to its default chain, where EKS Pod
    Identity supplies credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)."""
    return json.dumps({"conn_type": "aws", "extra": {"region_name": region}}, separators=(",", ":"))


def secrets_backend_kwargs(region: str) -> str:
    """JSON string (the schema rejects a map, §4.9) with exactly the prefixes IAM allows.

    config_prefix null: the backend would otherwise also read `airflow/config/*`, which the
    roles do not grant.
    """
    return json.dumps({
        "connections_prefix": names.SECRETS_CONNECTIONS_PREFIX,
        "variables_prefix": names.SECRETS_VARIABLES_PREFIX,
        "config_prefix": None,
        "region_name": region,
    })


def ui_command(namespace: str) -> str:
    return f"kubectl port-forward svc/{API_SERVER_SERVICE} {API_SERVER_PORT}:{API_SERVER_PORT} -n {namespace}"


def _system(resources_: dict, service_account: str | None = None, *, api_token: bool = True) -> dict:
    """An Airflow component on the system node pool, optionally with a fixed SA name (the
    Pod Identity associations name these service accounts)."""
    block: dict = {"nodeSelector": dict(names.SYSTEM_NODE_LABELS), "resources": resources_}
    if service_account is not None:
        block["serviceAccount"] = {"create": True, "name": service_account,
                                   "automountServiceAccountToken": api_token}
    return block


def _tmp_mount() -> dict:
    return pod_security.mount(pod_security.AIRFLOW_TMP_VOLUME, pod_security.TMP_PATH)


def _scratch(*, git_sync: bool = False) -> dict:
    """A component's scratch volumes (pod_security, Where each process may write): /tmp for its
    Airflow containers, and a /tmp of git-sync's own in a pod that runs git-sync. The chart
    mounts a component's extraVolumeMounts into every Airflow container of the pod (the main
    one, wait-for-airflow-migrations, the log groomer) but not into git-sync, which takes
    dags.gitSync.extraVolumeMounts (_git_sync)."""
    volumes = [pod_security.AIRFLOW_TMP_VOLUME, *([pod_security.GIT_SYNC_TMP_VOLUME] if git_sync else [])]
    return {"extraVolumes": pod_security.scratch_volumes(*volumes), "extraVolumeMounts": [_tmp_mount()]}


def _no_token() -> dict:
    """The chart's own service account, without a Kubernetes API token in the pod (Pod
    Identity credentials come through a projected token of their own, unaffected)."""
    return {"automountServiceAccountToken": False}


def _replicated(replicas: int) -> dict:
    # A PDB with one replica and maxUnavailable 1 protects nothing but still reads as HA.
    return {"replicas": replicas,
            "podDisruptionBudget": {"enabled": replicas > 1, "config": {"maxUnavailable": 1}}}


def _pgbouncer(airflow: AirflowSettings, secrets: SecretNames, ini_sha256: str) -> dict:
    # Every DB connection goes through PgBouncer: once the scheduler or API server is
    # replicated, a single PgBouncer pod would be the one thing a node drain still takes down.
    # (Two pods mean two pools of secret_data.PGBOUNCER_POOL_SIZE server connections each.)
    ha = airflow.scheduler_replicas > 1 or airflow.api_server_replicas > 1
    block: dict = {
        **_system(COMPONENT_RESOURCES["pgbouncer"]),
        **_replicated(2 if ha else 1),
        "enabled": True,
        "serviceAccount": _no_token(),
        "securityContexts": {
            "pod": pod_security.pod_context(pod_security.NOBODY_UID),
            # Read-only root too: with its Unix socket off (secret_data.pgbouncer_ini) PgBouncer
            # writes nothing (no pidfile, logs to stderr).
            "container": pod_security.container_context(),
        },
        # The chart's checksum annotations cover only Secrets it renders itself, and
        # pgbouncer.ini is subPath-mounted (never refreshed in a running pod): without this,
        # a new RDS endpoint would reach PgBouncer only at its next unrelated restart.
        "podAnnotations": {PGBOUNCER_INI_CHECKSUM_ANNOTATION: ini_sha256},
        # Our Secret holds pgbouncer.ini (which is what PgBouncer reads, including
        # server_tls_sslmode = require, see secret_data.pgbouncer_ini) and users.txt.
        "configSecretName": secrets.pgbouncer_config,
        # Only rendered by the chart without configSecretName; set so intent is visible.
        "sslmode": "require",
        "metricsExporterSidecar": {
            "statsSecretName": secrets.pgbouncer_stats,
            "resources": COMPONENT_RESOURCES["pgbouncerExporter"],
            "securityContexts": {"container": pod_security.container_context()},
        },
    }
    if ha:
        # A preference, not a rule: a second pod Pending on a one-node pool would fail the
        # release's readiness wait, while two pods on one node still survive a pod restart.
        block["topologySpreadConstraints"] = [{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(PGBOUNCER_POD_LABELS)},
        }]
    return block


def _create_user_job(image: str, secrets: SecretNames) -> dict:
    return {
        **_system(COMPONENT_RESOURCES["job"]),
        "enabled": True, "useHelmHooks": False, "applyCustomEnv": False,
        "serviceAccount": _no_token(),
        "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
        "defaultUser": {
            "role": "Admin", "username": ADMIN_USERNAME, "email": "admin@example.com",
            "firstName": "Airflow", "lastName": "Admin",
            "password": f"$({ADMIN_PASSWORD_ENV})",
        },
        "env": [_secret_env(ADMIN_PASSWORD_ENV, secrets.admin, secret_data.ADMIN_PASSWORD_KEY)],
        **_scratch(),
        # With hooks off this Job starts together with the migration Job, and unlike the
        # chart's components it has no wait-for-migrations init container (§3.2).
        "extraInitContainers": [{
            "name": "wait-for-airflow-migrations",
            "image": image,
            "imagePullPolicy": images.COMPONENT_PULL_POLICY,
            "args": ["airflow", "db", "check-migrations", f"--migration-wait-timeout={MIGRATION_WAIT_SECONDS}"],
            "env": [_secret_env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", secrets.metadata,
                                secret_data.CONNECTION_KEY)],
            "resources": COMPONENT_RESOURCES["job"],
            # The chart hardens and mounts only the containers it renders itself.
            "securityContext": CONTAINER_SECURITY_CONTEXT,
            "volumeMounts": [*AIRFLOW_CONFIG_MOUNTS, _tmp_mount()],
        }],
    }


def _secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _git_sync(git: GitSyncSettings, secrets: SecretNames) -> dict:
    block: dict = {
        "enabled": True,
        "repo": git.repo,
        # git-sync v4 reads `ref` (GITSYNC_REF) and v3 `branch`; both default to v2-2-stable,
        # so setting only one leaves the other syncing Airflow's own test DAGs (§4.2).
        "ref": git.branch,
        "branch": git.branch,
        "rev": "HEAD",
        "subPath": git.sub_path,
        "period": git.period,
        "depth": 1,
        # The DAG processor/triggerer sidecars and the init container of every task pod.
        "resources": COMPONENT_RESOURCES["gitSync"],
        # The chart sets only a user on git-sync; this replaces that, so restate the uid.
        "securityContexts": {"container": pod_security.container_context(pod_security.GIT_SYNC_UID)},
        # Its HOME and temporary files; the volume is in each pod that runs git-sync (_scratch).
        "extraVolumeMounts": [pod_security.mount(pod_security.GIT_SYNC_TMP_VOLUME, pod_security.TMP_PATH)],
    }
    if git.auth == "https":
        block["credentialsSecret"] = secrets.git_credentials
    elif git.auth == "ssh":
        block["sshKeySecret"] = secrets.git_ssh_key
        # Public host keys, not a secret; without them git-sync skips host key checking.
        block["knownHosts"] = git.known_hosts
    return block


# The chart's task pod template with `automountServiceAccountToken: false` on the pod itself.
# The chart sets it only on the worker ServiceAccount, which Kubernetes falls back to: on the
# pod, no later change to the account hands DAG code a token. `podTemplate` is a string the
# chart runs through `tpl` (templates/configmaps/configmap.yaml), so this renders the chart's
# own file unchanged and adds the field to the pod's `spec`, the template's last block (the
# rendered-manifest tests compare it with the chart's default, field by field).
CHART_POD_TEMPLATE_FILE = "files/pod-template-file.kubernetes-helm-yaml"
POD_TEMPLATE_WITHOUT_TOKEN = (f'{{{{ tpl (.Files.Get "{CHART_POD_TEMPLATE_FILE}") . }}}}\n'
                              "  automountServiceAccountToken: false\n")


def _workers(task: TaskResources, *, api_token: bool) -> dict:
    """The KubernetesExecutor pod template: task pods on the tainted spot pool only."""
    return {
        "nodeSelector": dict(names.TASK_NODE_LABELS),
        "tolerations": [names.TASK_NODE_TAINT.toleration()],
        "resources": resources(task.cpu_request, task.memory_request, task.cpu_limit, task.memory_limit),
        # workers.serviceAccount works on every chart version (workers.kubernetes.* is 1.21+
        # and its SA name was ignored in 1.21.0, #67261). Pod Identity needs no annotation.
        "serviceAccount": {"create": True, "name": names.SERVICE_ACCOUNTS.worker,
                           "automountServiceAccountToken": api_token},
        # The Cluster Autoscaler must not drain a node to consolidate while a task runs.
        "safeToEvict": False,
        # Task metrics go to the task pods' own StatsD exporter, never the components' one.
        "env": task_statsd.task_pod_env(),
        # DAG code's temporary files; git-sync's for the init container (the chart's `logs`
        # emptyDir takes the task's log).
        **_scratch(git_sync=True),
    }


def _behind_alb(ui: UiSettings, secrets: SecretNames, load_balancer_cidrs: tuple[str, ...]) -> dict:
    """The API server behind the ALB: trust its X-Forwarded-* headers (redirects and OAuth
    redirect URIs stay https, apache/airflow#49781) and, with SSO, the generated
    webserver_config.py plus the client secret from its Secret."""
    block: dict = {
        # The chart's documented switch for a reverse proxy (values.yaml apiServer.args).
        "args": ["bash", "-c", "exec airflow api-server --proxy-headers"],
        # uvicorn trusts forwarded headers only from these peers: the ALB's own subnets (IP
        # targets; uvicorn >= 0.30 takes networks), and kubectl port-forward on localhost.
        "env": [{"name": "FORWARDED_ALLOW_IPS", "value": ",".join((*load_balancer_cidrs, "127.0.0.1"))}],
    }
    if ui.sso is not None:
        block["apiServerConfig"] = sso.webserver_config(ui.sso)
        block["env"].append(_secret_env(sso.CLIENT_SECRET_ENV, secrets.sso_client, secret_data.SSO_CLIENT_SECRET_KEY))
    return block


def _config(airflow: AirflowSettings, *, region: str, logs_bucket: str, ui: UiSettings | None = None) -> dict:
    config: dict = {
        "core": {"default_task_retries": DEFAULT_TASK_RETRIES},
        "logging": {
            "remote_logging": "True",
            "remote_base_log_folder": f"s3://{logs_bucket}/{LOGS_PREFIX}",
            "remote_log_conn_id": AWS_CONN_ID,
        },
        "scheduler": {"task_queued_timeout": TASK_QUEUED_TIMEOUT_SECONDS},
        **local_settings.config(),
    }
    if ui and ui.enabled:
        # Links, redirects and the OAuth redirect URI use the public name (host-based routing:
        # a path prefix breaks the Execution API, apache/airflow#51450).
        config["api"] = {"base_url": ui.url}
        # The UI is served over HTTPS only (the ALB redirects HTTP): the session cookie gets the
        # Secure flag, so a browser never sends it over the HTTP listener (an old bookmark, a
        # typed http:// URL). FAB sets SESSION_COOKIE_SECURE from [fab] cookie_secure (default
        # False) for every scheme (providers/fab/www/app.py create_app); its JWT cookie `_token`
        # follows the request's scheme, https behind the ALB through the proxy headers.
        config["fab"] = {"enable_proxy_fix": "True", "cookie_secure": "True"}
    if airflow.secrets_backend == "aws-secrets-manager":
        # Airflow 3 task pods fall back from [workers] secrets_backend to this (§4.7).
        config["secrets"] = {"backend": SECRETS_MANAGER_BACKEND,
                             "backend_kwargs": secrets_backend_kwargs(region)}
    return config
