"""AWS Load Balancer Controller: its IAM policy against the controller's published v3.5.0
policy, its values rendered by the real chart 3.5.0, and the component on its own."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from airflow_eks import formats, iam, names, ui_ingress
from airflow_eks import load_balancer_controller as lbc
from airflow_eks.offline import harness
from components.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from policy import rules
from tests import charts

CLUSTER = "airflow-eks-prod-abcd"
# Partition, region and account differ from the mocks' defaults: the policy follows the ARN.
CLUSTER_ARN = f"arn:aws-us-gov:eks:us-gov-west-1:111122223333:cluster/{CLUSTER}"
VPC = "vpc-0123456789abcdef0"
WAF = "arn:aws-us-gov:wafv2:us-gov-west-1:111122223333:regional/webacl/ui/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

# What the features used here make the controller call: an internet-facing or internal ALB
# with IP targets, HTTPS listener with a given certificate, HTTP->HTTPS redirect rule, its own
# security groups plus ingress rules on the nodes' group, tags, and teardown of all of it
# (LBC pkg/deploy/elbv2 and pkg/deploy/ec2 call sites).
NEEDED = {
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeInstances", "ec2:DescribeAvailabilityZones", "ec2:DescribeRouteTables",
    "ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener", "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyRule", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
    "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
    "iam:CreateServiceLinkedRole",
}
NEEDED_WITH_WAF = {"wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL",
                   "wafv2:DisassociateWebACL", "elasticloadbalancing:SetWebAcl"}


def actions(document: dict) -> set[str]:
    return {a for s in iam.statements(document) for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                          else s["Action"])}


def published_document() -> dict:
    """The controller's published IAM policy (make charts, or ../shared/aws)."""
    return json.loads((charts.policy_dir() / charts.lbc_policy_file()).read_text())


def published() -> set[str]:
    return actions(published_document())


def policy(waf: str = "") -> dict:
    return lbc.policy(cluster_arn=CLUSTER_ARN, cluster_name=CLUSTER, vpc_id=VPC, waf_acl_arn=waf)


@pytest.mark.parametrize("waf", ["", WAF])
def test_policy_grants_only_actions_of_the_published_policy(waf):
    extra = actions(policy(waf)) - published()
    assert extra == set(), f"not in the controller's published v3.5.0 policy: {sorted(extra)}"


@pytest.mark.parametrize(("waf", "needed"), [("", NEEDED), (WAF, NEEDED | NEEDED_WITH_WAF)])
def test_policy_grants_every_action_the_features_used_need(waf, needed):
    assert needed - actions(policy(waf)) == set()


def test_without_a_web_acl_no_waf_shield_cognito_or_acm_action():
    granted = actions(policy())
    assert not [a for a in granted if a.split(":")[0] in ("wafv2", "waf-regional", "shield", "cognito-idp", "acm")]
    assert "elasticloadbalancing:SetWebAcl" not in granted


def test_policy_passes_the_packs_least_privilege_rule_and_has_no_wildcard_action():
    for waf in ("", WAF):
        document = policy(waf)
        assert iam.wildcard_actions(document) == []
        props = {"policy": json.dumps(document)}
        assert rules.iam_least_privilege("aws:iam/rolePolicy:RolePolicy", props, {}) == []


def test_writes_are_scoped_to_this_cluster_vpc_region_and_account():
    for statement in iam.statements(policy(WAF)):
        writes = [a for a in statement["Action"] if not a.split(":")[1].startswith(("Describe", "Get"))]
        if not writes:
            continue
        resources = statement["Resource"]
        assert resources != "*" and all(
            r.startswith(("arn:aws-us-gov:ec2:us-gov-west-1:111122223333:",
                          "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:111122223333:",
                          "arn:aws-us-gov:iam::111122223333:role/aws-service-role/")) or r == WAF
            for r in resources), statement
        condition = json.dumps(statement.get("Condition", {}))
        tag_keys = [k for k in ("aws:ResourceTag/elbv2.k8s.aws/cluster", "aws:RequestTag/elbv2.k8s.aws/cluster")
                    if f'"{k}": "{CLUSTER}"' in condition]
        scoped = (tag_keys or VPC in condition or VPC in json.dumps(resources)
                  or statement["Sid"] in ("ElbServiceLinkedRole", "ListenersAndRules", "TagListenersAndRules",
                                          "RegisterPodTargets", "AttachTheWebAcl", "SetWebAclOnAlbs"))
        assert scoped, statement


SECURITY_GROUP_WRITES = {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                         "ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags"}
# What EKS tags the cluster security group with (EKS user guide, "View Amazon EKS security group
# requirements for clusters": kubernetes.io/cluster/<cluster name> = owned).
EKS_CLUSTER_SG_TAGS = {f"kubernetes.io/cluster/{CLUSTER}": "owned", "aws:eks:cluster-name": CLUSTER}
# What the controller tags the groups it creates with (v3.5.0: the frontend group through its
# stack tags, the backend group in pkg/networking/backend_sg_provider.go, buildBackendSGTagsMap).
CONTROLLER_SG_TAGS = {"elbv2.k8s.aws/cluster": CLUSTER, "elbv2.k8s.aws/resource": "backend-sg"}


def _allows_on(document: dict, action: str, tags: dict[str, str], vpc: str = VPC) -> bool:
    """Whether some statement allows `action` on a security group with `tags` in `vpc`: every
    condition of the statement evaluated (StringEquals, Null) on the group's tags and VPC."""
    context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    context["ec2:Vpc"] = f"arn:aws-us-gov:ec2:us-gov-west-1:111122223333:vpc/{vpc}"
    for statement in iam.statements(document):
        if action not in statement["Action"]:
            continue
        ok = True
        for operator, conditions in statement.get("Condition", {}).items():
            for key, expected in conditions.items():
                if key.startswith("aws:RequestTag/") or key == "ec2:CreateAction":
                    ok = False  # a tagging request, not a rule on an existing group
                elif operator == "StringEquals":
                    ok &= context.get(key) in ([expected] if isinstance(expected, str) else expected)
                elif operator == "Null":
                    ok &= (key not in context) == (expected == "true")
                else:
                    raise AssertionError(f"unmodelled condition operator {operator}")
        if ok:
            return True
    return False


@pytest.mark.parametrize("action", ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"])
def test_rules_only_on_the_controllers_groups_and_the_pods_cluster_security_group(action):
    document = policy()
    # what it must be able to change: the ALB's own groups, and the group of the pods' network
    # interfaces, where it opens the API server's port to the ALB's backend group (IP targets)
    assert _allows_on(document, action, CONTROLLER_SG_TAGS)
    assert _allows_on(document, action, EKS_CLUSTER_SG_TAGS)
    # what it must not: the database's and the collector's groups carry only the stack's tags
    assert not _allows_on(document, action, {"project": "airflow-eks", "stack": "prod", "managed-by": "pulumi"})
    assert not _allows_on(document, action, {})
    # another cluster's groups, and this cluster's tag on a group in another VPC
    assert not _allows_on(document, action, {"kubernetes.io/cluster/other": "owned"})
    assert not _allows_on(document, action, {"elbv2.k8s.aws/cluster": "other"})
    assert not _allows_on(document, action, EKS_CLUSTER_SG_TAGS, vpc="vpc-other")


def test_every_security_group_write_carries_a_resource_tag_condition():
    """Unlike the published policy, whose Authorize/Revoke statement is on Resource "*" with no
    condition at all."""
    written = [s for s in iam.statements(policy(WAF)) if SECURITY_GROUP_WRITES & set(s["Action"])]
    assert written
    for statement in written:
        keys = {k for conditions in statement["Condition"].values() for k in conditions}
        assert keys & {"aws:ResourceTag/elbv2.k8s.aws/cluster", f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}",
                       "aws:RequestTag/elbv2.k8s.aws/cluster"}, statement["Sid"]
    assert any("ec2:AuthorizeSecurityGroupIngress" in s["Action"] and "Condition" not in s
               for s in published_document()["Statement"])


# -- the rendered chart ------------------------------------------------------------------------
UI = type("Ui", (), {"scheme": "internal", "allowed_cidrs": ("10.0.0.0/16",), "waf_acl_arn": WAF})()
CLASS_PARAMS = ui_ingress.class_params(UI, group="airflow-eks-prod")
VALUES = lbc.values(cluster_name=CLUSTER, region="us-gov-west-1", vpc_id=VPC, ingress_class=ui_ingress.INGRESS_CLASS,
                    class_params=CLASS_PARAMS, tags={"project": "airflow-eks", "stack": "prod"}, waf=True,
                    image_mirror="123456789012.dkr.ecr.us-east-1.amazonaws.com")


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return charts.render(charts.chart_dir(lbc.CHART, lbc.CHART_VERSION), VALUES, release=lbc.RELEASE_NAME,
                         namespace=names.KUBE_SYSTEM)


def _container(rendered):
    deployment = charts.one(rendered, "Deployment", lbc.RELEASE_NAME)
    [container] = charts.pod_spec(deployment)["containers"]
    return deployment, container


def test_rendered_controller_knows_cluster_region_and_vpc_without_imds(rendered):
    _, container = _container(rendered)
    args = container["args"]
    for flag in (f"--cluster-name={CLUSTER}", "--aws-region=us-gov-west-1", f"--aws-vpc-id={VPC}",
                 f"--ingress-class={ui_ingress.INGRESS_CLASS}", "--enable-shield=false", "--enable-waf=false",
                 "--enable-wafv2=true"):
        assert flag in args, (flag, args)
    assert container["image"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/public.ecr.aws/eks/"
                                         "aws-load-balancer-controller:v3.5.0")


def test_rendered_controller_runs_twice_on_system_nodes_with_a_disruption_budget(rendered):
    deployment, _ = _container(rendered)
    assert deployment["spec"]["replicas"] == 2
    assert charts.pod_spec(deployment)["nodeSelector"] == names.SYSTEM_NODE_LABELS
    assert charts.pod_spec(deployment)["serviceAccountName"] == lbc.SERVICE_ACCOUNT
    [pdb] = charts.of_kind(rendered, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert charts.one(rendered, "ServiceAccount", lbc.SERVICE_ACCOUNT)["metadata"].get("annotations") in (None, {})


def _listed(rendered, kind):
    # The chart renders its IngressClassParams and IngressClass as one v1 List, which Helm
    # applies (and tests/charts.py renders) as its items.
    return charts.of_kind(rendered, kind)


def test_rendered_ingress_class_points_at_params_that_pin_the_alb(rendered):
    [klass] = _listed(rendered, "IngressClass")
    [params] = _listed(rendered, "IngressClassParams")
    assert klass["metadata"]["name"] == ui_ingress.INGRESS_CLASS
    assert klass["spec"]["controller"] == "ingress.k8s.aws/alb"
    assert klass["spec"]["parameters"]["name"] == params["metadata"]["name"]
    spec = params["spec"]
    assert (spec["scheme"], spec["inboundCIDRs"], spec["wafv2AclArn"]) == ("internal", ["10.0.0.0/16"], WAF)
    assert spec["group"] == {"name": "airflow-eks-prod"} and spec["targetType"] == "ip"
    assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": names.AIRFLOW_NAMESPACE}}


def test_rendered_controller_leaves_loadbalancer_services_alone(rendered):
    webhooks = [w["name"] for o in charts.of_kind(rendered, "MutatingWebhookConfiguration") for w in o["webhooks"]]
    assert webhooks and not [w for w in webhooks if w.startswith("mservice")], webhooks


def test_rendered_pod_webhook_injects_gates_in_the_labelled_namespace_into_api_server_pods_only(rendered, programs):
    """Both ends of the readiness gates: the namespace label the program sets is the one the
    webhook selects on; the webhook sees only the pods behind the ALB; a controller that is
    down lets pods start without a gate instead of refusing them."""
    [webhook] = [w for o in charts.of_kind(rendered, "MutatingWebhookConfiguration") for w in o["webhooks"]
                 if w["name"] == "mpod.elbv2.k8s.aws"]
    labels = programs["prod"].one("kubernetes:core/v1:Namespace").get("metadata.labels")
    [selects] = webhook["namespaceSelector"]["matchExpressions"]
    assert selects["operator"] == "In" and selects["values"] == [labels[selects["key"]]]
    assert webhook["objectSelector"]["matchLabels"] == ui_ingress.TARGET_POD_LABELS
    assert webhook["failurePolicy"] == "Ignore"
    assert webhook["rules"][0]["resources"] == ["pods"] and webhook["rules"][0]["operations"] == ["CREATE"]


# -- the component on its own ----------------------------------------------------------------
def build():
    provider = k8s.Provider("k8s", kubeconfig="{}")
    nodes = aws.eks.NodeGroup(
        "system", cluster_name=CLUSTER, node_role_arn="arn:aws:iam::123456789012:role/nodes",
        subnet_ids=["subnet-a"], scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=1, desired_size=1,
                                                                                   max_size=2))
    agent = aws.eks.Addon("agent", cluster_name=CLUSTER, addon_name="eks-pod-identity-agent")
    return LoadBalancerController("lbc", LoadBalancerControllerArgs(
        cluster_name=pulumi.Output.from_input(CLUSTER), cluster_arn=pulumi.Output.from_input(CLUSTER_ARN),
        region="us-gov-west-1", vpc_id=pulumi.Output.from_input(VPC), ingress_class=ui_ingress.INGRESS_CLASS,
        class_params=CLASS_PARAMS, tags={"project": "p", "managed-by": "pulumi"}, wait_for=[nodes, agent]),
        pulumi.ResourceOptions(providers={"kubernetes": provider}))


@pytest.fixture(scope="module")
def run() -> harness.Run:
    return harness.run(build)


def test_component_installs_the_pinned_chart_after_its_identity_nodes_and_agent(run):
    release = run.one("kubernetes:helm.sh/v3:Release")
    assert (release.get("chart"), release.get("version"), release.get("repositoryOpts.repo")) == (
        lbc.CHART, lbc.CHART_VERSION, lbc.CHART_REPO)
    assert release.get("namespace") == names.KUBE_SYSTEM and release.get("name") == lbc.RELEASE_NAME
    association = run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association.get("serviceAccount") == lbc.SERVICE_ACCOUNT and association.get("namespace") == "kube-system"
    for dependency in (association, run.one("aws:eks/nodeGroup:NodeGroup"), run.one("aws:eks/addon:Addon")):
        assert run.depends_on(release, dependency), dependency.name


def test_component_policy_is_the_pure_policy_of_its_cluster_and_vpc(run):
    document = json.loads(run.one("aws:iam/rolePolicy:RolePolicy").get("policy"))
    assert document == policy()  # no WAF ACL given: no WAF statements


def test_component_tags_the_albs_as_the_controllers_not_pulumis(run):
    values = run.one("kubernetes:helm.sh/v3:Release").plain_inputs["values"]
    assert values["defaultTags"] == {"project": "p", "managed-by": lbc.RELEASE_NAME}
    assert values["clusterName"] == CLUSTER and values["vpcId"] == VPC and values["enableWafv2"] is False


# -- the stack's tags through the chart's --default-tags argument ---------------------------
def _default_tags_argument(tags: dict[str, str]):
    """The controller container's --default-tags argument as the real chart renders it, or, when
    YAML no longer reads it as one string, whatever it became."""
    objects = charts.render(charts.chart_dir(lbc.CHART, lbc.CHART_VERSION), {**VALUES, "defaultTags": tags},
                            release=lbc.RELEASE_NAME, namespace=names.KUBE_SYSTEM)
    _, container = _container(objects)
    found = [a for a in container["args"] if "--default-tags" in str(a)]
    assert len(found) == 1, container["args"]
    return found[0]


def _as_the_controller_parses_it(argument: str) -> dict[str, str]:
    """spf13/pflag v1.0.10 stringToString.Set (the controller's --default-tags flag): with one
    "=", the value with quotes trimmed; otherwise one CSV record (encoding/csv, which refuses a
    bare quote), each field split at its first "="."""
    import csv

    value = argument.removeprefix("--default-tags=")
    if value.count("=") == 1:
        fields = [value.strip('"')]
    else:
        if '"' in value:
            raise ValueError("bare \" in non-quoted field")
        [fields] = list(csv.reader([value]))
    pairs = [f.split("=", 1) for f in fields]
    if any(len(p) != 2 for p in pairs):
        raise ValueError("must be formatted as key=value")
    return dict(pairs)


BASE_TAGS = {"project": "airflow-eks", "stack": "prod", "managed-by": "pulumi"}
# Each class of value the chart cannot carry, as a tag beside the stack's own.
BREAKING_TAGS = [
    {"owner": "Team: Data"},  # ": " -> a YAML mapping, not an argument: the release fails
    {"zz-last": "ends-with:"},  # ":" at the end of the line, the same
    {"owner": "data #team"},  # " #" -> YAML drops the rest as a comment, silently
    {"owner": "a,b"},  # "," -> two CSV fields, "b" is no key=value
    {"owner": 'say "hi"'},  # '"' -> encoding/csv refuses a bare quote
    {"zz-last": "trailing "},  # YAML trims the space off the last value
]
# Values that look risky but pass through unchanged: what AWS tags commonly hold.
SAFE_TAGS = {"cost-center": "CC:1234", "owner": "data-platform@example.com", "path": "/team/data",
             "formula": "a=b+c", "label": "Data Team (EU)", "hash": "#1", "note": "x:y"}


@pytest.mark.parametrize("bad", BREAKING_TAGS, ids=[json.dumps(t) for t in BREAKING_TAGS])
def test_tags_the_chart_breaks_are_the_ones_the_config_refuses(bad):
    tags = {**BASE_TAGS, **bad}
    rendered = _default_tags_argument(tags)
    try:
        broken = not isinstance(rendered, str) or _as_the_controller_parses_it(rendered) != tags
    except ValueError:
        broken = True
    assert broken, rendered  # the break, with the real chart
    with pytest.raises(ValueError, match="--default-tags"):
        formats.controller_default_tags(tags)  # and the fix: refused before any resource


def test_tags_the_config_accepts_reach_the_controller_unchanged():
    tags = {**BASE_TAGS, **SAFE_TAGS}
    assert formats.controller_default_tags(tags) == tags
    assert _as_the_controller_parses_it(_default_tags_argument(tags)) == tags


@pytest.mark.parametrize("key", sorted(formats.CONTROLLER_TRACKING_TAG_KEYS))
def test_the_controllers_own_tag_keys_are_refused(key):
    with pytest.raises(ValueError, match="sets itself"):
        formats.controller_default_tags({**BASE_TAGS, key: "x"})
