"""The Airflow support status of a plan's Airflow release on a given day.

Pure: reads `values.airflowVersion` of the Airflow chart's Helm release from the plan's resource
entries and judges it with the calendar in airflow_eks/support/airflow_calendar.py (Airflow
patches only its latest minor).
"""

from __future__ import annotations

import datetime as dt

from airflow_eks.support import airflow_calendar as cal
from tools.plan.model import lookup

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def status(entries: list[dict], day: dt.date) -> dict | None:
    """The `airflowSupport` facts (JSON-ready), or None for a plan without the Airflow release."""
    for e in entries:
        if e["type"] == HELM_RELEASE and lookup(e["inputs"], "chart") == "airflow":
            version = str(lookup(e["inputs"], "values.airflowVersion") or "")
            return cal.support(version, day).as_dict() if version else None
    return None


def summary(facts: dict) -> str:
    """The plan's sentence about the Airflow release on the plan's day: that it is current (and
    whether the runtime tier can have run it), or the `pulumi up` warning for that day, which names
    the release to move to, whether it is proven here, and the grace."""
    version, minor, day = facts["version"], facts["minor"], facts["date"]
    if facts["status"] == cal.CURRENT:
        current = (f"Airflow {version} is current on {day}: {minor} is the minor Airflow patches (released "
                   f"{facts['released']}) and {version} its newest patch.")
        caveat = cal.unproven(version)
        return f"{current} {caveat}." if caveat else current
    return f"{cal.warning(cal.support(version, dt.date.fromisoformat(day)))}"
