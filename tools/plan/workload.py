"""What a workload costs here and on managed Airflow: the plan's `workload` and `comparison`.

Pure: reads a plan (tools/plan/build.py), the price table (prices.yaml) and the model's stated
assumptions (workload.yaml), and returns plain dicts. A workload is task-hours a month at a peak
concurrency, an average task size (CPU and memory requests) and an average run time.

- This stack: the plan's idle total plus what the workload adds: spot node-hours (task pods
  bin-packed onto the spot group's first instance type, each node living from launch to the
  autoscaler's scale-down), their root volumes, the image each fresh node pulls through the NAT
  gateway, the task logs in S3, and a larger metadata database where the concurrency needs one.
- Amazon MWAA: the smallest priced class whose workers can hold the concurrency, its extra
  workers while the tasks run, metadata storage.
- Amazon MWAA Serverless: task run time at its per-hour rate, one-minute minimum per task.
- Cloud Composer 3: the smallest preset recommended for the concurrency, its always-on floor,
  DCU-hours for the tasks.

A service that cannot run the workload (a limit, or a feature `needs` asks for) gets no number,
only the reason. Every option is linear in task-hours between the points where a node or worker
count changes, so `curve` finds where two options cross by bisection on a fine grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from airflow_eks import formats, secret_data
from tools.plan import cost
from tools.plan.model import lookup

ASSUMPTIONS = Path(__file__).with_name("workload.yaml")
FEATURES = ("ui", "python-dags")
THIS_STACK = "This stack (airflow-eks)"
MWAA = "Amazon MWAA"
SERVERLESS = "Amazon MWAA Serverless"
COMPOSER = "Cloud Composer 3"
AUTOSCALER_CHART = "cluster-autoscaler"
GIB = 2**30


def load_assumptions(path: Path = ASSUMPTIONS) -> dict:
    return yaml.safe_load(path.read_text())


class WorkloadError(ValueError):
    """An impossible or malformed workload: the message names the option and what is allowed."""


@dataclass(frozen=True)
class Workload:
    task_hours: float
    concurrency: int
    task_cpu: str
    """CPU request of a task pod, a Kubernetes quantity (250m)."""
    task_memory: str
    """Memory request of a task pod, a Kubernetes quantity (512Mi)."""
    task_minutes: float
    needs: tuple[str, ...] = FEATURES
    """What the team needs besides running tasks: the Airflow UI, Python DAG files."""

    @property
    def cpu(self) -> float:
        return float(formats.quantity(self.task_cpu, kind="cpu"))

    @property
    def memory_gib(self) -> float:
        return float(formats.quantity(self.task_memory, kind="memory")) / GIB

    @property
    def tasks(self) -> float:
        return self.task_hours * 60 / self.task_minutes

    def at(self, task_hours: float) -> Workload:
        return replace(self, task_hours=task_hours)

    def as_dict(self) -> dict:
        return {"taskHours": self.task_hours, "concurrency": self.concurrency, "taskCpu": self.task_cpu,
                "taskMemory": self.task_memory, "taskMinutes": self.task_minutes, "needs": list(self.needs)}


def parse_needs(text: str) -> tuple[str, ...]:
    """`ui,python-dags`, a subset, or `none`."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if parts == ["none"]:
        return ()
    unknown = [p for p in parts if p not in FEATURES]
    if unknown or not parts:
        raise WorkloadError(f"--needs {text!r}: expected a comma-separated list of {', '.join(FEATURES)}, or none")
    return tuple(f for f in FEATURES if f in parts)


def workload(*, task_hours: float, concurrency: int, task_cpu: str, task_memory: str, task_minutes: float,
             needs: tuple[str, ...] = FEATURES, hours_per_month: float = 730) -> Workload:
    """A checked workload, or WorkloadError naming the option that is wrong and what it may be."""
    if not math.isfinite(task_hours) or task_hours < 0:
        raise WorkloadError(f"--task-hours {task_hours:g}: expected task-hours per month, 0 or more")
    if concurrency < 1:
        raise WorkloadError(f"--concurrency {concurrency}: expected the peak number of tasks running at once, "
                            "1 or more")
    if not math.isfinite(task_minutes) or task_minutes <= 0:
        raise WorkloadError(f"--task-minutes {task_minutes:g}: expected the average task run time in minutes, "
                            "above 0")
    for option, value, kind in (("--task-cpu", task_cpu, "cpu"), ("--task-memory", task_memory, "memory")):
        try:
            formats.quantity(value, kind=kind)
        except ValueError as exc:
            raise WorkloadError(f"{option} {value!r}: expected {exc}") from None
    most = concurrency * hours_per_month
    if task_hours > most:
        raise WorkloadError(f"--task-hours {task_hours:g} is more than --concurrency {concurrency} can run in a month "
                            f"({concurrency} x {hours_per_month:g} h = {most:g} task-hours)")
    return Workload(float(task_hours), int(concurrency), task_cpu, task_memory, float(task_minutes), tuple(needs))


# -- what the plan says about the stack ---------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """The parts of a plan the workload model reads."""

    spot_group: str | None
    spot_types: tuple[str, ...]
    spot_capacity: str
    spot_max: int
    spot_disk_gb: float
    fallback_groups: tuple[str, ...]
    """On-demand groups that also scale to zero (a fallback for spot); this stack has none."""
    nat_gateways: int
    db_class: str | None
    db_multi_az: bool
    schedulers: int
    task_cpu: str
    task_memory: str
    scale_down_unneeded_minutes: float
    scale_down_delay_after_add_minutes: float
    log_retention_days: float | None


def _release(entries: list[dict], chart: str) -> dict:
    for e in entries:
        if e["type"] == cost.HELM and str(lookup(e["inputs"], "chart", "")).endswith(chart):
            return lookup(e["inputs"], "values") or {}
    return {}


def _minutes(value: object, default: str) -> float:
    return float(formats.go_duration_seconds(str(value or default))) / 60


def shape(plan: dict, prices: dict) -> Shape:
    entries = plan["resources"]
    groups = [e for e in entries if e["type"] in cost.NODE_GROUP_TYPES]
    to_zero = [g for g in groups if int(lookup(g["inputs"], "scalingConfig.minSize", 0)) == 0]
    spot = next((g for g in to_zero if lookup(g["inputs"], "capacityType") == "SPOT"), None)
    fallback = tuple(g["name"] for g in to_zero if g is not spot and lookup(g["inputs"], "capacityType") != "SPOT")
    db = next((e for e in entries if e["type"] == cost.RDS), None)
    airflow = _release(entries, "airflow")
    autoscaler = lookup(_release(entries, AUTOSCALER_CHART), "extraArgs") or {}
    logs = [rule for e in entries if e["type"] == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
            and "logs" in e["name"] for rule in lookup(e["inputs"], "rules") or []
            if lookup(rule, "expiration.days")]
    return Shape(
        spot_group=spot["name"] if spot else None,
        spot_types=tuple(lookup(spot["inputs"], "instanceTypes") or ()) if spot else (),
        spot_capacity=str(lookup(spot["inputs"], "capacityType")) if spot else "",
        spot_max=int(lookup(spot["inputs"], "scalingConfig.maxSize", 0)) if spot else 0,
        spot_disk_gb=cost.node_disk_gb(spot, entries, prices) if spot else 0.0,
        fallback_groups=fallback,
        nat_gateways=sum(1 for e in entries if e["type"] == cost.NAT),
        db_class=lookup(db["inputs"], "instanceClass") if db else None,
        db_multi_az=bool(db and str(lookup(db["inputs"], "multiAz")).lower() == "true"),
        schedulers=int(lookup(airflow, "scheduler.replicas", 1)),
        task_cpu=str(lookup(airflow, "workers.resources.requests.cpu", "")),
        task_memory=str(lookup(airflow, "workers.resources.requests.memory", "")),
        # The chart's defaults when the values leave them out (cluster-autoscaler FAQ: 10m each).
        scale_down_unneeded_minutes=_minutes(autoscaler.get("scale-down-unneeded-time"), "10m"),
        scale_down_delay_after_add_minutes=_minutes(autoscaler.get("scale-down-delay-after-add"), "10m"),
        log_retention_days=float(lookup(logs[0], "expiration.days")) if logs else None,
    )


# -- this stack -------------------------------------------------------------------------------
def kube_reserved_cpu_m(vcpu: float) -> float:
    """nodeadm's getCPUMillicoresToReserve: 6% of the first core, 1% of the second, 0.5% of the
    third and fourth, 0.25% of the rest (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go)."""
    total = vcpu * 1000
    ranges = ((0, 1000, 0.06), (1000, 2000, 0.01), (2000, 4000, 0.005), (4000, math.inf, 0.0025))
    return sum(max(0.0, min(total, end) - start) * share for start, end, share in ranges)


def node_capacity(instance: dict, model: dict) -> dict:
    """Max pods, allocatable CPU (millicores) and memory (MiB) of one node, and what DaemonSets
    leave of them for task pods."""
    max_pods = int(instance["enis"]) * (int(instance["ips_per_eni"]) - 1) + 2
    memory_mib = instance["memory_gib"] * 1024 * (1 - model["vm_memory_overhead"])
    cpu_m = instance["vcpu"] * 1000 - kube_reserved_cpu_m(instance["vcpu"])
    memory_mib -= 11 * max_pods + 255 + model["eviction_hard_mib"]  # nodeadm kube-reserved + evictionHard
    daemonsets = model["daemonsets"]
    return {"maxPods": max_pods, "allocatableCpuM": cpu_m, "allocatableMemoryMiB": memory_mib,
            "freeCpuM": cpu_m - sum(d["cpu_m"] for d in daemonsets),
            "freeMemoryMiB": memory_mib - sum(d["memory_mib"] for d in daemonsets),
            "freePods": max_pods - len(daemonsets)}


def pods_per_node(instance: dict, w: Workload, model: dict) -> int:
    free = node_capacity(instance, model)
    return max(0, min(math.floor(free["freeCpuM"] / (w.cpu * 1000)),
                      math.floor(free["freeMemoryMiB"] / (w.memory_gib * 1024)), free["freePods"]))


def _days(prices: dict) -> float:
    return prices["hours_per_month"] / 24


def _windows(w: Workload, prices: dict, model: dict) -> tuple[float, float]:
    """(windows a month, hours each) of the daily-window model."""
    days = _days(prices) * model["windows_per_day"]
    return (days, w.task_hours / (w.concurrency * days)) if w.task_hours else (0.0, 0.0)


def db_class_for(concurrency: int, current: str | None, prices: dict, model: dict) -> tuple[bool, str | None]:
    """(enough, larger): whether the stack's RDS class has the memory the concurrency needs at
    `db_tasks_per_gib`, and if not, the smallest class of the price table that has (or None)."""
    need = concurrency / model["db_tasks_per_gib"]
    if prices["rds"].get(current or "", {}).get("memory_gib", 0) >= need:
        return True, None
    fits = sorted((c["memory_gib"], c["hourly"], name) for name, c in prices["rds"].items() if c["memory_gib"] >= need)
    return False, fits[0][2] if fits else None


def this_stack(plan: dict, w: Workload, prices: dict, model: dict, sh: Shape | None = None) -> dict:
    """The stack's monthly cost at `w`: the plan's idle total plus the workload's own items."""
    sh = sh or shape(plan, prices)
    month = prices["hours_per_month"]
    idle = plan["cost"]["total"]["idle"]
    items = [{"key": "idle", "label": "the plan's idle total (no task running)", "monthly": idle}]
    notes: list[str] = []
    result = {"name": THIS_STACK, "items": items, "notes": notes, "fits": True,
              "sources": ["tools/plan/prices.yaml", "tools/plan/workload.yaml"]}
    if sh.spot_group is None or not sh.spot_types or sh.spot_types[0] not in prices["ec2"]:
        notes.append("no scale-to-zero spot group with a priced instance type in the plan: tasks not priced")
        result.update(monthly=None, fits=False)
        return result
    kind = sh.spot_types[0]
    instance = prices["ec2"][kind]
    per_node = pods_per_node(instance, w, model)
    if per_node < 1:
        notes.append(f"a task of {w.task_cpu} CPU / {w.task_memory} does not fit on one {kind} next to its "
                     "DaemonSets: set larger spotNodeInstanceTypes")
        result.update(monthly=None, fits=False, podsPerNode=0)
        return result
    nodes = math.ceil(w.concurrency / per_node)
    days, window = _windows(w, prices, model)  # none without task-hours
    life = (model["node_boot_minutes"] + max(window * 60, sh.scale_down_delay_after_add_minutes)
            + sh.scale_down_unneeded_minutes) / 60
    life = min(life, 24 / model["windows_per_day"])
    node_hours = nodes * days * life
    hourly = cost.spot_hourly(instance, prices)
    items.append({"key": "task-nodes", "monthly": node_hours * hourly,
                  "label": f"task nodes: {nodes} x {kind} {sh.spot_capacity} ({per_node} tasks each), "
                           f"{node_hours:,.0f} node-hours"})
    disk_monthly = node_hours * sh.spot_disk_gb * prices["ebs_gp3_gb_month"] / month
    items.append({"key": "task-node-disks", "monthly": disk_monthly,
                  "label": f"their root volumes: {sh.spot_disk_gb:g} GB gp3 each"})
    launches = nodes * days
    image_gb = model["image"]["pull_gb"]
    if sh.nat_gateways:
        items.append({"key": "nat-image-pulls", "monthly": launches * image_gb * prices["nat_gateway_per_gb"],
                      "label": f"NAT data processing: {launches:,.0f} fresh nodes x {image_gb:g} GB image"})
    s3 = prices["s3"]
    tasks = w.tasks
    log_gb = tasks * model["log_kb_per_task"] / 1024**2
    stored = log_gb * (sh.log_retention_days or _days(prices)) / _days(prices)
    puts, gets = model["log_requests_per_task"]["put"], model["log_requests_per_task"]["get"]
    request_cost = tasks * (puts * s3["put_per_1000"] + gets * s3["get_per_1000"]) / 1000
    items.append({"key": "s3-logs", "monthly": stored * s3["standard_gb_month"] + request_cost,
                  "label": f"S3 task logs: {tasks:,.0f} tasks, {stored:,.1f} GB kept "
                           f"({sh.log_retention_days or _days(prices):g} days), {puts} PUT + {gets} GET each"})
    enough, bigger = db_class_for(w.concurrency, sh.db_class, prices, model)
    need = w.concurrency / model["db_tasks_per_gib"]
    if w.task_hours and bigger:
        factor = prices["rds_multi_az_factor"] if sh.db_multi_az else 1
        own = prices["rds"].get(sh.db_class or "", {"hourly": 0})["hourly"]
        step = (prices["rds"][bigger]["hourly"] - own) * factor * month
        items.append({"key": "db-class", "monthly": step,
                      "label": f"metadata database {sh.db_class} -> {bigger} for {w.concurrency} concurrent tasks"})
        notes.append(f"set dbInstanceClass to {bigger}: {w.concurrency} concurrent tasks need {need:.1f} GiB at "
                     f"MWAA's ratio of {model['db_tasks_per_gib']:g} tasks per GiB")
    elif w.task_hours and not enough:
        notes.append(f"{w.concurrency} concurrent tasks need a {need:.0f} GiB metadata database: no RDS class in "
                     "the price table has that much (not priced)")
    capacity = sh.spot_max * per_node
    if nodes > sh.spot_max:
        result["fits"] = False
        notes.append(f"as configured it runs at most {capacity} tasks at once ({sh.spot_max} nodes): "
                     f"set spotNodeMaxSize to {nodes} or more")
    parallelism = model["airflow_parallelism"] * sh.schedulers
    if w.concurrency > parallelism:
        result["fits"] = False
        notes.append(f"Airflow runs at most {parallelism} tasks at once ([core] parallelism "
                     f"{model['airflow_parallelism']} x {sh.schedulers} schedulers): raise parallelism")
    if not sh.fallback_groups:
        notes.append("no on-demand fallback: the task group is spot only; when spot capacity is short, tasks wait")
    result.update(monthly=sum(i["monthly"] for i in items), podsPerNode=per_node, nodes=nodes,
                  nodeHours=round(node_hours, 1), windowHours=round(window, 3))
    for i in items:
        i["monthly"] = round(i["monthly"], 2)
    result["monthly"] = round(result["monthly"], 2)
    return result


def assumptions(plan: dict, w: Workload, prices: dict, model: dict, sh: Shape | None = None) -> list[str]:
    """What the stack's figure rests on, in words (printed next to it)."""
    sh = sh or shape(plan, prices)
    windows = model["windows_per_day"]
    lines = [f"tasks run in {'one window' if windows == 1 else f'{windows:g} windows'} a day at the peak concurrency "
             f"({w.concurrency} at once, {w.task_minutes:g} min each on average)"]
    if sh.spot_types and sh.spot_types[0] in prices["ec2"]:
        kind = sh.spot_types[0]
        cap = node_capacity(prices["ec2"][kind], model)
        allowed = sorted(cost.spot_hourly(prices["ec2"][t], prices) for t in sh.spot_types if t in prices["ec2"])
        others = ", ".join(sh.spot_types[1:])
        lines.append(
            f"a task pod requests {w.task_cpu} CPU / {w.task_memory} (the stack's default: "
            f"{sh.task_cpu} / {sh.task_memory}); each {kind} allows {cap['maxPods']} pods, "
            f"{cap['allocatableCpuM']:.0f}m CPU and {cap['allocatableMemoryMiB']:.0f} MiB after kube-reserved "
            f"and eviction (EKS AMI nodeadm), less {len(model['daemonsets'])} DaemonSets "
            f"({cap['allocatableCpuM'] - cap['freeCpuM']:.0f}m, "
            f"{cap['allocatableMemoryMiB'] - cap['freeMemoryMiB']:.0f} MiB); "
            f"priced as {kind} {sh.spot_capacity}" + (f" (also allowed: {others}; the allowed types' spot "
                                                       f"prices run ${allowed[0]:.4f} to ${allowed[-1]:.4f} an hour)"
                                                       if others else ""))
    lines.append(f"a node lives {model['node_boot_minutes']:g} min before its first task, the window (at least "
                 f"scale-down-delay-after-add, {sh.scale_down_delay_after_add_minutes:g} min), then "
                 f"scale-down-unneeded-time ({sh.scale_down_unneeded_minutes:g} min): the cluster autoscaler's values")
    lines.append(f"each fresh node pulls the Airflow image through the NAT gateway: {model['image']['pull_gb']:g} GB "
                 "(the regular image uncompressed, an upper bound)")
    lines.append(f"one {model['log_kb_per_task']:g} KB log object per task in S3")
    lines.append(f"the metadata database needs 1 GiB per {model['db_tasks_per_gib']:g} concurrent tasks "
                 "(the ratio of MWAA's own databases); PgBouncer needs no headroom: Airflow 3 task pods reach the "
                 f"database only through the API server, so its {secret_data.PGBOUNCER_MAX_CLIENT_CONN} client "
                 f"slots and {secret_data.PGBOUNCER_POOL_SIZE} server connections a pod do not grow with tasks")
    return lines


# -- the managed services ---------------------------------------------------------------------
def _entry(name: str, monthly: float | None, notes: list[str], sources: list[str], prices: dict) -> dict:
    urls = [prices["sources"].get(s, s) for s in sources]
    return {"name": name, "monthly": None if monthly is None else round(monthly, 2), "notes": notes,
            "sources": urls, "fits": monthly is not None}


def _mwaa_tasks_per_worker(c: dict, w: Workload) -> int:
    """Tasks of `w`'s size one worker of MWAA class `c` runs at once."""
    return min(c["tasks_per_worker"], math.floor(c["worker_vcpu"] / w.cpu),
               math.floor(c["worker_memory_gib"] / w.memory_gib))


def mwaa(w: Workload, prices: dict, model: dict) -> dict:
    sources = ["AWS-MWAA-CLASS", "AWS-MWAA-SCALING"]
    for name, c in prices["mwaa"].items():
        per_worker = _mwaa_tasks_per_worker(c, w)
        if per_worker < 1 or w.concurrency > per_worker * prices["mwaa_max_workers"]:
            continue
        workers = math.ceil(w.concurrency / per_worker)
        windows, hours = _windows(w, prices, model)
        extra_hours = (workers - 1) * windows * (hours + prices["mwaa_downscale_minutes"] / 60)
        metadata = prices["mwaa_metadata_gb"] * prices["mwaa_metadata_gb_month"]
        monthly = c["hourly"] * prices["hours_per_month"] + c["extra_worker_hourly"] * extra_hours + metadata
        notes = [f"{name}: {per_worker} tasks per worker, {workers} worker(s) at peak "
                 f"({workers - 1} extra, {extra_hours:,.0f} worker-hours), {prices['mwaa_metadata_gb']:g} GB metadata",
                 "never scales to zero; needs a VPC with NAT gateways or endpoints (not included)"]
        return _entry(MWAA, monthly, notes, c["sources"] + sources, prices)
    for name, c in prices["mwaa_unpriced"].items():
        per_worker = _mwaa_tasks_per_worker(c, w)
        if per_worker >= 1 and w.concurrency <= per_worker * prices["mwaa_max_workers"]:
            return _entry(MWAA, None, [f"needs {name} ({per_worker} tasks per worker): no us-east-1 price was "
                                       "confirmed, so no number"], sources, prices)
    return _entry(MWAA, None, [f"cannot run {w.concurrency} tasks of {w.task_cpu} CPU / {w.task_memory} at once: above "
                               f"the largest class's {prices['mwaa_max_workers']} workers"], sources, prices)


def mwaa_serverless(w: Workload, prices: dict, model: dict) -> dict:
    s = prices["mwaa_serverless"]
    reasons = []
    missing = [f for f in w.needs if f in s["lacks"]]
    if missing:
        reasons.append(f"lacks what --needs asks for: {', '.join(missing)} (no Airflow UI; YAML workflows, "
                       "Python DAG files must be converted)")
    if w.task_minutes > s["max_task_minutes"]:
        reasons.append(f"tasks of {w.task_minutes:g} min: a task may run {s['max_task_minutes']} min at most")
    if w.cpu > s["worker_vcpu"] or w.memory_gib > s["worker_memory_gib"]:
        reasons.append(f"a task of {w.task_cpu} CPU / {w.task_memory} is larger than its worker "
                       f"({s['worker_vcpu']} vCPU / {s['worker_memory_gib']} GiB)")
    if reasons:
        return _entry(SERVERLESS, None, ["cannot: " + "; ".join(reasons)], s["sources"], prices)
    billed = w.task_hours * max(w.task_minutes * 60, s["minimum_seconds"]) / (w.task_minutes * 60)
    notes = [f"{billed:,.0f} billed task-hours (per second, {s['minimum_seconds']} s minimum per task) at "
             f"${s['task_hourly']}/h (UNCONFIRMED for us-east-1: Tokyo-labelled price)",
             "no Airflow UI; workflows are YAML (dag-factory)"]
    return _entry(SERVERLESS, billed * s["task_hourly"], notes, s["sources"], prices)


def composer3(w: Workload, prices: dict, model: dict) -> dict:
    c = prices["composer3"]
    preset = next((name for name, p in c["presets"].items() if w.concurrency <= p["max_tasks"]), None)
    if preset is None:
        largest = max(p["max_tasks"] for p in c["presets"].values())
        return _entry(COMPOSER, None, [f"cannot: {w.concurrency} concurrent tasks is above the largest preset's "
                                       f"recommended {largest}"], c["sources"], prices)
    floor = c["floor_monthly"].get(preset)
    if floor is None:
        return _entry(COMPOSER, None, [f"needs the {preset} preset (up to {c['presets'][preset]['max_tasks']} "
                                       "concurrent tasks): its always-on cost was not found, so no number"],
                      c["sources"], prices)
    dcu_hours = w.task_hours * w.cpu * c["dcu_per_vcpu_hour"]
    notes = [f"{preset} preset: ${floor:g}/month always on (UNCONFIRMED) + {dcu_hours:,.0f} DCU-hours for "
             f"the tasks at ${c['dcu_hourly']}/DCU-hour (DCU per vCPU UNCONFIRMED)",
             "a Google Cloud region: data on AWS pays egress to reach it (not included)"]
    return _entry(COMPOSER, floor + dcu_hours * c["dcu_hourly"], notes, c["sources"], prices)


OTHERS: tuple[Callable[[Workload, dict, dict], dict], ...] = (mwaa, mwaa_serverless, composer3)


def comparison(plan: dict, w: Workload, prices: dict, model: dict, sh: Shape | None = None) -> list[dict]:
    """[{name, monthly, notes, sources, fits}]: this stack first, then the managed services."""
    stack = this_stack(plan, w, prices, model, sh)
    own = {"name": stack["name"], "monthly": stack["monthly"], "notes": stack["notes"],
           "sources": stack["sources"], "fits": stack["fits"]}
    return [own] + [option(w, prices, model) for option in OTHERS]


def estimate(plan: dict, w: Workload, prices: dict | None = None, model: dict | None = None) -> dict:
    """The plan's `workload` section (inputs, this stack's items, assumptions) and `comparison`."""
    prices = prices or cost.load_prices()
    model = model or load_assumptions()
    sh = shape(plan, prices)
    stack = this_stack(plan, w, prices, model, sh)
    return {"workload": {**w.as_dict(), "thisStack": stack, "assumptions": assumptions(plan, w, prices, model, sh)},
            "comparison": comparison(plan, w, prices, model, sh)}


# -- the curve --------------------------------------------------------------------------------
def curve_hours(w: Workload, prices: dict) -> list[float]:
    """0, 25, 50, 100, ... doubling up to what the concurrency can run in a month, and that."""
    most = w.concurrency * prices["hours_per_month"]
    hours, h = [0.0], 25.0
    while h < most:
        hours.append(h)
        h *= 2
    return hours + [float(most)]


def _monthly(plan: dict, w: Workload, prices: dict, model: dict, sh: Shape) -> dict[str, float | None]:
    return {e["name"]: e["monthly"] for e in comparison(plan, w, prices, model, sh)}


def crossovers(plan: dict, w: Workload, prices: dict, model: dict, *, steps: int = 400) -> list[dict]:
    """Where this stack's monthly cost crosses each other option's, over 0 .. the most task-hours
    the concurrency allows: [{between, taskHours, monthly, cheaperBelow}]. Every option is linear
    between the few points where a count changes, so a sign change on a fine grid, bisected,
    finds each crossing (to within a cent of cost, as the costs are rounded to cents)."""
    sh = shape(plan, prices)
    most = w.concurrency * prices["hours_per_month"]
    grid = [most * i / steps for i in range(steps + 1)]
    cache: dict[float, dict[str, float | None]] = {}

    def diff(h: float, other: str) -> float | None:
        if h not in cache:
            cache[h] = _monthly(plan, w.at(h), prices, model, sh)
        values = cache[h]
        if values[THIS_STACK] is None or values[other] is None:
            return None
        return values[THIS_STACK] - values[other]

    points = []
    for other in (MWAA, SERVERLESS, COMPOSER):
        for lo, hi in zip(grid, grid[1:], strict=False):
            a, b = diff(lo, other), diff(hi, other)
            if a is None or b is None or a == 0 or (a < 0) == (b < 0):
                continue
            for _ in range(40):
                mid = (lo + hi) / 2
                if (diff(mid, other) < 0) == (a < 0):
                    lo = mid
                else:
                    hi = mid
            at = round((lo + hi) / 2, 1)
            points.append({"between": [THIS_STACK, other], "taskHours": at,
                           "monthly": _monthly(plan, w.at(at), prices, model, sh)[THIS_STACK],
                           "cheaperBelow": THIS_STACK if a < 0 else other})
    return points


def curve(plan: dict, w: Workload, prices: dict | None = None, model: dict | None = None,
          hours: Iterable[float] | None = None) -> dict:
    """Monthly cost of each option over a range of task-hours, and the crossover points."""
    prices = prices or cost.load_prices()
    model = model or load_assumptions()
    sh = shape(plan, prices)
    rows = [{"taskHours": h, "monthly": _monthly(plan, w.at(h), prices, model, sh)}
            for h in (hours if hours is not None else curve_hours(w, prices))]
    return {"workload": {k: v for k, v in w.as_dict().items() if k != "taskHours"},
            "options": [THIS_STACK, MWAA, SERVERLESS, COMPOSER], "rows": rows,
            "crossovers": crossovers(plan, w, prices, model)}
