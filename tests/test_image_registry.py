"""The stack's own registry (imageRegistry) and Airflow by digest (airflowImageDigest).

Pure parts against ECR's documented rules, the component as the whole prod program registers
it, and the digest followed into what Kubernetes runs: the chart rendered with the program's
values, down to the task pod the executor builds from airflow.cfg.
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import re

import pytest

from airflow_eks import images, pod_security
from airflow_eks.image import deployments, digest, registry
from airflow_eks.offline import harness, loader, mocks
from tests import charts, ecr_model, manifests
from tests.conftest import IMAGE_DIGEST
from tools import image_deploys, image_stack

DEFAULT_AIRFLOW = loader.project_file()["config"]["airflowVersion"]["default"]

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"  # the mock account's registry
NODE_ROLE = "arn:aws:iam::123456789012:role/airflow-node-role-1234567"
PUSH_ROLE = "arn:aws:iam::123456789012:role/airflow-image-push"
REPOSITORY = "aws:ecr/repository:Repository"
CACHE_RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
PINNED = f"{ECR_HOST}/prod/airflow@{IMAGE_DIGEST}"


# --- pure: names and ECR's limits ---------------------------------------------------------------
def test_the_namespace_is_the_stack_name_when_ecr_accepts_it():
    assert registry.namespace("prod") == "prod"
    assert registry.namespace("Team_Prod.1") == "team_prod.1"
    for bad in ("-prod", "prod-", "a--b", "a/b", "a b"):
        with pytest.raises(ValueError, match="repository path component"):
            registry.namespace(bad)


def test_a_cache_prefix_longer_than_ecr_allows_is_refused_naming_the_limit():
    registry.check_prefixes("fourteen-chars", ["registry.k8s.io"])  # 30 characters: allowed
    with pytest.raises(ValueError, match=r"at most 14 characters.*at most 30"):
        registry.check_prefixes("fifteen-charsxx", ["registry.k8s.io", "quay.io"])


def test_cache_rules_use_ecrs_upstream_urls_and_credentials_only_for_docker_hub():
    rules = registry.cache_rules("prod", ["quay.io", "docker.io", "registry.k8s.io", "public.ecr.aws"])
    # CreatePullThroughCacheRule upstreamRegistryUrl values (ECR API reference).
    assert [(r.prefix, r.upstream_url, r.needs_credentials) for r in rules] == [
        ("prod/docker.io", "registry-1.docker.io", True),
        ("prod/public.ecr.aws", "public.ecr.aws", False),
        ("prod/quay.io", "quay.io", False),
        ("prod/registry.k8s.io", "registry.k8s.io", False),
    ]
    with pytest.raises(ValueError, match="can cache"):
        registry.cache_rules("prod", ["gcr.io"])


def test_the_mirror_is_laid_out_as_the_cache_rules_cache():
    mirror = registry.mirror("123456789012", "us-east-1", "prod")
    assert images.mirrored("quay.io/prometheus/statsd-exporter", mirror) == \
        f"{ECR_HOST}/prod/quay.io/prometheus/statsd-exporter"
    # The node role's import policy (images.py) covers exactly the rules' prefixes.
    policy = images.pull_through_cache_policy(mirror, ["quay.io", "docker.io"])
    assert policy["Statement"][0]["Resource"] == [
        f"arn:aws:ecr:us-east-1:123456789012:repository/{r.prefix}/*" for r in registry.cache_rules("prod", [
            "docker.io", "quay.io"])]
    assert registry.registry_host("123456789012", "cn-north-1").endswith(".amazonaws.com.cn")


# --- pure: the lifecycle policy, checked against ECR's documented rules ----------------------------
@pytest.mark.parametrize("keep", [1, 10, 1000])
def test_the_lifecycle_policy_is_one_ecr_accepts(keep):
    policy = registry.lifecycle_policy(keep)
    text = json.dumps(policy)
    assert 100 <= len(text) <= 30720  # PutLifecyclePolicy lifecyclePolicyText length limits
    priorities = [r["rulePriority"] for r in policy["rules"]]
    assert len(set(priorities)) == len(priorities) and priorities == sorted(priorities)
    for rule in policy["rules"]:
        selection = rule["selection"]
        assert rule["action"] == {"type": "expire"}
        if selection["tagStatus"] == "tagged":  # requires a pattern or prefix list
            assert selection.get("tagPatternList") or selection.get("tagPrefixList")
        if selection["tagStatus"] == "untagged":  # must omit both
            assert "tagPatternList" not in selection and "tagPrefixList" not in selection
        if selection["countType"] == "sinceImagePushed":
            assert selection["countUnit"] == "days"
        else:
            assert selection["countType"] == "imageCountMoreThan" and "countUnit" not in selection
    tagged = [r["selection"] for r in policy["rules"] if r["selection"]["tagStatus"] == "tagged"]
    # The deploy records first (tests/test_image_deployments.py), then the newest `keep`.
    assert tagged == [{"tagStatus": "tagged", "tagPatternList": [deployments.TAG_PATTERN],
                       "countType": "imageCountMoreThan", "countNumber": deployments.PROTECTED_COUNT},
                      {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": keep}]
    # "The set of rules must contain a unique set of tag prefixes"; one rule for untagged images.
    patterns = [tuple(r["selection"].get("tagPatternList", ())) for r in policy["rules"]]
    assert len(set(patterns)) == len(patterns)
    assert sum(r["selection"]["tagStatus"] == "untagged" for r in policy["rules"]) == 1
    with pytest.raises(ValueError):
        registry.lifecycle_policy(0)


# --- pure: who may use the repository ---------------------------------------------------------------
# Amazon Inspector's service-linked role, as IAM names it (path /aws-service-role/<service>/), and
# the ECR actions its policy AmazonInspector2ServiceRolePolicy grants it on every repository.
INSPECTOR_ROLE = ("arn:aws:iam::123456789012:role/aws-service-role/inspector2.amazonaws.com/"
                  "AWSServiceRoleForAmazonInspector2")
INSPECTOR_ACTIONS = ("ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:ListImages")


def _condition_holds(condition: dict, context: dict) -> bool:
    """IAM's condition operators the repository policy may use; any other fails the test."""
    for operator, tests in condition.items():
        for key, values in tests.items():
            values = [values] if isinstance(values, str) else values
            actual = context[key]
            if operator == "Bool":
                ok = any(actual == v.lower() for v in values)
            elif operator == "ArnNotLike":  # ArnLike: * and ? wildcards, case-sensitive
                ok = not any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif operator == "ArnNotEquals":
                ok = actual not in values
            else:
                raise AssertionError(f"condition operator {operator} not modelled here")
            if not ok:
                return False
    return True


def _allowed(policy: dict, principal: str, action: str, *, identity_allows: bool = False,
             service_principal: bool = False) -> bool:
    """IAM's decision within the account: a matching Deny wins; else the repository policy or
    the principal's own IAM policies (`identity_allows`) may allow."""
    context = {"aws:PrincipalArn": principal, "aws:PrincipalIsAWSService": str(service_principal).lower()}
    allow = identity_allows
    for s in policy["Statement"]:
        if action not in s["Action"] or not _condition_holds(s.get("Condition", {}), context):
            continue
        if s["Effect"] == "Deny" and s["Principal"] == "*":
            return False
        if s["Effect"] == "Allow" and s["Principal"]["AWS"] == principal:
            allow = True
    return allow


def test_only_the_nodes_pull_and_only_the_ci_role_pushes():
    policy = registry.repository_policy(node_role_arn=NODE_ROLE, push_role_arn=PUSH_ROLE)
    admin = "arn:aws:iam::123456789012:role/admin"  # whose IAM policies allow every ecr: action
    assert _allowed(policy, NODE_ROLE, "ecr:BatchGetImage")
    assert not _allowed(policy, NODE_ROLE, "ecr:PutImage", identity_allows=True)
    # The CI role's own policy has only ecr:GetAuthorizationToken: the repository grants the rest.
    assert _allowed(policy, PUSH_ROLE, "ecr:PutImage") and _allowed(policy, PUSH_ROLE, "ecr:DescribeImages")
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:PutImage", "ecr:UploadLayerPart"):
        assert not _allowed(policy, admin, action, identity_allows=True), action
    # What an operator needs to find a digest to roll back to is left to IAM.
    assert _allowed(policy, admin, "ecr:DescribeImages", identity_allows=True)
    for s in policy["Statement"]:
        assert all("*" not in a for a in s["Action"])


def test_aws_services_and_the_accounts_service_linked_roles_are_not_locked_out():
    """Inspector's enhanced scanning reads the images as its service-linked role, an IAM role
    session (aws:PrincipalIsAWSService false): only the role's path exempts it."""
    policy = registry.repository_policy(node_role_arn=NODE_ROLE, push_role_arn=PUSH_ROLE)
    for action in INSPECTOR_ACTIONS:
        assert _allowed(policy, INSPECTOR_ROLE, action, identity_allows=True), action
    assert not _allowed(policy, INSPECTOR_ROLE, "ecr:PutImage")  # its own policy does not grant it
    # A service principal calling directly is not denied either.
    assert _allowed(policy, "inspector2.amazonaws.com", "ecr:BatchGetImage", identity_allows=True,
                    service_principal=True)
    # A customer role whose name merely looks like one is not exempt, nor one in another account.
    for impostor in ("arn:aws:iam::123456789012:role/aws-service-role-admin",
                     "arn:aws:iam::210987654321:role/aws-service-role/inspector2.amazonaws.com/"
                     "AWSServiceRoleForAmazonInspector2"):
        assert not _allowed(policy, impostor, "ecr:BatchGetImage", identity_allows=True), impostor
    assert registry.service_linked_roles("arn:aws-cn:iam::123456789012:role/x") == \
        "arn:aws-cn:iam::123456789012:role/aws-service-role/*"
    with pytest.raises(ValueError):
        registry.service_linked_roles("arn:aws:iam::123456789012:user/x")


def test_without_a_push_role_nothing_may_push():
    policy = registry.repository_policy(node_role_arn=NODE_ROLE)
    [push_deny] = [s for s in policy["Statement"] if s["Sid"] == "OnlyCiPushes"]
    assert "ArnNotLike" not in push_deny["Condition"] and "ecr:PutImage" in push_deny["Action"]
    assert not any(s["Effect"] == "Allow" and "ecr:PutImage" in s["Action"] for s in policy["Statement"])
    assert not _allowed(policy, INSPECTOR_ROLE, "ecr:PutImage", identity_allows=True)


def test_docker_hub_credentials_become_ecrs_secret_and_errors_never_echo_the_token():
    assert json.loads(registry.credential_secret_value("acme1234:dckr_pat_XYZ")) == {
        "username": "acme1234", "accessToken": "dckr_pat_XYZ"}
    for bad in ("no-colon-token-s3cr3t", "Acme:s3cr3t", "ab:s3cr3t", "acme1234:", "acme1234:s3 cr3t"):
        with pytest.raises(ValueError) as err:
            registry.docker_hub_credentials(bad)
        assert "s3cr3t" not in str(err.value)


# --- pure: the digest ---------------------------------------------------------------------------
def test_a_digest_is_sha256_and_64_lowercase_hex_digits():
    assert digest.check(IMAGE_DIGEST) == IMAGE_DIGEST
    for bad in ("4f" * 32, "sha256:" + "4F" * 32, "sha256:" + "4f" * 31, "sha512:" + "4f" * 64, "sha256:" + "g" * 64):
        with pytest.raises(ValueError, match="sha256:"):
            digest.check(bad)


def test_the_tag_spelling_joins_back_into_the_digest_reference():
    repository, tag = digest.split_for_tag_templates("r.example.com/prod/airflow", IMAGE_DIGEST)
    assert f"{repository}:{tag}" == digest.reference("r.example.com/prod/airflow", IMAGE_DIGEST)


# --- configuration -------------------------------------------------------------------------------
def failure(stack: str, **overrides) -> str:
    with pytest.raises(harness.ProgramError) as err:
        harness.run_program(stack, overrides=overrides)
    return str(err.value)


@pytest.mark.parametrize(("stack", "overrides", "message"), [
    ("prod", {"imageMirror": "harbor.example.com/proxy"}, "imageMirror.*empty while imageRegistry is true"),
    ("dev", {"imageRegistryPushRoleArn": PUSH_ROLE}, "imageRegistryPushRoleArn.*empty unless imageRegistry"),
    ("prod", {"imageRegistryPushRoleArn": "arn:aws:iam::123456789012:user/ci"}, "an IAM role ARN"),
    ("prod", {"imageRegistryKeepImages": "0"}, "imageRegistryKeepImages.*from 1 to 1000"),
    ("dev", {"airflowImageDigest": "latest"}, "airflowImageDigest.*sha256:"),
])
def test_registry_and_digest_keys_are_refused_with_what_is_allowed(stack, overrides, message):
    assert re.search(message, failure(stack, **overrides))


def test_the_registry_needs_docker_hub_credentials_and_refuses_them_without_it():
    project, values, secret_keys = loader.stack_config("prod")
    assert "airflow-eks:dockerHubCredentials" in secret_keys  # the loader's stand-in for prod
    with pytest.raises(harness.ProgramError, match="dockerHubCredentials = \\[secret\\].*username:accessToken"):
        harness.run_program("prod", secrets={"dockerHubCredentials": "not-a-pair"})
    with pytest.raises(harness.ProgramError, match="dockerHubCredentials.*unset unless imageRegistry"):
        harness.run_program("dev", secrets={"dockerHubCredentials": "acme1234:dckr_pat_XYZ"})


# --- the component, as the prod program registers it ------------------------------------------------
def test_prod_owns_an_immutable_scanned_kms_encrypted_repository(programs):
    run = programs["prod"]
    [repo] = run.find(REPOSITORY)
    assert repo.get("name") == "prod/airflow"
    # Immutable but for the deploy records, which move (tests/test_image_deployments.py).
    assert repo.get("imageTagMutability") == "IMMUTABLE_WITH_EXCLUSION"
    assert repo.get("imageTagMutabilityExclusionFilters") == [{"filter": "deployed-*", "filterType": "WILDCARD"}]
    assert repo.get("imageScanningConfiguration") == {"scanOnPush": True}
    [encryption] = repo.get("encryptionConfigurations")
    key = run.one("aws:kms/key:Key", name="airflow-registry-key")
    # The key's ARN as the mock engine gives it (mocks.py: key/<name>-key-id).
    assert encryption == {"encryptionType": "KMS",
                          "kmsKey": f"arn:aws:kms:us-east-1:123456789012:key/{key.name}-key-id"}
    assert key.get("enableKeyRotation") is True
    [lifecycle] = run.find("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert json.loads(lifecycle.get("policy")) == registry.lifecycle_policy(10)  # imageRegistryKeepImages
    assert programs["dev"].find(REPOSITORY) == []  # dev: off unless asked


def test_the_repository_policy_names_the_node_role_the_cluster_created(programs):
    run = programs["prod"]
    [access] = run.find("aws:ecr/repositoryPolicy:RepositoryPolicy")
    node_role = run.one("aws:iam/role:Role", name="airflow-node-role")
    policy = json.loads(access.get("policy"))
    node_role_arn = f"arn:aws:iam::123456789012:role/{node_role.name}-1234567"  # the mock engine's
    assert policy == registry.repository_policy(node_role_arn=node_role_arn)
    assert run.depends_on(access, node_role)


def test_every_public_registry_gets_a_cache_rule_docker_hubs_with_its_secret(programs):
    run = programs["prod"]
    rules = {r.get("ecrRepositoryPrefix"): r for r in run.find(CACHE_RULE)}
    upstreams = images.mirrored_registries(f"{ECR_HOST}/prod", airflow_repository="apache/airflow",
                                           cluster_autoscaler=True, load_balancer_controller=True)
    assert set(rules) == {f"prod/{u}" for u in upstreams}
    # The other secret of prod: the Fernet key's kept copy (keepDataOnDestroy, tests/test_restore.py).
    [secret] = [s for s in run.find("aws:secretsmanager/secret:Secret")
                if s.get("namePrefix").startswith(registry.CREDENTIAL_SECRET_PREFIX)]
    assert "kmsKeyId" not in secret.plain_inputs  # aws/secretsmanager: the cache's role may decrypt it
    assert rules["prod/docker.io"].get("credentialArn") == \
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret/{secret.name}"  # the mock engine's ARN
    assert not [r for p, r in rules.items() if p != "prod/docker.io" and r.get("credentialArn")]
    [version] = [v for v in run.find("aws:secretsmanager/secretVersion:SecretVersion") if secret.urn in v.dependencies
                 or secret.urn in sum(v.property_dependencies.values(), [])]
    # The credentials stay a Pulumi secret: encrypted in state, never shown.
    assert mocks.is_secret(version.inputs["secretString"])
    assert json.loads(mocks.plain(version.inputs["secretString"])) == {
        "username": "standin", "accessToken": loader.DUMMY_SECRET}
    assert run.depends_on(rules["prod/docker.io"], version)


TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"


def test_every_cache_rule_has_a_creation_template_for_exactly_its_prefix(programs):
    """ECR applies a template to the repositories under its prefix, and a pull-through cache's
    template must use the rule's prefix (CreateRepositoryCreationTemplate prefix)."""
    run = programs["prod"]
    rules = {r.get("ecrRepositoryPrefix") for r in run.find(CACHE_RULE)}
    templates = {t.get("prefix"): t for t in run.find(TEMPLATE)}
    assert set(templates) == rules
    key = run.one("aws:kms/key:Key", name="airflow-registry-key")
    key_arn = f"arn:aws:kms:us-east-1:123456789012:key/{key.name}-key-id"  # the mock engine's
    role = run.one("aws:iam/role:Role", name="airflow-cache-template-role")
    for prefix, template in templates.items():
        assert template.get("appliedFors") == ["PULL_THROUGH_CACHE"], prefix
        # The stack's key, as its own repository; the default would be AES-256.
        assert template.get("encryptionConfigurations") == [{"encryptionType": "KMS", "kmsKey": key_arn}]
        assert template.get("customRoleArn") == f"arn:aws:iam::123456789012:role/{role.name}-1234567"
        # ECR refreshes cached tags from upstream: immutable tags could stop it.
        assert template.get("imageTagMutability") == "MUTABLE"
        assert json.loads(template.get("lifecyclePolicy")) == registry.cache_lifecycle_policy()
        assert template.get("resourceTags") == {"project": "airflow-eks", "stack": "prod",
                                                "managed-by": "ecr-pull-through-cache"}
    assert programs["dev"].find(TEMPLATE) == []


def test_the_template_role_is_ecrs_and_may_create_only_the_cache_repositories_with_the_registry_key(programs):
    run = programs["prod"]
    role = run.one("aws:iam/role:Role", name="airflow-cache-template-role")
    trust = json.loads(role.get("assumeRolePolicy"))
    # As ECR's user guide gives it ("Create an IAM role for repository creation templates").
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "ecr.amazonaws.com"},
                                   "Action": ["sts:AssumeRole"]}]
    policy = run.one("aws:iam/rolePolicy:RolePolicy", name="airflow-cache-template-policy")
    statements = {st["Sid"]: st for st in json.loads(policy.get("policy"))["Statement"]}
    key = run.one("aws:kms/key:Key", name="airflow-registry-key")
    assert statements["EncryptThemWithTheRegistryKey"]["Resource"] == [
        f"arn:aws:kms:us-east-1:123456789012:key/{key.name}-key-id"]
    # The permissions ECR's guide lists for the role, minus ecr:ReplicateImage (replication only).
    assert set(statements["EncryptThemWithTheRegistryKey"]["Action"]) == {
        "kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"}
    assert set(statements["CreateCacheRepositories"]["Action"]) == {"ecr:CreateRepository", "ecr:TagResource"}
    prefixes = sorted(r.get("ecrRepositoryPrefix") for r in run.find(CACHE_RULE))
    assert statements["CreateCacheRepositories"]["Resource"] == [
        f"arn:aws:ecr:us-east-1:123456789012:repository/{p}/*" for p in prefixes]
    # Not the stack's own repository: it is no cache.
    assert not any(fnmatch.fnmatchcase("arn:aws:ecr:us-east-1:123456789012:repository/prod/airflow", r)
                   for r in statements["CreateCacheRepositories"]["Resource"])
    for st in statements.values():
        assert "*" not in "".join(st["Action"]) and st["Resource"] != "*"


def test_templates_and_their_role_exist_before_any_node_can_pull(programs):
    """A first pull before its template exists creates the repository with ECR's defaults, for
    good (a template applies at creation only)."""
    run = programs["prod"]
    policy = run.one("aws:iam/rolePolicy:RolePolicy", name="airflow-cache-template-policy")
    groups = run.find("eks:index:ManagedNodeGroup")
    assert groups
    for template in run.find(TEMPLATE):
        assert run.depends_on(template, policy), template.name
        for group in groups:
            assert run.depends_on(group, template), (group.name, template.name)


def test_the_cache_lifecycle_policy_is_one_ecr_accepts_and_expires_only_by_age():
    policy = registry.cache_lifecycle_policy()
    assert 100 <= len(json.dumps(policy)) <= 30720
    [rule] = policy["rules"]
    # tagStatus any: the only rule, so the highest priority, as ECR requires of an `any` rule.
    assert rule["selection"] == {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days",
                                 "countNumber": registry.CACHE_EXPIRY_DAYS}
    # A multi-architecture image: a tagged index and its untagged per-platform images, imported
    # together, go together; nothing imported within the period goes, whatever was imported since.
    now = 1000.0
    cached = [ecr_model.Image("index", "", now - 10, {"v0.28.0"}), ecr_model.Image("amd64", "", now - 10),
              ecr_model.Image("arm64", "", now - 10), *(ecr_model.Image(f"new-{n}", "", now - 1, {f"v{n}"})
                                                       for n in range(50))]
    assert ecr_model.expired(policy, cached, now) == set()
    old = [ecr_model.Image("index", "", now - 181, {"v0.27.0"}), ecr_model.Image("amd64", "", now - 181)]
    assert ecr_model.expired(policy, old + cached[3:], now) == {"index", "amd64"}


def test_the_workflow_pushes_where_the_program_creates_the_repository(programs):
    [repo] = programs["prod"].find(REPOSITORY)
    args = dict(line.split("=", 1) for line in _build_args("prod"))
    assert args["repository"] == repo.get("name")
    assert args["airflow_version"] == manifests.releases(programs["prod"])["airflow"].get("values.airflowVersion")


def _build_args(stack: str) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert image_stack.main(["build-args", stack]) == 0
    return out.getvalue().splitlines()


# --- Airflow by digest: what Kubernetes runs -------------------------------------------------------
def _airflow_containers(objects: list[dict]) -> list[tuple[str, dict]]:
    """Every container of every pod the chart renders (workloads and Jobs), with its owner."""
    found = []
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            spec = charts.pod_spec(obj)
            found += [(f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}", c)
                      for c in [*spec.get("initContainers", []), *spec["containers"]]]
    return found


def _airflow_images(run: harness.Run, objects: list[dict]) -> list[tuple[str, str]]:
    """(where, image) of every container that is not one of the chart's sidecars: StatsD and
    git-sync by their repositories in the values, PgBouncer and its exporter by their tags
    (their images are apache/airflow's on Docker Hub, under airflow-pgbouncer tags)."""
    values = manifests.releases(run)["airflow"].plain_inputs["values"]
    other = {values["images"][key]["repository"] for key in ("statsd", "gitSync")}

    def sidecar(image: str) -> bool:
        repository, _, tag = image.rpartition(":")
        return repository in other or "pgbouncer" in tag

    return [(where, c["image"]) for where, c in _airflow_containers(objects) if not sidecar(c["image"])]


def test_prod_by_digest_pins_the_chart_values_and_shows_the_image(prod_pinned):
    values = manifests.releases(prod_pinned)["airflow"].plain_inputs["values"]
    assert values["images"]["airflow"]["digest"] == values["defaultAirflowDigest"] == IMAGE_DIGEST
    # The stack's own repository, where the image workflow pushed it, not the cache.
    assert values["defaultAirflowRepository"] == f"{ECR_HOST}/prod/airflow"
    assert prod_pinned.outputs["airflowImage"][0] == PINNED
    assert prod_pinned.outputs["airflowImageRepositoryUrl"][0] == f"{ECR_HOST}/prod/airflow"


def test_every_airflow_pod_job_and_task_pod_runs_the_digest(prod_pinned):
    objects = manifests.release_objects(prod_pinned, "airflow")
    airflow = _airflow_images(prod_pinned, objects)
    owners = {where.split("/")[1] for where, _ in airflow}
    # Components, their init containers and the migration Job (prod has no create-user Job: SSO).
    assert {"airflow-scheduler", "airflow-api-server", "airflow-dag-processor", "airflow-triggerer",
            "airflow-run-airflow-migrations"} <= owners
    assert {image for _, image in airflow} == {PINNED}
    # The task pods: the pod template file the scheduler mounts...
    template = manifests.task_pod_template(objects)
    [base] = [c for c in template["spec"]["containers"] if c["name"] == "base"]
    assert base["image"] == PINNED
    # ...and the image the KubernetesExecutor puts in it, from airflow.cfg (kube_config.py:
    # f"{worker_container_repository}:{worker_container_tag}" replaces the template's image).
    [cfg] = [o["data"]["airflow.cfg"] for o in charts.of_kind(objects, "ConfigMap")
             if "airflow.cfg" in o.get("data", {})]
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(cfg)
    section = parser["kubernetes_executor"]
    assert f"{section['worker_container_repository']}:{section['worker_container_tag']}" == PINNED


def test_without_a_digest_the_same_pods_run_the_tag(programs):
    """The control: the same checks find the tag when no digest is set (prod's bootstrap)."""
    objects = manifests.release_objects(programs["prod"], "airflow")
    mirror = f"{ECR_HOST}/prod/docker.io/apache/airflow"
    airflow = {image for _, image in _airflow_images(programs["prod"], objects)}
    assert airflow == {f"{mirror}:{DEFAULT_AIRFLOW}"}
    [base] = [c for c in manifests.task_pod_template(objects)["spec"]["containers"] if c["name"] == "base"]
    assert base["image"] == f"{mirror}:{DEFAULT_AIRFLOW}"


def test_rolling_back_is_setting_the_previous_digest():
    previous = "sha256:" + "0a" * 32
    run = harness.run_program("prod", overrides={"airflowImageDigest": previous})
    values = manifests.releases(run)["airflow"].plain_inputs["values"]
    assert values["images"]["airflow"]["digest"] == previous
    assert run.outputs["airflowImage"][0] == f"{ECR_HOST}/prod/airflow@{previous}"


def test_the_workflows_stack_edit_is_a_digest_the_program_accepts(tmp_path):
    text = (image_stack.ROOT / "Pulumi.prod.yaml").read_text()
    once = image_stack.set_digest(text, IMAGE_DIGEST)
    assert once.count("airflowImageDigest: ") == 1 and once.count("\n") == text.count("\n") + 1
    # Comments kept: the edit adds exactly one line.
    assert [ln for ln in once.splitlines() if ln not in text.splitlines()] == [
        f"  airflow-eks:airflowImageDigest: {IMAGE_DIGEST}"]
    again = image_stack.set_digest(once, "sha256:" + "0a" * 32)
    assert again.count("airflowImageDigest: ") == 1 and "0a" * 32 in again
    assert image_stack.set_digest(again, "sha256:" + "0a" * 32) == again  # unchanged: no pull request
    with pytest.raises(ValueError, match="sha256:"):
        image_stack.set_digest(text, "latest")
    (tmp_path / "Pulumi.yaml").write_text((image_stack.ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.prod.yaml").write_text(once.replace("  airflow-eks:imageRegistry: true",
                                                            "  airflow-eks:airflowVersion: 3.1.7\n"
                                                            "  airflow-eks:imageRegistry: true"))
    assert image_stack.airflow_version("prod", tmp_path) == "3.1.7"  # the stack's own version wins
    assert image_stack.airflow_version("prod") == DEFAULT_AIRFLOW  # else Pulumi.yaml's default


def test_task_pods_run_as_the_images_user():
    """The pods' runAsUser is the UID image/Dockerfile ends with (tests/test_image.py)."""
    assert pod_security.AIRFLOW_UID == 50000


# --- the offline plan's price -------------------------------------------------------------------
def test_the_plan_prices_the_kept_images_the_cache_and_the_secret(programs):
    from tools.plan import cost, model

    prices = cost.load_prices()
    ecr = prices["ecr"]
    got = {i["key"]: i for i in cost.estimate(model.resources(programs["prod"].resources), prices,
                                              day=harness.REFERENCE_DAY)["lineItems"]}
    keep = loader.project_file()["config"]["imageRegistryKeepImages"]["default"]
    # The newest `keep` and the deploy records beyond them (tests/test_image_deployments.py).
    kept = keep + len(deployments.TAGS)
    assert got["ecr:prod/airflow"]["idle"] == round(kept * ecr["airflow_image_gb"] * ecr["storage_gb_month"], 2)
    assert got["ecr-cache"]["idle"] == round(ecr["pull_through_cache_gb"] * ecr["storage_gb_month"], 2)
    # Docker Hub's credentials and the Fernet key's kept copy (keepDataOnDestroy).
    assert got["secrets"]["idle"] == round(2 * prices["secrets_manager_secret_monthly"], 2)
    assert len(programs["prod"].find("aws:secretsmanager/secret:Secret")) == 2
    dev = cost.estimate(model.resources(programs["dev"].resources), prices, day=harness.REFERENCE_DAY)
    assert not [i for i in dev["lineItems"] if i["key"].startswith(("ecr", "secrets"))]


def test_kept_images_are_read_from_the_lifecycle_policy():
    from tools.plan import cost

    assert cost.kept_images(json.dumps(registry.lifecycle_policy(7))) == 7 + len(deployments.TAGS)
    assert cost.kept_images(json.dumps({"rules": [{"selection": {"tagStatus": "untagged",
                                                                  "countType": "sinceImagePushed"}}]})) is None
    # A count rule for some tags only leaves the others unbounded.
    assert cost.kept_images(json.dumps({"rules": [{"selection": {
        "tagStatus": "tagged", "tagPatternList": ["release-*"], "countType": "imageCountMoreThan",
        "countNumber": 5}}]})) is None


def test_the_model_keeps_no_more_images_than_the_plan_prices():
    """The plan's upper bound, checked against the model of ECR (tests/ecr_model.py): many builds,
    every one of them deployed at some point, then the policy."""
    from tools.plan import cost

    policy = registry.lifecycle_policy(5)
    repo = ecr_model.Repository("prod/airflow", mutability="IMMUTABLE_WITH_EXCLUSION",
                                exclusion_filters=registry.mutable_tag_filters(), lifecycle_policy=policy)
    fake = ecr_model.FakeEcr(repo)
    for n in range(30):
        repo.now += 1
        pushed = repo.push_new(f"3.1.8-{n:012x}")
        if n % 7 in (0, 3):
            image_deploys.record(fake, "prod/airflow", pushed)
    for counted in (True, False):
        repo.run_lifecycle(lower_rules_count_matched=counted)
        assert len(repo.images) <= cost.kept_images(json.dumps(policy))


def test_the_deploy_records_the_digest_only_of_a_stack_with_its_own_registry(tmp_path, capsys):
    """deploy.yml's `deployed-image`: the digest comes from the stack's own repository only with
    imageRegistry; a malformed one fails the deploy before anything runs."""
    (tmp_path / "Pulumi.yaml").write_text((image_stack.ROOT / "Pulumi.yaml").read_text())
    prod = (image_stack.ROOT / "Pulumi.prod.yaml").read_text()
    (tmp_path / "Pulumi.prod.yaml").write_text(prod)
    assert image_stack.deployed_digest("prod", tmp_path) == ""  # prod before its first image
    (tmp_path / "Pulumi.prod.yaml").write_text(image_stack.set_digest(prod, IMAGE_DIGEST))
    assert image_stack.deployed_digest("prod", tmp_path) == IMAGE_DIGEST
    (tmp_path / "Pulumi.prod.yaml").write_text(image_stack.set_digest(prod, IMAGE_DIGEST).replace(
        "airflow-eks:imageRegistry: true", "airflow-eks:imageRegistry: false"))
    assert image_stack.deployed_digest("prod", tmp_path) == ""  # a digest of a registry the stack does not own
    (tmp_path / "Pulumi.prod.yaml").write_text(prod.replace(
        "airflow-eks:imageRegistry: true", "airflow-eks:imageRegistry: true\n  airflow-eks:airflowImageDigest: latest"))
    with pytest.raises(ValueError, match="sha256:"):
        image_stack.deployed_digest("prod", tmp_path)
