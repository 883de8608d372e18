"""PromQL checks for the tests: the metric names an expression reads, and promtool when present.

`metric_names` is a small lexer, not a parser: it drops string literals, label matchers
(`{...}`), ranges (`[5m]`) and the label lists of by/without/on/ignoring/group_left/
group_right, then keeps identifiers that are neither functions (followed by `(`) nor
keywords. That is exactly the grammar the project's rules and panels use; promtool (when
installed) parses the rules for real.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests import charts

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for found in _IDENT.finditer(text):
        name = found.group()
        following = text[found.end():].lstrip()[:1]
        if name.lower() in KEYWORDS or following == "(":
            continue
        names.add(name)
    return names


def tool(name: str, package: str) -> str:
    """A Prometheus command-line tool from Debian/Ubuntu. CI installs them and sets
    PROMETHEUS_TOOLS_REQUIRED, so a missing binary fails there instead of skipping."""
    found = shutil.which(name)
    if found is None:
        charts.unavailable(f"{name} not found (run `make test-packages`: apt-get install {package})",
                           required_by="PROMETHEUS_TOOLS_REQUIRED")
    return found


def promtool() -> str:
    return tool("promtool", "prometheus")


def amtool() -> str:
    return tool("amtool", "prometheus-alertmanager")


def check_rules(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False)
