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


class _User:
    def __init__(self, username, email="", first_name="", last_name=""):
        self.username, self.email, self.first_name, self.last_name = username, email, first_name, last_name


class _BaseManager:
    """FAB's security manager as far as the generated file uses it (override.py): find_user
    matches usernames case-insensitively and e-mails exactly; auth_user_oauth finds the user by
    userinfo["username"] or registers one with the userinfo's fields."""

    def __init__(self, *users):
        self.users = list(users)
        self.updated = []

    def get_oauth_user_info(self, provider, resp):
        return {"from": "fab", "provider": provider}

    def find_user(self, username=None, email=None):
        if username:
            return next((u for u in self.users if u.username.lower() == username.lower()), None)
        return next((u for u in self.users if u.email == email), None)

    def auth_user_oauth(self, userinfo, rotate_session_id=True):
        user = self.find_user(username=userinfo["username"])
        if user is None:
            user = _User(**{k: userinfo[k] for k in ("username", "email", "first_name", "last_name")})
            self.users.append(user)
        return user

    def update_user(self, user):
        self.updated.append(user.username)


class _Remote:
    def __init__(self, userinfo):
        self._userinfo = userinfo
        self.calls = []

    def userinfo(self, **kwargs):
        """The userinfo endpoint: what the test gave, else the token's subject and nothing more."""
        self.calls.append(kwargs)
        return self._userinfo if self._userinfo is not None else {"sub": kwargs["token"]["userinfo"]["sub"]}


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


def manager_of(load, *users, userinfo=None, settings=SETTINGS):
    manager = load(settings)["SECURITY_MANAGER_CLASS"](*users)
    manager.oauth_remotes = {"oidc": _Remote(userinfo)}
    return manager


def test_the_user_is_keyed_on_the_subject_with_name_email_and_groups_from_the_id_token(load):
    manager = manager_of(load, userinfo={})
    info = manager.get_oauth_user_info("oidc", {"userinfo": {
        "sub": "00u1ab", "preferred_username": "ada", "email": "ada@example.com", "given_name": "Ada",
        "family_name": "L", "groups": ["airflow-admins", "other"]}})
    assert info == {"username": "oidc_00u1ab", "email": "ada@example.com", "first_name": "Ada", "last_name": "L",
                    "role_keys": ["airflow-admins", "other"]}
    assert info["username"] == sso.username_for("00u1ab")
    assert manager.oauth_remotes["oidc"].calls == []  # the ID token had everything


def test_groups_missing_from_the_id_token_are_read_from_the_userinfo_endpoint(load):
    settings = sso.SsoSettings(SETTINGS.issuer_url, "c", groups_claim="cognito:groups",
                               role_mapping={"admins": "Admin"})
    manager = manager_of(load, userinfo={"sub": "123", "email": "bob@example.com", "cognito:groups": "admins"},
                         settings=settings)
    token = {"access_token": "t", "userinfo": {"sub": "123"}}
    info = manager.get_oauth_user_info("oidc", token)
    assert info["username"] == "oidc_123" and info["role_keys"] == ["admins"]
    assert info["email"] == "bob@example.com"
    assert manager.oauth_remotes["oidc"].calls == [{"token": token}]


def test_a_userinfo_response_for_another_subject_is_refused(load):
    """OIDC Core 5.3.2: the userinfo response's sub must match the ID token's."""
    manager = manager_of(load, userinfo={"sub": "someone-else", "email": "x@example.com", "groups": ["admins"]})
    with pytest.raises(ValueError, match="another subject"):
        manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "123"}})


@pytest.mark.parametrize("id_token", [{}, {"sub": ""}, {"sub": 7}, {"preferred_username": "ada"}])
def test_an_id_token_without_a_subject_signs_nobody_in(load, id_token):
    with pytest.raises(ValueError, match="no sub claim"):
        manager_of(load).get_oauth_user_info("oidc", {"userinfo": {**id_token, "groups": []}})


def test_a_changed_preferred_username_or_one_copied_from_another_user_changes_nothing(load):
    manager = manager_of(load)
    first = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "s1", "preferred_username": "ada", "groups": []}})
    renamed = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "s1", "preferred_username": "eve",
                                                                "groups": []}})
    other = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "s2", "preferred_username": "ada",
                                                              "groups": []}})
    assert first["username"] == renamed["username"] == "oidc_s1"
    assert other["username"] == "oidc_s2"


def test_without_an_email_claim_each_subject_gets_its_own_stable_placeholder(load):
    manager = manager_of(load)
    infos = [manager.get_oauth_user_info("oidc", {"userinfo": {"sub": sub, "groups": []}}) for sub in ("a", "b", "a")]
    emails = [info["email"] for info in infos]
    assert emails[0] == emails[2] != emails[1]
    assert emails[0] == sso.placeholder_email("a")
    assert all(e.endswith("@sso.invalid") for e in emails)  # RFC 2606: .invalid is never a mailbox


def test_an_email_another_user_holds_gives_a_placeholder_not_a_failed_sign_in(load):
    """ab_user.email is unique: e.g. the username-keyed row of the same person from before
    users were keyed on sub still holds the address."""
    manager = manager_of(load, _User("ada", email="ada@example.com"))
    info = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "s1", "email": "ada@example.com", "groups": []}})
    assert info["email"] == sso.placeholder_email("s1")
    own = manager_of(load, _User("oidc_s1", email="ada@example.com"))
    assert own.get_oauth_user_info("oidc", {"userinfo": {"sub": "s1", "email": "ada@example.com",
                                                         "groups": []}})["email"] == "ada@example.com"


def test_an_email_claim_in_the_placeholder_domain_is_never_taken_over(load):
    """An IdP whose users edit their own address: one who claims another subject's placeholder
    before that user first signs in would otherwise hold it, and that user's registration would
    fail on ab_user.email's unique index."""
    manager = manager_of(load)
    squatted = sso.placeholder_email("victim")
    for claimed in (squatted, squatted.upper()):
        info = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "squatter", "email": claimed, "groups": []}})
        assert info["email"] == sso.placeholder_email("squatter")
    manager.auth_user_oauth(info)
    victim = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "victim", "groups": []}})
    assert victim["email"] == squatted and manager.find_user(email=squatted) is None


def test_a_subject_that_differs_only_in_letter_case_is_refused(load):
    """FAB finds users case-insensitively; OIDC subjects are case-sensitive."""
    manager = manager_of(load, _User("oidc_AbC"))
    with pytest.raises(ValueError, match="letter case"):
        manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "abc", "groups": []}})
    assert manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "AbC", "groups": []}})["username"] == "oidc_AbC"


def test_names_fall_back_to_the_full_name_and_are_cut_to_the_column(load):
    manager = manager_of(load)
    info = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "s", "name": " Ada Lovelace ", "groups": []}})
    assert (info["first_name"], info["last_name"]) == ("Ada Lovelace", "")
    long = manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "s", "given_name": "x" * 300,
                                                             "email": "y" * 600, "groups": []}})
    assert len(long["first_name"]) == 256 and len(long["email"]) == 512
    with pytest.raises(ValueError, match="longer"):
        manager.get_oauth_user_info("oidc", {"userinfo": {"sub": "s" * 508, "groups": []}})


def test_name_and_email_follow_the_claims_at_every_sign_in(load):
    ada = _User("oidc_s1", email="old@example.com", first_name="Ada", last_name="L")
    manager = manager_of(load, ada)
    user = manager.auth_user_oauth({"username": "oidc_s1", "email": "new@example.com", "first_name": "Ada",
                                    "last_name": "King", "role_keys": []})
    assert user is ada and (ada.email, ada.last_name) == ("new@example.com", "King")
    assert manager.updated == ["oidc_s1"]
    manager.auth_user_oauth({"username": "oidc_s1", "email": "new@example.com", "first_name": "Ada",
                             "last_name": "King", "role_keys": []})
    assert manager.updated == ["oidc_s1"]  # nothing changed, nothing written


def test_the_file_keys_users_with_the_modules_own_functions(load):
    config = load()
    for sub in ("00u1ab", "auth0|5f7c", "Ä ü"):
        assert config["username_for"](sub) == sso.username_for(sub)
        assert config["placeholder_email"](sub) == sso.placeholder_email(sub)


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
