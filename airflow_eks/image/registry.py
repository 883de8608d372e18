"""The stack's own ECR registry (imageRegistry): names, policies and pull-through cache rules. Pure.

Layout, all under one per-stack namespace (the stack name, lowercased) so that two stacks in
one account and region never share a pull-through cache rule or a repository:

- `<namespace>/airflow`: the Airflow image the image workflow builds and pushes
  (.github/workflows/image.yml), immutable tags, KMS-encrypted, scanned on push;
- `<namespace>/<upstream registry>/...`: repositories ECR creates on the first pull through
  the cache rule of that upstream (docker.io, quay.io, registry.k8s.io, public.ecr.aws), with
  the settings of the rule's repository creation template: the registry's KMS key, mutable
  tags, an age-based lifecycle policy and the stack's tags.

The registry's host is the account's (`<account>.dkr.ecr.<region>.amazonaws.com`), so
`<host>/<namespace>` is the stack's imageMirror: airflow_eks/images.py then pulls every public
image as `<host>/<namespace>/<upstream registry>/<path>`, which is exactly where these rules cache it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from airflow_eks import iam
from airflow_eks.image import deployments

# ECR's limits on a pull-through cache rule's prefix (API reference, CreatePullThroughCacheRule
# ecrRepositoryPrefix: 2 to 30 characters, path components of this pattern).
PREFIX_MAX = 30
_COMPONENT = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", re.ASCII)
AIRFLOW_REPOSITORY = "airflow"

# Each upstream registry imageMirror may pull from, and the URL ECR's rule names for it
# (CreatePullThroughCacheRule upstreamRegistryUrl: Docker Hub is registry-1.docker.io).
UPSTREAM_URLS = {
    "docker.io": "registry-1.docker.io",
    "quay.io": "quay.io",
    "registry.k8s.io": "registry.k8s.io",
    "public.ecr.aws": "public.ecr.aws",
}
# Upstreams ECR caches only with credentials in a Secrets Manager secret (ECR user guide,
# "Sync an upstream registry": Docker Hub requires authentication).
AUTHENTICATED_UPSTREAMS = frozenset({"docker.io"})
# ECR reads the credentials only from secrets whose name starts with this (the pull-through
# cache service-linked role may read exactly those).
CREDENTIAL_SECRET_PREFIX = "ecr-pullthroughcache/"

# Image actions of ecr (Amazon ECR's IAM actions): what pulling and what pushing needs.
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
PUSH_ACTIONS = ("ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart")
# The workflow reads the digest ECR recorded for its tag, and whether the tag exists already.
DESCRIBE_ACTIONS = ("ecr:DescribeImages",)
UNTAGGED_EXPIRY_DAYS = 1


def namespace(stack: str) -> str:
    """The stack's namespace in the registry: the stack name in lowercase, which must be a
    valid repository path component; ValueError otherwise."""
    name = stack.lower()
    if not _COMPONENT.fullmatch(name):
        raise ValueError(f"a stack name that is a valid ECR repository path component when lowercased "
                         f"(letters, digits, single . _ - between them), not {stack!r}")
    return name


def check_prefixes(space: str, upstreams: Iterable[str]) -> None:
    """ValueError when a cache rule's prefix `<namespace>/<upstream>` would exceed ECR's limit."""
    for upstream in sorted(upstreams):
        prefix = cache_prefix(space, upstream)
        if len(prefix) > PREFIX_MAX:
            raise ValueError(f"a stack name of at most {PREFIX_MAX - len(upstream) - 1} characters: it prefixes "
                             f"the stack's pull-through cache rules, and ECR allows at most {PREFIX_MAX} characters "
                             f"({prefix!r} has {len(prefix)})")


def cache_prefix(space: str, upstream: str) -> str:
    return f"{space}/{upstream}"


def dns_suffix(region: str) -> str:
    """The ECR endpoints' DNS suffix: amazonaws.com, amazonaws.com.cn in the China regions."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def registry_host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.{dns_suffix(region)}"


def mirror(account: str, region: str, space: str) -> str:
    """The imageMirror the stack's own registry serves (airflow_eks/images.py layout)."""
    return f"{registry_host(account, region)}/{space}"


def repository_name(space: str) -> str:
    return f"{space}/{AIRFLOW_REPOSITORY}"


def repository_url(account: str, region: str, space: str) -> str:
    return f"{registry_host(account, region)}/{repository_name(space)}"


@dataclass(frozen=True)
class CacheRule:
    upstream: str
    """The registry as images.py names it (docker.io)."""
    prefix: str
    upstream_url: str
    needs_credentials: bool


def cache_rules(space: str, upstreams: Iterable[str]) -> tuple[CacheRule, ...]:
    """One rule per upstream registry the stack pulls through its mirror; ValueError for one
    ECR cannot cache."""
    rules = []
    for upstream in sorted(set(upstreams)):
        if upstream not in UPSTREAM_URLS:
            raise ValueError(f"upstream registries ECR can cache for this stack ({', '.join(UPSTREAM_URLS)}), "
                             f"not {upstream}")
        rules.append(CacheRule(upstream, cache_prefix(space, upstream), UPSTREAM_URLS[upstream],
                               upstream in AUTHENTICATED_UPSTREAMS))
    return tuple(rules)


def lifecycle_policy(keep_images: int) -> dict:
    """The repository's lifecycle policy (ECR user guide, "Lifecycle policy properties"), applied
    in priority order, an image matched by a rule being out of reach of every later one:

    1. untagged images (a failed push; the workflow pushes nothing untagged) expire a day after
       their push;
    2. images carrying a `deployed-*` tag (deployments.py: the digest prod runs and the ones
       deployed before it) are kept: at most len(deployments.TAGS) images can carry one, fewer
       than the rule's count, so it expires none, and rule 3 cannot reach them;
    3. of the other tagged images the newest `keep_images` by push time stay, so a rollback to
       any of those still pulls.

    `tagged` needs a tagPatternList (or tagPrefixList); `*` matches every tag."""
    if keep_images < 1:
        raise ValueError("keep at least one image")
    return {"rules": [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images {UNTAGGED_EXPIRY_DAYS} day after they were pushed",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                          "countNumber": UNTAGGED_EXPIRY_DAYS},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "Keep every image a deploy recorded (deployed-* tags: the running digest and "
                           f"the {deployments.HISTORY - 1} before it)",
            "selection": {"tagStatus": "tagged", "tagPatternList": [deployments.TAG_PATTERN],
                          "countType": "imageCountMoreThan", "countNumber": deployments.PROTECTED_COUNT},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 3,
            "description": f"Keep the {keep_images} most recently pushed tagged images",
            "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                          "countNumber": keep_images},
            "action": {"type": "expire"},
        },
    ]}


def mutable_tag_filters() -> list[dict]:
    """The repository's exclusions from tag immutability: the deploy records' tags only, which
    must move from one digest to the next (ImageTagMutabilityExclusionFilter: WILDCARD, at most
    two `*`). Every tag the image workflow pushes stays immutable."""
    return [{"filter": deployments.TAG_PATTERN, "filterType": "WILDCARD"}]


# The repositories ECR creates on a first pull through a cache rule get their settings from a
# repository creation template whose prefix is the rule's prefix (CreateRepositoryCreationTemplate
# prefix: "When using a pull through cache rule, the repository prefix you specify during rule
# creation is what you should specify as your repository creation template prefix as well").
CACHE_TEMPLATE_APPLIED_FOR = ("PULL_THROUGH_CACHE",)
# ECR refreshes a cached tag from upstream at most once a day and may not be able to when tags
# are immutable (ECR user guide, pull through cache considerations): cache tags stay mutable.
CACHE_TAG_MUTABILITY = "MUTABLE"
CACHE_EXPIRY_DAYS = 180


def cache_lifecycle_policy() -> dict:
    """The lifecycle policy of every cache repository: images expire CACHE_EXPIRY_DAYS after ECR
    imported them, tagged or not.

    Safe because a cache refills itself: the next pull of an expired image imports it from
    upstream again. That pull is what expiry costs: one upstream pull per image (Docker Hub counts
    it against the dockerHubCredentials account's pull limit), a slower first start on that node,
    and, while the upstream registry is down, a pod that needs the image waits in
    ImagePullBackOff. Images in the cache are the pinned sidecar versions the program runs
    (StatsD, git-sync, PgBouncer, the autoscaler, the load balancer controller) and, before the
    first digest, the official Airflow image; they change with the program's upgrades, every few
    months. 180 days is two such cycles: the versions a stack runs rarely reach it, the ones
    superseded by upgrades go, and a long-unchanged stack pays one upstream pull per image twice
    a year.

    Not a count per repository: one cache repository holds several images in use at once
    (docker.io/apache/airflow holds both PgBouncer images beside Airflow's), and upgrades of one
    would push the others out. Not a separate rule for untagged images: a multi-architecture
    image is cached as a tagged index referencing untagged per-platform images; one age rule
    treats them alike, where an untagged rule would rely on ECR declining to expire images an
    index still references."""
    return {"rules": [{
        "rulePriority": 1,
        "description": f"Expire cached images {CACHE_EXPIRY_DAYS} days after they were imported; the next "
                       "pull imports them again",
        "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days",
                      "countNumber": CACHE_EXPIRY_DAYS},
        "action": {"type": "expire"},
    }]}


# What ECR does with the template's role when it creates a cache repository (ECR user guide,
# "Create a custom policy for repository creation templates": ecr:CreateRepository,
# ecr:ReplicateImage, ecr:TagResource, and kms:CreateGrant, kms:RetireGrant, kms:DescribeKey,
# all on "*"). Scoped here to the cache repositories and the registry's key; ReplicateImage is
# for REPLICATION templates only.
CACHE_TEMPLATE_ECR_ACTIONS = ("ecr:CreateRepository", "ecr:TagResource")
CACHE_TEMPLATE_KMS_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant")
ECR_SERVICE = "ecr.amazonaws.com"


def cache_template_role_policy(*, key_arn: str, repository_arns: Sequence[str]) -> dict:
    """What the creation templates' role may do: create and tag the cache repositories (and no
    other), and create the grants that let ECR use the registry's key for them (ECR user guide,
    "Encryption at rest": whoever creates a repository encrypted with a customer managed key needs
    kms:CreateGrant, kms:RetireGrant and kms:DescribeKey on it)."""
    if not repository_arns:
        raise ValueError("at least one cache repository prefix")
    return iam.document(
        iam.allow(CACHE_TEMPLATE_ECR_ACTIONS, list(repository_arns), sid="CreateCacheRepositories"),
        iam.allow(CACHE_TEMPLATE_KMS_ACTIONS, [key_arn], sid="EncryptThemWithTheRegistryKey"),
    )


def cache_repository_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags of the cache repositories: the stack's (cost reports and the stack's leftovers
    after a teardown are found by them), but `managed-by` names who creates and deletes them, ECR's
    pull-through cache, not Pulumi: `pulumi destroy` leaves them."""
    return {**tags, "managed-by": "ecr-pull-through-cache"}


def cache_template_trust() -> dict:
    """The trust policy ECR's documentation gives the template role: ecr.amazonaws.com assumes it
    (ECR user guide, "Create an IAM role for repository creation templates")."""
    return iam.service_trust(ECR_SERVICE)


def repository_policy(*, node_role_arn: str, push_role_arn: str = "") -> dict:
    """Who may use the repository's images: the nodes pull, the CI role pushes (and pulls and
    reads digests); every other principal of the account is denied pulling and pushing,
    whatever its IAM policies allow.

    Within one account an identity policy alone would grant access (ECR allows when either the
    identity or the repository policy does), so the limit is the Deny. It leaves out:

    - AWS services: a service principal calling directly (aws:PrincipalIsAWSService), and the
      account's service-linked roles (`role/aws-service-role/...`), which only their AWS service
      can assume. Amazon Inspector's enhanced scanning reads the images as its service-linked
      role AWSServiceRoleForAmazonInspector2 (AmazonInspector2ServiceRolePolicy grants it
      ecr:BatchGetImage and ecr:GetDownloadUrlForLayer): an IAM role session, for which
      aws:PrincipalIsAWSService is false, so that key alone would deny it.
    - Listing and describing images (ecr:DescribeImages, ecr:ListImages): no image content,
      and what an operator needs to find a digest to roll back to.
    - The repository's own management (policies, lifecycle): not an image action, so the
      deploy role keeps managing it.
    """
    pullers = [node_role_arn, *([push_role_arn] if push_role_arn else [])]
    services = service_linked_roles(node_role_arn)
    statements = [{"Sid": "NodesPull", "Effect": "Allow", "Principal": {"AWS": node_role_arn},
                   "Action": sorted(PULL_ACTIONS)}]
    if push_role_arn:
        statements.append({"Sid": "CiPushes", "Effect": "Allow", "Principal": {"AWS": push_role_arn},
                           "Action": sorted({*PULL_ACTIONS, *PUSH_ACTIONS, *DESCRIBE_ACTIONS})})
    statements.append(_deny_others("OnlyNodesAndCiPull", PULL_ACTIONS, [*pullers, services]))
    statements.append(_deny_others("OnlyCiPushes", PUSH_ACTIONS, [push_role_arn] if push_role_arn else []))
    return iam.document(*statements)


def service_linked_roles(role_arn: str) -> str:
    """The ARN pattern of the service-linked roles of `role_arn`'s account (IAM creates them
    under the path /aws-service-role/, and only their service may assume them)."""
    prefix, sep, _ = role_arn.partition(":role/")
    if not sep or not prefix.startswith("arn:"):
        raise ValueError(f"an IAM role ARN, not {role_arn!r}")
    return f"{prefix}:role/aws-service-role/*"


def _deny_others(sid: str, actions: Sequence[str], allowed: Sequence[str]) -> dict:
    """Deny `actions` to every principal but AWS services and `allowed` (ARNs or ARN patterns:
    ArnNotLike matches an ARN without wildcards exactly)."""
    condition: dict = {"Bool": {"aws:PrincipalIsAWSService": "false"}}
    if allowed:
        condition["ArnNotLike"] = {"aws:PrincipalArn": sorted(allowed)}
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": sorted(actions), "Condition": condition}


def upstreams_needing_credentials(upstreams: Iterable[str]) -> list[str]:
    return sorted(set(upstreams) & AUTHENTICATED_UPSTREAMS)


def docker_hub_credentials(value: str) -> tuple[str, str]:
    """`username:accessToken` -> (username, token); ValueError that never echoes the token."""
    username, sep, token = value.partition(":")
    # Docker Hub usernames: 4 to 30 lowercase letters and digits (Docker ID rules).
    if not sep or not re.fullmatch(r"[a-z0-9]{4,30}", username, re.ASCII) or not token or any(
            c.isspace() for c in token):
        raise ValueError("username:accessToken, a Docker ID (4-30 lowercase letters and digits) and a Docker Hub "
                         "access token without spaces")
    return username, token


def credential_secret_value(credentials: str) -> str:
    """The secret ECR's Docker Hub rule reads: JSON with `username` and `accessToken` (ECR user
    guide, "Storing your upstream repository credentials in an AWS Secrets Manager secret")."""
    username, token = docker_hub_credentials(credentials)
    return json.dumps({"username": username, "accessToken": token})
