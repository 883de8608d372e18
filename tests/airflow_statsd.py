"""What the pinned Airflow's StatsD becomes in Prometheus, offline.

The names are tests/data/airflow-statsd-metrics.txt (what the runtime tier's Airflow really
sent, tests/metric_list.py), placeholders filled with example values; they go through the
mapping the chart renders into the StatsD exporter's ConfigMap, handled by the port of
statsd_exporter (tests/statsd_exporter), one event each; what comes out is read back from the
exporter's own exposition.
"""

from __future__ import annotations

import itertools
import re

from tests import charts, metric_list
from tests.statsd_exporter.exporter import Exporter
from tests.statsd_exporter.line import Event
from tests.statsd_exporter.mapper import MetricMapper

# One or more example values per placeholder of the list. Task ids inside a TaskGroup reach
# StatsD as `group.task` (Airflow 3.1) or `group__task` (3.3).
EXAMPLES: dict[str, list[str]] = {
    "dag_id": ["etl"], "task_id": ["load", "group.load", "group__load"], "dag_file": ["etl_dag"],
    "pool_name": ["default_pool"], "queue": ["default"], "executor_class_name": ["KubernetesExecutor"],
    "hostname": ["airflow-triggerer-0"], "bundle_name": ["dags-folder"], "operator_name": ["PythonOperator"],
}
EVENT_TYPE = {"counter": "counter", "gauge": "gauge", "timer": "observer", "histogram": "observer"}
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def rendered_mappings(objects: list[dict]) -> str:
    """mappings.yml of the chart's StatsD ConfigMap, as statsd_exporter reads it."""
    [configmap] = [o for o in charts.of_kind(objects, "ConfigMap") if o["metadata"]["name"].endswith("-statsd")]
    return configmap["data"]["mappings.yml"]


def statsd_names(values: dict[str, list[str]] = EXAMPLES) -> list[tuple[str, str]]:
    """(kind, StatsD name) for every listed template, each placeholder filled with each of its
    values (every combination)."""
    found = []
    for kind, template in sorted(metric_list.load().entries):
        holes = re.findall(r"<([a-z_]+)>", template)
        missing = [h for h in holes if h not in values]
        assert not missing, f"no example value for <{missing[0]}> in {template}"
        for combo in itertools.product(*(values[h] for h in holes)):
            name = template
            for hole, value in zip(holes, combo, strict=True):
                name = name.replace(f"<{hole}>", value, 1)
            found.append((kind, metric_list.PREFIX + name))
    return found


def exporter_after(mappings_yml: str, names: list[tuple[str, str]]) -> Exporter:
    exporter = Exporter(MetricMapper(mappings_yml), clock=lambda: 0.0)
    for kind, name in names:
        exporter.handle(Event(EVENT_TYPE[kind], name, 0.1 if kind in ("timer", "histogram") else 1.0))
    return exporter


def samples(exposition: str) -> list[tuple[str, dict[str, str], str]]:
    """(name, labels, value) of every sample of a text exposition."""
    found = []
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, line
        found.append((match.group(1), dict(_LABEL.findall(match.group(2) or "")), match.group(3)))
    return found


def produced(mappings_yml: str, values: dict[str, list[str]] = EXAMPLES) -> dict[str, set[frozenset[str]]]:
    """Prometheus name -> the label names its series carry (quantile/le aside)."""
    out: dict[str, set[frozenset[str]]] = {}
    for name, labels, _value in samples(exporter_after(mappings_yml, statsd_names(values)).exposition()):
        out.setdefault(name, set()).add(frozenset(set(labels) - {"quantile", "le"}))
    return out
