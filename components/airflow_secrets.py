"""AirflowSecrets: every credential the Airflow chart reads, generated once, stored as Secrets.

Owns the pulumi-random resources (Fernet key unless fernetKey carries one over, API secret key,
JWT secret, admin password)
and the Kubernetes Secrets the chart values name (secret_data.SECRET_NAMES): the metadata
connection, PgBouncer's config and stats connection, the gitSync credentials, and with SSO
the OIDC client secret (then there is no password login and no admin password). Random
resources have fixed inputs and no keepers, so a second `pulumi up` regenerates nothing
(a new Fernet key would make every stored connection unreadable); the exceptions are the
generation IDs of the Secrets pods read only at start (SSO client, git credentials), which
exist to change with those Secrets.

Does not own the namespace or the DB password (the caller passes both in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from airflow_eks import secret_data as data
from airflow_eks.config import GitSyncSettings
from airflow_eks.restore import fernet as fernet_keys
from airflow_eks.secret_data import NO_GENERATIONS, SECRET_NAMES, Generations

API_SECRET_KEY_BYTES = 32
# HS512 wants at least 64 bytes of key (the chart moved to longer keys for it, #65082).
JWT_SECRET_BYTES = 64
ADMIN_PASSWORD_LENGTH = 24


@dataclass
class AirflowSecretsArgs:
    namespace: pulumi.Input[str]
    git_sync: GitSyncSettings
    db_host: pulumi.Input[str]
    db_port: pulumi.Input[int]
    db_name: pulumi.Input[str]
    db_username: pulumi.Input[str]
    db_password: pulumi.Input[str]
    sso_client_secret: pulumi.Input[str] | None = None
    """Secret. With SSO there is no password login: no admin password is generated."""
    fernet_key: pulumi.Input[str] | None = None
    """Secret (fernetKey): the key(s) a restored database's connections and variables were
    encrypted with; None: the key generated here."""


class AirflowSecrets(pulumi.ComponentResource):
    secrets: list[k8s.core.v1.Secret]
    """Every Secret created, for the release to depend on."""
    admin_password: pulumi.Output[str] | None = None
    """Secret; None with SSO (no generated admin)."""
    pgbouncer_ini_sha256: pulumi.Output[str]
    """Checksum of the pgbouncer.ini stored (not secret: the ini holds no password)."""
    fernet_key: pulumi.Output[str]
    """Secret: the `fernet_key` Airflow runs with (configured or generated), for a kept copy."""
    generations: pulumi.Output[Generations]
    """Random IDs drawn anew whenever the SSO client secret or the git credentials change (not
    derived from them), for the pods that read those only at start."""

    def __init__(self, name: str, args: AirflowSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:airflow:AirflowSecrets", name, None, opts)
        self._name = name
        self._namespace = args.namespace
        self._child = pulumi.ResourceOptions(parent=self)
        self.secrets = []

        db = pulumi.Output.all(args.db_host, args.db_port, args.db_name, args.db_username, args.db_password)
        self._secret("metadata", SECRET_NAMES.metadata, {
            data.CONNECTION_KEY: db.apply(lambda v: data.metadata_connection(user=v[3], password=v[4])),
        })
        # Built without the password, so its checksum can go into the (plain) Helm values.
        ini = pulumi.Output.all(args.db_host, args.db_port, args.db_name, args.db_username).apply(
            lambda v: data.pgbouncer_ini(host=v[0], port=v[1], database=v[2], user=v[3]))
        self.pgbouncer_ini_sha256 = ini.apply(data.pgbouncer_ini_sha256)
        self._secret("pgbouncer-config", SECRET_NAMES.pgbouncer_config, {
            "pgbouncer.ini": ini,
            "users.txt": db.apply(lambda v: data.pgbouncer_users(user=v[3], password=v[4])),
        })
        self._secret("pgbouncer-stats", SECRET_NAMES.pgbouncer_stats, {
            data.CONNECTION_KEY: db.apply(lambda v: data.pgbouncer_stats_connection(user=v[3], password=v[4])),
        })

        # Generated even when fernetKey is set, so the stack's own key stays the same whatever
        # the configuration does (removing fernetKey falls back to it, never to a new one).
        fernet = random.RandomBytes(f"{name}-fernet-key", length=fernet_keys.KEY_BYTES, opts=self._child)
        generated = fernet.base64.apply(data.urlsafe_base64)
        self.fernet_key = pulumi.Output.secret(args.fernet_key if args.fernet_key is not None else generated)
        self._secret("fernet-key", SECRET_NAMES.fernet, {data.FERNET_KEY: self.fernet_key})
        api_key = random.RandomBytes(f"{name}-api-secret-key", length=API_SECRET_KEY_BYTES, opts=self._child)
        self._secret("api-secret-key", SECRET_NAMES.api_secret_key, {data.API_SECRET_KEY: api_key.hex})
        jwt = random.RandomBytes(f"{name}-jwt-secret", length=JWT_SECRET_BYTES, opts=self._child)
        self._secret("jwt-secret", SECRET_NAMES.jwt, {data.JWT_KEY: jwt.hex})

        generations: dict[str, pulumi.Output[str]] = {}
        if args.sso_client_secret is not None:
            # Read by the API server only (apiServer.env), as sso.CLIENT_SECRET_ENV, at its
            # start: a rotated secret (Entra ID's expire) must roll its pods.
            generations["sso_client"] = self._secret_read_at_start(
                "sso-client", SECRET_NAMES.sso_client, {data.SSO_CLIENT_SECRET_KEY: args.sso_client_secret})
        else:
            # Letters and digits only: people type it into the login form; 24 of them are ~140 bits.
            admin = random.RandomPassword(f"{name}-admin-password", length=ADMIN_PASSWORD_LENGTH, special=False,
                                          opts=self._child)
            self.admin_password = pulumi.Output.secret(admin.result)
            self._secret("admin-user", SECRET_NAMES.admin, {data.ADMIN_PASSWORD_KEY: self.admin_password})

        # git-sync reads these at its start (env from secretKeyRef; the SSH key is a subPath
        # mount), so an expired token replaced here would otherwise never reach it. The known
        # hosts are in the chart's own ConfigMap, whose checksum annotation already rolls the pods.
        git = args.git_sync
        if git.auth == "https":
            generations["git_credentials"] = self._secret_read_at_start(
                "git-credentials", SECRET_NAMES.git_credentials,
                {key: git.username if key.endswith("USERNAME") else git.token for key in data.GIT_CREDENTIAL_KEYS})
        elif git.auth == "ssh":
            generations["git_credentials"] = self._secret_read_at_start(
                "git-ssh-key", SECRET_NAMES.git_ssh_key, {data.GIT_SSH_KEY: git.ssh_key})
        if generations:
            self.generations = pulumi.Output.all(**generations).apply(lambda ids: Generations(**ids))
        else:
            self.generations = pulumi.Output.from_input(NO_GENERATIONS)

        self.register_outputs({"admin_password": self.admin_password,
                               "pgbouncer_ini_sha256": self.pgbouncer_ini_sha256})

    def _secret_read_at_start(self, purpose: str, physical_name: str,
                              string_data: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[str]:
        """The Secret, and a generation ID for the pods that read it only at start: a random
        ID drawn anew whenever any value changes. Its keeper is the values' digest, kept only
        as a Pulumi secret in state; the ID is random, so a pod template learns nothing of them."""
        self._secret(purpose, physical_name, string_data)
        digest = pulumi.Output.secret(pulumi.Output.all(**string_data)).apply(data.string_data_sha256)
        generation = random.RandomId(f"{self._name}-{purpose}-generation", byte_length=4,
                                     keepers={"stringDataSha256": digest}, opts=self._child)
        return generation.hex

    def _secret(self, purpose: str, physical_name: str, string_data: Mapping[str, pulumi.Input[str]]) -> None:
        # The chart values refer to the Secret by name, so the name is fixed. The whole
        # string_data is marked secret here: pulumi-kubernetes 4.x marks stringData secret
        # too, but keeping credentials out of plaintext state must not hang on a provider version.
        self.secrets.append(k8s.core.v1.Secret(
            f"{self._name}-{purpose}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=physical_name, namespace=self._namespace),
            type="Opaque",
            string_data=pulumi.Output.secret(dict(string_data)),
            opts=self._child,
        ))
