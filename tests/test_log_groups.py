"""CloudWatch log groups of the EKS control plane and the RDS log exports.

Left to the services, these log groups are created on first write, never expire and outlive
`pulumi destroy`. The program creates them first, under exactly the names the services
derive from the cluster name and the instance identifier, with a retention; prod keeps them on
destroy, dev deletes them. Pure naming and retention rules, each component alone, and the
whole program for both stack files.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_eks import cloudwatch, config, eks, physical_names, rds
from airflow_eks.offline import harness
from components.cluster import Cluster, ClusterArgs
from components.database import Database, DatabaseArgs

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
EKS = "eks:index:Cluster"
INSTANCE = "aws:rds/instance:Instance"
EKS_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
RDS_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$")
# What Pulumi accepts in project and stack names.
pulumi_names = st.text(alphabet="abcXYZ019_.-", min_size=1, max_size=100)


# --- retention ---------------------------------------------------------------------------

@pytest.mark.parametrize(("requested", "kept"), [
    (1, 1), (2, 3), (7, 7), (10, 14), (30, 30), (31, 60), (90, 90), (366, 400), (3650, 3653), (3653, 3653),
])
def test_retention_rounds_up_to_a_value_cloudwatch_accepts(requested, kept):
    assert cloudwatch.retention_days(requested) == kept


@given(st.integers(min_value=1, max_value=3650))  # what config accepts for logRetentionDays
def test_retention_is_the_shortest_allowed_period_that_keeps_logs_long_enough(requested):
    kept = cloudwatch.retention_days(requested)
    assert kept in cloudwatch.RETENTION_DAYS and kept >= requested
    assert not [d for d in cloudwatch.RETENTION_DAYS if requested <= d < kept]


@pytest.mark.parametrize("requested", [0, -1, 3654])
def test_retention_outside_what_cloudwatch_allows_is_refused(requested):
    with pytest.raises(ValueError, match="log retention must be 1 to 3653 days"):
        cloudwatch.retention_days(requested)


# --- physical names ------------------------------------------------------------------------

def test_names_are_project_stack_and_suffix():
    assert eks.cluster_name("airflow-eks", "prod", "1a2b3c4d") == "airflow-eks-prod-1a2b3c4d"
    assert rds.instance_identifier("airflow-eks", "prod", "1a2b3c4d") == "airflow-eks-prod-1a2b3c4d"
    assert physical_names.stack_scoped("Data_Team.X", "EU--prod.", "ab", max_length=63) == "data-team-x-eu-prod-ab"


def test_long_names_are_cut_before_the_suffix_never_leaving_a_trailing_hyphen():
    name = rds.instance_identifier("airflow-eks", "x" * 41 + "-" + "y" * 40, "1a2b3c4d")
    assert len(name) == 63 - 1 and name.endswith("x-1a2b3c4d") and "--" not in name
    assert len(eks.cluster_name("airflow-eks", "s" * 100, "1a2b3c4d")) == 100


@given(project=pulumi_names, stack=pulumi_names, suffix=st.text(alphabet="0123456789abcdef", min_size=8, max_size=8))
def test_any_project_and_stack_give_names_eks_and_rds_accept(project, stack, suffix):
    try:
        cluster = eks.cluster_name(project, stack, suffix)
        identifier = rds.instance_identifier(project, stack, suffix)
    except ValueError:  # only when neither name holds a single letter
        assert not re.search(r"[A-Za-z]", project + stack)
        return
    assert EKS_NAME.match(cluster) and len(cluster) <= 100 and cluster.endswith(f"-{suffix}")
    assert RDS_IDENTIFIER.match(identifier) and len(identifier) <= 63 and identifier.endswith(f"-{suffix}")


def test_a_suffix_that_is_not_lowercase_hex_like_is_refused():
    with pytest.raises(ValueError, match="name suffix"):
        physical_names.stack_scoped("airflow-eks", "dev", "AB-1", max_length=63)


def test_log_group_names_are_the_ones_the_services_write_to():
    name = "airflow-eks-dev-1a2b3c4d"
    assert eks.control_plane_log_group(name) == f"/aws/eks/{name}/cluster"
    assert rds.log_group_name(name, "upgrade") == f"/aws/rds/instance/{name}/upgrade"


# --- components ----------------------------------------------------------------------------

def build_both():
    s = config.load()
    cluster = Cluster("c", ClusterArgs(
        settings=s.cluster, region=s.region, vpc_id="vpc-1", private_subnet_ids=["subnet-a", "subnet-b"],
        public_subnet_ids=["subnet-c", "subnet-d"], project=s.project, stack=s.stack,
        log_retention_days=s.data.log_retention_days, keep_data_on_destroy=s.data.keep_data_on_destroy, tags=s.tags))
    Database("d", DatabaseArgs(
        settings=s.database, protect_data=s.data.protect_data,
        keep_data_on_destroy=s.data.keep_data_on_destroy, vpc_id="vpc-1", subnet_ids=["subnet-a", "subnet-b"],
        client_security_group_id=cluster.cluster_security_group_id, project=s.project, stack=s.stack,
        log_retention_days=s.data.log_retention_days))


def log_groups_of(run: harness.Run, component_type: str) -> list:
    component = run.one(component_type)
    return [g for g in run.find(LOG_GROUP) if g.parent == component.urn]


def control_plane_log_group(run: harness.Run):
    [group] = log_groups_of(run, "airflow-eks:cluster:Cluster")
    return group


def database_log_groups(run: harness.Run) -> dict[str, object]:
    identifier = run.one(INSTANCE).get("identifier")
    groups = {g.get("name"): g for g in log_groups_of(run, "airflow-eks:database:Database")}
    assert set(groups) == {rds.log_group_name(identifier, e) for e in rds.LOG_EXPORTS}
    return groups


@pytest.fixture(scope="module")
def rounded() -> harness.Run:
    """dev, keeping data and asking for 10 days, which CloudWatch does not offer."""
    return harness.run(build_both, stack="dev", overrides={"keepDataOnDestroy": True, "logRetentionDays": 10})


@pytest.fixture(scope="module")
def dev() -> harness.Run:
    return harness.run(build_both, stack="dev")


def test_control_plane_log_group_is_named_after_the_cluster_and_made_first(dev):
    cluster, group = dev.one(EKS), control_plane_log_group(dev)
    assert EKS_NAME.match(cluster.get("name"))
    assert group.get("name") == f"/aws/eks/{cluster.get('name')}/cluster"
    assert dev.depends_on(cluster, group)
    assert dev.one("airflow-eks:cluster:Cluster").urn == group.parent


def test_database_log_groups_are_named_after_the_instance_and_made_first(dev):
    instance = dev.one(INSTANCE)
    assert RDS_IDENTIFIER.match(instance.get("identifier")) and len(instance.get("identifier")) <= 63
    assert sorted(instance.get("enabledCloudwatchLogsExports")) == sorted(rds.LOG_EXPORTS)
    groups = database_log_groups(dev)
    assert len(groups) == len(rds.LOG_EXPORTS)
    assert all(dev.depends_on(instance, g) for g in groups.values())


def test_disposable_stack_deletes_its_log_groups_after_the_configured_days(dev):
    for group in dev.find(LOG_GROUP):
        assert group.get("retentionInDays") == 7  # Pulumi.dev.yaml
        assert group.options["retain_on_delete"] is False


def test_kept_stack_keeps_log_groups_rounded_up_to_an_allowed_retention(rounded):
    groups = rounded.find(LOG_GROUP)
    assert len(groups) == 1 + len(rds.LOG_EXPORTS)
    assert all(g.get("retentionInDays") == 14 and g.options["retain_on_delete"] is True for g in groups)


def test_no_control_plane_log_group_without_control_plane_logs():
    run = harness.run(build_both, stack="dev", overrides={"clusterLogTypes": []})
    assert log_groups_of(run, "airflow-eks:cluster:Cluster") == []
    assert run.one(EKS).get("enabledClusterLogTypes") == []
    assert len(database_log_groups(run)) == len(rds.LOG_EXPORTS)


def test_k8s_provider_identity_stays_and_a_fixed_identifier_is_replaced_delete_first(dev):
    assert dev.one("pulumi:providers:kubernetes").get("clusterIdentifier") == "c"
    assert dev.one(INSTANCE).options["delete_before_replace"] is True


# --- whole program ----------------------------------------------------------------------------

def test_program_log_groups_match_what_eks_and_rds_will_use(program):
    cluster = program.one(EKS)
    assert cluster.get("name") == program.outputs["clusterName"][0]
    group = control_plane_log_group(program)
    assert group.get("name") == f"/aws/eks/{cluster.get('name')}/cluster"
    assert program.depends_on(cluster, group)
    instance = program.one(INSTANCE)
    assert all(program.depends_on(instance, g) for g in database_log_groups(program).values())


def test_every_log_group_in_the_program_expires(program):
    groups = program.find(LOG_GROUP)
    assert len(groups) == 1 + len(rds.LOG_EXPORTS)
    assert all(g.get("retentionInDays") in cloudwatch.RETENTION_DAYS for g in groups)


def test_only_prod_keeps_its_log_groups_on_destroy(programs):
    assert {g.get("retentionInDays") for g in programs["dev"].find(LOG_GROUP)} == {7}
    assert {g.get("retentionInDays") for g in programs["prod"].find(LOG_GROUP)} == {90}
    assert not any(g.options["retain_on_delete"] for g in programs["dev"].find(LOG_GROUP))
    assert all(g.options["retain_on_delete"] for g in programs["prod"].find(LOG_GROUP))


def test_stacks_never_share_a_log_group(programs):
    names = [g.get("name") for run in programs.values() for g in run.find(LOG_GROUP)]
    assert len(names) == len(set(names)) == 2 * (1 + len(rds.LOG_EXPORTS))
