"""The statsd_exporter port (tests/statsd_exporter) answers upstream's own test vectors as
upstream's tests expect (tests/data/statsd-exporter-vectors.yaml, transcribed from the tag the
chart pins). Each check below is the Go test's check, in the same order and with the same
leniency: where upstream does not assert, neither do we."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import yaml

from tests import charts
from tests.statsd_exporter.line import Event, Parser
from tests.statsd_exporter.mapper import ConfigError, MetricMapper, escape_metric_name

VECTORS = yaml.safe_load((Path(__file__).parent / "data" / "statsd-exporter-vectors.yaml").read_text())


def test_the_vectors_are_those_of_the_exporter_version_the_chart_runs():
    values = yaml.safe_load((charts.require(charts.airflow_chart_dir()) / "values.yaml").read_text())
    assert values["images"]["statsd"]["tag"] == VECTORS["source"]["tag"]


def _load(mapper: MetricMapper, config: str) -> ConfigError | None:
    try:
        mapper.load(config)
    except ConfigError as error:
        return error
    return None


# Upstream runs every scenario on one mapper it reloads: a config that fails to load leaves the
# previous one in place, which the scenario's names then meet. One mapper, in order, here too.
_SHARED_MAPPER = MetricMapper()


@pytest.mark.parametrize("scenario", VECTORS["metric_mapper_yaml"], ids=lambda s: s["test_name"])
def test_metric_mapper_yaml(scenario):
    error = _load(_SHARED_MAPPER, scenario["config"])
    assert not (error and not scenario["config_bad"]), f"config load error: {error}"
    assert not (error is None and scenario["config_bad"]), "expected a bad config, but it loaded"
    for expected in scenario.get("mappings", []):
        metric_type = expected.get("metric_type") or "counter"
        result = _SHARED_MAPPER.get_mapping(expected["statsd_metric"], metric_type)
        present = result is not None
        labels = result.labels if present else {}
        what = expected["statsd_metric"]
        if present and expected.get("name"):
            assert result.name == expected["name"], what
        assert not (expected.get("not_present") and present), f"{what}: expected no match"
        assert len(labels) == len(expected.get("labels") or {}), (what, labels)
        for label, value in labels.items():
            assert (expected.get("labels") or {}).get(label, "") == value, (what, labels)
        mapping = result.mapping if present else None
        if expected.get("ttl_seconds"):
            assert mapping and mapping.ttl == expected["ttl_seconds"], what
        if expected.get("metric_type"):
            assert mapping and mapping.match_metric_type == metric_type, what
        if expected.get("buckets"):
            assert mapping and list(mapping.histogram_options.buckets) == expected["buckets"], what
        if expected.get("quantiles"):
            assert mapping and [list(q) for q in mapping.summary_options.quantiles] == expected["quantiles"], what
        for attr in ("max_age", "age_buckets", "buf_cap"):
            wanted = expected.get(f"{attr}_seconds" if attr == "max_age" else attr)
            if wanted:
                assert mapping and getattr(mapping.summary_options, attr) == wanted, (what, attr)
        if present:
            assert mapping.scale == expected.get("scale"), what


@pytest.mark.parametrize("scenario", VECTORS["action"], ids=lambda s: s["test_name"])
def test_action(scenario):
    mapper = MetricMapper()
    error = _load(mapper, scenario["config"])
    assert bool(error) == scenario["config_bad"], error
    if not scenario["config_bad"]:
        assert mapper.mappings[0].action == scenario["expected_action"]


def test_multiple_matches_of_one_glob_keep_their_own_names():
    mapper = MetricMapper(VECTORS["multiple_matches"]["config"])
    for _ in range(10):
        for name, expected in VECTORS["multiple_matches"]["names"].items():
            result = mapper.get_mapping(name, "counter")
            assert result is not None and result.name == expected, name


@pytest.mark.parametrize(("name", "escaped"), VECTORS["escape_metric_name"].items())
def test_escape_metric_name(name, escaped):
    assert escape_metric_name(name) == escaped


LINE_CASES = [(test["test"], test["parser"], name, case)
              for test in VECTORS["line_to_events"] for name, case in test["cases"].items()]


@pytest.mark.parametrize(("test", "parser", "name", "case"), LINE_CASES,
                         ids=[f"{t}-{re.sub(r'[^A-Za-z0-9]+', '_', n)}" for t, _p, n, _c in LINE_CASES])
def test_line_to_events(test, parser, name, case):
    line = case["in"] if "in" in case else base64.b64decode(case["in_base64"]).decode("utf-8", "surrogateescape")
    events = Parser(**parser).line_to_events(line)
    for j, expected in enumerate(case.get("out") or []):
        assert j < len(events), (line, events)
        assert events[j] == Event(expected["type"], expected["name"], expected["value"], expected["labels"],
                                  expected.get("relative", False)), (line, j)


def test_the_transcription_covers_every_scenario_of_the_go_tests():
    """Counts read off the tag's test files: a lost scenario would make the port look better."""
    assert len(VECTORS["metric_mapper_yaml"]) == 60
    assert len(VECTORS["action"]) == 6
    assert len(VECTORS["escape_metric_name"]) == 10
    assert [len(t["cases"]) for t in VECTORS["line_to_events"]] == [64, 39, 39, 39, 39, 39]
