"""Configuration: the stack files load into the settings they say, and bad input is refused
with a RunError naming the key, the bad value and what is allowed."""

from __future__ import annotations

import json

import pulumi
import pytest

from airflow_eks import config, config_reader, zones
from airflow_eks.offline import harness, loader, mocks

SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def load(stack: str = "dev", overrides=None, secrets=None) -> config.Settings:
    return harness.value(config.load, stack=stack, overrides=overrides, secrets=secrets)


def test_dev_stack_is_small_cheap_and_disposable():
    s = load("dev")
    assert s.network.nat_gateways == "single"
    assert s.data.protect_data is False
    assert s.data.keep_data_on_destroy is False
    assert s.cluster.system_nodes.capacity_type == "SPOT"
    assert s.cluster.spot_nodes.capacity_type == "SPOT" and s.cluster.spot_nodes.min_size == 0
    assert s.database.instance_class == "db.t4g.micro" and s.database.multi_az is False
    assert s.airflow.git_sync.repo == "https://github.com/techiescamp/airflow-setup.git"
    assert (s.airflow.git_sync.branch, s.airflow.git_sync.sub_path) == ("main", "dags")
    assert s.airflow.git_sync.auth == "none"


def test_prod_stack_is_highly_available_and_protected():
    s = load("prod")
    assert s.network.nat_gateways == "onePerAz" and s.network.az_count == 3
    assert s.database.multi_az is True
    assert s.data.protect_data is True
    assert s.data.keep_data_on_destroy is True  # the Pulumi.yaml default
    assert (s.airflow.scheduler_replicas, s.airflow.api_server_replicas) == (2, 2)
    assert set(s.cluster.log_types) == set(config.LOG_TYPES)
    assert s.cluster.system_nodes.capacity_type == "ON_DEMAND"


def test_pulumi_yaml_defaults_apply_where_the_stack_file_is_silent():
    s = load("dev")
    defaults = loader.project_file()["config"]
    assert s.airflow.version == defaults["airflowVersion"]["default"] == "3.3.2"
    assert s.airflow.chart_version == defaults["airflowChartVersion"]["default"] == "1.19.0"
    assert s.network.vpc_cidr == defaults["vpcCidr"]["default"]
    assert s.airflow.git_sync.period == "60s"
    assert s.cluster.spot_nodes.instance_types == tuple(defaults["spotNodeInstanceTypes"]["default"])


def test_tags_always_carry_project_stack_and_managed_by():
    s = load("prod")
    assert s.tags == {"project": "airflow-eks", "stack": "prod", "managed-by": "pulumi"}


def test_tags_the_load_balancer_controller_cannot_carry_are_refused_only_with_the_ui():
    """prod runs the controller (uiHostname), which passes the tags on through an unquoted chart
    argument (tests/test_load_balancer_controller.py renders the break); dev runs none."""
    tags = '{"tags": {"owner": "Team: Data"}}'
    with pytest.raises(pulumi.RunError) as err:
        load("prod", overrides={"aws:defaultTags": tags})
    message = str(err.value)
    assert message.startswith("Invalid configuration aws:defaultTags = ")
    assert "--default-tags" in message and "'owner'" in message
    assert load("dev", overrides={"aws:defaultTags": tags}).tags["owner"] == "Team: Data"


def test_https_token_auth_keeps_the_token_secret():
    s = load(overrides={"gitSyncUsername": "x-access-token"}, secrets={"gitSyncToken": "ghp_abc"})
    assert s.airflow.git_sync.auth == "https"
    assert isinstance(s.airflow.git_sync.token, pulumi.Output)


def test_ssh_auth_needs_key_known_hosts_and_ssh_url():
    s = load(overrides={"gitSyncRepo": "git@github.com:org/dags.git", "gitSyncKnownHosts": KNOWN_HOSTS},
             secrets={"gitSyncSshKey": SSH_KEY})
    assert s.airflow.git_sync.auth == "ssh"
    assert s.airflow.git_sync.token is None


def test_storage_ceiling_equal_to_allocation_means_no_autoscaling():
    s = load(overrides={"dbAllocatedStorageGb": 100, "dbMaxAllocatedStorageGb": 100})
    assert s.database.max_allocated_storage_gb == s.database.allocated_storage_gb == 100


def test_public_access_off_drops_the_cidrs():
    s = load(overrides={"clusterEndpointPublicAccess": False})
    assert s.cluster.endpoint_public_access is False and s.cluster.public_access_cidrs == ()


# (key, bad value, substring the message must contain besides the key) -- 40 cases.
BAD_INPUTS = [
    ("vpcCidr", "10.0.0/16", "RFC 1918"),
    ("vpcCidr", "10.0.0.1/16", "RFC 1918"),
    ("vpcCidr", "8.8.0.0/16", "private"),
    ("vpcCidr", "10.0.0.0/24", "/16 to /20"),
    ("availabilityZoneCount", 1, "2 to 6"),
    ("availabilityZoneCount", 7, "2 to 6"),
    ("availabilityZoneCount", "two", "integer"),
    ("availabilityZoneCount", "+3", "integer"),
    ("availabilityZoneCount", "\u0663", "integer"),  # ARABIC-INDIC DIGIT THREE, which int() takes
    ("availabilityZoneCount", 6, "at most 5: the region's availability zones where EKS can run"),
    ("natGateways", "none", "single, onePerAz"),
    ("kubernetesVersion", "1.20", "one of"),
    ("kubernetesVersion", "latest", "one of"),
    ("clusterEndpointPublicAccess", "yes", "true or false"),
    ("clusterEndpointPublicAccess", "TRUE", "true or false"),
    ("clusterPublicAccessCidrs", ["300.1.0.0/16"], "IPv4 CIDR"),
    ("clusterPublicAccessCidrs", [], "at least one CIDR"),
    ("clusterPublicAccessCidrs", "0.0.0.0/0", "list of strings"),
    ("clusterAdminArns", ["arn:aws:s3:::bucket"], "IAM role or user ARN"),
    ("clusterLogTypes", ["api", "everything"], "api, audit"),
    ("clusterLogTypes", ["api", "api"], "without duplicates"),
    ("systemNodeInstanceTypes", ["large"], "EC2 instance type"),
    ("systemNodeInstanceTypes", [], "at least 1"),
    ("systemNodeCapacityType", "RESERVED", "ON_DEMAND, SPOT"),
    ("systemNodeMinSize", 3, "at most systemNodeMaxSize"),
    ("systemNodeDesiredSize", 9, "between systemNodeMinSize"),
    ("systemNodeMaxSize", 0, "from 1 to 100"),
    ("systemNodeMinSize", 0, "from 1 to 100"),
    ("systemNodeInstanceTypes", ["m7g.large", "m6i.large"], "one CPU architecture"),
    ("systemNodeInstanceTypes", ["m6i.large\n"], "EC2 instance type"),
    ("spotNodeInstanceTypes", ["m5.large"], "at least two distinct"),
    ("spotNodeInstanceTypes", ["m5.large", "m5.large"], "without duplicates"),
    ("spotNodeInstanceTypes", ["m7g.large", "c7g.large"], "same CPU architecture as systemNodeInstanceTypes"),
    ("spotNodeMinSize", -1, "from 0 to 100"),
    ("spotNodeMinSize", 5, "at most spotNodeMaxSize"),
    ("dbInstanceClass", "t4g.micro", "RDS instance class"),
    ("dbEngineVersion", "13", "14, 15, 16, 17, 18"),
    ("dbEngineVersion", "sixteen", "PostgreSQL major"),
    ("dbEngineVersion", "017", "PostgreSQL major"),
    ("dbEngineVersion", "16.04", "PostgreSQL major"),
    ("dbEngineVersion", "16\n", "PostgreSQL major"),
    ("dbAllocatedStorageGb", 10, "from 20 to 65536"),
    ("dbMaxAllocatedStorageGb", 70000, "from 20 to 65536"),
    ("dbBackupRetentionDays", 0, "from 1 to 35"),
    ("dbBackupRetentionDays", 36, "from 1 to 35"),
    ("protectData", "maybe", "true or false"),
    ("tasksMayLaunchPods", "sometimes", "true or false"),
    ("keepDataOnDestroy", "yes", "true or false"),
    ("logRetentionDays", 0, "from 1 to 3650"),
    ("taskS3BucketNames", ["Bad_Bucket"], "S3 bucket name"),
    ("taskS3BucketNames", ["192.168.1.1"], "IP address"),
    ("airflowChartVersion", "1.19", "one of 1.19.0"),
    ("airflowChartVersion", "1.18.0", "one of 1.19.0"),
    ("airflowVersion", "2.10.5", "Airflow 3.x"),
    ("airflowImageRepository", "apache/airflow:3.3.2", "without tag"),
    ("airflowImageRepository", "Apache/Airflow", "image repository"),
    ("airflowImageRepository", "apache/airflow\n", "image repository"),
    ("imageMirror", "https://harbor.example.com", "without https://"),
    ("imageMirror", "harbor.example.com/", "without https:// or a trailing slash"),
    ("imageMirror", "quay.io", "not a public registry"),
    ("imageMirror", "docker.io/myorg", "not a public registry"),
    ("gitSyncRepo", "ftp://example.com/dags.git", "https URL"),
    ("gitSyncRepo", "https://user:pw@github.com/org/dags.git", "without embedded credentials"),
    ("gitSyncRepo", "", "required"),
    ("gitSyncRepo", "git@github.com:org/dags.git", "set gitSyncSshKey"),
    ("gitSyncBranch", "my branch", "git branch"),
    ("gitSyncBranch", "-rf", "not starting with -"),
    ("gitSyncBranch", "main\n", "git branch"),
    ("gitSyncBranch", "main@{1}", "no spaces, .. or @{"),
    ("gitSyncSubPath", "../etc", "relative directory"),
    ("gitSyncPeriod", "60", "Go duration"),
    ("gitSyncPeriod", "60s\n", "Go duration"),
    ("gitSyncPeriod", "0s", "from 5s to 24h"),
    ("gitSyncPeriod", "1ms", "from 5s to 24h"),
    ("gitSyncPeriod", "25h", "from 5s to 24h"),
    ("gitSyncUsername", "bot", "empty unless gitSyncToken"),
    ("gitSyncKnownHosts", KNOWN_HOSTS, "empty unless gitSyncSshKey"),
    ("schedulerReplicas", 0, "from 1 to 10"),
    ("apiServerReplicas", 11, "from 1 to 10"),
    ("taskCpuRequest", "abc", "cpu quantity"),
    ("taskCpuRequest", "1Gi", "cpu quantity"),
    ("taskMemoryRequest", "1GB", "memory quantity"),
    ("taskMemoryLimit", "512m", "thousandths of a byte"),
    ("taskCpuRequest", "2", "at most taskCpuLimit"),
    ("taskMemoryRequest", "4Gi", "at most taskMemoryLimit"),
    ("secretsBackend", "vault", "none, aws-secrets-manager"),
    ("aws:region", "moon-1", "AWS region"),
    ("aws:defaultTags", '{"tags": ["a"]}', "tags"),
    ("aws:defaultTags", '{"tags": {"team=data": "x"}}', 'no "=" in a key'),
    ("aws:region", "us-east-1\n", "AWS region"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), BAD_INPUTS, ids=[f"{k}={v!r}" for k, v, _ in BAD_INPUTS])
def test_bad_input_is_a_run_error_naming_key_value_and_what_is_allowed(key, value, allowed):
    with pytest.raises(pulumi.RunError) as err:
        load("dev", overrides={key: value})
    message = str(err.value)
    full_key = key if ":" in key else f"airflow-eks:{key}"
    assert message.startswith(f"Invalid configuration {full_key} = ")
    # The value as shown: a string quoted (credentials redacted), anything else as JSON; a
    # list is shown whole or by its one bad item.
    if isinstance(value, list):
        assert json.dumps(value) in message or any(repr(item) in message for item in value)
    elif isinstance(value, str):
        assert repr(config_reader.redact(value)) in message
    else:
        assert f"= {json.dumps(value)}:" in message
    assert allowed in message


# Cross-field rules that need a secret or several keys at once.
CROSS_FIELD = [
    ({"gitSyncRepo": "git@github.com:org/dags.git"}, {"gitSyncToken": "t"}, "gitSyncRepo", "https URL when"),
    ({}, {"gitSyncToken": "t"}, "gitSyncUsername", "non-empty username"),
    ({}, {"gitSyncSshKey": SSH_KEY}, "gitSyncRepo", "SSH address"),
    ({"gitSyncRepo": "git@github.com:org/dags.git"}, {"gitSyncSshKey": SSH_KEY}, "gitSyncKnownHosts",
     "known_hosts lines"),
    ({"gitSyncRepo": "git@github.com:org/dags.git", "gitSyncKnownHosts": "not a key"},
     {"gitSyncSshKey": SSH_KEY}, "gitSyncKnownHosts", "host key-type"),
    ({"gitSyncRepo": "git@github.com:org/dags.git", "gitSyncKnownHosts": KNOWN_HOSTS},
     {"gitSyncSshKey": "hunter2"}, "gitSyncSshKey", "PRIVATE KEY"),
    ({"gitSyncUsername": "u"}, {"gitSyncToken": "t", "gitSyncSshKey": SSH_KEY}, "gitSyncSshKey", "not both"),
    ({"dbAllocatedStorageGb": 200, "dbMaxAllocatedStorageGb": 100}, {}, "dbMaxAllocatedStorageGb",
     "to turn storage autoscaling off"),
    ({"dbAllocatedStorageGb": 100, "dbMaxAllocatedStorageGb": 105}, {}, "dbMaxAllocatedStorageGb",
     "at least 10% more (110)"),
]


@pytest.mark.parametrize(("overrides", "secrets", "key", "allowed"), CROSS_FIELD)
def test_cross_field_rules(overrides, secrets, key, allowed):
    with pytest.raises(pulumi.RunError) as err:
        load("dev", overrides=overrides, secrets=secrets)
    assert f"airflow-eks:{key} " in str(err.value) and allowed in str(err.value)


def test_secret_values_never_appear_in_errors():
    with pytest.raises(pulumi.RunError) as err:
        load(overrides={"gitSyncRepo": "git@github.com:org/dags.git", "gitSyncKnownHosts": KNOWN_HOSTS},
             secrets={"gitSyncSshKey": "hunter2-not-a-key"})
    assert "hunter2" not in str(err.value) and "[secret]" in str(err.value)


@pytest.mark.parametrize("ref", ["main", "release/v2.1", "feature/foo+bar", "deps@2", "v1.0.0-rc.1"])
def test_git_refs_git_allows_are_accepted(ref):
    assert load(overrides={"gitSyncBranch": ref}).airflow.git_sync.branch == ref


def test_credentials_in_a_repo_url_are_never_echoed():
    with pytest.raises(pulumi.RunError) as err:
        load(overrides={"gitSyncRepo": "https://bot:ghp_s3cr3t@github.com/org/dags.git"})
    message = str(err.value)
    assert "ghp_s3cr3t" not in message and "bot" not in message
    assert "'https://***@github.com/org/dags.git'" in message
    # Also where the "allowed" part quotes the value (an ipaddress error), under any key.
    with pytest.raises(pulumi.RunError) as err:
        load(overrides={"vpcCidr": "https://bot:ghp_s3cr3t@github.com/x"})
    assert "ghp_s3cr3t" not in str(err.value) and "***@github.com" in str(err.value)


def test_zones_are_the_regions_first_eks_capable_ones():
    run = harness.run(config.load, stack="prod")
    assert run.value.network.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1d")
    [(_, args)] = [c for c in run.mocks.calls if c[0] == "aws:index/getAvailabilityZones:getAvailabilityZones"]
    assert "state" not in args  # a zone's state changes; the selection must not
    assert set(args["excludeZoneIds"]) == set(zones.UNSUPPORTED_ZONE_IDS) >= {"use1-az3"}
    # Without this filter the mock account's Local Zone (us-east-1-bos-1a) would come first.
    assert args["filters"] == [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]
    assert not {mocks.zone_id(z[-1]) for z in run.value.network.availability_zones} & set(zones.UNSUPPORTED_ZONE_IDS)


def test_too_many_zones_for_the_region_stops_the_program_before_any_resource():
    with pytest.raises(harness.ProgramError) as failed:
        harness.run_program("dev", overrides={"availabilityZoneCount": 6})
    assert isinstance(failed.value.error, pulumi.RunError)
    assert "us-east-1a, us-east-1b, us-east-1d, us-east-1e, us-east-1f" in str(failed.value.error)
    assert failed.value.resources == []


def test_zone_lookup_runs_only_after_every_offline_check():
    asked = []
    with pytest.raises(harness.ProgramError, match="airflowVersion"):
        harness.run(lambda: config.load(lambda: asked.append(1) or ["z1", "z2"]), stack="dev",
                    overrides={"airflowVersion": "2.0.0"})
    assert asked == []
    harness.run(lambda: config.load(lambda: asked.append(1) or ["z1", "z2"]), stack="dev")
    assert asked == [1]


@pytest.mark.parametrize(("available", "count", "expected"), [
    (["a", "b", "c"], 2, ("a", "b")),
    (["a", "b", "c"], 3, ("a", "b", "c")),
])
def test_choose_takes_the_first_zones(available, count, expected):
    assert zones.choose(available, count) == expected


def test_choose_names_what_the_region_offers_when_it_is_too_few():
    with pytest.raises(ValueError, match="at most 2: .* are a, b"):
        zones.choose(["a", "b"], 3)
    with pytest.raises(ValueError, match="none"):
        zones.choose([], 2)


def test_missing_required_repo_names_the_key_and_how_to_set_it():
    with pytest.raises(pulumi.RunError) as err:
        load(overrides={"gitSyncRepo": None})
    assert "airflow-eks:gitSyncRepo" in str(err.value) and "pulumi config set gitSyncRepo" in str(err.value)
    # gitSyncRepo has no default: the hint must not send the user to look for one.
    assert "declares no default" in str(err.value) and "declares its default" not in str(err.value)


def test_missing_key_with_a_default_says_the_cli_applies_it():
    with pytest.raises(pulumi.RunError) as err:
        load(overrides={"natGateways": None})
    assert "Pulumi.yaml declares its default" in str(err.value)


def test_missing_region_hint_names_the_aws_namespace():
    """A bare `pulumi config set region` would set airflow-eks:region, which nothing reads."""
    with pytest.raises(pulumi.RunError) as err:
        load(overrides={"aws:region": None})
    assert "`pulumi config set aws:region <value>`" in str(err.value)


def test_table_has_at_least_25_distinct_bad_inputs():
    assert len({(k, str(v)) for k, v, _ in BAD_INPUTS}) >= 25


# -- what YAML makes of an unquoted version ---------------------------------------------------
@pytest.mark.parametrize("key, value, written", [
    ("kubernetesVersion", "1.3", "1.30"),
    ("airflowVersion", "3.1", "3.10"),
    ("airflowChartVersion", "1.2", "1.20"),
])
def test_a_version_that_looks_like_an_unquoted_number_gets_the_advice_to_quote_it(key, value, written):
    """1.30 and 3.10 unquoted are the YAML numbers 1.3 and 3.1; JSON (an ESC environment's
    pulumiConfig, the Automation API) passes them on as that number's text."""
    with pytest.raises(pulumi.RunError) as failed:
        load(overrides={key: value})
    message = str(failed.value)
    assert message.startswith(f"Invalid configuration airflow-eks:{key} = '{value}': expected ")
    assert message.endswith(f'if you wrote {written} unquoted, YAML read it as the number {value}: '
                            f'quote it ({key}: "{written}").')


@pytest.mark.parametrize("key, value", [("airflowChartVersion", "1.19"), ("kubernetesVersion", "1.30"),
                                        ("kubernetesVersion", "latest"), ("gitSyncPeriod", "1.3")])
def test_no_quoting_advice_where_no_zero_was_lost_or_the_key_is_no_version(key, value):
    with pytest.raises(pulumi.RunError) as failed:
        load(overrides={key: value})
    assert "unquoted" not in str(failed.value)


def test_a_stack_file_s_scalars_reach_the_program_as_written_as_the_cli_passes_them(tmp_path, monkeypatch):
    """The CLI decodes a stack-file scalar into a string, and YAML keeps its source text there
    (pulumi sdk/go/common/resource/config/value.go; go-yaml decode.go, reflect.String): an
    unquoted 1.30 arrives as "1.30". Lists and maps go as JSON."""
    (tmp_path / "Pulumi.yaml").write_text((loader.ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.probe.yaml").write_text(
        "config:\n  airflow-eks:kubernetesVersion: 1.30\n  airflow-eks:dbEngineVersion: 16.10\n"
        "  airflow-eks:protectData: True\n  airflow-eks:availabilityZoneCount: 3\n"
        "  airflow-eks:clusterPublicAccessCidrs: [198.18.0.0/24]\n  airflow-eks:gitSyncSubPath:\n")
    monkeypatch.setattr(loader, "ROOT", tmp_path)
    _, values, _ = loader.stack_config("probe")
    assert {k.split(":", 1)[1]: values[k] for k in values if k.split(":", 1)[1] in (
        "kubernetesVersion", "dbEngineVersion", "protectData", "availabilityZoneCount", "clusterPublicAccessCidrs",
        "gitSyncSubPath")} == {"kubernetesVersion": "1.30", "dbEngineVersion": "16.10", "protectData": "True",
                              "availabilityZoneCount": "3", "clusterPublicAccessCidrs": '["198.18.0.0/24"]',
                              "gitSyncSubPath": ""}
