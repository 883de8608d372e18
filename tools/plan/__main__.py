"""Offline plan of a stack: resources, outputs, monthly cost and deploy time, without AWS.

    python -m tools.plan [STACK | PLAN.json] [--busy-hours N] [--date YYYY-MM-DD] [--json] [--diff BASE.json]
                         [--debug]
    python -m tools.plan --write-golden      # tests/golden/plan-*.json and the sample in docs/plan.md

STACK (default dev) runs Pulumi.<STACK>.yaml under the test mocks; a PLAN.json saved with
--json is read instead. --diff compares BASE.json (e.g. the base branch's plan) with it.
--date prices the EKS control plane for that day (default: today): standard or extended
support, after the upgrades EKS makes by itself. Golden plans are computed for a fixed day
(harness.REFERENCE_DAY), so they do not change with the calendar.
A problem the user can fix (an unknown stack, an invalid or undeclared configuration key, a
missing or foreign plan file) prints one `error:` line and exits 1; --debug shows the traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import pulumi

from airflow_eks.offline import harness, loader
from tools.plan import build, diff, render
from tools.plan.model import ROOT

GOLDEN_DIR = ROOT / "tests" / "golden"
GOLDEN_STACKS = ("dev", "prod")
SAMPLE_PAGE = ROOT / "docs" / "plan.md"
BEGIN, END = "<!-- plan-sample:begin -->", "<!-- plan-sample:end -->"
SAMPLE_SECTIONS = ("header", "cost", "time")


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def golden_path(stack: str) -> Path:
    return GOLDEN_DIR / f"plan-{stack}.json"


def plan_sample(plan: dict) -> str:
    text = render.render_plan(plan, SAMPLE_SECTIONS)
    command = (f"$ make plan STACK={plan['stack']} PLAN_ARGS=\"--date {plan['cost']['date']}\"    "
               "# excerpt: the resource tree, key settings and outputs omitted")
    return f"```text\n{command}\n{text}```"


def with_plan_sample(page: str, plan: dict) -> str:
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{plan_sample(plan)}\n{END}{tail}"


def write_golden() -> None:
    day = harness.REFERENCE_DAY
    plans = {stack: build.plan(stack, day=day, run_on=day) for stack in GOLDEN_STACKS}
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for stack, plan in plans.items():
        golden_path(stack).write_text(dumps(plan))
        print(f"wrote {golden_path(stack).relative_to(ROOT)}")
    SAMPLE_PAGE.write_text(with_plan_sample(SAMPLE_PAGE.read_text(), plans["dev"]))
    print(f"updated the plan sample in {SAMPLE_PAGE.relative_to(ROOT)}")


class UsageError(Exception):
    """A mistake in what the user asked for: shown as one line, without a traceback."""


def read_plan(path: str, what: str) -> dict:
    """A plan saved with --json, or a UsageError saying why `path` is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UsageError(f"{what} {path} is not JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("kind") != build.KIND:
        raise UsageError(f"{what} {path} is not a plan saved with `python -m tools.plan STACK --json`")
    return data


def load(target: str, busy_hours: float, day: dt.date | None = None) -> dict:
    if target.endswith(".json"):
        return read_plan(target, "plan")
    return build.plan(target, busy_hours=busy_hours, day=day)


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def error_message(exc: Exception) -> str:
    """The one line shown for `exc`: the program's own RunError text where there is one."""
    if isinstance(exc, harness.ProgramError):
        exc = exc.error
    if isinstance(exc, UsageError | loader.UnknownStackError | loader.StackFileError | pulumi.RunError):
        return str(exc)
    return f"{type(exc).__name__}: {exc} (unexpected; run again with --debug for the traceback)"


def run(args: argparse.Namespace) -> int:
    if args.write_golden:
        write_golden()
        return 0
    base = read_plan(args.diff, "base plan") if args.diff else None  # before the slow part
    plan = load(args.target, args.busy_hours, args.date)
    if base is not None:
        result = diff.diff(base, plan)
        sys.stdout.write(dumps(result) if args.json else render.render_diff(result))
    else:
        sys.stdout.write(dumps(plan) if args.json else render.render_plan(plan))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.split("\n")[0])
    parser.add_argument("target", nargs="?", default="dev", help="stack name (default dev) or a saved PLAN.json")
    parser.add_argument("--busy-hours", type=float, default=8,
                        help="hours a day the scale-to-zero node groups run at their maximum (default 8)")
    parser.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD",
                        help="day to price the EKS control plane for: standard or extended support (default today)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--diff", metavar="BASE.json", help="compare with a saved plan (BASE -> this plan)")
    parser.add_argument("--write-golden", action="store_true", help="regenerate tests/golden and docs/plan.md's sample")
    parser.add_argument("--debug", action="store_true", help="on an error, show the full traceback")
    args = parser.parse_args(argv)
    if not 0 <= args.busy_hours <= 24:
        parser.error("--busy-hours must be between 0 and 24")
    try:
        return run(args)
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: {error_message(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
