"""UI access settings (ingress, TLS, DNS, SSO): read and validated with the rest of the config.

Called by config.load() before the first resource. Every rule here is a refusal with the key,
the value and what is allowed (config_reader.invalid); the client secret only ever appears as
`[secret]`. Empty `uiHostname` means no ingress at all (the UI stays behind kubectl
port-forward), and every other UI key must then be left at its default, so a half-configured
stack fails loudly instead of silently doing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from airflow_eks import formats, sso
from airflow_eks.config_reader import Reader, invalid, invalid_secret, parse_json
from airflow_eks.sso import SsoSettings

SCHEMES = ("internal", "internet-facing")
# The controller puts one rule per CIDR and listener port (ui_ingress.LISTEN_PORTS: 80 and 443)
# in the ALB's one managed security group, which holds 60 inbound rules by default; past that
# AuthorizeSecurityGroupIngress fails with RulesPerSecurityGroupLimitExceeded and the Ingress
# never gets its ALB (aws-load-balancer-controller#4789, #4800).
MAX_ALLOWED_CIDRS = 30
SECRET_KEY = "ssoClientSecret"


@dataclass(frozen=True)
class UiSettings:
    hostname: str
    """'' when the UI has no ingress (port-forward only)."""
    certificate_arn: str
    """An existing ACM certificate, or '' when the program creates one in hosted_zone_id."""
    hosted_zone_id: str
    scheme: str  # "internal" | "internet-facing"
    allowed_cidrs: tuple[str, ...]
    """Resolved: the VPC CIDR for an internal ALB without explicit CIDRs."""
    waf_acl_arn: str
    sso: SsoSettings | None
    client_secret: pulumi.Output[str] | None
    """Secret; set exactly when sso is."""

    @property
    def enabled(self) -> bool:
        return bool(self.hostname)

    @property
    def url(self) -> str:
        return f"https://{self.hostname}"


def role_mapping(text: str) -> dict[str, str]:
    """`{"<IdP group>": "<Airflow role>", ...}` with at least one Admin group."""
    allowed = ('an object {"<IdP group>": "<role>"} with roles from ' + ", ".join(sso.MAPPABLE_ROLES)
               + " and at least one group mapped to Admin")
    mapping = parse_json(text)
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ValueError(allowed)
    for group, role in mapping.items():
        # Group names end up in a Python file that Helm runs through `tpl`.
        if not group or "{{" in group or "}}" in group or any(ord(c) < 32 for c in group):
            raise ValueError(f"{allowed}; group names non-empty, without control characters or {{{{ }}}}")
        if role not in sso.MAPPABLE_ROLES:
            raise ValueError(allowed)
    if "Admin" not in mapping.values():
        raise ValueError(allowed)
    return mapping


def _cidrs(r: Reader, cidrs: tuple[str, ...], scheme: str, vpc_cidr: str) -> tuple[str, ...]:
    if scheme == "internet-facing" and not cidrs:
        raise invalid(r.key("uiAllowedCidrs"), [], "the client CIDRs allowed to reach an internet-facing ALB "
                      "(at least one; 0.0.0.0/0 only if you mean the whole internet)")
    if scheme == "internal" and not cidrs:
        return (vpc_cidr,)
    return cidrs


def _sso(r: Reader, ui_hostname: str) -> tuple[SsoSettings | None, pulumi.Output[str] | None]:
    issuer = r.raw("ssoIssuerUrl")
    client_id = r.raw("ssoClientId")
    secret = r.secret(SECRET_KEY)
    mapping_text = r.raw("ssoRoleMapping")
    groups_claim = r.string("ssoGroupsClaim", formats.claim_name)
    default_role = r.choice("ssoDefaultRole", sso.DEFAULT_ROLES)
    if not issuer:
        for key, value in (("ssoClientId", client_id), ("ssoRoleMapping", mapping_text)):
            if value not in ("", "{}"):
                raise invalid(r.key(key), value, "its default unless ssoIssuerUrl is set")
        if secret is not None:
            raise invalid_secret(r.key(SECRET_KEY), "unset unless ssoIssuerUrl is set")
        return None, None
    r.check("ssoIssuerUrl", issuer, formats.https_issuer_url)
    if not ui_hostname:
        raise invalid(r.key("ssoIssuerUrl"), issuer, "empty unless uiHostname is set (the redirect URI is "
                      "https://<uiHostname>/auth/oauth-authorized/oidc)")
    if not client_id:
        raise invalid(r.key("ssoClientId"), client_id, "the OIDC client ID registered for Airflow")
    r.check("ssoClientId", client_id, formats.oauth_client_id)
    if secret is None:
        raise pulumi.RunError(f"Missing configuration {r.key(SECRET_KEY)}: set the OIDC client secret with "
                              f"`pulumi config set --secret {SECRET_KEY}`.")
    return SsoSettings(
        issuer_url=issuer, client_id=client_id, groups_claim=groups_claim,
        role_mapping=r.check("ssoRoleMapping", mapping_text, role_mapping), default_role=default_role,
    ), pulumi.Output.secret(secret)


def load(r: Reader, *, region: str, vpc_cidr: str) -> UiSettings:
    name = r.raw("uiHostname")
    if name:
        r.check("uiHostname", name, formats.dns_hostname)
    certificate = r.raw("uiCertificateArn")
    zone = r.raw("uiHostedZoneId")
    scheme = r.choice("uiScheme", SCHEMES)
    waf = r.raw("uiWafAclArn")
    cidrs = r.strings("uiAllowedCidrs", formats.ipv4_cidr, max_items=MAX_ALLOWED_CIDRS)
    sso_settings, secret = _sso(r, name)
    if not name:
        for key, value in (("uiCertificateArn", certificate), ("uiHostedZoneId", zone), ("uiWafAclArn", waf)):
            if value:
                raise invalid(r.key(key), value, "empty unless uiHostname is set")
        if scheme != "internal" or cidrs:
            raise invalid(r.key("uiHostname"), name, "a DNS name when uiScheme or uiAllowedCidrs is set")
        return UiSettings("", "", "", scheme, (), "", None, None)
    if bool(certificate) == bool(zone):
        raise invalid(r.key("uiCertificateArn"), certificate, "exactly one of uiCertificateArn (an existing ACM "
                      "certificate) and uiHostedZoneId (the program creates and validates one)")
    if certificate:
        r.check("uiCertificateArn", certificate, lambda v: formats.acm_certificate_arn(v, region=region))
    else:
        r.check("uiHostedZoneId", zone, formats.route53_zone_id)
    if waf:
        r.check("uiWafAclArn", waf, lambda v: formats.wafv2_regional_acl_arn(v, region=region))
    # No password form on the internet: the generated admin's password would be the only lock.
    if scheme == "internet-facing" and sso_settings is None:
        raise invalid(r.key("uiScheme"), scheme, "internal unless SSO is configured (ssoIssuerUrl): an "
                      "internet-facing UI must not offer a password login")
    return UiSettings(name, certificate, zone, scheme, _cidrs(r, cidrs, scheme, vpc_cidr), waf, sso_settings, secret)
