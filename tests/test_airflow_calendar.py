"""Airflow's release calendar (airflow_eks/support/airflow_calendar.py): its data against Airflow's
release notes and PyPI's upload dates, the status of a version on a day at the edges, the grace
before the policy fails a superseded release, the warning `pulumi up` shows, and checks on the
real date that the calendar is still read often enough to be true and the default still deploys."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pulumi
import pytest

from airflow_eks import config
from airflow_eks.offline import harness, loader
from airflow_eks.support import airflow_calendar as cal
from tests.plan_records import plan_of, rec
from tools.plan import render

DEFAULT = loader.project_file()["config"]["airflowVersion"]["default"]
DAY = dt.timedelta(days=1)


# -- the data --------------------------------------------------------------------------------
def test_every_minor_starts_with_its_x_y_0_and_releases_come_in_version_and_date_order():
    for minor in cal.minors():
        versions = [v for v in cal.RELEASES if cal.minor_of(v) == minor]
        assert versions[0] == f"{minor}.0", minor
        dates = [cal.RELEASES[v] for v in versions]
        assert dates == sorted(dates), minor
    # Minors in order, each released after the one before (the policy's "latest minor").
    assert [cal.released_on(m) for m in cal.minors()] == sorted(cal.released_on(m) for m in cal.minors())
    assert not set(cal.YANKED_RELEASES) & set(cal.RELEASES)


def test_the_release_days_are_pypis_upload_days():
    # apache_airflow-X.Y.Z-py3-none-any.whl `upload-time` (PyPI simple API, read 2026-12-06).
    assert {v: cal.RELEASES[v].isoformat() for v in ("3.0.0", "3.1.0", "3.1.8", "3.2.0", "3.3.0", "3.3.2")} == {
        "3.0.0": "2025-04-22", "3.1.0": "2025-09-25", "3.1.8": "2026-03-11", "3.2.0": "2026-04-07",
        "3.3.0": "2026-07-06", "3.3.2": "2026-09-17"}


def test_upstream_releases_the_registry_here_lacks_are_dated_from_the_release_notes_and_marked():
    # "Airflow 3.4.0 (2026-11-06)": https://airflow.apache.org/docs/apache-airflow/3.4.0/release_notes.html
    # and RELEASE_NOTES.rst on apache/airflow main, whose newest section it was on 2026-12-06 (no
    # 3.3.3 or 3.4.1 there). This machine's PyPI mirror serves only 3.4.0b1 and 3.4.0b2.
    assert cal.RELEASES["3.4.0"] == dt.date(2026, 11, 6)
    assert set(cal.NOT_INSTALLABLE_HERE) == {"3.4.0"}
    assert not cal.installable_here("3.4.0") and cal.installable_here("3.3.2")
    assert not cal.installable_here("3.1.4")  # yanked: not a release at all


def test_the_default_is_the_newest_release_installable_here():
    # The runtime tier proves the default (tests/test_runtime_pins.py), so it can only be a
    # release the package registry here serves: the newest such, not the newest upstream.
    installable = [v for v in cal.RELEASES if cal.installable_here(v)]
    assert max(installable, key=lambda v: tuple(map(int, v.split(".")))) == DEFAULT


def test_the_grace_is_no_longer_than_the_shortest_gap_between_minors():
    # X.Y.0 days from Airflow's release notes (3.0.0 2025-04-22 ... 3.4.0 2026-11-06): 156, 194,
    # 90 and 123 days apart. A grace of at most the shortest gap keeps a release that passes the
    # policy at most one minor behind the patched one.
    cited = [dt.date(2025, 4, 22), dt.date(2025, 9, 25), dt.date(2026, 4, 7), dt.date(2026, 7, 6), dt.date(2026, 11, 6)]
    assert [cal.released_on(m) for m in cal.minors()] == cited
    assert cal.GRACE_DAYS == min((b - a).days for a, b in zip(cited, cited[1:], strict=False)) == 90
    # ...so each minor's last patch fails at the latest on the day the minor after next ships.
    for older, after_next in zip(cal.minors(), cal.minors()[2:], strict=False):
        last = cal.newest_patch(older, dt.date.max)
        assert cal.support(last, cal.released_on(after_next)).fails_policy, (last, after_next)


# -- on the real date ------------------------------------------------------------------------
def test_the_calendar_was_read_within_its_review_period():
    """Fails on the real date once the calendar may be stale: re-read Airflow's release notes
    (docs/operations/upgrades.md, "Keeping the calendar current"), update RELEASES, CHECKED,
    NOT_INSTALLABLE_HERE and the policy pack's AIRFLOW_RELEASES."""
    today = dt.datetime.now(dt.UTC).date()
    assert today - cal.CHECKED <= dt.timedelta(days=cal.REVIEW_DAYS), (
        f"the Airflow calendar was last read on {cal.CHECKED}, more than {cal.REVIEW_DAYS} days before {today}: "
        "re-read Airflow's release notes (airflow_eks/support/airflow_calendar.py)")


def test_the_default_airflow_version_is_within_its_grace_today():
    """The one test that judges the default on the real date (the rest of the suite runs as of
    harness.REFERENCE_DAY): it fails once airflow-version-supported would fail prod with it."""
    today = dt.datetime.now(dt.UTC).date()
    s = cal.support(DEFAULT, today)
    assert not s.fails_policy, (
        f"on {today} the default airflowVersion {DEFAULT} fails the prod policy ({s.status}; grace over since "
        f"{s.grace_ends}): move the default to {s.move_to or 'a current release'} once the package registry here "
        "serves it and the runtime tier passes on it (docs/operations/upgrades.md, Moving the default)")


# -- status on a day -------------------------------------------------------------------------
def test_a_minor_is_patched_until_the_next_minor_is_released_and_then_names_where_to_go():
    before = cal.support("3.2.2", dt.date(2026, 7, 6) - DAY)
    assert (before.status, before.patched_until, before.move_to) == (cal.CURRENT, None, None)
    after = cal.support("3.2.2", dt.date(2026, 7, 6))
    assert (after.status, after.patched_until, after.move_to) == (cal.UNPATCHED, dt.date(2026, 7, 6), "3.3.0")
    # Later patches and minors become the target as they come out.
    assert cal.support("3.1.8", dt.date(2026, 11, 5)).move_to == "3.3.2"
    assert cal.support("3.1.8", dt.date(2026, 11, 6)).move_to == "3.4.0"


def test_an_older_patch_of_the_patched_minor_is_told_the_newer_patch():
    s = cal.support("3.3.0", dt.date(2026, 8, 12))
    assert (s.status, s.newest_patch, s.move_to) == (cal.PATCH_AVAILABLE, "3.3.1", "3.3.1")
    assert cal.support("3.3.0", dt.date(2026, 8, 12) - DAY).status == cal.CURRENT


@pytest.mark.parametrize(("version", "status"), [
    ("3.1.4", cal.YANKED),  # PyPI: "The wrong RC was mistakenly released!"
    ("3.0.5", cal.YANKED),
    ("3.4.1", cal.UNKNOWN),  # not in Airflow's release notes when the calendar was read
    ("3.3.9", cal.UNKNOWN),
])
def test_yanked_and_unknown_releases_are_never_current_and_get_no_grace(version, status):
    s = cal.support(version, dt.date(2026, 12, 1))
    assert (s.status, s.move_to, s.grace_ends, s.fails_policy) == (status, "3.4.0", None, True)
    assert cal.warning(s)


def test_a_release_judged_before_its_day_is_unreleased():
    s = cal.support("3.3.2", dt.date(2026, 9, 17) - DAY)
    assert (s.status, s.fails_policy) == (cal.UNRELEASED, True)


# -- the grace ----------------------------------------------------------------------------------
def test_an_unpatched_minor_keeps_deploying_for_the_grace_after_the_next_minor():
    # 3.4.0 on 2026-11-06 (release notes) ended 3.3's patches; 90 days on is 2027-02-04.
    first = cal.support("3.3.2", dt.date(2026, 11, 6))
    assert (first.status, first.patched_until, first.move_to) == (cal.UNPATCHED, dt.date(2026, 11, 6), "3.4.0")
    assert first.move_to_installable_here is False
    assert (first.grace_ends, first.fails_policy) == (dt.date(2027, 2, 4), False)
    assert cal.support("3.3.2", dt.date(2027, 2, 4) - DAY).fails_policy is False
    assert cal.support("3.3.2", dt.date(2027, 2, 4)).fails_policy is True
    # The day before 3.4.0 3.3.2 was current, with nothing to move to and no grace running.
    before = cal.support("3.3.2", dt.date(2026, 11, 6) - DAY)
    assert (before.status, before.move_to, before.grace_ends, before.fails_policy) == (cal.CURRENT, None, None, False)


def test_the_grace_runs_from_the_day_a_release_was_superseded_even_by_a_patch():
    # 3.3.0 lacks 3.3.1's fixes from 2026-08-12 (PyPI), so its grace ends 90 days on, on 2026-11-10,
    # although 3.3 itself was patched until 2026-11-06; 3.3.1's runs from 3.3.2 (2026-09-17).
    s = cal.support("3.3.0", dt.date(2026, 8, 12))
    assert (s.status, s.grace_ends) == (cal.PATCH_AVAILABLE, dt.date(2026, 11, 10))
    assert cal.support("3.3.0", dt.date(2026, 11, 10)).fails_policy
    assert cal.support("3.3.1", dt.date(2026, 12, 1)).grace_ends == dt.date(2026, 12, 16)


# -- what `pulumi up` says -------------------------------------------------------------------
def load(version: str, day: dt.date, monkeypatch) -> tuple[str, list[str]]:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **kw: warnings.append(message))
    run = harness.run(lambda: config.load(today=day), stack="dev", overrides={"airflowVersion": version})
    return run.value.airflow.version, warnings


def test_the_default_warns_on_the_reference_day_that_its_minor_is_unpatched_and_why_it_stays(monkeypatch):
    version, [warning] = load(DEFAULT, harness.REFERENCE_DAY, monkeypatch)
    assert version == DEFAULT == "3.3.2"
    assert "Airflow stopped patching 3.3 on 2026-11-06" in warning and "move to 3.4.0" in warning
    assert "3.4.0 is not yet validated by this program's runtime tier: it is not installable here" in warning
    assert "allows it in prod until 2027-02-03" in warning and "fails prod previews from 2027-02-04" in warning


def test_an_unpatched_minor_past_its_grace_is_accepted_with_a_warning_naming_the_day_and_the_release_to_move_to(
        monkeypatch):
    version, [warning] = load("3.1.8", harness.REFERENCE_DAY, monkeypatch)
    assert version == "3.1.8"
    assert "Airflow stopped patching 3.1 on 2026-04-07" in warning
    assert "move to 3.4.0" in warning and "docs/operations/upgrades.md" in warning
    assert "grace is over since 2026-07-06" in warning  # 3.2.0's 2026-04-07 + 90 days


def test_an_unknown_release_is_accepted_with_a_warning_that_it_cannot_be_judged(monkeypatch):
    version, [warning] = load("3.4.1", harness.REFERENCE_DAY, monkeypatch)
    assert version == "3.4.1"
    assert "not a release in the program's Airflow calendar" in warning


def test_a_current_release_the_registry_here_lacks_is_accepted_with_a_warning_that_it_is_unproven(monkeypatch):
    version, [warning] = load("3.4.0", harness.REFERENCE_DAY, monkeypatch)
    assert version == "3.4.0"
    assert "3.4.0 is current, but 3.4.0 is not yet validated by this program's runtime tier" in warning


# -- the plan ---------------------------------------------------------------------------------
def airflow_release(version: str):
    return rec("kubernetes:helm.sh/v3:Release", "airflow-release",
               {"chart": "airflow", "version": "1.19.0", "values": {"airflowVersion": version}})


def test_the_plan_carries_airflow_support_for_its_day_and_says_it():
    plan = plan_of([airflow_release("3.2.2")], day=dt.date(2026, 7, 6))
    assert plan["airflowSupport"] | {"source": None} == {
        "version": "3.2.2", "date": "2026-07-06", "status": cal.UNPATCHED, "minor": "3.2", "released": "2026-04-07",
        "patchedUntil": "2026-07-06", "newestPatch": "3.2.2", "moveTo": "3.3.0",
        "graceDays": 90, "graceEnds": "2026-10-04", "failsPolicy": False,
        "installableHere": True, "moveToInstallableHere": True,
        "calendarChecked": cal.CHECKED.isoformat(), "source": None}
    text = " ".join(render.render_plan(plan, ("airflow",)).split())
    assert "Airflow support (judged for 2026-07-06" in text
    assert "stopped patching 3.2 on 2026-07-06" in text and "move to 3.3.0" in text
    assert "fails prod previews from 2026-10-04" in text
    current = plan_of([airflow_release("3.2.2")], day=dt.date(2026, 7, 5))
    assert current["airflowSupport"]["status"] == cal.CURRENT
    assert "is current on 2026-07-05" in render.render_plan(current, ("airflow",))


def test_the_plan_says_when_the_release_to_move_to_is_not_installable_here():
    plan = plan_of([airflow_release("3.3.2")], day=dt.date(2027, 2, 4))
    facts = plan["airflowSupport"]
    assert (facts["moveTo"], facts["moveToInstallableHere"], facts["graceEnds"], facts["failsPolicy"]) == (
        "3.4.0", False, "2027-02-04", True)
    text = " ".join(render.render_plan(plan, ("airflow",)).split())
    assert "not yet validated by this program's runtime tier" in text and "grace is over since 2027-02-04" in text
    # Set to 3.4.0 itself: current, and said to be unproven here.
    current = plan_of([airflow_release("3.4.0")], day=dt.date(2026, 12, 6))
    assert (current["airflowSupport"]["status"], current["airflowSupport"]["installableHere"]) == (cal.CURRENT, False)
    text = " ".join(render.render_plan(current, ("airflow",)).split())
    assert "Airflow 3.4.0 is current on 2026-12-06" in text
    assert "3.4.0 is not yet validated by this program's runtime tier" in text


def test_a_plan_without_the_airflow_release_says_so():
    plan = plan_of([], day=dt.date(2026, 12, 1))
    assert plan["airflowSupport"] is None
    assert "no Airflow release" in render.render_plan(plan, ("airflow",))


def test_the_golden_plans_carry_the_defaults_support_on_the_reference_day():
    # On 2026-12-01 3.3 is unpatched (3.4.0, 2026-11-06) but within its grace: prod still deploys.
    for stack in ("dev", "prod"):
        golden = json.loads((Path(__file__).parent / "golden" / f"plan-{stack}.json").read_text())
        facts = golden["airflowSupport"]
        assert (facts["version"], facts["status"], facts["date"], facts["moveTo"], facts["graceEnds"],
                facts["failsPolicy"]) == (DEFAULT, cal.UNPATCHED, harness.REFERENCE_DAY.isoformat(), "3.4.0",
                                          "2027-02-04", False), stack
