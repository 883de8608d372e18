"""UI access configuration (ingress, TLS, DNS, SSO): what the stacks turn on, and every bad
input refused before any resource with the key, the value and what is allowed, never the secret."""

from __future__ import annotations

import pulumi
import pytest

from airflow_eks import config
from airflow_eks.offline import harness, loader

SENTINEL = "sso-secret-SENTINEL-7f3a"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
WAF = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/airflow/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
ISSUER = "https://login.example.com/realms/data"
MAPPING = {"airflow-admins": "Admin", "analysts": "Viewer"}

# A valid UI with SSO on top of dev; each bad case changes one thing.
SSO = {"uiHostname": "airflow.example.com", "uiCertificateArn": CERT, "ssoIssuerUrl": ISSUER,
       "ssoClientId": "airflow", "ssoRoleMapping": MAPPING}


def load(overrides=None, secrets=None, stack="dev") -> config.Settings:
    return harness.value(config.load, stack=stack, overrides=overrides, secrets=secrets)


def with_sso(**changes):
    return {**SSO, **changes}


def test_dev_keeps_ui_access_off():
    ui = load().ui
    assert not ui.enabled and ui.sso is None and ui.client_secret is None


def test_prod_turns_on_ingress_certificate_dns_and_sso_with_a_stand_in_secret():
    ui = load(stack="prod").ui
    assert ui.enabled and ui.hosted_zone_id and not ui.certificate_arn
    assert ui.scheme == "internal" and ui.allowed_cidrs == ("10.0.0.0/16",)  # the VPC CIDR
    assert ui.sso is not None and "Admin" in ui.sso.role_mapping.values()
    assert isinstance(ui.client_secret, pulumi.Output)
    _, values, secret_keys = loader.stack_config("prod")
    assert values["airflow-eks:ssoClientSecret"] == loader.DUMMY_SECRET
    assert "airflow-eks:ssoClientSecret" in secret_keys
    assert "ssoClientSecret" not in loader.stack_file("prod")["config"].get("airflow-eks:ssoClientSecret", "")


def test_a_valid_sso_setup_is_parsed():
    ui = load(with_sso(uiScheme="internet-facing", uiAllowedCidrs=["203.0.113.0/24"], uiWafAclArn=WAF,
                       ssoGroupsClaim="cognito:groups", ssoDefaultRole="Viewer"),
              secrets={"ssoClientSecret": SENTINEL}).ui
    assert (ui.scheme, ui.allowed_cidrs, ui.waf_acl_arn) == ("internet-facing", ("203.0.113.0/24",), WAF)
    assert ui.sso.groups_claim == "cognito:groups" and ui.sso.default_role == "Viewer"
    assert dict(ui.sso.role_mapping) == MAPPING and ui.url == "https://airflow.example.com"


def test_internal_without_cidrs_admits_the_vpc_and_explicit_cidrs_replace_it():
    assert load({"uiHostname": "a.example.com", "uiHostedZoneId": "Z123ABC"}).ui.allowed_cidrs == ("10.0.0.0/16",)
    explicit = load({"uiHostname": "a.example.com", "uiHostedZoneId": "Z123ABC", "uiAllowedCidrs": ["10.8.0.0/16"]})
    assert explicit.ui.allowed_cidrs == ("10.8.0.0/16",)


def test_an_issuer_with_a_trailing_slash_is_kept_as_the_provider_states_it():
    ui = load(with_sso(ssoIssuerUrl="https://tenant.auth0.com/"), secrets={"ssoClientSecret": SENTINEL}).ui
    assert ui.sso.issuer_url == "https://tenant.auth0.com/"


BAD = [
    # (overrides, key named in the error, words of what is allowed)
    ({"uiHostname": "Airflow.Example.com", "uiCertificateArn": CERT}, "uiHostname", "lower case"),
    ({"uiHostname": "*.example.com", "uiCertificateArn": CERT}, "uiHostname", "no wildcard"),
    ({"uiHostname": "https://airflow.example.com", "uiCertificateArn": CERT}, "uiHostname", "DNS name"),
    ({"uiHostname": "airflow", "uiCertificateArn": CERT}, "uiHostname", "two labels"),
    ({"uiHostname": "-a.example.com", "uiCertificateArn": CERT}, "uiHostname", "DNS name"),
    ({"uiHostname": "airflow.example.com"}, "uiCertificateArn", "exactly one"),
    ({"uiHostname": "airflow.example.com", "uiCertificateArn": CERT, "uiHostedZoneId": "Z123ABC"},
     "uiCertificateArn", "exactly one"),
    ({"uiHostname": "airflow.example.com", "uiCertificateArn": CERT.replace("us-east-1", "eu-west-1")},
     "uiCertificateArn", "region us-east-1"),
    ({"uiHostname": "airflow.example.com", "uiCertificateArn": "arn:aws:iam::123456789012:server-certificate/x"},
     "uiCertificateArn", "ACM certificate ARN"),
    ({"uiHostname": "airflow.example.com", "uiHostedZoneId": "zone-1"}, "uiHostedZoneId", "hosted zone ID"),
    ({"uiHostname": "airflow.example.com", "uiCertificateArn": CERT, "uiScheme": "public"}, "uiScheme", "one of"),
    ({"uiHostname": "airflow.example.com", "uiCertificateArn": CERT, "uiScheme": "internet-facing",
      "uiAllowedCidrs": ["203.0.113.0/24"]}, "uiScheme", "SSO"),
    (with_sso(uiScheme="internet-facing"), "uiAllowedCidrs", "at least one"),
    (with_sso(uiAllowedCidrs=["10.0.0.1/8"]), "uiAllowedCidrs", "IPv4 CIDR"),
    (with_sso(uiWafAclArn="arn:aws:wafv2:us-east-1:123456789012:global/webacl/a/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
     "uiWafAclArn", "regional WAFv2"),
    ({"uiCertificateArn": CERT}, "uiCertificateArn", "unless uiHostname"),
    ({"uiScheme": "internet-facing"}, "uiHostname", "DNS name"),
    (with_sso(uiHostname=""), "ssoIssuerUrl", "unless uiHostname"),
    (with_sso(ssoIssuerUrl="http://login.example.com/realms/data"), "ssoIssuerUrl", "https URL"),
    (with_sso(ssoIssuerUrl="https://login.example.com/?tenant=1"), "ssoIssuerUrl", "without query"),
    (with_sso(ssoIssuerUrl="https://user:pw@login.example.com"), "ssoIssuerUrl", "credentials"),
    (with_sso(ssoClientId=""), "ssoClientId", "client ID"),
    (with_sso(ssoClientId="air flow"), "ssoClientId", "client ID"),
    (with_sso(ssoRoleMapping={"analysts": "Viewer"}), "ssoRoleMapping", "mapped to Admin"),
    (with_sso(ssoRoleMapping={"airflow-admins": "Admin", "x": "Superuser"}), "ssoRoleMapping", "Admin, Op"),
    (with_sso(ssoRoleMapping={"{{ .Values }}": "Admin"}), "ssoRoleMapping", "control characters"),
    (with_sso(ssoRoleMapping=["airflow-admins"]), "ssoRoleMapping", "an object"),
    (with_sso(ssoDefaultRole="Admin"), "ssoDefaultRole", "one of Public"),
    (with_sso(ssoGroupsClaim="has space"), "ssoGroupsClaim", "claim name"),
    ({"ssoClientId": "airflow"}, "ssoClientId", "unless ssoIssuerUrl"),
    ({"ssoRoleMapping": MAPPING}, "ssoRoleMapping", "unless ssoIssuerUrl"),
]


@pytest.mark.parametrize(("overrides", "key", "allowed"), BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_ui_input_is_refused_naming_key_value_and_rule_never_the_secret(overrides, key, allowed):
    with pytest.raises(pulumi.RunError) as raised:
        load(overrides, secrets={"ssoClientSecret": SENTINEL} if overrides.get("ssoIssuerUrl") else None)
    message = str(raised.value)
    assert f"airflow-eks:{key}" in message and allowed in message, message
    assert SENTINEL not in message


def test_sso_without_the_client_secret_says_how_to_set_it():
    with pytest.raises(pulumi.RunError, match=r"pulumi config set --secret ssoClientSecret") as raised:
        load(with_sso())
    assert "airflow-eks:ssoClientSecret" in str(raised.value)


def test_a_client_secret_without_sso_is_refused_as_secret():
    with pytest.raises(pulumi.RunError) as raised:
        load(secrets={"ssoClientSecret": SENTINEL})
    assert "airflow-eks:ssoClientSecret = [secret]" in str(raised.value)
    assert SENTINEL not in str(raised.value)


def test_prod_without_its_secret_fails_like_the_cli_would():
    with pytest.raises(pulumi.RunError, match="ssoClientSecret"):
        load(stack="prod", overrides={"ssoClientSecret": None})


def test_allowed_cidrs_without_a_hostname_are_refused_naming_the_missing_hostname():
    with pytest.raises(pulumi.RunError, match=r"airflow-eks:uiHostname = '': expected a DNS name"):
        load({"uiAllowedCidrs": ["10.8.0.0/16"]})


@pytest.mark.parametrize("key", ["ssoClientSecret", "gitSyncToken"])
def test_a_secret_key_set_without_secret_is_refused_without_its_value(key):
    """`pulumi config set ssoClientSecret ...` without --secret writes it to the stack file in
    plain text: refused, so it is rotated and set again as a Pulumi secret."""
    overrides = with_sso(**{key: SENTINEL}) if key == "ssoClientSecret" else {"gitSyncUsername": "u", key: SENTINEL}
    with pytest.raises(pulumi.RunError) as raised:
        load(overrides)
    message = str(raised.value)
    assert f"airflow-eks:{key} = [secret]: expected a secret" in message
    assert f"pulumi config set --secret {key}" in message and SENTINEL not in message
