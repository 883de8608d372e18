"""Airflow's release calendar as data, and what a day means for an `airflowVersion`.

Airflow patches only its latest minor: "when we release a new MINOR version, we stop releasing
PATCHLEVEL releases for the previous MINOR version" (apache/airflow
airflow-core/docs/security/releasing_security_patches.rst, "Releasing Airflow with security
patches"; README.md "Version Life Cycle": "We always recommend that all users run the latest
available minor release for whatever major version is in use"). So on any day exactly one minor
is patched, the newest released one, and a version is current when it is that minor's newest
patch. Security fixes follow the same line.

The calendar records what upstream released, not what this machine can install: a release's day
is the one Airflow's release notes give ("Airflow 3.4.0 (2026-11-06)",
https://airflow.apache.org/docs/apache-airflow/<version>/release_notes.html and RELEASE_NOTES.rst
on apache/airflow main). For the releases this machine's PyPI mirror serves it is the PyPI upload
day (UTC) of the apache-airflow wheel, which the release notes, GitHub releases and announcements
match wherever they were compared (3.0.0, 3.2.1, 3.3.0, 3.3.1, 3.3.2).
The mirror lags upstream: releases it does not serve are in NOT_INSTALLABLE_HERE, so the runtime
tier cannot have run them, and the plan and `pulumi up` say so next to any advice to move there.

The default `airflowVersion` is the newest release the runtime tier proves, which can trail the
newest upstream release for as long as the mirror does. GRACE_DAYS is how long a superseded release
may keep deploying to prod: the airflow-version-supported policy fails only once it is over (the
advisory airflow-version-current reports it from the first day, with the day the grace ends).

Keeping it current: re-read the release notes (docs/operations/upgrades.md, "Keeping the calendar
current") at least every REVIEW_DAYS; tests/test_airflow_calendar.py fails on the real date once
the last reading is older, and once the default's grace is over. A new minor's first final release
makes the previous minor unpatched from that day: add it here (and to the policy pack's
AIRFLOW_RELEASES), then move the default `airflowVersion` once the runtime tier passes on it.

Pure: the program judges on kubernetes_support.today() (the offline harness fixes the day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SOURCE = ("Airflow's release notes (airflow.apache.org/docs/apache-airflow/<version>/release_notes.html), the same "
          "day as PyPI's upload of each apache-airflow wheel where the package registry here serves it; policy: "
          "apache/airflow airflow-core/docs/security/releasing_security_patches.rst")
# The day the release notes (and PyPI's list of apache-airflow releases) were last read into RELEASES.
CHECKED = dt.date(2026, 12, 6)
REVIEW_DAYS = 92
# Days a superseded release may still deploy to prod: airflow-version-supported fails it from
# GRACE_DAYS after the day it was superseded (superseded_on). Airflow's minors came 156, 194, 90
# and 123 days apart (3.0.0 2025-04-22, 3.1.0 2025-09-25, 3.2.0 2026-04-07, 3.3.0 2026-07-06, 3.4.0
# 2026-11-06): a grace no longer than the shortest gap keeps a passing stack at most one minor
# behind, and 90 days covers what moving takes here: the new release reaching the package registry
# this program installs from, its first patch (x.y.1 came 15 to 37 days after x.y.0), a
# runtime-tier pass, and an upgrade with a snapshot first.
GRACE_DAYS = 90

# Status of a version on a day.
CURRENT = "current"
"""The patched minor's newest patch."""
PATCH_AVAILABLE = "patch-available"
"""The patched minor, but a newer patch of it is out."""
UNPATCHED = "unpatched"
"""A minor Airflow no longer patches (a newer minor is out)."""
YANKED = "yanked"
UNRELEASED = "unreleased"
UNKNOWN = "unknown"
"""Not a final 3.x release in the calendar (newer than CHECKED, or not a release at all)."""

# Every final Airflow 3 release, oldest first: version -> release day (UTC).
RELEASES: dict[str, dt.date] = {v: dt.date.fromisoformat(d) for v, d in (
    ("3.0.0", "2025-04-22"), ("3.0.1", "2025-05-12"), ("3.0.2", "2025-06-10"), ("3.0.3", "2025-07-14"),
    ("3.0.4", "2025-08-08"), ("3.0.6", "2025-08-29"),
    ("3.1.0", "2025-09-25"), ("3.1.1", "2025-10-27"), ("3.1.2", "2025-11-05"), ("3.1.3", "2025-11-14"),
    ("3.1.5", "2025-12-12"), ("3.1.6", "2026-01-13"), ("3.1.7", "2026-02-04"), ("3.1.8", "2026-03-11"),
    ("3.2.0", "2026-04-07"), ("3.2.1", "2026-04-22"), ("3.2.2", "2026-05-29"),
    ("3.3.0", "2026-07-06"), ("3.3.1", "2026-08-12"), ("3.3.2", "2026-09-17"),
    ("3.4.0", "2026-11-06"),
)}
# Final releases this machine's package registry does not serve, so the runtime tier has not run
# them (why, as read on CHECKED); their days are the release notes'. Leave a release here until
# the registry serves it.
NOT_INSTALLABLE_HERE: dict[str, str] = {
    "3.4.0": "this machine's PyPI mirror serves only its betas, 3.4.0b1 and 3.4.0b2",
}
# Yanked on PyPI (its reason): never a release to run.
YANKED_RELEASES: dict[str, str] = {
    "3.0.5": "Bug with `conn.extra_dejson` masking fails task",
    "3.1.4": "The wrong RC was mistakenly released!",
}


def minor_of(version: str) -> str:
    major, minor, *_ = version.split(".")
    return f"{major}.{minor}"


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def minors() -> tuple[str, ...]:
    """Every minor in the calendar, oldest first."""
    return tuple(dict.fromkeys(minor_of(v) for v in sorted(RELEASES, key=_key)))


def released_on(minor: str) -> dt.date:
    """The day the minor's first final release (X.Y.0) was published."""
    return min(d for v, d in RELEASES.items() if minor_of(v) == minor)


def patched_minor(day: dt.date) -> str | None:
    """The one minor Airflow patches on `day`: the newest released by then."""
    out = [m for m in minors() if released_on(m) <= day]
    return out[-1] if out else None


def newest_patch(minor: str, day: dt.date) -> str | None:
    """The newest release of `minor` published by `day`."""
    out = sorted((v for v, d in RELEASES.items() if minor_of(v) == minor and d <= day), key=_key)
    return out[-1] if out else None


def patched_until(minor: str) -> dt.date | None:
    """The first day `minor` gets no patches (the next minor's release), or None while it is the newest."""
    later = [released_on(m) for m in minors() if _key(m) > _key(minor)]
    return min(later) if later else None


def superseded_on(version: str) -> dt.date | None:
    """The day `version` stopped being current: the first release of a newer version (a newer patch
    of its minor, or the next minor), or None while none is in the calendar."""
    later = [d for v, d in RELEASES.items() if _key(v) > _key(version)]
    return min(later) if later else None


def installable_here(version: str) -> bool:
    """A final release this machine's package registry serves, so the runtime tier can run it."""
    return version in RELEASES and version not in NOT_INSTALLABLE_HERE


@dataclass(frozen=True)
class Support:
    """What `version` means on `day` (JSON-ready through as_dict)."""

    version: str
    day: dt.date
    status: str
    minor: str
    released: dt.date | None
    """The minor's X.Y.0 release day; None if the calendar does not know the minor."""
    patched_until: dt.date | None
    """First day without patches for the minor; None while Airflow still patches it (or unknown)."""
    newest_patch: str | None
    """The minor's newest release on `day`."""
    move_to: str | None
    """The release to run instead (the patched minor's newest patch); None when current."""
    grace_ends: dt.date | None
    """First day airflow-version-supported fails a release superseded on `day` (GRACE_DAYS after it
    was superseded); None when current, and for a yanked, unknown or unreleased one (no grace)."""
    installable_here: bool
    """This machine's package registry serves `version` (NOT_INSTALLABLE_HERE)."""
    move_to_installable_here: bool | None
    """The same for `move_to`; None without one."""

    @property
    def fails_policy(self) -> bool:
        """airflow-version-supported fails it on `day`: no grace, or the grace is over."""
        if self.status in (YANKED, UNKNOWN, UNRELEASED):
            return True
        return self.grace_ends is not None and self.day >= self.grace_ends

    def as_dict(self) -> dict:
        return {"version": self.version, "date": self.day.isoformat(), "status": self.status, "minor": self.minor,
                "released": self.released.isoformat() if self.released else None,
                "patchedUntil": self.patched_until.isoformat() if self.patched_until else None,
                "newestPatch": self.newest_patch, "moveTo": self.move_to,
                "graceDays": GRACE_DAYS, "graceEnds": self.grace_ends.isoformat() if self.grace_ends else None,
                "failsPolicy": self.fails_policy, "installableHere": self.installable_here,
                "moveToInstallableHere": self.move_to_installable_here,
                "calendarChecked": CHECKED.isoformat(), "source": SOURCE}


def support(version: str, day: dt.date) -> Support:
    """The status of `version` (a 3.x.y release) on `day`."""
    minor = minor_of(version)
    target_minor = patched_minor(day)
    target = newest_patch(target_minor, day) if target_minor else None
    known = minor in minors()
    released = released_on(minor) if known else None
    until = patched_until(minor) if known else None
    if version in YANKED_RELEASES:
        status = YANKED
    elif version not in RELEASES:
        status = UNKNOWN
    elif RELEASES[version] > day:
        status = UNRELEASED
    elif until is not None and until <= day:
        status = UNPATCHED
    elif version != newest_patch(minor, day):
        status = PATCH_AVAILABLE
    else:
        status = CURRENT
    if until is not None and until > day:
        until = None  # not known on `day`: the next minor was not out yet
    superseded = superseded_on(version) if status in (UNPATCHED, PATCH_AVAILABLE) else None
    move_to = None if status == CURRENT else target
    return Support(version=version, day=day, status=status, minor=minor, released=released,
                   patched_until=until, newest_patch=newest_patch(minor, day) if known else None,
                   move_to=move_to, grace_ends=superseded + dt.timedelta(days=GRACE_DAYS) if superseded else None,
                   installable_here=installable_here(version),
                   move_to_installable_here=installable_here(move_to) if move_to else None)


def unproven(version: str) -> str | None:
    """Why the runtime tier has not run a release the package registry here does not serve; None
    for any other."""
    if version not in NOT_INSTALLABLE_HERE:
        return None
    return (f"{version} is not yet validated by this program's runtime tier: it is not installable here "
            f"({NOT_INSTALLABLE_HERE[version]}; see docs/operations/upgrades.md)")


def _grace(s: Support) -> str:
    if s.fails_policy:
        return (f"Its {GRACE_DAYS}-day grace is over since {s.grace_ends}: the airflow-version-supported policy fails "
                "prod previews.")
    last = s.grace_ends - dt.timedelta(days=1)
    return (f"The airflow-version-supported policy allows it in prod until {last} (a {GRACE_DAYS}-day grace) and "
            f"fails prod previews from {s.grace_ends}.")


def warning(s: Support) -> str | None:
    """The `pulumi up` warning for a version that is not current on its day, or for a current one
    the runtime tier cannot have run; None for a current release installable here."""
    move = f"; move to {s.move_to} (docs/operations/upgrades.md)" if s.move_to else ""
    caveat = f" {unproven(s.move_to)}." if s.move_to and unproven(s.move_to) else ""
    grace = f" {_grace(s)}" if s.grace_ends else ""
    if s.status == CURRENT:
        said = unproven(s.version)
        return f"airflowVersion {s.version} is current, but {said}." if said else None
    if s.status == UNPATCHED:
        return (f"airflowVersion {s.version}: Airflow stopped patching {s.minor} on {s.patched_until} (it patches "
                f"only its latest minor, bug and security fixes alike){move}.{caveat}{grace}")
    if s.status == PATCH_AVAILABLE:
        return (f"airflowVersion {s.version}: {s.newest_patch} is out with the fixes {s.minor} has received since"
                f"{move}.{caveat}{grace}")
    if s.status == YANKED:
        return f"airflowVersion {s.version} was yanked from PyPI ({YANKED_RELEASES[s.version]}){move}.{caveat}"
    if s.status == UNRELEASED:
        return f"airflowVersion {s.version} is not released on {s.day} (from {RELEASES[s.version]}){move}.{caveat}"
    return (f"airflowVersion {s.version} is not a release in the program's Airflow calendar (final releases up to "
            f"{CHECKED}), so its support cannot be judged and the runtime tier has not run it{move}.{caveat}")
