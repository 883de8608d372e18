"""AirflowSecrets on its own: each Secret the chart values name exists and is secret end to end,
no credential shows in clear text anywhere, the generated keys have the sizes Airflow needs,
and a git credential Secret exists exactly for the configured git-sync auth."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pytest

from airflow_eks import helm_values, names
from airflow_eks import secret_data as data
from airflow_eks.config import AirflowSettings, GitSyncSettings, TaskResources
from airflow_eks.offline import harness, mocks
from components.airflow_secrets import AirflowSecrets, AirflowSecretsArgs

SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
COMPONENT = "airflow-eks:airflow:AirflowSecrets"

# Characters that must be URL-encoded, quoted or escaped somewhere along the way.
DB_PASSWORD = 'Db-pa55:w/rd@x"%'
DB_USER = "airflow_admin"
TOKEN = "ghp_airflowSecretsTestToken0123456789"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END OPENSSH PRIVATE KEY-----\n"
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
AUTHS = ("https", "ssh", "none")
BASE_SECRETS = {data.SECRET_NAMES.metadata, data.SECRET_NAMES.pgbouncer_config, data.SECRET_NAMES.pgbouncer_stats,
                data.SECRET_NAMES.fernet, data.SECRET_NAMES.api_secret_key, data.SECRET_NAMES.jwt,
                data.SECRET_NAMES.admin}
GIT_SECRETS = {"https": {data.SECRET_NAMES.git_credentials}, "ssh": {data.SECRET_NAMES.git_ssh_key}, "none": set()}
GIT_GENERATIONS = {"https": ["airflow-secrets-git-credentials-generation"],
                   "ssh": ["airflow-secrets-git-ssh-key-generation"], "none": []}


def git_settings(auth: str) -> GitSyncSettings:
    """As config.load() builds them: credentials as secret Outputs, only for their auth."""
    common = {"branch": "main", "sub_path": "dags", "period": "60s"}
    if auth == "https":
        return GitSyncSettings(repo="https://github.com/org/dags.git", username="x-access-token", known_hosts="",
                               token=pulumi.Output.secret(TOKEN), ssh_key=None, **common)
    if auth == "ssh":
        return GitSyncSettings(repo="git@github.com:org/dags.git", username="", known_hosts=KNOWN_HOSTS,
                               token=None, ssh_key=pulumi.Output.secret(SSH_KEY), **common)
    return GitSyncSettings(repo="https://github.com/org/dags.git", username="", known_hosts="",
                           token=None, ssh_key=None, **common)


def build(auth: str):
    def program():
        # The caller owns the namespace; its Output orders every Secret after it.
        namespace = k8s.core.v1.Namespace("ns", metadata=k8s.meta.v1.ObjectMetaArgs(name=names.AIRFLOW_NAMESPACE))
        secrets = AirflowSecrets("airflow-secrets", AirflowSecretsArgs(
            namespace=namespace.metadata.name, git_sync=git_settings(auth),
            db_host=pulumi.Output.from_input("airflow-db.abc.us-east-1.rds.amazonaws.com"),
            db_port=pulumi.Output.from_input(5432), db_name="airflow", db_username=DB_USER,
            db_password=pulumi.Output.secret(DB_PASSWORD)))
        pulumi.export("admin_password", secrets.admin_password)
        pulumi.export("ini_sha256", secrets.pgbouncer_ini_sha256)
        return secrets
    return program


def random_bytes_in_both_alphabets(original):
    """The mock's RandomBytes, but starting 0xfb 0xff ("+/" in standard base64), so a Fernet
    key stored without the urlsafe conversion is caught; distinct per resource name."""
    def state(self, args):
        id_, outputs = original(self, args)
        if args.typ == RANDOM_BYTES:
            raw = (b"\xfb\xff" + hashlib.sha512(args.name.encode()).digest())[:int(args.inputs["length"])]
            outputs.update(base64=base64.b64encode(raw).decode(), hex=raw.hex())
        return id_, outputs
    return state


@pytest.fixture(scope="module")
def runs() -> dict[str, harness.Run]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mocks.Mocks, "_state", random_bytes_in_both_alphabets(mocks.Mocks._state))
        return {auth: harness.run(build(auth)) for auth in AUTHS}


@pytest.fixture(params=AUTHS)
def run(request, runs) -> harness.Run:
    return runs[request.param]


def secrets_by_name(run: harness.Run) -> dict[str, mocks.Registered]:
    found = {s.get("metadata.name"): s for s in run.find(SECRET)}
    assert len(found) == len(run.find(SECRET)), "two Secrets with one name"
    return found


def string_data(run: harness.Run, name: str) -> dict[str, str]:
    return secrets_by_name(run)[name].plain_inputs["stringData"]


def credentials(run: harness.Run, auth: str) -> dict[str, str]:
    """Every credential text that must never appear in clear: given and generated."""
    found = {
        # Stored only encoded (URLs) or escaped (users.txt): these are the forms to look for.
        "db password, url-encoded": quote(DB_PASSWORD, safe=""),
        "db password, users.txt": DB_PASSWORD.replace('"', '""'),
        "fernet": string_data(run, data.SECRET_NAMES.fernet)[data.FERNET_KEY],
        "api": string_data(run, data.SECRET_NAMES.api_secret_key)[data.API_SECRET_KEY],
        "jwt": string_data(run, data.SECRET_NAMES.jwt)[data.JWT_KEY],
        "admin": string_data(run, data.SECRET_NAMES.admin)[data.ADMIN_PASSWORD_KEY],
    }
    if auth == "https":
        found["token"] = TOKEN
    if auth == "ssh":
        found["ssh key"] = SSH_KEY
    return found


def referenced_secret_names(auth: str) -> set[str]:
    """The Secret names the chart values for these git settings point at."""
    airflow = AirflowSettings(
        chart_version="1.19.0", image_repository="apache/airflow", version="3.1.0", git_sync=git_settings(auth),
        scheduler_replicas=1, api_server_replicas=1, secrets_backend="none",
        task_resources=TaskResources(cpu_request="500m", memory_request="1Gi", cpu_limit="1", memory_limit="2Gi"))
    values = helm_values.airflow_values(airflow, region="us-east-1", logs_bucket="logs", storage_class="gp3",
                                        pgbouncer_ini_sha256="0" * 64)
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and key.endswith(("SecretName", "Secret")):
                    found.add(value)
                elif key == "secretKeyRef":
                    found.add(value["name"])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(values)
    return found


# --- Secrets --------------------------------------------------------------------------

@pytest.mark.parametrize("auth", AUTHS)
def test_the_secrets_are_exactly_the_ones_the_chart_values_name(runs, auth):
    created = set(secrets_by_name(runs[auth]))
    assert created == BASE_SECRETS | GIT_SECRETS[auth]
    assert created == referenced_secret_names(auth)


def test_each_secret_holds_exactly_the_keys_the_chart_reads(runs):
    n = data.SECRET_NAMES
    expected = {
        n.metadata: {data.CONNECTION_KEY}, n.pgbouncer_config: {"pgbouncer.ini", "users.txt"},
        n.pgbouncer_stats: {data.CONNECTION_KEY}, n.fernet: {data.FERNET_KEY}, n.api_secret_key: {data.API_SECRET_KEY},
        n.jwt: {data.JWT_KEY}, n.admin: {data.ADMIN_PASSWORD_KEY},
        n.git_credentials: set(data.GIT_CREDENTIAL_KEYS), n.git_ssh_key: {data.GIT_SSH_KEY},
    }
    for auth, run in runs.items():
        for name in secrets_by_name(run):
            assert set(string_data(run, name)) == expected[name], (auth, name)


def test_https_auth_stores_username_and_token_under_every_key_git_sync_reads(runs):
    creds = string_data(runs["https"], data.SECRET_NAMES.git_credentials)
    assert creds == {"GIT_SYNC_USERNAME": "x-access-token", "GITSYNC_USERNAME": "x-access-token",
                     "GIT_SYNC_PASSWORD": TOKEN, "GITSYNC_PASSWORD": TOKEN}


def test_ssh_auth_stores_only_the_key(runs):
    assert string_data(runs["ssh"], data.SECRET_NAMES.git_ssh_key) == {data.GIT_SSH_KEY: SSH_KEY}
    # Host keys are public and go into the values, not into a Secret.
    assert not any(mocks.contains_text(s.inputs, KNOWN_HOSTS, outside_secrets=False) for s in runs["ssh"].find(SECRET))


def test_every_secret_is_opaque_in_the_given_namespace_and_waits_for_it(run):
    namespace = run.one(NAMESPACE)
    for name, secret in secrets_by_name(run).items():
        assert secret.get("metadata.namespace") == names.AIRFLOW_NAMESPACE, name
        assert secret.get("type") == "Opaque", name
        assert run.depends_on(secret, namespace), name


def test_all_string_data_and_nothing_else_is_marked_secret(run):
    for name, secret in secrets_by_name(run).items():
        assert mocks.secret_paths(secret.inputs) == ["stringData"], name
        assert "data" not in secret.inputs, name
        assert all(secret.plain_inputs["stringData"].values()), name


def test_no_credential_appears_outside_a_secret_marker(runs):
    for auth, run in runs.items():
        # The raw password too, in case a future builder skips the encoding.
        for what, text in {**credentials(run, auth), "db password": DB_PASSWORD}.items():
            # Present (else the check below proves nothing), but only inside secret markers.
            assert what == "db password" or any(
                mocks.contains_text(r.inputs, text, outside_secrets=False) for r in run.resources), (auth, what)
            assert [r.name for r in run.resources if mocks.contains_text(r.inputs, text)] == [], (auth, what)
            outputs = run.mocks.monitor.registered_outputs[run.one(COMPONENT).urn]
            assert not mocks.contains_text(outputs, text), (auth, what)
            assert all(secret or text not in str(value) for value, secret in run.outputs.values()), (auth, what)


def test_db_credentials_reach_pgbouncer_and_airflow_intact(runs):
    run = runs["none"]
    assert string_data(run, data.SECRET_NAMES.metadata)[data.CONNECTION_KEY] == data.metadata_connection(
        user=DB_USER, password=DB_PASSWORD)
    assert string_data(run, data.SECRET_NAMES.pgbouncer_stats)[data.CONNECTION_KEY] == \
        data.pgbouncer_stats_connection(user=DB_USER, password=DB_PASSWORD)
    bouncer = string_data(run, data.SECRET_NAMES.pgbouncer_config)
    assert bouncer["users.txt"] == data.pgbouncer_users(user=DB_USER, password=DB_PASSWORD)
    assert "host=airflow-db.abc.us-east-1.rds.amazonaws.com dbname=airflow port=5432" in bouncer["pgbouncer.ini"]


def test_ini_checksum_is_plain_and_matches_the_stored_ini(run):
    ini = string_data(run, data.SECRET_NAMES.pgbouncer_config)["pgbouncer.ini"]
    assert run.outputs["ini_sha256"] == (data.pgbouncer_ini_sha256(ini), False)


def test_admin_password_is_exported_as_a_secret(run):
    stored = string_data(run, data.SECRET_NAMES.admin)[data.ADMIN_PASSWORD_KEY]
    assert run.outputs["admin_password"] == (stored, True)
    outputs = run.mocks.monitor.registered_outputs[run.one(COMPONENT).urn]
    assert mocks.is_secret(outputs["admin_password"])
    assert not mocks.is_secret(outputs["pgbouncer_ini_sha256"])


# --- generated keys -------------------------------------------------------------------

def random_output(run: harness.Run, purpose: str, output: str) -> str:
    resource = run.one(RANDOM_BYTES, name=f"{run.value._name}-{purpose}")
    return run.mocks.monitor.resources[resource.urn].state[output]


def test_random_bytes_have_the_sizes_airflow_needs(runs):
    lengths = {r.name.removeprefix("airflow-secrets-"): r.get("length") for r in runs["none"].find(RANDOM_BYTES)}
    assert set(lengths) == {"fernet-key", "api-secret-key", "jwt-secret"}
    assert lengths["fernet-key"] == 32  # Fernet rejects any other key size
    assert lengths["jwt-secret"] >= 64  # HS512
    assert lengths["api-secret-key"] >= 32


def test_fernet_key_is_its_random_bytes_in_the_urlsafe_alphabet(run):
    standard = random_output(run, "fernet-key", "base64")
    assert "+" in standard or "/" in standard  # else the conversion below goes unchecked
    key = string_data(run, data.SECRET_NAMES.fernet)[data.FERNET_KEY]
    assert "+" not in key and "/" not in key
    assert base64.urlsafe_b64decode(key) == base64.b64decode(standard)
    assert len(base64.urlsafe_b64decode(key)) == 32


def test_api_and_jwt_keys_are_the_hex_of_their_own_random_bytes(run):
    api = string_data(run, data.SECRET_NAMES.api_secret_key)[data.API_SECRET_KEY]
    jwt = string_data(run, data.SECRET_NAMES.jwt)[data.JWT_KEY]
    assert api == random_output(run, "api-secret-key", "hex")
    assert jwt == random_output(run, "jwt-secret", "hex")
    assert api != jwt


def test_admin_password_is_long_and_typeable(run):
    password = run.one(RANDOM_PASSWORD)
    assert password.get("length") >= 20
    # People type it into the login form.
    assert password.get("special") is False
    stored = string_data(run, data.SECRET_NAMES.admin)[data.ADMIN_PASSWORD_KEY]
    assert stored == run.mocks.monitor.resources[password.urn].state["result"]


def test_nothing_is_regenerated_on_the_next_up(run):
    """A new Fernet key would make every stored connection unreadable."""
    for r in run.find(RANDOM_BYTES) + run.find(RANDOM_PASSWORD):
        assert "keepers" not in r.inputs, r.name


# --- structure ------------------------------------------------------------------------

@pytest.mark.parametrize("auth", AUTHS)
def test_every_child_is_parented_to_the_component(runs, auth):
    run = runs[auth]
    component = run.one(COMPONENT)
    children = [r for r in run.resources if r.custom and r.typ != NAMESPACE]
    # Four random resources, the git credentials' generation ID and the Secrets: a filter that
    # matched nothing would pass.
    assert len(children) == 4 + len(GIT_GENERATIONS[auth]) + len(BASE_SECRETS | GIT_SECRETS[auth])
    assert [r.name for r in run.find("random:index/randomId:RandomId")] == GIT_GENERATIONS[auth]
    assert [r.name for r in children if r.parent != component.urn] == []
