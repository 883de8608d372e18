"""statsd_exporter's mapper (pkg/mapper at v0.28.0), ported for the tests.

What a mapping config does to a StatsD name, as upstream does it, quirks included:

- glob rules go into one finite-state machine per metric type (`counter`, `gauge`,
  `observer`); `*` is exactly one dot-separated segment. With ordering on (the default) every
  path is explored and the earliest rule wins; `defaults.glob_disable_ordering` returns the
  first final state found instead;
- a state is given its rule only when that rule creates it: a glob that is a prefix of an
  earlier, longer glob (`a.b` after `a.b.c`) never matches, exactly as upstream;
- regex rules are tried only when no glob matched, in file order, with Go's unanchored search
  and Go's `$1`/`${1}`/`$name` expansion (`$1x` is the group named `1x`, i.e. empty);
- glob templates take `$n`/`${n}` only; a reference beyond the rule's captures, or one that is
  not a plain number (`$1_foo`), becomes the empty string;
- `match_metric_type` restricts a rule to one event type (`timer` is `observer`);
- `action: drop` matches and drops; an unmatched name keeps its escaped StatsD name.

Only what changes the outcome is ported; upstream's warnings, its cache (which returns what
the uncached mapper returns) and the FSM dump are not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import yaml

METRIC_TYPES = ("counter", "gauge", "observer")
# prometheus.DefBuckets (client_golang) and mapper.defaultQuantiles.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DEFAULT_QUANTILES = ((0.5, 0.05), (0.9, 0.01), (0.99, 0.001))

# Go's regexp `$` is end of text; Python's also matches before a final newline, hence \Z.
_FIRST_SEGMENT = r"[a-zA-Z_]([a-zA-Z0-9_\-])*"
_NEXT_SEGMENT = r"[a-zA-Z0-9_]([a-zA-Z0-9_\-])*"
_TEMPLATE_REF = r"(\$\{?\d+\}?)"
METRIC_LINE = re.compile(rf"^(\*|{_FIRST_SEGMENT})(\.\*|\.{_NEXT_SEGMENT})*\Z")
METRIC_NAME = re.compile(rf"^([a-zA-Z_]|{_TEMPLATE_REF})([a-zA-Z0-9_]|{_TEMPLATE_REF})*\Z")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]+\Z")  # two characters at least, as upstream
_CAPTURE_REF = re.compile(r"\$\{?([a-zA-Z0-9_\$]+)\}?")


class ConfigError(ValueError):
    """The mapping config would make statsd_exporter refuse to start."""


# --- config ------------------------------------------------------------------------------------

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: Any) -> float:
    """Seconds of a Go duration as yaml.v2 decodes one (a string for time.ParseDuration, or an
    integer number of nanoseconds)."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"invalid duration {value!r}")
    if isinstance(value, int):
        return value * 1e-9
    text = value
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(text):
        part = _DURATION_PART.match(text, pos)
        if not part:
            raise ConfigError(f"time: invalid duration {value!r}")
        total += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
        pos = part.end()
    if not text:
        raise ConfigError(f"time: invalid duration {value!r}")
    return sign * total


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _enum(value: Any, allowed: dict[str, str], what: str) -> str:
    if value is None:
        return ""
    if _text(value) not in allowed:
        raise ConfigError(f"invalid {what} {value!r}")
    return allowed[_text(value)]


_MATCH_TYPES = {"regex": "regex", "glob": "glob", "": "glob"}
_ACTIONS = {"drop": "drop", "map": "map", "": "map"}
_OBSERVER_TYPES = {"histogram": "histogram", "summary": "summary", "": "summary"}
_METRIC_TYPES = {"counter": "counter", "gauge": "gauge", "observer": "observer", "timer": "observer"}


def _objectives(value: Any) -> tuple[tuple[float, float], ...] | None:
    if value is None:
        return None
    return tuple((float(q.get("quantile") or 0), float(q.get("error") or 0)) for q in value)


def _floats(value: Any) -> tuple[float, ...] | None:
    return None if value is None else tuple(float(v) for v in value)


@dataclass
class SummaryOptions:
    quantiles: tuple[tuple[float, float], ...] | None = None
    max_age: float = 0.0
    age_buckets: int = 0
    buf_cap: int = 0

    @classmethod
    def parse(cls, raw: Any) -> SummaryOptions:
        raw = raw or {}
        return cls(_objectives(raw.get("quantiles")), parse_duration(raw.get("max_age")),
                   int(raw.get("age_buckets") or 0), int(raw.get("buf_cap") or 0))


@dataclass
class HistogramOptions:
    buckets: tuple[float, ...] | None = None
    native_histogram_bucket_factor: float = 0.0
    native_histogram_max_buckets: int = 0

    @classmethod
    def parse(cls, raw: Any) -> HistogramOptions:
        raw = raw or {}
        return cls(_floats(raw.get("buckets")), float(raw.get("native_histogram_bucket_factor") or 0),
                   int(raw.get("native_histogram_max_buckets") or 0))


@dataclass
class Defaults:
    observer_type: str = ""
    match_type: str = ""
    glob_disable_ordering: bool = False
    ttl: float = 0.0
    summary_options: SummaryOptions = field(default_factory=SummaryOptions)
    histogram_options: HistogramOptions = field(default_factory=HistogramOptions)

    @classmethod
    def parse(cls, raw: Any) -> Defaults:
        raw = raw or {}
        # The deprecated timer_type is read (and validated) always, used where observer_type is not set.
        observer = _enum(raw.get("observer_type"), _OBSERVER_TYPES, "observer type")
        timer = _enum(raw.get("timer_type"), _OBSERVER_TYPES, "observer type")
        observer = observer or timer
        summary = SummaryOptions.parse(raw.get("summary_options"))
        if not summary.quantiles and raw.get("quantiles"):
            summary = SummaryOptions(_objectives(raw.get("quantiles")))
        histogram = HistogramOptions.parse(raw.get("histogram_options"))
        if not histogram.buckets and raw.get("buckets"):
            histogram = HistogramOptions(_floats(raw.get("buckets")))
        return cls(observer, _enum(raw.get("match_type"), _MATCH_TYPES, "match type"),
                   bool(raw.get("glob_disable_ordering")), parse_duration(raw.get("ttl")), summary, histogram)


@dataclass
class Mapping:
    """One entry of `mappings:` after loading (upstream's MetricMapping)."""

    match: str
    name: str
    labels: dict[str, str]
    honor_labels: bool = False
    observer_type: str = ""
    legacy_buckets: tuple[float, ...] | None = None
    legacy_quantiles: tuple[tuple[float, float], ...] | None = None
    match_type: str = ""
    help: str = ""
    action: str = ""
    match_metric_type: str = ""
    ttl: float = 0.0
    summary_options: SummaryOptions | None = None
    histogram_options: HistogramOptions | None = None
    scale: float | None = None
    regex: re.Pattern | None = None
    name_formatter: TemplateFormatter | None = None
    label_formatters: dict[str, TemplateFormatter] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any) -> Mapping:
        if not isinstance(raw, dict):
            raise ConfigError(f"a mapping is a map, got {raw!r}")
        timer = _enum(raw.get("timer_type"), _OBSERVER_TYPES, "observer type")
        observer = _enum(raw.get("observer_type"), _OBSERVER_TYPES, "observer type") or timer
        labels = raw.get("labels") or {}
        return cls(
            match=_text(raw.get("match")), name=_text(raw.get("name")),
            labels={_text(k): _text(v) for k, v in labels.items()}, honor_labels=bool(raw.get("honor_labels")),
            observer_type=observer, legacy_buckets=_floats(raw.get("buckets")),
            legacy_quantiles=_objectives(raw.get("quantiles")),
            match_type=_enum(raw.get("match_type"), _MATCH_TYPES, "match type"), help=_text(raw.get("help")),
            action=_enum(raw.get("action"), _ACTIONS, "action type"),
            match_metric_type=_enum(raw.get("match_metric_type"), _METRIC_TYPES, "metric type"),
            ttl=parse_duration(raw.get("ttl")),
            summary_options=None if raw.get("summary_options") is None
            else SummaryOptions.parse(raw["summary_options"]),
            histogram_options=None if raw.get("histogram_options") is None
            else HistogramOptions.parse(raw["histogram_options"]),
            scale=None if raw.get("scale") is None else float(raw["scale"]))


# --- glob templates (fsm/formatter.go) ---------------------------------------------------------

@dataclass
class TemplateFormatter:
    """`$n`/`${n}` in a glob rule's name or label values, filled from the glob's captures.

    As upstream: each reference's text, in order of appearance, is replaced everywhere by `%s`
    (a number within the captures) or by nothing, and the result is formatted like Go's
    Sprintf with one capture per usable reference."""

    template: str
    capture_count: int

    def __post_init__(self) -> None:
        self.fmt, self.indexes = self.template, []
        for ref in _CAPTURE_REF.finditer(self.template):
            whole, token = ref.group(0), ref.group(1)
            index = int(token) if re.fullmatch(r"[0-9]+", token) and len(token) < 19 else 0
            if 1 <= index <= self.capture_count:
                self.fmt = self.fmt.replace(whole, "%s")
                self.indexes.append(index - 1)
            else:
                self.fmt = self.fmt.replace(whole, "")

    def format(self, captures: list[str]) -> str:
        if not self.indexes:
            return self.fmt
        return go_sprintf(self.fmt, [captures[i] for i in self.indexes])


def go_sprintf(fmt: str, args: list[str]) -> str:
    """Go's fmt.Sprintf for string arguments and the verbs a template can hold (`%s`, `%%`);
    anything else is refused rather than guessed."""
    out, pending, i = [], list(args), 0
    while i < len(fmt):
        if fmt[i] != "%":
            out.append(fmt[i])
            i += 1
            continue
        verb = fmt[i + 1:i + 2]
        if verb == "s":
            out.append(pending.pop(0) if pending else "%!s(MISSING)")
        elif verb == "%":
            out.append("%")
        elif verb == "":
            out.append("%!(NOVERB)")
        else:
            raise NotImplementedError(f"Go verb %{verb} in a mapping template: {fmt!r}")
        i += 2
    if pending:
        out.append("%!(EXTRA " + ", ".join(f"string={a}" for a in pending) + ")")
    return "".join(out)


# --- the glob FSM (fsm/fsm.go) -----------------------------------------------------------------

@dataclass(eq=False)
class _State:
    transitions: dict[str, _State] = field(default_factory=dict)
    min_remaining: int = 0
    max_remaining: int = 0
    result: Mapping | None = None
    priority: int = 0


class FSM:
    def __init__(self, ordering_disabled: bool) -> None:
        self.root = _State({t: _State() for t in METRIC_TYPES})
        self.ordering_disabled = ordering_disabled
        self.states_count = 0
        self.backtracking_needed = False

    def add_state(self, match: str, match_metric_type: str, result: Mapping) -> int:
        fields = match.split(".")
        roots = [self.root.transitions[match_metric_type]] if match_metric_type else \
            [self.root.transitions[t] for t in METRIC_TYPES]
        capture_count, finals = 0, []
        for root in roots:
            capture_count = 0
            for i, name in enumerate(fields):
                remaining = len(fields) - i - 1
                state = root.transitions.get(name)
                if state is None:
                    state = _State(min_remaining=remaining, max_remaining=remaining)
                    root.transitions[name] = state
                    if i == len(fields) - 1:
                        state.result = result  # only when created: see the module docstring
                else:
                    state.max_remaining = max(remaining, state.max_remaining)
                    state.min_remaining = min(remaining, state.min_remaining)
                if name == "*":
                    capture_count += 1
                root = state
            finals.append(root)
        for state in finals:
            state.priority = self.states_count
        self.states_count += 1
        return capture_count

    def get_mapping(self, metric: str, metric_type: str) -> tuple[_State | None, list[str]]:
        fields = metric.split(".")
        count = len(fields)
        current = self.root.transitions[metric_type]
        backtrack: list[tuple[int, int, str, _State]] = []  # (field, capture index, capture, state)
        resume = False
        final: _State | None = None
        captures, final_captures = [""] * count, [""] * count
        capture_idx = i = 0
        state: _State | None = None

        def fits(s: _State | None, left: int) -> bool:
            return s is not None and s.min_remaining <= left <= s.max_remaining

        while True:
            while True:
                if not resume:
                    if not current.transitions:
                        break
                    name, left = fields[i], count - i - 1
                    state = current.transitions.get(name)
                    if not fits(state, left):
                        state = current.transitions.get("*")
                        if not fits(state, left):
                            break
                        captures[capture_idx] = name
                        capture_idx += 1
                    elif self.backtracking_needed:
                        alternative = current.transitions.get("*")
                        if fits(alternative, left):
                            backtrack.append((i, capture_idx, name, alternative))
                assert state is not None
                if state.result is not None and i == count - 1:
                    if self.ordering_disabled:
                        return state, captures
                    if final is None or final.priority > state.priority:
                        final = state
                        final_captures = list(captures)
                    break
                i += 1
                if i >= count:
                    break
                resume = False
                current = state
            if not backtrack:
                break
            i, index, capture, state = backtrack.pop()
            current = state
            capture_idx = index + 1
            captures[capture_idx - 1] = capture
            resume = True
        return final, final_captures


def needs_backtracking(globs: list[str], ordering_disabled: bool, warnings: list[str]) -> bool:
    """fsm.TestIfNeedBacktracking: always with ordering on; otherwise when a glob shares a
    prefix up to one of its `*` with another glob of the same length that is not its superset."""
    by_length: dict[int, list[tuple[str, re.Pattern | None]]] = {}
    for glob in globs:
        pattern = glob.replace(".", "\\.").replace("*", "([^.]*)")
        try:
            compiled = re.compile("^" + pattern + "$", re.ASCII)
        except re.error:
            compiled = None
        by_length.setdefault(len(glob.split(".")), []).append((glob, compiled))
    needed = False
    for rules in by_length.values():
        if len(rules) == 1:
            continue
        for i1, (r1, re1) in enumerate(rules):
            if re1 is None or "*" not in r1:
                continue
            current = False
            for index, char in enumerate(r1):
                if char != "*":
                    continue
                prefix = re.compile("^" + r1[:index].replace(".", "\\.").replace("*", "\\*"), re.ASCII)
                if any(i2 != i1 and prefix.search(r2) for i2, (r2, _) in enumerate(rules)):
                    current = True
            for i2, (r2, _) in enumerate(rules):
                if i2 != i1 and re1.search(r2):
                    if not ordering_disabled and i1 < i2:
                        warnings.append(f"match {r1!r} is a superset of {r2!r} but in a lower order: "
                                        "the second will never be matched")
                    current = False
            if any(i2 != i1 and re2 is not None and re2.search(r1) for i2, (_, re2) in enumerate(rules)):
                current = False
            needed = needed or current
    return not ordering_disabled or needed


# --- Go regexp template expansion (regexp.Regexp.ExpandString) ---------------------------------

def _is_name_char(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] == "L" or unicodedata.category(char) == "Nd"


def expand(template: str, found: re.Match) -> str:
    out, i = [], 0
    while True:
        dollar = template.find("$", i)
        if dollar < 0:
            out.append(template[i:])
            return "".join(out)
        out.append(template[i:dollar])
        rest = template[dollar + 1:]
        if rest.startswith("$"):
            out.append("$")
            i = dollar + 2
            continue
        brace = rest.startswith("{")
        body = rest[1:] if brace else rest
        n = 0
        while n < len(body) and _is_name_char(body[n]):
            n += 1
        name = body[:n]
        if not name or (brace and (n >= len(body) or body[n] != "}")):
            out.append("$")  # malformed: the $ is text
            i = dollar + 1
            continue
        i = dollar + 1 + (1 if brace else 0) + n + (1 if brace else 0)
        number = int(name) if name.isascii() and name.isdigit() and len(name) <= 8 else -1
        if name.startswith("0") and len(name) > 1:
            number = -1
        if number >= 0:
            if number <= (found.re.groups or 0) and found.group(number) is not None:
                out.append(found.group(number))
        elif name in found.re.groupindex and found.group(name) is not None:
            out.append(found.group(name))


def go_regex(pattern: str) -> re.Pattern:
    """A Go (RE2) regexp in Python's engine: the same for the syntax both share, and `\\d`,
    `\\w`, `\\s`, `\\b` are ASCII-only in Go. `\\z` (Go's end of text) becomes `\\Z`."""
    try:
        return re.compile(pattern.replace(r"\z", r"\Z"), re.ASCII)
    except re.error as error:
        raise ConfigError(f"invalid regex {pattern} in mapping: {error}") from error


# --- the mapper ----------------------------------------------------------------------------------

@dataclass
class Result:
    mapping: Mapping
    name: str
    labels: dict[str, str]

    @property
    def action(self) -> str:
        return self.mapping.action


class MetricMapper:
    """InitFromYAMLString + GetMapping."""

    def __init__(self, config: str = "") -> None:
        self.defaults = Defaults()
        self.mappings: list[Mapping] = []
        self.fsm = FSM(False)
        self.do_fsm = self.do_regex = False
        self.warnings: list[str] = []
        self.load(config)

    def load(self, config: str) -> None:
        try:
            raw = yaml.safe_load(config) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"yaml: {error}") from error
        if not isinstance(raw, dict):
            raise ConfigError("the mapping config is a map")
        defaults = Defaults.parse(raw.get("defaults"))
        if not defaults.histogram_options.buckets:
            defaults.histogram_options.buckets = DEFAULT_BUCKETS
        if defaults.histogram_options.native_histogram_bucket_factor == 0:
            defaults.histogram_options.native_histogram_bucket_factor = 1.1
        if defaults.histogram_options.native_histogram_max_buckets <= 0:
            defaults.histogram_options.native_histogram_max_buckets = 256
        if not defaults.summary_options.quantiles:
            defaults.summary_options.quantiles = DEFAULT_QUANTILES
        if not defaults.match_type:
            defaults.match_type = "glob"

        mappings = [Mapping.parse(m) for m in (raw.get("mappings") or [])]
        fsm = FSM(defaults.glob_disable_ordering)
        do_fsm = do_regex = False
        for i, mapping in enumerate(mappings):
            for key in mapping.labels:
                if not LABEL_NAME.match(key):
                    raise ConfigError(f"invalid label key: {key}")
            if not mapping.name:
                raise ConfigError(f"line {i}: metric mapping didn't set a metric name")
            if not METRIC_NAME.match(mapping.name):
                raise ConfigError(f"metric name '{mapping.name}' doesn't match regex")
            mapping.match_type = mapping.match_type or defaults.match_type
            mapping.action = mapping.action or "map"
            if mapping.match_type == "glob":
                do_fsm = True
                if not METRIC_LINE.match(mapping.match):
                    raise ConfigError(f"invalid match: {mapping.match}")
                captures = fsm.add_state(mapping.match, mapping.match_metric_type, mapping)
                mapping.name_formatter = TemplateFormatter(mapping.name, captures)
                mapping.label_formatters = {k: TemplateFormatter(v, captures) for k, v in mapping.labels.items()}
            else:
                mapping.regex = go_regex(mapping.match)
                do_regex = True
            mapping.observer_type = mapping.observer_type or defaults.observer_type
            self._resolve_observer_options(mapping, defaults)
            if mapping.ttl == 0 and defaults.ttl > 0:
                mapping.ttl = defaults.ttl

        self.defaults, self.mappings = defaults, mappings
        if do_fsm:
            globs = [m.match for m in mappings if m.match_type == "glob"]
            fsm.backtracking_needed = needs_backtracking(globs, fsm.ordering_disabled, self.warnings)
            self.fsm = fsm
            self.do_regex = do_regex
        self.do_fsm = do_fsm

    @staticmethod
    def _resolve_observer_options(m: Mapping, defaults: Defaults) -> None:
        if m.summary_options is not None and m.legacy_quantiles is not None and m.summary_options.quantiles is not None:
            raise ConfigError(f"cannot use quantiles in both the top level and summary options in {m.match}")
        if m.histogram_options is not None and m.legacy_buckets is not None and m.histogram_options.buckets is not None:
            raise ConfigError(f"cannot use buckets in both the top level and histogram options in {m.match}")
        if m.observer_type == "histogram":
            if m.summary_options is not None:
                raise ConfigError("cannot use histogram observer and summary options at the same time")
            m.histogram_options = m.histogram_options or HistogramOptions()
            if m.legacy_buckets:
                m.histogram_options.buckets = m.legacy_buckets
            if not m.histogram_options.buckets:
                m.histogram_options.buckets = defaults.histogram_options.buckets
        if m.observer_type == "summary":
            if m.histogram_options is not None:
                raise ConfigError("cannot use summary observer and histogram options at the same time")
            m.summary_options = m.summary_options or SummaryOptions()
            if m.legacy_quantiles:
                m.summary_options.quantiles = m.legacy_quantiles
            if not m.summary_options.quantiles:
                m.summary_options.quantiles = defaults.summary_options.quantiles
            for attr in ("max_age", "age_buckets", "buf_cap"):
                if not getattr(m.summary_options, attr):
                    setattr(m.summary_options, attr, getattr(defaults.summary_options, attr))

    def get_mapping(self, metric: str, metric_type: str) -> Result | None:
        """The rule a StatsD name of this event type matches (with its expanded name and
        labels), or None: then the exporter keeps the escaped StatsD name, unlabelled."""
        if self.do_fsm:
            state, captures = self.fsm.get_mapping(metric, metric_type)
            if state is not None and state.result is not None:
                mapping = state.result
                assert mapping.name_formatter is not None
                return Result(mapping, mapping.name_formatter.format(captures),
                              {k: f.format(captures) for k, f in mapping.label_formatters.items()})
            if not self.do_regex:
                return None
        for mapping in self.mappings:
            if mapping.regex is None:
                continue
            found = mapping.regex.search(metric)
            if not found:
                continue
            name = expand(mapping.name, found)
            if mapping.match_metric_type and mapping.match_metric_type != metric_type:
                continue
            return Result(mapping, name, {k: expand(v, found) for k, v in mapping.labels.items()})
        return None


def escape_metric_name(name: str) -> str:
    """mapper.EscapeMetricName: every character outside [a-zA-Z0-9_] becomes `_`, a run of
    dashes a single `_`, and a leading digit gets a `_` in front."""
    if not name:
        return ""
    out = ["_"] if name[0].isascii() and name[0].isdigit() else []
    previous = ""
    for char in name:
        if char.isascii() and (char.isalnum() or char == "_"):
            out.append(char)
        elif char == "-" and previous == "-":
            continue  # `previous` stays `-`: a whole run of dashes is one `_`
        else:
            out.append("_")
        previous = char
    return "".join(out)

