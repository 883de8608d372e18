"""statsd_exporter, the chart's StatsD-to-Prometheus bridge, in Python for the tests.

No package registry reachable here ships the statsd_exporter binary, so the tests run this port
of the version the chart pins (`images.statsd.tag` in the chart's values.yaml: v0.28.0):

- `mapper`: pkg/mapper (mapping config, glob FSM with its ordering and backtracking, regex
  rules, `$n` captures, `match_metric_type`, `action: drop`, name escaping);
- `line`: pkg/line (StatsD line parsing: types, sampling, the tag formats it accepts);
- `exporter`: pkg/exporter and pkg/registry (events to metrics: counters born at their first
  increment, gauges set or moved, timers in seconds into summaries or histograms, type
  conflicts) and the classic text exposition client_golang serves;
- `__main__`: the running exporter: UDP in, `/metrics` out, and a capture of every line.

tests/test_statsd_exporter_conformance.py checks the port against upstream's own test vectors
(tests/data/statsd-exporter-vectors.yaml, transcribed from that tag). Upstream is Apache-2.0.
"""
