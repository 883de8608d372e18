"""Observability: a production cluster is watched (metrics, alert rules, alert delivery)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import Resource, rule
from .constants import (
    AMP_ALERT_MANAGER,
    AMP_RULE_GROUPS,
    AMP_SCRAPER,
    AMP_WORKSPACE,
    EKS_CLUSTER,
    EKS_COMPONENT,
)
from .helpers import _of_type, _references


def _watching(workspace: Resource, resources: Sequence[Resource], typ: str, prop: str, keys: tuple[str, ...]) -> bool:
    """Does a resource of `typ` point at the workspace through `prop`?"""
    return any(_references(r, prop, workspace, keys) for r in _of_type(resources, typ))


# Mandatory by default; each stack's pack config sets the level (prod mandatory, dev disabled).
@rule("metrics-enabled", "Every EKS cluster is scraped into a KMS-encrypted Amazon Managed Prometheus workspace "
      "with alert rules and alert delivery (metrics: amp; off is allowed in dev).")
def metrics_enabled(resources: Sequence[Resource], _cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    clusters = [c for c in _of_type(resources, EKS_COMPONENT, EKS_CLUSTER) if c.props]
    if not clusters:
        return []
    urn = clusters[0].urn
    workspaces = _of_type(resources, AMP_WORKSPACE)
    if not workspaces:
        return [("no Amazon Managed Prometheus workspace: set `metrics: amp`.", urn)]
    found = []
    for ws in workspaces:
        if not ws.props.get("kmsKeyArn"):
            found.append(("the metrics workspace is not encrypted with a customer managed key (kmsKeyArn).", ws.urn))
    if not any(_watching(ws, resources, AMP_SCRAPER, "destination", ("arn",)) for ws in workspaces):
        found.append(("no managed collector (aws.amp.Scraper) writes into the metrics workspace.", urn))
    for typ, what in ((AMP_RULE_GROUPS, "alert rules (rule group namespace)"),
                      (AMP_ALERT_MANAGER, "alert manager definition")):
        if not any(_watching(ws, resources, typ, "workspaceId", ("id",)) for ws in workspaces):
            found.append((f"the metrics workspace has no {what}.", urn))
    return found
