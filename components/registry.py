"""ImageRegistry: the stack's own ECR registry (imageRegistry; airflow_eks/image/registry.py).

Owns the repository the image workflow pushes the Airflow image to (`<stack>/airflow`), its
customer-managed KMS key, lifecycle and repository policies, and one pull-through cache rule
per public registry the stack pulls from, with the Secrets Manager secret ECR's Docker Hub
rule authenticates with, and with a repository creation template each. The repositories ECR
creates on a first pull through a rule are ECR's, not the stack's: the nodes create them (the
node role may, exactly there: components/cluster.py), with the template's settings (the same
KMS key, mutable tags, a lifecycle policy, the stack's tags), and `pulumi destroy` leaves them
(docs/image.md).

Scanning is the repository's scan on push (basic scanning), not a registry scanning
configuration: that is one per account and region, so a stack owning it would overwrite the
account's (and another stack's) and reset it on destroy. An account that turned on enhanced
scanning (Amazon Inspector) has that override scan on push for every repository, this one
included, which only scans more. The image workflow also scans with trivy before it pushes.

Does not own the nodes' pull rights (AmazonEC2ContainerRegistryReadOnly and the cache import
policy on the node role) nor the CI role: its ARN comes in as configuration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from airflow_eks import images
from airflow_eks.config import ImageRegistrySettings
from airflow_eks.image import registry


@dataclass
class ImageRegistryArgs:
    settings: ImageRegistrySettings
    upstreams: Sequence[str]
    """The public registries the stack pulls through its mirror: one cache rule each."""
    node_role_arn: pulumi.Input[str]
    """The role the kubelet pulls with: the repository policy lets it pull."""
    project: str
    stack: str
    tags: Mapping[str, str] = field(default_factory=dict)
    """The stack's tags: the provider's default tags do not reach the repositories ECR creates."""


class ImageRegistry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    """Where the image workflow pushes (`<account>.dkr.ecr.<region>.amazonaws.com/<stack>/airflow`)."""
    repository_arn: pulumi.Output[str]
    pull_through: list[pulumi.Resource]
    """The cache rules and their creation templates: whatever pulls a public image (every
    workload) must wait for these, or a first pull creates a repository without the template."""

    def __init__(self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow-eks:registry:ImageRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        key = aws.kms.Key(f"{name}-registry-key",
                          description="Encryption of the stack's Airflow image repository and pull-through caches",
                          enable_key_rotation=True, deletion_window_in_days=30, opts=child)
        repository = aws.ecr.Repository(
            f"{name}-image",
            # Fixed: the image workflow pushes to it by name (<stack>/airflow).
            name=registry.repository_name(settings.namespace),
            # A tag names one image for good: a digest the stack runs can never be re-pushed
            # under a tag a reviewer saw, and the workflow's tags (version and content hash)
            # only ever describe one build. Except the deploy records (deployed-*), which move
            # from digest to digest and name no build (airflow_eks/image/deployments.py).
            image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
            image_tag_mutability_exclusion_filters=[
                aws.ecr.RepositoryImageTagMutabilityExclusionFilterArgs(filter=f["filter"], filter_type=f["filterType"])
                for f in registry.mutable_tag_filters()],
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=key.arn)],
            # Images are build outputs: the workflow rebuilds them from git, so a teardown takes
            # them along instead of failing on a non-empty repository.
            force_delete=True,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(f"{name}-image-lifecycle", repository=repository.name,
                                policy=json.dumps(registry.lifecycle_policy(settings.keep_images)), opts=child)
        push_role = settings.push_role_arn
        aws.ecr.RepositoryPolicy(
            f"{name}-image-access", repository=repository.name,
            policy=pulumi.Output.from_input(args.node_role_arn).apply(
                lambda node_role: json.dumps(registry.repository_policy(node_role_arn=node_role,
                                                                        push_role_arn=push_role))),
            opts=child,
        )

        rules = registry.cache_rules(settings.namespace, args.upstreams)
        credential = self._credentials(name, rules, args, child)
        templates = self._templates(name, rules, key, args, child)
        self.pull_through = [*templates]
        for rule in rules:
            needs = credential if rule.needs_credentials else None
            self.pull_through.append(aws.ecr.PullThroughCacheRule(
                f"{name}-cache-{rule.upstream.replace('.', '-')}",
                ecr_repository_prefix=rule.prefix,
                upstream_registry_url=rule.upstream_url,
                credential_arn=needs[0].arn if needs else None,
                # ECR reads the secret's value when it creates the rule: wait for the version.
                opts=child.merge(pulumi.ResourceOptions(depends_on=[needs[1]])) if needs else child,
            ))

        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn})

    def _templates(self, name: str, rules: Sequence[registry.CacheRule], key: aws.kms.Key,
                   args: ImageRegistryArgs, child: pulumi.ResourceOptions
                   ) -> list[aws.ecr.RepositoryCreationTemplate]:
        """One repository creation template per cache rule, its prefix the rule's (a template
        applies to the repositories under exactly its prefix), and the role ECR creates the
        repositories with: a template that encrypts with a customer managed key or tags needs one
        (RepositoryCreationTemplate custom_role_arn). Same key as the stack's own repository: one
        key, one trust boundary (the stack's nodes pull both), no second $1 a month."""
        if not rules:
            return []
        role = aws.iam.Role(f"{name}-cache-template-role",
                            description="ECR creates the stack's pull-through cache repositories with this role",
                            assume_role_policy=json.dumps(registry.cache_template_trust()), opts=child)
        arns = images.cache_repository_arns(args.settings.mirror, [r.upstream for r in rules])
        grants = aws.iam.RolePolicy(
            f"{name}-cache-template-policy", role=role.id,
            policy=key.arn.apply(lambda key_arn: json.dumps(
                registry.cache_template_role_policy(key_arn=key_arn, repository_arns=arns))),
            opts=child)
        lifecycle = json.dumps(registry.cache_lifecycle_policy())
        # ECR assumes the role when a first pull creates a repository: its policy must be there.
        after_grants = child.merge(pulumi.ResourceOptions(depends_on=[grants]))
        return [aws.ecr.RepositoryCreationTemplate(
            f"{name}-cache-template-{rule.upstream.replace('.', '-')}",
            prefix=rule.prefix,
            applied_fors=list(registry.CACHE_TEMPLATE_APPLIED_FOR),
            description=f"Pull-through cache repositories of {rule.upstream} (airflow-eks stack {args.stack})",
            custom_role_arn=role.arn,
            encryption_configurations=[aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=key.arn)],
            image_tag_mutability=registry.CACHE_TAG_MUTABILITY,
            lifecycle_policy=lifecycle,
            resource_tags=registry.cache_repository_tags(args.tags),
            opts=after_grants,
        ) for rule in rules]

    def _credentials(self, name: str, rules: Sequence[registry.CacheRule], args: ImageRegistryArgs,
                     child: pulumi.ResourceOptions
                     ) -> tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion] | None:
        """The Docker Hub credentials, where ECR reads them. The value comes from a Pulumi secret
        and stays one: encrypted in the stack's config and state, shown nowhere. (A write-only
        argument would not keep it out of Pulumi's state either: Pulumi records every input.)
        The default aws/secretsmanager key, not a customer key: ECR's pull-through cache
        service-linked role is granted only secretsmanager:GetSecretValue on
        ecr-pullthroughcache/* secrets (AWSECRPullThroughCache_ServiceRolePolicy), with no
        kms:Decrypt on a key of ours."""
        if not any(rule.needs_credentials for rule in rules):
            return None
        credentials = args.settings.docker_hub_credentials
        if credentials is None:
            raise ValueError("Docker Hub's cache rule needs docker_hub_credentials (config.load refuses this)")
        secret = aws.secretsmanager.Secret(
            f"{name}-docker-hub",
            # ECR accepts only secrets under this prefix; the provider appends a unique suffix,
            # so a re-created stack never waits for the old name's recovery window.
            name_prefix=f"{registry.CREDENTIAL_SECRET_PREFIX}{args.project}-{args.stack}-docker-hub-",
            description="Docker Hub credentials of the stack's ECR pull-through cache (dockerHubCredentials)",
            opts=child,
        )
        version = aws.secretsmanager.SecretVersion(
            f"{name}-docker-hub", secret_id=secret.id,
            secret_string=pulumi.Output.secret(credentials.apply(registry.credential_secret_value)),
            opts=child,
        )
        return secret, version
