"""statsd_exporter's line parser (pkg/line at v0.28.0), ported for the tests.

One StatsD line (`name:value|type[|@rate][|#tags]`, several `:value|type` samples allowed)
becomes events: `c` a counter increment (divided by the sampling rate), `g` a gauge set, or a
move when the value carries a sign, `ms` an observation in seconds (the value / 1000), `h`
and `d` an observation as sent. Tags in the DogStatsD, InfluxDB, Librato and SignalFx styles
become labels, each style as the exporter's flags enable it (all four by default). A bad
line or sample is skipped, as upstream does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .mapper import escape_metric_name


@dataclass
class Event:
    type: str  # "counter" | "gauge" | "observer"
    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    relative: bool = False  # gauges only


@dataclass(frozen=True)
class Parser:
    dogstatsd: bool = True
    influxdb: bool = True
    librato: bool = True
    signalfx: bool = True

    def line_to_events(self, line: str) -> list[Event]:
        events: list[Event] = []
        if line == "":
            return events
        name_part, colon, rest = line.partition(":")
        if not colon or not name_part or _invalid_utf8(line):
            return events
        labels: dict[str, str] = {}
        metric = self._name_and_tags(name_part, labels)
        dogstatsd_tags = "|#" in rest
        if dogstatsd_tags and labels:
            return events  # mixed tagging styles
        parts = rest.split("|", 2)
        if len(parts) < 2:
            return events
        if ":" in parts[0]:
            # DogStatsD extended aggregation: several values of one timer/histogram/distribution
            if parts[1] not in ("ms", "h", "d"):
                return events
            suffix = rest.split("|", 1)[1]
            samples = [f"{value}|{suffix}" for value in parts[0].split(":")]
        elif dogstatsd_tags:
            samples = [rest]
        else:
            samples = rest.split(":")

        for sample in samples:
            components = sample.split("|")
            if not 2 <= len(components) <= 4:
                continue
            value_text, stat_type = components[0], components[1]
            relative = value_text.startswith(("+", "-"))
            value = _go_float(value_text)
            if value is None:
                continue
            repeat = 1
            if len(components) >= 3:
                if any(c == "" for c in components[2:]):
                    continue
                for component in components[2:]:
                    if component[0] == "@":
                        factor = _go_float(component[1:]) or 0.0
                        if factor == 0:
                            factor = 1.0
                        if stat_type == "c":
                            value /= factor
                        elif stat_type in ("ms", "h", "d"):
                            repeat = int(1 / factor)
                    elif component[0] == "#":
                        self._dogstatsd_tags(component[1:], labels)
            for _ in range(repeat):
                event = _build(stat_type, metric, value, relative, labels)
                if event is not None:
                    events.append(event)
        return events

    def _name_and_tags(self, name: str, labels: dict[str, str]) -> str:
        if self.signalfx:
            start, end = name.find("["), name.find("]")
            if start != -1 and end != -1:
                _name_tags(name[start + 1:end], labels)
                return name[:start] + name[end + 1:]
            if (start != -1) != (end != -1):
                return name
        for i, char in enumerate(name):
            if (char == "#" and self.librato) or (char == "," and self.influxdb):
                _name_tags(name[i + 1:], labels)
                return name[:i]
        return name

    def _dogstatsd_tags(self, component: str, labels: dict[str, str]) -> None:
        if not self.dogstatsd:
            return
        for tag in _split_tags(component):
            _tag(tag[1:] if tag.startswith("#") else tag, ":", labels)


def _split_tags(component: str) -> list[str]:
    """Tags between commas; a trailing comma adds no empty tag (as upstream's loop)."""
    tags = component.split(",")
    return tags[:-1] if tags and tags[-1] == "" else tags


def _name_tags(component: str, labels: dict[str, str]) -> None:
    for tag in _split_tags(component):
        _tag(tag, "=", labels)


def _tag(tag: str, separator: str, labels: dict[str, str]) -> None:
    key, found, value = tag.partition(separator)
    if found and key and value:
        labels[escape_metric_name(key)] = value


def _build(stat_type: str, metric: str, value: float, relative: bool, labels: dict[str, str]) -> Event | None:
    if stat_type == "c":
        return Event("counter", metric, value, labels)
    if stat_type == "g":
        return Event("gauge", metric, value, labels, relative)
    if stat_type == "ms":
        return Event("observer", metric, value / 1000, labels)  # Prometheus wants seconds
    if stat_type in ("h", "d"):
        return Event("observer", metric, value, labels)
    return None  # sets (`s`) and unknown types are not supported


def _go_float(text: str) -> float | None:
    """strconv.ParseFloat: Python's float() accepts more (spaces, `1_000`, `nan` spelled
    variously), so those are refused first."""
    if not text or text != text.strip() or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _invalid_utf8(line: str) -> bool:
    """Lines come from bytes decoded with surrogateescape: an escaped byte is invalid UTF-8."""
    return any("\udc80" <= char <= "\udcff" for char in line)
