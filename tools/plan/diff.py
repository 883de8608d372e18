"""Compare two plans (e.g. the base branch against a pull request): pure, on plan dicts.

Resources are matched by URN with the stack name left out, so two stacks can be compared
too. Inputs are compared leaf by leaf; a string holding JSON (IAM policies, kubeconfigs) is
parsed and compared inside.
"""

from __future__ import annotations

import json
import re
from typing import Any

MISSING = "(absent)"


def _key(urn: str) -> str:
    return re.sub(r"^urn:pulumi:[^:]+::", "urn:pulumi:*::", urn)


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def leaf_changes(base: Any, head: Any, path: str = "") -> list[dict]:
    """[{path, base, head}] of every differing leaf; MISSING where a side has no value."""
    base, head = _json(base), _json(head)
    if base == head:
        return []
    if isinstance(base, dict) and isinstance(head, dict):
        out: list[dict] = []
        for k in sorted(set(base) | set(head)):
            sub = f"{path}.{k}" if path else str(k)
            out += leaf_changes(base.get(k, MISSING), head.get(k, MISSING), sub)
        return out
    if isinstance(base, list) and isinstance(head, list) and len(base) == len(head):
        return [c for i, (b, h) in enumerate(zip(base, head, strict=True)) for c in leaf_changes(b, h, f"{path}[{i}]")]
    change = {"path": path or ".", "base": base, "head": head}
    if isinstance(base, list) and isinstance(head, list) and all(_scalar(v) for v in base + head):
        change["added"] = [v for v in head if v not in base]
        change["removed"] = [v for v in base if v not in head]
    return [change]


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _resources(base: dict, head: dict) -> dict:
    old = {_key(r["urn"]): r for r in base["resources"]}
    new = {_key(r["urn"]): r for r in head["resources"]}
    changed = []
    for k in sorted(set(old) & set(new)):
        a, b = old[k], new[k]
        entry: dict[str, Any] = {"urn": b["urn"], "type": b["type"], "name": b["name"]}
        inputs = leaf_changes(a["inputs"], b["inputs"])
        if inputs:
            entry["inputs"] = inputs
        deps_a, deps_b = {_key(d) for d in a["dependencies"]}, {_key(d) for d in b["dependencies"]}
        if deps_a != deps_b:
            entry["dependencies"] = {"added": sorted(deps_b - deps_a), "removed": sorted(deps_a - deps_b)}
        other = [f for f in ("options", "custom") if a.get(f) != b.get(f)]
        other += [f for f in ("parent", "provider") if _key(a.get(f, "")) != _key(b.get(f, ""))]
        if other:
            entry["fields"] = leaf_changes({f: a.get(f) for f in other}, {f: b.get(f) for f in other})
        if len(entry) > 3:
            changed.append(entry)
    brief = lambda r: {"urn": r["urn"], "type": r["type"], "name": r["name"]}
    return {
        "added": [brief(new[k]) for k in sorted(set(new) - set(old))],
        "removed": [brief(old[k]) for k in sorted(set(old) - set(new))],
        "changed": changed,
    }


def _cost(base: dict, head: dict) -> dict:
    old = {i["key"]: i for i in base["cost"]["lineItems"]}
    new = {i["key"]: i for i in head["cost"]["lineItems"]}
    items = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        row = {"key": k, "label": (b or a)["label"]}
        for load in ("idle", "busy"):
            before, after = (a or {}).get(load, 0.0), (b or {}).get(load, 0.0)
            row[load] = {"base": before, "head": after, "delta": round(after - before, 2)}
        if a is None or b is None or a != b:
            row["status"] = "added" if a is None else "removed" if b is None else "changed"
            items.append(row)
    total = {load: {"base": base["cost"]["total"][load], "head": head["cost"]["total"][load],
                    "delta": round(head["cost"]["total"][load] - base["cost"]["total"][load], 2)}
             for load in ("idle", "busy")}
    return {"lineItems": items, "total": total}


def _path(plan: dict) -> list[str]:
    return [f"{s['type']} {s['name']}" for s in plan["deployTime"]["path"]]


def diff(base: dict, head: dict) -> dict:
    """What changes from `base` to `head`; `changed` is False when nothing does."""
    resources = _resources(base, head)
    outputs = leaf_changes(base["outputs"], head["outputs"])
    cost = _cost(base, head)
    time = {"base": base["deployTime"]["totalSeconds"], "head": head["deployTime"]["totalSeconds"],
            "delta": round(head["deployTime"]["totalSeconds"] - base["deployTime"]["totalSeconds"], 1),
            "basePath": _path(base), "headPath": _path(head)}
    time["pathChanged"] = time["basePath"] != time["headPath"]
    placeholders = {side: {f"{w['key']} = {w['value']}" for w in plan.get("warnings") or []}
                    for side, plan in (("base", base), ("head", head))}
    warnings = {"added": sorted(placeholders["head"] - placeholders["base"]),
                "removed": sorted(placeholders["base"] - placeholders["head"])}
    changed = bool(resources["added"] or resources["removed"] or resources["changed"] or outputs
                   or cost["lineItems"] or time["delta"] or time["pathChanged"]
                   or warnings["added"] or warnings["removed"])
    return {"base": {"stack": base["stack"]}, "head": {"stack": head["stack"]}, "changed": changed,
            "resources": resources, "outputs": outputs, "cost": cost, "deployTime": time, "warnings": warnings}
