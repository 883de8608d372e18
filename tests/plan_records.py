"""Synthetic `Registered` records for the offline-plan tests (no engine involved)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from airflow_eks.offline import mocks
from tools.plan import build, model

STACK = "dev"


def urn(typ: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::airflow-eks::{typ}::{name}"


def rec(typ: str, name: str, inputs: dict | None = None, *, parent: str = "", deps: tuple[str, ...] = (),
        prop_deps: dict[str, list[str]] | None = None, custom: bool = True, provider: str = "") -> mocks.Registered:
    return mocks.Registered(typ=typ, name=name, urn=urn(typ, name), inputs=inputs or {}, parent=parent,
                            dependencies=list(deps), property_dependencies=prop_deps or {}, provider=provider,
                            custom=custom)


def entries(*records: mocks.Registered) -> list[dict]:
    return model.resources(records)


def plan_of(records: list[mocks.Registered], outputs: dict[str, tuple[Any, bool]] | None = None, **kw: Any) -> dict:
    """A whole plan of synthetic records, assembled exactly as for a real run."""
    return build.assemble(SimpleNamespace(resources=records, outputs=outputs or {}), STACK, **kw)


def node_group(name: str, instance_type: str, capacity: str, low: int, desired: int, high: int,
               deps: tuple[str, ...] = (), **inputs: Any) -> mocks.Registered:
    return rec("eks:index:ManagedNodeGroup", name, {
        "instanceTypes": [instance_type, "m5.large"], "capacityType": capacity,
        "scalingConfig": {"minSize": float(low), "desiredSize": float(desired), "maxSize": float(high)}, **inputs,
    }, custom=False, deps=deps)


def dev_like() -> list[mocks.Registered]:
    """The dev stack's billable shape: 1 NAT + EIP, spot t3.large system node, db.t4g.micro."""
    return [
        rec("eks:index:Cluster", "eks", {"version": "1.35", "upgradePolicy": {"supportType": "STANDARD"}},
            custom=False),
        rec("aws:ec2/natGateway:NatGateway", "nat-0"),
        rec("aws:ec2/eip:Eip", "nat-eip-0", {"domain": "vpc"}),
        node_group("system", "t3.large", "SPOT", 1, 1, 2),
        node_group("spot", "m6i.large", "SPOT", 0, 0, 4),
        rec("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.micro", "allocatedStorage": 20.0,
                                                "storageType": "gp3", "multiAz": False}),
        rec("kubernetes:helm.sh/v3:Release", "airflow", {
            "chart": "airflow", "values": {"executor": "KubernetesExecutor",
                                           "triggerer": {"persistence": {"size": "5Gi"}}}}),
        rec("aws:kms/key:Key", "key"),
        rec("aws:s3/bucket:Bucket", "logs"),
    ]
