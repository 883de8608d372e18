"""Workload model (tools/plan/workload.py) on the real plans of both stack files (the golden plans,
which tests/test_plan.py keeps equal to the program) and on variations of them.

Expected figures are computed here from tools/plan/prices.yaml, tools/plan/workload.yaml, the
program's own values (Pulumi.yaml, airflow_eks/autoscaler.py) and the published formulas the
model cites (nodeadm's kube-reserved), never typed in: a price change moves both sides.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_eks import autoscaler, formats
from airflow_eks.offline import loader
from tools.plan import __main__ as cli
from tools.plan import cost, render
from tools.plan import workload as wl

PRICES = cost.load_prices()
MODEL = wl.load_assumptions()
PLANS = {stack: json.loads(cli.golden_path(stack).read_text()) for stack in cli.GOLDEN_STACKS}
MONTH = PRICES["hours_per_month"]
DAYS = MONTH / 24
DEFAULTS = loader.project_file()["config"]


def work(task_hours: float = 500, concurrency: int = 10, task_cpu: str = "250m", task_memory: str = "512Mi",
         task_minutes: float = 10, needs: tuple[str, ...] = ()) -> wl.Workload:
    return wl.workload(task_hours=task_hours, concurrency=concurrency, task_cpu=task_cpu, task_memory=task_memory,
                       task_minutes=task_minutes, needs=needs)


def item(result: dict, key: str) -> float:
    return next(i["monthly"] for i in result["items"] if i["key"] == key)


def spot_group(plan: dict) -> dict:
    return next(e for e in plan["resources"] if e["type"] == "eks:index:ManagedNodeGroup"
                and e["inputs"]["scalingConfig"]["minSize"] == 0)


# -- what the model reads from the plan ---------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shape_is_the_programs_own_values(stack):
    sh = wl.shape(PLANS[stack], PRICES)
    group = spot_group(PLANS[stack])
    assert sh.spot_group == group["name"] and sh.spot_types == tuple(group["inputs"]["instanceTypes"])
    assert sh.spot_capacity == "SPOT" and sh.spot_max == group["inputs"]["scalingConfig"]["maxSize"]
    assert sh.fallback_groups == ()  # the task pool is spot only: no on-demand fallback group
    args = autoscaler.extra_args()
    assert sh.scale_down_unneeded_minutes == float(formats.go_duration_seconds(args["scale-down-unneeded-time"])) / 60
    assert sh.scale_down_delay_after_add_minutes == float(
        formats.go_duration_seconds(args["scale-down-delay-after-add"])) / 60
    stack_file = loader.stack_config(stack)[1]
    for key, attr in (("taskCpuRequest", "task_cpu"), ("taskMemoryRequest", "task_memory")):
        assert getattr(sh, attr) == stack_file.get(f"airflow-eks:{key}", DEFAULTS[key]["default"])
    retention = stack_file.get("airflow-eks:logRetentionDays", DEFAULTS["logRetentionDays"]["default"])
    assert sh.log_retention_days == float(retention)


# -- what a node holds --------------------------------------------------------------------------
def nodeadm_cpu_reserve(millicores: int) -> int:
    """getCPUMillicoresToReserve of awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go,
    transliterated with its integer arithmetic."""
    ranges, shares, total = [0, 1000, 2000, 4000, millicores], [600, 100, 50, 25], 0
    for i, share in enumerate(shares):
        if millicores > ranges[i]:
            total += (min(millicores, ranges[i + 1]) - ranges[i]) * share // 10000
    return total


@pytest.mark.parametrize("vcpu", [1, 2, 4, 8, 16, 48, 96])
def test_kube_reserved_cpu_is_nodeadms(vcpu):
    assert wl.kube_reserved_cpu_m(vcpu) == nodeadm_cpu_reserve(vcpu * 1000)


@pytest.mark.parametrize("kind", sorted(PRICES["ec2"]))
@pytest.mark.parametrize(("cpu", "memory"), [("250m", "512Mi"), ("500m", "2Gi"), ("100m", "128Mi"), ("1", "6Gi")])
def test_tasks_per_node_bin_pack_the_requests_into_what_nodeadm_and_the_daemonsets_leave(kind, cpu, memory):
    spec = PRICES["ec2"][kind]
    max_pods = spec["enis"] * (spec["ips_per_eni"] - 1) + 2
    reserved_mib = 11 * max_pods + 255  # nodeadm getMemoryMebibytesToReserve
    daemonset_cpu = sum(d["cpu_m"] for d in MODEL["daemonsets"])
    free_cpu = spec["vcpu"] * 1000 - nodeadm_cpu_reserve(spec["vcpu"] * 1000) - daemonset_cpu
    free_mib = (spec["memory_gib"] * 1024 * (1 - MODEL["vm_memory_overhead"]) - reserved_mib
                - MODEL["eviction_hard_mib"] - sum(d["memory_mib"] for d in MODEL["daemonsets"]))
    cpu_m = float(formats.quantity(cpu, kind="cpu")) * 1000
    mib = float(formats.quantity(memory, kind="memory")) / 2**20
    expected = max(0, min(int(free_cpu // cpu_m), int(free_mib // mib), max_pods - len(MODEL["daemonsets"])))
    assert wl.pods_per_node(spec, work(task_cpu=cpu, task_memory=memory), MODEL) == expected


# -- this stack ---------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("concurrency", [1, 10, 40])
def test_at_zero_workload_the_stack_costs_the_plans_idle_total(stack, concurrency):
    plan = PLANS[stack]
    w = work(task_hours=0, concurrency=concurrency)
    assert wl.this_stack(plan, w, PRICES, MODEL)["monthly"] == plan["cost"]["total"]["idle"]
    row = wl.curve(plan, w, PRICES, MODEL)["rows"][0]
    assert row["taskHours"] == 0 and row["monthly"][wl.THIS_STACK] == plan["cost"]["total"]["idle"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_workload_and_the_plans_busy_figure_price_the_task_pool_alike(stack):
    """The zero-workload equality above holds by construction (the idle total plus items that
    vanish at zero); what makes it mean something is that the idle total carries none of the
    task pool, which the workload then adds. Checked against the plan's other, independent route
    to the same nodes (tools/plan/cost.py): its busy figure keeps the spot group at its maximum
    for busyHoursPerDay. The workload that keeps those nodes full for those hours costs the busy
    figure's spot lines, plus the boot and scale-down minutes the busy figure leaves out."""
    plan = PLANS[stack]
    group = spot_group(plan)
    lines = {i["key"]: i for i in plan["cost"]["lineItems"]}
    nodes_line, disks_line = lines[f"nodes:{group['name']}"], lines[f"node-disks:{group['name']}"]
    assert nodes_line["idle"] == disks_line["idle"] == 0  # no task node in the idle total
    assert nodes_line["busy"] > 0 and disks_line["busy"] > 0
    hours = plan["cost"]["busyHoursPerDay"]
    sh = wl.shape(plan, PRICES)
    concurrency = sh.spot_max * wl.pods_per_node(PRICES["ec2"][sh.spot_types[0]], work(), MODEL)
    result = wl.this_stack(plan, work(task_hours=concurrency * hours * DAYS, concurrency=concurrency), PRICES, MODEL)
    assert result["nodes"] == sh.spot_max
    overhead = (hours * 60 + MODEL["node_boot_minutes"] + sh.scale_down_unneeded_minutes) / (hours * 60)
    assert item(result, "task-nodes") == pytest.approx(nodes_line["busy"] * overhead, abs=0.02)
    assert item(result, "task-node-disks") == pytest.approx(disks_line["busy"] * overhead, abs=0.02)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_item_the_workload_adds_is_priced_from_the_price_table(stack):
    plan, w = PLANS[stack], work(task_hours=900, concurrency=12, task_minutes=7)
    sh = wl.shape(plan, PRICES)
    spec = PRICES["ec2"][sh.spot_types[0]]
    per_node = wl.pods_per_node(spec, w, MODEL)  # tested against nodeadm above
    nodes = math.ceil(w.concurrency / per_node)
    window_min = w.task_hours / (w.concurrency * DAYS) * 60
    life_h = (MODEL["node_boot_minutes"] + max(window_min, sh.scale_down_delay_after_add_minutes)
              + sh.scale_down_unneeded_minutes) / 60
    node_hours = nodes * DAYS * life_h
    result = wl.this_stack(plan, w, PRICES, MODEL)
    assert item(result, "idle") == plan["cost"]["total"]["idle"]
    assert item(result, "task-nodes") == pytest.approx(node_hours * spec["hourly"] * (1 - spec["spot_savings"]),
                                                       abs=0.006)
    assert item(result, "task-node-disks") == pytest.approx(
        node_hours * sh.spot_disk_gb * PRICES["ebs_gp3_gb_month"] / MONTH, abs=0.006)
    assert item(result, "nat-image-pulls") == pytest.approx(
        nodes * DAYS * MODEL["image"]["pull_gb"] * PRICES["nat_gateway_per_gb"], abs=0.006)
    tasks = w.task_hours * 60 / w.task_minutes
    stored_gb = tasks * MODEL["log_kb_per_task"] / 1024**2 * sh.log_retention_days / DAYS
    s3 = PRICES["s3"]
    requests = MODEL["log_requests_per_task"]
    assert item(result, "s3-logs") == pytest.approx(
        stored_gb * s3["standard_gb_month"]
        + tasks * (requests["put"] * s3["put_per_1000"] + requests["get"] * s3["get_per_1000"]) / 1000, abs=0.006)
    assert result["monthly"] == pytest.approx(sum(i["monthly"] for i in result["items"]), abs=0.011)
    assert result["fits"] is True
    assert any("no on-demand fallback" in n for n in result["notes"])


def test_the_metadata_database_steps_up_when_the_concurrency_outgrows_it():
    plan = PLANS["prod"]
    sh = wl.shape(plan, PRICES)
    own = PRICES["rds"][sh.db_class]
    enough = math.floor(own["memory_gib"] * MODEL["db_tasks_per_gib"])
    assert not [i for i in wl.this_stack(plan, work(concurrency=enough), PRICES, MODEL)["items"]
                if i["key"] == "db-class"]
    concurrency = enough + 1
    need = concurrency / MODEL["db_tasks_per_gib"]
    larger = min((c["memory_gib"], c["hourly"], name)
                 for name, c in PRICES["rds"].items() if c["memory_gib"] >= need)[2]
    result = wl.this_stack(plan, work(concurrency=concurrency), PRICES, MODEL)
    factor = PRICES["rds_multi_az_factor"] if sh.db_multi_az else 1
    assert item(result, "db-class") == pytest.approx(
        (PRICES["rds"][larger]["hourly"] - own["hourly"]) * factor * MONTH, abs=0.006)
    assert any(f"dbInstanceClass to {larger}" in n for n in result["notes"])
    # No load, no step: at zero task-hours the stack is its idle self whatever the concurrency.
    assert wl.this_stack(plan, work(task_hours=0, concurrency=concurrency), PRICES, MODEL)["monthly"] == \
        plan["cost"]["total"]["idle"]


def test_limits_of_the_stack_as_configured_are_named():
    plan = PLANS["dev"]
    sh = wl.shape(plan, PRICES)
    per_node = wl.pods_per_node(PRICES["ec2"][sh.spot_types[0]], work(), MODEL)
    beyond = sh.spot_max * per_node + 1
    result = wl.this_stack(plan, work(concurrency=beyond), PRICES, MODEL)
    assert result["fits"] is False and result["monthly"] is not None
    assert any(f"set spotNodeMaxSize to {math.ceil(beyond / per_node)}" in n for n in result["notes"])
    parallelism = MODEL["airflow_parallelism"] * sh.schedulers
    result = wl.this_stack(plan, work(concurrency=parallelism + 1), PRICES, MODEL)
    assert any("[core] parallelism" in n for n in result["notes"])
    huge = wl.this_stack(plan, work(task_cpu="4", task_memory="1Gi"), PRICES, MODEL)
    assert huge["monthly"] is None and "spotNodeInstanceTypes" in huge["notes"][0]


def test_an_on_demand_fallback_group_is_recognised():
    plan = copy.deepcopy(PLANS["dev"])
    fallback = copy.deepcopy(spot_group(plan))
    fallback.update(name="airflow-tasks-od", urn=fallback["urn"] + "-od")
    fallback["inputs"]["capacityType"] = "ON_DEMAND"
    plan["resources"].append(fallback)
    sh = wl.shape(plan, PRICES)
    assert sh.fallback_groups == ("airflow-tasks-od",) and sh.spot_group == spot_group(PLANS["dev"])["name"]
    assert not any("no on-demand fallback" in n for n in wl.this_stack(plan, work(), PRICES, MODEL)["notes"])


# -- the managed services -----------------------------------------------------------------------
def mwaa_line(w: wl.Workload, name: str) -> float:
    c = PRICES["mwaa"][name]
    per_worker = min(c["tasks_per_worker"], int(c["worker_vcpu"] // w.cpu), int(c["worker_memory_gib"] // w.memory_gib))
    extra = math.ceil(w.concurrency / per_worker) - 1
    window = w.task_hours / (w.concurrency * DAYS)
    worker_hours = extra * DAYS * (window + PRICES["mwaa_downscale_minutes"] / 60) if w.task_hours else 0
    return (c["hourly"] * MONTH + c["extra_worker_hourly"] * worker_hours
            + PRICES["mwaa_metadata_gb"] * PRICES["mwaa_metadata_gb_month"])


def test_mwaa_takes_the_smallest_class_whose_workers_hold_the_concurrency():
    small = PRICES["mwaa"]["mw1.small"]
    task = work()
    per_worker = min(small["tasks_per_worker"], int(small["worker_vcpu"] // task.cpu),
                     int(small["worker_memory_gib"] // task.memory_gib))
    most = per_worker * PRICES["mwaa_max_workers"]
    w = work(concurrency=most)
    assert wl.mwaa(w, PRICES, MODEL)["monthly"] == pytest.approx(mwaa_line(w, "mw1.small"), abs=0.006)
    w = work(concurrency=most + 1)
    assert wl.mwaa(w, PRICES, MODEL)["monthly"] == pytest.approx(mwaa_line(w, "mw1.medium"), abs=0.006)
    assert "mw1.medium" in wl.mwaa(w, PRICES, MODEL)["notes"][0]


def test_mwaa_classes_without_a_confirmed_price_and_beyond_the_largest_give_no_number():
    large = PRICES["mwaa"]["mw1.large"]
    beyond_large = large["tasks_per_worker"] * PRICES["mwaa_max_workers"] + 1
    entry = wl.mwaa(work(concurrency=beyond_large), PRICES, MODEL)
    assert entry["monthly"] is None and "mw1.xlarge" in entry["notes"][0] and "no us-east-1 price" in entry["notes"][0]
    biggest = max(c["tasks_per_worker"] for c in PRICES["mwaa_unpriced"].values()) * PRICES["mwaa_max_workers"]
    entry = wl.mwaa(work(concurrency=biggest + 1, task_hours=0), PRICES, MODEL)
    assert entry["monthly"] is None and entry["notes"][0].startswith("cannot")


@pytest.mark.parametrize("minutes", [0.25, 0.5, 1, 10, 60])
def test_mwaa_serverless_bills_task_seconds_with_a_one_minute_minimum(minutes):
    s = PRICES["mwaa_serverless"]
    w = work(task_hours=300, task_minutes=minutes)
    tasks = w.task_hours * 60 / minutes
    billed_hours = tasks * max(minutes * 60, s["minimum_seconds"]) / 3600
    assert wl.mwaa_serverless(w, PRICES, MODEL)["monthly"] == pytest.approx(billed_hours * s["task_hourly"], abs=0.006)


@pytest.mark.parametrize(("change", "reason"), [
    ({"needs": ("ui",)}, "ui"),
    ({"needs": ("python-dags",)}, "python-dags"),
    ({"task_minutes": 61}, "61 min"),
    ({"task_cpu": "1500m"}, "larger than its worker"),
    ({"task_memory": "4Gi"}, "larger than its worker"),
])
def test_mwaa_serverless_says_why_it_cannot_instead_of_a_number(change, reason):
    entry = wl.mwaa_serverless(work(**change), PRICES, MODEL)
    assert entry["monthly"] is None and entry["fits"] is False
    assert entry["notes"][0].startswith("cannot") and reason in entry["notes"][0]


def test_composer_prices_the_small_preset_and_names_the_presets_it_cannot_price():
    c = PRICES["composer3"]
    w = work(concurrency=c["presets"]["small"]["max_tasks"], task_cpu="500m")
    assert wl.composer3(w, PRICES, MODEL)["monthly"] == pytest.approx(
        c["floor_monthly"]["small"] + w.task_hours * 0.5 * c["dcu_per_vcpu_hour"] * c["dcu_hourly"], abs=0.006)
    medium = wl.composer3(work(concurrency=c["presets"]["small"]["max_tasks"] + 1), PRICES, MODEL)
    assert medium["monthly"] is None and "medium" in medium["notes"][0]
    beyond = max(p["max_tasks"] for p in c["presets"].values()) + 1
    assert wl.composer3(work(concurrency=beyond, task_hours=0), PRICES, MODEL)["notes"][0].startswith("cannot")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_comparison_has_the_four_options_each_with_a_source(stack):
    result = wl.estimate(PLANS[stack], work(needs=wl.FEATURES), PRICES, MODEL)
    names = [c["name"] for c in result["comparison"]]
    assert names == [wl.THIS_STACK, wl.MWAA, wl.SERVERLESS, wl.COMPOSER]
    for c in result["comparison"]:
        assert c["sources"] and set(c) >= {"name", "monthly", "notes"} and c["notes"], c
    serverless = result["comparison"][2]
    assert serverless["monthly"] is None and "ui, python-dags" in serverless["notes"][0]
    assert result["workload"]["thisStack"]["monthly"] == result["comparison"][0]["monthly"]
    assert result["workload"]["assumptions"]


# -- monotonic in task-hours --------------------------------------------------------------------
@settings(max_examples=60)
@given(stack=st.sampled_from(["dev", "prod"]), concurrency=st.integers(1, 60),
       size=st.sampled_from([("250m", "512Mi"), ("100m", "256Mi"), ("500m", "1Gi"), ("1", "2Gi")]),
       minutes=st.sampled_from([0.5, 1, 5, 30, 59]), a=st.floats(0, 1), b=st.floats(0, 1))
def test_every_option_costs_at_least_as_much_with_more_task_hours(stack, concurrency, size, minutes, a, b):
    low, high = sorted((a, b))
    most = concurrency * MONTH
    w = work(task_hours=0, concurrency=concurrency, task_cpu=size[0], task_memory=size[1], task_minutes=minutes)
    before = {e["name"]: e["monthly"] for e in wl.comparison(PLANS[stack], w.at(low * most), PRICES, MODEL)}
    after = {e["name"]: e["monthly"] for e in wl.comparison(PLANS[stack], w.at(high * most), PRICES, MODEL)}
    for name, value in before.items():
        assert (value is None) == (after[name] is None), name  # whether it runs does not depend on hours
        if value is not None:
            assert after[name] >= value, (name, low * most, high * most)


# -- crossovers, from the lines themselves ------------------------------------------------------
def stack_line(plan: dict, w: wl.Workload) -> tuple[float, float]:
    """(intercept, slope) of this stack's monthly cost in task-hours where the window is longer
    than scale-down-delay-after-add and shorter than a day: written from the model's definition."""
    sh = wl.shape(plan, PRICES)
    spec = PRICES["ec2"][sh.spot_types[0]]
    nodes = math.ceil(w.concurrency / wl.pods_per_node(spec, w, MODEL))
    per_node_hour = spec["hourly"] * (1 - spec["spot_savings"]) + sh.spot_disk_gb * PRICES["ebs_gp3_gb_month"] / MONTH
    fixed_hours = nodes * DAYS * (MODEL["node_boot_minutes"] + sh.scale_down_unneeded_minutes) / 60
    intercept = (plan["cost"]["total"]["idle"] + fixed_hours * per_node_hour
                 + nodes * DAYS * MODEL["image"]["pull_gb"] * PRICES["nat_gateway_per_gb"])
    s3, requests = PRICES["s3"], MODEL["log_requests_per_task"]
    per_task = (MODEL["log_kb_per_task"] / 1024**2 * sh.log_retention_days / DAYS * s3["standard_gb_month"]
                + (requests["put"] * s3["put_per_1000"] + requests["get"] * s3["get_per_1000"]) / 1000)
    slope = nodes / w.concurrency * per_node_hour + 60 / w.task_minutes * per_task
    return intercept, slope


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("concurrency", [4, 10, 25])
def test_crossovers_are_where_the_lines_meet(stack, concurrency):
    plan = PLANS[stack]
    w = work(task_hours=0, concurrency=concurrency, needs=())
    sh = wl.shape(plan, PRICES)
    low = concurrency * DAYS * sh.scale_down_delay_after_add_minutes / 60
    high = concurrency * DAYS * (24 - (MODEL["node_boot_minutes"] + sh.scale_down_unneeded_minutes) / 60)
    a, b = stack_line(plan, w)
    mwaa_name = next(n for n in PRICES["mwaa"] if wl.mwaa(w, PRICES, MODEL)["notes"][0].startswith(n + ":"))
    m_low, m_high = mwaa_line(w.at(low), mwaa_name), mwaa_line(w.at(high), mwaa_name)
    mwaa_slope = (m_high - m_low) / (high - low)
    c = PRICES["composer3"]
    lines = {wl.MWAA: (m_low - mwaa_slope * low, mwaa_slope),
             wl.SERVERLESS: (0.0, PRICES["mwaa_serverless"]["task_hourly"]),
             wl.COMPOSER: (c["floor_monthly"]["small"], w.cpu * c["dcu_per_vcpu_hour"] * c["dcu_hourly"])}
    if concurrency > c["presets"]["small"]["max_tasks"]:
        del lines[wl.COMPOSER]
    expected = {}
    for name, (a2, b2) in lines.items():
        if b2 != b:
            at = (a - a2) / (b2 - b)
            if low < at < high:
                expected[name] = at
    found = {x["between"][1]: x for x in wl.curve(plan, w, PRICES, MODEL)["crossovers"]}
    inside = {name: x for name, x in found.items() if low < x["taskHours"] < high}
    assert set(inside) == set(expected), (inside, expected)
    for name, at in expected.items():
        # Costs are rounded to cents, so the crossing is found to within a cent's worth of hours.
        slope_gap = abs(lines[name][1] - b)
        assert inside[name]["taskHours"] == pytest.approx(at, abs=0.02 / slope_gap + 0.1), name
        cheaper_below = wl.THIS_STACK if a < lines[name][0] else name
        assert inside[name]["cheaperBelow"] == cheaper_below


def test_the_curve_runs_from_zero_to_what_the_concurrency_allows():
    w = work(task_hours=0, concurrency=3)
    hours = wl.curve_hours(w, PRICES)
    assert hours[0] == 0 and hours[-1] == 3 * MONTH and hours == sorted(hours)
    curve = wl.curve(PLANS["dev"], w, PRICES, MODEL)
    assert curve["options"] == [wl.THIS_STACK, wl.MWAA, wl.SERVERLESS, wl.COMPOSER]
    text = render.render_curve(PLANS["dev"], curve)
    assert text.count("\n| ") == len(hours) + 1 and "Crossovers" in text


# -- the price table ----------------------------------------------------------------------------
def test_every_new_price_cites_a_listed_source_and_unconfirmed_ones_say_so():
    listed = set(PRICES["sources"])
    for section in ("mwaa_serverless", "composer3"):
        assert set(PRICES[section]["sources"]) <= listed, section
    for entry in PRICES["ec2"].values():
        assert {"vcpu", "memory_gib", "enis", "ips_per_eni"} <= set(entry)
    assert all(c["memory_gib"] > 0 for c in PRICES["rds"].values())
    text = (cost.PRICES).read_text()
    for block in ("mwaa_serverless:", "composer3:", "mwaa_max_workers:"):
        preamble = text.split(block, 1)[0].rsplit("\n\n", 1)[-1] + text.split(block, 1)[1].split("\n\n", 1)[0]
        assert "UNCONFIRMED" in preamble, block
    assumptions_text = wl.ASSUMPTIONS.read_text()
    cited = {s for s in MODEL["sources"]}
    for tag in ("AIRFLOW-SLIM", "EKS-AMI", "KARPENTER", "AWS-MWAA-CLASS"):
        assert f"[{tag}]" in assumptions_text and tag in cited, tag
