"""SLA policies and clocks: where a case becomes a green, yellow or red light (红黄灯).

A policy (``sla.toml``) says which clocks a case of a given source and category runs against:
each stage starts at a lifecycle status, stops at another (or any later one) and has an allowance
in calendar time or in working days of the official Chinese calendar. :meth:`Policies.clocks`
turns a case's facts and observed history into those clocks; it is a pure function, so the
incremental live workers and a from-scratch rebuild derive the same clocks from the same history.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, NoReturn

import chinese_calendar

from dashboard.contract.event import Category

log = logging.getLogger(__name__)

# The lifecycle in order: "stop at X" means X or any status after it here. reopened and cancelled
# are not progress; they come last so that, at equal times, a step is sorted before its reopen.
LIFECYCLE: Final = ("reported", "accepted", "dispatched", "in_progress", "resolved", "closed", "rated")
RANK: Final[Mapping[str, int]] = {s: i for i, s in enumerate((*LIFECYCLE, "reopened", "cancelled"))}
_LAST_PROGRESS: Final = RANK["rated"]
_REOPENED: Final = RANK["reopened"]
_CANCELLED: Final = RANK["cancelled"]

BEIJING_OFFSET_S: Final = 8 * 3600  # working days are Beijing calendar days (UTC+8, no DST)
DAY_S: Final = 86_400
_EPOCH_DAY: Final = date(1970, 1, 1)
_EPOCH_WEEKDAY: Final = 3  # 1970-01-01 was a Thursday (Monday = 0)

WORKING_DAY: Final = "working_day"
_UNIT_S: Final[Mapping[str, int]] = {"second": 1, "minute": 60, "hour": 3600, "day": DAY_S}
_UNIT_ZH: Final[Mapping[str, str]] = {
    "second": "秒", "minute": "分钟", "hour": "小时", "day": "天", WORKING_DAY: "个工作日",
}
_SPAN_RE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+([a-z_]+)\s*$")
_NAME_RE: Final = re.compile(r"^[a-z0-9_]+$")  # policy and stage names end up in metric keys
_CATEGORIES: Final = frozenset(c.value for c in Category)
_MAX_DAYS: Final = 366  # longest allowance a policy may give
SHIPPED: Final = "dashboard/live/sla.toml"

# --- the public values -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What a policy looks at besides the history."""

    source: str  # system code, e.g. "12345", "qy117", "110", "wg"
    category: str  # dashboard.contract.event.Category value
    priority: int  # 1 urgent … 4 low
    adcode: str | None  # district adcode (6 digits): urban or rural targets
    service_code: str | None = None  # Open311 service_code (12345 "JM003" 供水供电)
    service_name: str | None = None


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One deadline a case runs against.

    ``yellow_at`` is ``deadline - yellow_fraction * (deadline - start)`` in wall time, also for
    working-day clocks: a 7-working-day clock started on a Friday turns yellow by the calendar,
    not by working hours left.
    """

    policy: str
    stage: str
    label_zh: str
    label_en: str
    start: float
    deadline: float
    yellow_at: float
    stopped: float | None  # when its stop status was first reached after start; None while running

    @property
    def open(self) -> bool:
        return self.stopped is None

    @property
    def on_time(self) -> bool:
        return self.stopped is not None and self.stopped <= self.deadline

    @property
    def allowance_s(self) -> float:
        return self.deadline - self.start

    def overdue(self, now: float) -> bool:
        """Late whether stopped or not: what an honest on-time rate counts against (DOMAIN.md)."""
        return (self.stopped if self.stopped is not None else now) > self.deadline

    def light(self, now: float) -> str:
        """green, yellow (from ``yellow_at``), red (after the deadline) or done (stopped).

        Stopping exactly at the deadline is on time, so the deadline instant itself is still yellow.
        """
        return "done" if self.stopped is not None else light(self.deadline, self.yellow_at, now)


def light(deadline: float, yellow_at: float, now: float) -> str:
    """A running clock's light at ``now``: green, yellow from ``yellow_at``, red after the deadline."""
    if now > deadline:
        return "red"
    return "yellow" if now >= yellow_at else "green"


class PolicyError(ValueError):
    """The SLA policy file is wrong; the message names the file and the key."""


# --- working days ----------------------------------------------------------------------------


def add_working_days(start: float, n: int) -> float:
    """``n`` working days after ``start`` (epoch seconds), by the official calendar in Beijing time.

    Same time of day on the n-th following working day; a start on a non-working day counts from
    00:00 of the next working day.
    """
    local = start + BEIJING_OFFSET_S
    day = int(local // DAY_S)
    end_day, keep_time = _working_day_after(day, n)
    return end_day * DAY_S + (local - day * DAY_S if keep_time else 0.0) - BEIJING_OFFSET_S


@lru_cache(maxsize=65_536)
def _working_day_after(day: int, n: int) -> tuple[int, bool]:
    """(day number n working days after ``day``, whether the start's time of day is kept)."""
    keep_time = is_working_day(day)
    end = day if keep_time else _next_working_day(day)
    for _ in range(n):
        end = _next_working_day(end)
    return end, keep_time


def _next_working_day(day: int) -> int:
    day += 1
    while not is_working_day(day):
        day += 1
    return day


@lru_cache(maxsize=16_384)
def is_working_day(day: int) -> bool:
    """Whether Beijing day number ``day`` (days since 1970-01-01) is a working day.

    Official holidays and make-up workdays (调休) from ``chinese_calendar``; for dates it does not
    cover, Monday to Friday.
    """
    try:
        day_date = _EPOCH_DAY + timedelta(days=day)
    except OverflowError:  # far outside any calendar (milliseconds passed as seconds?): weekdays will do
        return (day + _EPOCH_WEEKDAY) % 7 < 5
    try:
        return bool(chinese_calendar.is_workday(day_date))
    except NotImplementedError:
        _warn_uncovered(day_date.year)
        return day_date.weekday() < 5


@cache
def _warn_uncovered(year: int) -> None:
    """Once per year and process: the calendar package needs updating when the State Council
    publishes next year's holidays (each November or December)."""
    log.warning("chinese_calendar has no official holidays for %s; counting Monday-Friday as working days", year)


# --- compiled policies -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Span:
    amount: float
    unit: str  # a key of _UNIT_S, or WORKING_DAY
    seconds: float  # 0 for working days

    def deadline(self, start: float) -> float:
        if self.unit == WORKING_DAY:
            return add_working_days(start, int(self.amount))
        return start + self.seconds

    @property
    def text(self) -> str:
        amount = f"{self.amount:g}"
        return f"{amount} {self.unit}{'' if amount == '1' else 's'}"

    @property
    def text_en(self) -> str:
        return self.text.replace("_", " ")

    @property
    def text_zh(self) -> str:
        return f"{self.amount:g} {_UNIT_ZH[self.unit]}"


@dataclass(frozen=True, slots=True)
class _Allowance:
    urban: _Span
    rural: _Span

    def pick(self, adcode: str | None, urban_adcodes: frozenset[str]) -> _Span:
        # an unknown district gets the urban (stricter) target, so a missing code never flatters
        return self.urban if adcode is None or adcode in urban_adcodes else self.rural

    @property
    def text(self) -> str:
        if self.urban == self.rural:
            return self.urban.text
        return f"urban {self.urban.text}, rural {self.rural.text}"

    @property
    def text_en(self) -> str:
        return self.text.replace("_", " ")

    @property
    def text_zh(self) -> str:
        if self.urban == self.rural:
            return self.urban.text_zh
        return f"城区 {self.urban.text_zh}，农村 {self.rural.text_zh}"


@dataclass(frozen=True, slots=True)
class _Rule:
    """An override: every match key given must hold (a list matches any of its values)."""

    when: str
    when_zh: str
    within: _Allowance
    priority: frozenset[int] | None = None
    category: frozenset[str] | None = None
    service_code: frozenset[str] | None = None
    service_name: frozenset[str] | None = None
    service_name_contains: tuple[str, ...] | None = None

    def matches(self, f: CaseFacts) -> bool:
        return ((self.priority is None or f.priority in self.priority)
                and (self.category is None or f.category in self.category)
                and (self.service_code is None or f.service_code in self.service_code)
                and (self.service_name is None or f.service_name in self.service_name)
                and (self.service_name_contains is None or self._name_contains(f.service_name)))

    @property
    def condition(self) -> str:
        """The match keys in words, e.g. ``service_code JM003 and priority 1``."""
        exact = ("priority", "category", "service_code", "service_name")
        parts = [f"{key} {'/'.join(sorted(str(v) for v in values))}" for key in exact
                 if (values := getattr(self, key)) is not None]
        if self.service_name_contains is not None:
            parts.append(f"service_name contains {'/'.join(self.service_name_contains)}")
        return " and ".join(parts)

    def _name_contains(self, name: str | None) -> bool:
        return name is not None and any(s in name for s in self.service_name_contains or ())


@dataclass(frozen=True, slots=True)
class _Stage:
    name: str
    label_zh: str
    label_en: str
    start: int  # rank of the status that starts it
    stop: int  # rank of the first status that stops it
    within: _Allowance
    restart_on_reopen: bool = False
    overrides: tuple[_Rule, ...] = ()

    def allowance(self, f: CaseFacts) -> _Allowance:
        for rule in self.overrides:
            if rule.matches(f):
                return rule.within
        return self.within

    def run(self, steps: Sequence[tuple[float, int]]) -> tuple[float, float | None] | None:
        """(start, stopped) over the sorted steps, or None while its start status is not reached."""
        start = _start_time(steps, self.start)
        if start is None:
            return None
        after = 0
        if self.restart_on_reopen:
            reopen = _last_reopen(steps)
            if reopen is not None:
                start, after = steps[reopen][0], reopen + 1
        stopped = _first_at_or_after(steps, self.stop, after)
        # a stop stamped before the start (clocks of two upstream systems disagree) is a stop at the
        # start: the step was done, so it must never show red
        return start, (None if stopped is None else max(stopped, start))


@dataclass(frozen=True, slots=True)
class _Policy:
    name: str
    name_zh: str
    name_en: str
    sources: frozenset[str]
    categories: frozenset[str] | None
    yellow_fraction: float
    urban_adcodes: frozenset[str]
    stages: tuple[_Stage, ...]

    def applies(self, f: CaseFacts) -> bool:
        return f.source in self.sources and (self.categories is None or f.category in self.categories)

    def clock(self, stage: _Stage, f: CaseFacts, steps: Sequence[tuple[float, int]]) -> SlaClock | None:
        run = stage.run(steps)
        if run is None:
            return None
        start, stopped = run
        deadline = stage.allowance(f).pick(f.adcode, self.urban_adcodes).deadline(start)
        yellow_at = max(start, deadline - self.yellow_fraction * (deadline - start))
        return SlaClock(self.name, stage.name, stage.label_zh, stage.label_en, start, deadline, yellow_at, stopped)


def _start_time(steps: Sequence[tuple[float, int]], rank: int) -> float | None:
    if rank == 0:  # the first report; without one, the earliest thing known about the case
        return next((t for t, r in steps if r == 0), steps[0][0])
    return _first_at_or_after(steps, rank, 0)


def _first_at_or_after(steps: Sequence[tuple[float, int]], rank: int, lo: int) -> float | None:
    for i in range(lo, len(steps)):
        t, r = steps[i]
        if rank <= r <= _LAST_PROGRESS:
            return t
    return None


def _last_reopen(steps: Sequence[tuple[float, int]]) -> int | None:
    for i in range(len(steps) - 1, -1, -1):
        if steps[i][1] == _REOPENED:
            return i
    return None


# --- the policy set --------------------------------------------------------------------------


class Policies:
    """The loaded policy file. Immutable; build once at start and pass down."""

    def __init__(self, policies: Sequence[_Policy]) -> None:
        self._policies = tuple(policies)
        self._by_source: dict[str, tuple[_Policy, ...]] = {}
        for p in self._policies:
            for s in p.sources:
                self._by_source[s] = (*self._by_source.get(s, ()), p)

    @classmethod
    def load(cls, path: Path | None = None) -> Policies:
        """The policies in ``path``; None → the shipped ``sla.toml``. Raises PolicyError."""
        origin = SHIPPED if path is None else str(path)
        try:
            if path is None:
                text = resources.files("dashboard.live").joinpath("sla.toml").read_text("utf-8")
            else:
                text = Path(path).read_text("utf-8")
            raw = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"{origin}: {exc}") from exc
        return cls(_parse(_Node(origin, "", raw)))

    def policy_for(self, facts: CaseFacts) -> str | None:
        """The name of the policy a case runs under: the first in file order that applies."""
        p = self._find(facts)
        return None if p is None else p.name

    def clocks(self, facts: CaseFacts, history: Sequence[tuple[float, str]]) -> list[SlaClock]:
        """The case's clocks, in the policy's stage order; [] for a cancelled case or no policy.

        ``history`` holds (epoch seconds, status) steps in any order, duplicates allowed; unknown
        statuses are ignored. A stage whose start status is not reached yet has no clock.
        """
        steps = sorted([(t, RANK[s]) for t, s in history if s in RANK])
        if not steps or any(r == _CANCELLED for _, r in steps):
            return []
        policy = self._find(facts)
        if policy is None:
            return []
        out = []
        for stage in policy.stages:
            clock = policy.clock(stage, facts, steps)
            if clock is not None:
                out.append(clock)
        return out

    def stages_of(self, source: str) -> list[str]:
        """``policy.stage`` of every stage a case from ``source`` can run (its policies', file order)."""
        return [f"{p.name}.{s.name}" for p in self._by_source.get(source, ()) for s in p.stages]

    def stages(self) -> list[tuple[str, str, str, str]]:
        """(policy, stage, label_zh, label_en) for display, in file order."""
        return [(p.name, s.name, s.label_zh, s.label_en) for p in self._policies for s in p.stages]

    def names(self) -> list[tuple[str, str, str]]:
        """(policy, name_zh, name_en) in file order."""
        return [(p.name, p.name_zh, p.name_en) for p in self._policies]

    def describe(self) -> list[dict[str, Any]]:
        """The rules in words for the UI tooltip, one row per stage and per override, in file order."""
        return [row for p in self._policies for s in p.stages for row in _describe_stage(p, s)]

    def _find(self, facts: CaseFacts) -> _Policy | None:
        for p in self._by_source.get(facts.source, ()):
            if p.applies(facts):
                return p
        return None


def _describe_stage(p: _Policy, s: _Stage) -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "policy": p.name, "policy_zh": p.name_zh, "policy_en": p.name_en, "stage": s.name,
        "label_zh": s.label_zh, "label_en": s.label_en, "start": LIFECYCLE[s.start],
        "stop_at": LIFECYCLE[s.stop], "restart_on_reopen": s.restart_on_reopen,
        "yellow_fraction": p.yellow_fraction,
    }
    # rules that say the same thing in two ways (by service code, by name) are one line to a reader
    groups: dict[tuple[str, str, _Allowance], list[str]] = {}
    for r in s.overrides:
        groups.setdefault((r.when, r.when_zh, r.within), []).append(r.condition)
    rows = [{**base, "when": when, "when_zh": when_zh, "match": " or ".join(conds), "within": within.text,
             "text_zh": f"{p.name_zh} {s.label_zh}（{when_zh}）：{within.text_zh}",
             "text_en": f"{p.name_en} {s.label_en} ({when}): {within.text_en}"}
            for (when, when_zh, within), conds in groups.items()]
    rows.append({**base, "when": None, "when_zh": None, "match": None, "within": s.within.text,
                 "text_zh": f"{p.name_zh} {s.label_zh}{'（其他）' if rows else ''}：{s.within.text_zh}",
                 "text_en": f"{p.name_en} {s.label_en}{' (otherwise)' if rows else ''}: {s.within.text_en}"})
    return rows


# --- reading the file ------------------------------------------------------------------------

_MISSING: Final = object()
_TOP_KEYS: Final = frozenset({"yellow_fraction", "urban_adcodes", "policies"})
_POLICY_KEYS: Final = frozenset({"name_zh", "name_en", "sources", "categories", "yellow_fraction",
                                 "urban_adcodes", "stages"})
_STAGE_KEYS: Final = frozenset({"stage", "label_zh", "label_en", "start", "stop_at", "within",
                                "restart_on_reopen", "override"})
_MATCH_KEYS: Final = ("priority", "category", "service_code", "service_name", "service_name_contains")
_RULE_KEYS: Final = frozenset({"when", "when_zh", "within", *_MATCH_KEYS})


@dataclass(frozen=True, slots=True)
class _Node:
    """A table of the file and its dotted key, so every error can say where it is."""

    origin: str
    key: str
    raw: Mapping[str, Any]

    def at(self, name: str) -> str:
        if not name:
            return self.key
        return f"{self.key}.{name}" if self.key else name

    def fail(self, name: str, msg: str) -> NoReturn:
        raise PolicyError(f"{self.origin}: {self.at(name)}: {msg}")

    def check_keys(self, allowed: frozenset[str]) -> None:
        for k in self.raw:
            if k not in allowed:
                self.fail(k, f"unknown key (expected one of {', '.join(sorted(allowed))})")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        value = self.raw.get(name, default)
        if value is _MISSING:
            self.fail(name, "missing")
        # TOML true/false are ints to isinstance; only a bool key takes them
        wrong_type = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if value is not default and wrong_type:
            self.fail(name, f"expected {_kind_name(kind)}, got {value!r}")
        return value

    def text(self, name: str, default: Any = _MISSING) -> Any:
        value = self.get(name, str, default)
        if value is not default and not value.strip():
            self.fail(name, "must not be empty")
        return value

    def child(self, name: str, raw: Any) -> _Node:
        if not isinstance(raw, Mapping):
            self.fail(name, f"expected a table, got {raw!r}")
        return _Node(self.origin, self.at(name), raw)

    def strings(self, name: str, default: Any = _MISSING) -> Any:
        """A string or a list of strings, as a tuple."""
        value = self.raw.get(name, default)
        if value is _MISSING:
            self.fail(name, "missing")
        if value is default:
            return default
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
            self.fail(name, f"expected a string or a non-empty list of strings, got {value!r}")
        return tuple(items)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"str": "a string", "bool": "true or false", "int": "an integer",
                        "float": "a number", "list": "a list"}.get(k.__name__, k.__name__) for k in kinds)


def _parse(top: _Node) -> list[_Policy]:
    top.check_keys(_TOP_KEYS)
    fraction = _fraction(top, 0.2)
    urban = _adcodes(top, ())
    tables = top.get("policies", dict)
    if not tables:
        top.fail("policies", "no policies defined")
    policies = top.child("policies", tables)
    return [_parse_policy(policies.child(name, raw), name, fraction, urban) for name, raw in tables.items()]


def _fraction(node: _Node, default: float) -> float:
    value = float(node.get("yellow_fraction", (int, float), default))
    if not 0.0 <= value < 1.0:
        node.fail("yellow_fraction", f"must be at least 0 and below 1, got {value}")
    return value


def _adcodes(node: _Node, default: tuple[str, ...]) -> tuple[str, ...]:
    codes: tuple[str, ...] = node.strings("urban_adcodes", default)
    for code in codes:
        if not re.fullmatch(r"\d{6}", code):
            node.fail("urban_adcodes", f"{code!r} is not a 6-digit adcode")
    return codes


def _parse_policy(node: _Node, name: str, fraction: float, urban: tuple[str, ...]) -> _Policy:
    node.check_keys(_POLICY_KEYS)
    if not _NAME_RE.match(name):
        node.fail("", "policy names are lower-case letters, digits and _")
    categories = node.strings("categories", None)
    for c in categories or ():
        if c not in _CATEGORIES:
            node.fail("categories", f"unknown category {c!r}")
    stage_list = node.get("stages", list)
    if not stage_list:
        node.fail("stages", "a policy needs at least one stage")
    stages = tuple(_parse_stage(node.child(f"stages[{i}]", raw)) for i, raw in enumerate(stage_list))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        node.fail("stages", f"stage names repeat: {names}")
    return _Policy(
        name=name, name_zh=node.text("name_zh", name), name_en=node.text("name_en", name),
        sources=frozenset(node.strings("sources")),
        categories=None if categories is None else frozenset(categories),
        yellow_fraction=_fraction(node, fraction), urban_adcodes=frozenset(_adcodes(node, urban)),
        stages=stages,
    )


def _parse_stage(node: _Node) -> _Stage:
    node.check_keys(_STAGE_KEYS)
    name = node.text("stage")
    if not _NAME_RE.match(name):
        node.fail("stage", "stage names are lower-case letters, digits and _")
    rules = node.get("override", list, [])
    return _Stage(
        name=name, label_zh=node.text("label_zh"), label_en=node.text("label_en", name),
        start=_status(node, "start", "reported"), stop=_status(node, "stop_at"),
        within=_allowance(node, "within"), restart_on_reopen=node.get("restart_on_reopen", bool, False),
        overrides=tuple(_parse_rule(node.child(f"override[{i}]", raw)) for i, raw in enumerate(rules)),
    )


def _status(node: _Node, name: str, default: Any = _MISSING) -> int:
    value = node.text(name, default)
    if value not in LIFECYCLE:
        node.fail(name, f"{value!r} is not a lifecycle status ({' < '.join(LIFECYCLE)})")
    return LIFECYCLE.index(value)


def _parse_rule(node: _Node) -> _Rule:
    node.check_keys(_RULE_KEYS)
    if not any(k in node.raw for k in _MATCH_KEYS):
        node.fail("", f"an override needs at least one of {', '.join(_MATCH_KEYS)}")
    priority = node.get("priority", (int, list), None)
    priorities = [priority] if isinstance(priority, int) else priority
    if priorities is not None and not (priorities and all(type(p) is int and 1 <= p <= 4 for p in priorities)):
        node.fail("priority", f"expected priorities 1-4, got {priority!r}")
    category = node.strings("category", None)
    for c in category or ():
        if c not in _CATEGORIES:
            node.fail("category", f"unknown category {c!r}")
    code, names = node.strings("service_code", None), node.strings("service_name", None)
    return _Rule(
        when=node.text("when"), when_zh=node.text("when_zh"), within=_allowance(node, "within"),
        priority=None if priorities is None else frozenset(priorities),
        category=None if category is None else frozenset(category),
        service_code=None if code is None else frozenset(code),
        service_name=None if names is None else frozenset(names),
        service_name_contains=node.strings("service_name_contains", None),
    )


def _allowance(node: _Node, name: str) -> _Allowance:
    value = node.get(name, (str, dict))
    if isinstance(value, str):
        span = parse_span(value, node, name)
        return _Allowance(span, span)
    sub = node.child(name, value)
    sub.check_keys(frozenset({"urban", "rural"}))
    return _Allowance(parse_span(sub.text("urban"), sub, "urban"), parse_span(sub.text("rural"), sub, "rural"))


def parse_span(text: str, node: _Node | None = None, name: str = "within") -> _Span:
    """``"2 hours"``, ``"1 day"``, ``"30 minutes"``, ``"7 working_days"`` (singular or plural)."""
    where = node or _Node("<text>", "", {})
    m = _SPAN_RE.match(text)
    if m is None:
        where.fail(name, f"{text!r} is not 'N unit' (e.g. '2 hours', '7 working_days')")
    amount, unit = float(m.group(1)), m.group(2).removesuffix("s")
    if unit != WORKING_DAY and unit not in _UNIT_S:
        where.fail(name, f"unknown unit {m.group(2)!r} in {text!r} (seconds, minutes, hours, days, working_days)")
    if amount <= 0:
        where.fail(name, f"{text!r} must be more than zero")
    if unit == WORKING_DAY and not amount.is_integer():
        where.fail(name, f"{text!r}: working days are whole days")
    # a typo like "700 working_days" would stall every worker on its first case; no rule runs a year
    if (amount if unit == WORKING_DAY else amount * _UNIT_S[unit] / DAY_S) > _MAX_DAYS:
        where.fail(name, f"{text!r} is longer than {_MAX_DAYS} days")
    return _Span(amount, unit, 0.0 if unit == WORKING_DAY else amount * _UNIT_S[unit])
