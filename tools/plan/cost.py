"""Monthly cost estimate of a plan, from the dated price table in prices.yaml.

Pure: takes the plan's resource entries (tools/plan/model.py) and the price table, returns
line items for two load profiles:

- idle: every node group at its desired size, except groups that scale to zero (minSize 0,
  the spot task pool), which rest at zero;
- busy: those scale-to-zero groups at their maximum size for `busy_hours` a day.

Only what the stack provisions and keeps is priced. Usage-based charges (data processed by
NAT gateways, transfer, CloudWatch Logs, S3 storage and requests, RDS backups beyond the free
allowance) depend on traffic, not on the program, and are listed as not estimated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airflow_eks import formats, scrape
from airflow_eks.image import deployments
from tools.plan import support
from tools.plan.model import lookup

PRICES = Path(__file__).with_name("prices.yaml")

EKS_TYPES = support.EKS_TYPES
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP_TYPES = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")
RDS = "aws:rds/instance:Instance"
KMS = "aws:kms/key:Key"
HELM = "kubernetes:helm.sh/v3:Release"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SUBNET = "aws:ec2/subnet:Subnet"
# The AWS Load Balancer Controller's chart: its IngressClassParams pin each class's scheme.
LBC_CHART = "aws-load-balancer-controller"
PUBLIC_ELB_SUBNET_TAG = "kubernetes.io/role/elb"
SCRAPER = "aws:amp/scraper:Scraper"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_CACHE_RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
SECRET = "aws:secretsmanager/secret:Secret"

# Airflow chart defaults the estimate relies on (apache-airflow chart 1.19.0 values.yaml;
# tests/test_cost.py checks them against the pinned chart's values.yaml).
CHART_DEFAULTS = {
    "triggerer.enabled": True,
    "triggerer.replicas": 1,
    "triggerer.persistence.enabled": True,
    "triggerer.persistence.size": "100Gi",
}

NOT_ESTIMATED = (
    "NAT gateway data processing ($0.045/GB) and data transfer out or across AZs",
    "CloudWatch Logs ingestion ($0.50/GB) of EKS control-plane logs",
    "S3 storage ($0.023/GB-month) and requests of the logs and data buckets",
    "RDS backup storage beyond the free allowance and storage autoscaling above allocatedStorage",
    "T-family CPU credits above baseline (unlimited mode)",
    "ALB load balancer capacity units beyond one per ALB (traffic), and ALB data transfer",
    "AMP queries ($0.10 per billion samples processed) and SNS notifications beyond the free tier",
)


def load_prices(path: Path = PRICES) -> dict:
    return yaml.safe_load(path.read_text())


@dataclass(frozen=True)
class LineItem:
    key: str
    """Stable id (matched by --diff)."""
    label: str
    idle: float
    busy: float

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "idle": round(self.idle, 2), "busy": round(self.busy, 2)}


def quantity_gib(text: Any) -> float:
    """Kubernetes storage quantity ('5Gi', '100G', '1Ti', 1073741824) in GiB."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i?)?\s*", str(text))
    if not match:
        raise ValueError(f"not a storage quantity: {text!r}")
    return float(match.group(1)) * units.get(match.group(2) or "", 1) / 2**30


def kept_images(policy: Any) -> int | None:
    """At most how many tagged images an ECR lifecycle policy (JSON text) keeps, or None when
    some tagged images match no rule that counts them (nothing then expires them).

    The sum over its count rules (a rule keeps at most its countNumber of the images it matches,
    and every image is expired by one rule or none), needing one rule that matches every tagged
    image (`tagPatternList: ["*"]`, or tagStatus any). The rule keeping the deploy records
    (airflow_eks/image/deployments.py) matches at most len(deployments.TAGS) images, whatever its
    countNumber: a tag names one image."""
    rules = (json.loads(policy) if isinstance(policy, str) else policy or {}).get("rules", [])
    counting = [r["selection"] for r in rules if r.get("selection", {}).get("tagStatus") in ("tagged", "any")
                and r["selection"].get("countType") == "imageCountMoreThan"]
    if not any(s["tagStatus"] == "any" or s.get("tagPatternList") == ["*"] for s in counting):
        return None
    return sum(min(s["countNumber"], len(deployments.TAGS)) if s.get("tagPatternList") == [deployments.TAG_PATTERN]
               else s["countNumber"] for s in counting)


def _of(entries: list[dict], types: str | tuple[str, ...]) -> list[dict]:
    types = (types,) if isinstance(types, str) else types
    return [e for e in entries if e["type"] in types]


def node_disk_gb(group: dict, entries: list[dict], prices: dict) -> float:
    """A node group's root volume in GB: its launch template's (the one the group waits for),
    else its diskSize, else the managed node group default."""
    if lookup(group["inputs"], "launchTemplate") is not None:
        templates = {e["urn"]: e for e in _of(entries, LAUNCH_TEMPLATE)}
        for urn in group["dependencies"]:
            for mapping in lookup(templates.get(urn, {}), "inputs.blockDeviceMappings") or []:
                size = lookup(mapping, "ebs.volumeSize")
                if size:
                    return float(size)
    return float(lookup(group["inputs"], "diskSize") or prices["node_disk_default_gb"])


def spot_hourly(price: dict, prices: dict) -> float:
    """An EC2 price table row's spot price: on-demand less its spot savings (else the default)."""
    return price["hourly"] * (1 - price.get("spot_savings", prices["spot_default_savings"]))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class _Estimator:
    def __init__(self, prices: dict, busy_hours: float, day: dt.date) -> None:
        self.p = prices
        self.day = day
        self.support: list[dict] = []
        self.month = float(prices["hours_per_month"])
        self.busy_share = busy_hours / 24.0
        self.items: list[LineItem] = []
        self.warnings: list[str] = []

    def add(self, key: str, label: str, idle: float, busy: float | None = None) -> None:
        self.items.append(LineItem(key, label, idle, idle if busy is None else busy))

    # -- line items ---------------------------------------------------------------------
    def control_planes(self, entries: list[dict]) -> None:
        """Priced for the plan's day: standard or extended rate, after EKS's automatic upgrades."""
        for e in support.clusters(entries):
            facts = support.window(e, self.p, self.day)
            self.support.append(facts)
            if not facts["known"]:
                self.warnings.append(support.summary(facts))
            upgraded = " (upgraded by EKS)" if facts["upgradedOn"] else ""
            self.add(f"eks:{e['name']}", f"EKS control plane {e['name']}: {facts['billedMinor']}{upgraded}, "
                     f"{facts['phase']} support", facts["monthly"])

    def network(self, entries: list[dict]) -> None:
        nats = _of(entries, NAT)
        if nats:
            self.add("nat-gateways", f"NAT gateways x {len(nats)}",
                     len(nats) * self.p["nat_gateway_hourly"] * self.month)
        eips = _of(entries, EIP)
        if eips:
            self.add("public-ipv4", f"public IPv4 addresses x {len(eips)} (Elastic IPs)",
                     len(eips) * self.p["public_ipv4_hourly"] * self.month)

    def ec2_hourly(self, instance_type: str, capacity: str) -> float:
        price = self.p["ec2"].get(instance_type)
        if price is None:
            self.warnings.append(f"no price for EC2 {instance_type} in the price table: priced at $0")
            return 0.0
        return spot_hourly(price, self.p) if capacity == "SPOT" else price["hourly"]

    def node_groups(self, entries: list[dict]) -> None:
        for e in _of(entries, NODE_GROUP_TYPES):
            inputs = e["inputs"]
            types = lookup(inputs, "instanceTypes") or []
            if not types:
                self.warnings.append(f"node group {e['name']} has no instanceTypes: not priced")
                continue
            capacity = lookup(inputs, "capacityType") or "ON_DEMAND"
            low = int(lookup(inputs, "scalingConfig.minSize", 0))
            desired = int(lookup(inputs, "scalingConfig.desiredSize", low))
            high = int(lookup(inputs, "scalingConfig.maxSize", desired))
            scales_to_zero = low == 0
            idle_nodes = 0 if scales_to_zero else desired
            busy_node_months = high * self.busy_share if scales_to_zero else desired
            hourly = self.ec2_hourly(types[0], capacity)
            sizes = f"{low}..{high}, idle {idle_nodes}, busy {high if scales_to_zero else desired}"
            self.add(f"nodes:{e['name']}", f"nodes {e['name']}: {types[0]} {capacity} ({sizes})",
                     idle_nodes * hourly * self.month, busy_node_months * hourly * self.month)
            disk = node_disk_gb(e, entries, self.p)
            gb_month = self.p["ebs_gp3_gb_month"]
            self.add(f"node-disks:{e['name']}", f"node root volumes {e['name']}: {disk:g} GB gp3 per node",
                     idle_nodes * disk * gb_month, busy_node_months * disk * gb_month)

    def databases(self, entries: list[dict]) -> None:
        for e in _of(entries, RDS):
            inputs = e["inputs"]
            klass = lookup(inputs, "instanceClass")
            multi = _truthy(lookup(inputs, "multiAz"))
            factor = self.p["rds_multi_az_factor"] if multi else 1
            az = "Multi-AZ" if multi else "Single-AZ"
            price = self.p["rds"].get(klass)
            if price is None:
                self.warnings.append(f"no price for RDS {klass} in the price table: priced at $0")
            hourly = price["hourly"] if price else 0.0
            self.add(f"rds:{e['name']}", f"RDS {e['name']}: {klass} {az}", hourly * factor * self.month)
            storage = float(lookup(inputs, "allocatedStorage") or 0)
            kind = lookup(inputs, "storageType") or "gp2"
            if kind != "gp3":
                self.warnings.append(f"RDS {e['name']} storage type {kind} priced as gp3")
            cost = storage * self.p["rds_gp3_gb_month"] * factor
            included = self.p["rds_gp3_included_iops"]["from_400_gb" if storage >= 400 else "below_400_gb"]
            extra_iops = max(0.0, float(lookup(inputs, "iops") or 0) - included)
            cost += extra_iops * self.p["rds_gp3_iops_month"] * factor
            extra = f" + {extra_iops:g} IOPS" if extra_iops else ""
            self.add(f"rds-storage:{e['name']}", f"RDS storage {e['name']}: {storage:g} GB gp3 {az}{extra}", cost)

    def volumes(self, entries: list[dict]) -> None:
        gb_month = self.p["ebs_gp3_gb_month"]
        for e in _of(entries, HELM):
            values = lookup(e["inputs"], "values") or {}
            if not str(lookup(e["inputs"], "chart", "")).endswith("airflow"):
                continue
            if "Celery" in str(values.get("executor", "")):
                self.warnings.append(f"{e['name']}: Celery worker and Redis volumes are not estimated")

            def value(path: str, values: dict = values) -> Any:
                found = lookup(values, path)
                return CHART_DEFAULTS[path] if found is None else found

            if not (_truthy(value("triggerer.enabled")) and _truthy(value("triggerer.persistence.enabled"))):
                continue
            replicas = int(value("triggerer.replicas"))
            size = quantity_gib(value("triggerer.persistence.size"))
            self.add(f"pvc:{e['name']}:triggerer",
                     f"EBS gp3 for PVCs: {e['name']} triggerer {replicas} x {size:g} GiB",
                     replicas * size * gb_month)
        for e in _of(entries, PVC):
            size = quantity_gib(lookup(e["inputs"], "spec.resources.requests.storage") or 0)
            self.add(f"pvc:{e['name']}", f"EBS gp3 for PVC {e['name']}: {size:g} GiB", size * gb_month)

    def load_balancers(self, entries: list[dict]) -> None:
        """One ALB per IngressClass in use (the class's params pin one ALB group), at its hourly
        price plus one LCU; an internet-facing one also holds a public IPv4 address per subnet."""
        schemes = {}
        for e in _of(entries, HELM):
            if str(lookup(e["inputs"], "chart", "")).endswith(LBC_CHART):
                values = lookup(e["inputs"], "values") or {}
                schemes[lookup(values, "ingressClass")] = lookup(values, "ingressClassParams.spec.scheme")
        public_subnets = [e for e in _of(entries, SUBNET) if lookup(e["inputs"], "tags") and
                          PUBLIC_ELB_SUBNET_TAG in lookup(e["inputs"], "tags")]
        for klass in sorted({lookup(e["inputs"], "spec.ingressClassName") for e in _of(entries, INGRESS)} - {None}):
            self.add(f"alb:{klass}", f"Application Load Balancer (class {klass}), hourly",
                     self.p["alb_hourly"] * self.month)
            self.add(f"alb-lcu:{klass}", f"Application Load Balancer (class {klass}), 1 LCU",
                     self.p["alb_lcu_hourly"] * self.month)
            if schemes.get(klass) == "internet-facing":
                count = len(public_subnets)
                self.add(f"alb-ipv4:{klass}", f"public IPv4 addresses x {count} (internet-facing ALB, one per AZ)",
                         count * self.p["public_ipv4_hourly"] * self.month)

    def keys(self, entries: list[dict]) -> None:
        keys = _of(entries, KMS)
        if keys:
            self.add("kms-keys", f"KMS customer managed keys x {len(keys)}", len(keys) * self.p["kms_key_monthly"])

    def registry(self, entries: list[dict]) -> None:
        """ECR: the kept images of each repository (its lifecycle policy's tagged-image count),
        the pull-through cache's images, and the Secrets Manager secrets (the cache's Docker Hub
        credentials, and with keepDataOnDestroy the Fernet key's kept copy)."""
        ecr = self.p["ecr"]
        policies = {lookup(e["inputs"], "repository"): lookup(e["inputs"], "policy")
                    for e in _of(entries, ECR_LIFECYCLE)}
        for e in _of(entries, ECR_REPOSITORY):
            name = lookup(e["inputs"], "name") or e["name"]
            kept = kept_images(policies.get(name))
            if kept is None:
                self.warnings.append(f"ECR repository {name} keeps images without limit (no lifecycle "
                                     "policy counting tagged images): priced as one image")
            gb = (kept or 1) * ecr["airflow_image_gb"]
            self.add(f"ecr:{name}",
                     f"ECR storage {name}: up to {kept or 1} kept images x {ecr['airflow_image_gb']:g} GB",
                     gb * ecr["storage_gb_month"])
        rules = _of(entries, ECR_CACHE_RULE)
        if rules:
            gb = ecr["pull_through_cache_gb"]
            self.add("ecr-cache", f"ECR pull-through cache storage ({len(rules)} upstream registries): {gb:g} GB",
                     gb * ecr["storage_gb_month"])
        secrets = _of(entries, SECRET)
        if secrets:
            self.add("secrets", f"Secrets Manager secrets x {len(secrets)}",
                     len(secrets) * self.p["secrets_manager_secret_monthly"])

    def metrics(self, entries: list[dict]) -> None:
        """AMP: collector hours, samples collected and ingested, storage at steady state.

        Samples come from the collector's scrape interval and the series estimate of
        airflow_eks/scrape.py (an estimate from the mapping and keep-lists, not a measurement);
        the system nodes and PgBouncer pods it scales with are read from the plan."""
        scrapers = _of(entries, SCRAPER)
        if not scrapers:
            return
        amp = self.p["amp"]
        nodes = sum(int(lookup(e["inputs"], "scalingConfig.desiredSize", 0))
                    for e in _of(entries, NODE_GROUP_TYPES)
                    if int(lookup(e["inputs"], "scalingConfig.minSize", 0)) > 0)
        workload = scrape.Workload(system_nodes=nodes or scrape.Workload.system_nodes)
        series = sum(scrape.series_estimate(workload).values())
        for e in scrapers:
            config = yaml.safe_load(lookup(e["inputs"], "scrapeConfiguration") or "{}") or {}
            interval = formats.prometheus_duration_seconds(str(lookup(config, "global.scrape_interval", "60s")))
            samples = scrape.samples_per_month(series, interval, self.month)
            self.add(f"amp-collector:{e['name']}", f"AMP collector {e['name']}: {self.month:g} h",
                     amp["collector_hourly"] * self.month)
            per_sample = (amp["ingest_per_10m_samples"] + amp["collector_per_10m_samples"]) / 1e7
            self.add(f"amp-samples:{e['name']}",
                     f"AMP samples collected + ingested: ~{series:,} series every {interval}s "
                     f"= {samples / 1e6:,.0f} M/month", samples * per_sample)
            stored_gb = samples * amp["retention_days"] / 30.4 * amp["bytes_per_sample"] / 2**30
            self.add(f"amp-storage:{e['name']}",
                     f"AMP storage: {stored_gb:.1f} GB at steady state ({amp['retention_days']}-day retention)",
                     stored_gb * amp["storage_gb_month"])

    def mwaa(self) -> list[dict]:
        return [{"class": name, "monthly": round(c["hourly"] * self.month, 2), "hourly": c["hourly"],
                 "extraWorkerHourly": c["extra_worker_hourly"], "includes": c["includes"]}
                for name, c in self.p["mwaa"].items()]


def estimate(entries: list[dict], prices: dict, *, busy_hours: float = 8, region: str | None = None,
             day: dt.date | None = None) -> dict:
    """The cost section of a plan (USD per month; each line rounded to cents, totals sum the lines).

    `day` (default: today, UTC) is the day the EKS control plane is priced for: standard or
    extended support (tools/plan/support.py).
    """
    if not 0 <= busy_hours <= 24:
        raise ValueError(f"busy hours must be between 0 and 24, got {busy_hours}")
    if float(busy_hours).is_integer():
        busy_hours = int(busy_hours)  # 8 and 8.0 give the same JSON
    day = day or dt.datetime.now(dt.UTC).date()
    est = _Estimator(prices, busy_hours, day)
    est.control_planes(entries)
    est.network(entries)
    est.node_groups(entries)
    est.databases(entries)
    est.volumes(entries)
    est.load_balancers(entries)
    est.keys(entries)
    est.registry(entries)
    est.metrics(entries)
    if region and region != prices["region"]:
        est.warnings.insert(0, f"prices are {prices['region']} list prices; this stack is in {region}, "
                               "where prices differ (the price table covers only one region)")
    items = [i.as_dict() for i in est.items]
    return {
        "currency": prices["currency"],
        "pricesCollected": prices["collected"],
        "pricesRegion": prices["region"],
        "hoursPerMonth": prices["hours_per_month"],
        "busyHoursPerDay": busy_hours,
        "date": day.isoformat(),
        "lineItems": items,
        "total": {"idle": round(sum(i["idle"] for i in items), 2), "busy": round(sum(i["busy"] for i in items), 2)},
        "notEstimated": list(NOT_ESTIMATED),
        "warnings": est.warnings,
        # The first (the program's only) EKS cluster's support window; None without a cluster.
        "kubernetesSupport": est.support[0] if est.support else None,
        "mwaa": est.mwaa(),
        "mwaaNotes": prices["mwaa_notes"],
    }
