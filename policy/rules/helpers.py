"""Helpers shared by the rules: reading props (proxies, JSON text, one-item lists) and linking resources."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .base import Resource


def _items(value: Any) -> list:
    """A list for any sequence (not strings); a single value becomes a one-item list."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def _map(value: Any) -> Mapping[str, Any]:
    """A mapping, parsing JSON strings (provider props and policy documents arrive as text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def _path(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    node: Any = props
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _first(value: Any) -> Mapping[str, Any]:
    """Nested blocks arrive as an object or, from older providers, a one-item list."""
    items = _items(value)
    return _map(items[0]) if items else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _is_anywhere(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def _of_type(resources: Sequence[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def _references(owner: Resource, prop: str, target: Resource, keys: Sequence[str],
                fields: Sequence[str] = ()) -> bool:
    """Does `owner.props[prop]` point at `target`, by engine dependency or by value?

    `fields`: the prop is a reference block rather than a value, such as a node group's
    launchTemplate {id, name, version}; these of its fields name the target.
    """
    if target.urn and target.urn in _items(owner.property_dependencies.get(prop)):
        return True
    value = owner.props.get(prop)
    if fields:
        block = _first(value)
        value = [block.get(f) for f in fields if block.get(f)]
    wanted = {str(v) for v in _items(value)}
    return any(str(target.props.get(key)) in wanted for key in keys if target.props.get(key))


def _buckets(resources: Sequence[Resource], bucket_types: Sequence[str], setting_types: Sequence[str]
             ) -> list[Resource]:
    """The stack's buckets: those it creates, and those it adopts (existingLogsBucketName and
    existingDataBucketName): a bucket a setting names by a plain `bucket` name, with no bucket
    of the stack behind it. An adopted one stands in as a Resource of the first bucket type,
    whose URN is the first setting naming it (where its violations are reported)."""
    created = _of_type(resources, *bucket_types)
    created_urns = {b.urn for b in created if b.urn}
    adopted: dict[str, str] = {}
    for setting in _of_type(resources, *setting_types):
        # A setting computed from a bucket of the stack is that bucket's; its `bucket` prop is
        # unknown in a first preview, so it is not read.
        if created_urns & set(_items(setting.property_dependencies.get("bucket"))):
            continue
        name = setting.props.get("bucket")
        if isinstance(name, str) and name:
            adopted.setdefault(name, setting.urn)
    return created + [Resource(type=bucket_types[0], name=name, props={"bucket": name}, urn=urn)
                      for name, urn in adopted.items()]


def _attached(bucket: Resource, resources: Sequence[Resource], typ: str) -> list[Resource]:
    return [r for r in _of_type(resources, typ) if _references(r, "bucket", bucket, ("bucket", "id"))]


def _statements(document: Any) -> list[Mapping[str, Any]]:
    return [_map(s) for s in _items(_map(document).get("Statement"))]


def _tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(props.get("tags"))


def _judged_on(as_of: Any) -> dt.date:
    """The pack config's asOf day, or today (UTC) when it is empty."""
    return dt.date.fromisoformat(str(as_of)) if as_of else dt.datetime.now(dt.UTC).date()


# The `asOf` option of the rules that judge a support window on a day.
AS_OF_CONFIG = {"asOf": {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$", "default": "",
                         "description": "Day to judge support on (YYYY-MM-DD), e.g. the day a change will be "
                                        "deployed; empty: the day of the preview (UTC)."}}
