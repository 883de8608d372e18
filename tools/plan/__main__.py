"""Offline plan of a stack: resources, outputs, monthly cost and deploy time, without AWS.

    python -m tools.plan [STACK | PLAN.json] [--busy-hours N] [--date YYYY-MM-DD] [--json] [--diff BASE.json]
    python -m tools.plan --write-golden      # tests/golden/plan-*.json and the README sample

STACK (default dev) runs Pulumi.<STACK>.yaml under the test mocks; a PLAN.json saved with
--json is read instead. --diff compares BASE.json (e.g. the base branch's plan) with it.
--date prices the EKS control plane for that day (default: today): standard or extended
support, after the upgrades EKS makes by itself. Golden plans are computed for a fixed day
(harness.REFERENCE_DAY), so they do not change with the calendar.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from airflow_eks.offline import harness
from tools.plan import build, diff, render
from tools.plan.model import ROOT

GOLDEN_DIR = ROOT / "tests" / "golden"
GOLDEN_STACKS = ("dev", "prod")
README = ROOT / "README.md"
BEGIN, END = "<!-- plan-sample:begin -->", "<!-- plan-sample:end -->"
SAMPLE_SECTIONS = ("header", "cost", "time")


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def golden_path(stack: str) -> Path:
    return GOLDEN_DIR / f"plan-{stack}.json"


def readme_sample(plan: dict) -> str:
    text = render.render_plan(plan, SAMPLE_SECTIONS)
    command = (f"$ make plan STACK={plan['stack']} PLAN_ARGS=\"--date {plan['cost']['date']}\"    "
               "# excerpt: the resource tree, key settings and outputs omitted")
    return f"```text\n{command}\n{text}```"


def with_readme_sample(readme: str, plan: dict) -> str:
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{readme_sample(plan)}\n{END}{tail}"


def write_golden() -> None:
    day = harness.REFERENCE_DAY
    plans = {stack: build.plan(stack, day=day, run_on=day) for stack in GOLDEN_STACKS}
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for stack, plan in plans.items():
        golden_path(stack).write_text(dumps(plan))
        print(f"wrote {golden_path(stack).relative_to(ROOT)}")
    text = README.read_text()
    if BEGIN in text:
        README.write_text(with_readme_sample(text, plans["dev"]))
        print("updated the README's plan sample")


def load(target: str, busy_hours: float, day: dt.date | None = None) -> dict:
    if target.endswith(".json"):
        return json.loads(Path(target).read_text())
    return build.plan(target, busy_hours=busy_hours, day=day)


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.split("\n")[0])
    parser.add_argument("target", nargs="?", default="dev", help="stack name (default dev) or a saved PLAN.json")
    parser.add_argument("--busy-hours", type=float, default=8,
                        help="hours a day the scale-to-zero node groups run at their maximum (default 8)")
    parser.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD",
                        help="day to price the EKS control plane for: standard or extended support (default today)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--diff", metavar="BASE.json", help="compare with a saved plan (BASE -> this plan)")
    parser.add_argument("--write-golden", action="store_true", help="regenerate tests/golden and the README sample")
    args = parser.parse_args(argv)
    if not 0 <= args.busy_hours <= 24:
        parser.error("--busy-hours must be between 0 and 24")
    if args.write_golden:
        write_golden()
        return 0
    plan = load(args.target, args.busy_hours, args.date)
    if args.diff:
        result = diff.diff(json.loads(Path(args.diff).read_text()), plan)
        sys.stdout.write(dumps(result) if args.json else render.render_diff(result))
    else:
        sys.stdout.write(dumps(plan) if args.json else render.render_plan(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
