"""The whole program, run for each stack file exactly as the CLI configures it."""

from __future__ import annotations

import json
from collections import Counter

# The architecture: each component exists once per stack, except the Pod Identity roles, one
# per workload (task pods, Airflow's components, the Cluster Autoscaler).
COMPONENTS = {
    "airflow-eks:network:Network": 1, "airflow-eks:cluster:Cluster": 1, "airflow-eks:cluster:ClusterAddons": 1,
    "airflow-eks:cluster:ClusterAutoscaler": 1, "airflow-eks:database:Database": 1,
    "airflow-eks:storage:Buckets": 1, "airflow-eks:identity:AirflowIdentity": 1,
    "airflow-eks:identity:PodIdentityRole": 3, "airflow-eks:airflow:AirflowRelease": 1,
    "airflow-eks:airflow:AirflowSecrets": 1,
}
# UI access (prod only): the controller with its Pod Identity role, and the ingress.
UI_COMPONENTS = {"airflow-eks:ui:LoadBalancerController": 1, "airflow-eks:ui:UiIngress": 1}


def test_each_stack_builds_every_component_of_the_architecture(program, request):
    counts = Counter(r.typ for r in program.resources if r.typ.startswith("airflow-eks:"))
    expected = dict(COMPONENTS)
    if request.node.callspec.params["program"] == "prod":
        expected.update(UI_COMPONENTS)
        expected["airflow-eks:identity:PodIdentityRole"] += 1
        expected["airflow-eks:metrics:Metrics"] = 1  # metrics: amp
        expected["airflow-eks:registry:ImageRegistry"] = 1  # imageRegistry
        expected["airflow-eks:airflow:FernetKeyCopy"] = 1  # keepDataOnDestroy keeps the key too
    assert dict(counts) == expected
    # Every resource but the providers belongs to a component of this program or of pulumi-eks.
    ours = {r.urn for r in program.resources if not r.custom}
    orphans = [r.name for r in program.resources
               if r.custom and not r.typ.startswith("pulumi:providers:") and r.parent not in ours]
    assert orphans == []


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


def test_stack_tag_names_the_stack(programs):
    for stack, run in programs.items():
        tags = json.loads(run.one("pulumi:providers:aws").inputs["defaultTags"])["tags"]
        assert tags["stack"] == stack
