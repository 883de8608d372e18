"""Template placeholders: the policy pack refuses them in prod, and `make plan` lists them.

The reserved values come from their RFCs (5737 and 3849: documentation address ranges; 2606:
example domains) and AWS's documentation (account 123456789012), not from the rule's tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import pytest

from airflow_eks.offline import harness, loader
from policy import rules
from policy.rules import placeholders as ph
from tests.conftest import IMAGE_DIGEST
from tests.test_policy_program import AIRFLOW_GRACE, pack_config
from tools.plan import __main__ as cli
from tools.plan import build, diff, render

RULE = "no-template-placeholders"
PROD_FILE = (loader.ROOT / "Pulumi.prod.yaml").read_text()
# The values "Before the first prod deploy" (docs/deploying.md) asks to make yours, as the
# committed template has them.
PROD_PLACEHOLDERS = {
    ("clusterPublicAccessCidrs", "203.0.113.0/24"),
    ("uiHostname", "airflow.example.com"),
    ("uiHostedZoneId", "Z0123456789EXAMPLE0"),
    ("ssoIssuerUrl", "https://login.example.com/realms/data"),
}
# Made-up values that are nobody's placeholder, and an example-domain e-mail address.
OWN = {
    "clusterPublicAccessCidrs": ["198.18.40.0/24"],
    "uiHostname": "airflow.data.acme.io",
    "uiHostedZoneId": "Z08123452ABCDEFGHIJK",
    "ssoIssuerUrl": "https://login.acme.io/realms/data",
    "alertEmail": "oncall@example.org",
}


# -- what counts as a placeholder ----------------------------------------------------------------
@pytest.mark.parametrize("cidr, reserved", [
    ("192.0.2.0/24", True), ("198.51.100.0/24", True), ("203.0.113.0/24", True),  # RFC 5737 TEST-NET-1..3
    ("203.0.113.77/32", True), ("198.51.100.128/25", True), ("2001:db8::/32", True), ("2001:db8:1::/48", True),
    ("203.0.112.0/23", False),  # holds TEST-NET-3 but is not inside it
    ("198.18.0.0/15", False), ("10.0.0.0/8", False), ("0.0.0.0/0", False), ("2001:db9::/32", False),
    ("not-a-cidr", False), ("", False),
])
def test_documentation_networks_are_rfc_5737_and_3849(cidr, reserved):
    assert ph.documentation_network(cidr) is reserved


@pytest.mark.parametrize("host, reserved", [
    ("example.com", True), ("airflow.example.com", True), ("login.EXAMPLE.org.", True), ("a.b.example.net", True),
    ("intranet.example", True), ("airflow.test", True), ("idp.invalid", True),
    ("example.com.au", False), ("notexample.com", False), ("examples.com", False), ("airflow.acme.io", False),
    ("example", True),
])
def test_example_domains_are_rfc_2606(host, reserved):
    assert ph.example_domain(host) is reserved


@pytest.mark.parametrize("repository, registry", [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
    ("111122223333.dkr.ecr.eu-west-1.amazonaws.com", "111122223333.dkr.ecr.eu-west-1.amazonaws.com"),
    ("harbor.example.com/proxy/quay.io/x", "harbor.example.com"),
    ("210987654321.dkr.ecr.us-east-1.amazonaws.com/airflow", None),
    ("apache/airflow", None), ("quay.io/prometheus/statsd-exporter", None), ("registry.acme.io:5000/x", None),
])
def test_placeholder_registries(repository, registry):
    found = ph.placeholder_registry(repository)
    assert (found[0] if found else None) == registry


def test_only_configured_values_are_read_never_computed_ones():
    """CrossGuard raises on an unknown value read at preview; the rule reads only the values the
    stack's configuration sets (here the rest of the values would explode)."""

    class Unknown(Mapping):
        def __init__(self, data: dict, unknown: set[str]) -> None:
            self.data, self.unknown = data, unknown

        def __getitem__(self, key: str):
            if key in self.unknown:
                raise AssertionError(f"read {key}")
            return self.data[key]

        def __iter__(self) -> Iterator[str]:
            return iter(self.data)

        def __len__(self) -> int:
            return len(self.data)

    values = Unknown({"defaultAirflowRepository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow",
                      "images": {"statsd": {"repository": "quay.io/prometheus/statsd-exporter"}},
                      "config": "unknown", "data": "unknown", "workers": "unknown"},
                     {"config", "data", "workers"})
    found = ph.placeholders(rules.HELM_RELEASE, {"chart": "airflow", "values": values})
    assert [(p.key, p.value) for p in found] == [
        ("airflowImageRepository", "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow")]


def test_each_kind_of_value_is_read_where_the_program_puts_it():
    cases = [
        (rules.EKS_CLUSTER, {"vpcConfig": [{"publicAccessCidrs": ["192.0.2.0/24"]}]}, "clusterPublicAccessCidrs"),
        (rules.INGRESS, {"spec": {"rules": [{"host": "airflow.example.com"}]}}, "uiHostname"),
        (ph.ACM_CERTIFICATE, {"domainName": "airflow.example.net"}, "uiHostname"),
        (ph.ROUTE53_RECORD, {"zoneId": "Z0123456789EXAMPLE0", "name": "airflow.acme.io"}, "uiHostedZoneId"),
        (ph.SNS_SUBSCRIPTION, {"protocol": "email", "endpoint": "oncall@example.com"}, "alertEmail"),
        (rules.HELM_RELEASE, {"chart": "cluster-autoscaler",
                              "values": {"image": {"repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x"}}},
         "imageMirror"),
    ]
    for typ, props, key in cases:
        assert [p.key for p in ph.placeholders(typ, props)] == [key], typ
    assert ph.placeholders(ph.SNS_SUBSCRIPTION, {"protocol": "https", "endpoint": "https://hooks.example.com"}) == []


# -- the whole program and the pack --------------------------------------------------------------
def found(run: harness.Run, stack: str) -> list[rules.Violation]:
    """The violations but the default Airflow minor's grace (tests/test_policy_program.py)."""
    return [v for v in rules.evaluate(run.resources, pack_config(stack)) if v.rule != AIRFLOW_GRACE]


def test_the_prod_template_is_refused_at_preview_for_exactly_its_placeholders(programs, prod_pinned):
    """prod_pinned: prod once the image workflow set its digest, so no other rule fires."""
    violations = found(prod_pinned, "prod")
    assert {v.rule for v in violations} == {RULE}
    assert [v for v in found(programs["prod"], "prod") if v.rule == RULE] == violations
    assert {v.level for v in violations} == {rules.MANDATORY}
    named = {(p.key, p.value) for p, _urn in ph.stack_placeholders(rules.as_resources(programs["prod"].resources))}
    # prod runs its own registry (imageRegistry): its ECR host, 123456789012 under the mock
    # engine, is the deploying account's and no placeholder.
    assert named == PROD_PLACEHOLDERS
    for key, value in PROD_PLACEHOLDERS:
        assert value in PROD_FILE, (key, value)
        assert any(f"{key} = {value} " in v.message for v in violations), key


def test_a_registry_configured_in_the_documentation_account_is_one():
    run = harness.run_program("dev", overrides={"imageMirror": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                                                "airflowImageRepository": "111122223333.dkr.ecr.eu-west-1."
                                                                          "amazonaws.com/airflow"})
    assert {(w["key"], w["value"]) for w in build.warnings(run)} == {
        ("imageMirror", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        ("airflowImageRepository", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/airflow")}


def test_a_value_unknown_during_preview_leaves_the_other_resources_judged():
    class UnknownValueError(Exception):  # what CrossGuard's proxies raise (pulumi_policy.proxy)
        pass

    class Unknown(Mapping):
        def __getitem__(self, key):
            raise UnknownValueError(key)

        def __iter__(self):
            return iter(["spec"])

        def __len__(self):
            return 1

    unknown = rules.Resource(rules.INGRESS, "ui", Unknown(), urn="urn:ingress")
    known = rules.Resource(ph.ROUTE53_RECORD, "dns", {"zoneId": "Z0123456789EXAMPLE0"}, urn="urn:record")
    assert [(p.key, urn) for p, urn in ph.stack_placeholders([unknown, known])] == [("uiHostedZoneId", "urn:record")]

    class Broken(Unknown):
        def __getitem__(self, key):
            raise RuntimeError(key)

    with pytest.raises(RuntimeError):
        ph.stack_placeholders([rules.Resource(rules.INGRESS, "ui", Broken(), urn="urn:ingress")])


def test_dev_has_no_placeholders_and_the_rule_is_advisory_there(programs):
    assert [v for v in found(programs["dev"], "dev") if v.rule == RULE] == []
    assert json.loads((loader.ROOT / "policy" / "config.dev.json").read_text())[RULE] == {"enforcementLevel":
                                                                                          rules.ADVISORY}


@pytest.fixture(scope="module")
def own_prod() -> harness.Run:
    """prod with every placeholder replaced (and its image digest set, as after the image
    workflow's first run), and an alert address at an example domain."""
    return harness.run_program("prod", overrides={**OWN, "airflowImageDigest": IMAGE_DIGEST})


def test_prod_with_its_own_values_passes_but_an_example_alert_address(own_prod):
    violations = found(own_prod, "prod")
    assert [(v.rule, v.level) for v in violations] == [(RULE, rules.MANDATORY)]
    assert violations[0].message.startswith("alertEmail = oncall@example.org is a template placeholder")
    assert [w["key"] for w in build.warnings(own_prod)] == ["alertEmail"]


# -- the plan ---------------------------------------------------------------------------------------
def golden(stack: str) -> dict:
    return json.loads(cli.golden_path(stack).read_text())


def test_the_prod_plan_lists_every_placeholder_under_warnings_and_says_it_is_not_ready():
    plan = golden("prod")
    assert {(w["key"], w["value"]) for w in plan["warnings"]} == PROD_PLACEHOLDERS
    text = render.render_plan(plan)
    assert "NOT READY TO DEPLOY: 4 configured values are still the template's placeholders" in text.replace("\n", " ")
    for key, value in PROD_PLACEHOLDERS:
        assert f"  - {key} = {value}: " in text
    assert golden("dev")["warnings"] == []
    assert "NOT READY" not in render.render_plan(golden("dev"))


def test_the_plan_diff_says_which_placeholders_were_replaced():
    base = golden("prod")
    head = {**base, "warnings": [w for w in base["warnings"] if w["key"] != "uiHostname"]}
    result = diff.diff(base, head)
    assert result["changed"] and result["warnings"] == {"added": [], "removed": ["uiHostname = airflow.example.com"]}
    assert "- replaced: `uiHostname = airflow.example.com`" in render.render_diff(result)
    older = {k: v for k, v in base.items() if k != "warnings"}  # a plan saved before warnings existed
    assert diff.diff(older, older)["changed"] is False

