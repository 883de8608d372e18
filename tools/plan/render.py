"""Plans and plan diffs as text (plain text that also reads as Markdown in a job summary)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from tools.plan import airflow_support, model, support

SECTIONS = ("header", "warnings", "tree", "counts", "settings", "data", "airflow", "outputs", "cost", "workload",
            "time")
WIDTH = 100


def _show(value: Any) -> str:
    """The value whole, on one line: people copy these (commands, ARNs, names)."""
    return value if value == model.SECRET else json.dumps(value, sort_keys=True)


def _show_lines(prefix: str, value: Any, indent: str) -> list[str]:
    """`prefix` and the value, never cut: a list or object wider than the page gets one item
    per line (indented JSON); a long string stays whole on its line, so it can be copied."""
    text = _show(value)
    if len(prefix) + len(text) <= WIDTH or not isinstance(value, list | dict) or not value:
        return [prefix + text]
    first, *rest = json.dumps(value, sort_keys=True, indent=2).splitlines()
    return [prefix + first, *(indent + line for line in rest)]


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)


def header(plan: dict) -> list[str]:
    return [f"{plan['project']} offline plan: stack {plan['stack']}, region {plan['region']}", "",
            *_wrap(plan["notice"])]


def warnings(plan: dict) -> list[str]:
    found = plan.get("warnings") or []  # plans saved before warnings existed have none
    if not found:
        return []
    many = len(found) > 1
    lines = _wrap(f"NOT READY TO DEPLOY: {len(found)} configured value{'s are' if many else ' is'} still "
                  f"{'the template' + chr(39) + 's placeholders' if many else 'a template placeholder'} (the policy "
                  "pack refuses them in prod):")
    lines += [f"  - {w['key']} = {w['value']}: {w['reason']}" for w in found]
    lines += _wrap("Replace them with your own (docs/deploying.md, Before the first prod deploy); until then "
                   "the resources and the cost below are the template's.", "  ")
    return lines


def tree(plan: dict) -> list[str]:
    entries = plan["resources"]
    children: dict[str, list[dict]] = {}
    for e in entries:
        children.setdefault(e["parent"], []).append(e)
    components = sum(1 for e in entries if not e["custom"])
    lines = [f"Resources: {len(entries)} ({components} components, {len(entries) - components} custom resources)"]

    def walk(parent: str, depth: int) -> None:
        for e in sorted(children.get(parent, ()), key=lambda e: (e["custom"], e["type"], e["name"])):
            lines.append(f"{'  ' * depth}{e['type']}  {e['name']}")
            walk(e["urn"], depth + 1)

    known = {e["urn"] for e in entries}
    for root in sorted({e["parent"] for e in entries if e["parent"] not in known}):
        walk(root, 1)
    return lines


def counts(plan: dict) -> list[str]:
    return ["Resources by type:"] + [f"  {n:4d}  {t}" for t, n in plan["counts"].items()]


def settings(plan: dict) -> list[str]:
    lines = ["Key settings:"]
    for e in plan["resources"]:
        found = model.key_settings(e)
        if found:
            lines.append(f"  {e['type']}  {e['name']}")
            lines += [line for k, v in found.items() for line in _show_lines(f"    {k}: ", v, "    ")]
    return lines


def data(plan: dict) -> list[str]:
    """Where the data comes from: what a restore (docs/operations/restore.md) changes."""
    found = plan.get("dataSources") or {}
    lines = ["Data:"]
    for db in found.get("databases", ()):
        lines.append(f"  database {db['resource']}: " + (
            f"restored from DB snapshot {db['snapshot']} (read only when the stack creates it)"
            if db["snapshot"] else "new and empty"))
    for bucket in found.get("buckets", ()):
        lines.append(f"  bucket {bucket['resource']}: " + (
            f"adopted, the existing bucket {bucket['adopted']} (never deleted or emptied by this stack)"
            if "adopted" in bucket else f"new, named {bucket['bucketPrefix']}<unique suffix>"))
    return lines


def airflow(plan: dict) -> list[str]:
    facts = plan.get("airflowSupport")
    if not facts:
        return ["Airflow support: no Airflow release in this plan."]
    return [f"Airflow support (judged for {facts['date']}, --date; calendar read {facts['calendarChecked']}):",
            *_wrap(airflow_support.summary(facts), "  ")]


def outputs(plan: dict) -> list[str]:
    shown = [line for k, v in plan["outputs"].items() for line in _show_lines(f"  {k} = ", v, "  ")]
    return ["Stack outputs:"] + (shown or ["  (none)"])


def cost(plan: dict) -> list[str]:
    c = plan["cost"]
    width = max([len(i["label"]) for i in c["lineItems"]] + [40])
    lines = [
        f"Monthly cost estimate ({c['currency']}, {c['pricesRegion']} list prices collected {c['pricesCollected']}, "
        f"{c['hoursPerMonth']} h/month; tools/plan/prices.yaml):",
        *_wrap(f"idle = every node group at its desired size, scale-to-zero groups at zero; "
               f"busy = scale-to-zero groups at their maximum {c['busyHoursPerDay']:g} h a day", "  "),
        f"  {'line item'.ljust(width)}  {'idle':>9}  {'busy':>9}",
    ]
    lines += [f"  {i['label'].ljust(width)}  {_money(i['idle']):>9}  {_money(i['busy']):>9}" for i in c["lineItems"]]
    total = c["total"]
    lines.append(f"  {'total per month'.ljust(width)}  {_money(total['idle']):>9}  {_money(total['busy']):>9}")
    if c.get("kubernetesSupport"):
        lines.append(f"  Kubernetes support window (the control plane is priced for {c['date']}, --date):")
        lines += _wrap(support.summary(c["kubernetesSupport"]), "    ")
    lines += [line for w in c["warnings"] for line in _wrap(f"WARNING: {w}", "  ")]
    lines.append("  Not estimated (usage-based):")
    lines += [line for item in c["notEstimated"] for line in _wrap(f"- {item}", "    ")]
    lines.append("  For comparison, Amazon MWAA environments (always on, per month):")
    for m in c["mwaa"]:
        lines.append(f"    {m['class']:<10} {_money(m['monthly']):>9}  +{m['extraWorkerHourly']}/h per extra worker")
        lines += _wrap(m["includes"], " " * 6)
    lines += _wrap(c["mwaaNotes"], "    ")
    return lines


def _bullet(text: str, indent: str) -> list[str]:
    """`- text` wrapped with a hanging indent; URLs and paths are never split."""
    return textwrap.wrap(f"- {text}", WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False, break_long_words=False)


def _amount(value: float | None) -> str:
    return "n/a" if value is None else _money(value)


def workload_line(w: dict) -> str:
    needs = ", ".join(w["needs"]) or "nothing beyond running tasks"
    return (f"{w['concurrency']} tasks at once, {w['taskCpu']} CPU / {w['taskMemory']} each, "
            f"{w['taskMinutes']:g} min on average; needs: {needs}")


def workload(plan: dict) -> list[str]:
    """This stack at the plan's workload, what that rests on, and the comparison (if any)."""
    if "workload" not in plan:
        return []
    w, stack = plan["workload"], plan["workload"]["thisStack"]
    width = max([len(i["label"]) for i in stack["items"]] + [40])
    lines = [f"Workload: {w['taskHours']:,.0f} task-hours a month, {workload_line(w)} (tools/plan/workload.py):",
             f"  {'this stack at this workload'.ljust(width)}  {'monthly':>9}"]
    lines += [f"  {i['label'].ljust(width)}  {_money(i['monthly']):>9}" for i in stack["items"]]
    lines.append(f"  {'total per month'.ljust(width)}  {_amount(stack['monthly']):>9}")
    lines += [line for n in stack["notes"] for line in _wrap(f"NOTE: {n}", "  ")]
    lines.append("  Assumptions (tools/plan/workload.yaml):")
    lines += [line for a in w["assumptions"] for line in _bullet(a, "    ")]
    lines.append("  Comparison at this workload (USD per month; what is UNCONFIRMED: tools/plan/prices.yaml):")
    name_width = max(len(c["name"]) for c in plan["comparison"])
    for c in plan["comparison"]:
        lines.append(f"    {c['name'].ljust(name_width)}  {_amount(c['monthly']):>9}")
        lines += [line for n in c["notes"] for line in _bullet(n, " " * 6)]
        lines += _bullet("sources: " + "; ".join(c["sources"]), " " * 6)
    return lines


def render_curve(plan: dict, curve: dict) -> str:
    """`--cost-curve`: one row per task-hours value, one column per option, then the crossovers."""
    names = curve["options"]
    widths = [max(len(n), 9) for n in names]
    lines = [f"Monthly cost by task-hours (USD): stack {plan['stack']}, {workload_line(curve['workload'])}",
             "", "| task-hours | " + " | ".join(n.rjust(wd) for n, wd in zip(names, widths, strict=True)) + " |",
             "|---:|" + "---:|" * len(names)]
    for row in curve["rows"]:
        cells = [_amount(row["monthly"][n]).rjust(wd) for n, wd in zip(names, widths, strict=True)]
        lines.append(f"| {row['taskHours']:>10,.0f} | " + " | ".join(cells) + " |")
    lines += ["", "Crossovers (this stack against each option, 0 to the most task-hours the concurrency allows):"]
    for x in curve["crossovers"]:
        lines.append(f"- {x['between'][1]}: {x['taskHours']:,.1f} task-hours (${x['monthly']:,.2f} a month); "
                     f"below it {x['cheaperBelow']} is cheaper")
    if not curve["crossovers"]:
        lines.append("- none: the order of the options does not change over this range")
    unpriced = [n for n in names if any(r["monthly"][n] is None for r in curve["rows"])]
    if unpriced:
        lines.append("n/a: cannot run the workload or no confirmed price; `--task-hours H` prints why: "
                     + ", ".join(unpriced))
    return "\n".join(lines) + "\n"


def time(plan: dict) -> list[str]:
    t = plan["deployTime"]
    lines = [f"Deploy time estimate: about {round(t['totalSeconds'] / 60)} min.",
             *_wrap(f"Assumes a {t['assumptions']}.", "  "),
             "  Critical path (start, creation time, resource):"]
    lines += [f"  {duration(s['startSeconds']):>6}  {duration(s['seconds']):>6}  {s['type']}  {s['name']}"
              for s in t["path"]]
    if t["typesNotInTable"]:
        lines.append("  Types without a typical time (default used): " + ", ".join(t["typesNotInTable"]))
    return lines


RENDERERS = {"header": header, "warnings": warnings, "tree": tree, "counts": counts, "settings": settings,
             "data": data, "airflow": airflow, "outputs": outputs, "cost": cost, "workload": workload, "time": time}


def render_plan(plan: dict, sections: tuple[str, ...] = SECTIONS) -> str:
    blocks = ["\n".join(lines) for lines in (RENDERERS[s](plan) for s in sections) if lines]
    return "\n\n".join(blocks) + "\n"


# -- diffs -------------------------------------------------------------------------------
def _signed(value: float, money: bool = True) -> str:
    return f"{value:+,.2f}" if money else f"{value:+g}"


def _change(c: dict) -> str:
    if "added" in c:
        parts = [f"+{_show(v)}" for v in c["added"]] + [f"-{_show(v)}" for v in c["removed"]]
        return f"`{c['path']}`: {', '.join(parts) or 'reordered'}"
    return f"`{c['path']}`: {_show(c['base'])} -> {_show(c['head'])}"


def render_diff(d: dict) -> str:
    r = d["resources"]
    lines = [f"## Offline plan diff: {d['base']['stack']} (base) -> {d['head']['stack']} (head)", "",
             "Computed offline under Pulumi's mock engine (not `pulumi preview`).", ""]
    if not d["changed"]:
        return "\n".join(lines + ["No changes.", ""])
    lines.append(f"### Resources: {len(r['added'])} added, {len(r['removed'])} removed, {len(r['changed'])} changed")
    lines += [f"- added `{x['type']}` {x['name']}" for x in r["added"]]
    lines += [f"- removed `{x['type']}` {x['name']}" for x in r["removed"]]
    for x in r["changed"]:
        lines.append(f"- changed `{x['type']}` {x['name']}")
        lines += [f"  - {_change(c)}" for c in x.get("inputs", []) + x.get("fields", [])]
        deps = x.get("dependencies")
        if deps:
            lines += [f"  - now waits for `{u.rsplit('::', 1)[-1]}`" for u in deps["added"]]
            lines += [f"  - no longer waits for `{u.rsplit('::', 1)[-1]}`" for u in deps["removed"]]
    w = d.get("warnings") or {"added": [], "removed": []}
    if w["added"] or w["removed"]:
        lines += ["", "### Template placeholders"]
        lines += [f"- still a placeholder: `{x}`" for x in w["added"]]
        lines += [f"- replaced: `{x}`" for x in w["removed"]]
    if d["outputs"]:
        lines += ["", "### Outputs"]
        lines += [f"- {_change(c)}" for c in d["outputs"]]
    cost = d["cost"]
    lines += ["", "### Monthly cost (USD)", "", "| line item | idle base | idle head | idle delta | busy delta |",
              "|---|---:|---:|---:|---:|"]
    for i in cost["lineItems"]:
        lines.append(f"| {i['label']} ({i['status']}) | {_money(i['idle']['base'])} | {_money(i['idle']['head'])} | "
                     f"{_signed(i['idle']['delta'])} | {_signed(i['busy']['delta'])} |")
    t = cost["total"]
    lines.append(f"| **total** | {_money(t['idle']['base'])} | {_money(t['idle']['head'])} | "
                 f"{_signed(t['idle']['delta'])} | {_signed(t['busy']['delta'])} |")
    time = d["deployTime"]
    lines += ["", "### Deploy time (critical path)", "",
              f"{duration(time['base'])} -> {duration(time['head'])} ({_signed(time['delta'], money=False)} s)"]
    if time["pathChanged"]:
        lines += ["", "base path: " + " -> ".join(time["basePath"]), "", "head path: " + " -> ".join(time["headPath"])]
    return "\n".join(lines) + "\n"
