"""Airflow by digest: one image for every pod, Job and task pod. Pure.

With `airflowImageDigest` set, the chart (1.19.0) must be told in three places, because it
builds the Airflow image reference three ways (templates/_helpers.yaml):

- `airflow_image` / `default_airflow_image` (every component, the migration and create-user
  Jobs): `<repository>@<digest>` from `images.airflow.digest` or `defaultAirflowDigest`;
- `pod_template_image` (the KubernetesExecutor's pod template file): always
  `<images.pod_template.repository>:<images.pod_template.tag>`, no digest;
- `[kubernetes_executor] worker_container_repository` and `worker_container_tag` in airflow.cfg,
  which the executor joins as `f"{repository}:{tag}"` and which then replaces the template's
  image in every task pod (apache-airflow-providers-cncf-kubernetes kube_config.py and
  pod_generator.construct_pod).

A digest reference `<repository>@sha256:<hex>` is exactly `<repository>@sha256` + ":" + `<hex>`,
so the last two get the repository with `@sha256` appended and the hex as the "tag": both then
render the same digest reference the components run. tests/test_rendered_airflow.py and the
runtime tier check the rendered pods and what Airflow's executor computes from airflow.cfg.
"""

from __future__ import annotations

import re

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)


def check(value: str) -> str:
    """A digest as ECR and `docker buildx` report it; ValueError otherwise."""
    if not _DIGEST.fullmatch(value):
        raise ValueError("sha256: and 64 lowercase hex digits, the digest the image workflow's pull request sets "
                         "(or `aws ecr describe-images` reports), e.g. sha256:" + "0" * 64)
    return value


def reference(repository: str, digest: str) -> str:
    return f"{repository}@{check(digest)}"


def split_for_tag_templates(repository: str, digest: str) -> tuple[str, str]:
    """(repository, tag) that `f"{repository}:{tag}"` turns into `repository@digest`."""
    algorithm, _, hex_ = check(digest).partition(":")
    return f"{repository}@{algorithm}", hex_


def chart_values(repository: str, digest: str) -> dict:
    """The chart values (merged over the program's) that pin every Airflow image to `digest`."""
    template_repository, template_tag = split_for_tag_templates(repository, digest)
    executor = {"worker_container_repository": template_repository, "worker_container_tag": template_tag}
    return {
        "defaultAirflowDigest": digest,
        "images": {
            "airflow": {"digest": digest},
            "pod_template": {"repository": template_repository, "tag": template_tag},
        },
        # Both sections, as the chart's defaults set both ([kubernetes] is the pre-2.5 name).
        "config": {"kubernetes_executor": dict(executor), "kubernetes": dict(executor)},
    }
