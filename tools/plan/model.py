"""Recorded resources -> the plan's deterministic, secret-free JSON model.

Input: the `Registered` records of airflow_eks/offline/mocks.py (what the program registered under the
mock engine). Output: plain dicts sorted by URN, with every secret replaced by `[secret]`,
integral floats as ints (the engine sends numbers as floats) and repository paths made
relative, so the same program gives the same JSON on any machine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from airflow_eks.offline import mocks

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "[secret]"
STACK_TYPE = "pulumi:pulumi:Stack"

# Inputs shown as the "key settings" of a plan: what a reviewer checks first, per type.
KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/natGateway:NatGateway": ("connectivityType",),
    "eks:index:Cluster": ("version", "endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs",
                          "enabledClusterLogTypes", "authenticationMode"),
    "eks:index:ManagedNodeGroup": ("instanceTypes", "capacityType", "scalingConfig", "diskSize", "amiType",
                                   "taints"),
    "aws:eks/addon:Addon": ("addonName", "addonVersion", "configurationValues"),
    "aws:rds/instance:Instance": ("snapshotIdentifier", "engine", "engineVersion", "instanceClass", "allocatedStorage",
                                  "maxAllocatedStorage", "storageType", "multiAz", "storageEncrypted",
                                  "publiclyAccessible", "deletionProtection", "backupRetentionPeriod",
                                  "skipFinalSnapshot", "finalSnapshotIdentifier", "deleteAutomatedBackups"),
    "aws:s3/bucket:Bucket": ("forceDestroy",),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "kubernetes:helm.sh/v3:Release": ("chart", "version", "namespace", "repositoryOpts.repo"),
    "kubernetes:networking.k8s.io/v1:Ingress": ("spec.ingressClassName", "metadata.annotations"),
    "aws:acm/certificate:Certificate": ("domainName", "validationMethod"),
    "aws:route53/record:Record": ("name", "type", "zoneId"),
    # metrics: amp (components/metrics.py)
    "aws:amp/workspace:Workspace": ("alias", "kmsKeyArn"),
    "aws:amp/scraper:Scraper": ("alias", "source.eks.subnetIds", "roleConfiguration"),
    "aws:sns/topic:Topic": ("kmsMasterKeyId",),
    # imageRegistry (components/registry.py)
    "aws:ecr/repository:Repository": ("name", "imageTagMutability", "imageTagMutabilityExclusionFilters",
                                      "imageScanningConfiguration", "encryptionConfigurations"),
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": ("ecrRepositoryPrefix", "upstreamRegistryUrl"),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": ("prefix", "appliedFors", "imageTagMutability",
                                                                      "encryptionConfigurations"),
}


def clean(value: Any) -> Any:
    """Secrets masked, integral floats as ints, absolute repository paths relative."""
    if mocks.is_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and str(ROOT) in value:
        return value.replace(str(ROOT), "<repo>")
    return value


def provider_urn(reference: str) -> str:
    """`urn::id` provider reference -> URN ('' for the default provider)."""
    return reference.rsplit("::", 1)[0] if reference else ""


def _urns(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {u for v in value.values() for u in _urns(v)}
    if isinstance(value, list):
        return {u for v in value for u in _urns(v)}
    return {value} if isinstance(value, str) and value.startswith("urn:pulumi:") else set()


def dependencies(record: Any) -> list[str]:
    """Everything the engine waits for before creating `record`: explicit and input
    dependencies, its provider (configured from other resources' outputs), and resources
    passed by reference. The SDK leaves references out of a remote component's dependency
    list (pulumi/runtime/resource.py, exclude_resource_refs_from_deps), yet serializing one
    awaits the referenced resource's URN, i.e. its creation: `ManagedNodeGroup(cluster=...)`
    waits for the cluster. The mocks record such a reference as the referenced URN."""
    deps = set(record.dependencies) | {u for us in record.property_dependencies.values() for u in us}
    deps |= _urns(mocks.plain(record.inputs))
    if record.provider:
        deps.add(provider_urn(record.provider))
    deps.discard(record.urn)
    return sorted(deps)


def _options(record: Any) -> dict:
    options = record.options or {}
    kept = {k: v for k, v in options.items() if k != "custom_timeouts" and v not in (False, [], "", None)}
    timeouts = {k: v for k, v in (options.get("custom_timeouts") or {}).items() if v}
    if timeouts:
        kept["custom_timeouts"] = timeouts
    return clean(kept)


def resource_entry(record: Any) -> dict:
    return {
        "urn": record.urn,
        "type": record.typ,
        "name": record.name,
        "parent": "" if record.parent.split("::")[-2:-1] == [STACK_TYPE] else record.parent,
        "custom": bool(record.custom),
        "provider": provider_urn(record.provider),
        "dependencies": dependencies(record),
        "options": _options(record),
        "inputs": clean(record.inputs),
    }


def resources(records: Iterable[Any]) -> list[dict]:
    return sorted((resource_entry(r) for r in records), key=lambda e: e["urn"])


def outputs(exports: dict[str, tuple[Any, bool]]) -> dict[str, Any]:
    return {name: SECRET if is_secret else clean(value) for name, (value, is_secret) in sorted(exports.items())}


def counts(entries: Iterable[dict]) -> dict[str, int]:
    return dict(sorted(Counter(e["type"] for e in entries).items()))


lookup = mocks.lookup

RDS_INSTANCE = "aws:rds/instance:Instance"
S3_BUCKET = "aws:s3/bucket:Bucket"
# One per bucket the stack configures, created or adopted (components/buckets.py).
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


def data_sources(entries: list[dict]) -> dict[str, list[dict]]:
    """Where the stack's data comes from: each database new or restored from a snapshot, each
    bucket new or adopted (an existing bucket the stack configures but never created)."""
    by_urn = {e["urn"]: e for e in entries}
    databases = [{"resource": e["name"], "snapshot": e["inputs"].get("snapshotIdentifier")}
                 for e in entries if e["type"] == RDS_INSTANCE]
    buckets = []
    for e in entries:
        if e["type"] != S3_PUBLIC_ACCESS_BLOCK:
            continue
        created = [by_urn[u] for u in e["dependencies"] if by_urn.get(u, {}).get("type") == S3_BUCKET]
        buckets.append({"resource": created[0]["name"], "bucketPrefix": created[0]["inputs"].get("bucketPrefix")}
                       if created else {"resource": e["name"].removesuffix("-public-access"),
                                        "adopted": e["inputs"].get("bucket")})
    return {"databases": databases, "buckets": sorted(buckets, key=lambda b: b["resource"])}


def key_settings(entry: dict) -> dict[str, Any]:
    wanted = KEY_INPUTS.get(entry["type"], ())
    found = {path: lookup(entry["inputs"], path) for path in wanted}
    return {k: v for k, v in found.items() if v is not None}
