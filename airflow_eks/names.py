"""Names that several components must agree on, defined once.

Pod Identity associations (data and identity), node labels and taints (cluster) and the
Helm values (Airflow release) all refer to these; importing them from one place is what
keeps associations, node groups and chart values from drifting apart.
"""

from __future__ import annotations

from dataclasses import dataclass

# Fixed physical names: the Pod Identity associations and the chart's object names refer to
# them, so they are not auto-named.
AIRFLOW_NAMESPACE = "airflow"
AIRFLOW_RELEASE = "airflow"
KUBE_SYSTEM = "kube-system"


@dataclass(frozen=True)
class AirflowServiceAccounts:
    worker: str = "airflow-worker"
    scheduler: str = "airflow-scheduler"
    api_server: str = "airflow-api-server"
    triggerer: str = "airflow-triggerer"
    dag_processor: str = "airflow-dag-processor"

    @property
    def components(self) -> tuple[str, ...]:
        """Airflow's own long-running components (not task pods)."""
        return (self.scheduler, self.api_server, self.triggerer, self.dag_processor)


SERVICE_ACCOUNTS = AirflowServiceAccounts()

# AWS Secrets Manager name prefixes of the secrets backend (secretsBackend=aws-secrets-manager):
# the IAM policies grant read on exactly these, and the chart's backend_kwargs use them.
SECRETS_CONNECTIONS_PREFIX = "airflow/connections"
SECRETS_VARIABLES_PREFIX = "airflow/variables"

EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
# The chart's fullnameOverride: its Deployment and Service (which the metrics collector finds by name).
CLUSTER_AUTOSCALER_SERVICE = "cluster-autoscaler"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # Kubernetes spelling, e.g. NoSchedule

    @property
    def eks_effect(self) -> str:
        """The EKS node group API spells effects NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE."""
        return {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE",
                "PreferNoSchedule": "PREFER_NO_SCHEDULE"}[self.effect]

    def toleration(self) -> dict[str, str]:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


POOL_LABEL = "airflow-eks/pool"
SYSTEM_POOL = "system"
TASK_POOL = "tasks"
SYSTEM_NODE_LABELS = {POOL_LABEL: SYSTEM_POOL}
TASK_NODE_LABELS = {POOL_LABEL: TASK_POOL}
# Only task pods tolerate this, so the spot pool holds nothing else and can scale to zero.
TASK_NODE_TAINT = Taint(key="airflow-eks/tasks", value="true", effect="NoSchedule")
