"""Render the configuration reference (docs/configuration.md) from Pulumi.yaml and the stack files.

`python -m tools.config_reference` prints the table; `--write` replaces it in docs/configuration.md
between the config-reference markers. tests/test_docs.py fails when they drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
BEGIN, END = "<!-- config-reference:begin -->", "<!-- config-reference:end -->"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, dict)):
        text = json.dumps(value)
    else:
        text = str(value)
    return f"`{text}`" if text != "" else '`""`'


def table() -> str:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    name = project["name"]
    stacks = {s: (yaml.safe_load((ROOT / f"Pulumi.{s}.yaml").read_text()) or {}).get("config") or {}
              for s in ("dev", "prod")}
    rows = ["| key | type | default | dev | prod | meaning |", "|---|---|---|---|---|---|"]
    for key, spec in project["config"].items():
        if ":" in key:
            continue
        kind = spec["type"] + (" (secret)" if spec.get("secret") else "")
        default = _cell(spec["default"]) if "default" in spec else ("required" if not spec.get("secret") else "")
        dev, prod = (_cell(stacks[s].get(f"{name}:{key}")) for s in ("dev", "prod"))
        meaning = spec["description"].replace("|", "\\|")
        rows.append(f"| `{key}` | {kind} | {default} | {dev} | {prod} | {meaning} |")
    return "\n".join(rows)


def render(page: str) -> str:
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        PAGE.write_text(render(PAGE.read_text()))
    else:
        print(table())
