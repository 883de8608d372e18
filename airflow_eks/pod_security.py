"""Pod hardening and in-cluster access: security contexts, network-policy peers, RBAC. Pure.

What every pod the stack runs may do, in one place: the Airflow chart values
(helm_values.py), the Cluster Autoscaler values (autoscaler.py) and the Role, RoleBinding and
NetworkPolicy the Airflow component creates itself all read it. The rendered-manifest tests
(tests/test_rendered_*.py) check the result as Kubernetes receives it, and checkov's
findings that remain are listed with their reasons in scan/checkov-accepted.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_eks import names

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
AIRFLOW_LOGS_PATH = "/opt/airflow/logs"  # the chart's airflowHome + /logs (its `airflow_logs` helper)
AIRFLOW_TMP_VOLUME = "tmp"
AIRFLOW_LOGS_VOLUME = "logs"  # the chart's own name, where it mounts one
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


# --- Network policies ----------------------------------------------------------------------
# The chart's policies admit every Airflow pod of the release (StatsD, PgBouncer) or nobody
# (the API server without `from`); these peers are what the program adds.
AIRFLOW_PODS = {"tier": "airflow", "release": names.AIRFLOW_RELEASE}
STATSD_SCRAPE_PORT = 9102  # the chart's ports.statsdScrape
PGBOUNCER_SCRAPE_PORT = 9127  # the chart's ports.pgbouncerScrape
TRIGGERER_LOGS_PORT = 8794  # the chart's ports.triggererLogs


def ip_peers(cidrs: Sequence[str]) -> list[dict]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


def _component(component: str) -> dict:
    return {"matchLabels": {**AIRFLOW_PODS, "component": component}}


def api_server_peers(load_balancer_cidrs: Sequence[str]) -> list[dict]:
    """Who may open the API server's port: every Airflow pod (task pods call the Execution
    API, the DAG processor and triggerer too) and the load balancer's subnets (an ALB in IP
    mode connects from its own addresses there). `kubectl port-forward` enters the pod's
    network namespace through the kubelet and the VPC CNI always admits the node (kubelet
    probes), so neither needs a rule."""
    return [{"podSelector": {"matchLabels": dict(AIRFLOW_PODS)}}, *ip_peers(load_balancer_cidrs)]


def network_policies(scraper_cidrs: Sequence[str]) -> dict[str, dict]:
    """NetworkPolicy specs the program adds to the chart's, by object name.

    - default deny: pods no other policy selects (DAG processor, task pods, jobs) accept no
      connection; policies add up, so the chart's and the ones below still admit their peers;
    - triggerer logs: the chart admits only Airflow 2's `webserver` pods to the triggerer's
      log server, while in Airflow 3 the API server reads a deferred task's log there;
    - metrics scrape: a collector in `scraper_cidrs` may reach the exporters' scrape ports
      only. The chart's own policies put those in the same rule as StatsD's ingest and
      PgBouncer's database port, so a peer added there could also write metrics and open
      database sessions.
    """
    release = names.AIRFLOW_RELEASE
    policies = {
        f"{release}-default-deny-ingress": {"podSelector": {}, "policyTypes": ["Ingress"]},
        f"{release}-triggerer-logs": {
            "podSelector": _component("triggerer"),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": _component("api-server")}],
                         "ports": [{"protocol": "TCP", "port": TRIGGERER_LOGS_PORT}]}],
        },
    }
    if not scraper_cidrs:
        # An ingress rule with no peers admits every source.
        return policies
    policies[f"{release}-metrics-scrape"] = {
        "podSelector": {"matchLabels": dict(AIRFLOW_PODS), "matchExpressions": [
            {"key": "component", "operator": "In", "values": ["statsd", "pgbouncer"]}]},
        "policyTypes": ["Ingress"],
        "ingress": [{
            "from": ip_peers(scraper_cidrs),
            "ports": [{"protocol": "TCP", "port": STATSD_SCRAPE_PORT},
                      {"protocol": "TCP", "port": PGBOUNCER_SCRAPE_PORT}],
        }],
    }
    return policies
