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
import re
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
def accepted(minor: str, support_type: str, day: dt.date) -> bool:
    """Whether the program creates or keeps a cluster on `minor` with `support_type` on `day`:
    in standard support, or in extended support with EXTENDED (billed, with a warning)."""
    row = CALENDAR.get(minor)
    phase = row.phase(day) if row else None
    return phase == STANDARD_SUPPORT or (phase == EXTENDED_SUPPORT and support_type == EXTENDED)


def accepted_minors(support_type: str, day: dt.date) -> tuple[str, ...]:
    """The minors a refusal offers instead: the ones accepted on `day` with `support_type`."""
    return tuple(m for m in CALENDAR if accepted(m, support_type, day))


# Where a refused stack's control plane can be. The program cannot tell which: the cluster's
# name is generated at its creation and lives in the stack's state and in AWS, and validation
# runs before the program registers or reads anything. So a refusal names a way out for each
# state that is possible on that day, and only options that work in it (a control plane EKS
# has upgraded never goes back: no upgrade policy brings its old minor back).
NO_CLUSTER = "no cluster yet"
STILL_ON_MINOR = "control plane still on the configured minor"
UPGRADED = "control plane upgraded by EKS"
# What tells them apart, for the operator (`clusterName` is a stack output).
VERSION_COMMAND = ('aws eks describe-cluster --name "$(pulumi stack output clusterName)" '
                   "--query cluster.version --output text")
UPGRADE_GUIDE = "docs/operations/upgrades.md, 'Upgrading Kubernetes'"


@dataclass(frozen=True)
class WayOut:
    """One way out of a refusal in one state: set kubernetesVersion to one of `minors` with
    `support_type` (after `pulumi refresh` where a cluster exists)."""

    state: str
    minors: tuple[str, ...]
    """Empty when no minor the program knows works (its calendar needs a newer release)."""
    support_type: str
    keeps_minor: bool = False
    """The option keeps the configured minor (extended support, billed)."""


def _one_step(minor: str, support_type: str, day: dt.date) -> list[WayOut]:
    """Upgrade a control plane still on `minor` by one minor (EKS upgrades one at a time)."""
    step = next_minor(minor)
    for choice in dict.fromkeys((support_type, EXTENDED)):
        if accepted(step, choice, day):
            return [WayOut(STILL_ON_MINOR, (step,), choice)]
    return []


def _new_cluster(minor: str, support_type: str, day: dt.date) -> list[WayOut]:
    """A stack without a cluster may start on any accepted minor; with STANDARD and none in
    standard support (a calendar this old wants a newer airflow-eks), on one in extended support."""
    minors = accepted_minors(support_type, day)
    if minors:
        ways = [WayOut(NO_CLUSTER, minors, support_type)]
        if CALENDAR[minor].phase(day) == EXTENDED_SUPPORT:
            ways.append(WayOut(NO_CLUSTER, (minor,), EXTENDED, keeps_minor=True))
        return ways
    return [WayOut(NO_CLUSTER, accepted_minors(EXTENDED, day), EXTENDED)]


def ways_out(minor: str, support_type: str, day: dt.date) -> list[WayOut]:
    """Every state-specific way out of a refused (minor, support type) on `day`; [] if accepted."""
    if accepted(minor, support_type, day):
        return []
    phase = CALENDAR[minor].phase(day)
    ways = _new_cluster(minor, support_type, day)
    if phase == UNRELEASED:  # no cluster can run a minor EKS does not offer yet
        return ways
    ways += _one_step(minor, support_type, day)
    if phase == EXTENDED_SUPPORT:  # and support_type is STANDARD
        # Allowed until EKS begins its upgrade ("Enable extended support"); once EKS has begun
        # it cannot promise to stop it, and once in extended support a cluster cannot go back
        # to STANDARD ("Disable extended support"), so keeping the minor means EXTENDED.
        ways.append(WayOut(STILL_ON_MINOR, (minor,), EXTENDED, keeps_minor=True))
    plane = control_plane_on(minor, support_type, day)
    ways.append(WayOut(UPGRADED, (plane.minor,) if plane.minor in CALENDAR else (), support_type))
    return ways


def _minors(minors: tuple[str, ...]) -> str:
    return " or ".join(", ".join(minors).rsplit(", ", 1))


def _cost(minor: str) -> str:
    return f"{minor} at ${monthly(EXTENDED_HOURLY):,.2f}/month instead of ${monthly(STANDARD_HOURLY):,.2f}"


def _option(way: WayOut) -> str:
    if way.keeps_minor:
        verb = "create the cluster on" if way.state == NO_CLUSTER else "keep"
        return f"eksSupportType EXTENDED to {verb} {_cost(way.minors[0])}"
    switch = " and eksSupportType EXTENDED" if way.support_type == EXTENDED else ""
    return f"kubernetesVersion {_minors(way.minors)}{switch}"


def refusal(minor: str, support_type: str, day: dt.date) -> str | None:
    """Why a cluster on `minor` with `support_type` must not be created or kept on `day`, what is
    allowed instead, and the way out in each state the stack's cluster can be in (ways_out); or
    None. The caller names the key (kubernetesVersion) and the value."""
    ways = ways_out(minor, support_type, day)
    if not ways:
        return None
    row = CALENDAR[minor]
    phase = row.phase(day)
    text = [f"a minor {_accepted_phrase(support_type, day)}"]
    if phase == UNRELEASED:
        text.append(f"{minor} is released on EKS on {row.released}")
    elif phase == EXTENDED_SUPPORT:
        text.append(f"{minor} left standard support on {row.end_of_standard}, and from that day EKS upgrades a "
                    f"STANDARD cluster's control plane to {next_minor(minor)} by itself (node groups and add-ons "
                    "stay behind)")
    else:
        text.append(f"Extended support of {minor} ended on {row.end_of_extended}, and EKS upgrades any control "
                    f"plane still on it to {next_minor(minor)} by itself")
    new = [w for w in ways if w.state == NO_CLUSTER and w.minors]
    text.append("No cluster yet: set " + ", or ".join(_option(w) for w in new) if new else
                "No cluster yet: update airflow-eks first (no minor its EKS calendar knows is accepted)")
    if phase == UNRELEASED:
        return ". ".join(text)
    text.append(f"A cluster: run `pulumi refresh`, then read the minor its control plane runs (`{VERSION_COMMAND}`)")
    still = [w for w in ways if w.state == STILL_ON_MINOR]
    if still:
        text.append(f"Still {minor}: set " + ", or ".join(
            _option(w) + (" (EKS allows the switch only until its own upgrade begins, and a cluster in extended "
                          "support cannot switch to STANDARD)" if w.keeps_minor else " (one minor a step)")
            for w in still))
    [upgraded] = [w for w in ways if w.state == UPGRADED]
    plane = control_plane_on(minor, support_type, day).minor
    later = f"A later minor ({plane} for a cluster {support_type} all along"
    later += ("): set kubernetesVersion to that minor" if upgraded.minors else
              ", which this program does not know yet): update airflow-eks, then set kubernetesVersion to it")
    text.append(f"{later}; a control plane never goes back, so no eksSupportType keeps {minor} ({UPGRADE_GUIDE})")
    return ". ".join(text)


def _accepted_phrase(support_type: str, day: dt.date) -> str:
    minors = ", ".join(accepted_minors(support_type, day)) or "none this program knows"
    if support_type == STANDARD:
        return f"in EKS standard support on {day}, as eksSupportType is STANDARD ({minors})"
    return f"EKS supports on {day} ({minors})"


def unknown_minor(value: str, support_type: str, day: dt.date) -> str:
    """What is allowed instead of a kubernetesVersion outside the calendar, and, for a minor older
    than the calendar (its extended support over), the way out for a cluster that ran it."""
    text = f"one of the minors {_accepted_phrase(support_type, day)}"
    oldest = min(CALENDAR, key=_minor_number)
    if re.fullmatch(r"1\.[0-9]{1,3}", value, re.ASCII) and _minor_number(value) < _minor_number(oldest):
        text += (f". Extended support of {value} has ended, so EKS has upgraded any control plane that ran it: "
                 f"run `pulumi refresh`, then set kubernetesVersion to the minor `{VERSION_COMMAND}` shows "
                 f"({UPGRADE_GUIDE})")
    return text


def _minor_number(minor: str) -> int:
    return int(minor.split(".")[1])


def extended_support_warning(minor: str, support_type: str, day: dt.date) -> str | None:
    """The warning for a minor kept in extended support (billed six times the standard rate)."""
    row = CALENDAR[minor]
    if row.phase(day) != EXTENDED_SUPPORT or support_type != EXTENDED:
        return None
    return (f"kubernetesVersion {minor} is in EKS extended support since {row.end_of_standard}: the control "
            f"plane costs ${monthly(EXTENDED_HOURLY):,.2f}/month instead of ${monthly(STANDARD_HOURLY):,.2f} "
            f"until you upgrade to {next_minor(minor)} ({UPGRADE_GUIDE}). "
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
