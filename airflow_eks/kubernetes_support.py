"""EKS Kubernetes version lifecycle: the release calendar as data, and what a day means for a minor.

EKS keeps a minor in standard support for 14 months after its EKS release, then in extended
support for 12 more, billed per cluster-hour at six times the standard rate. A cluster whose
upgrade policy is STANDARD is upgraded by EKS to the next minor when standard support ends;
with EXTENDED (the AWS default) it stays and is billed the extended rate; at the end of
extended support EKS upgrades it either way. Only the control plane is upgraded: managed
node groups and add-ons stay behind (EKS user guide, "Understand the Kubernetes version
lifecycle on EKS", extended support FAQ; "View current cluster upgrade policy").

Dates are UTC days. An end date is the first day of the next phase: "Billing for extended
support starts at the beginning of the day that the version reaches end of standard support,
in the UTC+0 timezone" (release calendar, same page), and on the end of extended support
date new clusters on that minor can no longer be created.

Pure except `today()`: the program validates against today's UTC date; the offline harness
runs a program as of a fixed day (`as_of`), so plans and goldens do not move with the calendar.
This module deliberately knows nothing of the Cluster Autoscaler (airflow_eks/versions.py
joins the two) or of prices beyond the two EKS rates the program's warning quotes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

STANDARD, EXTENDED = "STANDARD", "EXTENDED"
SUPPORT_TYPES = (STANDARD, EXTENDED)

# Phases of a minor on a given day.
UNRELEASED, STANDARD_SUPPORT, EXTENDED_SUPPORT, ENDED = "unreleased", "standard", "extended", "ended"

# Per cluster-hour, us-east-1 list prices: extended is the total, not a surcharge. The same
# figures, with their sources, are tools/plan/prices.yaml `eks` (tests/test_kubernetes_support.py
# checks they agree): AWS blog "Amazon EKS extended support for Kubernetes versions pricing"
# ("a total of $0.60 per cluster per hour" from the April 2024 billing cycle).
STANDARD_HOURLY = 0.10
EXTENDED_HOURLY = 0.60
HOURS_PER_MONTH = 730

# Sources of the calendar below.
_AWS_CALENDAR = ("AWS EKS user guide, Kubernetes versions, 'Amazon EKS Kubernetes release calendar' "
                 "(awsdocs/amazon-eks-user-guide latest/ug/versioning/kubernetes-versions.adoc)")
_EOL_DATE = ("endoflife.date/amazon-eks (endoflife-date/endoflife.date products/amazon-eks.md, 2026-07-08), "
             "whose end dates are read from the AWS release calendar table; its release date is the "
             "EKS Distro announcement")


@dataclass(frozen=True)
class MinorSupport:
    minor: str
    released: dt.date
    """First day EKS offers the minor."""
    end_of_standard: dt.date
    """First day of extended support (and of its billing)."""
    end_of_extended: dt.date
    """First day the minor is unsupported: EKS upgrades the control plane to the next minor."""
    source: str

    def phase(self, day: dt.date) -> str:
        if day < self.released:
            return UNRELEASED
        if day < self.end_of_standard:
            return STANDARD_SUPPORT
        return EXTENDED_SUPPORT if day < self.end_of_extended else ENDED


def _minor(minor: str, released: str, end_of_standard: str, end_of_extended: str, source: str) -> MinorSupport:
    return MinorSupport(minor, dt.date.fromisoformat(released), dt.date.fromisoformat(end_of_standard),
                        dt.date.fromisoformat(end_of_extended), source)


# Every minor the program can be asked for. A minor leaves this table once its extended support
# has ended (1.31 ended 2026-11-26); a new one joins when EKS publishes its dates.
CALENDAR: dict[str, MinorSupport] = {m.minor: m for m in (
    _minor("1.32", "2025-01-23", "2026-03-23", "2027-03-23", _AWS_CALENDAR),
    _minor("1.33", "2025-05-29", "2026-07-29", "2027-07-29", _AWS_CALENDAR),
    _minor("1.34", "2025-10-02", "2026-12-02", "2027-12-02", _AWS_CALENDAR),
    # AWS's own rows for 1.35 and 1.36 were not in the stored copies of the calendar. The end
    # dates are AWS's (endoflife.date reads them from its table), 12 months apart like every
    # row above; the release date is the EKS Distro announcement, which can trail the EKS
    # release by days (1.34: 2025-10-06 against AWS's 2025-10-02). Cross-checks: the 1.35 dates
    # in aws-samples/sample-apex-skills cluster-lifecycle.md (verified 2026-04-24); 1.36 "reached
    # Amazon EKS on June 2, 2026 and remains in standard support through August 2, 2027"
    # (devopsdreams.blogspot.com, 2026-08-16).
    _minor("1.35", "2026-01-28", "2027-03-27", "2028-03-27", _EOL_DATE),
    _minor("1.36", "2026-06-02", "2027-08-02", "2028-08-02", _EOL_DATE),
)}


def next_minor(minor: str) -> str:
    major, number = minor.split(".")
    return f"{major}.{int(number) + 1}"


def monthly(hourly: float) -> float:
    return round(hourly * HOURS_PER_MONTH, 2)


def in_standard_support(day: dt.date) -> tuple[str, ...]:
    """Minors a new cluster can be created on that day without extended support."""
    return tuple(m for m, s in CALENDAR.items() if s.phase(day) == STANDARD_SUPPORT)


def offered(day: dt.date) -> tuple[str, ...]:
    """Minors EKS offers on that day, in standard or extended support."""
    return tuple(m for m, s in CALENDAR.items() if s.phase(day) in (STANDARD_SUPPORT, EXTENDED_SUPPORT))


@dataclass(frozen=True)
class ControlPlane:
    """What a cluster created on `minor` with `support_type` runs on `day`; its phase sets the rate."""

    minor: str
    """The minor the control plane runs that day (EKS may have upgraded it)."""
    phase: str
    upgraded_on: dt.date | None
    """The day EKS upgraded it by itself, if it did."""


def control_plane_on(minor: str, support_type: str, day: dt.date) -> ControlPlane:
    """Follow EKS's automatic upgrades from `minor` up to `day` (one minor per phase change).

    A minor beyond the calendar is assumed in standard support: EKS upgrades to a minor it
    offers, and that minor's dates are not known here yet.
    """
    upgraded_on = None
    while minor in CALENDAR:
        row = CALENDAR[minor]
        phase = row.phase(day)
        if phase == STANDARD_SUPPORT or (phase == EXTENDED_SUPPORT and support_type == EXTENDED):
            return ControlPlane(minor, phase, upgraded_on)
        if phase == UNRELEASED:
            return ControlPlane(minor, phase, upgraded_on)
        upgraded_on = row.end_of_standard if support_type == STANDARD else row.end_of_extended
        minor = next_minor(minor)
    return ControlPlane(minor, STANDARD_SUPPORT, upgraded_on)


def cost_cliff(minor: str) -> str:
    """One line: how long the minor is billed at the standard rate, and what comes after."""
    row = CALENDAR[minor]
    return (f"{minor}: standard support until {row.end_of_standard}, then ${monthly(EXTENDED_HOURLY):,.2f}/month "
            f"(EXTENDED, until {row.end_of_extended}) or an automatic upgrade to {next_minor(minor)} (STANDARD)")


# -- what the program accepts on a given day -------------------------------------------------
def refusal(minor: str, support_type: str, day: dt.date) -> str | None:
    """Why a cluster on `minor` with `support_type` must not be created or kept on `day` (what
    is allowed instead), or None. The caller names the key (kubernetesVersion) and the value."""
    row = CALENDAR[minor]
    phase = row.phase(day)
    others = ", ".join(in_standard_support(day)) or "none"
    if phase == UNRELEASED:
        return f"a minor EKS offers on {day}: {minor} is released on EKS on {row.released}"
    if phase == ENDED:
        return (f"a minor EKS still supports on {day} ({', '.join(offered(day)) or 'none known'}; in standard "
                f"support: {others}): extended support of "
                f"{minor} ended on {row.end_of_extended}, and EKS upgrades such control planes to the next "
                "minor by itself")
    if phase == EXTENDED_SUPPORT and support_type == STANDARD:
        return (f"a minor in standard support on {day} ({others}) while eksSupportType is STANDARD: {minor} "
                f"left standard support on {row.end_of_standard}. EKS upgrades a STANDARD cluster's control "
                f"plane to {next_minor(minor)} by itself at the end of standard support (node groups and "
                "add-ons stay behind), and a cluster already in extended support cannot switch to STANDARD. "
                f"Upgrade one minor ({next_minor(minor)}), or set eksSupportType EXTENDED to keep {minor} at "
                f"${monthly(EXTENDED_HOURLY):,.2f}/month instead of ${monthly(STANDARD_HOURLY):,.2f}")
    return None


def extended_support_warning(minor: str, support_type: str, day: dt.date) -> str | None:
    """The warning for a minor kept in extended support (billed six times the standard rate)."""
    row = CALENDAR[minor]
    if row.phase(day) != EXTENDED_SUPPORT or support_type != EXTENDED:
        return None
    return (f"kubernetesVersion {minor} is in EKS extended support since {row.end_of_standard}: the control "
            f"plane costs ${monthly(EXTENDED_HOURLY):,.2f}/month instead of ${monthly(STANDARD_HOURLY):,.2f} "
            f"until you upgrade to {next_minor(minor)} (docs/operations/upgrades.md, 'Upgrading Kubernetes'). "
            f"Extended support ends on {row.end_of_extended}; EKS then upgrades the control plane by itself.")


# -- today ------------------------------------------------------------------------------------
_fixed_day: dt.date | None = None


def today() -> dt.date:
    """The UTC day the program judges support on: today, unless the offline harness fixed one."""
    return _fixed_day or dt.datetime.now(dt.UTC).date()


@contextlib.contextmanager
def as_of(day: dt.date | None) -> Iterator[None]:
    """Run a program as of `day` (None: today); for the offline harness, never a real deployment."""
    global _fixed_day
    saved, _fixed_day = _fixed_day, day
    try:
        yield
    finally:
        _fixed_day = saved
