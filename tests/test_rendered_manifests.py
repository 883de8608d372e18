"""What Kubernetes will actually run: every Helm release rendered with the real chart and the
whole program's values, plus the program's own objects, for dev, prod and each git-auth and
access variant. Schema-valid for the cluster's minor, wired to Secrets and service accounts
that exist, and hardened (tests/test_network_policies.py: who may reach what;
tests/test_checkov_gate.py: the peer scanner)."""

from __future__ import annotations

import configparser
import functools

import pytest
import yaml

from airflow_eks import images, load_balancer_controller, names, pod_security
from airflow_eks.offline import harness, loader
from tests import charts, kube_schema, manifests
from tests import pod_security_standards as pss
from tests.test_airflow_component import KNOWN_HOSTS, SSH_KEY, TOKEN

POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

# Config variants beyond the stack files: (stack, overrides, secrets). dev's own repository is
# public HTTPS and it has no UI ingress; prod's UI is behind an internal ALB with SSO.
VARIANTS: dict[str, tuple[str, dict, dict]] = {
    "dev": ("dev", {}, {}),
    "prod": ("prod", {}, {}),
    "https-token": ("dev", {"gitSyncRepo": "https://github.com/org/private-dags.git",
                            "gitSyncUsername": "x-access-token"}, {"gitSyncToken": TOKEN}),
    "ssh": ("prod", {"gitSyncRepo": "git@github.com:org/dags.git", "gitSyncKnownHosts": KNOWN_HOSTS},
            {"gitSyncSshKey": SSH_KEY}),
    "tasks-launch-pods": ("dev", {"tasksMayLaunchPods": "true"}, {}),
    "ui-internet-facing": ("prod", {"uiScheme": "internet-facing", "uiAllowedCidrs": ["203.0.113.0/24"]}, {}),
    # prod's UI behind the internal ALB with the password login: no SSO, a create-user Job
    "ui-password": ("prod", {"ssoIssuerUrl": "", "ssoClientId": "", "ssoRoleMapping": {}, "ssoClientSecret": None},
                    {}),
}
# Every chart a release of the program installs; the AWS Load Balancer Controller with a UI.
RELEASED_CHARTS = {"airflow", "cluster-autoscaler"}
UI_CHARTS = {"aws-load-balancer-controller"}


_RUNS: dict[str, harness.Run] = {}


@pytest.fixture(autouse=True, scope="module")
def _stack_runs(programs):
    """dev and prod are the session's whole-program runs (conftest); the others run here once."""
    _RUNS.update(programs)


def run(variant: str) -> harness.Run:
    if variant not in _RUNS:
        stack, overrides, secrets = VARIANTS[variant]
        _RUNS[variant] = harness.run_program(stack, overrides=overrides, secrets=secrets)
    return _RUNS[variant]


def settings(variant: str):
    """The validated configuration the program ran with (__main__'s `settings`)."""
    return run(variant).value["settings"]


@functools.cache
def objects(variant: str) -> list[dict]:
    return manifests.all_objects(run(variant))


@functools.cache
def task_pod(variant: str) -> dict:
    return manifests.task_pod_template(manifests.release_objects(run(variant), "airflow"))


def pods(variant: str) -> dict[str, dict]:
    """Every pod spec Kubernetes will run, by Kind/namespace/name; the task pod template too."""
    found = {f"{o['kind']}/{o['metadata']['namespace']}/{o['metadata']['name']}": charts.pod_spec(o)
             for o in objects(variant) if o["kind"] in WORKLOADS}
    found[f"Pod/{names.AIRFLOW_NAMESPACE}/task"] = task_pod(variant)["spec"]
    return found


def containers(spec: dict) -> list[dict]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def service_account(variant: str, namespace: str, name: str) -> dict:
    [sa] = [o for o in objects(variant) if o["kind"] == "ServiceAccount"
            and (o["metadata"]["namespace"], o["metadata"]["name"]) == (namespace, name)]
    return sa


variants = pytest.mark.parametrize("variant", VARIANTS)


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_every_released_chart_is_rendered(variant):
    expected = RELEASED_CHARTS | (UI_CHARTS if settings(variant).ui.enabled else set())
    assert set(manifests.releases(run(variant))) == expected
    assert {o["metadata"].get("labels", {}).get("helm.sh/chart", "").rsplit("-", 1)[0]
            for o in objects(variant) if o["kind"] == "Deployment"} >= expected - {"airflow"}


@variants
def test_the_create_user_job_runs_exactly_where_there_is_a_password_login(variant):
    jobs = {o["metadata"]["name"] for o in objects(variant) if o["kind"] == "Job"}
    assert (f"{names.AIRFLOW_RELEASE}-create-user" in jobs) is (settings(variant).ui.sso is None)
    assert f"{names.AIRFLOW_RELEASE}-run-airflow-migrations" in jobs


@variants
def test_every_object_is_valid_for_the_clusters_kubernetes_minor(variant):
    minor = manifests.cluster_minor(run(variant))
    assert minor == run(variant).one("eks:index:ManagedNodeGroup", name="airflow-system").get("version")
    everything = [*objects(variant), {"apiVersion": "v1", "kind": "Pod", **task_pod(variant)}]
    crds = manifests.custom_resource_definitions(run(variant))
    assert [e for o in everything for e in kube_schema.errors(o, minor, crds)] == []
    assert len(everything) > 40  # the renders really happened


def test_schema_validation_catches_an_unknown_field_and_a_bad_custom_resource():
    deployment = next(o for o in objects("dev") if o["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    minor = manifests.cluster_minor(run("dev"))
    assert kube_schema.errors(broken, minor) != []
    [params] = [o for o in objects("prod") if o["kind"] == "IngressClassParams"]
    crds = manifests.custom_resource_definitions(run("prod"))
    assert kube_schema.errors(params, minor, crds) == []
    assert kube_schema.errors({**params, "spec": {**params["spec"], "scheme": "public"}}, minor, crds) != []
    assert kube_schema.errors(params, minor) != []  # no CRD, no pass


def _secret_refs(spec: dict) -> list[tuple[str, str | None]]:
    """(Secret name, key or None) of every reference a pod spec makes."""
    refs = []
    for c in containers(spec):
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                refs.append((ref["name"], ref["key"]))
        refs += [(e["secretRef"]["name"], None) for e in c.get("envFrom", []) if "secretRef" in e]
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            keys = [i["key"] for i in volume["secret"].get("items", [])] or [None]
            refs += [(volume["secret"]["secretName"], k) for k in keys]
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                refs += [(source["secret"]["name"], i["key"]) for i in source["secret"].get("items", [])]
    return refs


@variants
def test_every_secret_a_pod_reads_exists_with_the_key(variant):
    secrets = {(o["metadata"]["namespace"], o["metadata"]["name"]): {**o.get("data", {}), **o.get("stringData", {})}
               for o in objects(variant) if o["kind"] == "Secret"}
    missing = []
    for where, spec in pods(variant).items():
        namespace = where.split("/")[1]
        for name, key in _secret_refs(spec):
            data = secrets.get((namespace, name))
            if data is None or (key is not None and key not in data):
                missing.append((where, name, key))
    assert missing == []


@variants
def test_no_airflow_pod_reads_a_secret_the_chart_generated(variant):
    """The Airflow chart renders some Secrets of its own (e.g. a Celery broker URL); a pod
    reading one would run with a value we neither generated nor pinned. (The controllers in
    kube-system may: the Load Balancer Controller's webhook certificate is its chart's.)"""
    program = {o["metadata"]["name"] for o in manifests.program_objects(run(variant)) if o["kind"] == "Secret"}
    chart = {o["metadata"]["name"] for o in manifests.release_objects(run(variant), "airflow") if o["kind"] == "Secret"}
    used = {name for where, spec in pods(variant).items() if where.split("/")[1] == names.AIRFLOW_NAMESPACE
            for name, _ in _secret_refs(spec)}
    assert used and used <= program
    assert not used & chart


@variants
def test_each_component_runs_as_the_service_account_its_pod_identity_association_names(variant):
    associated = {(a.get("namespace"), a.get("serviceAccount")) for a in run(variant).find(POD_IDENTITY)}
    specs = pods(variant)
    sa = names.SERVICE_ACCOUNTS
    expected = {
        f"Deployment/airflow/{names.AIRFLOW_RELEASE}-scheduler": sa.scheduler,
        f"Deployment/airflow/{names.AIRFLOW_RELEASE}-api-server": sa.api_server,
        f"Deployment/airflow/{names.AIRFLOW_RELEASE}-dag-processor": sa.dag_processor,
        f"StatefulSet/airflow/{names.AIRFLOW_RELEASE}-triggerer": sa.triggerer,
        "Pod/airflow/task": sa.worker,
        "Deployment/kube-system/cluster-autoscaler": names.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
    }
    if settings(variant).ui.enabled:
        expected["Deployment/kube-system/aws-load-balancer-controller"] = load_balancer_controller.SERVICE_ACCOUNT
    for where, account in expected.items():
        namespace = where.split("/")[1]
        assert specs[where]["serviceAccountName"] == account, where
        assert (namespace, account) in associated, where
        service_account(variant, namespace, account)  # the release creates it
    # and no association names an account nothing runs as (the EBS CSI add-on's is AWS's)
    running = {(w.split("/")[1], s.get("serviceAccountName")) for w, s in specs.items()}
    assert {a for a in associated if a[1] != names.EBS_CSI_SERVICE_ACCOUNT} <= running


@pytest.mark.parametrize("variant", ["dev", "https-token", "ssh"])
def test_task_pods_land_on_the_spot_pool_with_limits_and_both_git_sync_generations(variant):
    pod = task_pod(variant)["spec"]
    assert pod["nodeSelector"] == names.TASK_NODE_LABELS
    assert names.TASK_NODE_TAINT.toleration() in pod["tolerations"]
    [base] = [c for c in pod["containers"] if c["name"] == "base"]
    task = run(variant).one("kubernetes:core/v1:LimitRange").get("spec.limits")[0]
    assert base["resources"]["limits"] == task["default"]
    assert base["resources"]["requests"] == task["defaultRequest"]
    [git] = [c for c in pod["initContainers"] if c["name"] == "git-sync-init"]
    env = {e["name"]: e for e in git["env"]}
    for v3, v4 in (("GIT_SYNC_REPO", "GITSYNC_REPO"), ("GIT_SYNC_BRANCH", "GITSYNC_REF"),
                   ("GIT_SYNC_ONE_TIME", "GITSYNC_ONE_TIME")):
        assert env[v3]["value"] == env[v4]["value"], (v3, v4)
    stack, overrides, _ = VARIANTS[variant]
    repo = overrides.get("gitSyncRepo") or loader.stack_config(stack)[1]["airflow-eks:gitSyncRepo"]
    assert env["GITSYNC_REPO"]["value"] == repo
    if variant == "https-token":
        assert {"GIT_SYNC_USERNAME", "GITSYNC_USERNAME", "GIT_SYNC_PASSWORD", "GITSYNC_PASSWORD"} <= set(env)
    if variant == "ssh":
        assert env["GITSYNC_SSH"]["value"] == env["GIT_SYNC_SSH"]["value"] == "true"
        assert env["GITSYNC_SSH_KNOWN_HOSTS"]["value"] == "true"


# --- hardening ---------------------------------------------------------------------------

def _context(pod: dict, container: dict, field: str):
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    return container.get("securityContext", {}).get(field, pod.get("securityContext", {}).get(field))


@variants
def test_every_container_runs_non_root_with_seccomp_and_no_privileges(variant):
    weak = []
    for where, pod in pods(variant).items():
        for c in containers(pod):
            context = c.get("securityContext", {})
            if not (_context(pod, c, "seccompProfile") == pod_security.RUNTIME_DEFAULT_SECCOMP
                    and _context(pod, c, "runAsNonRoot") is True
                    # a numeric user: with runAsNonRoot the kubelet refuses an image whose USER
                    # is a name, and we do not read the images offline
                    and isinstance(_runs_as(pod, c), int) and _runs_as(pod, c) > 0
                    and context.get("allowPrivilegeEscalation") is False
                    and context.get("capabilities", {}).get("drop") == ["ALL"]
                    and not context.get("privileged")):
                weak.append((where, c["name"]))
    assert weak == []


@functools.cache
def chart_defaults() -> dict:
    """The Airflow chart's own values.yaml: the users its images run as unless told otherwise."""
    return yaml.safe_load((charts.require(charts.airflow_chart_dir()) / "values.yaml").read_text())


def _runs_as(pod: dict, container: dict) -> int:
    return container.get("securityContext", {}).get("runAsUser", pod.get("securityContext", {}).get("runAsUser"))


@variants
def test_every_pod_keeps_the_user_its_chart_runs_the_image_as(variant):
    """A security context we set replaces the chart's default, so each must restate the chart's
    user (and Airflow's gid 0, which owns the image's files and the mounted volumes)."""
    chart = chart_defaults()
    expected = {"pgbouncer": chart["pgbouncer"]["uid"], "statsd": chart["statsd"]["uid"]}
    for where, pod in pods(variant).items():
        if "/airflow/" not in where:
            continue
        component = next((c for c in expected if where.endswith(f"-{c}")), None)
        for c in containers(pod):
            if component:
                assert _runs_as(pod, c) == expected[component], (where, c["name"])
            elif c["name"].startswith("git-sync"):
                assert _runs_as(pod, c) == chart["dags"]["gitSync"]["uid"], (where, c["name"])
            else:
                assert _runs_as(pod, c) == chart["uid"], (where, c["name"])
        if not component:
            assert pod["securityContext"]["fsGroup"] == chart["gid"], where


@pytest.mark.parametrize("variant", ["ssh", "https-token"])
def test_git_sync_can_read_its_credentials(variant):
    """The chart mounts the SSH key with mode 0440: git-sync (its own uid) reads it through the
    group, which the kubelet sets to the pod's fsGroup and adds to every container's groups."""
    checked = 0
    for where, pod in pods(variant).items():
        git = [c for c in containers(pod) if c["name"].startswith("git-sync")]
        if not git:
            continue
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in git:
            for mount in c.get("volumeMounts", []):
                secret = volumes[mount["name"]].get("secret")
                if not secret:
                    continue
                mode = secret.get("defaultMode", 0o644)
                owner_reads = _runs_as(pod, c) == 0 and mode & 0o400
                group_reads = "fsGroup" in pod.get("securityContext", {}) and mode & 0o040
                assert owner_reads or group_reads or mode & 0o004, (where, c["name"], mount["mountPath"])
                checked += 1
    if variant == "ssh":
        assert checked >= 3  # DAG processor, triggerer, task pod


@variants
def test_the_cluster_autoscaler_is_fully_hardened(variant):
    pod = pods(variant)["Deployment/kube-system/cluster-autoscaler"]
    [c] = pod["containers"]
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["resources"]["limits"]["cpu"] and c["resources"]["limits"]["memory"]


@variants
def test_every_container_has_a_read_only_root_filesystem(variant):
    """Every chart's every container, init containers, sidecars and the task pod included."""
    writable = [(where, c["name"]) for where, pod in pods(variant).items() for c in containers(pod)
                if _context(pod, c, "readOnlyRootFilesystem") is not True]
    assert writable == []


def _scratch(variant: str, where: str, pod: dict) -> dict[str, str]:
    """Volume name -> kind (emptyDir, persistentVolumeClaim) of the pod's writable volumes: its
    emptyDirs and claims, the StatefulSet's claim templates too."""
    kinds = {v["name"]: next(k for k in ("emptyDir", "persistentVolumeClaim") if k in v)
             for v in pod.get("volumes", []) if "emptyDir" in v or "persistentVolumeClaim" in v}
    kind, namespace, name = where.split("/")
    if kind == "StatefulSet":
        [workload] = [o for o in objects(variant) if o["kind"] == kind
                      and (o["metadata"]["namespace"], o["metadata"]["name"]) == (namespace, name)]
        kinds.update({t["metadata"]["name"]: "persistentVolumeClaim"
                      for t in workload["spec"].get("volumeClaimTemplates", [])})
    return kinds


def _writable_mounts(variant: str, where: str, pod: dict, container: dict) -> dict[str, str]:
    """mountPath -> volume of every mount the container may write to."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    scratch = _scratch(variant, where, pod)
    found = {}
    for m in container.get("volumeMounts", []):
        if m.get("readOnly"):
            continue
        # A writable mount of anything but scratch space (a Secret, a ConfigMap) is refused by
        # the kubelet for those sources anyway; here it would mean the test misread the spec.
        assert m["name"] in scratch, (where, container["name"], m, volumes.get(m["name"]))
        found[m["mountPath"]] = m["name"]
    return found


def _kind_of_image(variant: str, container: dict) -> str:
    """"airflow" (the program's Airflow image), "git-sync", or the image's own name."""
    values = manifests.releases(run(variant))["airflow"].plain_inputs["values"]
    # By tag too: in dev the Airflow image and PgBouncer's share the repository apache/airflow.
    if container["image"] == f"{values['defaultAirflowRepository']}:{values['defaultAirflowTag']}":
        return "airflow"
    repository = container["image"].rpartition(":")[0]
    if repository.endswith(images.CHART_SIDECAR_IMAGES["gitSync"]):
        return "git-sync"
    return repository


@variants
def test_each_process_writes_only_where_its_image_does_and_git_sync_keeps_its_tmp_to_itself(variant):
    """The writable mounts per image (pod_security, Where each process may write): Airflow's
    /tmp and its logs folder, git-sync's /tmp and --root /git, nothing for the rest. git-sync's
    /tmp (its HOME: gitconfig, credential cache) is a volume of its own, never mounted by the
    Airflow containers beside it, which run DAG code."""
    expected = {"airflow": {pod_security.TMP_PATH, pod_security.AIRFLOW_LOGS_PATH},
                "git-sync": {pod_security.TMP_PATH, "/git"}}
    wrong, seen = [], set()
    for where, pod in pods(variant).items():
        for c in containers(pod):
            paths = _writable_mounts(variant, where, pod, c)
            kind = _kind_of_image(variant, c)
            seen.add(kind)
            if not set(paths) <= expected.get(kind, set()):
                wrong.append((where, c["name"], sorted(paths)))
            if kind in expected and pod_security.TMP_PATH not in paths:
                wrong.append((where, c["name"], "no /tmp"))
            if kind == "git-sync" and paths.get(pod_security.TMP_PATH) != pod_security.GIT_SYNC_TMP_VOLUME:
                wrong.append((where, c["name"], "git-sync's /tmp is shared"))
            if kind != "git-sync" and pod_security.GIT_SYNC_TMP_VOLUME in paths.values():
                wrong.append((where, c["name"], "mounts git-sync's /tmp"))
    assert wrong == []
    assert set(expected) <= seen


@variants
def test_the_logs_folder_is_writable_wherever_the_chart_runs_an_airflow_component(variant):
    """Components write their own logs (scheduler, DAG processor, triggerer, the task) there;
    the log groomers trim it. The API server and the Jobs log only to stdout (their task-log
    reads come from S3), which runtime/tests/test_write_paths.py checks on the real processes."""
    for where, pod in pods(variant).items():
        for c in containers(pod):
            if c["name"] in ("scheduler", "dag-processor", "triggerer", "base") or c["name"].endswith("-log-groomer"):
                assert pod_security.AIRFLOW_LOGS_PATH in _writable_mounts(variant, where, pod, c), (where, c["name"])


def test_the_create_user_jobs_own_init_container_mounts_the_config_as_the_charts_do():
    """Without airflow.cfg mounted, Airflow writes a default one into AIRFLOW_HOME, read-only."""
    specs = pods("dev")
    [ours] = [c for c in specs[f"Job/airflow/{names.AIRFLOW_RELEASE}-create-user"]["initContainers"]
              if c["name"] == "wait-for-airflow-migrations"]
    [charts_own] = [c for c in specs[f"Deployment/airflow/{names.AIRFLOW_RELEASE}-scheduler"]["initContainers"]
                    if c["name"] == "wait-for-airflow-migrations"]
    config = [m for m in charts_own["volumeMounts"] if m["name"] == "config"]
    assert config and [m for m in ours["volumeMounts"] if m["name"] == "config"] == config


@pytest.mark.parametrize("variant", ["dev", "prod", "tasks-launch-pods"])
def test_the_task_pod_template_is_the_charts_own_with_the_token_off_on_the_pod(variant):
    """podTemplate renders the chart's own pod-template file and adds one field: the same pod as
    without it, plus automountServiceAccountToken false unless tasks may launch pods."""
    release = manifests.releases(run(variant))["airflow"]
    values = release.plain_inputs["values"]
    launch = settings(variant).airflow.tasks_may_launch_pods
    assert ("podTemplate" in values) is not launch
    chart_default = manifests.task_pod_template(charts.render(
        charts.airflow_chart_dir(), {k: v for k, v in values.items() if k != "podTemplate"},
        release=release.get("name"), namespace=release.get("namespace")))
    ours = task_pod(variant)
    if launch:
        assert ours == chart_default
    else:
        assert ours["spec"].pop("automountServiceAccountToken") is False
        assert ours == chart_default


@variants
def test_the_session_cookie_is_secure_exactly_where_the_ui_is_served_over_https(variant):
    """[fab] cookie_secure in the airflow.cfg the chart renders (FAB's SESSION_COOKIE_SECURE)."""
    [config] = [o for o in objects(variant) if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == f"{names.AIRFLOW_RELEASE}-config"]
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(config["data"]["airflow.cfg"])
    assert cfg.getboolean("fab", "cookie_secure", fallback=False) is settings(variant).ui.enabled


def _token_mounted(variant: str, where: str, pod: dict) -> bool:
    if "automountServiceAccountToken" in pod:
        return pod["automountServiceAccountToken"]
    sa = service_account(variant, where.split("/")[1], pod.get("serviceAccountName", "default"))
    return sa.get("automountServiceAccountToken", True)


@variants
def test_only_api_clients_get_a_service_account_token(variant):
    launch = VARIANTS[variant][1].get("tasksMayLaunchPods") == "true"
    release = names.AIRFLOW_RELEASE
    expected = {f"Deployment/airflow/{release}-scheduler", f"Deployment/airflow/{release}-api-server",
                "Deployment/kube-system/cluster-autoscaler"}
    if launch:
        expected |= {"Pod/airflow/task", f"StatefulSet/airflow/{release}-triggerer"}
    if settings(variant).ui.enabled:  # it watches Ingresses, Services and Endpoints
        expected.add("Deployment/kube-system/aws-load-balancer-controller")
    with_token = {where for where, pod in pods(variant).items() if _token_mounted(variant, where, pod)}
    assert with_token == expected


def _grants(variant: str, account: str) -> set[tuple[str, str]]:
    """(resource, verb) pairs the RoleBindings in the airflow namespace give `account`."""
    roles = {o["metadata"]["name"]: o for o in objects(variant) if o["kind"] == "Role"}
    granted = set()
    for binding in (o for o in objects(variant) if o["kind"] == "RoleBinding"):
        if any(s["kind"] == "ServiceAccount" and s["name"] == account for s in binding["subjects"]):
            for rule in roles[binding["roleRef"]["name"]]["rules"]:
                granted |= {(r, v) for r in rule["resources"] for v in rule["verbs"]}
    return granted


@variants
def test_only_the_scheduler_launches_pods_unless_tasks_may(variant):
    launch = VARIANTS[variant][1].get("tasksMayLaunchPods") == "true"
    sa = names.SERVICE_ACCOUNTS
    assert ("pods", "create") in _grants(variant, sa.scheduler)
    for account in (sa.worker, sa.triggerer):
        assert (("pods", "create") in _grants(variant, account)) is launch, account
        assert (("pods/exec", "create") in _grants(variant, account)) is launch, account
    if not launch:
        # The scheduler's own role: no exec into pods.
        assert not {g for g in _grants(variant, sa.scheduler) if g[0] == "pods/exec"}
    assert not any(o["kind"] == "ClusterRoleBinding" and any(s["name"] == sa.worker for s in o["subjects"])
                   for o in objects(variant))


@variants
def test_task_pods_start_from_the_node_cache_and_components_ask_the_registry(variant):
    """Every image is pinned by tag; the pull policy follows how often a container starts.
    Task pods and git-sync (the chart's images.gitSync is also the task pods' init container):
    IfNotPresent, since with `Always` every task pod asks the registry first and the
    KubernetesExecutor fails a task outright on ErrImagePull, so a registry outage would fail
    tasks. Every other container starts rarely: `Always`, so each start checks that the
    registry still serves the tag to the node and a re-pushed tag cannot linger on some nodes."""
    task_pod_where = f"Pod/{names.AIRFLOW_NAMESPACE}/task"
    git_sync = images.CHART_SIDECAR_IMAGES["gitSync"]
    wrong, seen = [], set()
    for where, pod in pods(variant).items():
        for c in containers(pod):
            tag = c["image"].rpartition("/")[2].partition(":")[2]
            on_task_path = where == task_pod_where or c["image"].endswith(f"{git_sync}:{tag}")
            expected = "IfNotPresent" if on_task_path else "Always"
            seen.add(on_task_path)
            # Without a policy Kubernetes uses IfNotPresent for any tag but `latest`.
            if not tag or tag == "latest" or c.get("imagePullPolicy", "IfNotPresent") != expected:
                wrong.append((where, c["name"], c["image"], c.get("imagePullPolicy")))
    assert wrong == []
    assert seen == {True, False}
    assert {c["name"] for c in containers(pods(variant)[task_pod_where])} == {"base", "git-sync-init"}


# --- Pod Security Admission ------------------------------------------------------------------

@variants
def test_airflows_namespace_enforces_a_pod_security_profile_every_rendered_pod_meets(variant):
    """Every pod the charts and the program put in Airflow's namespace, the task pod template
    included, is admitted under the profile the namespace enforces (restricted; baseline with
    tasksMayLaunchPods), checked against the Pod Security Standards' rules."""
    launch = VARIANTS[variant][1].get("tasksMayLaunchPods") == "true"
    [namespace] = [o for o in objects(variant) if o["kind"] == "Namespace"
                   and o["metadata"]["name"] == names.AIRFLOW_NAMESPACE]
    labels = namespace["metadata"]["labels"]
    enforced = labels[f"{pod_security.POD_SECURITY_LABEL_PREFIX}enforce"]
    assert enforced == ("baseline" if launch else "restricted")
    assert labels[f"{pod_security.POD_SECURITY_LABEL_PREFIX}warn"] == "restricted"
    in_namespace = {where: pod for where, pod in pods(variant).items()
                    if where.split("/")[1] == names.AIRFLOW_NAMESPACE}
    assert f"Pod/{names.AIRFLOW_NAMESPACE}/task" in in_namespace and len(in_namespace) >= 8
    # restricted for every pod of ours whatever is enforced: what warn and audit report
    assert {where: pss.violations(pod, "restricted") for where, pod in in_namespace.items()} == {
        where: [] for where in in_namespace}


@variants
def test_a_task_pod_override_onto_the_nodes_network_or_files_is_refused(variant):
    """What the enforced profile is for: a task's executor_config may rewrite its own pod."""
    launch = VARIANTS[variant][1].get("tasksMayLaunchPods") == "true"
    enforced = pod_security.enforced_pod_security(tasks_may_launch_pods=launch)
    task = task_pod(variant)["spec"]
    host_network = {**task, "hostNetwork": True}
    host_root = {**task, "volumes": [*task["volumes"], {"name": "node", "hostPath": {"path": "/"}}]}
    base = next(c for c in task["containers"] if c["name"] == "base")
    privileged = {**task, "containers": [{**base, "securityContext": {**base["securityContext"], "privileged": True}}]}
    for spec in (host_network, host_root, privileged):
        assert pss.violations(spec, enforced), spec
