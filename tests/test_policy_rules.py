"""Every policy rule on synthetic props: one passing and one failing case each, plus edge cases.

Props are camelCase as CrossGuard and the mock engine see them. Adding a rule without cases
here fails test_every_rule_has_a_passing_and_a_failing_case.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import jsonschema
import pytest

from airflow_eks import (
    iam,
    images,
    kubernetes_support,
    load_balancer_controller,
    names,
    pod_security,
    ui_ingress,
    versions,
)
from airflow_eks.support import airflow_calendar
from policy import rules
from policy.rules import Resource

POLICY = Path(__file__).resolve().parent.parent / "policy"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/k"
TAGS = {"project": "airflow-eks", "stack": "prod", "managed-by": "pulumi"}
PROVIDER = {"defaultTags": json.dumps({"tags": TAGS})}  # provider props arrive JSON-encoded


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def res(typ: str, name: str, props: dict, deps: dict | None = None, provider: dict | None = None) -> Resource:
    return Resource(type=typ, name=name, props=props, urn=f"urn:{typ}::{name}",
                    property_dependencies=deps or {}, provider=provider)


GOOD_RDS = {"storageEncrypted": True, "publiclyAccessible": False, "backupRetentionPeriod": 14.0,
            "multiAz": True, "deletionProtection": True, "parameterGroupName": "pg-1",
            "skipFinalSnapshot": False, "deleteAutomatedBackups": False}
GOOD_EKS = {"encryptionConfigKeyArn": KEY_ARN, "enabledClusterLogTypes": ["api", "audit", "authenticator"],
            "endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"], "authenticationMode": "API"}
POD_TRUST = {"Effect": "Allow", "Principal": {"Service": iam.POD_IDENTITY_SERVICE},
             "Action": ["sts:AssumeRole", "sts:TagSession"]}
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
AIRFLOW_VALUES = {
    "defaultAirflowRepository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow",
    "data": {"metadataSecretName": "airflow-metadata"},
    "fernetKeySecretName": "airflow-fernet-key",
    "createUserJob": {"defaultUser": {"username": "admin", "password": "$(AIRFLOW_ADMIN_PASSWORD)"}},
    "workers": {"resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                              "limits": {"cpu": "1", "memory": "1Gi"}}},
    "config": {"logging": {"remote_logging": "True", "remote_base_log_folder": "s3://logs-bucket/logs"}},
    # The calendar's newest release: current on the day of the run while the calendar is
    # (tests/test_airflow_calendar.py fails on the real date once it may not be). The two rules that
    # judge it are checked on a fixed day (CASE_SETTINGS).
    "airflowVersion": list(airflow_calendar.RELEASES)[-1],
    # StatsD is on by default; its image comes through the mirror.
    "images": {"statsd": {"repository": f"{ECR}/quay.io/prometheus/statsd-exporter"}},
}


# Pinned by digest as chart 1.19.0 renders it everywhere: the components' digest, and the pod
# template's and the executor's repository:tag spelling <repository>@sha256:<hex>.
IMAGE_HEX = "4f" * 32
PINNED_REPOSITORY = f"{ECR}/prod/airflow"
PINNED_VALUES = {
    **AIRFLOW_VALUES, "defaultAirflowRepository": PINNED_REPOSITORY, "defaultAirflowDigest": f"sha256:{IMAGE_HEX}",
    "images": {**AIRFLOW_VALUES["images"], "airflow": {"digest": f"sha256:{IMAGE_HEX}"},
               "pod_template": {"repository": f"{PINNED_REPOSITORY}@sha256", "tag": IMAGE_HEX}},
    "config": {**AIRFLOW_VALUES["config"], "kubernetes_executor": {
        "worker_container_repository": f"{PINNED_REPOSITORY}@sha256", "worker_container_tag": IMAGE_HEX}},
}


def airflow_release(values: dict, **extra: object) -> dict:
    return {"chart": "airflow", "version": "1.19.0", "repositoryOpts": {"repo": "https://airflow.apache.org"},
            "namespace": "airflow", "values": values, **extra}


def with_values(**changes: object) -> dict:
    return airflow_release({**AIRFLOW_VALUES, **changes})


HARDENED = {
    "securityContexts": {"pod": pod_security.pod_context(50000, 0), "containers": pod_security.container_context()},
    "pgbouncer": {"enabled": True, "securityContexts": {"pod": pod_security.pod_context(65534),
                                                        "container": pod_security.container_context()},
                  "metricsExporterSidecar": {"securityContexts": {"container": pod_security.container_context()}}},
    "statsd": {"securityContexts": {"pod": pod_security.pod_context(65534),
                                    "container": pod_security.container_context()}},
    "dags": {"gitSync": {"enabled": True, "securityContexts": {"container": pod_security.container_context(65533)}}},
}
HARDENED_AUTOSCALER = {"chart": "cluster-autoscaler", "version": "9.59.0", "values": {
    "securityContext": pod_security.pod_context(65532),
    "containerSecurityContext": pod_security.container_context()}}


# rule -> (resource type, passing props, failing props)
RESOURCE_CASES: dict[str, tuple[str, dict, dict]] = {
    "helm-pod-hardening": (rules.HELM_RELEASE, with_values(**HARDENED),
                           with_values(**{**HARDENED, "securityContexts": {}})),
    "rds-storage-encrypted": (rules.RDS_INSTANCE, GOOD_RDS, {**GOOD_RDS, "storageEncrypted": False}),
    "rds-not-public": (rules.RDS_INSTANCE, GOOD_RDS, {**GOOD_RDS, "publiclyAccessible": True}),
    "rds-backup-retention": (rules.RDS_INSTANCE, GOOD_RDS, {**GOOD_RDS, "backupRetentionPeriod": 1.0}),
    "rds-multi-az": (rules.RDS_INSTANCE, GOOD_RDS, {**GOOD_RDS, "multiAz": False}),
    "rds-deletion-protection": (rules.RDS_INSTANCE, GOOD_RDS, {k: v for k, v in GOOD_RDS.items()
                                                               if k != "deletionProtection"}),
    "rds-final-snapshot": (rules.RDS_INSTANCE, GOOD_RDS, {k: v for k, v in GOOD_RDS.items()
                                                          if k != "deleteAutomatedBackups"}),
    "s3-no-force-destroy": ("aws:s3/bucket:Bucket", {"bucketPrefix": "b-", "forceDestroy": False},
                            {"bucketPrefix": "b-", "forceDestroy": True}),
    "eks-secrets-encryption": (rules.EKS_COMPONENT, GOOD_EKS, {**GOOD_EKS, "encryptionConfigKeyArn": None}),
    "eks-control-plane-logging": (rules.EKS_COMPONENT, GOOD_EKS, {**GOOD_EKS, "enabledClusterLogTypes": ["api"]}),
    "eks-public-endpoint-cidrs": (rules.EKS_COMPONENT, GOOD_EKS, {**GOOD_EKS, "publicAccessCidrs": ["0.0.0.0/0"]}),
    "eks-authentication-mode": (rules.EKS_COMPONENT, GOOD_EKS, {**GOOD_EKS, "authenticationMode": "CONFIG_MAP"}),
    # Judged on the day of the run: the pack's newest minor, and one in extended support since 2026-03-23.
    "eks-version-supported": (rules.EKS_CLUSTER, {"version": list(rules.EKS_SUPPORT_ENDS)[-1]}, {"version": "1.32"}),
    "no-open-ingress": (rules.SECURITY_GROUP,
                        {"ingress": [{"protocol": "tcp", "fromPort": 5432.0, "toPort": 5432.0,
                                      "cidrBlocks": ["10.0.0.0/16"]}]},
                        {"ingress": [{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0,
                                      "cidrBlocks": ["0.0.0.0/0"]}]}),
    "iam-least-privilege": ("aws:iam/rolePolicy:RolePolicy",
                            {"policy": doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                            "Resource": ["arn:aws:s3:::b/*"]})},
                            {"policy": doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})}),
    "iam-pod-identity-trust": (rules.IAM_ROLE, {"assumeRolePolicy": doc(POD_TRUST)},
                               {"assumeRolePolicy": doc({**POD_TRUST, "Action": ["sts:AssumeRole"]})}),
    "kms-key-rotation": (rules.KMS_KEY, {"enableKeyRotation": True}, {"enableKeyRotation": False}),
    "helm-release-pinned": (rules.HELM_RELEASE, airflow_release(AIRFLOW_VALUES),
                            airflow_release(AIRFLOW_VALUES, version="1.x")),
    "airflow-remote-logging-s3": (rules.HELM_RELEASE, airflow_release(AIRFLOW_VALUES),
                                  with_values(config={"logging": {"remote_logging": "False"}})),
    "airflow-task-resources": (rules.HELM_RELEASE, airflow_release(AIRFLOW_VALUES),
                               with_values(workers={"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}})),
    "airflow-image-registry": (rules.HELM_RELEASE, airflow_release(AIRFLOW_VALUES),
                               with_values(defaultAirflowRepository="apache/airflow")),
    "airflow-image-by-digest": (rules.HELM_RELEASE, airflow_release(PINNED_VALUES), with_values()),
    "airflow-ui-rbac": (rules.HELM_RELEASE, airflow_release(AIRFLOW_VALUES),
                        with_values(config={"core": {
                            "auth_manager": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
                                            "SimpleAuthManager"}})),
    "airflow-no-default-admin-password": (rules.HELM_RELEASE, airflow_release(AIRFLOW_VALUES),
                                          with_values(createUserJob={"enabled": True})),
    "airflow-secrets-by-reference": (rules.HELM_RELEASE, airflow_release(AIRFLOW_VALUES),
                                     with_values(fernetKey="c2VjcmV0")),
    # On 2026-12-01 (CASE_SETTINGS): 3.3 is unpatched since 3.4.0 (2026-11-06) but 3.3.2 within its
    # 90-day grace; 3.1 gets no patches since 3.2.0 (2026-04-07), its grace over since 2026-07-06.
    "airflow-version-supported": (rules.HELM_RELEASE, with_values(airflowVersion="3.3.2"),
                                  with_values(airflowVersion="3.1.8")),
    "airflow-version-current": (rules.HELM_RELEASE, with_values(airflowVersion="3.4.0"),
                                with_values(airflowVersion="3.3.2")),
}
# Pack settings of the cases above whose rule judges a day.
CASE_SETTINGS = {name: {"asOf": "2026-12-01"} for name in ("airflow-version-supported", "airflow-version-current")}


def bucket_stack(*, pab: dict | None = None, sse: str = "aws:kms", tls: bool = True, versioned: bool = True,
                 lifecycle_days: float | None = 30.0, name: str = "airflow-logs") -> list[Resource]:
    """A bucket and its settings, linked the way the engine links them (dependency on `bucket`)."""
    bucket = res("aws:s3/bucket:Bucket", name, {"bucketPrefix": f"{name}-"})
    on_bucket = {"bucket": [bucket.urn]}
    flags = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
             "restrictPublicBuckets": True}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false" if tls else "true"}}}
    rules_ = [{"id": "abort", "status": "Enabled", "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7.0}}]
    if lifecycle_days:
        rules_.append({"id": "expire", "status": "Enabled", "expiration": {"days": lifecycle_days}})
    return [
        bucket,
        res(rules.S3_PUBLIC_ACCESS_BLOCK, f"{name}-pab", {"bucket": "b", **flags, **(pab or {})}, on_bucket),
        res(rules.S3_ENCRYPTION, f"{name}-sse", {"bucket": "b", "rules": [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": sse}, "bucketKeyEnabled": True}]}, on_bucket),
        res(rules.S3_POLICY, f"{name}-policy", {"bucket": "b", "policy": doc(deny)}, on_bucket),
        res(rules.S3_VERSIONING, f"{name}-versioning", {
            "bucket": "b", "versioningConfiguration": {"status": "Enabled" if versioned else "Suspended"}}, on_bucket),
        res(rules.S3_LIFECYCLE, f"{name}-lifecycle", {"bucket": "b", "rules": rules_}, on_bucket),
    ]


def rds_stack(force_ssl: str = "1") -> list[Resource]:
    group = res(rules.RDS_PARAMETER_GROUP, "db-params",
                {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": force_ssl}]})
    return [group, res(rules.RDS_INSTANCE, "db", dict(GOOD_RDS), {"parameterGroupName": [group.urn]})]


def node_stack(public: bool) -> list[Resource]:
    private = res(rules.SUBNET, "private-0", {"mapPublicIpOnLaunch": False,
                                            "tags": {"kubernetes.io/role/internal-elb": "1"}})
    public_ = res(rules.SUBNET, "public-0", {"mapPublicIpOnLaunch": True, "tags": {"kubernetes.io/role/elb": "1"}})
    chosen = public_ if public else private
    group = res(rules.EKS_NODE_GROUP_COMPONENT, "system", {"subnetIds": ["subnet-x"]}, {"subnetIds": [chosen.urn]})
    return [private, public_, group]


# The program's launch template as pulumi-aws 7 records it: `encrypted` is a string there.
GOOD_TEMPLATE = {
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 20.0, "volumeType": "gp3",
                                                                "encrypted": "true", "deleteOnTermination": "true"}}],
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1.0},
}


def hardened_stack(link: str = "dependency", *, typ: str = rules.EKS_NODE_GROUP_COMPONENT,
                   **template: object) -> list[Resource]:
    """A node group and its launch template (GOOD_TEMPLATE with `template` on top).

    link: how the group names the template: "dependency" (the engine's record, as under the
    mock engine), "id" or "name" (values only, as a stack policy sees outputs), or "none".
    """
    lt = res(rules.LAUNCH_TEMPLATE, "system-nodes", {**GOOD_TEMPLATE, "id": "lt-0123", "name": "system-nodes-1",
                                                   **template})
    ref = {"dependency": {"id": "lt-unknown", "version": "1"}, "id": {"id": "lt-0123", "version": "1"},
           "name": {"name": "system-nodes-1", "version": "$Latest"}, "none": None}[link]
    deps = {"launchTemplate": [lt.urn]} if link == "dependency" else {}
    group = res(typ, "system", {"subnetIds": ["subnet-x"], "launchTemplate": ref}, deps)
    return [lt, group]


def addon_stack(*addons: str) -> list[Resource]:
    return [res(rules.EKS_COMPONENT, "eks", dict(GOOD_EKS)),
            *(res(rules.EKS_ADDON, a, {"addonName": a}) for a in addons)]


def tag_stack(tags: dict) -> list[Resource]:
    return [res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"},
                provider={"defaultTags": json.dumps({"tags": tags})})]


def limit_stack(default: dict | None) -> list[Resource]:
    items = [{"type": "Container", "default": default, "defaultRequest": {"cpu": "250m", "memory": "512Mi"}}]
    return [res(rules.HELM_RELEASE, "airflow", airflow_release(AIRFLOW_VALUES)),
            res(rules.LIMIT_RANGE, "defaults", {"metadata": {"namespace": "airflow"}, "spec": {"limits": items}})]


def cni_stack(enforce: object, *, addon: bool) -> list[Resource]:
    """A cluster as offline (the component's own inputs) or at a real preview (the add-on)."""
    if addon:
        return [res(rules.EKS_COMPONENT, "eks", {}),
                res(rules.EKS_ADDON, "vpc-cni", {"addonName": "vpc-cni", "configurationValues": json.dumps(
                    {"enableNetworkPolicy": enforce, "env": {"WARM_ENI_TARGET": "1"}})})]
    return [res(rules.EKS_COMPONENT, "eks", {**GOOD_EKS, "vpcCniOptions": {"enableNetworkPolicy": enforce}})]


DEFAULT_DENY = {"metadata": {"namespace": "airflow"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def deny_stack(spec: dict, namespace: str = "airflow") -> list[Resource]:
    return [res(rules.HELM_RELEASE, "airflow", airflow_release(AIRFLOW_VALUES)),
            res(rules.NETWORK_POLICY, "deny", {"metadata": {"namespace": namespace}, "spec": spec})]


def admission_stack(labels: dict | None, namespace: str = "airflow") -> list[Resource]:
    return [res(rules.HELM_RELEASE, "airflow", airflow_release(AIRFLOW_VALUES)),
            res(rules.NAMESPACE, "ns", {"metadata": {"name": namespace, **({"labels": labels} if labels else {})}})]


ENFORCE = "pod-security.kubernetes.io/enforce"


def peers_stack(*cidrs: str, in_values: bool = False) -> list[Resource]:
    """Nodes in 10.0.0.0/19 (private-0); a NetworkPolicy, or the Airflow chart's values, admitting `cidrs`."""
    private = res(rules.SUBNET, "private-0", {"cidrBlock": "10.0.0.0/19"})
    balancer = res(rules.SUBNET, "load-balancer-0", {"cidrBlock": "10.0.224.0/27"})
    group = res(rules.EKS_NODE_GROUP_COMPONENT, "system", {"subnetIds": ["subnet-x"]}, {"subnetIds": [private.urn]})
    peers = [{"ipBlock": {"cidr": c}} for c in cidrs]
    if in_values:
        holder = res(rules.HELM_RELEASE, "airflow", airflow_release(
            {**AIRFLOW_VALUES, "apiServer": {"networkPolicy": {"ingress": {"from": peers}}}}))
    else:
        holder = res(rules.NETWORK_POLICY, "api", {"metadata": {"namespace": "airflow"}, "spec": {
            "podSelector": {"matchLabels": {"component": "api-server"}}, "ingress": [{"from": peers}]}})
    return [private, balancer, group, holder]


def release_and_lifecycle(expire: bool) -> list[Resource]:
    rules_ = [{"id": "expire", "status": "Enabled", "expiration": {"days": 30.0}}] if expire else []
    return [res(rules.HELM_RELEASE, "airflow", airflow_release(AIRFLOW_VALUES)),
            res(rules.S3_LIFECYCLE, "logs-lifecycle", {"bucket": "logs-bucket", "rules": rules_})]


def metrics_stack(*, kms: bool = True, scraper: bool = True, rules_: bool = True, manager: bool = True,
                  linked: bool = True) -> list[Resource]:
    """An EKS cluster watched by an AMP workspace; each flag removes or unlinks one piece."""
    ws = res(rules.AMP_WORKSPACE, "ws", {"kmsKeyArn": "arn:aws:kms:us-east-1:1:key/k" if kms else None,
                                         "arn": "arn:aws:aps:us-east-1:1:workspace/ws-1", "id": "ws-1"})
    other = "ws-other" if not linked else "ws-1"
    stack = [res(rules.EKS_COMPONENT, "eks", dict(GOOD_EKS)), ws]
    if scraper:
        stack.append(res(rules.AMP_SCRAPER, "collector", {"destination": {"amp": {"workspaceArn": "unknown"}}},
                         {"destination": [ws.urn] if linked else []}))
    if rules_:
        stack.append(res(rules.AMP_RULE_GROUPS, "rules", {"workspaceId": other, "data": "groups: []"}))
    if manager:
        stack.append(res(rules.AMP_ALERT_MANAGER, "alerts", {"workspaceId": other, "definition": "x"}))
    return stack


def alb_stack(scheme: str, cidrs: list[str], *, sso: bool = True, waf: str = "") -> list[Resource]:
    spec = {"scheme": scheme, "inboundCIDRs": cidrs, **({"wafv2AclArn": waf} if waf else {})}
    config = "AUTH_TYPE = AUTH_OAUTH\n" if sso else ""
    return [res(rules.HELM_RELEASE, "lbc", {"chart": rules.LOAD_BALANCER_CONTROLLER_CHART,
                                            "values": {"ingressClassParams": {"spec": spec}}}),
            res(rules.HELM_RELEASE, "airflow", airflow_release({**AIRFLOW_VALUES,
                                                                "apiServer": {"apiServerConfig": config}}))]


def alb_annotations(*, certificate: str = "arn:aws:acm:us-east-1:1:certificate/x", ports: str = '[{"HTTP": 80}, '
                    '{"HTTPS": 443}]', redirect: str = "443") -> dict:
    prefix = rules.ALB_ANNOTATION_PREFIX
    return {f"{prefix}listen-ports": ports, f"{prefix}certificate-arn": certificate, f"{prefix}ssl-redirect": redirect}


# rule -> (passing stack, failing stack)
STACK_CASES: dict[str, tuple[list[Resource], list[Resource]]] = {
    "eks-network-policy-enforcement": (cni_stack(True, addon=False), cni_stack(False, addon=False)),
    "rds-force-ssl": (rds_stack("1"), rds_stack("0")),
    "metrics-enabled": (metrics_stack(), [res(rules.EKS_COMPONENT, "eks", dict(GOOD_EKS))]),
    "s3-public-access-block": (bucket_stack(), bucket_stack(pab={"restrictPublicBuckets": False})),
    "s3-encryption": (bucket_stack(), bucket_stack(sse="none")),
    "s3-tls-only": (bucket_stack(), bucket_stack(tls=False)),
    "s3-versioning": (bucket_stack(), bucket_stack(versioned=False)),
    "s3-logs-lifecycle": (release_and_lifecycle(expire=True), release_and_lifecycle(expire=False)),
    "eks-private-nodes": (node_stack(public=False), node_stack(public=True)),
    "eks-node-hardening": (hardened_stack(), hardened_stack(metadataOptions={"httpTokens": "optional"})),
    "eks-required-addons": (addon_stack("eks-pod-identity-agent", "aws-ebs-csi-driver"),
                            addon_stack("eks-pod-identity-agent")),
    "aws-required-tags": (tag_stack(TAGS), tag_stack({"project": "airflow-eks"})),
    "task-pods-limit-range": (limit_stack({"cpu": "1", "memory": "1Gi"}), limit_stack({"cpu": "1"})),
    "airflow-default-deny": (deny_stack(DEFAULT_DENY["spec"]),
                             deny_stack({"podSelector": {"matchLabels": {"component": "scheduler"}},
                                         "policyTypes": ["Ingress"]})),
    "airflow-pod-security-admission": (admission_stack({ENFORCE: "restricted"}),
                                       admission_stack({"pod-security.kubernetes.io/warn": "restricted"})),
    "network-policy-ip-peers": (peers_stack("10.0.224.0/27"), peers_stack("10.0.224.0/27", "10.0.0.0/16")),
    "ui-internet-facing-guarded": (alb_stack("internet-facing", ["203.0.113.0/24"], sso=True),
                                   alb_stack("internet-facing", ["203.0.113.0/24"], sso=False)),
    "ui-internet-facing-exposure": (alb_stack("internet-facing", ["203.0.113.0/24"], waf="arn:waf"),
                                    alb_stack("internet-facing", ["0.0.0.0/0"], waf="arn:waf")),
}
RESOURCE_CASES["ui-https-only"] = (rules.INGRESS, {"metadata": {"annotations": alb_annotations()}},
                                   {"metadata": {"annotations": alb_annotations(certificate="")}})
# Placeholders: tests/test_placeholders.py has the cases per kind of value.
STACK_CASES["no-template-placeholders"] = (
    [res(rules.EKS_COMPONENT, "eks", {"publicAccessCidrs": ["198.18.0.0/24"]})],
    [res(rules.EKS_COMPONENT, "eks", {"publicAccessCidrs": ["198.51.100.0/24"]})])


def by_name(name: str) -> rules.Rule:
    return next(r for r in rules.RULES if r.name == name)


def check(name: str, typ: str, props: dict, **settings: object) -> list[str]:
    rule = by_name(name)
    return rule.check_resource(typ, props, rule.settings(settings))


def check_stack(name: str, resources: list[Resource], **settings: object) -> list[tuple[str, str]]:
    rule = by_name(name)
    return rule.check_stack(resources, rule.settings(settings))


# --- the table -----------------------------------------------------------------------------
def test_there_are_at_least_twenty_uniquely_named_rules():
    names_ = [r.name for r in rules.RULES]
    assert len(names_) >= 20
    assert len(set(names_)) == len(names_)


def test_every_rule_has_a_passing_and_a_failing_case():
    resource_rules = {r.name for r in rules.RULES if not r.stack}
    stack_rules = {r.name for r in rules.RULES if r.stack}
    assert set(RESOURCE_CASES) == resource_rules
    assert set(STACK_CASES) == stack_rules


@pytest.mark.parametrize("name", sorted(RESOURCE_CASES))
def test_resource_rule_passes_good_props_and_flags_bad_props(name):
    typ, good, bad = RESOURCE_CASES[name]
    settings = CASE_SETTINGS.get(name, {})
    assert check(name, typ, good, **settings) == []
    assert check(name, typ, bad, **settings), f"{name} did not flag {bad}"


@pytest.mark.parametrize("name", sorted(STACK_CASES))
def test_stack_rule_passes_good_stack_and_flags_bad_stack(name):
    good, bad = STACK_CASES[name]
    assert check_stack(name, good) == []
    found = check_stack(name, bad)
    assert found, f"{name} did not flag the bad stack"
    assert all(isinstance(message, str) and message for message, _urn in found)


def test_rules_ignore_resource_types_they_do_not_govern():
    assert by_name("rds-storage-encrypted").check_resource(rules.KMS_KEY, {"storageEncrypted": False}, {}) == []


def test_rule_metadata_is_complete_and_config_defaults_satisfy_their_schemas():
    for rule in rules.RULES:
        assert rule.level in (rules.MANDATORY, rules.ADVISORY), rule.name
        assert rule.description.endswith("."), rule.name
        for key, schema in rule.config.items():
            assert "description" in schema, f"{rule.name}.{key}"
            jsonschema.validate(schema["default"], schema)


# --- rule details --------------------------------------------------------------------------
def test_backup_retention_threshold_comes_from_pack_config():
    three_days = {**GOOD_RDS, "backupRetentionPeriod": 3.0}
    assert check("rds-backup-retention", rules.RDS_INSTANCE, three_days)  # default minDays 7
    assert check("rds-backup-retention", rules.RDS_INSTANCE, three_days, minDays=1) == []
    assert check("rds-backup-retention", rules.RDS_INSTANCE, {})  # unset: the rule does not guess


def test_required_log_types_come_from_pack_config():
    dev = {**GOOD_EKS, "enabledClusterLogTypes": ["api", "authenticator"]}
    assert check("eks-control-plane-logging", rules.EKS_COMPONENT, dev) == ["enabledClusterLogTypes lacks ['audit']."]
    assert check("eks-control-plane-logging", rules.EKS_COMPONENT, dev, requiredLogTypes=["api"]) == []


@pytest.mark.parametrize("name", ["eks-secrets-encryption", "eks-control-plane-logging",
                                  "eks-public-endpoint-cidrs", "eks-authentication-mode"])
def test_eks_rules_skip_the_propless_remote_component_and_check_the_aws_cluster(name):
    # The engine registers pulumi-eks's Cluster with no props; its aws:eks child has them.
    assert check(name, rules.EKS_COMPONENT, {}) == []
    good = {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}},
            "enabledClusterLogTypes": ["api", "audit", "authenticator"],
            "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]},
            "accessConfig": {"authenticationMode": "API"}}
    assert check(name, rules.EKS_CLUSTER, good) == []
    assert check(name, rules.EKS_CLUSTER, {"vpcConfig": {}}), "AWS defaults violate every EKS rule"


def test_public_endpoint_rule_accepts_a_private_only_endpoint_and_flags_missing_cidrs():
    private = {**GOOD_EKS, "endpointPublicAccess": False, "publicAccessCidrs": None}
    assert check("eks-public-endpoint-cidrs", rules.EKS_COMPONENT, private) == []
    unset = {k: v for k, v in GOOD_EKS.items() if k not in ("endpointPublicAccess", "publicAccessCidrs")}
    assert check("eks-public-endpoint-cidrs", rules.EKS_COMPONENT, unset)  # pulumi-eks default: public, anywhere


def test_node_groups_need_explicit_subnets():
    group = res(rules.EKS_NODE_GROUP, "system", {"clusterName": "c"})
    assert check_stack("eks-private-nodes", [group])


@pytest.mark.parametrize(("link", "template", "fix"), [
    ("none", {}, "set launchTemplate"),
    ("dependency", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
     "ebs.encrypted 'false'; set it to true"),
    ("dependency", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 20.0}}]},
     "ebs.encrypted unset; set it to true"),
    ("dependency", {"blockDeviceMappings": []}, "map the root device"),
    ("dependency", {"metadataOptions": {**GOOD_TEMPLATE["metadataOptions"], "httpTokens": "optional"}},
     "httpTokens is optional; set it to required"),
    ("dependency", {"metadataOptions": {"httpPutResponseHopLimit": 1.0}}, "httpTokens is unset; set it to required"),
    ("dependency", {"metadataOptions": {**GOOD_TEMPLATE["metadataOptions"], "httpPutResponseHopLimit": 2.0}},
     "httpPutResponseHopLimit is 2; set it to 1 or less"),
    ("dependency", {"metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required"}},
     "httpPutResponseHopLimit is unset"),
    ("id", {"id": "lt-someone-elses"}, "not a launch template of this stack"),
])
def test_node_hardening_findings_say_what_to_change(link, template, fix):
    [(message, urn)] = check_stack("eks-node-hardening", hardened_stack(link, **template))
    assert fix in message
    # Template settings are reported on the template; a missing or foreign template on the group.
    owner = rules.EKS_NODE_GROUP_COMPONENT if link == "none" or "id" in template else rules.LAUNCH_TEMPLATE
    assert urn.startswith(f"urn:{owner}::")


@pytest.mark.parametrize("link", ["dependency", "id", "name"])
@pytest.mark.parametrize("typ", [rules.EKS_NODE_GROUP_COMPONENT, rules.EKS_NODE_GROUP])
def test_node_hardening_finds_the_template_by_dependency_id_or_name(link, typ):
    assert check_stack("eks-node-hardening", hardened_stack(link, typ=typ)) == []
    # ...and really judges that template, rather than passing because it found none.
    weak = {"metadataOptions": {**GOOD_TEMPLATE["metadataOptions"], "httpTokens": "optional"}}
    [(_message, urn)] = check_stack("eks-node-hardening", hardened_stack(link, typ=typ, **weak))
    assert urn.startswith(f"urn:{rules.LAUNCH_TEMPLATE}::")


def test_node_hardening_reads_older_list_shaped_blocks_and_boolean_encrypted():
    lt, group = hardened_stack("id", typ=rules.EKS_NODE_GROUP, metadataOptions=[GOOD_TEMPLATE["metadataOptions"]],
                               blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": [{"encrypted": True}]}])
    listed = Resource(group.type, group.name, {**group.props, "launchTemplate": [{"id": "lt-0123", "version": "1"}]},
                      group.urn)
    assert check_stack("eks-node-hardening", [lt, listed]) == []


def test_node_hardening_hop_limit_comes_from_pack_config():
    two = hardened_stack(metadataOptions={**GOOD_TEMPLATE["metadataOptions"], "httpPutResponseHopLimit": 2.0})
    assert check_stack("eks-node-hardening", two)
    assert check_stack("eks-node-hardening", two, maxHopLimit=2) == []


def test_node_hardening_skips_the_propless_component_and_judges_a_shared_template_once():
    lt, group = hardened_stack(metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 1.0})
    other = Resource(group.type, "spot", group.props, "urn:spot", property_dependencies=group.property_dependencies)
    remote = res(rules.EKS_NODE_GROUP_COMPONENT, "remote", {})
    assert [urn for _m, urn in check_stack("eks-node-hardening", [lt, group, other, remote])] == [lt.urn]


def test_node_hardening_leaves_token_and_hop_settings_alone_when_the_metadata_service_is_off():
    off = hardened_stack(metadataOptions={"httpEndpoint": "disabled"})
    assert check_stack("eks-node-hardening", off) == []


@pytest.mark.parametrize(("typ", "props"), [
    (rules.SECURITY_GROUP_INGRESS, {"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv6": "::/0"}),
    (rules.SECURITY_GROUP_RULE, {"type": "ingress", "protocol": "-1", "fromPort": 0.0, "toPort": 0.0,
                                 "cidrBlocks": ["0.0.0.0/0"]}),
])
def test_open_ingress_is_found_in_every_rule_shape(typ, props):
    assert check("no-open-ingress", typ, props)


def test_open_egress_and_tagged_load_balancer_listeners_are_allowed():
    egress = {"type": "egress", "protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": ["0.0.0.0/0"]}
    assert check("no-open-ingress", rules.SECURITY_GROUP_RULE, egress) == []
    lb = {"tags": {"airflow-eks/public-load-balancer": "true"}, "ingress": [
        {"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": ["0.0.0.0/0"]}]}
    assert check("no-open-ingress", rules.SECURITY_GROUP, lb) == []
    ssh = {**lb, "ingress": [{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["0.0.0.0/0"]}]}
    assert check("no-open-ingress", rules.SECURITY_GROUP, ssh)


@pytest.mark.parametrize(("typ", "props"), [
    (rules.IAM_ROLE, {"inlinePolicies": [{"name": "all", "policy": doc({"Effect": "Allow", "Action": "*",
                                                                         "Resource": "*"})}]}),
    ("aws:iam/policy:Policy", {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}),
    ("aws:iam/policy:Policy", {"policy": doc({"Effect": "Allow", "Action": ["kms:GenerateDataKey*"],
                                              "Resource": ["arn:aws:kms:us-east-1:123456789012:key/k"]})}),
    ("aws:iam/policy:Policy", {"policy": doc({"Effect": "Allow", "Action": ["ec2:TerminateInstances"],
                                              "Resource": "*"})}),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
])
def test_least_privilege_findings(typ, props):
    assert check("iam-least-privilege", typ, props)


@pytest.mark.parametrize("condition", [
    None,
    # A VPC alone still reaches the database's group: it is in the same VPC.
    {"StringEquals": {"ec2:Vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"}},
])
def test_security_group_writes_need_a_resource_tag_condition(condition):
    statement = {"Effect": "Allow", "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                 "Resource": ["arn:aws:ec2:us-east-1:123456789012:security-group/*"]}
    [finding] = check("iam-least-privilege", "aws:iam/rolePolicy:RolePolicy",
                      {"policy": doc({**statement, **({"Condition": condition} if condition else {})})})
    assert "ec2:AuthorizeSecurityGroupIngress" in finding and "aws:ResourceTag" in finding
    tagged = {**statement, "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/c": "owned",
                                                          "ec2:Vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"}}}
    assert check("iam-least-privilege", "aws:iam/rolePolicy:RolePolicy", {"policy": doc(tagged)}) == []


@pytest.mark.parametrize("typ", [rules.KMS_KEY, "aws:sns/topicPolicy:TopicPolicy", "aws:s3/bucketPolicy:BucketPolicy"])
def test_resource_policies_name_their_actions_too(typ):
    # In a resource policy, Resource "*" is the resource itself (a key policy's only form), so
    # only the action patterns are findings there.
    service = {"Service": "aps.amazonaws.com"}
    own = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
               "Action": ["kms:Encrypt", "kms:ScheduleKeyDeletion"], "Resource": "*"},
              {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"})
    assert check("iam-least-privilege", typ, {"policy": own}) == []
    wild = doc({"Effect": "Allow", "Principal": service, "Action": ["kms:GenerateDataKey*"], "Resource": "*"})
    [finding] = check("iam-least-privilege", typ, {"policy": wild})
    assert "kms:GenerateDataKey*" in finding


def test_reads_on_any_resource_and_conditioned_writes_are_allowed():
    # The Cluster Autoscaler's shape: describe anything, scale only tagged groups.
    policy = doc({"Effect": "Allow", "Action": ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeImages"],
                  "Resource": "*"},
                 {"Effect": "Allow", "Action": ["autoscaling:SetDesiredCapacity"], "Resource": "*",
                  "Condition": {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/c": "owned"}}})
    assert check("iam-least-privilege", "aws:iam/rolePolicy:RolePolicy", {"policy": policy}) == []
    managed = {"policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}
    assert check("iam-least-privilege", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", managed) == []


@pytest.mark.parametrize("statement", [
    {**POD_TRUST, "Principal": {"Service": [iam.POD_IDENTITY_SERVICE, "ec2.amazonaws.com"]}},
    {**POD_TRUST, "Principal": {"Service": iam.POD_IDENTITY_SERVICE, "AWS": "arn:aws:iam::123456789012:root"}},
    {**POD_TRUST, "Action": "sts:*"},
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
])
def test_trust_policy_findings(statement):
    assert check("iam-pod-identity-trust", rules.IAM_ROLE, {"assumeRolePolicy": doc(statement)})


def test_trust_rule_leaves_other_service_roles_alone():
    node = {"assumeRolePolicy": json.dumps(iam.node_trust())}
    assert check("iam-pod-identity-trust", rules.IAM_ROLE, node) == []
    pods = {"assumeRolePolicy": json.dumps(iam.pod_identity_trust())}
    assert check("iam-pod-identity-trust", rules.IAM_ROLE, pods) == []


def test_asymmetric_keys_need_no_rotation():
    assert check("kms-key-rotation", rules.KMS_KEY, {"keySpec": "RSA_2048", "enableKeyRotation": False}) == []


@pytest.mark.parametrize(("change", "flagged"), [
    ({"version": "^1.19.0"}, True),
    ({"version": None}, True),
    ({"repositoryOpts": {"repo": "http://airflow.apache.org"}}, True),
    ({"chart": "oci://registry.example.com/charts/airflow", "repositoryOpts": None}, False),
    ({"version": "9.53.0-rc.1"}, False),
])
def test_helm_pinning_details(change, flagged):
    props = {**airflow_release(AIRFLOW_VALUES), **change}
    assert bool(check("helm-release-pinned", rules.HELM_RELEASE, props)) is flagged


def test_airflow_rules_ignore_other_charts():
    autoscaler = {"chart": "cluster-autoscaler", "version": "9.53.0",
                  "repositoryOpts": {"repo": "https://kubernetes.github.io/autoscaler"}, "values": {}}
    for name in RESOURCE_CASES:
        if name.startswith("airflow-"):
            assert check(name, rules.HELM_RELEASE, autoscaler) == [], name


def test_image_registry_allow_list_and_docker_hub_spellings():
    assert check("airflow-image-registry", rules.HELM_RELEASE,
                 with_values(defaultAirflowRepository="docker.io/apache/airflow"))
    assert check("airflow-image-registry", rules.HELM_RELEASE, with_values(defaultAirflowRepository=None)), \
        "the chart's default is Docker Hub"
    assert check("airflow-image-registry", rules.HELM_RELEASE,
                 with_values(defaultAirflowRepository="ghcr.io/acme/airflow")), "ghcr.io is public too"
    own = with_values(defaultAirflowRepository="registry.example.com/acme/airflow")
    assert check("airflow-image-registry", rules.HELM_RELEASE, own) == []
    assert check("airflow-image-registry", rules.HELM_RELEASE, own, allowedRegistries=[ECR + "/"])
    assert check("airflow-image-registry", rules.HELM_RELEASE, with_values(), allowedRegistries=[ECR + "/"]) == []


@pytest.mark.parametrize(("switch", "key", "public"), [
    ({"statsd": {"enabled": True}}, "statsd", "quay.io/prometheus/statsd-exporter"),
    ({"pgbouncer": {"enabled": True}}, "pgbouncer", "apache/airflow"),
    ({"pgbouncer": {"enabled": True}}, "pgbouncerExporter", "apache/airflow"),
    ({"dags": {"gitSync": {"enabled": True}}}, "gitSync", "registry.k8s.io/git-sync/git-sync"),
])
def test_enabled_sidecars_on_their_public_default_images_are_flagged(switch, key, public):
    images = {k: v for k, v in AIRFLOW_VALUES["images"].items() if k != key}
    found = check("airflow-image-registry", rules.HELM_RELEASE, with_values(**switch, images=images))
    assert any(f"images.{key}: image {public}" in m for m in found), found
    mirrored = {**images, **{k: {"repository": f"harbor.example.com/proxy/{v[0]}"}
                             for k, v in rules.CHART_SIDECAR_IMAGES.items()}}
    assert not check("airflow-image-registry", rules.HELM_RELEASE, with_values(**switch, images=mirrored))


def test_disabled_sidecars_are_not_checked():
    off = with_values(statsd={"enabled": False}, images={})
    assert check("airflow-image-registry", rules.HELM_RELEASE, off) == []


def test_default_admin_password_details():
    omitted = with_values(createUserJob={})
    assert check("airflow-no-default-admin-password", rules.HELM_RELEASE, omitted), "chart default is admin"
    disabled = with_values(createUserJob={"enabled": False})
    assert check("airflow-no-default-admin-password", rules.HELM_RELEASE, disabled) == []
    literal = with_values(createUserJob={"defaultUser": {"password": "admin"}})
    assert check("airflow-no-default-admin-password", rules.HELM_RELEASE, literal)


def test_metadata_connection_must_come_from_a_secret():
    inline = with_values(data={"metadataConnection": {"user": "airflow", "pass": "pw", "host": "db"}})
    assert check("airflow-secrets-by-reference", rules.HELM_RELEASE, inline)


def test_limit_range_must_be_in_the_release_namespace():
    good = limit_stack({"cpu": "1", "memory": "1Gi"})
    moved = [good[0], res(rules.LIMIT_RANGE, "defaults", {**good[1].props, "metadata": {"namespace": "default"}})]
    assert check_stack("task-pods-limit-range", moved)
    assert check_stack("task-pods-limit-range", [good[1]]) == []  # no Airflow release: nothing to bound


def test_logs_lifecycle_falls_back_to_buckets_named_for_logs():
    assert check_stack("s3-logs-lifecycle", bucket_stack(lifecycle_days=30.0)) == []
    assert check_stack("s3-logs-lifecycle", bucket_stack(lifecycle_days=None))
    assert check_stack("s3-logs-lifecycle", bucket_stack(name="airflow-data", lifecycle_days=None)) == []


def test_bucket_settings_match_by_name_when_no_dependency_is_recorded():
    bucket = res("aws:s3/bucket:Bucket", "data", {"bucket": "acme-data"})
    block = res(rules.S3_PUBLIC_ACCESS_BLOCK, "pab", {"bucket": "acme-data", "blockPublicAcls": True,
                                                     "blockPublicPolicy": True, "ignorePublicAcls": True,
                                                     "restrictPublicBuckets": True})
    assert check_stack("s3-public-access-block", [bucket, block]) == []
    other = res(rules.S3_PUBLIC_ACCESS_BLOCK, "pab", {**block.props, "bucket": "someone-else"})
    assert check_stack("s3-public-access-block", [bucket, other])


def test_rds_without_a_stack_parameter_group_is_flagged():
    instance = res(rules.RDS_INSTANCE, "db", {**GOOD_RDS, "parameterGroupName": "default.postgres16"})
    assert check_stack("rds-force-ssl", [instance])


def test_resource_tags_can_stand_in_for_provider_default_tags():
    tagged = res("aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS})
    assert check_stack("aws-required-tags", [tagged]) == []
    assert check_stack("aws-required-tags", [res("random:index/randomId:RandomId", "r", {})]) == []


# --- evaluate() and the pack config -------------------------------------------------------
def test_evaluate_applies_levels_from_the_pack_config():
    bad = [res(rules.RDS_INSTANCE, "db", {**GOOD_RDS, "multiAz": False, "storageEncrypted": False})]
    found = {v.rule: v.level for v in rules.evaluate(bad)}
    assert found == {"rds-multi-az": "mandatory", "rds-storage-encrypted": "mandatory", "rds-force-ssl": "mandatory",
                     "aws-required-tags": "mandatory"}
    relaxed = rules.evaluate(bad, {"rds-multi-az": {"enforcementLevel": "advisory"}, "rds-force-ssl": "disabled",
                                   "aws-required-tags": "disabled"})
    assert {v.rule: v.level for v in relaxed} == {"rds-multi-az": "advisory", "rds-storage-encrypted": "mandatory"}
    everything = rules.evaluate(bad, {"all": "advisory", "rds-storage-encrypted": "mandatory"})
    assert {v.rule: v.level for v in everything}["rds-multi-az"] == "advisory"
    assert {v.rule: v.level for v in everything}["rds-storage-encrypted"] == "mandatory"


def test_violations_name_rule_level_and_resource():
    [violation] = [v for v in rules.evaluate([res(rules.KMS_KEY, "key", {})]) if v.rule == "kms-key-rotation"]
    assert str(violation) == "[mandatory] kms-key-rotation: enableKeyRotation must be true. (urn:aws:kms/key:Key::key)"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pack_config_files_match_the_schema_the_cli_validates(stack):
    config = json.loads((POLICY / f"config.{stack}.json").read_text())
    jsonschema.validate(config, rules.config_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "no-such-rule": "advisory"}, rules.config_schema())


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pack_config_lists_every_rule_with_its_level(stack):
    # A rule missing from the file runs at its code default, which nobody reviewing the stack's
    # config sees; a new rule must be placed deliberately in both files.
    config = json.loads((POLICY / f"config.{stack}.json").read_text())
    assert list(config) == [r.name for r in rules.RULES]
    assert [name for name, entry in config.items()
            if not isinstance(entry, dict) or "enforcementLevel" not in entry] == []


def test_prod_pack_config_states_the_defaults_and_dev_only_relaxes_them():
    prod = json.loads((POLICY / "config.prod.json").read_text())
    dev = json.loads((POLICY / "config.dev.json").read_text())
    for name, entry in prod.items():
        rule = by_name(name)
        assert rules.level_of(rule, prod) == rule.level
        assert rule.settings(entry) == rule.settings(), f"{name}: prod config drifted from the rule's defaults"
    assert set(dev) == set(prod), "dev and prod should configure the same prod-only rules"
    order = [rules.DISABLED, rules.ADVISORY, rules.MANDATORY]
    for name in dev:
        assert order.index(rules.level_of(by_name(name), dev)) <= order.index(rules.level_of(by_name(name), prod))


def test_network_policy_enforcement_is_read_from_the_vpc_cni_addon_at_a_real_preview():
    assert check_stack("eks-network-policy-enforcement", cni_stack("true", addon=True)) == []
    [(message, urn)] = check_stack("eks-network-policy-enforcement", cni_stack("false", addon=True))
    assert "enableNetworkPolicy" in message and urn.endswith("vpc-cni")
    # no setting at all is no enforcement
    assert check_stack("eks-network-policy-enforcement", [res(rules.EKS_COMPONENT, "eks", dict(GOOD_EKS))])
    assert check_stack("eks-network-policy-enforcement", []) == []


@pytest.mark.parametrize("path", ["securityContexts.pod.seccompProfile", "securityContexts.containers.capabilities",
                                  "securityContexts.containers.readOnlyRootFilesystem",
                                  "statsd.securityContexts.pod.runAsNonRoot",
                                  "statsd.securityContexts.container.readOnlyRootFilesystem",
                                  "pgbouncer.securityContexts.container.readOnlyRootFilesystem",
                                  "pgbouncer.metricsExporterSidecar.securityContexts.container.readOnlyRootFilesystem",
                                  "dags.gitSync.securityContexts.container.allowPrivilegeEscalation",
                                  "dags.gitSync.securityContexts.container.readOnlyRootFilesystem"])
def test_pod_hardening_names_each_missing_setting(path):
    values = json.loads(json.dumps(HARDENED))
    *parents, leaf = path.split(".")
    node = values
    for part in parents:
        node = node[part]
    node.pop(leaf)
    [message] = check("helm-pod-hardening", rules.HELM_RELEASE, with_values(**values))
    assert ".".join(parents[-2:]) in message or parents[-1] in message


def test_pod_hardening_covers_the_controllers_and_ignores_other_charts():
    assert check("helm-pod-hardening", rules.HELM_RELEASE, HARDENED_AUTOSCALER) == []
    bare = {**HARDENED_AUTOSCALER, "values": {}}
    [message] = check("helm-pod-hardening", rules.HELM_RELEASE, bare)
    assert "readOnlyRootFilesystem" in message and "seccompProfile" in message
    controller = {"chart": "aws-load-balancer-controller", "values": load_balancer_controller.values(
        cluster_name="c", region="us-east-1", vpc_id="vpc-1", ingress_class="alb", class_params={}, tags={},
        waf=False)}
    assert check("helm-pod-hardening", rules.HELM_RELEASE, controller) == []
    # the chart's own defaults (no seccomp, capabilities kept) are not enough
    chart_defaults = {"podSecurityContext": {"fsGroup": 65534}, "securityContext": {
        "readOnlyRootFilesystem": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False}}
    [message] = check("helm-pod-hardening", rules.HELM_RELEASE, {**controller, "values": chart_defaults})
    assert "podSecurityContext: seccompProfile" in message and "capabilities" in message
    assert check("helm-pod-hardening", rules.HELM_RELEASE, {"chart": "other", "values": {}}) == []


@pytest.mark.parametrize(("annotations", "flagged"), [
    (alb_annotations(), []),
    (alb_annotations(ports='[{"HTTP": 80}]'), ["no HTTPS listener"]),
    (alb_annotations(redirect=""), ["without ssl-redirect"]),
    (alb_annotations(ports='[{"HTTPS": 443}]', redirect=""), []),  # HTTPS only: nothing to redirect
    ({"kubernetes.io/ingress.class": "nginx"}, []),  # not an ALB Ingress
])
def test_https_only_reads_listeners_certificate_and_redirect(annotations, flagged):
    found = check("ui-https-only", rules.INGRESS, {"metadata": {"annotations": annotations}})
    assert [f for f in flagged if not any(f in m for m in found)] == [] and len(found) == len(flagged), found


@pytest.mark.parametrize(("stack", "expected"), [
    (alb_stack("internal", []), set()),  # internal: the VPC is the boundary
    (alb_stack("internet-facing", [], sso=True), {"without inbound CIDRs"}),
    (alb_stack("internet-facing", ["203.0.113.0/24"], sso=False), {"password login"}),
])
def test_internet_facing_needs_sso_and_cidrs(stack, expected):
    found = [m for m, _ in check_stack("ui-internet-facing-guarded", stack)]
    assert {e for e in expected if any(e in m for m in found)} == expected and len(found) == len(expected), found


def test_internet_facing_without_waf_is_an_advisory():
    rule = by_name("ui-internet-facing-exposure")
    assert rule.level == rules.ADVISORY
    found = [m for m, _ in check_stack(rule.name, alb_stack("internet-facing", ["203.0.113.0/24"]))]
    assert len(found) == 1 and "WAFv2" in found[0]
    assert check_stack(rule.name, alb_stack("internal", ["0.0.0.0/0"])) == []


def test_shared_names_agree_with_the_program():
    # The pack runs without the program's packages, so it repeats these; they must not drift.
    assert rules.POD_IDENTITY_SERVICE == iam.POD_IDENTITY_SERVICE
    assert rules.AIRFLOW_NAMESPACE == names.AIRFLOW_NAMESPACE
    assert rules.AIRFLOW_CHART == versions.AIRFLOW_CHART_NAME
    assert rules.LOAD_BALANCER_CONTROLLER_CHART == load_balancer_controller.CHART
    assert rules.ALB_ANNOTATION_PREFIX == ui_ingress.PREFIX
    assert set(images.PUBLIC_REGISTRIES) <= rules.PUBLIC_REGISTRIES
    assert {k: v[0] for k, v in rules.CHART_SIDECAR_IMAGES.items()} == images.CHART_SIDECAR_IMAGES
    assert rules.CLUSTER_AUTOSCALER_CHART == versions.CLUSTER_AUTOSCALER_CHART
    assert pod_security.RUNTIME_DEFAULT_SECCOMP["type"] == rules.RUNTIME_DEFAULT


def test_rds_final_snapshot_names_each_setting_that_would_lose_data():
    assert rules.rds_final_snapshot(rules.RDS_INSTANCE, GOOD_RDS, {}) == []
    found = rules.rds_final_snapshot(rules.RDS_INSTANCE, {**GOOD_RDS, "skipFinalSnapshot": True,
                                                          "deleteAutomatedBackups": True}, {})
    assert [m.split(" ")[0] for m in found] == ["skipFinalSnapshot", "deleteAutomatedBackups"]


def test_the_packs_eks_calendar_agrees_with_the_program():
    assert {
        m.minor: (m.end_of_standard.isoformat(), m.end_of_extended.isoformat())
        for m in kubernetes_support.CALENDAR.values()} == rules.EKS_SUPPORT_ENDS
    assert (rules.constants.EKS_STANDARD_HOURLY, rules.constants.EKS_EXTENDED_HOURLY) == (
        kubernetes_support.STANDARD_HOURLY, kubernetes_support.EXTENDED_HOURLY)


@pytest.mark.parametrize("minor", list(kubernetes_support.CALENDAR))
def test_eks_version_supported_at_the_edges_of_each_support_phase(minor):
    row = kubernetes_support.CALENDAR[minor]
    day = datetime.timedelta(days=1)

    def found(on):
        return rules.version_support_findings(minor, on)

    assert found(row.end_of_standard - day) == []
    [extended] = found(row.end_of_standard)
    assert f"left EKS standard support on {row.end_of_standard}" in extended and "$0.60" in extended
    assert found(row.end_of_extended - day) == [extended]
    [ended] = found(row.end_of_extended)
    assert f"left EKS extended support on {row.end_of_extended}" in ended


def test_the_packs_airflow_calendar_agrees_with_the_program():
    assert {v: d.isoformat() for v, d in airflow_calendar.RELEASES.items()} == rules.AIRFLOW_RELEASES
    assert set(airflow_calendar.YANKED_RELEASES) == set(rules.AIRFLOW_YANKED)
    assert set(airflow_calendar.NOT_INSTALLABLE_HERE) == set(rules.AIRFLOW_NOT_INSTALLABLE_HERE)
    assert airflow_calendar.GRACE_DAYS == rules.AIRFLOW_GRACE_DAYS


@pytest.mark.parametrize("version", list(airflow_calendar.RELEASES) + list(airflow_calendar.YANKED_RELEASES))
@pytest.mark.parametrize("day", ["2025-09-24", "2025-09-25", "2026-04-07", "2026-07-06", "2026-08-12", "2026-11-06",
                                 "2026-12-01", "2027-02-03", "2027-02-04"])
def test_the_pack_fails_and_reports_a_release_exactly_when_the_calendar_says(version, day):
    on = datetime.date.fromisoformat(day)
    support = airflow_calendar.support(version, on)
    failing = rules.airflow_support_findings(version, on)
    reported = rules.airflow_currency_findings(version, on)
    assert bool(failing) == support.fails_policy, (support, failing)
    assert bool(reported) == (support.status != airflow_calendar.CURRENT and not support.fails_policy), (
        support, reported)
    assert not (failing and reported)  # one rule or the other, never both
    if support.move_to:
        assert f"Move to {support.move_to}" in (failing + reported)[0]
        unproven = "not yet validated by this program's runtime tier" in (failing + reported)[0]
        assert unproven == (support.move_to_installable_here is False)


def test_airflow_version_supported_is_judged_on_the_configured_day_and_names_the_release_to_move_to():
    rule = by_name("airflow-version-supported")
    props = with_values(airflowVersion="3.2.2")
    assert rule.check_resource(rules.HELM_RELEASE, props, rule.settings({"asOf": "2026-07-05"})) == []
    # 3.3.0 came out on 2026-07-06 (PyPI): 3.2.2 passes through its 90-day grace, to 2026-10-03.
    assert rule.check_resource(rules.HELM_RELEASE, props, rule.settings({"asOf": "2026-10-03"})) == []
    [found] = rule.check_resource(rules.HELM_RELEASE, props, rule.settings({"asOf": "2026-10-04"}))
    assert "3.2 gets no more patches" in found and "since 3.3.0 on 2026-07-06" in found and "Move to 3.3.2" in found
    assert "grace is over since 2026-10-04" in found
    other_chart = {**props, "chart": "cluster-autoscaler"}
    assert rule.check_resource(rules.HELM_RELEASE, other_chart, rule.settings({"asOf": "2026-10-04"})) == []
    for version in (None, "3.1.4", "3.9.0"):  # unset, yanked, unknown: nothing to judge it by
        assert rule.check_resource(rules.HELM_RELEASE, with_values(airflowVersion=version), rule.settings()) != []


def test_airflow_version_current_reports_the_grace_and_the_unproven_release_to_move_to():
    rule = by_name("airflow-version-current")
    assert rule.level == rules.ADVISORY
    [found] = rule.check_resource(rules.HELM_RELEASE, with_values(airflowVersion="3.3.2"),
                                  rule.settings({"asOf": "2026-12-06"}))
    # 3.4.0: 2026-11-06 in Airflow's release notes; not on this machine's PyPI mirror.
    assert "3.3 gets no more patches" in found and "since 3.4.0 on 2026-11-06" in found
    assert "Move to 3.4.0 (not yet validated by this program's runtime tier" in found
    assert "until 2027-02-03, and fails it from 2027-02-04" in found
    for version in (None, "3.1.4", "3.9.0", "3.1.8"):  # what airflow-version-supported fails is not repeated
        assert rule.check_resource(rules.HELM_RELEASE, with_values(airflowVersion=version),
                                   rule.settings({"asOf": "2026-12-06"})) == [], version


def test_eks_version_supported_is_judged_on_the_configured_day_and_skips_the_propless_component():
    rule = by_name("eks-version-supported")
    props = {"version": "1.35"}
    assert rule.check_resource(rules.EKS_CLUSTER, props, rule.settings({"asOf": "2027-03-26"})) == []
    assert rule.check_resource(rules.EKS_COMPONENT, props, rule.settings({"asOf": "2027-03-27"})) != []
    assert rule.check_resource(rules.EKS_COMPONENT, {}, rule.settings({"asOf": "2027-03-27"})) == []
    for version in (None, "1.31", "1.99"):  # unset, dropped, not yet known: nothing to judge it by
        assert rule.check_resource(rules.EKS_CLUSTER, {"version": version}, rule.settings()) != [], version
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"eks-version-supported": {"asOf": "next week"}}, rules.config_schema())


@pytest.mark.parametrize(("broken", "message"), [
    ({"kms": False}, "customer managed key"), ({"scraper": False}, "no managed collector"),
    ({"rules_": False}, "no alert rules"), ({"manager": False}, "no alert manager definition"),
    ({"linked": False}, "no managed collector"),
])
def test_metrics_enabled_names_each_missing_piece(broken, message):
    found = check_stack("metrics-enabled", metrics_stack(**broken))
    assert any(message in m for m, _urn in found), found


def test_metrics_enabled_has_nothing_to_say_without_a_cluster():
    assert check_stack("metrics-enabled", []) == []


@pytest.mark.parametrize(("stack", "flagged"), [
    (deny_stack(DEFAULT_DENY["spec"], namespace="default"), True),  # another namespace's
    (deny_stack({**DEFAULT_DENY["spec"], "ingress": [{}]}), True),  # selects all, admits all
    (deny_stack({"podSelector": {}, "policyTypes": ["Egress"]}), True),
    ([res(rules.NETWORK_POLICY, "deny", DEFAULT_DENY)], False),  # no Airflow release: nothing to guard
])
def test_default_deny_must_be_in_airflows_namespace_and_deny(stack, flagged):
    assert bool(check_stack("airflow-default-deny", stack)) is flagged


@pytest.mark.parametrize(("stack", "flagged"), [
    (admission_stack({ENFORCE: "restricted"}), False),
    (admission_stack({ENFORCE: "baseline"}), False),  # tasksMayLaunchPods
    (admission_stack({ENFORCE: "privileged"}), True),  # admits hostNetwork and privileged pods
    (admission_stack(None), True),
    (admission_stack({ENFORCE: "restricted"}, namespace="other"), True),  # not Airflow's namespace
    (admission_stack(None)[1:], False),  # no Airflow release: nothing to guard
])
def test_airflows_namespace_must_enforce_baseline_or_restricted(stack, flagged):
    assert bool(check_stack("airflow-pod-security-admission", stack)) is flagged


@pytest.mark.parametrize(("cidrs", "in_values", "flagged"), [
    (("10.0.0.0/19",), False, True),  # the node subnet itself
    (("10.0.4.0/24",), False, True),  # inside it
    (("10.0.0.0/8",), True, True),  # covering it, from a chart's values
    (("10.0.224.0/27", "10.0.225.0/28"), True, False),  # a load balancer's and a collector's own
    (("0.0.0.0/0",), False, True),
])
def test_ip_peers_may_not_overlap_a_node_subnet(cidrs, in_values, flagged):
    found = check_stack("network-policy-ip-peers", peers_stack(*cidrs, in_values=in_values))
    assert bool(found) is flagged
    assert all("private-0" in message for message, _ in found)

