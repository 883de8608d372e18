"""Airflow's release calendar as data, and what a day means for an `airflowVersion`.

Airflow patches only its latest minor: "when we release a new MINOR version, we stop releasing
PATCHLEVEL releases for the previous MINOR version" (apache/airflow
airflow-core/docs/security/releasing_security_patches.rst, "Releasing Airflow with security
patches"; README.md "Version Life Cycle": "We always recommend that all users run the latest
available minor release for whatever major version is in use"). So on any day exactly one minor
is patched, the newest released one, and a version is current when it is that minor's newest
patch. Security fixes follow the same line.

Dates are the PyPI upload days (UTC) of each release's apache-airflow wheel, read from PyPI's
simple API (`upload-time`) on CHECKED; yanked releases are kept apart with PyPI's reason.
Keeping it current: re-read that list (docs/operations/upgrades.md, "Keeping the calendar
current") at least every REVIEW_DAYS; tests/test_airflow_calendar.py fails on the real date once
the last reading is older. A new minor's first final release makes the previous minor
unpatched from that day: add it here (and to the policy pack's AIRFLOW_RELEASES), then move the
default `airflowVersion` once the runtime tier passes on it.

Pure: the program judges on kubernetes_support.today() (the offline harness fixes the day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SOURCE = ("PyPI upload dates of apache-airflow (simple API `upload-time` of each release's wheel); "
          "policy: apache/airflow airflow-core/docs/security/releasing_security_patches.rst")
# The day PyPI's list of apache-airflow releases was last read into RELEASES.
CHECKED = dt.date(2026, 12, 6)
REVIEW_DAYS = 92
# Not final releases on PyPI on CHECKED (only betas: 3.4.0b1 2026-10-13, 3.4.0b2 2026-10-20), so
# 3.3 is still the patched minor; 3.4.0 joins RELEASES on its PyPI upload day.

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
SUPPORTED = (CURRENT,)

# Every final Airflow 3 release on PyPI, oldest first: version -> upload day (UTC).
RELEASES: dict[str, dt.date] = {v: dt.date.fromisoformat(d) for v, d in (
    ("3.0.0", "2025-04-22"), ("3.0.1", "2025-05-12"), ("3.0.2", "2025-06-10"), ("3.0.3", "2025-07-14"),
    ("3.0.4", "2025-08-08"), ("3.0.6", "2025-08-29"),
    ("3.1.0", "2025-09-25"), ("3.1.1", "2025-10-27"), ("3.1.2", "2025-11-05"), ("3.1.3", "2025-11-14"),
    ("3.1.5", "2025-12-12"), ("3.1.6", "2026-01-13"), ("3.1.7", "2026-02-04"), ("3.1.8", "2026-03-11"),
    ("3.2.0", "2026-04-07"), ("3.2.1", "2026-04-22"), ("3.2.2", "2026-05-29"),
    ("3.3.0", "2026-07-06"), ("3.3.1", "2026-08-12"), ("3.3.2", "2026-09-17"),
)}
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

    def as_dict(self) -> dict:
        return {"version": self.version, "date": self.day.isoformat(), "status": self.status, "minor": self.minor,
                "released": self.released.isoformat() if self.released else None,
                "patchedUntil": self.patched_until.isoformat() if self.patched_until else None,
                "newestPatch": self.newest_patch, "moveTo": self.move_to,
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
    return Support(version=version, day=day, status=status, minor=minor, released=released,
                   patched_until=until, newest_patch=newest_patch(minor, day) if known else None,
                   move_to=None if status == CURRENT else target)


def warning(s: Support) -> str | None:
    """The `pulumi up` warning for a version that is not current on its day, or None."""
    move = f"; move to {s.move_to} (docs/operations/upgrades.md)" if s.move_to else ""
    if s.status == CURRENT:
        return None
    if s.status == UNPATCHED:
        return (f"airflowVersion {s.version}: Airflow stopped patching {s.minor} on {s.patched_until} (it patches "
                f"only its latest minor, bug and security fixes alike){move}.")
    if s.status == PATCH_AVAILABLE:
        return (f"airflowVersion {s.version}: {s.newest_patch} is out with the fixes {s.minor} has received since"
                f"{move}.")
    if s.status == YANKED:
        return f"airflowVersion {s.version} was yanked from PyPI ({YANKED_RELEASES[s.version]}){move}."
    if s.status == UNRELEASED:
        return f"airflowVersion {s.version} is not released on {s.day} (from {RELEASES[s.version]}){move}."
    return (f"airflowVersion {s.version} is not a release in the program's Airflow calendar (final releases on "
            f"PyPI up to {CHECKED}), so its support cannot be judged and the runtime tier has not run it{move}.")
