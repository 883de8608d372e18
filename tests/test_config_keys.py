"""Configuration keys Pulumi.yaml does not declare: refused by the program before any resource
and by the offline loader, each named with the declared key it is closest to; keys of other
namespaces are left alone."""

from __future__ import annotations

import json

import pulumi
import pytest

from airflow_eks import config, config_keys, config_reader
from airflow_eks.offline import harness, loader

PROJECT = loader.project_file()
DECLARED = config_keys.declared_keys(PROJECT)


def program_error(**kw) -> harness.ProgramError:
    with pytest.raises(harness.ProgramError) as failed:
        harness.run_program("dev", **kw)
    assert isinstance(failed.value.error, pulumi.RunError)
    return failed.value


# --- pure ----------------------------------------------------------------------------------
def test_declared_keys_are_pulumi_yaml_s_project_keys_only():
    assert {"spotNodeMaxSize", "protectData", "keepDataOnDestroy", "gitSyncToken"} <= DECLARED
    assert not any(":" in k for k in DECLARED)  # aws:region and aws:defaultTags are the provider's
    assert len(DECLARED) == sum(1 for k in PROJECT["config"] if ":" not in k)


def test_a_key_added_to_pulumi_yaml_is_accepted_without_touching_the_code():
    project = {**PROJECT, "config": {**PROJECT["config"], "brandNewKey": {"type": "string", "default": ""}}}
    config_keys.check({"airflow-eks:brandNewKey", "airflow-eks:spotNodeMaxSize"}, project)
    with pytest.raises(pulumi.RunError):
        config_keys.check({"airflow-eks:brandNewKey"}, PROJECT)


@pytest.mark.parametrize(("typo", "meant"), [
    ("spotNodeMaxSise", "spotNodeMaxSize"),    # one letter
    ("SpotNodeMaxSize", "spotNodeMaxSize"),    # case
    ("spotNodesMaxSize", "spotNodeMaxSize"),   # an extra letter
    ("protectdata", "protectData"),
    ("keepDataOnDelete", "keepDataOnDestroy"),  # a near miss in words
    ("gitSyncTokn", "gitSyncToken"),
])
def test_closest_declared_key(typo, meant):
    assert config_keys.closest(typo, DECLARED) == meant


def test_no_hint_when_nothing_is_close():
    assert config_keys.closest("colour", DECLARED) is None


def test_other_namespaces_and_declared_keys_are_left_alone():
    keys = ["aws:region", "aws:profile", "kubernetes:context", "pulumi:tags", "airflow-eks:spotNodeMaxSize",
            "spotNodeMinSize", "airflow-eks:spotNodeMaxSise", "dbMultiAZ"]
    assert config_keys.unknown_keys(keys, "airflow-eks", DECLARED) == [
        ("airflow-eks:dbMultiAZ", "dbMultiAz"),  # bare keys are the project's, as the CLI reads them
        ("airflow-eks:spotNodeMaxSise", "spotNodeMaxSize"),
    ]


# --- the program -----------------------------------------------------------------------------
def test_the_program_refuses_a_typo_before_any_resource():
    failed = program_error(overrides={"spotNodeMaxSise": 3})
    assert str(failed.error).splitlines() == [
        "Unknown configuration key (not declared in Pulumi.yaml):",
        "  airflow-eks:spotNodeMaxSise: did you mean spotNodeMaxSize?",
        "Fix the name in the stack file, or remove it with `pulumi config rm <key>`.",
    ]
    assert failed.resources == []


def test_every_unknown_key_is_listed_once_with_its_hint_and_provider_keys_pass():
    failed = program_error(overrides={"spotNodeMaxSise": 3, "colour": "blue", "aws:skipMetadataApiCheck": "false",
                                      "kubernetes:enableServerSideApply": "true"})
    message = str(failed.error)
    assert "airflow-eks:spotNodeMaxSise: did you mean spotNodeMaxSize?" in message
    assert "airflow-eks:colour: no declared key is close" in message
    assert "aws:" not in message and "kubernetes:" not in message


def test_a_mistyped_secret_key_never_shows_its_value():
    failed = program_error(secrets={"gitSyncTokn": "ghp_do-not-print-me"})
    assert "airflow-eks:gitSyncTokn: did you mean gitSyncToken?" in str(failed.error)
    assert "ghp_do-not-print-me" not in str(failed.error)


def test_only_declared_keys_reach_config_load_in_both_stack_files():
    for stack in ("dev", "prod"):
        harness.run(config.load, stack=stack)  # raises on any undeclared key


def test_the_keys_the_cli_passes_are_seen_too(monkeypatch):
    """`pulumi up` hands the program its configuration in PULUMI_CONFIG, not set_all_config."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"airflow-eks:spotNodeMaxSise": "3", "aws:region": "us-east-1"}))
    assert {"airflow-eks:spotNodeMaxSise", "aws:region"} <= config_reader.all_keys()


# --- the offline loader ------------------------------------------------------------------------
def test_the_offline_loader_refuses_a_typo_in_a_stack_file(monkeypatch):
    stack = {"config": {"airflow-eks:spotNodeMaxSise": 3, "aws:region": "eu-west-1",
                        "airflow-eks:natGateways": "single"}}
    monkeypatch.setattr(loader, "stack_file", lambda _name: stack)
    with pytest.raises(pulumi.RunError, match="airflow-eks:spotNodeMaxSise: did you mean spotNodeMaxSize"):
        loader.stack_config("typo")
    del stack["config"]["airflow-eks:spotNodeMaxSise"]
    assert loader.stack_config("typo")[1]["aws:region"] == "eu-west-1"
