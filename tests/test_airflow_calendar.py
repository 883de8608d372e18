"""Airflow's release calendar (airflow_eks/support/airflow_calendar.py): its data against PyPI's
upload dates, the status of a version on a day at the edges, the warning `pulumi up` shows, and
a check on the real date that the calendar is still read often enough to be true."""

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


def test_the_default_is_the_newest_release_the_calendar_knows():
    newest = max(cal.RELEASES, key=lambda v: tuple(map(int, v.split("."))))
    assert newest == DEFAULT


# -- on the real date ------------------------------------------------------------------------
def test_the_calendar_was_read_within_its_review_period_and_the_default_is_current_today():
    """Fails on the real date once the calendar may be stale: re-read PyPI's release list
    (docs/operations/upgrades.md, "Keeping the calendar current"), update RELEASES, CHECKED and
    the policy pack's AIRFLOW_RELEASES, and move the default if a newer release passes the runtime
    tier. A new minor makes the default's minor unpatched from its release day."""
    today = dt.datetime.now(dt.UTC).date()
    assert today - cal.CHECKED <= dt.timedelta(days=cal.REVIEW_DAYS), (
        f"the Airflow calendar was last read from PyPI on {cal.CHECKED}, more than {cal.REVIEW_DAYS} days "
        f"before {today}: re-read it (airflow_eks/support/airflow_calendar.py)")
    assert cal.support(DEFAULT, today).status == cal.CURRENT, cal.support(DEFAULT, today)


# -- status on a day -------------------------------------------------------------------------
def test_a_minor_is_patched_until_the_next_minor_is_released_and_then_names_where_to_go():
    before = cal.support("3.2.2", dt.date(2026, 7, 6) - DAY)
    assert (before.status, before.patched_until, before.move_to) == (cal.CURRENT, None, None)
    after = cal.support("3.2.2", dt.date(2026, 7, 6))
    assert (after.status, after.patched_until, after.move_to) == (cal.UNPATCHED, dt.date(2026, 7, 6), "3.3.0")
    # Later patches of the newer minor become the target as they come out.
    assert cal.support("3.1.8", dt.date(2026, 12, 1)).move_to == "3.3.2"


def test_an_older_patch_of_the_patched_minor_is_told_the_newer_patch():
    s = cal.support("3.3.0", dt.date(2026, 8, 12))
    assert (s.status, s.newest_patch, s.move_to) == (cal.PATCH_AVAILABLE, "3.3.1", "3.3.1")
    assert cal.support("3.3.0", dt.date(2026, 8, 12) - DAY).status == cal.CURRENT


@pytest.mark.parametrize(("version", "status"), [
    ("3.1.4", cal.YANKED),  # PyPI: "The wrong RC was mistakenly released!"
    ("3.0.5", cal.YANKED),
    ("3.4.0", cal.UNKNOWN),  # only betas on PyPI when the calendar was read
    ("3.3.9", cal.UNKNOWN),
])
def test_yanked_and_unknown_releases_are_never_current(version, status):
    s = cal.support(version, dt.date(2026, 12, 1))
    assert (s.status, s.move_to) == (status, "3.3.2")
    assert cal.warning(s)


def test_a_release_judged_before_its_day_is_unreleased():
    assert cal.support("3.3.2", dt.date(2026, 9, 17) - DAY).status == cal.UNRELEASED


# -- what `pulumi up` says -------------------------------------------------------------------
def load(version: str, day: dt.date, monkeypatch) -> tuple[str, list[str]]:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **kw: warnings.append(message))
    run = harness.run(lambda: config.load(today=day), stack="dev", overrides={"airflowVersion": version})
    return run.value.airflow.version, warnings


def test_the_default_passes_quietly_on_the_reference_day(monkeypatch):
    assert load(DEFAULT, harness.REFERENCE_DAY, monkeypatch) == (DEFAULT, [])


def test_an_unpatched_minor_is_accepted_with_a_warning_naming_the_day_and_the_release_to_move_to(monkeypatch):
    version, [warning] = load("3.1.8", harness.REFERENCE_DAY, monkeypatch)
    assert version == "3.1.8"
    assert "Airflow stopped patching 3.1 on 2026-04-07" in warning
    assert "move to 3.3.2" in warning and "docs/operations/upgrades.md" in warning


def test_an_unknown_release_is_accepted_with_a_warning_that_it_cannot_be_judged(monkeypatch):
    version, [warning] = load("3.4.0", harness.REFERENCE_DAY, monkeypatch)
    assert version == "3.4.0"
    assert "not a release in the program's Airflow calendar" in warning


# -- the plan ---------------------------------------------------------------------------------
def airflow_release(version: str):
    return rec("kubernetes:helm.sh/v3:Release", "airflow-release",
               {"chart": "airflow", "version": "1.19.0", "values": {"airflowVersion": version}})


def test_the_plan_carries_airflow_support_for_its_day_and_says_it():
    plan = plan_of([airflow_release("3.2.2")], day=dt.date(2026, 7, 6))
    assert plan["airflowSupport"] | {"source": None} == {
        "version": "3.2.2", "date": "2026-07-06", "status": cal.UNPATCHED, "minor": "3.2", "released": "2026-04-07",
        "patchedUntil": "2026-07-06", "newestPatch": "3.2.2", "moveTo": "3.3.0",
        "calendarChecked": cal.CHECKED.isoformat(), "source": None}
    text = render.render_plan(plan, ("airflow",))
    assert "Airflow support (judged for 2026-07-06" in text
    assert "stopped patching 3.2 on 2026-07-06" in text and "move to 3.3.0" in text
    current = plan_of([airflow_release("3.2.2")], day=dt.date(2026, 7, 5))
    assert current["airflowSupport"]["status"] == cal.CURRENT
    assert "is current on 2026-07-05" in render.render_plan(current, ("airflow",))


def test_a_plan_without_the_airflow_release_says_so():
    plan = plan_of([], day=dt.date(2026, 12, 1))
    assert plan["airflowSupport"] is None
    assert "no Airflow release" in render.render_plan(plan, ("airflow",))


def test_the_golden_plans_carry_the_defaults_support_on_the_reference_day():
    for stack in ("dev", "prod"):
        golden = json.loads((Path(__file__).parent / "golden" / f"plan-{stack}.json").read_text())
        facts = golden["airflowSupport"]
        assert (facts["version"], facts["status"], facts["date"]) == (
            DEFAULT, cal.CURRENT, harness.REFERENCE_DAY.isoformat()), stack
