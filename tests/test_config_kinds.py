"""Every key of each kind (URL, CIDR, e-mail, duration, number) refuses the same malformed values:
one RunError naming the key, nothing echoed that could be a credential, nothing registered; and
valid real-world values keep working.

Which keys are of which kind is not listed here by hand: `observed_kinds()` runs config.load()
on a configuration that turns every optional check on and records which kind-marked check
(formats.kind) ran on which key. A new key validated by a URL, CIDR, e-mail or duration check
fails test_the_tables_cover_every_key_of_each_kind until it has its row below; a new integer or
quantity key gets the number cases from its Pulumi.yaml default without one.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict

import pulumi
import pytest

from airflow_eks import config, config_reader, eks, formats, ui_config, ui_ingress, versions
from airflow_eks.offline import harness, loader

PROJECT = loader.project_file()
SECRET = "sso-secret-SENTINEL-3b9e"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
# dev with every optional check on: the UI with SSO and client CIDRs, metrics with an alert
# address, a mirror, and a non-empty entry in every list.
UI = {"uiHostname": "airflow.example.com", "uiCertificateArn": CERT, "uiAllowedCidrs": ["10.20.0.0/16"]}
SSO = {**UI, "ssoIssuerUrl": "https://login.example.com/realms/data", "ssoClientId": "airflow",
       "ssoRoleMapping": {"airflow-admins": "Admin"}}
METRICS = {"metrics": "amp"}
FULL = {**SSO, **METRICS, "alertEmail": "oncall@example.com", "imageMirror": "harbor.example.com/proxy",
        "taskS3BucketNames": ["shared-data-bucket"],
        "clusterAdminArns": ["arn:aws:iam::123456789012:role/platform-admins"]}
SECRETS = {"ssoClientSecret": SECRET}
SHAPE = re.compile(r"Invalid configuration (?P<key>[\w-]+:\w+) = (?P<shown>.+): expected (?P<allowed>.+)\.")


def load(overrides: dict, secrets: dict | None = None) -> config.Settings:
    return harness.value(config.load, overrides=overrides, secrets=secrets)


@functools.cache
def observed_kinds() -> dict[str, frozenset[str]]:
    """Key (bare for the project's, namespaced otherwise) -> the kinds of the checks config.load
    ran on it, for FULL."""
    seen: dict[str, set[str]] = defaultdict(set)
    current: list[str] = []
    check, integer = config_reader.Reader.check, config_reader.Reader.integer

    def key_of(reader: config_reader.Reader, name: str) -> str:
        return reader.key(name).removeprefix(f"{PROJECT['name']}:")

    def spying_check(self, name, value, fn):
        current.append(key_of(self, name))
        try:
            return check(self, name, value, fn)
        finally:
            current.pop()

    def spying_integer(self, name, low, high):
        seen[key_of(self, name)].add(formats.NUMBER)
        return integer(self, name, low, high)

    def recording(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if current:
                seen[current[-1]].add(fn.kind)
            return fn(*args, **kwargs)
        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config_reader.Reader, "check", spying_check)
        patch.setattr(config_reader.Reader, "integer", spying_integer)
        for name in dir(formats):
            fn = getattr(formats, name)
            if callable(fn) and getattr(fn, "kind", None) in formats.KINDS:
                patch.setattr(formats, name, recording(fn))
        load(FULL, SECRETS)
    return {key: frozenset(kinds) for key, kinds in seen.items()}


def keys_of(kind: str) -> set[str]:
    return {key for key, kinds in observed_kinds().items() if kind in kinds}


def refused(key: str, value, context: dict, secrets: dict | None = None) -> str:
    """The message of the RunError `value` for `key` gets, checked for the one clean shape."""
    with pytest.raises(pulumi.RunError) as raised:
        load({**context, key: value}, secrets)
    message = str(raised.value)
    m = SHAPE.fullmatch(message)
    assert m and m["key"] == (key if ":" in key else f"airflow-eks:{key}"), message
    # One line, no raw control character: repr() escapes what the value held.
    assert all(c >= " " and c != "\x7f" for c in message), message
    return message


def nothing_registered(key: str, value, context: dict, secrets: dict | None = None) -> None:
    with pytest.raises(harness.ProgramError) as failed:
        harness.run_program("dev", overrides={**context, key: value}, secrets=secrets)
    assert isinstance(failed.value.error, pulumi.RunError) and key in str(failed.value.error)
    assert failed.value.resources == []


# --- URLs and other host-bearing values ------------------------------------------------------------
# key: (a valid value with {host} and {port} to vary, its host, the context that checks the key,
#       its length limit)
URLS = {
    "gitSyncRepo": ("https://{host}{port}/org/dags.git", "github.com", {}, formats.URL_MAX_LENGTH),
    "ssoIssuerUrl": ("https://{host}{port}/realms/data", "login.example.com", SSO, formats.URL_MAX_LENGTH),
    "airflowImageRepository": ("{host}{port}/data/airflow", "registry.example.com", {}, 255),
    # <imageMirror>/<longest mirrored image> must fit in Docker's 255 characters of an image name;
    # the longest the stack mirrors is the Load Balancer Controller's.
    "imageMirror": ("{host}{port}/proxy", "harbor.example.com", {},
                    255 - 1 - len(f"{versions.LOAD_BALANCER_CONTROLLER_IMAGE_REPOSITORY}")),
}


def url(key: str, host: str | None = None, port: str = "") -> str:
    template, default_host, _, _ = URLS[key]
    return template.format(host=default_host if host is None else host, port=port)


def _around(host: str, inserted: str) -> str:
    return host[:3] + inserted + host[3:]


# (case, how to build the bad value from a key) -- every case for every URL key.
URL_BAD = [
    # Python's urlsplit drops tab, CR and LF (WHATWG): the raw value is what must be refused.
    ("tab in the host", lambda k: url(k, _around(URLS[k][1], "\t"))),
    ("CR LF in the host", lambda k: url(k, _around(URLS[k][1], "\r\n"))),
    ("newline at the end", lambda k: url(k) + "\n"),
    ("space at the start", lambda k: " " + url(k)),
    ("space in the path", lambda k: url(k) + "/a b"),
    ("NUL", lambda k: url(k) + "\x00"),
    ("DEL", lambda k: _around(url(k), "\x7f")),
    ("NEL", lambda k: url(k) + "\x85"),
    ("no-break space", lambda k: url(k, URLS[k][1] + "\xa0")),
    # Look-alikes: Cyrillic о for o, fullwidth full stops, an IDN in its Unicode form.
    ("Cyrillic o", lambda k: url(k, URLS[k][1].replace("o", "\u043e", 1))),
    ("fullwidth dots", lambda k: url(k, URLS[k][1].replace(".", "\uff0e"))),
    ("Unicode IDN", lambda k: url(k, "b\u00fccher.example")),
    ("port 0", lambda k: url(k, port=":0")),
    ("port 65536", lambda k: url(k, port=":65536")),
    ("port 99999", lambda k: url(k, port=":99999")),
    ("port with a leading zero", lambda k: url(k, port=":0443")),
    ("non-numeric port", lambda k: url(k, port=":abc")),
    ("empty port", lambda k: url(k, port=":")),
    ("Arabic-Indic port", lambda k: url(k, port=":\u0668\u0664\u0664\u0663")),
    ("one past the length limit", lambda k: url(k) + "/" + "a" * (URLS[k][3] - len(url(k)))),
]
# Valid variations of every URL key.
URL_GOOD = [
    ("port 8443", lambda k: url(k, port=":8443")),
    ("port 65535", lambda k: url(k, port=":65535")),
    ("port 1", lambda k: url(k, port=":1")),
    # An IDN in its punycode form is accepted: what DNS holds, and nothing hides in it.
    ("punycode host", lambda k: url(k, "xn--bcher-kva.example")),
    ("at the length limit", lambda k: url(k) + "/" + "a" * (URLS[k][3] - len(url(k)) - 1)),
]


def test_the_tables_cover_every_key_of_each_kind():
    assert keys_of(formats.URL) == set(URLS)
    assert keys_of(formats.CIDR) == set(CIDRS)
    assert keys_of(formats.EMAIL) == set(EMAILS)
    assert keys_of(formats.DURATION) == set(DURATIONS)
    assert keys_of(formats.NUMBER) == set(NUMBERS) and len(NUMBERS) >= 15
    # Every key found is one Pulumi.yaml declares (or the AWS provider's).
    assert set(observed_kinds()) <= set(PROJECT["config"]) | {"aws:region"}


@pytest.mark.parametrize("key", sorted(URLS))
@pytest.mark.parametrize(("case", "build"), URL_BAD, ids=[c for c, _ in URL_BAD])
def test_url_keys_refuse(key, case, build):
    value = build(key)
    refused(key, value, URLS[key][2], SECRETS if URLS[key][2] is SSO else None)


@pytest.mark.parametrize("key", sorted(URLS))
@pytest.mark.parametrize(("case", "build"), URL_GOOD, ids=[c for c, _ in URL_GOOD])
def test_url_keys_accept(key, case, build):
    load({**URLS[key][2], key: build(key)}, SECRETS if URLS[key][2] is SSO else None)


# Credentials in a URL: refused, and no part of them in the message, whatever they contain.
CREDENTIALS = [
    # (value, what must not appear)
    ("https://bot:p@ss/w0rd@github.com/org/dags.git", ["bot", "p@ss", "w0rd"]),
    ("https://bot:pa ss@github.com/org/dags.git", ["bot", "pa ss", "ss@"]),
    ("https://ghp_TOKEN1234@github.com/org/dags.git", ["ghp_TOKEN1234"]),
    ("https://x-access-token:ghp_T0KEN@@github.com/org/dags.git", ["x-access-token", "ghp_T0KEN"]),
    ("https://github.com/org/dags.git?access_token=glpat-SECRET", ["glpat-SECRET"]),
    ("x-access-token:ghp_T0KEN@github.com/org/dags.git", ["x-access-token", "ghp_T0KEN"]),
    ("ghp_T0KEN@github.com:org/dags.git", ["ghp_T0KEN"]),  # scp-like, the token as the user
]


@pytest.mark.parametrize(("value", "hidden"), CREDENTIALS)
@pytest.mark.parametrize("key", ["gitSyncRepo", "ssoIssuerUrl", "airflowImageRepository", "imageMirror"])
def test_credentials_in_a_url_are_never_echoed(key, value, hidden):
    message = refused(key, value, URLS[key][2], SECRETS if URLS[key][2] is SSO else None)
    assert not [h for h in hidden if h in message], message
    assert "github.com" in message  # the rest is shown, so the user sees which value it was


@pytest.mark.parametrize(("value", "shown"), [
    ("https://u:p@ss@host/x", "https://***@host/x"),  # up to the LAST @ before the host
    ("https://u:p@host/x?token=abc", "https://***@host/x?***"),
    ("ssh://git:pw@host:22/x", "ssh://***@host:22/x"),
    ("user:pw@host/x", "***@host/x"),
    ("ghp_T0KEN@github.com/org/dags.git", "***@github.com/org/dags.git"),  # a token as the user
    ("harbor.example.com/proxy?token=abc", "harbor.example.com/proxy?***"),
    ("git@github.com:org/dags.git", "git@github.com:org/dags.git"),  # git is a user, no secret
    ("oncall@example.com", "oncall@example.com"),  # nor is an e-mail address
    ("mailto:oncall@example.com", "mailto:oncall@example.com"),
    ("https://github.com/org/dags.git", "https://github.com/org/dags.git"),
])
def test_redact(value, shown):
    assert config_reader.redact(value) == shown


def test_a_long_value_is_shown_cut_with_its_length():
    message = refused("gitSyncRepo", "https://github.com/" + "a" * 5000, {})
    assert "... (5019 characters)" in message and len(message) < 700


@pytest.mark.parametrize("key", sorted(URLS))
def test_a_refused_url_registers_nothing(key):
    nothing_registered(key, url(key, _around(URLS[key][1], "\t")), URLS[key][2],
                       SECRETS if URLS[key][2] is SSO else None)


# Real identity providers' issuers, as their documentation gives them: paths, trailing slashes.
ISSUERS = [
    "https://dev-123456.okta.com/oauth2/default",  # Okta, custom authorization server
    "https://dev-123456.okta.com",  # Okta, org authorization server
    "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",  # Entra ID v2
    "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",  # Entra ID v1, trailing slash
    "https://example-tenant.us.auth0.com/",  # Auth0, trailing slash
    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",  # Cognito user pool
    "https://keycloak.example.com/realms/data",  # Keycloak 17+
    "https://keycloak.example.com:8443/auth/realms/data/",  # Keycloak before 17, with a port
    "https://accounts.google.com",
    "https://gitlab.com",
]


@pytest.mark.parametrize("issuer", ISSUERS)
def test_real_world_issuers_are_accepted(issuer):
    assert load({**SSO, "ssoIssuerUrl": issuer}, SECRETS).ui.sso.issuer_url == issuer


KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"


@pytest.mark.parametrize(("repo", "auth"), [
    ("https://github.com/apache/airflow.git", "none"),
    ("https://github.com/org/dags", "none"),
    ("https://gitlab.com/group/subgroup/project.git", "none"),
    ("https://gitlab.example.com:8443/data/dags.git", "none"),
    ("https://dev.azure.com/org/project/_git/dags", "none"),
    ("https://bitbucket.org/team/dags.git", "none"),
    ("git@github.com:org/dags.git", "ssh"),
    ("git@gitlab.com:group/subgroup/project.git", "ssh"),
    ("git@ssh.dev.azure.com:v3/org/project/dags", "ssh"),
])
def test_real_world_git_urls_are_accepted(repo, auth):
    ssh = auth == "ssh"
    settings = load({"gitSyncRepo": repo, **({"gitSyncKnownHosts": KNOWN_HOSTS} if ssh else {})},
                    {"gitSyncSshKey": SSH_KEY} if ssh else None)
    assert (settings.airflow.git_sync.repo, settings.airflow.git_sync.auth) == (repo, auth)


@pytest.mark.parametrize("repo", [
    "-oProxyCommand=x@github.com:org/dags.git",  # an ssh option, not a user
    "git@github.com:-upload-pack=x",  # a git option, not a path
    "https://github.com/org/dags%0a.git",  # an encoded newline
    "https://github.com/org/dags%2.git",  # a broken escape
    "https://999.1.1.1/org/dags.git",  # neither an address nor a name
])
def test_git_urls_that_would_smuggle_something_are_refused(repo):
    refused("gitSyncRepo", repo, {})


@pytest.mark.parametrize("host", ["b\u00fccher.example.com", "airfl\u043ew.example.com", "air\tflow.example.com",
                                  "airflow.example.com\n", "airflow\uff0eexample.com"])
def test_the_ui_host_name_refuses_look_alikes_and_control_characters(host):
    refused("uiHostname", host, UI)


def test_the_ui_host_name_takes_punycode():
    assert load({**UI, "uiHostname": "airflow.xn--bcher-kva.example"}).ui.hostname == "airflow.xn--bcher-kva.example"


# --- CIDRs -------------------------------------------------------------------------------------------
# key: (a valid value, is it a list, context, how many items at most)
CIDRS = {
    "vpcCidr": ("10.0.0.0/16", False, {}, None),
    # EKS: "Public endpoint access CIDR ranges per cluster", 40, not adjustable (service quotas).
    "clusterPublicAccessCidrs": ("203.0.113.0/24", True, {}, 40),
    # 60 inbound rules in the ALB's security group, one per CIDR and listener (80 and 443).
    "uiAllowedCidrs": ("10.20.0.0/16", True, UI, 30),
}
CIDR_BAD = [
    # (case, bad value from the valid one, words of the message)
    ("bare address", lambda v: v.split("/")[0], "/32 for this one address"),
    ("host bits set", lambda v: v.replace(".0/", ".1/"), "host bits set"),
    ("netmask instead of a prefix", lambda v: v.split("/")[0] + "/255.255.0.0", "prefix length from 0 to 32"),
    ("prefix 33", lambda v: v.split("/")[0] + "/33", "prefix length from 0 to 32"),
    ("prefix with a leading zero", lambda v: v.split("/")[0] + "/016", "prefix length"),
    ("octet with a leading zero", lambda v: v.replace(".0.", ".00.", 1), "without leading zeros"),
    ("octet over 255", lambda v: "256" + v[v.index("."):], "from 0 to 255"),
    ("IPv6", lambda v: "2001:db8::/32", "IPv4"),
    ("space before the prefix", lambda v: v.replace("/", " /"), "whitespace"),
    ("newline at the end", lambda v: v + "\n", "whitespace"),
    ("Arabic-Indic digits", lambda v: v.replace("0", "\u0660"), "ASCII only"),
    ("fullwidth slash", lambda v: v.replace("/", "\uff0f"), "ASCII only"),
]


@pytest.mark.parametrize("key", sorted(CIDRS))
@pytest.mark.parametrize(("case", "build", "words"), CIDR_BAD, ids=[c for c, *_ in CIDR_BAD])
def test_cidr_keys_refuse(key, case, build, words):
    good, is_list, context, _ = CIDRS[key]
    bad = build(good)
    # In a list, next to a valid range: the message shows the bad one.
    message = refused(key, ["198.51.100.0/24", bad] if is_list else bad, context)
    assert words in message and repr(bad) in message, message


def test_a_host_bits_refusal_names_the_network_meant():
    assert "the network of 203.0.113.7/24 is 203.0.113.0/24" in refused(
        "clusterPublicAccessCidrs", ["203.0.113.7/24"], {})
    assert "the network of 10.0.0.1/16 is 10.0.0.0/16" in refused("vpcCidr", "10.0.0.1/16", {})


@pytest.mark.parametrize("key", [k for k in sorted(CIDRS) if CIDRS[k][1]])
def test_several_ranges_keep_working_up_to_the_limit(key):
    good, _, context, most = CIDRS[key]
    several = ["203.0.113.0/24", "198.51.100.7/32", "192.0.2.0/28", "0.0.0.0/0"]
    settings = load({**context, key: several})
    kept = settings.cluster.public_access_cidrs if key == "clusterPublicAccessCidrs" else settings.ui.allowed_cidrs
    assert kept == tuple(several)
    many = [f"10.{i}.0.0/16" for i in range(most + 1)]
    load({**context, key: many[:most]})
    assert f"at most {most} items" in refused(key, many, context)


def test_the_ui_cidr_limit_follows_the_listeners():
    assert ui_config.MAX_ALLOWED_CIDRS * len(ui_ingress.LISTEN_PORTS) <= 60
    assert CIDRS["clusterPublicAccessCidrs"][3] == eks.MAX_PUBLIC_ACCESS_CIDRS


@pytest.mark.parametrize("key", sorted(CIDRS))
def test_a_refused_cidr_registers_nothing(key):
    good, is_list, context, _ = CIDRS[key]
    bare = good.split("/")[0]
    nothing_registered(key, [bare] if is_list else bare, context)


# --- e-mail addresses --------------------------------------------------------------------------------
EMAILS = {"alertEmail": METRICS}


def address(length: int) -> str:
    """oncall@<labels of at most 63 characters>.com, `length` characters in all."""
    labels, left = [], length - len("oncall@") - len(".com")
    while left > 0:
        labels.append("abcd"[len(labels)] * min(63, left - (left > 63)))
        left -= len(labels[-1]) + 1
    return f"oncall@{'.'.join(labels)}.com"


EMAIL_BAD = [
    ("mailto:oncall@example.com", "without mailto:"),
    ("MAILTO:oncall@example.com", "without mailto:"),
    ("oncall@b\u00fccher.example", "ASCII only"),  # a Unicode IDN
    ("onc\u0430ll@example.com", "ASCII only"),  # Cyrillic а
    ("oncall@example.com\n", "whitespace"),
    ("on call@example.com", "whitespace"),
    ("oncall@example.com\x00", "whitespace or control"),
    ("a" * 65 + "@example.com", "at most 64 characters before the @"),
    (address(255), "at most 254 characters"),
    ("oncall@@example.com", "e-mail address"),
    ("oncall@example", "e-mail address"),
    ("oncall@-example.com", "e-mail address"),
    ("oncall@example.c0m", "e-mail address"),
    ("oncall@192.168.0.1", "e-mail address"),
    ("oncall@[192.168.0.1]", "e-mail address"),
    ('"on call"@example.com', "e-mail address"),
    (".oncall@example.com", "e-mail address"),
    ("on..call@example.com", "e-mail address"),
    ("oncall@example.com,ops@example.com", "e-mail address"),
    ("Ops <oncall@example.com>", "e-mail address"),
]
EMAIL_GOOD = [
    "oncall@example.com",
    "first.last+alerts@sub.example.co.uk",
    "o'brien@example.com",
    "ops-team@xn--bcher-kva.example",  # an IDN domain in punycode
    "a" * 64 + "@example.com",
    address(254),
]


@pytest.mark.parametrize("key", sorted(EMAILS))
@pytest.mark.parametrize(("value", "words"), EMAIL_BAD, ids=[repr(v)[:40] for v, _ in EMAIL_BAD])
def test_email_keys_refuse(key, value, words):
    assert words in refused(key, value, EMAILS[key])


@pytest.mark.parametrize("key", sorted(EMAILS))
@pytest.mark.parametrize("value", EMAIL_GOOD, ids=[v[:30] for v in EMAIL_GOOD])
def test_email_keys_accept(key, value):
    assert len(EMAIL_GOOD[-1]) == 254
    assert load({**EMAILS[key], key: value}).metrics.alert_email == value


@pytest.mark.parametrize("key", sorted(EMAILS))
def test_a_refused_email_registers_nothing(key):
    nothing_registered(key, "mailto:oncall@example.com", EMAILS[key])


# --- durations ----------------------------------------------------------------------------------------
# key: (context, valid values)
DURATIONS = {
    "gitSyncPeriod": ({}, ["5s", "30s", "1m30s", "5m", "1h30m", "24h", "86400s"]),
    "metricsScrapeInterval": (METRICS, ["30s", "60s", "1m30s", "2m", "120s"]),
}
DURATION_BAD = [
    "\u0666\u0660s",  # ARABIC-INDIC DIGITs, which \d and int() take
    "\u096c\u0966s",  # DEVANAGARI
    "\uff16\uff10s",  # FULLWIDTH
    "60s\n", " 60s", "60 s", "60\ts",
    "-60s", "+60s", "1e2s", "0x3Cs", "60S", "",
    "0" * 40 + "60s",  # past the length limit
]


@pytest.mark.parametrize("key", sorted(DURATIONS))
@pytest.mark.parametrize("value", DURATION_BAD, ids=[repr(v)[:20] for v in DURATION_BAD])
def test_duration_keys_refuse(key, value):
    refused(key, value, DURATIONS[key][0])


@pytest.mark.parametrize("key", sorted(DURATIONS))
def test_duration_keys_accept(key):
    for value in DURATIONS[key][1]:
        load({**DURATIONS[key][0], key: value})


@pytest.mark.parametrize("key", sorted(DURATIONS))
def test_a_refused_duration_registers_nothing(key):
    nothing_registered(key, "\u0666\u0660s", DURATIONS[key][0])


# --- numbers ----------------------------------------------------------------------------------------
# Integers and Kubernetes quantities: every such key, its Pulumi.yaml default as the valid value.
NUMBERS = {key: PROJECT["config"][key]["default"] for key in sorted(keys_of(formats.NUMBER))}
NUMBER_BAD = [
    "\u0663",  # ARABIC-INDIC DIGIT THREE
    "\uff13",  # FULLWIDTH DIGIT THREE
    "+3", " 3", "3 ", "3\n", "1e3", "0x10", "", "3\u00a0",
    "1" * 5000,  # int() raises on more than 4,300 digits
    "9" * 40,
]


@pytest.mark.parametrize("key", sorted(NUMBERS))
def test_number_keys_refuse_non_ascii_signs_spaces_and_overlong_values(key):
    for value in NUMBER_BAD:
        refused(key, value, {})


@pytest.mark.parametrize("key", sorted(NUMBERS))
def test_number_keys_accept_their_default(key):
    load({key: NUMBERS[key]})


@pytest.mark.parametrize(("key", "value", "words"), [
    ("taskCpuLimit", "1921", "at most 1920"),
    ("taskMemoryLimit", "33Ti", "at most 32Ti"),
    ("taskCpuRequest", "0", "positive"),
])
def test_quantities_are_bounded_by_the_largest_node_ec2_offers(key, value, words):
    assert words in refused(key, value, {})
    load({"taskCpuLimit": "1920", "taskMemoryLimit": "32Ti"})


def test_a_refused_number_registers_nothing():
    nothing_registered("schedulerReplicas", "\u0663", {})
    nothing_registered("taskCpuRequest", "9" * 40, {})


# --- JSON-valued keys ---------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["clusterPublicAccessCidrs", "ssoRoleMapping", "aws:defaultTags"])
def test_deeply_nested_json_is_a_clean_refusal(key):
    """json.loads raises RecursionError, not ValueError, on deep nesting."""
    context = SSO if key == "ssoRoleMapping" else {}
    refused(key, "[" * 100_000, context, SECRETS if context else None)
