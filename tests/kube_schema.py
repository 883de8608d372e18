"""Kubernetes OpenAPI validation of manifests (kubernetes-validate's strict schemas).

kubernetes_validate.validate() re-reads its multi-megabyte definitions file for every object;
this keeps one validator per (minor, kind, apiVersion) for the session and otherwise does
what it does: the newest schema set not newer than the requested minor, strict (unknown
fields are errors), JSON Schema 2020-12 with the definitions as a registry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import jsonschema
from kubernetes_validate import utils
from packaging.version import Version
from referencing import Registry, Resource


def schema_minor(minor: str) -> str:
    """The schema set used for `minor` (e.g. 1.34 -> 1.34.0); fails for a minor newer than
    the installed kubernetes-validate knows: upgrade it rather than validate against older."""
    versions = [v for v in utils.all_versions() if Version(v).release[:2] <= Version(minor).release[:2]]
    if not versions or Version(versions[-1]).release[:2] != Version(minor).release[:2]:
        raise AssertionError(f"kubernetes-validate has no schemas for Kubernetes {minor}")
    return versions[-1]


@functools.lru_cache(maxsize=8)
def _registry(version: str) -> Registry:
    definitions = utils.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    return Resource.from_contents(definitions) @ Registry()


@functools.lru_cache(maxsize=256)
def _validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # rbac.authorization.k8s.io/v1 -> rbac-v1
    schema = utils.schema_contents(
        f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{group_version}.json", version)
    registry = Resource.from_contents(schema) @ _registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def custom_resource_schema(obj: dict, crds: Sequence[dict]) -> dict | None:
    """The openAPIV3Schema a CustomResourceDefinition declares for `obj`'s group, version and kind."""
    group, _, version = obj["apiVersion"].rpartition("/")
    for crd in crds:
        spec = crd["spec"]
        if (spec["group"], spec["names"]["kind"]) != (group, obj["kind"]):
            continue
        for v in spec["versions"]:
            if v["name"] == version and v.get("served", True):
                return v["schema"]["openAPIV3Schema"]
    return None


def errors(obj: dict, minor: str, crds: Sequence[dict] = ()) -> list[str]:
    """Schema violations of one manifest, as `Kind/name: path: message`; [] when valid. Kinds
    Kubernetes does not define are checked against their CustomResourceDefinition in `crds`."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    try:
        validator = _validator(schema_minor(minor), obj["kind"], obj["apiVersion"])
    except FileNotFoundError:
        schema = custom_resource_schema(obj, crds)
        if schema is None:
            return [f"{where}: no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes {minor} or its CRDs"]
        validator = jsonschema.Draft202012Validator(schema)
    return [f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
