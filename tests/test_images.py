"""imageMirror (airflow_eks/images.py): which registry an image is on, how the mirror maps it,
and the node role's pull-through-cache grant. Pure."""

from __future__ import annotations

import pytest

from airflow_eks import images, versions

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(("repository", "registry", "qualified"), [
    ("apache/airflow", "docker.io", "docker.io/apache/airflow"),
    ("redis", "docker.io", "docker.io/library/redis"),
    ("docker.io/apache/airflow", "docker.io", "docker.io/apache/airflow"),
    ("index.docker.io/apache/airflow", "docker.io", "docker.io/apache/airflow"),
    ("quay.io/prometheus/statsd-exporter", "quay.io", "quay.io/prometheus/statsd-exporter"),
    ("registry.k8s.io/git-sync/git-sync", "registry.k8s.io", "registry.k8s.io/git-sync/git-sync"),
    ("localhost:5000/airflow", "localhost:5000", "localhost:5000/airflow"),
    (f"{ECR}/airflow", ECR, f"{ECR}/airflow"),
])
def test_registry_and_qualified_name_follow_dockers_rules(repository, registry, qualified):
    assert images.registry_of(repository) == registry
    assert images.qualified(repository) == qualified


def test_only_public_images_go_through_the_mirror():
    assert images.mirrored("apache/airflow", ECR) == f"{ECR}/docker.io/apache/airflow"
    assert images.mirrored("quay.io/prometheus/statsd-exporter", ECR) == f"{ECR}/quay.io/prometheus/statsd-exporter"
    assert images.mirrored(f"{ECR}/airflow", "harbor.example.com") == f"{ECR}/airflow"
    assert images.mirrored("apache/airflow", "") == "apache/airflow"


def test_sidecar_repositories_only_with_a_mirror():
    assert images.sidecar_repositories("") == {}
    got = images.sidecar_repositories("harbor.example.com/proxy")
    assert set(got) == set(images.CHART_SIDECAR_IMAGES)
    assert all(r.startswith("harbor.example.com/proxy/") and not images.is_public(r) for r in got.values())


def test_mirrored_registries_are_the_upstreams_actually_pulled():
    assert images.mirrored_registries("", airflow_repository="apache/airflow", cluster_autoscaler=True) == ()
    everything = images.mirrored_registries(ECR, airflow_repository="apache/airflow", cluster_autoscaler=True)
    assert everything == ("docker.io", "quay.io", "registry.k8s.io")
    own_airflow = images.mirrored_registries(ECR, airflow_repository=f"{ECR}/airflow", cluster_autoscaler=False)
    assert own_airflow == ("docker.io", "quay.io", "registry.k8s.io")  # PgBouncer is on Docker Hub anyway
    assert images.registry_of(versions.CLUSTER_AUTOSCALER_IMAGE_REPOSITORY) in everything


@pytest.mark.parametrize(("mirror", "expected"), [
    (ECR, ("aws", "123456789012", "eu-west-1", "")),
    (f"{ECR}/team", ("aws", "123456789012", "eu-west-1", "team/")),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ("aws-cn", "123456789012", "cn-north-1", "")),
    ("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", ("aws-us-gov", "123456789012", "us-gov-west-1", "")),
    ("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", ("aws", "123456789012", "us-east-1", "")),
])
def test_ecr_registries_are_recognised(mirror, expected):
    ecr = images.ecr_registry(mirror)
    assert (ecr.partition, ecr.account, ecr.region, ecr.path) == expected


@pytest.mark.parametrize("mirror", ["harbor.example.com", "123456789012.dkr.ecr.eu-west-1.example.com", ""])
def test_other_registries_get_no_aws_grant(mirror):
    assert images.ecr_registry(mirror) is None
    assert images.pull_through_cache_policy(mirror, ["quay.io"]) is None


def test_pull_through_grant_is_scoped_to_the_cache_repositories_in_use():
    doc = images.pull_through_cache_policy(f"{ECR}/team", ["quay.io", "docker.io", "quay.io"])
    [statement] = doc["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert statement["Resource"] == [
        "arn:aws:ecr:eu-west-1:123456789012:repository/team/docker.io/*",
        "arn:aws:ecr:eu-west-1:123456789012:repository/team/quay.io/*",
    ]
