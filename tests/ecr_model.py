"""A small model of an ECR private repository: tags, PutImage and lifecycle policies.

Written from ECR's documentation, to evaluate the program's lifecycle policies and the deploy
record (tools/image_deploys.py) offline. Each behaviour names its source; where the documentation
leaves a choice open, the model takes both (a parameter) and the tests hold under both.

Lifecycle policies (ECR user guide, "Lifecycle policy evaluation rules", LifecyclePolicies.md;
"Examples of lifecycle policies"; "Lifecycle policy properties"):

- rules apply in rulePriority order, lowest first; an image is expired by one rule or none;
- "An image that matches the tagging requirements of a rule cannot be expired by a rule with a
  lower priority";
- "Rules can never mark images that are marked by higher priority rules, but can still identify
  them as if they haven't been expired": whether a lower rule *counts* images a higher rule
  matched is the open point (`lower_rules_count_matched`; the guide's examples A and B come out
  the same either way, tests/test_image_deployments.py replays them);
- tagStatus `tagged` with tagPatternList/tagPrefixList selects images that match *every* listed
  pattern/prefix with some tag; `untagged` images without tags; `any` every image;
- imageCountMoreThan sorts the selected images youngest first by push time and marks all past
  countNumber; sinceImagePushed marks those pushed more than countNumber days ago.

Tags and PutImage (ECR API reference PutImage, ImageTagMutabilityExclusionFilter; user guide
"Retagging an image", "Image tag mutability"):

- PutImage of a manifest already in the repository adds the tag to that image; its push time
  stays (adding a tag does not make an image younger for lifecycle rules: aws/containers-roadmap
  issue 2746), and nothing is uploaded;
- the same tag on the same image again is ImageAlreadyExistsException;
- a tag on another image moves when it is mutable, else ImageTagAlreadyExistsException. With
  IMMUTABLE_WITH_EXCLUSION a tag is mutable when it matches an exclusion filter (WILDCARD: `*`
  matches any run of characters);
- the digest given with PutImage must be the manifest's (ImageDigestDoesNotMatchException);
- a manifest is new to the repository only after its layers were uploaded (a push): PutImage of
  an image that expired meanwhile fails (LayersNotFoundException, ReferencedImagesNotFound)
  rather than bringing it back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools import image_deploys


class EcrError(Exception):
    """An ECR API error, by its exception name."""


def wildcard(pattern: str) -> re.Pattern[str]:
    """An ECR wildcard (lifecycle tagPatternList, tag mutability exclusion filters): `*` is any run
    of characters, everything else literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def digest_of(manifest: str) -> str:
    return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


@dataclass
class Image:
    digest: str
    manifest: str
    pushed_at: float
    """Days, on the model's clock."""
    tags: set[str] = field(default_factory=set)
    media_type: str = "application/vnd.docker.distribution.manifest.v2+json"


def _selects(selection: Mapping[str, Any], image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    if "tagPatternList" in selection:
        return all(any(wildcard(p).fullmatch(t) for t in image.tags) for p in selection["tagPatternList"])
    return all(any(t.startswith(p) for t in image.tags) for p in selection["tagPrefixList"])


def expired(policy: Mapping[str, Any], images: Iterable[Image], now: float, *,
            lower_rules_count_matched: bool = True) -> set[str]:
    """The digests a lifecycle evaluation at `now` expires."""
    images = list(images)
    claimed: set[str] = set()  # matched by a rule of higher priority
    gone: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        matching = [i for i in images if _selects(selection, i)]
        considered = matching if lower_rules_count_matched else [i for i in matching if i.digest not in claimed]
        if selection["countType"] == "imageCountMoreThan":
            marked = sorted(considered, key=lambda i: i.pushed_at, reverse=True)[selection["countNumber"]:]
        elif selection["countType"] == "sinceImagePushed":
            assert selection["countUnit"] == "days"
            marked = [i for i in considered if now - i.pushed_at > selection["countNumber"]]
        else:
            raise AssertionError(f"countType {selection['countType']} not modelled")
        assert rule["action"] == {"type": "expire"}, "only expire is modelled"
        gone |= {i.digest for i in marked if i.digest not in claimed}
        claimed |= {i.digest for i in matching}
    return gone


class Repository:
    """One repository's images, with tag mutability and a lifecycle policy."""

    def __init__(self, name: str, *, mutability: str = "IMMUTABLE", exclusion_filters: Sequence[Mapping] = (),
                 lifecycle_policy: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.mutability = mutability
        self.exclusions = [wildcard(f["filter"]) for f in exclusion_filters if f["filterType"] == "WILDCARD"]
        self.policy = lifecycle_policy
        self.images: dict[str, Image] = {}
        self.now = 0.0

    def tag_mutable(self, tag: str) -> bool:
        excluded = any(p.fullmatch(tag) for p in self.exclusions)
        return {"MUTABLE": True, "IMMUTABLE": False, "IMMUTABLE_WITH_EXCLUSION": excluded,
                "MUTABLE_WITH_EXCLUSION": not excluded}[self.mutability]

    def holder(self, tag: str) -> Image | None:
        return next((i for i in self.images.values() if tag in i.tags), None)

    def put(self, manifest: str, tag: str, digest: str | None = None, *, layers_uploaded: bool = False) -> Image:
        """PutImage (a `docker push` ends with one, after uploading the layers)."""
        if digest is not None and digest != digest_of(manifest):
            raise EcrError("ImageDigestDoesNotMatchException")
        image = self.images.get(digest_of(manifest))
        if image is None and not layers_uploaded:
            raise EcrError("LayersNotFoundException")
        holder = self.holder(tag)
        if image is not None and holder is image:
            raise EcrError("ImageAlreadyExistsException")
        if holder is not None and not self.tag_mutable(tag):
            raise EcrError("ImageTagAlreadyExistsException")
        if image is None:
            image = self.images[digest_of(manifest)] = Image(digest_of(manifest), manifest, pushed_at=self.now)
        if holder is not None:
            holder.tags.discard(tag)
        image.tags.add(tag)
        return image

    def push_new(self, tag: str) -> str:
        """A build the image workflow pushes: a new manifest under a new tag."""
        manifest = f'{{"schemaVersion": 2, "layers": [{{"digest": "{tag}"}}]}}'
        return self.put(manifest, tag, layers_uploaded=True).digest

    def run_lifecycle(self, *, lower_rules_count_matched: bool = True) -> set[str]:
        gone = expired(self.policy, self.images.values(), self.now,
                       lower_rules_count_matched=lower_rules_count_matched) if self.policy else set()
        for d in gone:
            del self.images[d]
        return gone


class FakeEcr(image_deploys.Ecr):
    """tools.image_deploys.Ecr over Repository models. `after_put` runs after every PutImage
    (a lifecycle evaluation at the worst moment, in the tests)."""

    def __init__(self, *repositories: Repository, after_put=None) -> None:
        self.repositories = {r.name: r for r in repositories}
        self.after_put = after_put
        self.calls: list[tuple[str, str]] = []

    def batch_get_image(self, repository: str, tags: Sequence[str], digests: Sequence[str]):
        repo = self.repositories[repository]
        found = []
        for tag in tags:
            if (image := repo.holder(tag)) is not None:
                found.append(image_deploys.Image(image.digest, image.manifest, image.media_type, tag))
        for d in digests:
            if (image := repo.images.get(d)) is not None:
                found.append(image_deploys.Image(image.digest, image.manifest, image.media_type, None))
        return found

    def put_image(self, repository: str, image: image_deploys.Image, tag: str) -> None:
        self.calls.append((tag, image.digest))
        try:
            self.repositories[repository].put(image.manifest, tag, image.digest)
        except EcrError as exc:
            if str(exc) != "ImageAlreadyExistsException":
                raise
        if self.after_put:
            self.after_put()
