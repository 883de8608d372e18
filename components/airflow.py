"""AirflowRelease: the `airflow` namespace, its LimitRange and Secrets, and the official chart.

Owns the namespace (so `pulumi destroy` deletes it, with its PVCs and their EBS volumes,
before the cluster add-ons it depends on), the task-default LimitRange, the generated
credentials (components/airflow_secrets.py) and the Helm release, whose values come from
the pure `helm_values.airflow_values()`.

Does not own the cluster, node groups, add-ons, StorageClass, Pod Identity associations,
database or buckets: the caller passes their names and, for ordering, the resources
themselves. The Kubernetes provider reaches every child through `providers=` on this
component.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from airflow_eks import helm_values, names, pod_security, ui_ingress, versions
from airflow_eks.config import AirflowSettings
from airflow_eks.metrics import task_statsd
from airflow_eks.ui_config import UiSettings
from components.airflow_secrets import AirflowSecrets, AirflowSecretsArgs

# A first install pulls images onto fresh nodes and runs Airflow 3's full `db migrate`
# (waited for up to helm_values.MIGRATION_WAIT_SECONDS); Helm's 300 s default is too short.
RELEASE_TIMEOUT_SECONDS = 1200
# Each revision is a Helm Secret with the whole rendered manifest; keep a rollback window.
RELEASE_MAX_HISTORY = 10


@dataclass
class AirflowReleaseArgs:
    settings: AirflowSettings
    region: str
    storage_class_name: pulumi.Input[str]
    """gp3 StorageClass for the triggerer's volume."""
    db_host: pulumi.Input[str]
    db_port: pulumi.Input[int]
    db_name: pulumi.Input[str]
    db_username: pulumi.Input[str]
    db_password: pulumi.Input[str]
    """Secret."""
    logs_bucket_name: pulumi.Input[str]
    namespace_depends_on: Sequence[pulumi.Resource]
    """EBS CSI add-on, StorageClass, Pod Identity associations: deleted only after the namespace."""
    release_depends_on: Sequence[pulumi.Resource]
    """Node groups, add-ons, associations: the release needs nodes, volumes and credentials."""
    image_mirror: str = ""
    """Registry public images are pulled through ('' for none; airflow_eks/images.py)."""
    ui: UiSettings | None = None
    """The UI behind the ALB and SSO (the Ingress itself is components/ui_ingress.py)."""
    load_balancer_cidrs: Sequence[str] = ()
    """Subnets the UI's load balancer connects to the API server from (its NetworkPolicy, and
    whose forwarded headers the API server trusts)."""
    metrics_scraper_cidrs: Sequence[str] = ()
    """Subnets a metrics collector scrapes the StatsD and PgBouncer exporters from."""
    fernet_key: pulumi.Input[str] | None = None
    """Secret (fernetKey): the key a restored database was encrypted with; None: generate one."""


class AirflowRelease(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    ui_command: pulumi.Output[str]
    """`kubectl port-forward` line that opens the UI on http://localhost:8080."""
    admin_user: str | None
    """None with SSO: no generated admin."""
    admin_password: pulumi.Output[str] | None
    """Secret; None with SSO."""
    fernet_key: pulumi.Output[str]
    """Secret: the Fernet key Airflow runs with (for the copy a teardown keeps)."""
    image: str
    """The Airflow image every component, Job and task pod runs (by digest when airflowImageDigest is set)."""
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: AirflowReleaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:airflow:AirflowRelease", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # With the UI, labelled for the ALB controller's readiness gates. No ordering against
        # the controller is needed: its webhook injects a gate only into pods created while a
        # TargetGroupBinding refers to a Service selecting them, and that binding comes from
        # the UI's Ingress, created after this release. So the first API server pods never get
        # a gate whatever the webhook's timing (and must not: this release waits for them to
        # be Ready before the Ingress exists); every later rollout finds the webhook and the
        # binding in place.
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            # Fixed: the Pod Identity associations name this namespace.
            # Its Pod Security Standards profile (pod_security.pod_security_admission_labels):
            # no pod here, a task's pod_override included, may use the node's network or files.
            metadata=k8s.meta.v1.ObjectMetaArgs(name=names.AIRFLOW_NAMESPACE, labels={
                **ui_ingress.namespace_labels(args.ui),
                **pod_security.pod_security_admission_labels(
                    tasks_may_launch_pods=args.settings.tasks_may_launch_pods)}),
            opts=child.merge(pulumi.ResourceOptions(depends_on=list(args.namespace_depends_on))),
        )
        self.namespace = namespace.metadata.name

        task = args.settings.task_resources
        limits = k8s.core.v1.LimitRange(
            f"{name}-container-defaults",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=self.namespace),
            spec=k8s.core.v1.LimitRangeSpecArgs(limits=[k8s.core.v1.LimitRangeItemArgs(
                type="Container",
                default={"cpu": task.cpu_limit, "memory": task.memory_limit},
                default_request={"cpu": task.cpu_request, "memory": task.memory_request},
            )]),
            opts=child,
        )

        secrets = AirflowSecrets(f"{name}-secrets", AirflowSecretsArgs(
            namespace=self.namespace,
            git_sync=args.settings.git_sync,
            db_host=args.db_host,
            db_port=args.db_port,
            db_name=args.db_name,
            db_username=args.db_username,
            db_password=args.db_password,
            sso_client_secret=args.ui.client_secret if args.ui else None,
            fernet_key=args.fernet_key,
        ), opts=child)
        self.fernet_key = secrets.fernet_key

        access = self._pod_access(name, args, child)
        self._task_statsd(name, args, child)

        settings, region, mirror, ui = args.settings, args.region, args.image_mirror, args.ui
        lb_cidrs = tuple(args.load_balancer_cidrs)
        values = pulumi.Output.all(
            args.logs_bucket_name, args.storage_class_name, secrets.pgbouncer_ini_sha256,
            secrets.generations,
        ).apply(lambda v: helm_values.airflow_values(
            settings, region=region, logs_bucket=v[0], storage_class=v[1], pgbouncer_ini_sha256=v[2],
            image_mirror=mirror, ui=ui, load_balancer_cidrs=lb_cidrs, generations=v[3],
        ))
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            # Fixed: service account, Service and pgbouncer host names derive from it.
            name=names.AIRFLOW_RELEASE,
            chart=versions.AIRFLOW_CHART_NAME,
            version=settings.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=versions.AIRFLOW_CHART_REPO),
            namespace=self.namespace,
            values=values,
            timeout=RELEASE_TIMEOUT_SECONDS,
            # Await readiness (the chart's Jobs run without hooks, so this cannot deadlock), so
            # a green `up` means a working Airflow: scheduler, API server, DAG processor and
            # triggerer only become Ready after their wait-for-airflow-migrations init
            # containers saw the migrations done.
            skip_await=False,
            # Not the Jobs themselves: Helm checks them last, and one already deleted by its
            # ttlSecondsAfterFinished (helm_values.JOB_TTL_SECONDS) fails the install with
            # `jobs.batch ... not found` (bitnami/charts#29847, helm/helm#11347), which atomic
            # would turn into an uninstall of a working release. A long TTL would instead leave
            # the finished Job for the next upgrade to patch: "field is immutable"
            # (apache/airflow#27561). A failed create-user Job therefore does not fail `up`.
            wait_for_jobs=False,
            # atomic: a failed upgrade rolls back to the last working revision instead of
            # leaving Airflow half-rolled, and a failed first install is purged so the next
            # `up` installs afresh instead of upgrading a release that never worked. The cost:
            # failed pods are gone afterwards, so debug with kubectl within the timeout. DB
            # migrations that already ran are not rolled back.
            atomic=True,
            cleanup_on_fail=True,
            max_history=RELEASE_MAX_HISTORY,
            opts=child.merge(pulumi.ResourceOptions(
                depends_on=[limits, *secrets.secrets, *access, *args.release_depends_on],
            )),
        )

        self.ui_command = pulumi.Output.all(self.namespace, self.release.id).apply(
            lambda v: helm_values.ui_command(v[0])
        )
        self.image = helm_values.airflow_image(args.settings, args.image_mirror)
        self.admin_password = secrets.admin_password
        self.admin_user = helm_values.ADMIN_USERNAME if self.admin_password is not None else None
        self.register_outputs({
            "namespace": self.namespace,
            "ui_command": self.ui_command,
            "admin_user": self.admin_user,
            "admin_password": self.admin_password,
            "image": self.image,
        })

    def _pod_access(self, name: str, args: AirflowReleaseArgs, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """What the chart cannot express: the scheduler's own pod-launcher role when task pods
        may not launch pods (helm_values: allowPodLaunching), and every NetworkPolicy of the
        namespace, the chart's being off (pod_security.network_policies)."""
        namespace = self.namespace
        created: list[pulumi.Resource] = []
        if not args.settings.tasks_may_launch_pods:
            role = k8s.rbac.v1.Role(
                f"{name}-scheduler-pod-launcher",
                # Fixed: the binding below and `kubectl describe` runbooks name it.
                metadata=k8s.meta.v1.ObjectMetaArgs(name=pod_security.SCHEDULER_POD_LAUNCHER_ROLE, namespace=namespace),
                rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"])
                       for r in pod_security.SCHEDULER_POD_LAUNCHER_RULES],
                opts=child,
            )
            binding = k8s.rbac.v1.RoleBinding(
                f"{name}-scheduler-pod-launcher",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=pod_security.SCHEDULER_POD_LAUNCHER_ROLE, namespace=namespace),
                # By name, not role.metadata.name: both are created side by side.
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role",
                                                 name=pod_security.SCHEDULER_POD_LAUNCHER_ROLE),
                subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=names.SERVICE_ACCOUNTS.scheduler,
                                                  namespace=namespace)],
                opts=child,
            )
            created += [role, binding]
        for policy, spec in pod_security.network_policies(args.load_balancer_cidrs, args.metrics_scraper_cidrs).items():
            created.append(k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy.removeprefix(names.AIRFLOW_RELEASE + '-')}",
                # Fixed: runbooks and `kubectl describe networkpolicy` name them.
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=namespace),
                spec=spec,
                opts=child,
            ))
        return created

    def _task_statsd(self, name: str, args: AirflowReleaseArgs, child: pulumi.ResourceOptions) -> None:
        """The task pods' own StatsD exporter (airflow_eks/metrics/task_statsd.py); fixed names:
        the task pod template sends to the Service by name."""
        metadata = k8s.meta.v1.ObjectMetaArgs(name=task_statsd.NAME, namespace=self.namespace,
                                              labels=dict(task_statsd.LABELS))
        config = k8s.core.v1.ConfigMap(f"{name}-task-statsd", metadata=metadata,
                                       data={task_statsd.MAPPING_FILE: task_statsd.mapping_yaml()}, opts=child)
        k8s.apps.v1.Deployment(
            f"{name}-task-statsd", metadata=metadata,
            spec=task_statsd.deployment_spec(image_mirror=args.image_mirror,
                                             resources=helm_values.COMPONENT_RESOURCES["statsd"]),
            # It runs on the system nodes, like the chart's exporter: readiness needs them.
            opts=child.merge(pulumi.ResourceOptions(depends_on=[config, *args.release_depends_on])))
        k8s.core.v1.Service(f"{name}-task-statsd", metadata=metadata, spec=task_statsd.service_spec(), opts=child)

