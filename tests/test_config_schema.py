"""Pulumi.yaml is the single source of keys and defaults, and the stack files respect it."""

from __future__ import annotations

import pulumi
import pytest

from airflow_eks import config
from airflow_eks.offline import harness, loader

PROJECT = loader.project_file()
SCHEMA = {k: v for k, v in PROJECT["config"].items() if ":" not in k}


def keys_read_by_the_program(stack: str) -> set[str]:
    """Every project key config.load() reads, observed by spying on pulumi.Config.get."""
    seen: set[str] = set()
    original = pulumi.Config.get

    def spy(self, key, default=None):
        seen.add(self.full_key(key))
        return original(self, key, default)

    pulumi.Config.get = spy
    try:
        harness.run(config.load, stack=stack)
    finally:
        pulumi.Config.get = original
    return {k.split(":", 1)[1] for k in seen if k.startswith(f"{PROJECT['name']}:")}


def test_project_runtime_is_python_with_pip_and_venv():
    assert PROJECT["name"] == "airflow-eks"
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


@pytest.mark.parametrize("key", sorted(SCHEMA))
def test_every_key_has_a_type_and_a_description(key):
    spec = SCHEMA[key]
    assert spec["type"] in ("string", "integer", "boolean", "array", "object")
    assert len(spec.get("description", "")) > 20
    if spec["type"] == "array":
        assert spec["items"] == {"type": "string"}


def test_every_key_the_program_reads_is_declared_and_every_declared_key_is_read():
    assert keys_read_by_the_program("dev") == set(SCHEMA)


def test_only_the_required_and_secret_keys_have_no_default():
    assert {k for k, v in SCHEMA.items() if "default" not in v} == {"gitSyncRepo", "gitSyncToken", "gitSyncSshKey",
                                                                      "ssoClientSecret", "dockerHubCredentials",
                                                                      "fernetKey"}
    assert {k for k, v in SCHEMA.items() if v.get("secret")} == set(config.SECRET_KEYS)


def test_default_tags_are_declared_for_the_aws_provider():
    assert PROJECT["config"]["aws:defaultTags"]["value"]["tags"] == {"project": "airflow-eks", "managed-by": "pulumi"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_hold_only_declared_keys_and_no_ciphertext(stack):
    values = loader.stack_file(stack)["config"]
    for key, value in values.items():
        namespace, bare = key.split(":", 1)
        assert namespace in ("airflow-eks", "aws"), key
        if namespace == "airflow-eks":
            assert bare in SCHEMA, f"{key} is not declared in Pulumi.yaml"
        assert not (isinstance(value, dict) and "secure" in value), f"{key} holds a backend-bound secret"


# Restated on purpose: the HA / protection / DAG-source / EKS support-type choices of a stack
# should be readable in its own file.
DELIBERATE_RESTATEMENTS = {"airflow-eks:natGateways", "airflow-eks:protectData", "airflow-eks:gitSyncBranch",
                           "airflow-eks:eksSupportType"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_do_not_repeat_defaults(stack):
    values = loader.stack_file(stack)["config"]
    repeated = [k for k, v in values.items()
                if k.startswith("airflow-eks:") and SCHEMA[k.split(":", 1)[1]].get("default") == v
                and k not in DELIBERATE_RESTATEMENTS]
    assert repeated == []


def test_loader_passes_values_as_the_cli_does():
    _, values, secret_keys = loader.stack_config("dev", secrets={"gitSyncToken": "t"})
    assert values["airflow-eks:availabilityZoneCount"] == "2"
    assert values["airflow-eks:protectData"] == "false"
    assert values["airflow-eks:spotNodeInstanceTypes"].startswith('["m6i.large"')
    assert values["aws:defaultTags"] == '{"tags": {"project": "airflow-eks", "managed-by": "pulumi"}}'
    assert "airflow-eks:gitSyncToken" in secret_keys and values["airflow-eks:gitSyncToken"] == "t"


def test_loader_marks_secure_values_secret(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text((loader.ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  airflow-eks:gitSyncToken:\n    secure: v1:abc\n")
    monkeypatch.setattr(loader, "ROOT", tmp_path)
    _, values, secret_keys = loader.stack_config("x")
    assert values["airflow-eks:gitSyncToken"] == loader.DUMMY_SECRET
    assert secret_keys == ["airflow-eks:gitSyncToken"]
