"""Record a deploy on the image it deploys, so the repository's lifecycle policy never expires it.

    python -m tools.image_deploys record prod/airflow sha256:...

deploy.yml runs this before `pulumi up -s prod`, as the image push role (the repository policy
lets only it read manifests and put images). One BatchGetImage reads the deploy records
(`deployed-*` tags) and the manifest of the digest to deploy; then PutImage moves the tags in
the order airflow_eks/image/deployments.py gives, each with the manifest exactly as ECR stored
it and its digest, so ECR tags that very image (ImageDigestDoesNotMatchException otherwise).
Adding a tag to an image already in the repository uploads nothing and keeps its push time.

Exits 1, before anything moves, when the digest is not in the repository (expired, or never
pushed there): the deploy stops before a pod is asked to pull an image that is gone.
Needs the AWS CLI (installed on GitHub's runners) and the job's AWS credentials; nothing else.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from airflow_eks.image import deployments
from airflow_eks.image import digest as image_digest

# The manifests a pushed image can have (docker buildx, docker push): ECR returns a manifest
# unchanged only in a type the request accepts (BatchGetImage acceptedMediaTypes).
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


@dataclass(frozen=True)
class Image:
    digest: str
    manifest: str
    media_type: str
    tag: str | None
    """The tag it was asked for by, None when asked for by digest."""


class Ecr(Protocol):
    """The two ECR calls a record needs."""

    def batch_get_image(self, repository: str, tags: Sequence[str], digests: Sequence[str]) -> list[Image]:
        """The images found; tags and digests not in the repository are left out, any other
        failure raises RuntimeError."""

    def put_image(self, repository: str, image: Image, tag: str) -> None:
        """Tag `image` with `tag`; nothing when it carries that tag already."""


class AwsCli:
    """Ecr through the AWS CLI (JSON output), with the job's credentials and region."""

    def __init__(self, aws: str = "aws") -> None:
        self.aws = aws

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # An argument list, no shell: the repository, tags, digest and manifest are data.
        return subprocess.run([self.aws, "ecr", *args, "--output", "json"],  # noqa: S603
                              capture_output=True, text=True, check=False, timeout=120)

    def batch_get_image(self, repository: str, tags: Sequence[str], digests: Sequence[str]) -> list[Image]:
        ids = [*(f"imageTag={t}" for t in tags), *(f"imageDigest={d}" for d in digests)]
        done = self._run("batch-get-image", "--repository-name", repository, "--image-ids", *ids,
                         "--accepted-media-types", *MANIFEST_TYPES)
        if done.returncode != 0:
            raise RuntimeError(f"aws ecr batch-get-image failed: {done.stderr.strip()}")
        found = json.loads(done.stdout)
        # A tag or digest that is not there is ImageNotFound. Any other failure (KmsError, an
        # image ECR could not return) stops the record before a tag moves: a deploy record it
        # could not read would look empty and be overwritten.
        failed = [f for f in found.get("failures", []) if f.get("failureCode") != "ImageNotFound"]
        if failed:
            raise RuntimeError(f"aws ecr batch-get-image could not read {failed}")
        return [Image(digest=i["imageId"]["imageDigest"], manifest=i["imageManifest"],
                      media_type=i.get("imageManifestMediaType", ""), tag=i["imageId"].get("imageTag"))
                for i in found.get("images", [])]

    def put_image(self, repository: str, image: Image, tag: str) -> None:
        args = ["put-image", "--repository-name", repository, "--image-manifest", image.manifest,
                "--image-tag", tag, "--image-digest", image.digest]
        if image.media_type:
            args += ["--image-manifest-media-type", image.media_type]
        done = self._run(*args)
        # PutImage's "no changes to the manifest or image tag after the last push": already done.
        if done.returncode != 0 and "ImageAlreadyExistsException" not in done.stderr:
            raise RuntimeError(f"aws ecr put-image {tag} failed: {done.stderr.strip()}")


def record(ecr: Ecr, repository: str, deployed: str) -> list[str]:
    """Record a deploy of `deployed` in `repository`; the lines to log. ValueError when the digest
    is not there."""
    image_digest.check(deployed)
    found = ecr.batch_get_image(repository, deployments.TAGS, [deployed])
    by_digest = {i.digest: i for i in found}
    if deployed not in by_digest:
        raise ValueError(f"{deployed} is not in {repository}: it expired or was never pushed there. Nothing was "
                         "deployed; run the image workflow and deploy the digest its pull request sets.")
    slots = {i.tag: i.digest for i in found if i.tag in deployments.TAGS}
    moves = deployments.record(slots, deployed)
    for tag, target in moves:
        ecr.put_image(repository, by_digest[target], tag)
    if not moves:
        return [f"{deployed} is the latest recorded deploy already ({deployments.slot_tag(1)})"]
    return [f"{tag} -> {target}" for tag, target in moves]


def main(argv: list[str] | None = None, ecr: Ecr | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.image_deploys")
    sub = parser.add_subparsers(dest="command", required=True)
    record_cmd = sub.add_parser("record", help="record a deploy of DIGEST in REPOSITORY (deployed-* tags)")
    record_cmd.add_argument("repository")
    record_cmd.add_argument("digest")
    args = parser.parse_args(argv)
    try:
        for line in record(ecr or AwsCli(), args.repository, args.digest):
            print(line)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
