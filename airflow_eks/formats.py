"""Pure format checks for configuration values.

Each function returns normally for a valid value (some return a parsed form) and raises
ValueError whose message says what is allowed; config.py turns that into a RunError that
also names the key and the bad value. No Pulumi, no AWS calls: everything here is
checkable offline.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

# --- kinds of values ------------------------------------------------------------------------
# A check marked with a kind makes every key it validates a key of that kind: the kind's table
# tests (tests/test_config_kinds.py) find those keys by running the validation, so a new URL,
# CIDR, e-mail, duration or number key gets them without being listed anywhere.
URL, CIDR, EMAIL, DURATION, NUMBER = "url", "cidr", "email", "duration", "number"
KINDS = (URL, CIDR, EMAIL, DURATION, NUMBER)
_Check = TypeVar("_Check", bound=Callable)


def kind(name: str) -> Callable[[_Check], _Check]:
    def mark(check: _Check) -> _Check:
        check.kind = name  # type: ignore[attr-defined]
        return check

    return mark


# Length limits. A value past them is a paste gone wrong, and would otherwise reach generated
# files and error messages whole.
# URLs: 2048, what browsers, CDNs and sitemaps (sitemaps.org) have long agreed to handle; real
# issuer and git URLs stay under 200.
URL_MAX_LENGTH = 2048
# An image name, registry host and port included (the Docker reference grammar's
# NameTotalLengthMax, distribution/reference).
IMAGE_NAME_MAX_LENGTH = 255
# A host name in DNS (RFC 1035, 253 characters in text form).
HOST_MAX_LENGTH = 253
# RFC 5321 4.5.3.1: a local part of at most 64 octets, a path of at most 256 including its
# angle brackets, so an address of at most 254.
EMAIL_LOCAL_MAX_LENGTH, EMAIL_MAX_LENGTH = 64, 254
# Durations and quantities: a few digits and units; 32 leaves room for 1h59m59s999ms999us999ns.
DURATION_MAX_LENGTH = QUANTITY_MAX_LENGTH = 32
# The largest EC2 instance (u7inh-32tb.480xlarge: 1,920 vCPUs, 32 TiB): a task asking for more
# would stay Pending on any node.
MAX_CPU_CORES, MAX_MEMORY_BYTES = Decimal(1920), Decimal(2) ** 45

_INSTANCE_SIZE = r"(nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal(-[0-9]+xl)?)"
_INSTANCE_FAMILY = r"[a-z][a-z0-9-]*[0-9][a-z0-9-]*"
_EC2_TYPE = re.compile(rf"^{_INSTANCE_FAMILY}\.{_INSTANCE_SIZE}$", re.ASCII)
_RDS_CLASS = re.compile(rf"^db\.{_INSTANCE_FAMILY}\.{_INSTANCE_SIZE}$", re.ASCII)
# Each number at most 9 digits (int() refuses strings past 4,300 digits with a ValueError of its own).
_SEMVER = re.compile(
    r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-[0-9A-Za-z.-]{1,64})?(\+[0-9A-Za-z.-]{1,64})?$",
    re.ASCII,
)
_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$", re.ASCII)
_GO_UNIT_SECONDS = {
    "ns": Decimal("1e-9"), "us": Decimal("1e-6"), "µs": Decimal("1e-6"),
    "ms": Decimal("1e-3"), "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600),
}
_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$", re.ASCII)
_QUANTITY_FACTOR = {
    None: Decimal(1), "m": Decimal("0.001"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$", re.ASCII)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", re.ASCII)
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$", re.ASCII)
_REPO_PATH = re.compile(r"(/[A-Za-z0-9._~%+-]+)+/?", re.ASCII)
# scp-like: user@host:path (a user or path starting with - would read as an ssh/git option).
_SSH_REPO = re.compile(r"(?!-)(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?!-)(?P<path>[A-Za-z0-9._~/-]+)",
                       re.ASCII)
_GIT_REF = re.compile(r"^(?![/-])(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/+@-]+(?<!/)(?<!\.lock)$", re.ASCII)
# Docker's reference grammar (distribution/reference), lower case: a registry host's labels may
# hold several hyphens (punycode xn-- labels), path components single separators.
_REGISTRY_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_PATH_COMPONENT = r"[a-z0-9]+([._-][a-z0-9]+)*"
_IMAGE_REPOSITORY = re.compile(
    rf"^({_REGISTRY_LABEL}(\.{_REGISTRY_LABEL})*(:(?P<port>[0-9]+))?/)?{_PATH_COMPONENT}(/{_PATH_COMPONENT})*$",
    re.ASCII,
)
_REGISTRY_PATH = re.compile(
    rf"^({_REGISTRY_LABEL}\.)+([a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})(:(?P<port>[0-9]+))?(/{_PATH_COMPONENT})*$",
    re.ASCII)
_KNOWN_HOSTS_KEY_TYPE = re.compile(r"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)$", re.ASCII)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$", re.ASCII)


# --- shared by the URL-like, e-mail, CIDR, duration and number checks -------------------------
_PORT = re.compile(r"[1-9][0-9]{0,4}", re.ASCII)
_HOST_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*", re.ASCII)


def _plain_text(value: str, limit: int, allowed: str, *, host: bool = False) -> None:
    """Refusals on the raw text, before any parsing: Python's URL parser silently drops tabs and
    newlines (WHATWG), so the parsed value can look fine while the raw one would reach a
    generated file; int(), Decimal and \\d take other scripts' digits."""
    if len(value) > limit:
        raise ValueError(f"{allowed} (at most {limit} characters; this one has {len(value)})")
    if not value.isascii():
        raise ValueError(f"{allowed} (ASCII only" + (": an internationalized host name is written in its xn-- "
                         "(punycode) form, which shows a look-alike letter for what it is)" if host else ")"))
    if any(c <= " " or c == "\x7f" for c in value):
        raise ValueError(f"{allowed} (no whitespace or control characters anywhere)")


def _host_problem(host: str) -> str | None:
    """Why `host` is no DNS name or IPv4 address, or None. xn-- (punycode) labels are accepted."""
    if not _HOST.fullmatch(host) or len(host) > HOST_MAX_LENGTH:
        return f"a host name of letters, digits, hyphens and dots (at most {HOST_MAX_LENGTH} characters)"
    if host.rsplit(".", 1)[-1].isdigit() and not _is_ipv4(host):  # no top-level domain is numeric
        return "a host name, or an IPv4 address of four numbers from 0 to 255"
    return None


def _port_problem(port: str | None) -> str | None:
    if port is None or (_PORT.fullmatch(port) and int(port) <= 65535):
        return None
    return "a port from 1 to 65535"


def _authority_problem(authority: str) -> str | None:
    """host[:port] of a URL."""
    host, colon, port = authority.partition(":")
    return _host_problem(host) or _port_problem(port if colon else None)


@kind(CIDR)
def private_vpc_cidr(value: str) -> ipaddress.IPv4Network:
    """A private IPv4 network from /16 to /20 (big enough for 6 AZs of subnets)."""
    allowed = "a private (RFC 1918) IPv4 network from /16 to /20, e.g. 10.0.0.0/16"
    net = _cidr(value, allowed)
    private = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    if not any(net.subnet_of(p) for p in private):
        raise ValueError(allowed)
    if not 16 <= net.prefixlen <= 20:
        raise ValueError(allowed)
    return net


_CIDR = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/(3[0-2]|[12][0-9]|[0-9])", re.ASCII)


def _cidr(value: str, allowed: str) -> ipaddress.IPv4Network:
    """An IPv4 network in CIDR notation, the one form every CIDR key's consumer (EKS, the ALB's
    security group, the VPC) takes: a prefix length after /, and no host bits set."""
    _plain_text(value, 64, allowed)
    address, slash, _ = value.partition("/")
    if not slash and re.fullmatch(r"[0-9.]+", value, re.ASCII) and _is_ipv4(value):
        raise ValueError(f"{allowed} (a prefix length is required: {value}/32 for this one address)")
    if not _CIDR.fullmatch(value):
        raise ValueError(f"{allowed} (four numbers from 0 to 255, then / and a prefix length from 0 to 32)")
    try:
        net = ipaddress.IPv4Network(value, strict=False)
        if net.network_address != ipaddress.IPv4Address(address):
            raise ValueError(f"{allowed} (host bits set: the network of {value} is {net})")
    except ipaddress.AddressValueError:  # e.g. an octet over 255 or with a leading zero
        raise ValueError(f"{allowed} (four numbers from 0 to 255, without leading zeros)") from None
    return net


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


@kind(CIDR)
def ipv4_cidr(value: str) -> ipaddress.IPv4Network:
    return _cidr(value, "an IPv4 CIDR with no host bits set, e.g. 203.0.113.0/24")


def ec2_instance_type(value: str) -> str:
    if not _EC2_TYPE.fullmatch(value):
        raise ValueError("an EC2 instance type such as m6i.large or t3.xlarge")
    return value


def rds_instance_class(value: str) -> str:
    if not _RDS_CLASS.fullmatch(value):
        raise ValueError("an RDS instance class such as db.t4g.small or db.m6g.large")
    return value


def semver(value: str) -> tuple[int, int, int]:
    m = _SEMVER.fullmatch(value)
    if not m:
        raise ValueError("a semantic version MAJOR.MINOR.PATCH, e.g. 1.19.0")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@kind(DURATION)
def go_duration_seconds(value: str) -> Decimal:
    """A positive Go duration such as 60s, 1m30s or 500ms; returns seconds."""
    allowed = "a positive Go duration such as 30s, 1m30s or 5m"
    _plain_text(value, DURATION_MAX_LENGTH, allowed)
    if not _GO_DURATION.fullmatch(value):
        raise ValueError(allowed)
    total = sum(
        (Decimal(n) * _GO_UNIT_SECONDS[u] for n, _, u in re.findall(r"([0-9]+(\.[0-9]+)?)(ns|us|µs|ms|s|m|h)", value)),
        Decimal(0),
    )
    if total <= 0:
        raise ValueError(allowed)
    return total


_PROMETHEUS_DURATION = re.compile(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?", re.ASCII)


@kind(DURATION)
def prometheus_duration_seconds(value: str) -> int:
    """Seconds of a Prometheus duration made of h/m/s parts (`60s`, `1m`, `1m30s`)."""
    allowed = "a Prometheus duration such as 30s, 60s or 2m"
    _plain_text(value, DURATION_MAX_LENGTH, allowed)
    found = _PROMETHEUS_DURATION.fullmatch(value)
    if not value or not found:
        raise ValueError(allowed)
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return hours * 3600 + minutes * 60 + seconds


@kind(NUMBER)
def quantity(value: str, *, kind: str) -> Decimal:
    """A Kubernetes resource quantity for CPU (cores) or memory (bytes); returns the amount."""
    examples = {"cpu": "250m, 0.5 or 2", "memory": "512Mi, 2Gi or 1G"}[kind]
    ceiling = {"cpu": (MAX_CPU_CORES, "1920"), "memory": (MAX_MEMORY_BYTES, "32Ti")}[kind]
    allowed = f"a positive Kubernetes {kind} quantity such as {examples}, at most {ceiling[1]}"
    _plain_text(value, QUANTITY_MAX_LENGTH, allowed)
    m = _QUANTITY.fullmatch(value)
    if not m:
        raise ValueError(allowed)
    suffix = m.group(3)
    if kind == "cpu" and suffix not in (None, "m"):
        raise ValueError(allowed)
    if kind == "memory" and suffix == "m":
        raise ValueError(allowed + " (the m suffix would mean thousandths of a byte)")
    try:
        amount = Decimal(m.group(1)) * _QUANTITY_FACTOR[suffix]
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        raise ValueError(allowed) from None
    if not 0 < amount <= ceiling[0]:
        raise ValueError(allowed)
    return amount


def iam_principal_arn(value: str) -> str:
    if not _IAM_PRINCIPAL_ARN.fullmatch(value):
        raise ValueError("an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/platform-admins")
    return value


def iam_role_arn(value: str) -> str:
    if not _IAM_PRINCIPAL_ARN.fullmatch(value) or ":role/" not in value:
        raise ValueError("an IAM role ARN, e.g. arn:aws:iam::123456789012:role/airflow-image-push")
    return value


# Prefixes and suffixes S3 reserves (S3 User Guide, "General purpose bucket naming rules"): access
# point, Object Lambda, Multi-Region Access Point, directory and table bucket names end so.
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def s3_bucket_name(value: str) -> str:
    """A general purpose bucket name as S3 accepts it (S3 User Guide, "General purpose bucket
    naming rules")."""
    allowed = "an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end"
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise ValueError(allowed)
    reserved = [p for p in S3_RESERVED_PREFIXES if value.startswith(p)] + [
        s for s in S3_RESERVED_SUFFIXES if value.endswith(s)]
    if reserved:
        raise ValueError(f"{allowed}, without the prefixes {', '.join(S3_RESERVED_PREFIXES)} or the suffixes "
                         f"{', '.join(S3_RESERVED_SUFFIXES)} S3 reserves (this one has {reserved[0]})")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return value
    raise ValueError(allowed + ", not formatted as an IP address")


def aws_region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError("an AWS region code such as us-east-1 or eu-west-2")
    return value


@kind(URL)
def git_repo_kind(value: str) -> str:
    """'https' or 'ssh'; credentials never belong in the URL."""
    allowed = ("an https URL without embedded credentials (https://github.com/org/dags.git) "
               "or an SSH address git@host:org/repo.git")
    _plain_text(value, URL_MAX_LENGTH, allowed, host=True)
    if value.startswith("https://"):
        if "@" in value:
            raise ValueError(f"{allowed} (no user:token@ in it: set gitSyncUsername and gitSyncToken)")
        authority, _, path = value.removeprefix("https://").partition("/")
        problem = _authority_problem(authority)
        if problem:
            raise ValueError(f"{allowed} ({problem})")
        if _REPO_PATH.fullmatch("/" + path) and _percent_encoding_ok(path):
            return "https"
        raise ValueError(allowed)
    m = _SSH_REPO.fullmatch(value)
    if m and "://" not in value:
        problem = _host_problem(m["host"])
        if problem:
            raise ValueError(f"{allowed} ({problem})")
        return "ssh"
    raise ValueError(allowed)


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})?", re.ASCII)


def _percent_encoding_ok(path: str) -> bool:
    """Every % starts an escape, and none encodes a control character (the raw ones are refused)."""
    return all(m[1] and (int(m[1], 16) >= 0x20 and int(m[1], 16) != 0x7F) for m in _PERCENT.finditer(path))


def git_ref(value: str) -> str:
    if not _GIT_REF.fullmatch(value):
        raise ValueError(
            "a git branch, tag or commit name (letters, digits, . _ / + @ -; not starting with - or /; "
            "no spaces, .. or @{)")
    return value


def repo_sub_path(value: str) -> str:
    """A relative directory inside the repository ('' for the root)."""
    if value == "":
        return value
    parts = value.strip("/").split("/")
    if value.startswith("/") or any(p in ("", ".", "..") for p in parts) or not all(
        re.fullmatch(r"[A-Za-z0-9._-]+", p) for p in parts
    ):
        raise ValueError("a relative directory inside the repository such as dags or src/dags, or empty")
    return "/".join(parts)


def _registry_reference(value: str, pattern: re.Pattern, allowed: str) -> str:
    """`value` if `pattern` (with a `port` group) matches it whole and its port is one."""
    m = pattern.fullmatch(value)
    if not m:
        raise ValueError(allowed)
    problem = _port_problem(m["port"])
    if problem:
        raise ValueError(f"{allowed} ({problem})")
    return value


@kind(URL)
def image_repository(value: str) -> str:
    allowed = "an image repository such as apache/airflow or 123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow"
    _plain_text(value, IMAGE_NAME_MAX_LENGTH, allowed, host=True)
    if ":" in value.split("/")[-1] or "@" in value:
        raise ValueError("an image repository without tag or digest (the tag is airflowVersion)")
    return _registry_reference(value, _IMAGE_REPOSITORY, allowed)


@kind(URL)
def registry_path(value: str) -> str:
    """A registry host (with a dot), optional port and path, no scheme, tag or trailing slash."""
    allowed = ("a registry host and optional path, without https:// or a trailing slash, "
               "e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com or harbor.example.com/proxy")
    _plain_text(value, IMAGE_NAME_MAX_LENGTH, allowed, host=True)
    return _registry_reference(value, _REGISTRY_PATH, allowed)


def known_hosts(value: str) -> str:
    """known_hosts text: one `host keytype base64key` entry a line (comments allowed)."""
    allowed = "known_hosts lines 'host key-type base64-key', e.g. the output of ssh-keyscan github.com"
    entries = [ln.strip() for ln in value.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not entries:
        raise ValueError(allowed)
    for line in entries:
        fields = line.split()
        if fields[0].startswith("@"):  # @cert-authority / @revoked markers
            fields = fields[1:]
        if len(fields) < 3 or not _KNOWN_HOSTS_KEY_TYPE.fullmatch(fields[1]) or not _BASE64.fullmatch(fields[2]):
            raise ValueError(allowed)
    return value


def ssh_private_key(value: str) -> None:
    """A PEM or OpenSSH private key block. The message never echoes the key."""
    text = value.strip()
    if not re.match(r"^-----BEGIN ([A-Z0-9 ]+ )?PRIVATE KEY-----\n", text + "\n") or not re.search(
        r"\n-----END ([A-Z0-9 ]+ )?PRIVATE KEY-----$", text
    ):
        raise ValueError("an unencrypted private key in PEM or OpenSSH format (-----BEGIN ... PRIVATE KEY-----)")


# --- UI access (airflow_eks/ui_config.py) -------------------------------------------------
# RFC 1123 labels, lower case (what ACM and Route 53 store), at least two labels, no wildcard:
# the UI is one host name.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$", re.ASCII)
_ACM_ARN = re.compile(r"^arn:aws(-[a-z]+)*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$", re.ASCII)
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$", re.ASCII)
_WAFV2_ARN = re.compile(r"^arn:aws(-[a-z]+)*:wafv2:([a-z0-9-]+):\d{12}:regional/webacl/[\w-]{1,128}/[0-9a-f-]{36}$",
                        re.ASCII)
# OAuth client IDs: Okta 0oa..., Entra GUIDs, Keycloak names, Cognito 26 alphanumerics.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:@/-]{1,255}$", re.ASCII)
_CLAIM = re.compile(r"^[A-Za-z0-9_:./-]{1,128}$", re.ASCII)


def dns_hostname(value: str) -> str:
    if not _HOSTNAME.fullmatch(value):
        raise ValueError("a DNS name in lower case with at least two labels, e.g. airflow.example.com "
                         "(no wildcard, scheme or path)")
    return value


def _arn_in_region(pattern: re.Pattern, value: str, region: str, what: str, example: str) -> str:
    m = pattern.fullmatch(value)
    if not m or m.group(2) != region:
        raise ValueError(f"{what} in the stack's region {region}, e.g. {example}")
    return value


def acm_certificate_arn(value: str, *, region: str) -> str:
    return _arn_in_region(_ACM_ARN, value, region, "an ACM certificate ARN",
                          f"arn:aws:acm:{region}:123456789012:certificate/<uuid>")


def wafv2_regional_acl_arn(value: str, *, region: str) -> str:
    return _arn_in_region(_WAFV2_ARN, value, region, "a regional WAFv2 web ACL ARN",
                          f"arn:aws:wafv2:{region}:123456789012:regional/webacl/<name>/<uuid>")


def route53_zone_id(value: str) -> str:
    if not _ZONE_ID.fullmatch(value):
        raise ValueError("a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ")
    return value


# RFC 3986 path characters, less quotes, backslash and braces: the issuer ends up in a generated
# Python file that Helm runs through `tpl`.
_ISSUER_PATH = re.compile(r"(/[A-Za-z0-9._~!$&()*+,;=:%-]*)*", re.ASCII)


@kind(URL)
def https_issuer_url(value: str) -> str:
    """An OIDC issuer: https, a host (and port), a path; no query, fragment or credentials."""
    allowed = ("an https URL of the OIDC issuer without query, fragment or credentials, e.g. "
               "https://login.example.com/realms/data")
    _plain_text(value, URL_MAX_LENGTH, allowed, host=True)
    if not value.startswith("https://") or any(c in value for c in "?#@"):
        raise ValueError(allowed)
    authority, slash, path = value.removeprefix("https://").partition("/")
    problem = _authority_problem(authority)
    if problem:
        raise ValueError(f"{allowed} ({problem})")
    if not _ISSUER_PATH.fullmatch(slash + path) or not _percent_encoding_ok(path):
        raise ValueError(allowed)
    return value


def oauth_client_id(value: str) -> str:
    if not _CLIENT_ID.fullmatch(value):
        raise ValueError("an OIDC client ID (letters, digits and ._:@/-)")
    return value


# RFC 5322 dot-atom (no quoted local parts); a domain of at least two labels whose last is letters
# or punycode.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL = re.compile(rf"{_ATEXT}(\.{_ATEXT})*", re.ASCII)
_EMAIL_DOMAIN = re.compile(rf"({_HOST_LABEL}\.)+([A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})", re.ASCII)


@kind(EMAIL)
def email_address(value: str) -> str:
    """An address as SMTP carries it (RFC 5321): a dot-atom local part, @, a DNS domain; ASCII only."""
    allowed = "an e-mail address such as oncall@example.com, or empty"
    if value[:7].lower() == "mailto:":
        raise ValueError(f"{allowed} (the address alone, without mailto:)")
    _plain_text(value, EMAIL_MAX_LENGTH, allowed, host=True)
    local, at, domain = value.rpartition("@")
    if not at or not _EMAIL_LOCAL.fullmatch(local) or not _EMAIL_DOMAIN.fullmatch(domain):
        raise ValueError(allowed)
    if len(local) > EMAIL_LOCAL_MAX_LENGTH:
        raise ValueError(f"{allowed} (at most {EMAIL_LOCAL_MAX_LENGTH} characters before the @, RFC 5321)")
    if _host_problem(domain):
        raise ValueError(allowed)
    return value


def claim_name(value: str) -> str:
    if not _CLAIM.fullmatch(value):
        raise ValueError("a claim name such as groups or cognito:groups")
    return value


# Tag keys the AWS Load Balancer Controller sets itself and refuses in --default-tags
# (v3.5.0 pkg/config/controller_config.go, trackingTagKeys): it would not start.
CONTROLLER_TRACKING_TAG_KEYS = frozenset({
    "elbv2.k8s.aws/cluster", "elbv2.k8s.aws/resource", "ingress.k8s.aws/stack", "ingress.k8s.aws/resource",
    "service.k8s.aws/stack", "service.k8s.aws/resource", "gateway.k8s.aws.nlb/resource",
    "gateway.k8s.aws.alb/resource", "gateway.k8s.aws.nlb/stack", "gateway.k8s.aws.alb/stack",
})


def controller_default_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags the AWS Load Balancer Controller's chart can pass on unchanged.

    Its chart 3.5.0 writes them unquoted into one container argument,
    `- --default-tags={{ k=v,k=v,... }}` (keys sorted; templates/deployment.yaml and the
    `convertMapToCsv` helper), which YAML then reads as a plain scalar and the controller parses
    as CSV into key=value pairs (spf13/pflag `stringToString`: encoding/csv, then a split at the
    first "="). So: no "," or '"' (CSV), no ": " or ":" at the end (a YAML mapping instead of
    the argument: the release fails), no " #" (YAML cuts a comment off, silently), no control
    characters, no whitespace at the end (YAML trims it), no "=" in a key, and none of the
    controller's own tracking keys.
    """
    pairs = [(k, tags[k]) for k in sorted(tags)]
    argument = ",".join(f"{k}={v}" for k, v in pairs)
    problem = None
    for key, value in pairs:
        texts = (key, value)
        if key in CONTROLLER_TRACKING_TAG_KEYS:
            problem = f"tag {key!r} is one the controller sets itself"
        elif "=" in key:
            problem = f'tag {key!r} has "=" in its key'
        elif any("," in t or '"' in t for t in texts):
            problem = f'tag {key!r} has "," or \'"\''
        elif any(re.search(r"[\x00-\x1f\x7f]", t) for t in texts):
            problem = f"tag {key!r} has a control character"
        elif any(re.search(r":[ \t]|[ \t]#", t) for t in texts):
            problem = f'tag {key!r} has ": " or " #"'
        if problem:
            break
    else:
        if argument.endswith(":") or argument != argument.rstrip():
            problem = f'tag {pairs[-1][0]!r}, the last, ends in ":" or a space'
    if problem:
        raise ValueError("tags the AWS Load Balancer Controller's chart can pass on unquoted in its "
                         "--default-tags argument (the UI is on): no \",\", '\"', \": \", \" #\" or control "
                         f"characters, no \":\" or space at the end, none of its own tag keys; {problem}")
    return tags
