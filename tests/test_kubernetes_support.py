"""EKS version lifecycle: the calendar, the support-type validation at its boundaries, the
upgrade policy, the pinned autoscaler chart rendered with the program's values, and the plan
priced for a day inside extended support."""

from __future__ import annotations

import datetime as dt

import pulumi
import pytest

from airflow_eks import config, kubernetes_support, versions
from airflow_eks import kubernetes_support as ks
from airflow_eks.offline import harness, loader
from tests import charts
from tests.plan_records import plan_of, rec
from tools.plan import __main__ as cli
from tools.plan import cost, render

DAY = dt.timedelta(days=1)
SCHEMA = loader.project_file()["config"]
DEFAULT_MINOR = SCHEMA["kubernetesVersion"]["default"]
RELEASE = "kubernetes:helm.sh/v3:Release"
PINNED_CHART = charts.chart_dir(versions.CLUSTER_AUTOSCALER_CHART, versions.CLUSTER_AUTOSCALER_CHART_VERSION)


# -- the calendar -------------------------------------------------------------------------------
@pytest.mark.parametrize("minor", versions.SUPPORTED_KUBERNETES_VERSIONS)
def test_every_accepted_minor_has_sourced_dates_in_order_and_an_autoscaler(minor):
    row = ks.CALENDAR[minor]
    assert row.released < row.end_of_standard < row.end_of_extended
    # EKS: 14 months of standard support from the EKS release (the 1.35/1.36 release dates are
    # EKS Distro announcements, a day or so later), then exactly 12 months of extended support.
    assert abs((row.end_of_standard - row.released).days - 14 * 30.44) <= 7
    assert row.end_of_extended == row.end_of_standard.replace(year=row.end_of_standard.year + 1)
    assert "kubernetes-versions" in row.source or "endoflife.date" in row.source
    tag = versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[minor]
    assert tag.startswith(f"v{minor}.")
    # Every minor runs its own image on the one pinned chart.
    assert charts.require(PINNED_CHART)


def test_no_accepted_minor_is_past_its_extended_support_on_the_reference_day():
    assert [m for m in versions.SUPPORTED_KUBERNETES_VERSIONS
            if ks.CALENDAR[m].phase(harness.REFERENCE_DAY) == ks.ENDED] == []
    assert set(versions.SUPPORTED_KUBERNETES_VERSIONS) == set(ks.CALENDAR)


def test_default_minor_is_the_newest_with_a_released_autoscaler_chart_line_and_it_is_pinned():
    with_chart = [m for m in versions.SUPPORTED_KUBERNETES_VERSIONS
                  if m in versions.CLUSTER_AUTOSCALER_CHART_LINES.values()]
    assert with_chart[-1] == DEFAULT_MINOR
    assert versions.CLUSTER_AUTOSCALER_CHART_LINES[versions.CLUSTER_AUTOSCALER_CHART_VERSION] == DEFAULT_MINOR
    assert ks.CALENDAR[DEFAULT_MINOR].end_of_standard >= dt.date(2027, 3, 1)
    chart = charts.require(PINNED_CHART)
    app_version = next(line.split(":", 1)[1].strip() for line in (chart / "Chart.yaml").read_text().splitlines()
                       if line.startswith("appVersion:"))
    assert app_version.startswith(f"{DEFAULT_MINOR}.")


def test_the_defaults_are_in_standard_support_today():
    # The one test that reads the real calendar: when it fails, move kubernetesVersion (and the
    # autoscaler chart) one minor up; the rest of the suite runs as of harness.REFERENCE_DAY.
    today = ks.today()
    assert ks.CALENDAR[DEFAULT_MINOR].phase(today) == ks.STANDARD_SUPPORT, (
        f"on {today} the default kubernetesVersion {DEFAULT_MINOR} is no longer in standard support: "
        f"{ks.cost_cliff(DEFAULT_MINOR)}")


def test_eks_rates_agree_with_the_plans_price_table():
    prices = cost.load_prices()
    assert (prices["eks"]["standard_hourly"], prices["eks"]["extended_hourly"]) == (
        ks.STANDARD_HOURLY, ks.EXTENDED_HOURLY)
    assert prices["hours_per_month"] == ks.HOURS_PER_MONTH


@pytest.mark.parametrize("support_type, day, expected", [
    ("EXTENDED", dt.date(2027, 3, 26), ("1.35", ks.STANDARD_SUPPORT, None)),
    ("EXTENDED", dt.date(2027, 3, 27), ("1.35", ks.EXTENDED_SUPPORT, None)),
    ("STANDARD", dt.date(2027, 3, 27), ("1.36", ks.STANDARD_SUPPORT, dt.date(2027, 3, 27))),
    # Past the end of extended support EKS upgrades either way; 1.37 is beyond the calendar.
    ("EXTENDED", dt.date(2028, 3, 27), ("1.36", ks.EXTENDED_SUPPORT, dt.date(2028, 3, 27))),
    ("STANDARD", dt.date(2027, 8, 2), ("1.37", ks.STANDARD_SUPPORT, dt.date(2027, 8, 2))),
])
def test_control_plane_follows_the_upgrades_eks_makes(support_type, day, expected):
    plane = ks.control_plane_on("1.35", support_type, day)
    assert (plane.minor, plane.phase, plane.upgraded_on) == expected


# -- validation, before any resource --------------------------------------------------------
def load(minor: str, support_type: str, day: dt.date, monkeypatch) -> list[str]:
    """Validate dev with these values as of `day`; the warnings it logged."""
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **kw: warnings.append(message))
    run = harness.run(lambda: config.load(today=day), stack="dev",
                      overrides={"kubernetesVersion": minor, "eksSupportType": support_type})
    assert run.value.cluster.kubernetes_version == minor and run.value.cluster.support_type == support_type
    # The Airflow release is judged on the same day (tests/test_airflow_calendar.py): not these tests' subject.
    return [w for w in warnings if not w.startswith("airflowVersion")]


def refused(minor: str, support_type: str, day: dt.date) -> str:
    with pytest.raises(harness.ProgramError) as caught:
        harness.run(lambda: config.load(today=day), stack="dev",
                    overrides={"kubernetesVersion": minor, "eksSupportType": support_type})
    assert isinstance(caught.value.error, pulumi.RunError)
    message = str(caught.value)
    assert f"airflow-eks:kubernetesVersion = '{minor}'" in message
    return message


@pytest.mark.parametrize("support_type", ks.SUPPORT_TYPES)
def test_the_day_before_the_end_of_standard_support_passes_quietly(support_type, monkeypatch):
    assert load("1.34", support_type, dt.date(2026, 12, 1), monkeypatch) == []


def test_standard_is_refused_from_the_first_day_of_extended_support_saying_what_eks_does():
    message = refused("1.34", "STANDARD", dt.date(2026, 12, 2))
    assert "left standard support on 2026-12-02" in message
    assert "upgrades a STANDARD cluster's control plane to 1.35 by itself" in message
    assert "a cluster in extended support cannot switch to STANDARD" in message
    # What is allowed instead: only what is accepted that day with STANDARD.
    assert "in EKS standard support on 2026-12-02, as eksSupportType is STANDARD (1.35, 1.36)" in message
    assert "$438.00/month instead of $73.00" in message


def test_extended_is_accepted_in_extended_support_with_a_warning_naming_the_date_and_cost(monkeypatch):
    [warning] = load("1.34", "EXTENDED", dt.date(2026, 12, 2), monkeypatch)
    assert "extended support since 2026-12-02" in warning
    assert "$438.00/month instead of $73.00" in warning
    assert load("1.34", "EXTENDED", dt.date(2027, 12, 1), monkeypatch) == [warning]


@pytest.mark.parametrize(("support_type", "allowed"), [
    # On 2027-12-02 1.35 and 1.36 are both in extended support (README's calendar table).
    ("STANDARD", "in EKS standard support on 2027-12-02, as eksSupportType is STANDARD (none this program knows)"),
    ("EXTENDED", "EKS supports on 2027-12-02 (1.35, 1.36)"),
])
def test_a_minor_is_refused_from_the_day_its_extended_support_ends(support_type, allowed):
    message = refused("1.34", support_type, dt.date(2027, 12, 2))
    assert "Extended support of 1.34 ended on 2027-12-02" in message
    assert f"expected a minor {allowed}." in message


def test_a_minor_is_refused_before_eks_releases_it(monkeypatch):
    assert "released on EKS on 2026-06-02" in refused("1.36", "STANDARD", dt.date(2026, 6, 1))
    assert load("1.36", "STANDARD", dt.date(2026, 6, 2), monkeypatch) == []


def test_an_unknown_support_type_or_minor_names_the_key_the_value_and_what_is_allowed():
    for overrides, expected in (({"eksSupportType": "standard"}, "airflow-eks:eksSupportType = 'standard': "
                                 "expected one of STANDARD, EXTENDED"),
                                # On the reference day (2026-12-01) 1.32 and 1.33 are past standard support.
                                ({"kubernetesVersion": "1.31"}, "expected one of the minors in EKS standard "
                                 r"support on 2026-12-01, as eksSupportType is STANDARD \(1.34, 1.35, 1.36\)")):
        with pytest.raises(harness.ProgramError, match=expected):
            harness.run(config.load, stack="dev", overrides=overrides)


def test_a_refused_minor_stops_the_program_before_any_resource():
    with pytest.raises(harness.ProgramError) as caught:
        harness.run_program("dev", today=ks.CALENDAR[DEFAULT_MINOR].end_of_standard)
    assert "kubernetesVersion" in str(caught.value)
    assert [r.typ for r in caught.value.resources] == []


# -- the way out of a refusal, in each state the stack's cluster can be in ------------------
# The program knows the day, the minor and the support type; not whether the stack has a
# cluster, nor what its control plane runs (kubernetes_support: NO_CLUSTER, STILL_ON_MINOR,
# UPGRADED). Expected values read off the AWS calendar (the README table above): end of standard
# support 1.32 2026-03-23, 1.33 2026-07-29, 1.34 2026-12-02, 1.35 2027-03-27, 1.36 2027-08-02;
# end of extended support one year later; 1.36 released 2026-06-02.
S, E = ks.STANDARD, ks.EXTENDED
NEW, STILL, UP = ks.NO_CLUSTER, ks.STILL_ON_MINOR, ks.UPGRADED
STATES = [
    # (minor, support type, day, [(state, minors, support type, keeps the minor)])
    ("1.34", S, dt.date(2026, 12, 1), []),  # last day of standard support: accepted
    ("1.34", E, dt.date(2026, 12, 2), []),  # extended support, chosen knowingly: accepted
    ("1.34", S, dt.date(2026, 12, 2), [
        (NEW, ("1.35", "1.36"), S, False), (NEW, ("1.34",), E, True),
        (STILL, ("1.35",), S, False), (STILL, ("1.34",), E, True),
        (UP, ("1.35",), S, False)]),
    ("1.35", S, dt.date(2027, 3, 27), [
        (NEW, ("1.36",), S, False), (NEW, ("1.35",), E, True),
        (STILL, ("1.36",), S, False), (STILL, ("1.35",), E, True),
        (UP, ("1.36",), S, False)]),
    # Two upgrades behind: EKS moved a STANDARD 1.32 to 1.33 on 2026-03-23 and on to 1.34 on
    # 2026-07-29; a 1.32 still running (an EXTENDED cluster) can only step to 1.33, in extended support.
    ("1.32", S, dt.date(2026, 8, 1), [
        (NEW, ("1.34", "1.35", "1.36"), S, False), (NEW, ("1.32",), E, True),
        (STILL, ("1.33",), E, False), (STILL, ("1.32",), E, True),
        (UP, ("1.34",), S, False)]),
    # Not released yet: no cluster can run it.
    ("1.36", S, dt.date(2026, 6, 1), [(NEW, ("1.33", "1.34", "1.35"), S, False)]),
    # Extended support over: nothing keeps 1.34.
    ("1.34", E, dt.date(2027, 12, 2), [
        (NEW, ("1.35", "1.36"), E, False), (STILL, ("1.35",), E, False), (UP, ("1.35",), E, False)]),
    # ...and with STANDARD no minor of the calendar is in standard support any more; EKS took a
    # STANDARD cluster to 1.37, which this calendar does not know.
    ("1.34", S, dt.date(2027, 12, 2), [
        (NEW, ("1.35", "1.36"), E, False), (STILL, ("1.35",), E, False), (UP, (), S, False)]),
    ("1.36", S, dt.date(2027, 8, 2), [
        (NEW, ("1.34", "1.35", "1.36"), E, False), (STILL, ("1.36",), E, True), (UP, (), S, False)]),
]


@pytest.mark.parametrize(("minor", "support_type", "day", "expected"), STATES,
                         ids=[f"{m}-{t}-{d}" for m, t, d, _ in STATES])
def test_ways_out_per_state(minor, support_type, day, expected):
    ways = [(w.state, w.minors, w.support_type, w.keeps_minor) for w in ks.ways_out(minor, support_type, day)]
    assert ways == expected
    assert (ks.refusal(minor, support_type, day) is None) == (expected == [])


def test_an_upgraded_standard_cluster_is_never_offered_its_old_minor_back():
    """The issue's case: EKS upgraded a STANDARD 1.34 cluster to 1.35 by itself."""
    message = ks.refusal("1.34", S, dt.date(2027, 1, 15))
    later = message[message.index("A later minor"):]
    assert later.startswith("A later minor (1.35 for a cluster STANDARD all along): set kubernetesVersion to that "
                            "minor; a control plane never goes back, so no eksSupportType keeps 1.34")
    assert "EXTENDED" not in later
    # The recovery runbook's first step, and how to read what the control plane runs.
    assert "A cluster: run `pulumi refresh`, then read the minor its control plane runs (`aws eks describe-cluster " \
           '--name "$(pulumi stack output clusterName)" --query cluster.version --output text`)' in message
    # Keeping 1.34 is offered only where it can work: before the cluster exists, or while it still runs 1.34.
    assert "No cluster yet: set kubernetesVersion 1.35 or 1.36, or eksSupportType EXTENDED to create the cluster " \
           "on 1.34 at $438.00/month instead of $73.00." in message
    assert "Still 1.34: set kubernetesVersion 1.35 (one minor a step), or eksSupportType EXTENDED to keep " \
           "1.34" in message


def test_an_unreleased_minor_has_no_cluster_to_recover():
    message = ks.refusal("1.36", S, dt.date(2026, 6, 1))
    assert message.endswith("1.36 is released on EKS on 2026-06-02. No cluster yet: set kubernetesVersion 1.33, "
                            "1.34 or 1.35")
    assert "pulumi refresh" not in message


def test_a_minor_older_than_the_calendar_says_eks_has_upgraded_its_clusters():
    message = ks.unknown_minor("1.31", S, harness.REFERENCE_DAY)
    assert message.startswith("one of the minors in EKS standard support on 2026-12-01, as eksSupportType is "
                              "STANDARD (1.34, 1.35, 1.36). Extended support of 1.31 has ended")
    assert "run `pulumi refresh`, then set kubernetesVersion to the minor `aws eks describe-cluster" in message
    # A typo or a minor newer than the calendar gets the list only.
    for value in ("latest", "1.37", "v1.31", "\u0661.31"):
        assert ks.unknown_minor(value, E, harness.REFERENCE_DAY) == (
            "one of the minors EKS supports on 2026-12-01 (1.32, 1.33, 1.34, 1.35, 1.36)")


def _boundary_days() -> list[dt.date]:
    """Every day a phase changes in the calendar, and the days either side of it."""
    edges = {d for row in ks.CALENDAR.values() for d in (row.released, row.end_of_standard, row.end_of_extended)}
    return sorted({d + delta for d in edges for delta in (-DAY, dt.timedelta(0), DAY)})


@pytest.mark.parametrize("day", _boundary_days())
def test_every_way_out_is_accepted_on_that_day_and_possible_in_its_state(day):
    for minor in ks.CALENDAR:
        for support_type in ks.SUPPORT_TYPES:
            ways = ks.ways_out(minor, support_type, day)
            message = ks.refusal(minor, support_type, day)
            assert (message is None) == (ways == []) == ks.accepted(minor, support_type, day)
            if not ways:
                continue
            # The refusal lists exactly what is accepted that day with the chosen support type.
            chosen = [m for m in ks.CALENDAR if ks.refusal(m, support_type, day) is None]
            assert f"({', '.join(chosen) or 'none this program knows'})." in message
            for way in ways:
                # Followed, a suggestion is never refused in turn.
                assert all(ks.refusal(m, way.support_type, day) is None for m in way.minors), (minor, way)
                if way.keeps_minor:  # keeping the minor costs extended support and needs it not over
                    assert way.minors == (minor,) and way.support_type == E and way.state in (NEW, STILL)
                    assert ks.CALENDAR[minor].phase(day) == ks.EXTENDED_SUPPORT
                elif way.state == STILL:  # EKS upgrades one minor at a time, and so do you
                    assert way.minors == (ks.next_minor(minor),)
                elif way.state == UP:  # never back, never sideways: only what EKS moved it to
                    assert all(int(m.split(".")[1]) > int(minor.split(".")[1]) for m in way.minors)
                    assert way.support_type == support_type
            if any(w.state == UP for w in ways):
                assert "EXTENDED to keep" not in message[message.index("A later minor"):]


# -- the upgrade policy -------------------------------------------------------------------------
def test_default_support_type_is_standard_and_both_stack_files_set_it(program):
    assert SCHEMA["eksSupportType"]["default"] == ks.STANDARD
    stack = program.one("eks:index:Cluster").urn.split("::")[0].rsplit(":", 1)[-1]
    chosen = loader.stack_file(stack)["config"]["airflow-eks:eksSupportType"]
    assert program.one("eks:index:Cluster").get("upgradePolicy") == {"supportType": chosen}


def test_extended_reaches_the_clusters_upgrade_policy():
    run = harness.run_program("dev", overrides={"eksSupportType": "EXTENDED"})
    assert run.one("eks:index:Cluster").get("upgradePolicy") == {"supportType": "EXTENDED"}


# -- the pinned autoscaler chart, rendered with the program's values ----------------------------
def autoscaler_deployment(run: harness.Run) -> dict:
    [release] = [r for r in run.find(RELEASE) if r.get("chart") == versions.CLUSTER_AUTOSCALER_CHART]
    path = charts.chart_dir(versions.CLUSTER_AUTOSCALER_CHART, release.get("version"))
    objects = charts.render(path, release.plain_inputs["values"], release=release.get("name"),
                            namespace=release.get("namespace"))
    return charts.one(objects, "Deployment", "cluster-autoscaler")


def test_the_pinned_chart_runs_the_image_of_the_cluster_minor(program):
    deployment = autoscaler_deployment(program)
    spec = charts.pod_spec(deployment)
    [container] = spec["containers"]
    minor = program.one("eks:index:Cluster").get("version")
    assert container["image"].endswith(
        f"registry.k8s.io/autoscaling/cluster-autoscaler:{versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[minor]}")
    cluster_name = program.outputs["clusterName"][0]
    assert f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled," \
           f"k8s.io/cluster-autoscaler/{cluster_name}" in container["command"]
    assert spec["serviceAccountName"] == "cluster-autoscaler"


def test_a_bumped_minor_renders_its_own_image_on_the_same_chart():
    newest = versions.SUPPORTED_KUBERNETES_VERSIONS[-1]
    run = harness.run_program("dev", overrides={"kubernetesVersion": newest})
    [container] = charts.pod_spec(autoscaler_deployment(run))["containers"]
    assert container["image"].endswith(f":{versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[newest]}")


# -- the plan, priced for a day ----------------------------------------------------------------
def cluster(minor: str, support_type: str | None):
    inputs = {"version": minor, **({"upgradePolicy": {"supportType": support_type}} if support_type else {})}
    return rec("eks:index:Cluster", "eks", inputs, custom=False)


def cost_text(plan: dict) -> str:
    """The plan's cost section as one line of text (wrapping undone)."""
    return " ".join(line.strip() for line in render.cost(plan))


def control_plane(plan: dict) -> dict:
    return next(i for i in plan["cost"]["lineItems"] if i["key"] == "eks:eks")


def test_plan_prices_a_day_inside_extended_support_at_the_extended_rate_and_says_so():
    plan = plan_of([cluster("1.34", "EXTENDED")], day=dt.date(2027, 1, 15))
    assert control_plane(plan)["idle"] == 438.0 and control_plane(plan)["busy"] == 438.0
    assert control_plane(plan)["label"] == "EKS control plane eks: 1.34, extended support"
    support = plan["cost"]["kubernetesSupport"]
    assert support["phase"] == ks.EXTENDED_SUPPORT and support["endOfStandardSupport"] == "2026-12-02"
    text = cost_text(plan)
    assert "priced for 2027-01-15" in text
    assert "1.34: standard support until 2026-12-02, then $438.00/month (EXTENDED, until 2027-12-02) or an " \
           "automatic upgrade to 1.35 (STANDARD)" in text
    assert "on 2027-01-15 1.34 is in extended support (EXTENDED): $438.00/month instead of $73.00" in text


def test_plan_of_a_standard_cluster_past_its_window_is_upgraded_not_billed_extended():
    plan = plan_of([cluster("1.35", "STANDARD")], day=dt.date(2027, 6, 1))
    assert control_plane(plan)["idle"] == 73.0
    support = plan["cost"]["kubernetesSupport"]
    assert (support["billedMinor"], support["upgradedOn"]) == ("1.36", "2027-03-27")
    assert "EKS has upgraded the control plane from 1.35 to 1.36 by itself" in cost_text(plan)
    # ...and the stack file still says 1.35, which the program refuses from that day on.
    assert "the program refuses a `pulumi up` with 1.35 from that day" in cost_text(plan)
    assert ks.refusal("1.35", ks.STANDARD, dt.date.fromisoformat(support["upgradedOn"])) is not None


def test_plan_of_a_cluster_without_an_upgrade_policy_is_priced_as_eks_defaults_it():
    assert control_plane(plan_of([cluster("1.35", None)], day=dt.date(2027, 3, 27)))["idle"] == 438.0
    assert control_plane(plan_of([cluster("1.35", None)], day=dt.date(2027, 3, 26)))["idle"] == 73.0


def test_plan_flags_a_minor_outside_the_calendar():
    plan = plan_of([cluster("1.29", "STANDARD")], day=harness.REFERENCE_DAY)
    assert control_plane(plan)["idle"] == 73.0
    assert any("not in the EKS calendar" in w for w in plan["cost"]["warnings"])


def test_golden_plans_are_priced_for_the_reference_day():
    for stack in cli.GOLDEN_STACKS:
        golden = cli.json.loads(cli.golden_path(stack).read_text())
        assert golden["cost"]["date"] == harness.REFERENCE_DAY.isoformat()
        assert golden["cost"]["kubernetesSupport"]["costCliff"] == kubernetes_support.cost_cliff(DEFAULT_MINOR)


def test_plan_cli_date_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["dev", "--date", "next week"])
    assert exit_.value.code == 2
    assert "not a date YYYY-MM-DD: 'next week'" in capsys.readouterr().err
    assert cli.iso_date("2027-04-01") == dt.date(2027, 4, 1)


def test_docs_support_window_table_matches_the_calendar():
    page = (loader.ROOT / "docs" / "operations" / "upgrades.md").read_text()
    for minor, row in ks.CALENDAR.items():
        line = (f"| `{minor}` | {row.released} | {row.end_of_standard} | {row.end_of_extended} | "
                f"`{versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[minor]}` |")
        assert line in page, f"docs/operations/upgrades.md 'Kubernetes support window' lacks or misstates: {line}"
    assert f"The default `kubernetesVersion` is {DEFAULT_MINOR}," in page


def test_the_recovery_runbook_refreshes_first_and_reads_what_the_control_plane_runs():
    page = (loader.ROOT / "docs" / "operations" / "upgrades.md").read_text()
    path, heading = ks.UPGRADE_GUIDE.split(", ")
    assert (loader.ROOT / path).read_text() == page and f"## {heading.strip(chr(39))}\n" in page
    runbook = page[page.index("### When the program refuses the stack's minor"):]
    steps = [runbook.index("1. `pulumi refresh`"), runbook.index(f"2. `{ks.VERSION_COMMAND}`")]
    assert steps == sorted(steps)
    assert "no `eksSupportType` keeps the old minor" in runbook
    troubleshooting = (loader.ROOT / "docs" / "troubleshooting.md").read_text()
    row = next(line for line in troubleshooting.splitlines() if "kubernetesVersion = '1.35'" in line)
    assert "`pulumi refresh`" in row and ks.VERSION_COMMAND in row
