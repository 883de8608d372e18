"""Cost model (tools/plan/cost.py) on synthetic records; expected figures computed by hand
from tools/plan/prices.yaml (730 h/month)."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests import charts
from tests.plan_records import dev_like, entries, node_group, rec
from tools.plan import cost

PRICES = cost.load_prices()


def items(result: dict) -> dict[str, dict]:
    return {i["key"]: i for i in result["lineItems"]}


def test_dev_shaped_stack_line_items_and_totals():
    result = cost.estimate(entries(*dev_like()), PRICES, busy_hours=8, region="us-east-1")
    got = {k: (i["idle"], i["busy"]) for k, i in items(result).items()}
    assert got == {
        "eks:eks": (73.00, 73.00),                      # 0.10 x 730
        "nat-gateways": (32.85, 32.85),                 # 0.045 x 730
        "public-ipv4": (3.65, 3.65),                    # 0.005 x 730
        "nodes:system": (23.08, 23.08),                 # 0.0832 x (1 - 0.62) x 730, desired 1
        "node-disks:system": (1.60, 1.60),              # 20 GB default x 0.08
        "nodes:spot": (0.00, 34.57),                    # 4 x 0.096 x (1 - 0.63) x 730 x 8/24
        "node-disks:spot": (0.00, 2.13),                # 4 x 20 x 0.08 x 8/24
        "rds:db": (11.68, 11.68),                       # 0.016 x 730
        "rds-storage:db": (2.30, 2.30),                 # 20 x 0.115
        "pvc:airflow:triggerer": (0.40, 0.40),          # 1 x 5 GiB x 0.08
        "kms-keys": (1.00, 1.00),
    }
    assert result["total"] == {"idle": 149.56, "busy": 186.26}
    assert result["warnings"] == []
    assert result["pricesCollected"] == PRICES["collected"]


def test_multi_az_doubles_instance_and_storage_and_extra_iops_are_charged():
    db = rec("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.medium", "allocatedStorage": 50,
                                                 "storageType": "gp3", "multiAz": True, "iops": 4000})
    got = items(cost.estimate(entries(db), PRICES))
    assert got["rds:db"]["idle"] == 94.90                 # 0.065 x 2 x 730
    assert got["rds-storage:db"]["idle"] == 51.50         # 50 x 0.115 x 2 + (4000 - 3000) x 0.02 x 2
    assert "Multi-AZ" in got["rds:db"]["label"]


@pytest.mark.parametrize(("hours", "busy"), [(0, 0.00), (12, 51.86), (24, 103.72)])
def test_busy_hours_scale_only_the_scale_to_zero_group(hours, busy):
    result = cost.estimate(entries(*dev_like()), PRICES, busy_hours=hours)
    got = items(result)
    assert got["nodes:spot"]["busy"] == busy             # 4 x 0.03552 x 730 x hours/24
    assert got["nodes:system"]["busy"] == got["nodes:system"]["idle"] == 23.08
    assert result["busyHoursPerDay"] == hours


def test_busy_hours_outside_a_day_are_rejected():
    with pytest.raises(ValueError, match="between 0 and 24"):
        cost.estimate([], PRICES, busy_hours=25)


def test_on_demand_groups_pay_list_price_and_explicit_disk_size_is_used():
    ng = node_group("system", "m6a.large", "ON_DEMAND", 2, 2, 4, diskSize=50)
    got = items(cost.estimate(entries(ng), PRICES))
    assert got["nodes:system"]["idle"] == 126.14          # 2 x 0.0864 x 730
    assert got["node-disks:system"]["idle"] == 8.00       # 2 x 50 x 0.08


def test_a_launch_template_root_volume_size_wins_over_disk_size():
    template = rec("aws:ec2/launchTemplate:LaunchTemplate", "system-nodes", {"blockDeviceMappings": [
        {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 40.0, "volumeType": "gp3"}}]})
    ng = node_group("system", "m6a.large", "ON_DEMAND", 2, 2, 4, deps=(template.urn,),
                    launchTemplate={"id": "lt-1", "version": "1"})
    got = items(cost.estimate(entries(template, ng), PRICES))
    assert got["node-disks:system"]["idle"] == 6.40       # 2 x 40 x 0.08
    assert "40 GB" in got["node-disks:system"]["label"]
    unrelated = node_group("spot", "m6a.large", "ON_DEMAND", 1, 1, 1, launchTemplate={"id": "lt-2", "version": "1"})
    assert items(cost.estimate(entries(template, unrelated), PRICES))["node-disks:spot"]["idle"] == 1.60  # default


def test_spot_type_without_an_advisor_figure_uses_the_stated_default_and_unknown_types_warn():
    prices = copy.deepcopy(PRICES)
    del prices["ec2"]["m6i.large"]["spot_savings"]
    got = items(cost.estimate(entries(node_group("spot", "m6i.large", "SPOT", 1, 1, 1)), prices))
    assert got["nodes:spot"]["idle"] == 31.54             # 0.096 x (1 - 0.55) x 730
    result = cost.estimate(entries(node_group("odd", "x9.huge", "ON_DEMAND", 1, 1, 1)), PRICES)
    assert items(result)["nodes:odd"]["idle"] == 0
    assert any("x9.huge" in w for w in result["warnings"])


def test_triggerer_volume_follows_the_release_values_and_the_chart_defaults():
    def pvc(values):
        release = rec("kubernetes:helm.sh/v3:Release", "airflow", {"chart": "airflow", "values": values})
        return items(cost.estimate(entries(release), PRICES)).get("pvc:airflow:triggerer")

    assert pvc({})["idle"] == 8.00                                          # chart default 100Gi
    assert pvc({"triggerer": {"replicas": 2, "persistence": {"size": "10Gi"}}})["idle"] == 1.60
    assert pvc({"triggerer": {"persistence": {"enabled": False}}}) is None
    assert pvc({"triggerer": {"enabled": False}}) is None


def test_other_charts_have_no_airflow_volumes():
    release = rec("kubernetes:helm.sh/v3:Release", "ca", {"chart": "cluster-autoscaler", "values": {}})
    assert cost.estimate(entries(release), PRICES)["lineItems"] == []


def test_other_regions_are_flagged():
    result = cost.estimate([], PRICES, region="eu-west-1")
    assert "eu-west-1" in result["warnings"][0]
    assert cost.estimate([], PRICES, region="us-east-1")["warnings"] == []


def test_mwaa_classes_are_listed_with_monthly_prices():
    mwaa = {m["class"]: m for m in cost.estimate([], PRICES)["mwaa"]}
    assert set(mwaa) == {"mw1.small", "mw1.medium", "mw1.large"}
    assert (mwaa["mw1.small"]["monthly"], mwaa["mw1.medium"]["monthly"], mwaa["mw1.large"]["monthly"]) == (
        357.70, 540.20, 722.70)
    assert all(m["includes"] for m in mwaa.values())


@pytest.mark.parametrize(("text", "gib"), [("5Gi", 5), ("512Mi", 0.5), ("1Ti", 1024), (2**31, 2)])
def test_storage_quantities(text, gib):
    assert cost.quantity_gib(text) == gib


def test_bad_storage_quantity_raises():
    with pytest.raises(ValueError, match="storage quantity"):
        cost.quantity_gib("lots")


def test_price_table_is_dated_and_every_entry_cites_a_listed_source():
    assert PRICES["collected"] and PRICES["region"] == "us-east-1" and PRICES["hours_per_month"] == 730
    for table in ("ec2", "rds", "mwaa"):
        for name, entry in PRICES[table].items():
            assert entry["hourly"] > 0, name
            assert entry["sources"] and set(entry["sources"]) <= set(PRICES["sources"]), name
    assert all(0 < e["spot_savings"] < 1 for e in PRICES["ec2"].values() if "spot_savings" in e)
    assert 0 < PRICES["spot_default_savings"] < 1


def test_chart_defaults_match_the_pinned_chart():
    values = yaml.safe_load((charts.require(charts.airflow_chart_dir()) / "values.yaml").read_text())
    for dotted, expected in cost.CHART_DEFAULTS.items():
        node = values
        for part in dotted.split("."):
            node = node[part]
        assert node == expected, dotted


def _alb_records(scheme: str):
    controller = rec("kubernetes:helm.sh/v3:Release", "lbc", {"chart": "aws-load-balancer-controller", "values": {
        "ingressClass": "airflow-alb", "ingressClassParams": {"spec": {"scheme": scheme}}}})
    ingress = rec("kubernetes:networking.k8s.io/v1:Ingress", "ui", {"spec": {"ingressClassName": "airflow-alb"}})
    subnets = [rec("aws:ec2/subnet:Subnet", f"public-{i}", {"tags": {"kubernetes.io/role/elb": "1"}})
               for i in range(3)]
    private = rec("aws:ec2/subnet:Subnet", "private-0", {"tags": {"kubernetes.io/role/internal-elb": "1"}})
    return controller, ingress, *subnets, private


def test_an_internal_alb_costs_its_hours_and_one_lcu():
    got = items(cost.estimate(entries(*_alb_records("internal")), PRICES))
    assert got["alb:airflow-alb"]["idle"] == 16.43       # 0.0225 x 730
    assert got["alb-lcu:airflow-alb"]["idle"] == 5.84    # 0.008 x 730
    assert "alb-ipv4:airflow-alb" not in got


def test_an_internet_facing_alb_also_pays_a_public_ipv4_per_az():
    got = items(cost.estimate(entries(*_alb_records("internet-facing")), PRICES))
    assert got["alb-ipv4:airflow-alb"]["idle"] == 10.95  # 3 x 0.005 x 730
    assert "x 3" in got["alb-ipv4:airflow-alb"]["label"]


def test_no_ingress_means_no_load_balancer_line():
    controller, _, *subnets = _alb_records("internal")
    assert not [k for k in items(cost.estimate(entries(controller, *subnets), PRICES)) if k.startswith("alb")]


def test_prod_idle_with_the_alb_stays_within_budget(programs):
    from tools.plan import model

    result = cost.estimate(model.resources(programs["prod"].resources), PRICES)
    assert "alb:airflow-alb" in items(result)
    assert result["total"]["idle"] <= 450
