"""The generated webserver_config.py: what FAB reads from it, run here against stand-ins for
Airflow's FAB security manager (the runtime tier runs it in real Airflow against a real OIDC
provider)."""

from __future__ import annotations

import sys
import types

import pytest

from airflow_eks import sso

SETTINGS = sso.SsoSettings(
    issuer_url="https://login.example.com/realms/data", client_id="airflow-ui", groups_claim="groups",
    role_mapping={"airflow-admins": "Admin", "analysts": "Viewer", 'we"ird\\group': "Op"}, default_role="Viewer",
)


class _BaseManager:
    def get_oauth_user_info(self, provider, resp):
        return {"from": "fab", "provider": provider}


class _Remote:
    def __init__(self, userinfo):
        self._userinfo = userinfo
        self.calls = []

    def userinfo(self, **kwargs):
        self.calls.append(kwargs)
        return self._userinfo


@pytest.fixture
def load(monkeypatch):
    """Execute the generated file as FAB does (a module namespace), with stand-in imports."""
    override = types.ModuleType("override")
    override.FabAirflowSecurityManagerOverride = _BaseManager
    const = types.ModuleType("const")
    const.AUTH_OAUTH = 4  # flask_appbuilder.const.AUTH_OAUTH
    for name, module in {
        "airflow": types.ModuleType("airflow"), "airflow.providers": types.ModuleType("p"),
        "airflow.providers.fab": types.ModuleType("f"), "airflow.providers.fab.auth_manager": types.ModuleType("a"),
        "airflow.providers.fab.auth_manager.security_manager": types.ModuleType("s"),
        "airflow.providers.fab.auth_manager.security_manager.override": override,
        "flask_appbuilder": types.ModuleType("fab"), "flask_appbuilder.const": const,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)

    def run(settings=SETTINGS, secret="s3cr3t-from-the-Secret"):
        if secret is None:
            monkeypatch.delenv(sso.CLIENT_SECRET_ENV, raising=False)
        else:
            monkeypatch.setenv(sso.CLIENT_SECRET_ENV, secret)
        namespace: dict = {"__name__": "webserver_config"}
        exec(compile(sso.webserver_config(settings), "webserver_config.py", "exec"), namespace)  # noqa: S102
        return namespace
    return run


def test_oauth_with_one_oidc_provider_from_the_discovery_document(load):
    config = load()
    assert config["AUTH_TYPE"] == 4
    [provider] = config["OAUTH_PROVIDERS"]
    assert provider["name"] == sso.PROVIDER_NAME == "oidc"
    app = provider["remote_app"]
    assert app["client_id"] == "airflow-ui"
    assert app["server_metadata_url"] == "https://login.example.com/realms/data/.well-known/openid-configuration"
    assert "openid" in app["client_kwargs"]["scope"].split()


def test_registration_role_mapping_and_sync_at_every_login(load):
    config = load()
    assert config["AUTH_USER_REGISTRATION"] is True
    assert config["AUTH_USER_REGISTRATION_ROLE"] == "Viewer"
    assert config["AUTH_ROLES_SYNC_AT_LOGIN"] is True
    assert config["AUTH_ROLES_MAPPING"] == {"airflow-admins": ["Admin"], "analysts": ["Viewer"],
                                            'we"ird\\group': ["Op"]}


def test_the_client_secret_comes_from_the_environment_never_from_the_text(load):
    assert load(secret="from-env-123")["OAUTH_PROVIDERS"][0]["remote_app"]["client_secret"] == "from-env-123"
    assert "from-env-123" not in sso.webserver_config(SETTINGS)
    with pytest.raises(RuntimeError, match=sso.CLIENT_SECRET_ENV):
        load(secret=None)


def test_user_and_groups_come_from_the_id_token_claims(load):
    manager = load()["SECURITY_MANAGER_CLASS"]()
    manager.oauth_remotes = {"oidc": _Remote({})}
    info = manager.get_oauth_user_info("oidc", {"userinfo": {
        "preferred_username": "ada", "email": "ada@example.com", "given_name": "Ada", "family_name": "L",
        "groups": ["airflow-admins", "other"]}})
    assert info == {"username": "ada", "email": "ada@example.com", "first_name": "Ada", "last_name": "L",
                    "role_keys": ["airflow-admins", "other"]}
    assert manager.oauth_remotes["oidc"].calls == []  # the ID token had everything


def test_groups_missing_from_the_id_token_are_read_from_the_userinfo_endpoint(load):
    manager = load(sso.SsoSettings(SETTINGS.issuer_url, "c", groups_claim="cognito:groups",
                                   role_mapping={"admins": "Admin"}))["SECURITY_MANAGER_CLASS"]()
    remote = _Remote({"sub": "123", "email": "bob@example.com", "cognito:groups": "admins"})
    manager.oauth_remotes = {"oidc": remote}
    token = {"access_token": "t", "userinfo": {"sub": "123"}}
    info = manager.get_oauth_user_info("oidc", token)
    assert info["username"] == "bob@example.com" and info["role_keys"] == ["admins"]
    assert remote.calls == [{"token": token}]


def test_other_providers_keep_fabs_own_handling(load):
    manager = load()["SECURITY_MANAGER_CLASS"]()
    assert manager.get_oauth_user_info("github", {}) == {"from": "fab", "provider": "github"}


def test_the_text_survives_helm_tpl_and_holds_only_the_settings():
    text = sso.webserver_config(SETTINGS)
    assert "{{" not in text  # apiServer.apiServerConfig goes through Helm's tpl
    assert "client_secret" in text and sso.CLIENT_SECRET_ENV in text


@pytest.mark.parametrize(("issuer", "discovery"), [
    ("https://login.example.com/realms/data", "https://login.example.com/realms/data/.well-known/openid-configuration"),
    ("https://tenant.auth0.com/", "https://tenant.auth0.com/.well-known/openid-configuration"),
    ("http://mock-oidc:8080/default", "http://mock-oidc:8080/default/.well-known/openid-configuration"),
])
def test_discovery_url_follows_the_issuer_any_scheme(issuer, discovery):
    # The builder takes any issuer (the runtime tier uses a mock provider over http); only
    # config validation insists on https.
    assert sso.discovery_url(issuer) == discovery
    assert discovery in sso.webserver_config(sso.SsoSettings(issuer, "c", role_mapping={"a": "Admin"}))


def test_redirect_uri_is_under_airflow_3s_auth_mount():
    assert sso.redirect_uri("airflow.example.com") == "https://airflow.example.com/auth/oauth-authorized/oidc"
