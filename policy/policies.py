"""CrossGuard policies: one per rule in rules.RULES, with its level, description and config schema.

The CLI runs the pack with this directory on sys.path, so `rules` is a sibling package. Each
wrapper only adapts CrossGuard's arguments to the pure rule: props stay CrossGuard's proxies,
so reading a value that is unknown during preview raises UnknownValueError, which CrossGuard
reports as "can't run policy during preview" instead of a violation.
"""

from __future__ import annotations

from typing import Any

import rules
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)


def _schema(rule: rules.Rule) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config.items()}) if rule.config else None


def _resource(resource: PolicyResource) -> rules.Resource:
    return rules.Resource(
        type=resource.resource_type, name=resource.name, props=resource.props, urn=resource.urn,
        provider=resource.provider.props if resource.provider is not None else None,
        property_dependencies={k: [d.urn for d in v] for k, v in resource.property_dependencies.items()},
    )


def resource_policy(rule: rules.Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.check_resource(args.resource_type, args.props, rule.settings(args.get_config())):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name, description=rule.description, validate=validate,
        enforcement_level=EnforcementLevel(rule.level), config_schema=_schema(rule),
    )


def stack_policy(rule: rules.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [_resource(r) for r in args.resources]
        for message, urn in rule.check_stack(resources, rule.settings(args.get_config())):
            report_violation(message, urn or None)

    return StackValidationPolicy(
        name=rule.name, description=rule.description, validate=validate,
        enforcement_level=EnforcementLevel(rule.level), config_schema=_schema(rule),
    )


POLICIES: list[Any] = [stack_policy(r) if r.stack else resource_policy(r) for r in rules.RULES]
