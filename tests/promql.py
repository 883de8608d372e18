"""PromQL checks for the tests: the metric names an expression reads, and promtool when present.

`metric_names` is a small lexer, not a parser: it drops string literals, label matchers
(`{...}`), ranges (`[5m]`), offsets (`offset 30m`) and the label lists of by/without/on/
ignoring/group_left/group_right, then keeps identifiers that are neither functions (followed by `(`) nor
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
_OFFSET_MODIFIER = re.compile(r"\boffset\s+-?(?:\d+(?:ms|[smhdwy]))+")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    text = _OFFSET_MODIFIER.sub(" ", text)
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


def run_rule_tests(directory: Path, rules_yaml: str, test: dict) -> subprocess.CompletedProcess:
    """`promtool test rules` on one test (input series at a 1-minute interval, the alerts or
    expression values expected, evaluated every minute) against `rules_yaml`, both files
    written into `directory`."""
    import yaml

    (directory / "rules.yaml").write_text(rules_yaml)
    (directory / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [{"interval": "1m", **test}]},
        sort_keys=False))
    return subprocess.run([promtool(), "test", "rules", "tests.yaml"], cwd=directory, capture_output=True, text=True,
                          check=False)


# --- scaling the rules' durations for the runtime tier ---------------------------------------

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000,
             "y": 31_536_000_000}
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE_OR_SUBQUERY = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*({_DURATION})?\s*)?\]")
_OFFSET = re.compile(rf"\b(offset\s+)(-?)({_DURATION})")


def duration_ms(text: str) -> int:
    """A Prometheus duration (`5m`, `1h30m`, `500ms`) in milliseconds."""
    parts = re.findall(r"(\d+)(ms|[smhdwy])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS_MS[u] for n, u in parts)


def scaled_duration(text: str, factor: int) -> str:
    """`text` divided by `factor`, exactly (a duration that does not divide is refused, so a
    scaled rule never waits a rounded time)."""
    ms, remainder = divmod(duration_ms(text), factor)
    if remainder or ms == 0:
        raise ValueError(f"{text} does not divide by {factor}")
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def scaled_expr(expr: str, factor: int) -> str:
    """Every duration of a PromQL expression (range and subquery selectors, offsets) divided by
    `factor`; string literals and everything else untouched."""
    def outside_strings(text: str) -> str:
        text = _RANGE_OR_SUBQUERY.sub(
            lambda m: "[" + scaled_duration(m.group(1), factor)
            + (":" + (scaled_duration(m.group(2), factor) if m.group(2) else "") if ":" in m.group(0) else "")
            + "]", text)
        return _OFFSET.sub(lambda m: m.group(1) + m.group(2) + scaled_duration(m.group(3), factor), text)

    out, last = [], 0
    for literal in _STRING.finditer(expr):
        out += [outside_strings(expr[last:literal.start()]), literal.group()]
        last = literal.end()
    return "".join(out + [outside_strings(expr[last:])])


def scaled_rules(rules_yaml: str, factor: int) -> str:
    """A Prometheus rules file with every duration its rules wait or look back over divided by
    `factor`: groups' `interval`, rules' `for` and `keep_firing_for`, and the durations in their
    expressions. Names, labels, annotations and every threshold are the input's."""
    import yaml

    doc = yaml.safe_load(rules_yaml)
    for group in doc["groups"]:
        if "interval" in group:
            group["interval"] = scaled_duration(group["interval"], factor)
        for rule in group["rules"]:
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = scaled_duration(rule[key], factor)
            rule["expr"] = scaled_expr(rule["expr"], factor)
    return yaml.safe_dump(doc, sort_keys=False)


def cluster_only(expr: str) -> bool:
    """An expression that reads only what a cluster has (kubelets, cAdvisor, the API server, the
    Cluster Autoscaler): the runtime tier has none of them, so promtool proves it instead."""
    from airflow_eks import scrape

    cluster_metrics = set(scrape.AUTOSCALER_METRICS) | set(scrape.KUBELET_METRICS) | set(scrape.CADVISOR_METRICS)
    cluster_jobs = (scrape.JOB_KUBELET, scrape.JOB_CADVISOR, scrape.JOB_APISERVER)
    return bool(metric_names(expr) & cluster_metrics) or any(f'job="{job}"' in expr for job in cluster_jobs)
