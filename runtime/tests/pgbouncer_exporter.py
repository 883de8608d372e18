"""The chart's PgBouncer exporter sidecar, for the runtime tier: a shim with the same outputs.

The sidecar's image (`airflow-pgbouncer-exporter-...-0.18.0` in the chart's values.yaml) is
jbub/pgbouncer_exporter 0.18.0, a Go binary no package registry here ships. What it does is
small, and this does the same (internal/collector and internal/sqlstore at v0.18.0): on each
scrape, `SHOW STATS`, `SHOW POOLS`, `SHOW DATABASES` and `SHOW LISTS` on PgBouncer's admin
console through DATABASE_URL (the program's stats Secret), each row a gauge named
`pgbouncer_exporter_<subsystem>_<column>` with the labels upstream gives it; `max_wait` is
`maxwait`, whole seconds. If PgBouncer cannot be queried the scrape still answers, with no
PgBouncer series (upstream logs and returns nothing). Its own go_* and process_* series are
not reproduced: the collector's keep-list drops them.

    DATABASE_URL=postgresql://... python -m runtime.tests.pgbouncer_exporter --web.listen-address 127.0.0.1:9127
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys

from tests.statsd_exporter.exporter import go_float, serve

from . import services

# (name, query, labels: (label, column), value column); upstream's buildMetrics, in its order.
METRICS = [
    *[(f"pgbouncer_exporter_stats_{name}", "SHOW STATS", (("database", "database"),), name)
      for name in ("total_received", "total_sent", "total_query_time", "total_xact_time", "total_query_count",
                   "total_xact_count")],
    *[(f"pgbouncer_exporter_pools_{name}", "SHOW POOLS",
       (("database", "database"), ("user", "user"), ("pool_mode", "pool_mode")), column)
      for name, column in (("active_clients", "cl_active"), ("waiting_clients", "cl_waiting"),
                           ("active_server", "sv_active"), ("idle_server", "sv_idle"), ("used_server", "sv_used"),
                           ("tested_server", "sv_tested"), ("login_server", "sv_login"), ("max_wait", "maxwait"))],
    *[(f"pgbouncer_exporter_database_{name}", "SHOW DATABASES", (("name", "name"), ("pool_mode", "pool_mode")), name)
      for name in ("pool_size", "current_connections", "max_connections", "server_lifetime")],
    ("pgbouncer_exporter_lists_items", "SHOW LISTS", (("list", "list"),), "items"),
]


def show(url: str, command: str) -> list[dict[str, str]]:
    out = subprocess.run([services.pg_bin("psql"), url, "-X", "--csv", "-c", command], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def exposition(url: str) -> str:
    try:
        results = {query: show(url, query) for query in dict.fromkeys(q for _n, q, _l, _v in METRICS)}
    except (subprocess.SubprocessError, OSError) as error:
        print(f"could not get store result: {error}", file=sys.stderr, flush=True)
        return ""
    families: dict[str, list[str]] = {}
    for name, query, labels, column in METRICS:
        samples = []
        for row in results[query]:
            pairs = sorted((label, row.get(source) or "") for label, source in labels)
            body = ",".join(f'{label}="{value}"' for label, value in pairs)
            samples.append((tuple(v for _l, v in pairs), f"{name}{{{body}}} {_value(row.get(column))}"))
        if samples:
            families[name] = [s for _k, s in sorted(samples)]
    lines = []
    for name in sorted(families):
        lines += [f"# TYPE {name} gauge", *families[name]]
    return "\n".join(lines) + "\n" if lines else ""


def _value(text: str | None) -> str:
    """Integers as Go's %g prints a float64 of them (upstream stores int64, exports float64)."""
    return go_float(float(int(text or 0)))


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--web.listen-address", dest="web", required=True)
    options = args.parse_args()
    url = os.environ["DATABASE_URL"]
    host, _, port = options.web.rpartition(":")
    serve((host, int(port)), lambda: exposition(url))


if __name__ == "__main__":
    main()
