"""Test 7 (issue 13's SSO): the API server of the prod stack, which signs in through OIDC,
with the `webserver_config.py` the chart renders from the program's values
(`airflow_eks.sso.webserver_config`) and the client secret from the program's Secret, against
a real OpenID Connect provider (oidc-provider-mock), through the authorization-code flow with a
plain HTTP client. Groups and roles are prod's `ssoRoleMapping` and `ssoDefaultRole`.

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
    use Flask's `session` cookie, and a cookie jar does not separate ports)."""

    def __init__(self) -> None:
        self.cookies: dict[str, dict[str, str]] = {}
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, url: str, data: dict | None = None) -> tuple[int, str, str]:
        origin = urllib.parse.urlsplit(url).netloc
        request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data else None)
        jar = self.cookies.setdefault(origin, {})
        if jar:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # 3xx (not followed) and errors
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie(header)
            jar.update({k: m.value for k, m in cookie.items()})
        location = urllib.parse.urljoin(url, response.headers.get("Location", ""))
        return response.status, location, response.read().decode(errors="replace")

    def sign_in(self, api: str, provider: str, sub: str) -> str:
        """Airflow's OIDC login -> provider's authorize form, submitted as `sub` -> callback."""
        status, authorize, _ = self.request(f"{api}/auth/login/{sso.PROVIDER_NAME}")
        assert status in (302, 303) and authorize.startswith(provider), (status, authorize)
        status, callback, body = self.request(authorize, {"sub": sub})
        assert status in (302, 303) and callback.startswith(f"{api}/auth/oauth-authorized/"), (status, callback, body)
        status, landing, body = self.request(callback)
        assert status in (302, 303), (status, body[-2000:])
        return landing


def roles(database, username: str) -> set[str]:
    rows = database.postgres.sql(
        "select r.name from ab_user u join ab_user_role ur on ur.user_id = u.id join ab_role r on r.id = ur.role_id "
        f"where u.username = '{username}'", database=database.database)
    return set(rows.splitlines())


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    port = services.free_port()
    url = f"http://localhost:{port}"
    process = services.Process([str(services.TOOLS_VENV / "bin" / "oidc-provider-mock"), "-H", "127.0.0.1",
                                "-p", str(port)], log=tmp_path_factory.mktemp("oidc") / "oidc.log")
    with process.serving(lambda: services.http_ok(f"{url}{sso.DISCOVERY_PATH}"), timeout=60, what="OIDC provider"):
        yield url


def set_user(provider: str, sub: str, groups: list[str]) -> None:
    request = urllib.request.Request(f"{provider}/users/{sub}", method="PUT", data=json.dumps(
        {"email": f"{sub}@example.com", "preferred_username": sub, "groups": groups}).encode(),
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
    Browser().sign_in(sso_api, provider, "alice")
    assert roles(database, "alice") == {"Admin", DEFAULT_ROLE}
    Browser().sign_in(sso_api, provider, "bob")
    assert roles(database, "bob") == {DEFAULT_ROLE}

    # Groups change at the provider: the roles follow at the next sign-in (AUTH_ROLES_SYNC_AT_LOGIN).
    set_user(provider, "alice", [OPS_GROUP])
    Browser().sign_in(sso_api, provider, "alice")
    assert roles(database, "alice") == {"Op", DEFAULT_ROLE}
    set_user(provider, "alice", [])
    Browser().sign_in(sso_api, provider, "alice")
    assert roles(database, "alice") == {DEFAULT_ROLE}
