"""The StatsD names the pinned Airflow really sends, as templates: tests/data/airflow-statsd-metrics.txt.

The runtime tier keeps every StatsD line its Airflow processes send (scheduler, API server, DAG
processor, triggerer, the task runner, the CLI) in build/runtime/statsd/capture-airflow-<version>.txt,
and the identifiers it ran with (DAG and task ids, operators, pools, queues, files, the host name, ...) in
build/runtime/statsd/identifiers.json. This module turns that capture into name templates
(`ti.finish.<dag_id>.<task_id>.failed`) and writes the list the offline tests read:

    make airflow-metrics      # the runtime tier, then: python -m tests.metric_list --write

Regenerating keeps what the list already held for the same Airflow version (a name sent only
in some runs stays listed) and starts afresh for another version.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "tests" / "data" / "airflow-statsd-metrics.txt"
STATSD_DIR = ROOT / "build" / "runtime" / "statsd"
IDENTIFIERS = STATSD_DIR / "identifiers.json"
PREFIX = "airflow."  # [metrics] statsd_prefix, as the chart renders it
KINDS = {"c": "counter", "g": "gauge", "ms": "timer", "h": "histogram", "d": "histogram"}
# Placeholders whose values are whole dot-separated segments, in the order ambiguities are
# settled (a DAG file's stem is often its DAG's id): under `dag_processing.` a segment is a
# file, elsewhere a DAG id. States stay literal: they are words metric names also use
# (`triggers.running`), and the list then says which states were seen.
SEGMENT_PLACEHOLDERS = ("dag_id", "dag_file", "task_id", "pool_name", "queue", "executor_class_name",
                        "bundle_name", "hostname")
REGENERATE = "make airflow-metrics"


@dataclass(frozen=True)
class MetricList:
    version: str
    entries: frozenset[tuple[str, str]]
    """(kind, template) pairs."""

    @property
    def templates(self) -> set[str]:
        return {template for _kind, template in self.entries}


def parse_capture(text: str) -> set[tuple[str, str]]:
    """(kind, StatsD name) of every captured line (`<unix time> <name>:<value>|<type>...`)."""
    found = set()
    for record in text.splitlines():
        _time, _, line = record.partition(" ")
        name, colon, rest = line.partition(":")
        if not colon:
            continue
        parts = rest.split("|")
        if len(parts) >= 2 and parts[1] in KINDS:
            found.add((KINDS[parts[1]], name))
    return found


def template(name: str, identifiers: dict[str, list[str]]) -> str:
    """A captured name with the run's identifiers replaced by `<placeholder>`s."""
    name = name.removeprefix(PREFIX)
    for operator in sorted(identifiers.get("operator_name", []), key=len, reverse=True):
        # operator_successes_<operator_name>, task_instance_created_<operator_name>, ...
        if name.endswith("_" + operator) and "." not in name:
            name = name[: -len(operator)] + "<operator_name>"
            break
    order = list(SEGMENT_PLACEHOLDERS)
    if name.startswith("dag_processing."):
        order.remove("dag_file")
        order.insert(0, "dag_file")
    segments = name.split(".")
    for i, segment in enumerate(segments):
        if i == 0:
            continue  # the metric's own first word is never an identifier
        for placeholder in order:
            if segment in identifiers.get(placeholder, []):
                segments[i] = f"<{placeholder}>"
                break
    return ".".join(segments)


def entries(capture: str, identifiers: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(kind, template(name, identifiers)) for kind, name in parse_capture(capture)}


def load(path: Path = LIST) -> MetricList:
    text = path.read_text()
    found = re.search(r"^# airflow-version: (\S+)$", text, flags=re.MULTILINE)
    assert found, f"{path} names no Airflow version"
    pairs = frozenset(tuple(line.split(None, 1)) for line in text.splitlines() if line and not line.startswith("#"))
    return MetricList(found.group(1), pairs)  # type: ignore[arg-type]


def render(version: str, pairs: set[tuple[str, str]]) -> str:
    header = [
        f"# StatsD names Airflow {version} sent in the runtime tier, as templates: <kind> <name>.",
        "# Generated from build/runtime/statsd/capture-airflow-<version>.txt (every line the tier's",
        "# scheduler, API server, DAG processor, triggerer, task runner and CLI sent to its StatsD",
        "# exporter) with the run's DAG/task ids, operators, pools, files and host replaced by",
        "# <placeholders>; the statsd prefix `airflow.` is left out. Do not edit: regenerate with",
        f"#   {REGENERATE}",
        "# A name Airflow sends only on faults the tier does not provoke is not here.",
        f"# airflow-version: {version}",
    ]
    return "\n".join(header + [f"{kind} {name}" for kind, name in sorted(pairs, key=lambda p: (p[1], p[0]))]) + "\n"


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--capture", type=Path, help="default: the newest build/runtime/statsd/capture-airflow-*.txt")
    args.add_argument("--write", action="store_true", help=f"write {LIST.relative_to(ROOT)} (else print it)")
    options = args.parse_args()
    capture = options.capture or max(STATSD_DIR.glob("capture-airflow-*.txt"), key=lambda p: p.stat().st_mtime)
    version = re.fullmatch(r"capture-airflow-(.+)\.txt", capture.name).group(1)  # type: ignore[union-attr]
    identifiers = json.loads(IDENTIFIERS.read_text())
    pairs = entries(capture.read_text(), identifiers)
    if LIST.exists() and load().version == version:
        pairs |= set(load().entries)
    text = render(version, pairs)
    if options.write:
        LIST.write_text(text)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
