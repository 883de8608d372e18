"""Running the rules outside the CLI: over mock-engine records, under a pack config, and that config's schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import RULES, Resource, Rule, Violation
from .constants import DISABLED, LEVELS


def as_resources(records: Iterable[Any]) -> list[Resource]:
    """Resources from mock-engine records (airflow_eks/offline/mocks.Registered) or Resources as they are."""
    records = list(records)
    by_urn = {getattr(r, "urn", None): r for r in records}
    resources = []
    for record in records:
        if isinstance(record, Resource):
            resources.append(record)
            continue
        provider_ref = getattr(record, "provider", "") or ""  # "<provider urn>::<provider id>"
        provider = by_urn.get(provider_ref.rsplit("::", 1)[0]) if provider_ref else None
        resources.append(Resource(
            type=record.typ, name=record.name, props=record.plain_inputs, urn=record.urn,
            provider=provider.plain_inputs if provider is not None else None,
            property_dependencies=dict(record.property_dependencies),
        ))
    return resources


def level_of(rule_: Rule, config: Mapping[str, Any]) -> str:
    """Enforcement level under a pack config in the CLI's --policy-pack-config format."""
    for key in (rule_.name, "all"):
        entry = config.get(key)
        if isinstance(entry, str):
            return entry
        if isinstance(entry, Mapping) and "enforcementLevel" in entry:
            return str(entry["enforcementLevel"])
    return rule_.level


def evaluate(records: Iterable[Any], config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Every rule over a whole stack, as `pulumi preview --policy-pack policy/` would apply them."""
    resources = as_resources(records)
    config = config or {}
    violations = []
    for rule_ in RULES:
        level = level_of(rule_, config)
        if level == DISABLED:
            continue
        entry = config.get(rule_.name)
        settings = rule_.settings(entry if isinstance(entry, Mapping) else None)
        if rule_.stack:
            violations += [Violation(rule_.name, level, message, urn)
                           for message, urn in rule_.check_stack(resources, settings)]
        else:
            violations += [Violation(rule_.name, level, message, r.urn)
                           for r in resources for message in rule_.check_resource(r.type, r.props, settings)]
    return violations


def config_schema() -> dict[str, Any]:
    """JSON schema of a pack config file (policy/config.*.json), as the CLI validates it."""
    level = {"enum": list(LEVELS)}
    properties: dict[str, Any] = {"all": level}
    for rule_ in RULES:
        body = {"type": "object", "additionalProperties": False,
                "properties": {"enforcementLevel": level, **rule_.config}}
        properties[rule_.name] = {"anyOf": [level, body]}
    return {"type": "object", "additionalProperties": False, "properties": properties}
