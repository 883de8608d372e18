"""Run a program (the whole __main__.py, or one component) under the mock engine."""

from __future__ import annotations

import datetime as dt
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from airflow_eks import kubernetes_support
from airflow_eks.offline import loader
from airflow_eks.offline import mocks as mock_engine

MAIN = loader.ROOT / "__main__.py"
# The day offline runs judge EKS support on unless told otherwise, so tests and golden plans do
# not move with the calendar; tests/test_kubernetes_support.py checks the defaults against the
# real today separately, and the plan CLI runs the program as of the real today.
REFERENCE_DAY = dt.date(2026, 12, 1)


@dataclass
class Run:
    value: Any
    mocks: mock_engine.Mocks
    outputs: dict[str, Any]
    """Stack exports, resolved: {name: (value, is_secret)}."""

    @property
    def resources(self) -> list[mock_engine.Registered]:
        return self.mocks.monitor.records

    def find(self, typ: str | None = None, **kw: Any) -> list[mock_engine.Registered]:
        return mock_engine.find(self.resources, typ, **kw)

    def one(self, typ: str | None = None, **kw: Any) -> mock_engine.Registered:
        return mock_engine.one(self.resources, typ, **kw)

    def by_urn(self, urn: str) -> mock_engine.Registered:
        return next(r for r in self.resources if r.urn == urn)

    def depends_on(self, dependent: mock_engine.Registered, dependency: mock_engine.Registered) -> bool:
        """Transitive: does the engine order `dependency` before `dependent`?

        Edges are explicit `depends_on`, input dependencies and resources referenced by an
        input (a dependency on a component covers its children: the SDK expands it into the
        children's URNs). Parentage is not an edge here, although a child also waits for a
        custom parent's registration.
        """
        graph = {r.urn: set(r.dependencies) | {u for us in r.property_dependencies.values() for u in us}
                 for r in self.resources}
        seen, todo = set(), [dependent.urn]
        while todo:
            urn = todo.pop()
            for dep in graph.get(urn, ()):
                if dep == dependency.urn:
                    return True
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return False


class ProgramError(Exception):
    """The program raised; carries the error and what had been registered until then."""

    def __init__(self, error: Exception, mocks: mock_engine.Mocks) -> None:
        super().__init__(str(error))
        self.error = error
        self.mocks = mocks

    @property
    def resources(self) -> list[mock_engine.Registered]:
        return self.mocks.monitor.records


def run(
    build: Callable[[], Any],
    *,
    stack: str = "dev",
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    preview: bool = False,
    today: dt.date | None = None,
) -> Run:
    """Set config and mocks for `stack`, run `build` and wait for every registration.

    `today`: the day the program judges EKS support on; by default REFERENCE_DAY, so a recorded
    run does not change with the calendar (the plan CLI passes the real today).
    """
    project, values, secret_keys = loader.stack_config(stack, overrides, secrets)
    pulumi.runtime.set_all_config(values, secret_keys)
    region = values.get("aws:region", "us-east-1")
    engine = mock_engine.install(project=project, stack=stack, preview=preview, region=region)
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def body():
        result["value"] = build()

    try:
        with kubernetes_support.as_of(today or REFERENCE_DAY):
            body()
    except Exception as exc:
        raise ProgramError(exc, engine) from exc
    root = pulumi.runtime.settings.get_root_resource()
    outputs = _resolve_outputs(dict(getattr(root, "outputs", {}) or {}))
    return Run(value=result.get("value"), mocks=engine, outputs=outputs)


def value(build: Callable[[], Any], **kw: Any) -> Any:
    """`run(build, **kw)`'s value; the program's own error (e.g. pulumi.RunError) if it raised."""
    try:
        return run(build, **kw).value
    except ProgramError as failed:
        raise failed.error from None


def run_program(stack: str = "dev", **kw: Any) -> Run:
    return run(lambda: runpy.run_path(str(MAIN), run_name="__main__"), stack=stack, **kw)


def _resolve_outputs(exports: dict[str, Any]) -> dict[str, tuple[Any, bool]]:
    resolved: dict[str, tuple[Any, bool]] = {}

    async def gather() -> None:
        for name, value in exports.items():
            out = pulumi.Output.from_input(value)
            resolved[name] = (await out.future(), await out.is_secret())

    @pulumi.runtime.test
    def collect():
        return pulumi.Output.from_input(gather())

    if exports:
        collect()
    return resolved
