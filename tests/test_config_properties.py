"""Property: whatever a user types, load() either accepts it or raises a RunError, and a
refused configuration registers nothing at all (not even the AWS provider)."""

from __future__ import annotations

import json
import re

import pulumi
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from airflow_eks import config
from airflow_eks.offline import harness, loader

PROJECT = loader.project_file()["config"]
SCHEMA = {k: v for k, v in PROJECT.items() if ":" not in k and not v.get("secret")}
KEYS = sorted(SCHEMA) + ["aws:region", "aws:defaultTags"]
KNOWN = {f"airflow-eks:{k}" for k in SCHEMA} | {k for k in PROJECT if ":" in k} | {
    f"airflow-eks:{k}" for k, v in PROJECT.items() if v.get("secret")}
ERROR = re.compile(r"Invalid configuration (?P<key>[\w-]+:\w+) = (?P<shown>.+): expected (?P<allowed>.+)\.", re.S)
STRING_DEFAULTS = sorted(k for k, v in SCHEMA.items() if v["type"] == "string" and v.get("default"))

scalars = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-10**6, max_value=10**6).map(str),
    st.sampled_from(["", " ", "true", "false", "null", "[]", "{}", "0", "-1", "1e9", "10.0.0.0/8",
                     "db.", "m5.", "1.19", "3.1.8", "60s", "0s", "x" * 300, "\n", "\x00", "3\n", " 3",
                     "+3", "\u0663", "m7g.large", "https://u:p@host/r.git"]),
)
raw_values = st.one_of(scalars, st.lists(st.text(max_size=12), max_size=4).map(json.dumps))


def _load(key: str, value: str):
    return harness.value(config.load, overrides={key: value})


@settings(max_examples=150)
@given(key=st.sampled_from(KEYS), value=raw_values)
def test_any_value_for_any_key_is_accepted_or_a_run_error_of_the_one_shape(key, value):
    try:
        _load(key, value)
    except pulumi.RunError as err:
        # A cross-field rule may name the other key of the pair; it is always a real key.
        m = ERROR.fullmatch(str(err))
        assert m, str(err)
        assert m["key"] in KNOWN and m["allowed"].strip()
        if value.startswith("https://u:p@"):
            assert "u:p@" not in str(err)  # credentials in a URL are never echoed, whichever key


@settings(max_examples=60)
@given(key=st.sampled_from(STRING_DEFAULTS), pad=st.sampled_from([" ", "\n", "\t", "\r\n"]),
       where=st.sampled_from(["before", "after"]))
def test_a_valid_value_with_stray_whitespace_is_refused(key, pad, where):
    """YAML and shells add whitespace silently; AWS and Kubernetes would not trim it."""
    value = str(SCHEMA[key]["default"])
    padded = pad + value if where == "before" else value + pad
    try:
        _load(key, padded)
    except pulumi.RunError as err:
        assert f"airflow-eks:{key} = " in str(err)
    else:
        raise AssertionError(f"{key} accepted {padded!r}")


@settings(max_examples=40)
@given(key=st.sampled_from(KEYS), value=raw_values)
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
