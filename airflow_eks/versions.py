"""Version tables that several parts of the program must agree on.

Kept as data so config validation, the cluster component and the tests read one source.
"""

from __future__ import annotations

# Kubernetes minor -> Cluster Autoscaler image tag. The autoscaler's minor must match the
# cluster's (https://github.com/kubernetes/autoscaler#releases); the chart below accepts an
# image tag override, so one pinned chart serves every supported minor. Each tag is the
# latest patch release of its line (cluster-autoscaler-1.34.5 and -1.33.6 released
# 2026-07-23, -1.32.7 on 2026-02-13; images registry.k8s.io/autoscaling/cluster-autoscaler).
CLUSTER_AUTOSCALER_IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
}
CLUSTER_AUTOSCALER_CHART = "cluster-autoscaler"
CLUSTER_AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler"
# Last chart of the 1.34 line (appVersion 1.34.2 in the repository's index.yaml), so its
# RBAC and flags match the newest image in the table; 9.54.0 moved to 1.35.
CLUSTER_AUTOSCALER_CHART_VERSION = "9.53.0"

# The AWS Load Balancer Controller's image (chart 3.5.0's default repository; the chart's tag).
LOAD_BALANCER_CONTROLLER_IMAGE_REPOSITORY = "public.ecr.aws/eks/aws-load-balancer-controller"

SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(CLUSTER_AUTOSCALER_IMAGE_TAGS)

# RDS for PostgreSQL majors that Airflow 3.1 supports (Airflow prerequisites: 13+; RDS
# sells 13 to 17 today).
SUPPORTED_POSTGRES_MAJORS: tuple[int, ...] = (13, 14, 15, 16, 17)

# Airflow chart releases whose values.schema.json this program's values are tested against
# (tests/test_helm_values.py). Adding one: pull its schema, run the suite against it
# (README, "Development"), then list it here.
SUPPORTED_AIRFLOW_CHART_VERSIONS: tuple[str, ...] = ("1.19.0",)

AIRFLOW_CHART_NAME = "airflow"
AIRFLOW_CHART_REPO = "https://airflow.apache.org"
