"""The model (Resource, Violation, Rule) and the rule registry: `rule` adds to RULES in definition order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .constants import MANDATORY


@dataclass(frozen=True)
class Resource:
    """One resource as a stack rule sees it (CrossGuard PolicyResource, or a mock record)."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    provider: Mapping[str, Any] | None = None
    """Props of the resource's provider (for default tags)."""
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Input name -> URNs it was computed from: links a bucket's settings to the bucket."""


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str
    message: str
    urn: str = ""

    def __str__(self) -> str:
        return f"[{self.level}] {self.rule}: {self.message} ({self.urn or 'stack'})"


ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any]], list[str]]
StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    level: str
    check: Callable[..., list]
    types: tuple[str, ...] = ()
    """Resource types of a resource rule; empty for a stack rule."""
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON schema of the rule's pack config properties; every property has a default."""

    @property
    def stack(self) -> bool:
        return not self.types

    def settings(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The schema defaults with the pack config's values on top."""
        values = {key: schema["default"] for key, schema in self.config.items()}
        values.update({k: v for k, v in (overrides or {}).items() if k != "enforcementLevel"})
        return values

    def check_resource(self, resource_type: str, props: Mapping[str, Any],
                       settings: Mapping[str, Any]) -> list[str]:
        return list(self.check(resource_type, props, settings)) if resource_type in self.types else []

    def check_stack(self, resources: Sequence[Resource], settings: Mapping[str, Any]) -> list[tuple[str, str]]:
        return list(self.check(resources, settings))


RULES: list[Rule] = []


def rule(name: str, description: str, *, level: str = MANDATORY, types: Iterable[str] = (),
         config: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[[Callable], Callable]:
    def register(check: Callable) -> Callable:
        RULES.append(Rule(name, description, level, check, tuple(types), dict(config or {})))
        return check
    return register
