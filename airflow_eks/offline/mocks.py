"""Pulumi mock engine for offline tests: records every registration, models pulumi-eks.

pulumi-eks components are *remote*: under set_mocks the Node.js plugin that would create
their children never runs, so `cluster.eks_cluster.name` would be None. The mocks below
return resource references for the children program code reads (the technique in
shared/docs/pulumi-notes.md section 2), and RefSafeMockMonitor downgrades resource
references in inputs to IDs/URNs so rehydration never crosses event loops.

Every registration is kept as a `Registered` record: type, name, URN, raw inputs (secret
markers intact), parent, dependencies, provider and whether it is a custom resource.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2

# Wire constants of the Pulumi RPC protocol (pulumi/runtime/rpc.py).
SIG = "4dabf18193072939515e22adb298388d"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

ACCOUNT = "123456789012"
# The version of the mock account's DB snapshots (getSnapshot): a minor of the default major.
SNAPSHOT_ENGINE_VERSION = "16.8"
REGION_AZS = ("a", "b", "c", "d", "e", "f")


def zone_id(az_letter: str) -> str:
    """The mock account's zone ID of an AZ: `c` is `use1-az3` (one EKS does not support)."""
    return f"use1-az{REGION_AZS.index(az_letter) + 1}"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG) == SECRET_SIG


def plain(value: Any) -> Any:
    """The value with every secret marker removed (for asserting on content)."""
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def secret_paths(value: Any, path: str = "") -> list[str]:
    """Paths (a.b[0].c) of the values that are marked secret."""
    if is_secret(value):
        return [path or "."]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in secret_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in secret_paths(v, f"{path}[{i}]")]
    return []


def contains_text(value: Any, needle: str, *, outside_secrets: bool = True) -> bool:
    """Whether `needle` occurs in any string of `value` (by default: not counting secret parts)."""
    if is_secret(value):
        return False if outside_secrets else contains_text(value["value"], needle, outside_secrets=False)
    if isinstance(value, dict):
        return any(contains_text(k, needle) or contains_text(v, needle, outside_secrets=outside_secrets)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(contains_text(v, needle, outside_secrets=outside_secrets) for v in value)
    return isinstance(value, str) and needle in value


def lookup(inputs: Any, path: str, default: Any = None) -> Any:
    """`inputs["a"]["b"]` for the path `a.b`, or `default` where any step is missing."""
    node: Any = inputs
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


@dataclass
class Registered:
    typ: str
    name: str
    urn: str
    inputs: dict
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    custom: bool
    options: dict = field(default_factory=dict)

    @property
    def plain_inputs(self) -> dict:
        return plain(self.inputs)

    def get(self, path: str, default: Any = None) -> Any:
        """Dotted lookup in the plain inputs: `scalingConfig.maxSize`."""
        return lookup(self.plain_inputs, path, default)


def _refs_to_ids(v: struct_pb2.Value, found: list[str]) -> None:
    """Replace resource references by their ID (or URN) and collect the referenced URNs: the
    SDK leaves references out of a remote component's dependency list, but the engine still
    waits for what an input refers to (e.g. a node group's `cluster`)."""
    kind = v.WhichOneof("kind")
    if kind == "struct_value":
        fields = v.struct_value.fields
        if SIG in fields and fields[SIG].string_value == RESOURCE_SIG:
            found.append(fields["urn"].string_value)
            v.string_value = (fields["id"].string_value if "id" in fields else "") or fields["urn"].string_value
            return
        for x in fields.values():
            _refs_to_ids(x, found)
    elif kind == "list_value":
        for x in v.list_value.values:
            _refs_to_ids(x, found)


class RefSafeMockMonitor(MockMonitor):
    """MockMonitor that records registrations and never rehydrates resource references."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.records: list[Registered] = []
        self.dependencies: dict[str, list[str]] = {}
        self._pending: dict[tuple[str, str], dict] = {}
        self.registered_outputs: dict[str, dict] = {}
        """A component's `register_outputs`, by URN (secret markers intact)."""

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        req = resource_pb2.RegisterResourceRequest()
        req.CopyFrom(request)
        referenced: list[str] = []
        for x in req.object.fields.values():
            _refs_to_ids(x, referenced)
        urn = self.make_urn(req.parent, req.type, req.name)
        deps = list(dict.fromkeys([*req.dependencies, *referenced]))
        self.dependencies[urn] = deps
        self._pending[(req.type, req.name)] = {
            "urn": urn, "parent": req.parent, "dependencies": deps,
            "property_dependencies": {k: list(v.urns) for k, v in req.propertyDependencies.items()},
            "custom": req.custom, "provider": req.provider,
            "options": {
                "protect": req.protect if req.HasField("protect") else False,
                "ignore_changes": list(req.ignoreChanges),
                "delete_before_replace": req.deleteBeforeReplace,
                "replace_on_changes": list(req.replaceOnChanges),
                "retain_on_delete": req.retainOnDelete if req.HasField("retainOnDelete") else False,
                "custom_timeouts": {"create": req.customTimeouts.create, "update": req.customTimeouts.update,
                                    "delete": req.customTimeouts.delete},
                "aliases": [str(a) for a in req.aliases],
            },
        }
        return super().RegisterResource(req)

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        from pulumi.runtime import rpc

        self.registered_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)

    def Call(self, request):  # noqa: N802 - gRPC method name; MockMonitor has none
        from pulumi.runtime import rpc
        from pulumi.runtime.sync_await import _sync_await

        args = rpc.deserialize_properties(request.args)
        ret = self.mocks.call(pulumi.runtime.MockCallArgs(token=request.tok, args=args, provider=request.provider))
        if isinstance(ret, tuple):
            ret = ret[0]
        return resource_pb2.CallResponse(**{"return": _sync_await(rpc.serialize_properties(ret, {}))})


class Mocks(pulumi.runtime.Mocks):
    """Realistic outputs per type, and pulumi-eks children as resource references."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.monitor: RefSafeMockMonitor | None = None
        self.calls: list[tuple[str, dict]] = []
        """Every invoke: (token, args)."""

    # -- helpers ---------------------------------------------------------------------
    def _child(self, parent_type: str, typ: str, name: str, id_: str, state: dict) -> dict:
        urn = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{parent_type}${typ}::{name}"
        self.monitor.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        return {SIG: RESOURCE_SIG, "urn": urn, "id": id_}

    def _arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{ACCOUNT}:{resource}"

    # -- Mocks API -------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        self.calls.append((token, dict(args.args)))
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            excluded = set(args.args.get("excludeZoneIds") or [])
            zones = [(f"{self.region}{s}", zone_id(s)) for s in REGION_AZS if zone_id(s) not in excluded]
            # The mock account opted into a Local Zone: AWS lists it (first, by name) unless
            # the lookup filters on opt-in-status.
            only_azs = {"name": "opt-in-status", "values": ["opt-in-not-required"]} in (args.args.get("filters") or [])
            if not only_azs:
                zones.insert(0, (f"{self.region}-bos-1a", "use1-bos1-az1"))
            return {"names": [n for n, _ in zones], "zoneIds": [z for _, z in zones],
                    "id": self.region, "groupNames": [self.region]}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDA", "id": ACCOUNT}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:rds/getSnapshot:getSnapshot":
            # A final snapshot of this program's database at the default major (dbEngineVersion 16):
            # available, encrypted with aws/rds, the smallest storage the program allocates.
            requested = str(args.args.get("dbSnapshotIdentifier") or "")
            name = requested.rsplit(":snapshot:", 1)[-1]
            return {"dbSnapshotIdentifier": name, "dbSnapshotArn": self._arn("rds", f"snapshot:{name}"),
                    "engine": "postgres", "engineVersion": SNAPSHOT_ENGINE_VERSION, "encrypted": True,
                    "allocatedStorage": 20, "status": "available", "snapshotType": "manual",
                    "kmsKeyId": self._arn("kms", "key/0f1e2d3c-aaaa-bbbb-cccc-0c1d2e3f4a5b"),
                    "storageType": "gp3", "port": 5432, "id": name}
        if token == "aws:s3/getBucket:getBucket":
            bucket = str(args.args.get("bucket") or "")
            return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "bucketRegion": self.region,
                    "region": self.region, "id": bucket,
                    "bucketRegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com"}
        if token == "aws:lb/getHostedZoneId:getHostedZoneId":
            # The ALB alias zone of us-east-1 (AWS General Reference, "Elastic Load Balancing endpoints").
            return {"id": "Z35SXDOTRQ7X7K", "loadBalancerType": args.args.get("loadBalancerType")}
        if token == "eks:index:Cluster/getKubeconfig":
            return {"result": json.dumps({"apiVersion": "v1", "kind": "Config"})}
        return {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        pending = self.monitor._pending.pop((args.typ, args.name), None) if self.monitor else None
        id_, state = self._state(args)
        if pending is not None:
            self.monitor.records.append(Registered(
                typ=args.typ, name=args.name, urn=pending["urn"], inputs=args.inputs,
                parent=pending["parent"], dependencies=pending["dependencies"],
                property_dependencies=pending["property_dependencies"], provider=pending["provider"],
                custom=pending["custom"], options=pending["options"],
            ))
        return id_, state

    def _state(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        id_ = f"{name}-id"
        if typ == "eks:index:Cluster":
            return self._eks_cluster(name, inputs)
        if typ == "eks:index:ManagedNodeGroup":
            return self._managed_node_group(name, inputs)
        extra: dict[str, Any] = {}
        if typ.startswith("aws:"):
            resource = typ.split("/")[-1].split(":")[0]
            extra["arn"] = inputs.get("arn") or self._arn(typ.split(":")[1].split("/")[0], f"{resource}/{name}")
        if typ == "aws:s3/bucket:Bucket" or typ == "aws:s3/bucketV2:BucketV2":
            bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}20261123000000"
            id_ = bucket
            extra.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}",
                         bucketRegionalDomainName=f"{bucket}.s3.{self.region}.amazonaws.com")
        elif typ == "aws:iam/role:Role":
            role = inputs.get("name") or f"{name}-1234567"
            id_ = role
            extra.update(name=role, arn=f"arn:aws:iam::{ACCOUNT}:role/{role}", uniqueId=f"AROA{name.upper()}")
        elif typ == "aws:iam/policy:Policy":
            extra.update(arn=f"arn:aws:iam::{ACCOUNT}:policy/{name}", name=inputs.get("name") or name)
        elif typ == "aws:rds/instance:Instance":
            host = f"{name}.abcdefghijkl.{self.region}.rds.amazonaws.com"
            extra.update(address=host, endpoint=f"{host}:5432", port=inputs.get("port") or 5432,
                         dbName=inputs.get("dbName"), identifier=inputs.get("identifier") or f"{name}-db")
        elif typ in ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup"):
            id_ = inputs.get("name") or f"{name}-1234567"  # auto-named like the provider does
            extra["name"] = id_
        elif typ == "aws:kms/key:Key":
            id_ = f"{name}-key-id"
            extra["keyId"] = id_
            extra["arn"] = self._arn("kms", f"key/{id_}")
        elif typ == "aws:ecr/repository:Repository":
            repo = inputs.get("name") or f"{name}-1234567"
            id_ = repo
            extra.update(name=repo, registryId=ACCOUNT, arn=self._arn("ecr", f"repository/{repo}"),
                         repositoryUrl=f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{repo}")
        elif typ == "aws:amp/workspace:Workspace":
            id_ = f"ws-{name}"
            extra.update(arn=self._arn("aps", f"workspace/{id_}"),
                         prometheusEndpoint=f"https://aps-workspaces.{self.region}.amazonaws.com/workspaces/{id_}/")
        elif typ == "aws:amp/scraper:Scraper":
            id_ = f"s-{name}"
            extra.update(arn=self._arn("aps", f"scraper/{id_}"),
                         roleArn=f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/scraper.aps.amazonaws.com/"
                                 f"AWSServiceRoleForAmazonPrometheusScraper_{name}")
        elif typ == "aws:secretsmanager/secret:Secret":
            # Auto-named like the provider does from name_prefix.
            extra["name"] = inputs.get("name") or f"{inputs.get('namePrefix', name)}20261123000000"
        elif typ == "aws:sns/topic:Topic":
            id_ = extra["arn"] = f"arn:aws:sns:{self.region}:{ACCOUNT}:{name}-1234567"
        elif typ == "aws:ec2/vpc:Vpc":
            id_ = f"vpc-{name}"
        elif typ == "aws:ec2/subnet:Subnet":
            id_ = f"subnet-{name}"
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            id_ = f"lt-{name}"
            extra.update(latestVersion=1, defaultVersion=1)
        elif typ == "aws:ec2/eip:Eip":
            id_ = f"eipalloc-{name}"
            extra.update(allocationId=id_, publicIp="198.51.100.10")
        elif typ == "aws:ec2/natGateway:NatGateway":
            id_ = f"nat-{name}"
        elif typ == "aws:ec2/internetGateway:InternetGateway":
            id_ = f"igw-{name}"
        elif typ == "aws:ec2/routeTable:RouteTable":
            id_ = f"rtb-{name}"
        elif typ == "aws:ec2/securityGroup:SecurityGroup":
            id_ = f"sg-{name}"
        elif typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            extra.update(associationArn=self._arn("eks", f"podidentityassociation/{name}"),
                         associationId=f"a-{name}")
        elif typ == "aws:acm/certificate:Certificate":
            domain = inputs.get("domainName")
            extra["domainValidationOptions"] = [{
                "domainName": domain, "resourceRecordName": f"_0123abcd.{domain}.",
                "resourceRecordType": "CNAME", "resourceRecordValue": "_4567efab.mock.acm-validations.aws."}]
            extra["arn"] = self._arn("acm", "certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
        elif typ == "aws:route53/record:Record":
            extra["fqdn"] = str(inputs.get("name") or name).rstrip(".")
        elif typ == "random:index/randomPassword:RandomPassword":
            length = int(inputs.get("length") or 16)
            extra["result"] = ("Pw0rd" + name.replace("-", "") * 8)[:length].ljust(length, "x")
            extra["bcryptHash"] = "$2a$10$mock"
        elif typ == "random:index/randomBytes:RandomBytes":
            import base64

            length = int(inputs.get("length") or 32)
            raw = (name.encode() * 64)[:length]
            extra.update(base64=base64.b64encode(raw).decode(), hex=raw.hex())
        elif typ == "random:index/randomId:RandomId":
            length = int(inputs.get("byteLength") or 8)
            extra.update(hex=("ab" * length), b64Url="q" * length, b64Std="q" * length, dec="1")
            if inputs.get("keepers"):
                # pulumi-random draws a new ID when a keeper changes (it replaces the resource):
                # here the ID follows the keepers, so two runs show whether it would change.
                raw = hashlib.sha256(json.dumps(plain(inputs["keepers"]), sort_keys=True).encode()).digest()
                extra["hex"] = raw[:length].hex()
        elif typ == "random:index/randomString:RandomString":
            length = int(inputs.get("length") or 16)
            extra["result"] = ("s" + name.replace("-", "") * 8)[:length].ljust(length, "x")
        elif typ == "pulumi:providers:kubernetes" or typ == "pulumi:providers:aws":
            id_ = f"{name}-provider-id"
        elif typ.startswith("kubernetes:"):
            meta = dict(inputs.get("metadata") or {})
            meta.setdefault("name", name)
            extra["metadata"] = meta
            if typ == "kubernetes:networking.k8s.io/v1:Ingress":
                # What the AWS Load Balancer Controller reports once the ALB exists.
                extra["status"] = {"loadBalancer": {"ingress": [
                    {"hostname": f"internal-k8s-{name}-0123456789.{self.region}.elb.amazonaws.com"}]}}
            if typ == "kubernetes:helm.sh/v3:Release":
                extra["status"] = {"name": inputs.get("name") or name, "namespace": inputs.get("namespace"),
                                   "status": "deployed", "version": inputs.get("version")}
        return id_, {**inputs, **extra}

    def _eks_cluster(self, n: str, i: dict) -> tuple[str, dict]:
        cname = i.get("name") or f"{n}-eksCluster-1234567"
        endpoint = f"https://{n.upper()}0123456789.gr7.{self.region}.eks.amazonaws.com"
        eks_cluster = self._child("eks:index:Cluster", "aws:eks/cluster:Cluster", f"{n}-eksCluster", cname, {
            "name": cname, "arn": self._arn("eks", f"cluster/{cname}"), "endpoint": endpoint,
            "version": i.get("version") or "1.34", "certificateAuthority": {"data": "LS0tLS1CRUdJTg=="},
            "accessConfig": {"authenticationMode": i.get("authenticationMode") or "CONFIG_MAP"},
            "vpcConfig": {"clusterSecurityGroupId": f"sg-{n}-eks-managed", "vpcId": i.get("vpcId"),
                          "subnetIds": list(i.get("privateSubnetIds") or []) + list(i.get("publicSubnetIds") or [])},
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{n}-eksRole",
        })
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "aws",
            "clusters": [{"name": "kubernetes", "cluster": {"server": endpoint,
                                                            "certificate-authority-data": "LS0tLS1CRUdJTg=="}}],
            "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
            "users": [{"name": "aws", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                "args": ["--region", self.region, "eks", "get-token", "--cluster-name", cname, "--output", "json"]}}}],
        }
        provider = self._child("eks:index:Cluster", "pulumi:providers:kubernetes", f"{n}-eks-k8s",
                               f"{n}-k8s-id", {"kubeconfig": json.dumps(kubeconfig)})
        return f"{n}-id", {
            **i, "eksCluster": eks_cluster, "kubeconfig": kubeconfig, "kubeconfigJson": json.dumps(kubeconfig),
            "clusterSecurityGroupId": f"sg-{n}-cluster", "nodeSecurityGroupId": f"sg-{n}-node",
            "instanceRoles": [], "oidcProviderArn": "", "oidcProviderUrl": "", "oidcIssuer": "",
            "core": {"cluster": eks_cluster, "endpoint": endpoint, "provider": provider, "instanceRoles": [],
                     "nodeGroupOptions": {}, "subnetIds": i.get("privateSubnetIds") or [], "vpcId": i.get("vpcId")},
        }

    def _managed_node_group(self, n: str, i: dict) -> tuple[str, dict]:
        ng_name = i.get("nodeGroupName") or f"{n}-ng-1234567"
        ng = self._child("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup", n, ng_name, {
            "nodeGroupName": ng_name, "arn": self._arn("eks", f"nodegroup/{ng_name}"),
            "capacityType": i.get("capacityType"), "scalingConfig": i.get("scalingConfig"),
            "instanceTypes": i.get("instanceTypes"), "labels": i.get("labels"), "taints": i.get("taints"),
            "amiType": i.get("amiType"), "resources": [{"autoscalingGroups": [{"name": f"eks-{ng_name}-asg"}]}],
        })
        return f"{n}-id", {**i, "nodeGroup": ng, "placementGroupName": ""}


def install(*, project: str, stack: str, preview: bool = False, region: str = "us-east-1") -> Mocks:
    mocks = Mocks(region=region)
    mocks.monitor = RefSafeMockMonitor(mocks)
    # A fresh root Stack per run: exports and registrations never leak between tests.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=mocks.monitor)
    return mocks


def find(records: Iterable[Registered], typ: str | None = None, *, name: str | None = None,
         name_suffix: str | None = None) -> list[Registered]:
    return [r for r in records
            if (typ is None or r.typ == typ) and (name is None or r.name == name)
            and (name_suffix is None or r.name.endswith(name_suffix))]


def one(records: Iterable[Registered], typ: str | None = None, **kw: Any) -> Registered:
    found = find(records, typ, **kw)
    assert len(found) == 1, f"expected exactly one {typ} {kw}, found {[r.name for r in found]}"
    return found[0]
