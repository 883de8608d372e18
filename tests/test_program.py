"""The whole program, run for each stack file exactly as the CLI configures it."""

from __future__ import annotations

import json

from tests import harness


def test_program_registers_resources_for_both_stacks(programs):
    for run in programs.values():
        assert run.resources, "the program registered nothing"


def test_one_explicit_aws_provider_carries_the_default_tags(program):
    provider = program.one("pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["project"] == "airflow-eks"
    assert tags["managed-by"] == "pulumi"
    assert provider.inputs["region"] == "us-east-1"


def test_every_aws_resource_uses_the_tagged_provider(program):
    provider = program.one("pulumi:providers:aws")
    stray = [r.name for r in program.resources
             if r.custom and r.typ.startswith("aws:") and not r.provider.startswith(provider.urn)]
    assert stray == []


def test_stack_tag_names_the_stack():
    for stack in ("dev", "prod"):
        run = harness.run_program(stack)
        tags = json.loads(run.one("pulumi:providers:aws").inputs["defaultTags"])["tags"]
        assert tags["stack"] == stack
