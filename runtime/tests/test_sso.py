"""Test 7 (issue 13's SSO): the API server of the prod stack, which signs in through OIDC,
with the `webserver_config.py` the chart renders from the program's values
(`airflow_eks.sso.webserver_config`) and the client secret from the program's Secret, against
a real OpenID Connect provider (oidc-provider-mock), through the authorization-code flow with a
plain HTTP client. Groups and roles are prod's `ssoRoleMapping` and `ssoDefaultRole`; users are
keyed on their subject; the cookies the API server sets are read from its Set-Cookie headers.

Changes (airflow_env.CHANGES): pgbouncer-address, cluster-dns; and for SSO: the file's
`server_metadata_url` (prod's https issuer) points at the mock provider on
http://localhost:<port> instead, which AUTHLIB_INSECURE_TRANSPORT=1 lets Authlib use; one API
server worker on 127.0.0.1 and a free port (ports-and-workers).
"""

from __future__ import annotations

import http.cookies
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from airflow_eks import sso
from airflow_eks.offline import loader

from . import airflow_env, program, services

CONFIG = loader.stack_config("prod")[1]
# Pulumi config holds objects as JSON text, as the CLI does.
ROLE_MAPPING: dict[str, str] = json.loads(CONFIG["airflow-eks:ssoRoleMapping"])
DEFAULT_ROLE: str = CONFIG.get("airflow-eks:ssoDefaultRole", "Public")
ADMIN_GROUP = next(g for g, role in ROLE_MAPPING.items() if role == "Admin")
OPS_GROUP = next(g for g, role in ROLE_MAPPING.items() if role == "Op")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Follows redirects by hand, with cookies per host:port (the provider and Airflow both
    use Flask's `session` cookie, and a cookie jar does not separate ports). Like a test
    client, it sends every cookie back whatever its attributes; `set_cookies` keeps the
    Set-Cookie headers as received.

    `behind_alb`: requests to the API server arrive as the ALB forwards them: the browser's
    https, sent to the pod over http with `X-Forwarded-Proto: https` (which the API server
    trusts from 127.0.0.1, the program's FORWARDED_ALLOW_IPS)."""

    def __init__(self, api: str, *, behind_alb: bool = False) -> None:
        self.api = urllib.parse.urlsplit(api).netloc
        self.behind_alb = behind_alb
        self.cookies: dict[str, dict[str, str]] = {}
        self.set_cookies: list[str] = []
        """Raw Set-Cookie headers of the API server's responses, in order."""
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, url: str, data: dict | None = None) -> tuple[int, str, str]:
        parts = urllib.parse.urlsplit(url)
        to_api = parts.netloc == self.api
        if to_api and parts.scheme == "https":
            url = urllib.parse.urlunsplit(("http", *parts[1:]))  # the ALB's hop to the pod
        request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data else None)
        if to_api and self.behind_alb:
            request.add_header("X-Forwarded-Proto", "https")
        jar = self.cookies.setdefault(parts.netloc, {})
        if jar:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # 3xx (not followed) and errors
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            if to_api:
                self.set_cookies.append(header)
            cookie = http.cookies.SimpleCookie(header)
            jar.update({k: m.value for k, m in cookie.items()})
        location = urllib.parse.urljoin(url, response.headers.get("Location", ""))
        return response.status, location, response.read().decode(errors="replace")

    def _at_api(self, url: str, path: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return parts.netloc == self.api and parts.path.startswith(path)

    def sign_in(self, provider: str, sub: str) -> str:
        """Airflow's OIDC login -> provider's authorize form, submitted as `sub` -> callback ->
        the redirects within the API server that follow (where FAB sets its JWT cookie)."""
        scheme = "https" if self.behind_alb else "http"
        status, authorize, _ = self.request(f"{scheme}://{self.api}/auth/login/{sso.PROVIDER_NAME}")
        assert status in (302, 303) and authorize.startswith(provider), (status, authorize)
        status, callback, body = self.request(authorize, {"sub": sub})
        assert status in (302, 303) and self._at_api(callback, "/auth/oauth-authorized/"), (status, callback, body)
        status, landing, body = self.request(callback)
        assert status in (302, 303) and not self._at_api(landing, "/auth/login"), (status, landing, body[-2000:])
        for _ in range(5):
            if not self._at_api(landing, "/"):
                break
            status, next_landing, _ = self.request(landing)
            if status not in (301, 302, 303, 307):
                break
            landing = next_landing
        return landing

    def cookie_attributes(self, name: str) -> list[http.cookies.Morsel]:
        """Every Set-Cookie of `name` the API server sent, parsed (Secure, HttpOnly, ...)."""
        morsels = [http.cookies.SimpleCookie(header) for header in self.set_cookies]
        return [cookie[name] for cookie in morsels if name in cookie]


def roles(database, sub: str) -> set[str]:
    rows = database.postgres.sql(
        "select r.name from ab_user u join ab_user_role ur on ur.user_id = u.id join ab_role r on r.id = ur.role_id "
        f"where u.username = '{sso.username_for(sub)}'", database=database.database)
    return set(rows.splitlines())


def user_row(database, sub: str) -> tuple[str, str, str, str]:
    """(id, email, first name, last name) of the subject's Airflow user."""
    row = database.postgres.sql(f"select id, email, first_name, last_name from ab_user where username = "
                                f"'{sso.username_for(sub)}'", database=database.database)
    assert row, f"no Airflow user for subject {sub}"
    return tuple(row.split("|"))


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    port = services.free_port()
    url = f"http://localhost:{port}"
    process = services.Process([str(services.TOOLS_VENV / "bin" / "oidc-provider-mock"), "-H", "127.0.0.1",
                                "-p", str(port)], log=tmp_path_factory.mktemp("oidc") / "oidc.log")
    with process.serving(lambda: services.http_ok(f"{url}{sso.DISCOVERY_PATH}"), timeout=60, what="OIDC provider"):
        yield url


def set_user(provider: str, sub: str, groups: list[str], **claims: str | None) -> None:
    """The subject's claims at the provider: by default e-mail and preferred_username from the
    subject; a claim given as None is left out."""
    claims = {"email": f"{sub}@example.com", "preferred_username": sub, **claims, "groups": groups}
    request = urllib.request.Request(f"{provider}/users/{sub}", method="PUT", data=json.dumps(
        {k: v for k, v in claims.items() if v is not None}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


@pytest.fixture(scope="module")
def sso_api(database, migrated, provider, tmp_path_factory):
    gen = program.generated("prod")
    port = services.free_port()
    home = airflow_env.AirflowHome(tmp_path_factory.mktemp("sso"), gen, pgbouncer_port=database.pgbouncer_port,
                                   api_port=port,
                                   extra_env={"AIRFLOW__API__WORKERS": "1", "AIRFLOW__API__PORT": str(port),
                                              "AIRFLOW__API__HOST": services.LOOPBACK,
                                              "AUTHLIB_INSECURE_TRANSPORT": "1"})
    container = gen.container("Deployment", "api-server", "api-server")
    rendered = gen.mounted_files(container)["/opt/airflow/webserver_config.py"]
    local, count = re.subn(r'"server_metadata_url": "[^"]+"',
                           f'"server_metadata_url": "{sso.discovery_url(provider)}"', rendered)
    assert count == 1, rendered
    home.replace["webserver_config.py"] = local
    assert home.container_env(container).get(sso.CLIENT_SECRET_ENV), "client secret from the program's Secret"
    assert "cookie_secure = True" in home.cfg  # the program's [fab] cookie_secure, as rendered
    process = home.start_container(container, "api-server-sso")
    api = f"http://127.0.0.1:{port}"
    with process.serving(lambda: services.http_ok(f"{api}/api/v2/monitor/health"), timeout=180,
                         what="API server with SSO"):
        yield api


def test_sso_sign_in_maps_groups_to_roles_and_resyncs_them_at_each_sign_in(sso_api, provider, database):
    set_user(provider, "alice", [ADMIN_GROUP, "unrelated"])
    set_user(provider, "bob", ["nobody-maps-this"])

    # FAB grants the registration role (ssoDefaultRole) to every SSO user and the mapped
    # groups' roles on top (security_manager _oauth_calculate_user_roles): Admin + Viewer.
    Browser(sso_api).sign_in(provider, "alice")
    assert roles(database, "alice") == {"Admin", DEFAULT_ROLE}
    Browser(sso_api).sign_in(provider, "bob")
    assert roles(database, "bob") == {DEFAULT_ROLE}

    # Groups change at the provider: the roles follow at the next sign-in (AUTH_ROLES_SYNC_AT_LOGIN).
    set_user(provider, "alice", [OPS_GROUP])
    Browser(sso_api).sign_in(provider, "alice")
    assert roles(database, "alice") == {"Op", DEFAULT_ROLE}
    set_user(provider, "alice", [])
    Browser(sso_api).sign_in(provider, "alice")
    assert roles(database, "alice") == {DEFAULT_ROLE}


def test_a_changed_preferred_username_keeps_the_airflow_user_and_taking_anothers_takes_nothing(
        sso_api, provider, database):
    """Users are keyed on `sub`: preferred_username (which some IdPs let users edit) and the
    display name are only copied into the record, at every sign-in."""
    set_user(provider, "00u-carol", [OPS_GROUP], preferred_username="carol", given_name="Carol",
             email="carol@example.com")
    Browser(sso_api).sign_in(provider, "00u-carol")
    carol = user_row(database, "00u-carol")
    assert carol[1:3] == ("carol@example.com", "Carol")
    set_user(provider, "00u-carol", [OPS_GROUP], preferred_username="carol.new", given_name="Caroline",
             email="carol@example.com")
    Browser(sso_api).sign_in(provider, "00u-carol")
    assert user_row(database, "00u-carol")[:2] == carol[:2]  # same row, same e-mail
    assert user_row(database, "00u-carol")[2] == "Caroline"  # the name follows the claims
    # Someone else calls themselves carol at the provider: their own user, their own roles.
    set_user(provider, "00u-mallory", ["nobody-maps-this"], preferred_username="carol", email="carol@example.com")
    Browser(sso_api).sign_in(provider, "00u-mallory")
    assert user_row(database, "00u-mallory")[0] != carol[0]
    assert roles(database, "00u-mallory") == {DEFAULT_ROLE} and roles(database, "00u-carol") == {"Op", DEFAULT_ROLE}
    # carol's address is taken (ab_user.email is unique): mallory signs in with a placeholder.
    assert user_row(database, "00u-mallory")[1] == sso.placeholder_email("00u-mallory")


def test_users_without_an_email_claim_all_sign_in(sso_api, provider, database):
    """ab_user.email is unique and NOT NULL: each gets a placeholder of their own."""
    for sub in ("00u-erin", "00u-frank"):
        set_user(provider, sub, [], email=None)
        Browser(sso_api).sign_in(provider, sub)
    emails = {user_row(database, sub)[1] for sub in ("00u-erin", "00u-frank")}
    assert emails == {sso.placeholder_email("00u-erin"), sso.placeholder_email("00u-frank")}


def test_a_user_who_claims_anothers_placeholder_address_takes_nothing(sso_api, provider, database):
    """An IdP where users edit their own address: grace's placeholder claimed by mallory before
    grace's first sign-in. Both sign in, each with a placeholder of their own."""
    set_user(provider, "00u-mallory2", [], email=sso.placeholder_email("00u-grace"))
    Browser(sso_api).sign_in(provider, "00u-mallory2")
    set_user(provider, "00u-grace", [], email=None)
    Browser(sso_api).sign_in(provider, "00u-grace")
    assert user_row(database, "00u-grace")[1] == sso.placeholder_email("00u-grace")
    assert user_row(database, "00u-mallory2")[1] == sso.placeholder_email("00u-mallory2")


def test_the_session_cookie_is_secure_and_behind_the_alb_the_jwt_cookie_too(sso_api, provider):
    """FAB's session cookie carries Secure on every response, whatever the scheme: Flask takes
    it from SESSION_COOKIE_SECURE, which FAB sets from [fab] cookie_secure (providers/fab/www/
    app.py). FAB's JWT cookie `_token` follows the request's scheme instead
    (providers/fab/www/views.py: request.scheme == "https"): Secure behind the ALB (https at the
    browser, X-Forwarded-Proto to the pod), not on this plain-http loopback. A real browser
    would not send a Secure cookie back over plain http (except to localhost); this client
    does, so the sign-in completes either way."""
    set_user(provider, "00u-grace", [OPS_GROUP])
    alb = Browser(sso_api, behind_alb=True)
    alb.sign_in(provider, "00u-grace")
    plain = Browser(sso_api)
    plain.sign_in(provider, "00u-grace")
    for browser in (alb, plain):
        sessions = browser.cookie_attributes("session")
        assert sessions and all(m["secure"] and m["httponly"] for m in sessions), browser.set_cookies
    alb_tokens = [m for m in alb.cookie_attributes("_token") if m.value]
    assert alb_tokens and all(m["secure"] and m["httponly"] for m in alb_tokens), alb.set_cookies
    plain_tokens = [m for m in plain.cookie_attributes("_token") if m.value]
    assert plain_tokens and not any(m["secure"] for m in plain_tokens), plain.set_cookies
