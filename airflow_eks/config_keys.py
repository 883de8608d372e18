"""Which configuration keys exist: the ones Pulumi.yaml declares, and nothing else.

The Pulumi CLI passes any key of the project's namespace to the program, declared or not
(`spotNodeMaxSise: 3` reaches it and is silently ignored). The program and the offline
loader both refuse such keys before anything else runs, naming the declared key each one is
closest to. The declared keys are read from Pulumi.yaml itself, so a key added there is
accepted everywhere at once. Keys of other namespaces (aws:, kubernetes:, pulumi:) belong
to providers and the engine and are left alone.
"""

from __future__ import annotations

import copy
import difflib
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"
# difflib ratio below which a declared key is no useful hint ("did you mean ...?").
_HINT_CUTOFF = 0.6


@functools.cache
def _parsed(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def read_project_file(path: Path = PROJECT_FILE) -> dict[str, Any]:
    """Pulumi.yaml, parsed once per process (about 50 ms each time otherwise); a copy, so a
    caller cannot change what the next one reads."""
    return copy.deepcopy(_parsed(path))


def declared_keys(project_file: Mapping[str, Any]) -> frozenset[str]:
    """Bare names of the project-namespace keys Pulumi.yaml declares (`spotNodeMaxSize`)."""
    prefix = f"{project_file['name']}:"
    keys = project_file.get("config") or {}
    return frozenset(k.removeprefix(prefix) for k in keys if ":" not in k.removeprefix(prefix))


def closest(key: str, declared: Iterable[str]) -> str | None:
    """The declared key `key` is most likely a typo of, or None when none is close.

    Compared without case: `SpotNodeMaxSize` and `spotnodemaxsize` are the same mistake.
    """
    by_lower = {d.lower(): d for d in declared}
    match = difflib.get_close_matches(key.lower(), by_lower, n=1, cutoff=_HINT_CUTOFF)
    return by_lower[match[0]] if match else None


def unknown_keys(config_keys: Iterable[str], project: str, declared: Iterable[str]) -> list[tuple[str, str | None]]:
    """(full key, closest declared key or None) for every project-namespace key not declared.

    `config_keys` are full keys (`airflow-eks:spotNodeMaxSise`) or bare ones, which the CLI
    puts in the project's namespace.
    """
    declared = frozenset(declared)
    found = []
    for key in set(config_keys):
        namespace, _, name = key.partition(":") if ":" in key else ("", "", key)
        if namespace not in ("", project) or name in declared:
            continue
        found.append((f"{project}:{name}", closest(name, declared)))
    return sorted(found)


def unknown_keys_error(unknown: list[tuple[str, str | None]]) -> pulumi.RunError:
    """One RunError listing every unknown key with its hint; never a value (it may be secret)."""
    lines = [f"Unknown configuration key{'s' if len(unknown) > 1 else ''} (not declared in Pulumi.yaml):"]
    for key, hint in unknown:
        lines.append(f"  {key}: " + (f"did you mean {hint}?" if hint else
                                      "no declared key is close (docs/configuration.md)"))
    lines.append("Fix the name in the stack file, or remove it with `pulumi config rm <key>`.")
    return pulumi.RunError("\n".join(lines))


def check(config_keys: Iterable[str], project_file: Mapping[str, Any]) -> None:
    """Raise unknown_keys_error when any project-namespace key is not declared."""
    unknown = unknown_keys(config_keys, project_file["name"], declared_keys(project_file))
    if unknown:
        raise unknown_keys_error(unknown)
