"""Single sign-on for the Airflow UI: the FAB auth manager's `webserver_config.py`, built by a
pure function from the SSO settings.

The generated file turns on OAuth with ONE generic OpenID Connect provider, configured from
the issuer's discovery document (`<issuer>/.well-known/openid-configuration`, which Authlib
reads through `server_metadata_url`), so Okta, Entra ID, Keycloak, Cognito or any other
OIDC provider works without a provider-specific block. FAB has no built-in user-info mapping
for a generic provider (its `get_oauth_user_info` returns `{}` for unknown names, which
fails the login), so the file carries a small security manager that reads the user and the
groups from the ID token claims, or from the userinfo endpoint when the ID token lacks them.
Each subject (`sub`) is one Airflow user, `oidc_<sub>`, whose name and e-mail follow the
claims at every sign-in. Groups map to Airflow roles through `AUTH_ROLES_MAPPING`, synced at
every login.

The client secret is NOT in the text: the file reads it at run time from the environment
variable `CLIENT_SECRET_ENV`, which the API server gets from a Kubernetes Secret
(components/airflow_secrets.py, helm_values.py). The text goes into the chart's
`apiServer.apiServerConfig`, a ConfigMap, and Helm runs it through `tpl`: it must never
contain `{{`, which the builder guarantees (and config validation keeps out of the inputs).

Sources: apache-airflow-providers-fab `auth_manager/security_manager/override.py`
(`get_oauth_user_info`, `auth_user_oauth`, `_oauth_calculate_user_roles`) and the provider's
SSO guide; Flask-AppBuilder security docs (AUTH_* keys); Airflow 3 mounts FAB under `/auth`,
hence the redirect URI `https://<host>/auth/oauth-authorized/<provider>`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

# The environment variable the generated file reads the client secret from.
CLIENT_SECRET_ENV = "AIRFLOW_EKS_SSO_CLIENT_SECRET"
# FAB's provider name: it is part of the redirect URI registered at the identity provider.
PROVIDER_NAME = "oidc"
# FAB's default roles (security_manager/override.py ROLE_CONFIGS). `Public` has no permission.
MAPPABLE_ROLES = ("Admin", "Op", "User", "Viewer")
# The role of a signed-in user in no mapped group. Admin is not offered: every account of the
# identity provider would be an Airflow Admin.
DEFAULT_ROLES = ("Public", "Viewer", "User", "Op")
SCOPES = "openid email profile"
DISCOVERY_PATH = "/.well-known/openid-configuration"
# An Airflow user is keyed on the subject (`sub`), the one claim OIDC Core (section 5.7) makes
# stable and unique at the issuer; preferred_username and email may change, repeat or be
# edited by the user themselves (Cognito), so they are only copied into the user's record.
USERNAME_PREFIX = "oidc_"
# ab_user.email is NOT NULL and unique: a user without an e-mail claim (or with one another
# Airflow user already holds) gets `<sha256(sub)>@PLACEHOLDER_EMAIL_DOMAIN`, the same at every
# sign-in and distinct per subject. RFC 2606 reserves .invalid: no such mailbox can exist.
PLACEHOLDER_EMAIL_DOMAIN = "sso.invalid"


def username_for(sub: str) -> str:
    """The Airflow username of an OIDC subject."""
    return USERNAME_PREFIX + sub


def placeholder_email(sub: str) -> str:
    """The e-mail address of a user the IdP gives none (or one another user holds)."""
    return hashlib.sha256(sub.encode()).hexdigest() + "@" + PLACEHOLDER_EMAIL_DOMAIN


# Copied into the generated file as they are: the API server runs the same code.
_SHARED_FUNCTIONS = (username_for, placeholder_email)


@dataclass(frozen=True)
class SsoSettings:
    issuer_url: str
    """OIDC issuer, e.g. https://login.example.com/realms/data (validated https in config)."""
    client_id: str
    groups_claim: str = "groups"
    """Claim of the ID token or userinfo response that lists the user's groups."""
    role_mapping: Mapping[str, str] = field(default_factory=dict)
    """IdP group -> Airflow role (one of MAPPABLE_ROLES)."""
    default_role: str = "Public"


def discovery_url(issuer_url: str) -> str:
    """OIDC discovery: the issuer (without a trailing slash, which Auth0's issuer has) plus the
    well-known path (OpenID Connect Discovery 1.0, section 4)."""
    return issuer_url.rstrip("/") + DISCOVERY_PATH


def redirect_uri(hostname: str) -> str:
    """The callback the identity provider must allow (Airflow 3 serves FAB under /auth)."""
    return f"https://{hostname}/auth/oauth-authorized/{PROVIDER_NAME}"


def _roles_mapping(mapping: Mapping[str, str]) -> str:
    lines = [f"    {json.dumps(group)}: [{json.dumps(role)}]," for group, role in sorted(mapping.items())]
    return "\n".join(["{", *lines, "}"]) if lines else "{}"


def _shared_source() -> str:
    return "\n\n\n".join(inspect.getsource(function).strip() for function in _SHARED_FUNCTIONS)


def webserver_config(sso: SsoSettings) -> str:
    """The complete `webserver_config.py` for the API server (pure; no secret in it)."""
    # json.dumps of a str is a valid Python string literal, quotes and backslashes escaped.
    text = f'''"""webserver_config.py generated by airflow-eks (airflow_eks/sso.py): SSO with one OIDC provider."""

import hashlib
import logging
import os

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from flask_appbuilder.const import AUTH_OAUTH

log = logging.getLogger(__name__)

PROVIDER = {json.dumps(PROVIDER_NAME)}
GROUPS_CLAIM = {json.dumps(sso.groups_claim)}
CLIENT_SECRET_ENV = {json.dumps(CLIENT_SECRET_ENV)}
USERNAME_PREFIX = {json.dumps(USERNAME_PREFIX)}
PLACEHOLDER_EMAIL_DOMAIN = {json.dumps(PLACEHOLDER_EMAIL_DOMAIN)}
# ab_user's column lengths (FAB's User model): a longer value would fail the sign-in.
USERNAME_LENGTH = 512
EMAIL_LENGTH = 512
NAME_LENGTH = 256

WTF_CSRF_ENABLED = True
# No password login: everyone signs in through the identity provider.
AUTH_TYPE = AUTH_OAUTH
# First sign-in creates the user; the role follows the groups at every sign-in.
AUTH_USER_REGISTRATION = True
AUTH_USER_REGISTRATION_ROLE = {json.dumps(sso.default_role)}
AUTH_ROLES_SYNC_AT_LOGIN = True
AUTH_ROLES_MAPPING = {_roles_mapping(sso.role_mapping)}


def _client_secret():
    secret = os.environ.get(CLIENT_SECRET_ENV)
    if not secret:
        raise RuntimeError(CLIENT_SECRET_ENV + " is not set: the API server reads the OIDC client secret from it")
    return secret


OAUTH_PROVIDERS = [
    {{
        "name": PROVIDER,
        "icon": "fa-key",
        "token_key": "access_token",
        "remote_app": {{
            "client_id": {json.dumps(sso.client_id)},
            "client_secret": _client_secret(),
            "server_metadata_url": {json.dumps(discovery_url(sso.issuer_url))},
            "client_kwargs": {{"scope": {json.dumps(SCOPES)}}},
        }},
    }},
]


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


{_shared_source()}


def _text(value, limit):
    """A claim as a column value: IdP data (sometimes user-edited), cut to the column's length."""
    return value.strip()[:limit] if isinstance(value, str) else ""


class OidcSecurityManager(FabAirflowSecurityManagerOverride):
    """FAB returns no user info for a generic provider: read it from the OIDC claims, keyed on
    the subject, and keep name and e-mail current at every sign-in."""

    def get_oauth_user_info(self, provider, resp):
        if provider != PROVIDER:
            return super().get_oauth_user_info(provider, resp)
        # Authlib puts the verified ID token claims under "userinfo" (openid scope); the
        # userinfo endpoint fills in what the ID token leaves out (often the groups).
        claims = dict(resp.get("userinfo") or {{}})
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise ValueError("the ID token has no sub claim")
        if GROUPS_CLAIM not in claims or not claims.get("email"):
            extra = dict(self.oauth_remotes[provider].userinfo(token=resp))
            # OIDC Core 5.3.2: a userinfo response for another subject must not be used.
            if extra.get("sub") != sub:
                raise ValueError("the userinfo response is for another subject than the ID token")
            claims = {{**extra, **claims}}
        username = username_for(sub)
        if len(username) > USERNAME_LENGTH:
            raise ValueError("the sub claim is longer than an Airflow username can hold")
        # FAB finds users case-insensitively, OIDC subjects are case-sensitive: never sign one
        # subject in as the user of another that differs only in letter case.
        existing = self.find_user(username=username)
        if existing is not None and existing.username != username:
            raise ValueError("subject %r differs only in letter case from user %r" % (sub, existing.username))
        email = _text(claims.get("email"), EMAIL_LENGTH)
        if email.lower().endswith("@" + PLACEHOLDER_EMAIL_DOMAIN):
            # Placeholders are this file's: one from the IdP (some let users edit their address)
            # could be another subject's, taken before that user's first sign-in, which would then
            # fail on ab_user.email's unique index.
            log.warning("%s signs in with an address in the placeholder domain: a placeholder of its own", sub)
            email = ""
        holder = self.find_user(email=email) if email else None
        if holder is not None and holder.username != username:
            log.warning("%s signs in with the e-mail address of %s: a placeholder instead", username, holder.username)
            email = ""
        first_name = _text(claims.get("given_name"), NAME_LENGTH)
        last_name = _text(claims.get("family_name"), NAME_LENGTH)
        if not (first_name or last_name):
            first_name = _text(claims.get("name") or claims.get("preferred_username"), NAME_LENGTH)
        groups = _as_list(claims.get(GROUPS_CLAIM))
        log.info("OIDC sign-in of %s (%s) with groups %s", username, claims.get("preferred_username"), groups)
        return {{
            "username": username,
            "email": email or placeholder_email(sub),
            "first_name": first_name,
            "last_name": last_name,
            "role_keys": groups,
        }}

    def auth_user_oauth(self, userinfo, *args, **kwargs):
        user = super().auth_user_oauth(userinfo, *args, **kwargs)
        # FAB copies name and e-mail only when it registers the user: follow the IdP after that.
        if user is not None:
            changed = {{key: userinfo[key] for key in ("first_name", "last_name", "email")
                       if key in userinfo and getattr(user, key) != userinfo[key]}}
            if changed:
                for key, value in changed.items():
                    setattr(user, key, value)
                self.update_user(user)
        return user


SECURITY_MANAGER_CLASS = OidcSecurityManager
'''
    if "{{" in text:  # pragma: no cover - config validation keeps `{{` out of every input
        raise ValueError("the generated webserver_config.py must not contain '{{' (Helm tpl would expand it)")
    return text
