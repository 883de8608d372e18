"""The whole program's Airflow release, for the dev and prod stack files: its values pass the
pinned chart's schema and agree with what the rest of the program created."""

from __future__ import annotations

import jsonschema
import pytest

from airflow_eks import helm_values
from airflow_eks import secret_data as data
from airflow_eks.offline import mocks

SPOT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def airflow_release(run):
    return next(r for r in run.find("kubernetes:helm.sh/v3:Release") if r.get("chart") == "airflow")


def values(run) -> dict:
    return airflow_release(run).plain_inputs["values"]


def spot_group(run):
    """The task pool: the node group with a taint (dev's system group is spot capacity too)."""
    (group,) = [r for r in run.find("eks:index:ManagedNodeGroup") if r.get("taints")]
    assert group.get("capacityType") == "SPOT"
    return group


def secret_names(run) -> set[str]:
    return {r.get("metadata.name") for r in run.find("kubernetes:core/v1:Secret")}


def test_release_values_pass_the_chart_schema(program, chart_schema):
    errors = sorted(jsonschema.Draft7Validator(chart_schema).iter_errors(values(program)), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_release_is_the_official_chart_at_the_configured_version(program):
    release = airflow_release(program)
    assert release.get("repositoryOpts.repo") == "https://airflow.apache.org"
    assert release.get("version") == "1.19.0"
    assert release.get("name") == "airflow" and release.get("namespace") == "airflow"


def test_worker_pods_land_on_the_spot_group_and_only_there(program):
    workers = values(program)["workers"]
    spot = spot_group(program)
    assert workers["nodeSelector"] == spot.get("labels")
    taints = [{"key": t["key"], "value": t["value"], "effect": SPOT_EFFECTS[t["effect"]]} for t in spot.get("taints")]
    assert [{k: t[k] for k in ("key", "value", "effect")} for t in workers["tolerations"]] == taints
    system = next(r for r in program.find("eks:index:ManagedNodeGroup") if r is not spot)
    for component in ("scheduler", "apiServer", "triggerer", "dagProcessor", "pgbouncer", "statsd"):
        assert values(program)[component]["nodeSelector"] == system.get("labels"), component


def test_every_secret_the_values_name_is_created_by_the_program(program):
    v = values(program)
    named = {v["fernetKeySecretName"], v["apiSecretKeySecretName"], v["jwtSecretName"],
             v["data"]["metadataSecretName"], v["pgbouncer"]["configSecretName"],
             v["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"]}
    assert named <= secret_names(program)
    assert all(r.get("metadata.namespace") == "airflow" for r in program.find("kubernetes:core/v1:Secret"))


def test_service_accounts_in_values_are_the_ones_with_pod_identity(program):
    v = values(program)
    associated = {r.get("serviceAccount") for r in program.find("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                  if r.get("namespace") == "airflow"}
    in_values = {v[c]["serviceAccount"]["name"] for c in ("workers", "scheduler", "apiServer", "triggerer",
                                                          "dagProcessor")}
    assert in_values == associated


def test_release_waits_for_nodes_add_ons_associations_and_secrets(program):
    release = airflow_release(program)
    needed = [*program.find("eks:index:ManagedNodeGroup"), *program.find("aws:eks/addon:Addon"),
              *program.find("aws:eks/podIdentityAssociation:PodIdentityAssociation"),
              *program.find("kubernetes:core/v1:Secret"), program.one("kubernetes:core/v1:LimitRange")]
    missing = [r.name for r in needed if not program.depends_on(release, r)
               and r.get("namespace") != "kube-system"]
    assert missing == []


def test_namespace_outlives_nothing_that_its_volumes_need(program):
    namespace = program.one("kubernetes:core/v1:Namespace")
    csi = next(r for r in program.find("aws:eks/addon:Addon") if r.get("addonName") == "aws-ebs-csi-driver")
    for dependency in (csi, program.one("kubernetes:storage.k8s.io/v1:StorageClass"),
                       *[a for a in program.find("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                         if a.get("namespace") == "airflow"]):
        assert program.depends_on(namespace, dependency), dependency.name


def test_triggerer_volume_uses_the_program_storage_class(program):
    persistence = values(program)["triggerer"]["persistence"]
    assert persistence["storageClassName"] == program.one("kubernetes:storage.k8s.io/v1:StorageClass").get(
        "metadata.name")
    assert persistence["size"] == "5Gi"


def test_remote_logs_go_to_the_logs_bucket_the_program_created(program):
    logging = values(program)["config"]["logging"]
    bucket = program.outputs["logsBucketName"][0]
    assert logging["remote_base_log_folder"].startswith(f"s3://{bucket}/")
    assert logging["remote_logging"] == "True" and logging["remote_log_conn_id"] == "aws_default"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_limit_range_defaults_come_from_the_stack(programs, stack):
    run = programs[stack]
    limits = run.one("kubernetes:core/v1:LimitRange").get("spec")["limits"][0]
    workers = values(run)["workers"]["resources"]
    assert limits["default"] == workers["limits"] and limits["defaultRequest"] == workers["requests"]


def test_replicas_and_disruption_budgets_follow_the_stack(programs):
    dev, prod = values(programs["dev"]), values(programs["prod"])
    assert dev["scheduler"]["replicas"] == 1 and prod["scheduler"]["replicas"] == 2
    assert prod["apiServer"]["replicas"] == 2
    assert prod["scheduler"]["podDisruptionBudget"]["enabled"] is True
    assert dev["scheduler"].get("podDisruptionBudget", {}).get("enabled", False) is False


def test_pgbouncer_rolls_when_the_programs_database_endpoint_changes(program):
    (db,) = program.find("aws:rds/instance:Instance")
    ini = data.pgbouncer_ini(host=program.outputs["dbEndpoint"][0], port=program.outputs["dbPort"][0],
                             database=program.outputs["dbName"][0], user=db.get("username"))
    annotations = values(program)["pgbouncer"]["podAnnotations"]
    assert annotations[helm_values.PGBOUNCER_INI_CHECKSUM_ANNOTATION] == data.pgbouncer_ini_sha256(ini)


def test_pgbouncer_is_highly_available_only_where_airflow_is(programs):
    dev, prod = values(programs["dev"])["pgbouncer"], values(programs["prod"])["pgbouncer"]
    assert dev["replicas"] == 1 and dev["podDisruptionBudget"]["enabled"] is False
    assert prod["replicas"] == 2 and prod["podDisruptionBudget"]["enabled"] is True
    assert prod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"


def _secret_values(run) -> set[str]:
    """Every generated credential, as the mock engine produced it."""
    found = set()
    for reg in run.mocks.monitor.resources.values():
        # RandomId only names things (snapshot suffixes); passwords and key bytes are credentials.
        if "random:index/randomPassword:" in reg.urn or "random:index/randomBytes:" in reg.urn:
            for key in ("result", "base64", "hex"):
                if isinstance(reg.state.get(key), str) and len(reg.state[key]) >= 8:
                    found.add(reg.state[key])
    return found


def test_no_generated_credential_appears_unmarked_anywhere(program):
    credentials = _secret_values(program)
    # DB, API, JWT, fernet, and the admin's password unless SSO replaces password login (prod).
    assert len(credentials) >= 4
    for r in program.resources:
        for credential in credentials:
            assert not mocks.contains_text(r.inputs, credential), f"{r.typ} {r.name} holds a credential unmarked"
    for name, (value, is_secret) in program.outputs.items():
        if not is_secret:
            assert not any(c in str(value) for c in credentials), name
    if "airflowAdminPassword" in program.outputs:
        assert program.outputs["airflowAdminPassword"][1] is True
    else:
        assert program.outputs["airflowUrl"][0].startswith("https://")  # SSO: no generated admin
    assert program.outputs["kubeconfig"][1] is True


# Where a generated credential may be at all, even marked secret: a marker keeps it out of the
# state file's plain text, not out of a ConfigMap or Helm values that Kubernetes shows anyone
# who can read them.
CREDENTIAL_HOLDERS = {"kubernetes:core/v1:Secret", "aws:rds/instance:Instance"}
# With keepDataOnDestroy (prod) the Fernet key is also copied to Secrets Manager, kept on destroy.
KEPT_KEY_HOLDER = "aws:secretsmanager/secretVersion:SecretVersion"


def test_generated_credentials_live_only_in_secrets_and_the_database(program):
    credentials = _secret_values(program)
    holders = {r.typ for r in program.resources for c in credentials
               if mocks.contains_text(r.inputs, c, outside_secrets=False)}
    kept = program.one("aws:rds/instance:Instance").get("deleteAutomatedBackups") is False
    assert holders == CREDENTIAL_HOLDERS | ({KEPT_KEY_HOLDER} if kept else set())
    for urn, outputs in program.mocks.monitor.registered_outputs.items():
        assert not any(mocks.contains_text(outputs, c) for c in credentials), urn
