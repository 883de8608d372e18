"""Physical names the program fixes itself instead of leaving them to Pulumi auto-naming.

EKS and RDS name the CloudWatch log groups they write to after the cluster and the DB
instance. To create those log groups first (with a retention, deleted with the stack) their
names, and so the cluster's and the instance's, must be known before the service exists.
"""

from __future__ import annotations

import re

# A random suffix (a pulumi-random RandomId of this many bytes, as hex) keeps a name stable for
# the life of a stack yet new after `pulumi destroy`: log groups kept on destroy (keepDataOnDestroy)
# would otherwise block the next `pulumi up` of the same stack with ResourceAlreadyExists, and
# two Pulumi organizations' `dev` stacks in one account would collide.
SUFFIX_BYTES = 4

_SUFFIX = re.compile(r"^[a-z0-9]+$")


def stack_scoped(project: str, stack: str, suffix: str, *, max_length: int) -> str:
    """`<project>-<stack>-<suffix>`, shortened to `max_length` and fit for EKS and RDS alike.

    The strictest rule of the two wins (RDS instance identifiers): lowercase letters, digits
    and hyphens, a letter first, no two hyphens in a row, none at the end. Pulumi project and
    stack names may also hold `_` and `.`; those become hyphens. The suffix is never cut, so
    shortening cannot make two stacks' names equal.
    """
    if not _SUFFIX.match(suffix):
        raise ValueError(f"name suffix must be lowercase letters and digits, got {suffix!r}")
    base = re.sub(r"[^a-z0-9]+", "-", f"{project}-{stack}".lower())
    base = re.sub(r"^[^a-z]+", "", base)
    room = max_length - len(suffix) - 1
    if room < 1 or not base:
        raise ValueError(f"no valid name fits {max_length} characters for project {project!r}, stack {stack!r}")
    return f"{base[:room].rstrip('-')}-{suffix}"
