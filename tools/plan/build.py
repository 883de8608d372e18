"""Run a stack offline and assemble its plan: the one place the engine is involved."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_eks import kubernetes_support as ks
from airflow_eks.offline import harness, loader
from policy import rules
from policy.rules import placeholders
from tools.plan import airflow_support, cost, deploy_time, model

FORMAT = 1
KIND = "airflow-eks offline plan"
NOTICE = (
    "OFFLINE ESTIMATE. The program ran under Pulumi's mock engine with the same config loader and mocks "
    "as the tests: no AWS account, Pulumi service or state was used. This is not `pulumi preview`: nothing "
    "is compared with deployed state, provider-side defaults are not applied, computed values (IDs, ARNs, "
    "names) are mock values, and pulumi-eks components are single resources here (their children are "
    "created by the provider at deploy time)."
)


def region_of(stack: str) -> str:
    return loader.stack_config(stack)[1].get("aws:region", "us-east-1")


def warnings(run: harness.Run) -> list[dict[str, str]]:
    """Configured values that are still the template's placeholders, once per key and value: what
    the policy pack's no-template-placeholders rule finds in the same resources."""
    found = {(p.key, p.value): p for p, _urn in placeholders.stack_placeholders(rules.as_resources(run.resources))}
    return [{"key": p.key, "value": p.value, "reason": p.reason, "message": p.message}
            for _, p in sorted(found.items())]


def assemble(run: harness.Run, stack: str, *, busy_hours: float = 8, prices: dict | None = None,
             durations: dict | None = None, day: dt.date | None = None) -> dict[str, Any]:
    """The plan of an already recorded run (e.g. the test session's `programs` fixture), its EKS
    control plane priced and its Airflow release judged for `day` (default: today)."""
    region = region_of(stack)
    entries = model.resources(run.resources)
    day = day or dt.datetime.now(dt.UTC).date()
    return {
        "kind": KIND,
        "format": FORMAT,
        "notice": NOTICE,
        "project": loader.project_file()["name"],
        "stack": stack,
        "region": region,
        "warnings": warnings(run),
        "counts": model.counts(entries),
        "resources": entries,
        "outputs": model.outputs(run.outputs),
        "dataSources": model.data_sources(entries),
        "cost": cost.estimate(entries, prices or cost.load_prices(), busy_hours=busy_hours, region=region, day=day),
        "deployTime": deploy_time.critical_path(entries, durations or deploy_time.load_durations()),
        # The Airflow release judged for the same day as the control plane's price.
        "airflowSupport": airflow_support.status(entries, day),
    }


def plan(stack: str, *, busy_hours: float = 8, day: dt.date | None = None,
         run_on: dt.date | None = None) -> dict[str, Any]:
    """Run `stack`'s program offline (airflow_eks/offline/harness.py) and return its plan.

    The program validates as of `run_on` (default: today, as `pulumi up` would now); the control
    plane is priced for `day` (default: today): the stack deployed now and left as it is.
    """
    today = ks.today()
    return assemble(harness.run_program(stack, today=run_on or today), stack, busy_hours=busy_hours,
                    day=day or today)
