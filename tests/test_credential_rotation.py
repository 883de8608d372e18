"""Rotated credentials reach the pods that read them only at start: the whole program with a
private repository (a sentinel git token, rotated), the generation IDs in the values and on the
right pods of the rendered chart, and the token nowhere but its Secret."""

from __future__ import annotations

import json

import pytest

from airflow_eks import helm_values, names
from airflow_eks.offline import harness, mocks
from tests import charts

RELEASE = "kubernetes:helm.sh/v3:Release"
RANDOM_ID = "random:index/randomId:RandomId"
TOKEN = "SENTINEL-git-token-7c2f90"
HTTPS = {"gitSyncRepo": "https://github.com/org/private-dags.git", "gitSyncUsername": "x-access-token"}
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----"
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
SSH = {"gitSyncRepo": "git@github.com:org/dags.git", "gitSyncKnownHosts": KNOWN_HOSTS}
GIT = helm_values.GIT_CREDENTIALS_GENERATION_ANNOTATION
SSO = helm_values.SSO_CLIENT_GENERATION_ANNOTATION


@pytest.fixture(scope="module")
def runs() -> dict[str, harness.Run]:
    """prod (which has SSO) with a private repository, before and after a token rotation."""
    return {token: harness.run_program("prod", overrides=HTTPS, secrets={"gitSyncToken": token})
            for token in (TOKEN, TOKEN + "-rotated")}


def values(run: harness.Run) -> dict:
    [release] = [r for r in run.find(RELEASE) if r.get("chart") == "airflow"]
    return release.plain_inputs["values"]


def pod_annotations(run: harness.Run) -> dict[str, dict[str, str]]:
    v = values(run)
    return {c: v[c]["podAnnotations"] for c in ("apiServer", *helm_values.GIT_SYNC_COMPONENTS)}


def rendered(run: harness.Run) -> list[dict]:
    return charts.render(charts.airflow_chart_dir(), values(run), release=names.AIRFLOW_RELEASE,
                         namespace=names.AIRFLOW_NAMESPACE)


def test_a_new_token_rolls_the_git_sync_pods_and_nothing_else(runs):
    before, after = (pod_annotations(run) for run in runs.values())
    for component in helm_values.GIT_SYNC_COMPONENTS:
        assert before[component][GIT] != after[component][GIT], component
    # The SSO client secret did not change: neither did its generation, so the API server stays.
    assert before["apiServer"] == after["apiServer"] and GIT not in before["apiServer"]
    assert [r.name for r in runs[TOKEN].find(RANDOM_ID) if "keepers" in r.inputs] == [
        "airflow-secrets-sso-client-generation", "airflow-secrets-git-credentials-generation"]


def test_the_same_token_keeps_the_generation(runs):
    again = harness.run_program("prod", overrides=HTTPS, secrets={"gitSyncToken": TOKEN})
    assert pod_annotations(again) == pod_annotations(runs[TOKEN])


def test_the_token_stays_in_its_secret(runs):
    run = runs[TOKEN]
    holders = [r.name for r in run.resources if mocks.contains_text(r.inputs, TOKEN, outside_secrets=False)]
    assert holders == ["airflow-secrets-git-credentials"]
    assert not [r.name for r in run.resources if mocks.contains_text(r.inputs, TOKEN)]
    for urn, outputs in run.mocks.monitor.registered_outputs.items():
        assert not mocks.contains_text(outputs, TOKEN, outside_secrets=False), urn
    for name, (value, _) in run.outputs.items():
        assert TOKEN not in json.dumps(value), name
    assert TOKEN not in json.dumps(rendered(run))


def test_the_generations_land_on_the_pods_that_read_the_credentials_at_start(runs):
    """Every workload with a git-sync container (sidecar or init) carries the git generation,
    and only those; the API server alone carries the SSO one; task pods (the pod template)
    neither, as each starts afresh."""
    objects = rendered(runs[TOKEN])
    git_sync, annotated = set(), {GIT: set(), SSO: set()}
    for workload in (o for o in objects if o["kind"] in ("Deployment", "StatefulSet")):
        name, spec = workload["metadata"]["name"], charts.pod_spec(workload)
        images = [c["image"].split("/")[-1] for c in spec["containers"] + spec.get("initContainers", [])]
        if any(image.startswith("git-sync:") for image in images):
            git_sync.add(name)
        for annotation, found in annotated.items():
            if annotation in (workload["spec"]["template"]["metadata"].get("annotations") or {}):
                found.add(name)
    assert git_sync == {f"{names.AIRFLOW_RELEASE}-dag-processor", f"{names.AIRFLOW_RELEASE}-triggerer"}
    assert annotated == {GIT: git_sync, SSO: {f"{names.AIRFLOW_RELEASE}-api-server"}}
    pod_template = charts.one(objects, "ConfigMap", f"{names.AIRFLOW_RELEASE}-config")["data"]["pod_template_file.yaml"]
    assert "git-sync" in pod_template and GIT not in pod_template and SSO not in pod_template


def test_a_public_repository_has_no_git_generation(programs):
    v = values(programs["dev"])
    assert all(GIT not in v[c].get("podAnnotations", {}) for c in helm_values.GIT_SYNC_COMPONENTS)


def test_ssh_known_hosts_roll_the_git_sync_pods_through_the_charts_own_checksum():
    """The key is a subPath mount (never refreshed) and gets a generation; the known hosts live
    in the chart's ConfigMap, whose checksum annotation already changes with them."""
    other_hosts = KNOWN_HOSTS.replace("github.com", "gitlab.com")
    objects = [rendered(harness.run_program("dev", overrides={**SSH, "gitSyncKnownHosts": hosts},
                                            secrets={"gitSyncSshKey": SSH_KEY}))
               for hosts in (KNOWN_HOSTS, other_hosts)]
    for kind, component in (("Deployment", "dag-processor"), ("StatefulSet", "triggerer")):
        before, after = (charts.one(o, kind, f"{names.AIRFLOW_RELEASE}-{component}") for o in objects)
        mounts = {m["mountPath"]: m for c in charts.pod_spec(before)["containers"] if c["name"] == "git-sync"
                  for m in c["volumeMounts"]}
        assert mounts["/etc/git-secret/ssh"].get("subPath") and mounts["/etc/git-secret/known_hosts"].get("subPath")
        annotations = [w["spec"]["template"]["metadata"]["annotations"] for w in (before, after)]
        assert annotations[0][GIT] == annotations[1][GIT]  # same key, same generation
        assert annotations[0]["checksum/airflow-config"] != annotations[1]["checksum/airflow-config"]


def test_with_every_secret_key_set_each_stays_in_its_secret():
    """prod with SSO and an SSH repository: the key and the client secret (sentinels) are held,
    marked secret, by their own Secrets only; no ConfigMap, value, output or rendered object
    outside a Secret carries them."""
    key = SSH_KEY.replace("b3Blbg==", "SENTINEL-ssh-key-41d7")
    client = "SENTINEL-sso-client-9e02"
    run = harness.run_program("prod", overrides=SSH, secrets={"gitSyncSshKey": key, "ssoClientSecret": client})
    for sentinel, holder in ((key, "airflow-secrets-git-ssh-key"), (client, "airflow-secrets-sso-client")):
        holders = [r.name for r in run.resources if mocks.contains_text(r.inputs, sentinel, outside_secrets=False)]
        assert holders == [holder]
        assert not [r.name for r in run.resources if mocks.contains_text(r.inputs, sentinel)]
        for urn, outputs in run.mocks.monitor.registered_outputs.items():
            assert not mocks.contains_text(outputs, sentinel, outside_secrets=False), urn
        assert all(sentinel not in json.dumps(value) for value, _ in run.outputs.values())
        assert all(sentinel not in json.dumps(o) for o in rendered(run) if o["kind"] != "Secret")
