"""Pure format checks for configuration values.

Each function returns normally for a valid value (some return a parsed form) and raises
ValueError whose message says what is allowed; config.py turns that into a RunError that
also names the key and the bad value. No Pulumi, no AWS calls: everything here is
checkable offline.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

_INSTANCE_SIZE = r"(nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal(-[0-9]+xl)?)"
_INSTANCE_FAMILY = r"[a-z][a-z0-9-]*[0-9][a-z0-9-]*"
_EC2_TYPE = re.compile(rf"^{_INSTANCE_FAMILY}\.{_INSTANCE_SIZE}$", re.ASCII)
_RDS_CLASS = re.compile(rf"^db\.{_INSTANCE_FAMILY}\.{_INSTANCE_SIZE}$", re.ASCII)
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", re.ASCII
)
_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$", re.ASCII)
_GO_UNIT_SECONDS = {
    "ns": Decimal("1e-9"), "us": Decimal("1e-6"), "µs": Decimal("1e-6"),
    "ms": Decimal("1e-3"), "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600),
}
_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$", re.ASCII)
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
_HTTPS_REPO = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~%+-]+)+/?$", re.ASCII)
_SSH_REPO = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$", re.ASCII)
_GIT_REF = re.compile(r"^(?![/-])(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/+@-]+(?<!/)(?<!\.lock)$", re.ASCII)
_IMAGE_REPOSITORY = re.compile(
    r"^([a-z0-9]+([.-][a-z0-9]+)*(:\d+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", re.ASCII
)
_REGISTRY_PATH = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*\.[a-z]{2,}(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$", re.ASCII)
_KNOWN_HOSTS_KEY_TYPE = re.compile(r"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)$", re.ASCII)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$", re.ASCII)


def private_vpc_cidr(value: str) -> ipaddress.IPv4Network:
    """A private IPv4 network from /16 to /20 (big enough for 6 AZs of subnets)."""
    allowed = "a private (RFC 1918) IPv4 network from /16 to /20, e.g. 10.0.0.0/16"
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{allowed} ({exc})") from None
    private = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    if not isinstance(net, ipaddress.IPv4Network) or not any(net.subnet_of(p) for p in private):
        raise ValueError(allowed)
    if not 16 <= net.prefixlen <= 20:
        raise ValueError(allowed)
    return net


def ipv4_cidr(value: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        net = None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError("an IPv4 CIDR with no host bits set, e.g. 203.0.113.0/24")
    return net


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


def go_duration_seconds(value: str) -> Decimal:
    """A positive Go duration such as 60s, 1m30s or 500ms; returns seconds."""
    allowed = "a positive Go duration such as 30s, 1m30s or 5m"
    if not _GO_DURATION.fullmatch(value):
        raise ValueError(allowed)
    total = sum(
        (Decimal(n) * _GO_UNIT_SECONDS[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)", value)),
        Decimal(0),
    )
    if total <= 0:
        raise ValueError(allowed)
    return total


def quantity(value: str, *, kind: str) -> Decimal:
    """A Kubernetes resource quantity for CPU (cores) or memory (bytes); returns the amount."""
    examples = {"cpu": "250m, 0.5 or 2", "memory": "512Mi, 2Gi or 1G"}[kind]
    allowed = f"a positive Kubernetes {kind} quantity such as {examples}"
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
    if amount <= 0:
        raise ValueError(allowed)
    return amount


def iam_principal_arn(value: str) -> str:
    if not _IAM_PRINCIPAL_ARN.fullmatch(value):
        raise ValueError("an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/platform-admins")
    return value


def s3_bucket_name(value: str) -> str:
    allowed = "an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens"
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise ValueError(allowed)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return value
    raise ValueError(allowed + ", not formatted as an IP address")


def aws_region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError("an AWS region code such as us-east-1 or eu-west-2")
    return value


def git_repo_kind(value: str) -> str:
    """'https' or 'ssh'; credentials never belong in the URL."""
    if _HTTPS_REPO.fullmatch(value):
        return "https"
    if _SSH_REPO.fullmatch(value) and "://" not in value:
        return "ssh"
    raise ValueError(
        "an https URL without embedded credentials (https://github.com/org/dags.git) "
        "or an SSH address git@host:org/repo.git"
    )


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


def image_repository(value: str) -> str:
    if ":" in value.split("/")[-1] or "@" in value:
        raise ValueError("an image repository without tag or digest (the tag is airflowVersion)")
    if not _IMAGE_REPOSITORY.fullmatch(value):
        raise ValueError(
            "an image repository such as apache/airflow or 123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow"
        )
    return value


def registry_path(value: str) -> str:
    """A registry host (with a dot), optional port and path, no scheme, tag or trailing slash."""
    if not _REGISTRY_PATH.fullmatch(value):
        raise ValueError("a registry host and optional path, without https:// or a trailing slash, "
                         "e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com or harbor.example.com/proxy")
    return value


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


def https_issuer_url(value: str) -> str:
    """An OIDC issuer: https, a host, no query, fragment, credentials, quotes or braces (the URL
    ends up in a generated Python file that Helm runs through `tpl`)."""
    parts = urlsplit(value)
    if (parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc
            or any(c in value for c in " {}\"'\\")):
        raise ValueError("an https URL of the OIDC issuer without query, fragment or credentials, e.g. "
                         "https://login.example.com/realms/data")
    return value


def oauth_client_id(value: str) -> str:
    if not _CLIENT_ID.fullmatch(value):
        raise ValueError("an OIDC client ID (letters, digits and ._:@/-)")
    return value


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+", re.ASCII)


def email_address(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("an e-mail address such as oncall@example.com, or empty")
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
