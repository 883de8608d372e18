"""Pod hardening and in-cluster access: security contexts, network-policy peers, RBAC. Pure.

What every pod the stack runs may do, in one place: the Airflow chart values
(helm_values.py), the Cluster Autoscaler values (autoscaler.py) and the Role, RoleBinding and
NetworkPolicy the Airflow component creates itself all read it. The rendered-manifest tests
(tests/test_rendered_*.py) check the result as Kubernetes receives it, and checkov's
findings that remain are listed with their reasons in scan/checkov-accepted.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_eks import names, secret_data

RUNTIME_DEFAULT_SECCOMP = {"type": "RuntimeDefault"}

# The Airflow image runs as uid 50000 with gid 0 (the chart's `uid`/`gid`); a pod context we
# set replaces the chart's default (runAsUser uid, fsGroup gid), so it restates both.
AIRFLOW_UID = 50000
AIRFLOW_GID = 0
# The chart's own uids of the images it runs beside Airflow (values.yaml `uid` of each block).
GIT_SYNC_UID = 65533
NOBODY_UID = 65534  # StatsD exporter, PgBouncer and its exporter
# The Cluster Autoscaler and AWS Load Balancer Controller images are static binaries on
# distroless bases; 65532 is their `nonroot` user. Above 10000, so no clash with a node's system
# users (checkov CKV_K8S_40).
NONROOT_UID = 65532
CLUSTER_AUTOSCALER_UID = NONROOT_UID


def pod_context(uid: int, gid: int | None = None) -> dict:
    """A pod security context: non-root `uid`, RuntimeDefault seccomp, volumes owned by `gid`."""
    context: dict = {"runAsUser": uid, "runAsNonRoot": True, "seccompProfile": dict(RUNTIME_DEFAULT_SECCOMP)}
    if gid is not None:
        context["fsGroup"] = gid
    return context


def container_context(uid: int | None = None) -> dict:
    """No privilege escalation, no capabilities, non-root, a read-only root filesystem (each
    process writes only to the emptyDir volumes below); `uid` where a chart would otherwise
    fall back to its own default for the container."""
    context: dict = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                     "readOnlyRootFilesystem": True}
    if uid is not None:
        context["runAsUser"] = uid
    return context


# --- Where each process may write ------------------------------------------------------------
# Root filesystems are read-only; a process writes only to volumes its container mounts. Found
# from the images' documented paths and sources (README, Pod security, says what was verified
# and how; runtime/tests/test_write_paths.py watches the real Airflow processes):
# - Airflow image (apache/airflow Dockerfile): AIRFLOW_HOME=/opt/airflow holds the mounted
#   config files and `logs` (the chart's emptyDir, or the triggerer's PVC); HOME=/home/airflow
#   holds the image's virtualenv (.local) and stays read-only; temporary files, and the pip/uv
#   caches the image points at /tmp/.cache, go to /tmp.
# - git-sync (kubernetes/git-sync Dockerfile.in, main.go): its --root /git (the chart's `dags`
#   emptyDir) and /tmp, which is also its HOME: the private gitconfig (os.CreateTemp) and git's
#   credential-cache socket. Its own /tmp volume, so the Airflow containers beside it (which run
#   DAG code) never share that directory.
# - PgBouncer writes nothing once its Unix socket is off (secret_data.pgbouncer_ini); the StatsD
#   and PgBouncer exporters, the Cluster Autoscaler and the Load Balancer Controller (whose
#   webhook certificate is a Secret volume) write nothing.
TMP_PATH = "/tmp"  # noqa: S108 - a mount path in the pod, an emptyDir of its own
AIRFLOW_HOME = "/opt/airflow"  # the image's AIRFLOW_HOME and the chart's airflowHome
AIRFLOW_LOGS_PATH = f"{AIRFLOW_HOME}/logs"  # the chart's `airflow_logs` helper
AIRFLOW_TMP_VOLUME = "tmp"
GIT_SYNC_TMP_VOLUME = "git-sync-tmp"


def scratch_volumes(*volumes: str) -> list[dict]:
    """emptyDir volumes: node-local scratch space that lives and dies with the pod."""
    return [{"name": volume, "emptyDir": {}} for volume in volumes]


def mount(volume: str, path: str) -> dict:
    return {"name": volume, "mountPath": path}


# --- Kubernetes API access ---------------------------------------------------------------
# Which Airflow components call the Kubernetes API, and so keep a service-account token:
# the scheduler launches and watches task pods (KubernetesExecutor); the API server reads a
# running task's log from its pod (the chart's pod-log-reader role). Everything else talks
# only to PgBouncer, the API server's Execution API, S3 and git.
API_CLIENTS = frozenset({"scheduler", "apiServer"})
# With tasksMayLaunchPods, task pods (KubernetesPodOperator) and the triggerer (which polls
# deferred KubernetesPodOperator pods) join them, through the chart's pod-launcher role.
POD_LAUNCHERS = frozenset({"workers", "triggerer"})


def needs_api_token(component: str, *, tasks_may_launch_pods: bool) -> bool:
    return component in API_CLIENTS or (tasks_may_launch_pods and component in POD_LAUNCHERS)


SCHEDULER_POD_LAUNCHER_ROLE = f"{names.AIRFLOW_RELEASE}-scheduler-pod-launcher"
# What the KubernetesExecutor does with task pods: create, watch, adopt (patch) and delete
# them, and read their events and logs. The chart's pod-launcher role also grants
# pods/exec, which the executor never uses and which would let its holder run commands in
# any pod of the namespace.
SCHEDULER_POD_LAUNCHER_RULES = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "list", "get", "patch", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]},
)


# --- Pod Security Admission ---------------------------------------------------------------
# Airflow's namespace enforces a Pod Security Standards profile (Pod Security Admission, built
# into every EKS version): the API server refuses any pod that breaks it, whoever creates it.
# What it stops: a task's `executor_config` pod_override may set anything on its own pod, e.g.
# `hostNetwork: true` (the node's address, which the VPC CNI's policy agent always admits: every
# NetworkPolicy above bypassed, and IMDS and the node role's credentials within reach despite the
# hop limit of 1), `privileged`, or a hostPath of the node's root, and then read every Secret and
# Pod Identity token of the pods on that node. `restricted` is what every pod the charts render
# already meets (tests/test_rendered_manifests.py checks each against the standard's rules).
# With tasksMayLaunchPods, DAGs start pods of their own (KubernetesPodOperator), whose images
# often run as root: `baseline` then, which still refuses host namespaces, privileged
# containers, hostPath volumes and added capabilities. `warn` and `audit` stay `restricted`, so
# kubectl and the audit log name what would break it.
POD_SECURITY_LABEL_PREFIX = "pod-security.kubernetes.io/"
RESTRICTED = "restricted"
BASELINE = "baseline"


def enforced_pod_security(*, tasks_may_launch_pods: bool) -> str:
    """The Pod Security Standards profile Airflow's namespace enforces."""
    return BASELINE if tasks_may_launch_pods else RESTRICTED


def pod_security_admission_labels(*, tasks_may_launch_pods: bool) -> dict[str, str]:
    """Namespace labels for Pod Security Admission (policy version: the cluster's own, `latest`)."""
    return {f"{POD_SECURITY_LABEL_PREFIX}enforce": enforced_pod_security(tasks_may_launch_pods=tasks_may_launch_pods),
            f"{POD_SECURITY_LABEL_PREFIX}warn": RESTRICTED,
            f"{POD_SECURITY_LABEL_PREFIX}audit": RESTRICTED}


# --- Network policies ----------------------------------------------------------------------
# The chart's own policies are off (helm_values: networkPolicies): they admit every pod labelled
# as this release's to StatsD ingest, task pods included, so DAG code could send the scheduler's
# heartbeat; and the chart cannot be told to leave out one of them. The program renders them
# all instead, each admitting exactly its peers. Names differ from the chart's (`-policy`), so
# that on the upgrade that turns the chart's off, ours exist before Helm deletes the chart's.
AIRFLOW_PODS = {"tier": "airflow", "release": names.AIRFLOW_RELEASE}
# The KubernetesExecutor labels every task pod it launches `kubernetes_executor: "True"` after
# the pod template and before a task's own pod_override (cncf.kubernetes provider,
# PodGenerator.construct_pod and build_labels_for_k8s_executor_pod): an override can change the
# value but never drop the key, so its presence tells task pods from Airflow's components
# whatever else a DAG sets (runtime tier: runtime/tests/test_task_pod_labels.py).
TASK_POD_LABEL = "kubernetes_executor"
API_SERVER_PORT = 8080  # the chart's ports.apiServer
PGBOUNCER_PORT = secret_data.PGBOUNCER_PORT  # pgbouncer.ini's listen_port (the chart's ports.pgbouncer)
STATSD_INGEST_PORT = 9125  # the chart's ports.statsdIngest
STATSD_SCRAPE_PORT = 9102  # the chart's ports.statsdScrape
PGBOUNCER_SCRAPE_PORT = 9127  # the chart's ports.pgbouncerScrape
TRIGGERER_LOGS_PORT = 8794  # the chart's ports.triggererLogs
TASK_STATSD_COMPONENT = "task-statsd"  # airflow_eks/metrics/task_statsd.py


def ip_peers(cidrs: Sequence[str]) -> list[dict]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


def _component(component: str) -> dict:
    return {"matchLabels": {**AIRFLOW_PODS, "component": component}}


def _airflow_pods(*, tasks: bool | None) -> dict:
    """This release's pods: every one (None), only task pods (True), or none of them (False)."""
    if tasks is None:
        return {"podSelector": {"matchLabels": dict(AIRFLOW_PODS)}}
    operator = "Exists" if tasks else "DoesNotExist"
    return {"podSelector": {"matchLabels": dict(AIRFLOW_PODS),
                            "matchExpressions": [{"key": TASK_POD_LABEL, "operator": operator}]}}


def api_server_peers(load_balancer_cidrs: Sequence[str]) -> list[dict]:
    """Who may open the API server's port: every Airflow pod (task pods call the Execution
    API, the DAG processor and triggerer too) and the load balancer's own subnets (an ALB in IP
    mode connects from its addresses there, where no pod has one). `kubectl port-forward`
    enters the pod's network namespace through the kubelet and the VPC CNI always admits the
    node (kubelet probes), so neither needs a rule."""
    return [_airflow_pods(tasks=None), *ip_peers(load_balancer_cidrs)]


def _ingress(selector: dict, peers: list[dict], *ports: tuple[str, int]) -> dict:
    return {"podSelector": selector, "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": [{"protocol": p, "port": n} for p, n in ports]}]}


def network_policies(load_balancer_cidrs: Sequence[str], scraper_cidrs: Sequence[str]) -> dict[str, dict]:
    """Every NetworkPolicy of Airflow's namespace, by object name.

    - default deny: pods no other policy selects (scheduler, DAG processor, task pods, jobs)
      accept no connection; policies add up, so the ones below still admit their peers;
    - API server: every Airflow pod, and the UI's load balancer from its own subnets;
    - PgBouncer: every Airflow pod, on the database port only;
    - StatsD: Airflow's components only, never a task pod (they send to their own exporter);
    - the task pods' StatsD exporter: task pods only;
    - triggerer logs: the API server (in Airflow 3 it reads a deferred task's log there);
    - metrics scrape: a collector in `scraper_cidrs` (its own subnets) may reach the exporters'
      scrape ports only, never StatsD's ingest or PgBouncer's database port.
    Every rule names its peers: an ingress rule with no peers would admit every source.
    """
    release = names.AIRFLOW_RELEASE
    policies = {
        f"{release}-default-deny-ingress": {"podSelector": {}, "policyTypes": ["Ingress"]},
        f"{release}-api-server-ingress": _ingress(
            _component("api-server"), api_server_peers(load_balancer_cidrs), ("TCP", API_SERVER_PORT)),
        f"{release}-pgbouncer-ingress": _ingress(
            _component("pgbouncer"), [_airflow_pods(tasks=None)], ("TCP", PGBOUNCER_PORT)),
        f"{release}-statsd-ingest": _ingress(
            _component("statsd"), [_airflow_pods(tasks=False)], ("UDP", STATSD_INGEST_PORT)),
        f"{release}-task-statsd-ingest": _ingress(
            _component(TASK_STATSD_COMPONENT), [_airflow_pods(tasks=True)], ("UDP", STATSD_INGEST_PORT)),
        f"{release}-triggerer-logs": _ingress(
            _component("triggerer"), [{"podSelector": _component("api-server")}], ("TCP", TRIGGERER_LOGS_PORT)),
    }
    if scraper_cidrs:
        policies[f"{release}-metrics-scrape"] = _ingress(
            {"matchLabels": dict(AIRFLOW_PODS), "matchExpressions": [
                {"key": "component", "operator": "In", "values": ["statsd", TASK_STATSD_COMPONENT, "pgbouncer"]}]},
            ip_peers(scraper_cidrs), ("TCP", STATSD_SCRAPE_PORT), ("TCP", PGBOUNCER_SCRAPE_PORT))
    return policies
