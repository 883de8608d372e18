"""Offline plan of a stack: resources, outputs, monthly cost and deploy time, without AWS.

    python -m tools.plan [STACK | PLAN.json] [--busy-hours N] [--date YYYY-MM-DD] [--json] [--diff BASE.json]
                         [--task-hours H --concurrency N [--task-cpu Q] [--task-memory Q] [--task-minutes M]
                          [--needs ui,python-dags|none]] [--cost-curve] [--debug]
    python -m tools.plan --write-golden      # tests/golden/plan-*.json and the sample in docs/plan.md

STACK (default dev) runs Pulumi.<STACK>.yaml under the test mocks; a PLAN.json saved with
--json is read instead. --diff compares BASE.json (e.g. the base branch's plan) with it.
--date prices the EKS control plane for that day (default: today): standard or extended
support, after the upgrades EKS makes by itself; the Airflow release is judged on it too
(`airflowSupport`: patched or not, the release to move to and whether the package registry here
serves it, the day the policy's grace ends). Golden plans are computed for a fixed day
(harness.REFERENCE_DAY), so they do not change with the calendar.
With a workload (--task-hours and --concurrency; the task size defaults to the stack's task
requests) the plan also prices that workload on this stack and compares it with Amazon MWAA,
MWAA Serverless and Cloud Composer 3 (`workload` and `comparison` in --json; tools/plan/workload.py).
--cost-curve prints each option's monthly cost over a range of task-hours and where they cross.
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
from tools.plan import build, cost, diff, render, workload
from tools.plan.model import ROOT

GOLDEN_DIR = ROOT / "tests" / "golden"
GOLDEN_STACKS = ("dev", "prod")
SAMPLE_PAGE = ROOT / "docs" / "plan.md"
BEGIN, END = "<!-- plan-sample:begin -->", "<!-- plan-sample:end -->"
SAMPLE_SECTIONS = ("header", "cost", "time")
CURVE_BEGIN, CURVE_END = "<!-- cost-curve:begin -->", "<!-- cost-curve:end -->"
# The typical workload docs/plan.md shows the curve of: ten tasks at once of the stack's default
# size, ten minutes each, by a team that could also live without the UI (so Serverless is priced).
CURVE_CONCURRENCY = 10
CURVE_NEEDS = "none"


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


def curve_sample(plans: dict[str, dict]) -> str:
    """The `make cost-curve` output of each golden plan at the typical workload, as docs show it."""
    blocks = []
    for stack, plan in plans.items():
        w = stack_workload(plan, {"task_hours": 0.0, "concurrency": CURVE_CONCURRENCY, "task_cpu": None,
                                  "task_memory": None, "task_minutes": None,
                                  "needs": workload.parse_needs(CURVE_NEEDS)})
        command = f"$ make cost-curve STACK={stack} CONCURRENCY={CURVE_CONCURRENCY} PLAN_ARGS=\"--needs {CURVE_NEEDS}\""
        blocks.append(f"```text\n{command}\n{render.render_curve(plan, workload.curve(plan, w))}```")
    return "\n\n".join(blocks)


def with_curve_sample(page: str, plans: dict[str, dict]) -> str:
    head, rest = page.split(CURVE_BEGIN, 1)
    _, tail = rest.split(CURVE_END, 1)
    return f"{head}{CURVE_BEGIN}\n{curve_sample(plans)}\n{CURVE_END}{tail}"


def write_golden() -> None:
    day = harness.REFERENCE_DAY
    plans = {stack: build.plan(stack, day=day, run_on=day) for stack in GOLDEN_STACKS}
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for stack, plan in plans.items():
        golden_path(stack).write_text(dumps(plan))
        print(f"wrote {golden_path(stack).relative_to(ROOT)}")
    SAMPLE_PAGE.write_text(with_curve_sample(with_plan_sample(SAMPLE_PAGE.read_text(), plans["dev"]), plans))
    print(f"updated the plan sample and the cost curves in {SAMPLE_PAGE.relative_to(ROOT)}")


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


WORKLOAD_OPTIONS = ("task_hours", "concurrency", "task_cpu", "task_memory", "task_minutes")


def _number(option: str, text: str, kind: type = float) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise UsageError(f"{option} {text!r}: expected {what}") from None
    return value


def workload_options(args: argparse.Namespace) -> dict | None:
    """The workload the options ask for, numbers parsed (None without one), checked before the
    slow part; the task size defaults to the stack's own task requests (filled in later)."""
    given = [name for name in WORKLOAD_OPTIONS if getattr(args, name) is not None]
    if not given and not args.cost_curve:
        if args.needs is not None:
            raise UsageError("--needs applies to a workload: add --task-hours and --concurrency")
        return None
    if args.concurrency is None:
        raise UsageError("a workload needs --concurrency (the peak number of tasks running at once)")
    if args.task_hours is None and not args.cost_curve:
        raise UsageError("a workload needs --task-hours (task-hours per month)")
    if args.diff:
        raise UsageError("--diff compares two plans: leave out the workload options")
    options = {
        "task_hours": 0.0 if args.task_hours is None else _number("--task-hours", args.task_hours),
        "concurrency": int(_number("--concurrency", args.concurrency, int)),
        "task_cpu": args.task_cpu, "task_memory": args.task_memory,
        "task_minutes": None if args.task_minutes is None else _number("--task-minutes", args.task_minutes),
        "needs": args.needs if args.needs is not None else ",".join(workload.FEATURES),
    }
    try:
        options["needs"] = workload.parse_needs(options["needs"])
    except workload.WorkloadError as exc:
        raise UsageError(str(exc)) from None
    check(options, {"task_cpu": "1", "task_memory": "1Gi", "task_minutes": 1.0})  # what can be checked now
    return options


def check(options: dict, defaults: dict) -> workload.Workload:
    """A workload from the options, each missing value from `defaults`; UsageError if invalid."""
    values = {k: defaults[k] if options.get(k) is None else options[k] for k in options}
    try:
        return workload.workload(**values)
    except workload.WorkloadError as exc:
        raise UsageError(str(exc)) from None


def stack_workload(plan: dict, options: dict) -> workload.Workload:
    """The workload for `plan`: task size defaults to the stack's task requests."""
    sh = workload.shape(plan, cost.load_prices())
    model = workload.load_assumptions()
    return check(options, {"task_cpu": sh.task_cpu or "250m", "task_memory": sh.task_memory or "512Mi",
                           "task_minutes": float(model["default_task_minutes"])})


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
    wanted = workload_options(args)  # likewise
    plan = load(args.target, args.busy_hours, args.date)
    if wanted is not None:
        w = stack_workload(plan, wanted)
        if args.cost_curve:
            result = workload.curve(plan, w)
            sys.stdout.write(dumps(result) if args.json else render.render_curve(plan, result))
            return 0
        plan = {**plan, **workload.estimate(plan, w)}
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
                        help="day to price the EKS control plane for (standard or extended support) and to judge the "
                             "Airflow release on (default today)")
    parser.add_argument("--task-hours", metavar="H", help="a workload: task-hours per month (with --concurrency)")
    parser.add_argument("--concurrency", metavar="N", help="a workload: peak number of tasks running at once")
    parser.add_argument("--task-cpu", metavar="Q", help="CPU request of a task, e.g. 500m (default: the stack's)")
    parser.add_argument("--task-memory", metavar="Q", help="memory request of a task, e.g. 1Gi (default: the stack's)")
    parser.add_argument("--task-minutes", metavar="M", help="average task run time in minutes (default 10)")
    parser.add_argument("--needs", metavar="LIST",
                        help="what the team needs besides running tasks: ui,python-dags (default) or none")
    parser.add_argument("--cost-curve", action="store_true",
                        help="monthly cost of each option over a range of task-hours, and the crossovers "
                             "(needs --concurrency)")
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
