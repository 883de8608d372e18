"""The EKS support window of a plan's cluster on a given day, and what its control plane costs then.

Pure: reads the EKS cluster's `version` and `upgradePolicy.supportType` from the plan's
resource entries and the calendar in airflow_eks/kubernetes_support.py, and prices with the
rates of prices.yaml. The stack is taken as deployed and left as it is: past the end of
standard support a STANDARD cluster has been upgraded by EKS (standard rate, one minor up),
an EXTENDED one pays the extended rate until its extended support ends.
"""

from __future__ import annotations

import datetime as dt

from airflow_eks import kubernetes_support as ks
from tools.plan.model import lookup

EKS_TYPES = ("eks:index:Cluster", "aws:eks/cluster:Cluster")
# What EKS applies to a cluster created without an upgrade policy (UpgradePolicyRequest API).
DEFAULT_SUPPORT_TYPE = ks.EXTENDED


def clusters(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["type"] in EKS_TYPES]


def window(entry: dict, prices: dict, day: dt.date) -> dict:
    """The `kubernetesSupport` facts of one EKS cluster on `day` (JSON-ready)."""
    minor = str(lookup(entry["inputs"], "version") or "")
    support_type = lookup(entry["inputs"], "upgradePolicy.supportType") or DEFAULT_SUPPORT_TYPE
    month = float(prices["hours_per_month"])
    rates = {ks.STANDARD_SUPPORT: prices["eks"]["standard_hourly"],
             ks.EXTENDED_SUPPORT: prices["eks"]["extended_hourly"]}
    facts: dict = {"cluster": entry["name"], "date": day.isoformat(), "minor": minor, "supportType": support_type,
                   "standardMonthly": round(rates[ks.STANDARD_SUPPORT] * month, 2),
                   "extendedMonthly": round(rates[ks.EXTENDED_SUPPORT] * month, 2)}
    if minor not in ks.CALENDAR:
        # Unknown (or unset: EKS picks its default minor): priced at the standard rate, flagged.
        return {**facts, "known": False, "billedMinor": minor, "phase": ks.STANDARD_SUPPORT,
                "monthly": facts["standardMonthly"], "upgradedOn": None,
                "costCliff": f"{minor or 'unset'}: not in the EKS calendar of airflow_eks/kubernetes_support.py"}
    row = ks.CALENDAR[minor]
    plane = ks.control_plane_on(minor, support_type, day)
    return {**facts, "known": True, "released": row.released.isoformat(),
            "endOfStandardSupport": row.end_of_standard.isoformat(),
            "endOfExtendedSupport": row.end_of_extended.isoformat(),
            "phaseOfMinor": row.phase(day), "billedMinor": plane.minor, "phase": plane.phase,
            "monthly": round(rates.get(plane.phase, rates[ks.STANDARD_SUPPORT]) * month, 2),
            "upgradedOn": plane.upgraded_on.isoformat() if plane.upgraded_on else None,
            "costCliff": ks.cost_cliff(minor), "source": row.source}


def summary(facts: dict) -> str:
    """The plan's sentence about the control plane on the plan's day."""
    if not facts["known"]:
        return (f"{facts['cluster']}: Kubernetes {facts['costCliff']}; priced at the standard rate. "
                "Pin kubernetesVersion to a minor the program knows.")
    minor, day = facts["minor"], facts["date"]
    if facts["upgradedOn"]:
        now = (f"on {day} EKS has upgraded the control plane from {minor} to {facts['billedMinor']} by itself "
               f"(on {facts['upgradedOn']}, {facts['supportType']}); node groups, add-ons and the autoscaler "
               f"image are still on {minor} until you bump kubernetesVersion, and the program refuses a "
               f"`pulumi up` with {minor} from that day")
    elif facts["phase"] == ks.EXTENDED_SUPPORT:
        now = (f"on {day} {minor} is in extended support ({facts['supportType']}): "
               f"${facts['extendedMonthly']:,.2f}/month instead of ${facts['standardMonthly']:,.2f}")
    elif facts["phase"] == ks.UNRELEASED:
        now = f"on {day} EKS does not offer {minor} yet (from {facts['released']})"
    else:
        now = f"on {day} {minor} is in standard support ({facts['supportType']})"
    return f"{facts['costCliff']}; {now}."
