"""Version tables that several parts of the program must agree on.

Kept as data so config validation, the cluster component and the tests read one source.
"""

from __future__ import annotations

from airflow_eks import kubernetes_support

# Kubernetes minor -> Cluster Autoscaler image tag. The autoscaler's minor must match the
# cluster's (https://github.com/kubernetes/autoscaler#releases); the chart below accepts an
# image tag override, so one pinned chart serves every supported minor. Each tag is the
# latest patch release of its line (kubernetes/autoscaler tags cluster-autoscaler-1.33.6,
# -1.34.5, -1.35.2 and -1.36.1 of 2026-07-22, -1.32.7 of 2026-02-13; images
# registry.k8s.io/autoscaling/cluster-autoscaler).
CLUSTER_AUTOSCALER_IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}
CLUSTER_AUTOSCALER_CHART = "cluster-autoscaler"
CLUSTER_AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler"
# Chart version -> the autoscaler minor of its release line (appVersion in its Chart.yaml).
# 9.59.0 (2026-07-21, appVersion 1.35.0) is the newest chart: the 1.36 line (9.60.0, image
# tag v1.36.1 and nothing else changed) is not released (kubernetes/autoscaler#9866).
CLUSTER_AUTOSCALER_CHART_LINES: dict[str, str] = {"9.53.0": "1.34", "9.59.0": "1.35"}
# The line of the default kubernetesVersion, so its RBAC and flags match the default image;
# the other minors run their own image on it.
CLUSTER_AUTOSCALER_CHART_VERSION = "9.59.0"

# The StatsD exporter's tag in Airflow chart 1.19.0 (values.yaml images.statsd.tag): the task
# pods' own exporter (airflow_eks/metrics/task_statsd.py) runs the same build as the chart's.
STATSD_EXPORTER_TAG = "v0.28.0"

# The AWS Load Balancer Controller's image (chart 3.5.0's default repository; the chart's tag).
LOAD_BALANCER_CONTROLLER_IMAGE_REPOSITORY = "public.ecr.aws/eks/aws-load-balancer-controller"

# Minors the program accepts: EKS publishes their support dates and an autoscaler release of
# the same minor exists. Whether a minor is still offered on the day of a run is checked
# against the calendar (airflow_eks/kubernetes_support.py) by the config validation.
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(
    m for m in kubernetes_support.CALENDAR if m in CLUSTER_AUTOSCALER_IMAGE_TAGS)

# RDS for PostgreSQL majors that the default Airflow supports: "PostgreSQL | 14, 15, 16, 17, 18"
# in apache-airflow 3.3.2's README ("Requirements", stable version 3.3.2; 3.1 listed 13 to 17, and
# 13 reached its community end of life in November 2025). RDS sells all five (RDS for PostgreSQL
# release notes: versions 14 to 18).
SUPPORTED_POSTGRES_MAJORS: tuple[int, ...] = (14, 15, 16, 17, 18)

# Airflow chart releases whose values.schema.json this program's values are tested against
# (tests/test_helm_values.py). Adding one: pull its schema, run the suite against it
# (docs/getting-started.md, "Charts for the tests"), then list it here.
SUPPORTED_AIRFLOW_CHART_VERSIONS: tuple[str, ...] = ("1.19.0",)

AIRFLOW_CHART_NAME = "airflow"
AIRFLOW_CHART_REPO = "https://airflow.apache.org"
