"""Property: whatever a user types, load() either accepts it or raises a RunError, and a
refused configuration registers nothing at all (not even the AWS provider)."""

from __future__ import annotations

import json

import pulumi
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_eks import config
from tests import harness, loader

SCHEMA = {k: v for k, v in loader.project_file()["config"].items() if ":" not in k and not v.get("secret")}

scalars = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-10**6, max_value=10**6).map(str),
    st.sampled_from(["", " ", "true", "false", "null", "[]", "{}", "0", "-1", "1e9", "10.0.0.0/8",
                     "db.", "m5.", "1.19", "3.1.8", "60s", "0s", "x" * 300, "\n", "\x00"]),
)
raw_values = st.one_of(scalars, st.lists(st.text(max_size=12), max_size=4).map(json.dumps))


def _load(key: str, value: str):
    try:
        return harness.run(config.load, overrides={key: value})
    except harness.ProgramError as failed:
        raise failed.error from None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(SCHEMA)), value=raw_values)
def test_any_value_for_any_key_is_accepted_or_a_run_error(key, value):
    try:
        _load(key, value)
    except pulumi.RunError as err:
        assert f"airflow-eks:{key}" in str(err) or "airflow-eks:" in str(err)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(SCHEMA)), value=raw_values)
def test_a_refused_configuration_registers_no_resource(key, value):
    try:
        _load(key, value)
        refused = False
    except pulumi.RunError:
        refused = True
    assume(refused)
    try:
        run = harness.run_program("dev", overrides={key: value})
    except harness.ProgramError as failed:
        assert isinstance(failed.error, pulumi.RunError)
        assert failed.resources == []
    else:  # pragma: no cover - would mean __main__ skipped validation
        raise AssertionError(f"program accepted what load() refused: {run.resources}")
