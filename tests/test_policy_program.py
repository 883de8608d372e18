"""The policy pack over everything the whole program registers, for both stack files.

The mock engine records inputs under the same camelCase names CrossGuard passes as props,
so this is `pulumi preview --policy-pack policy/ --policy-pack-config policy/config.<stack>.json`
without the CLI. The mutation tests prove the stack rules really link the program's
resources (a rule that matched nothing would pass vacuously).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_eks.offline import harness
from policy import rules
from policy.rules import Resource

POLICY = Path(__file__).resolve().parent.parent / "policy"

# What dev's pack config relaxes: the prod-only data-protection and HA rules.
DEV_RELAXED = {"rds-multi-az", "rds-deletion-protection", "rds-final-snapshot", "rds-backup-retention",
               "s3-versioning", "s3-no-force-destroy",
               "eks-control-plane-logging", "metrics-enabled", "airflow-image-by-digest"}


# The rules that judge a support window on a day (their `asOf` option).
DAY_RULES = ("eks-version-supported", "airflow-version-supported", "airflow-version-current")


def pack_config(stack: str) -> dict:
    """The stack's pack config, judging EKS and Airflow support on the day the recorded runs are
    judged on."""
    config = json.loads((POLICY / f"config.{stack}.json").read_text())
    return {**config, **{name: {**config[name], "asOf": harness.REFERENCE_DAY.isoformat()} for name in DAY_RULES}}


def violations(run, stack: str) -> list[rules.Violation]:
    return rules.evaluate(run.resources, pack_config(stack))


# Pulumi.prod.yaml is a template: its placeholders are refused by no-template-placeholders
# (tests/test_placeholders.py checks exactly which, and that prod with its own values passes).
PLACEHOLDERS = "no-template-placeholders"
# On harness.REFERENCE_DAY the default Airflow minor is unpatched but within its grace: the
# advisory airflow-version-current reports it on every stack (the tests below check exactly that).
AIRFLOW_GRACE = "airflow-version-current"


def test_prod_has_zero_violations_mandatory_or_advisory_but_its_airflow_minors_grace(prod_pinned):
    """prod as it runs once the image workflow set airflowImageDigest, but for its placeholders, and
    for the advisory that its Airflow minor is unpatched: on 2026-12-01 the default 3.3.2 is
    superseded by 3.4.0 (2026-11-06), which the package registry here does not serve, so the
    program cannot prove it yet (docs/operations/upgrades.md, Airflow support calendar)."""
    found = [v for v in violations(prod_pinned, "prod") if v.rule != PLACEHOLDERS]
    assert [(v.rule, v.level) for v in found] == [(AIRFLOW_GRACE, rules.ADVISORY)]
    assert "fails it from 2027-02-04" in found[0].message


def test_the_prod_template_fails_only_the_digest_rule_before_its_first_image(programs):
    """Pulumi.prod.yaml carries no digest (none exists before the stack's registry does): the
    bootstrap deploy of docs/image.md; every other rule already holds (the Airflow minor's grace
    is advisory, as above)."""
    found = [v for v in violations(programs["prod"], "prod") if v.rule != PLACEHOLDERS]
    assert {(v.rule, v.level) for v in found} == {("airflow-image-by-digest", rules.MANDATORY),
                                                  (AIRFLOW_GRACE, rules.ADVISORY)}


def test_dev_has_no_mandatory_violations_under_its_pack_config(programs):
    found = violations(programs["dev"], "dev")
    assert [str(v) for v in found if v.level == rules.MANDATORY] == []


def test_dev_relies_on_its_pack_config_for_exactly_the_prod_only_rules(programs):
    found = rules.evaluate(programs["dev"].resources, pack_config("prod"))
    assert {v.rule for v in found if v.level == rules.MANDATORY} == DEV_RELAXED


def test_every_resource_rule_sees_a_resource_of_the_program(programs):
    types = {r.typ for r in programs["prod"].resources}
    unseen = [r.name for r in rules.RULES if not r.stack and not set(r.types) & types]
    assert unseen == []


# --- mutations of the recorded prod stack ------------------------------------------------------
def prod_resources(programs) -> list[Resource]:
    return rules.as_resources(programs["prod"].resources)


def replace(resources: list[Resource], typ: str, name_part: str, change: Callable[[Resource], Resource | None]):
    matched = [r for r in resources if r.type == typ and name_part in r.name]
    assert matched, f"the program has no {typ} named *{name_part}*"
    out = []
    for r in resources:
        if r in matched:
            r = change(r)
        if r is not None:
            out.append(r)
    return out


def set_props(**props: object) -> Callable[[Resource], Resource]:
    return lambda r: dataclasses.replace(r, props={**r.props, **props})


def drop(_r: Resource) -> None:
    return None


def set_metadata(**options: object) -> Callable[[Resource], Resource]:
    return lambda r: dataclasses.replace(r, props={**r.props, "metadataOptions": {**r.props["metadataOptions"],
                                                                                  **options}})


def public_subnets(resources: list[Resource]) -> Callable[[Resource], Resource]:
    urns = [r.urn for r in resources if r.type == rules.SUBNET and "public" in r.name]
    return lambda r: dataclasses.replace(r, property_dependencies={**r.property_dependencies, "subnetIds": urns})


def set_annotation(key: str, value: str) -> Callable[[Resource], Resource]:
    def change(r: Resource) -> Resource:
        metadata = {**r.props["metadata"], "annotations": {**r.props["metadata"]["annotations"], key: value}}
        return dataclasses.replace(r, props={**r.props, "metadata": metadata})
    return change


def set_class_params(**spec: object) -> Callable[[Resource], Resource]:
    def change(r: Resource) -> Resource:
        values = r.props["values"]
        params = {**values["ingressClassParams"], "spec": {**values["ingressClassParams"]["spec"], **spec}}
        return dataclasses.replace(r, props={**r.props, "values": {**values, "ingressClassParams": params}})
    return change


def add_wildcard_action(r: Resource) -> Resource:
    document = json.loads(r.props["policy"])
    document["Statement"].append({"Effect": "Allow", "Action": "elasticloadbalancing:*", "Resource": "*"})
    return dataclasses.replace(r, props={**r.props, "policy": json.dumps(document)})


MUTATIONS = {
    "rds-storage-encrypted": (rules.RDS_INSTANCE, "db", lambda _res: set_props(storageEncrypted=False)),
    "rds-force-ssl": (rules.RDS_PARAMETER_GROUP, "db", lambda _res: drop),
    "s3-public-access-block": (rules.S3_PUBLIC_ACCESS_BLOCK, "logs", lambda _res: drop),
    "s3-encryption": (rules.S3_ENCRYPTION, "data", lambda _res: drop),
    "s3-tls-only": (rules.S3_POLICY, "logs", lambda _res: drop),
    "s3-versioning": (rules.S3_VERSIONING, "data", lambda _res: drop),
    "s3-logs-lifecycle": (rules.S3_LIFECYCLE, "logs", lambda _res: drop),
    "eks-private-nodes": (rules.EKS_NODE_GROUP_COMPONENT, "spot", public_subnets),
    "eks-node-hardening": (rules.LAUNCH_TEMPLATE, "spot", lambda _res: set_metadata(httpTokens="optional")),
    "eks-required-addons": (rules.EKS_ADDON, "pod-identity", lambda _res: drop),
    "aws-required-tags": (rules.AWS_PROVIDER, "aws", lambda _res: set_props(defaultTags=None)),
    "task-pods-limit-range": (rules.LIMIT_RANGE, "", lambda _res: drop),
    "metrics-enabled": (rules.AMP_SCRAPER, "collector", lambda _res: drop),
    "ui-https-only": (rules.INGRESS, "ui", lambda _res: set_annotation(rules.ALB_ANNOTATION_PREFIX + "certificate-arn",
                                                                        "")),
    "ui-internet-facing-guarded": (rules.HELM_RELEASE, "lbc", lambda _res: set_class_params(
        scheme="internet-facing", inboundCIDRs=[])),
    "ui-internet-facing-exposure": (rules.HELM_RELEASE, "lbc", lambda _res: set_class_params(
        scheme="internet-facing", inboundCIDRs=["0.0.0.0/0"])),
    # The controller's role: no `*` action (the pack's least-privilege rule covers every role).
    "iam-least-privilege": ("aws:iam/rolePolicy:RolePolicy", "lbc", lambda _res: add_wildcard_action),
    "iam-pod-identity-trust": (rules.IAM_ROLE, "task", lambda _res: set_props(assumeRolePolicy=json.dumps({
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:*"}]}))),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_breaking_the_program_trips_the_rule(programs, rule):
    typ, name_part, change = MUTATIONS[rule]
    resources = prod_resources(programs)
    assert rule not in {v.rule for v in rules.evaluate(resources, pack_config("prod"))}
    broken = replace(resources, typ, name_part, change(resources))
    if typ == rules.AWS_PROVIDER:  # resources carry their provider's props
        broken = [dataclasses.replace(r, provider={}) if r.provider else r for r in broken]
    assert rule in {v.rule for v in rules.evaluate(broken, pack_config("prod"))}


# The MUTATIONS entry weakens one template; these prove each real group is linked to its own.
@pytest.mark.parametrize("pool", ["system", "spot"])
def test_node_hardening_links_each_real_node_group_to_its_own_template(programs, pool):
    resources = prod_resources(programs)
    [group] = [r for r in resources if r.type == rules.EKS_NODE_GROUP_COMPONENT and r.name.endswith(f"-{pool}")]
    [template] = [r for r in resources if r.type == rules.LAUNCH_TEMPLATE and r.name.endswith(f"-{pool}-nodes")]

    def flagged(broken: list[Resource]) -> set[str]:
        return {v.urn for v in rules.evaluate(broken, pack_config("prod")) if v.rule == "eks-node-hardening"}

    assert flagged(replace(resources, rules.LAUNCH_TEMPLATE, f"-{pool}-nodes", drop)) == {group.urn}
    hops = replace(resources, rules.LAUNCH_TEMPLATE, f"-{pool}-nodes", set_metadata(httpPutResponseHopLimit=2.0))
    assert flagged(hops) == {template.urn}
    unencrypted = [{**m, "ebs": {**m["ebs"], "encrypted": "false"}} for m in template.props["blockDeviceMappings"]]
    assert flagged(replace(resources, rules.LAUNCH_TEMPLATE, f"-{pool}-nodes",
                           set_props(blockDeviceMappings=unencrypted))) == {template.urn}


@pytest.mark.parametrize("stack, level", [("prod", rules.MANDATORY), ("dev", rules.ADVISORY)])
def test_a_minor_past_standard_support_blocks_prod_and_warns_dev(programs, stack, level):
    end_of_standard = rules.EKS_SUPPORT_ENDS[programs[stack].one(rules.EKS_COMPONENT).get("version")][0]
    config = pack_config(stack)
    for day, expected in ((harness.REFERENCE_DAY.isoformat(), []), (end_of_standard, [level])):
        config["eks-version-supported"]["asOf"] = day
        found = [v.level for v in rules.evaluate(programs[stack].resources, config)
                 if v.rule == "eks-version-supported"]
        assert found == expected, day


@pytest.mark.parametrize("stack, level", [("prod", rules.MANDATORY), ("dev", rules.ADVISORY)])
def test_the_default_airflow_release_blocks_prod_and_warns_dev_only_once_its_grace_is_over(programs, stack, level):
    # 3.3 unpatched from 3.4.0 (2026-11-06, Airflow's release notes); 90 days of grace.
    config = pack_config(stack)
    for day, expected in (("2026-11-05", []), (harness.REFERENCE_DAY.isoformat(), [rules.ADVISORY]),
                          ("2027-02-03", [rules.ADVISORY]), ("2027-02-04", [level])):
        for name in ("airflow-version-supported", "airflow-version-current"):
            config[name]["asOf"] = day
        found = [v.level for v in rules.evaluate(programs[stack].resources, config)
                 if v.rule.startswith("airflow-version")]
        assert found == expected, day


@pytest.mark.parametrize(("typ", "name_part"), [(rules.AMP_RULE_GROUPS, "rules"),
                                                (rules.AMP_ALERT_MANAGER, "alertmanager")])
def test_prod_without_alert_rules_or_delivery_trips_metrics_enabled(programs, typ, name_part):
    broken = replace(prod_resources(programs), typ, name_part, drop)
    assert "metrics-enabled" in {v.rule for v in rules.evaluate(broken, pack_config("prod"))}
