"""Deploy-time estimate: the critical path of a first `pulumi up` through the recorded graph.

Pure: takes the plan's resource entries (tools/plan/model.py) and the duration table in
durations.yaml. The engine creates a resource once everything it depends on is created:
explicit `depends_on`, input dependencies, resources passed by reference and its provider
(model.dependencies). A
dependency on a local component means all of its children; the SDK already expands such a
`depends_on` into the children's URNs, and a component listed anyway is expanded here too.
A parent never waits for its children. A child is registered only once its parent's URN is
known (pulumi/runtime/resource.py awaits `parent.urn`), which for a custom or remote parent
is after the parent is created, and for a local component after the component's own
dependencies are: so a child starts no earlier than its parent finishes (a local component
"finishes" the moment it can register). Assumes independent operations run in parallel and
ignores API throttling and engine overhead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tools.plan.model import lookup

DURATIONS = Path(__file__).with_name("durations.yaml")


def load_durations(path: Path = DURATIONS) -> dict:
    return yaml.safe_load(path.read_text())


def _rule(typ: str, table: dict) -> dict | None:
    types = table["types"]
    if typ in types:
        return types[typ]
    prefixes = [p for p in types if p.endswith("*") and typ.startswith(p[:-1])]
    return types[max(prefixes, key=len)] if prefixes else None


def seconds_for(entry: dict, table: dict) -> tuple[float, bool]:
    """(typical creation seconds, whether the type is in the table)."""
    rule = _rule(entry["type"], table)
    if rule is None:
        return (float(table["default_seconds"]) if entry["custom"] else 0.0), not entry["custom"]
    for variant in rule.get("variants", ()):
        if all(_matches(lookup(entry["inputs"], k), v) for k, v in variant["when"].items()):
            return float(variant["seconds"]), True
    return float(rule["seconds"]), True


def _matches(actual: Any, wanted: Any) -> bool:
    if wanted == "*":  # any value: the input is set
        return actual not in (None, "", [], {})
    if isinstance(wanted, bool):
        return actual is wanted or str(actual).lower() == str(wanted).lower()
    return actual == wanted


class _Graph:
    def __init__(self, entries: list[dict], table: dict) -> None:
        self.by_urn = {e["urn"]: e for e in entries}
        self.children: dict[str, list[str]] = {}
        for e in entries:
            if e["parent"] in self.by_urn:
                self.children.setdefault(e["parent"], []).append(e["urn"])
        self.seconds: dict[str, float] = {}
        self.unknown: set[str] = set()
        for e in entries:
            self.seconds[e["urn"]], known = seconds_for(e, table)
            if not known:
                self.unknown.add(e["type"])
        self._start: dict[str, float] = {}
        self._done: dict[str, float] = {}
        self._busy: set[str] = set()

    def deps(self, urn: str) -> list[str]:
        return [d for d in self.by_urn[urn]["dependencies"] if d in self.by_urn]

    def local_children(self, urn: str) -> list[str]:
        """Children a dependent waits for: those of a component, never those of a custom resource."""
        return [] if self.by_urn[urn]["custom"] else sorted(self.children.get(urn, ()))

    def parent(self, urn: str) -> str | None:
        parent = self.by_urn[urn]["parent"]
        return parent if parent in self.by_urn else None

    def waits_for(self, urn: str) -> list[tuple[float, float, str, bool]]:
        """(time it is ready, its own seconds, urn, whether it is the parent) of everything
        `urn` waits for; a dependency is ready when it is `done`, the parent when it finishes."""
        found = [(self.done(d), self.seconds[d], d, False) for d in self.deps(urn)]
        parent = self.parent(urn)
        if parent is not None:
            found.append((self.finish(parent), self.seconds[parent], parent, True))
        return found

    def start(self, urn: str) -> float:
        if urn not in self._start:
            if urn in self._busy:
                raise ValueError(f"dependency cycle through {urn}")
            self._busy.add(urn)
            self._start[urn] = max((w[0] for w in self.waits_for(urn)), default=0.0)
            self._busy.discard(urn)
        return self._start[urn]

    def finish(self, urn: str) -> float:
        return self.start(urn) + self.seconds[urn]

    def done(self, urn: str) -> float:
        """When everything a dependent of `urn` waits for is created."""
        if urn not in self._done:
            self._done[urn] = max([self.finish(urn)] + [self.done(c) for c in self.local_children(urn)])
        return self._done[urn]

    def is_component(self, urn: str) -> bool:
        return not self.by_urn[urn]["custom"] and self.seconds[urn] == 0

    def path(self) -> list[str]:
        """From the resource created last back to one that waits for nothing.

        Ties go to the longer own creation time, then the URN, so the path is deterministic.
        Local components are walked through, not listed: they take no time themselves.
        """
        if not self.by_urn:
            return []
        steps: list[str] = []
        urn: str | None = max(self.by_urn, key=lambda u: (self.done(u), self.seconds[u], u))
        whole = True  # reached as a dependency (waits for children too), not as a parent
        while urn is not None:
            kids = self.local_children(urn)
            if whole and kids and self.done(urn) > self.finish(urn):
                urn = max(kids, key=lambda u: (self.done(u), self.seconds[u], u))
                continue
            if not self.is_component(urn):
                steps.append(urn)
            waits = self.waits_for(urn)
            if not waits or self.start(urn) == 0:
                break
            _, _, urn, via_parent = max(waits, key=lambda w: (w[0], w[1], not w[3], w[2]))
            whole = not via_parent
        return steps[::-1]


def critical_path(entries: list[dict], table: dict) -> dict:
    """The deployTime section of a plan: total seconds and the chain of resources that sets it."""
    graph = _Graph(entries, table)
    steps = graph.path()
    return {
        "totalSeconds": round(max(map(graph.done, graph.by_urn), default=0.0), 1),
        "path": [{"urn": u, "type": graph.by_urn[u]["type"], "name": graph.by_urn[u]["name"],
                  "startSeconds": round(graph.start(u), 1), "seconds": round(graph.seconds[u], 1)}
                 for u in steps],
        "typesNotInTable": sorted(graph.unknown),
        "assumptions": "first `pulumi up` on an empty stack, independent operations in parallel, the typical "
                       "creation times of tools/plan/durations.yaml, and no API throttling or engine overhead",
    }
