"""The digests a stack deployed, recorded in its repository so the lifecycle policy never expires them. Pure.

The repository keeps the `imageRegistryKeepImages` most recently *pushed* tagged images. That
alone can expire the digest prod runs: push that many newer images before the next deploy and
the running digest goes, and a node that starts afterwards cannot pull it. So the deploy
workflow (.github/workflows/deploy.yml, tools/image_deploys.py) records every digest it deploys,
before `pulumi up`, on a small fixed set of tags:

- `deployed-1` is the digest of the latest recorded deploy, `deployed-2` the one before it, up to
  `deployed-<HISTORY>`: a shift register, moved one step per deploy of a new digest;
- `deployed-next` is written first, so the digest being deployed is protected before any other
  tag moves (a rollback to the digest in the last slot would otherwise lose its only tag while
  the register shifts).

The lifecycle policy (registry.lifecycle_policy) keeps every image carrying a `deployed-*` tag
ahead of the count rule. Two ECR facts make that hold whatever is pushed and whenever:

- a tag names one image at a time, so at most len(TAGS) images carry one of these tags, fewer
  than the protecting rule's count (PROTECTED_COUNT): that rule never expires any of them;
- "An image that matches the tagging requirements of a rule cannot be expired by a rule with a
  lower priority" (ECR user guide, lifecycle policy evaluation rules): the count rule cannot
  either.

Order by push time is not used: ECR orders a count rule by the image's push time, and adding a
tag to an existing image does not change it (aws/containers-roadmap#2746), so "the newest M
deployed images" by push time would drop a digest that was rolled back to. The tags are mutable
(the repository's one exclusion from tag immutability), which is why the register can move.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow_eks.image import digest as image_digest

TAG_PREFIX = "deployed-"
TAG_PATTERN = f"{TAG_PREFIX}*"
HISTORY = 3
"""Deploys recorded: the running digest and the two before it, the rollback targets that never
expire. Older ones stay while they are among the newest pushed (imageRegistryKeepImages)."""
NEXT_TAG = f"{TAG_PREFIX}next"
PROTECTED_COUNT = 10
"""The protecting rule's `countNumber`: at least len(TAGS), so it expires nothing. Not exactly
len(TAGS): the deploy that raises HISTORY records (with the new tags) before its `pulumi up`
applies the new policy, so the policy already in place must cover the larger set too."""


def slot_tag(position: int) -> str:
    """The tag of the `position`-th most recent recorded deploy (1 = the latest)."""
    if not 1 <= position <= HISTORY:
        raise ValueError(f"a deploy slot from 1 to {HISTORY}, not {position}")
    return f"{TAG_PREFIX}{position}"


SLOT_TAGS = tuple(slot_tag(i) for i in range(1, HISTORY + 1))
TAGS = (NEXT_TAG, *SLOT_TAGS)


def record(slots: Mapping[str, str], deployed: str) -> list[tuple[str, str]]:
    """The tag moves, in order, that record a deploy of `deployed`: (tag, digest) pairs, each one
    a PutImage of that digest's manifest under that tag. `slots` maps the tags in TAGS that exist
    now to their digests. Empty when the latest recorded deploy is this digest already.

    Every digest that carried a tag before still carries one after every single move, except the
    one shifted out of the last slot, so a failure halfway leaves nothing unprotected."""
    image_digest.check(deployed)
    if slots.get(slot_tag(1)) == deployed:
        return []
    moves = [(NEXT_TAG, deployed)] if slots.get(NEXT_TAG) != deployed else []
    # From the oldest slot up: slot i takes slot i-1's digest before slot i-1 is overwritten.
    for position in range(HISTORY, 1, -1):
        previous = slots.get(slot_tag(position - 1))
        if previous is not None and slots.get(slot_tag(position)) != previous:
            moves.append((slot_tag(position), previous))
    moves.append((slot_tag(1), deployed))
    return moves
