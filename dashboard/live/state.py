"""A case's folded state, and what it contributes to the boards' figures.

The state is a join-semilattice, so folding events is idempotent and order-independent:
- ``h``: the set of observed steps ``[t, status, event_id, satisfaction]`` (a union of sets),
- ``v`` and ``cur``: the fields of the newest version (the maximum of ``(occurred, rank, id)``),
- ``rep``: the earliest reported time seen, ``links``/``dup``: other systems' reports of the same
  incident (a union, and the minimum of the earlier ones).

Every figure on a board is a sum over cases of :func:`derive` of their state. A worker applies an
event by folding it into the state and adding ``derive(new) - derive(old)`` to the counters, in
one transaction; re-applying an event changes nothing, and any interleaving of workers ends in
the state a from-scratch replay gives.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from dashboard.contract.event import BEIJING
from dashboard.live.sla import CaseFacts, Policies, SlaClock

STATUS_RANK: dict[str, int] = {s: i for i, s in enumerate((
    "reported", "accepted", "dispatched", "in_progress", "resolved", "closed", "rated", "reopened", "cancelled"))}
DONE = frozenset({"resolved", "closed", "rated"})  # 办结: the department has finished handling it
SATISFIED = frozenset({"满意", "基本满意"})
SIGN_STAGES = frozenset({"sign", "accept", "reply"})  # the department's first response (签收/受理/答复)
CLOSE_STAGES = frozenset({"close", "closed", "handle"})  # handled to completion (办结)
ESCALATE_REDO = 3  # work orders sent back this many times are escalated

# dimensions of the counters: the places from the city down to the grid, the source systems and
# categories, and per district its breakdowns by source ("440781/12345") and by category
# ("440781/rescue"); every dimension has hourly and daily buckets (every window of every scope)
PLACE_DIMS = ("all", "district", "town", "village", "grid")
DIMS = (*PLACE_DIMS, "source", "category", "department", "dsrc", "dcat")
HOUR_DIMS = (*PLACE_DIMS, "source", "category", "dsrc", "dcat")
CLOCK_DIMS = (*PLACE_DIMS, "source", "category", "dsrc", "dcat")
LIST_DIMS = PLACE_DIMS  # a place's open cases, newest first (its case list)
# thousands of values each: one small hash per place and bucket (``agg:d:20261207:grid:CODE`` metric -> n),
# so a place's windows read its own few hashes; the other dimensions share a hash per bucket
KEYED_DIMS = frozenset({"town", "village", "grid"})
HOUR_KEEP_S = 50 * 3600  # hourly buckets: today and yesterday, for the trend and the 24 h window
DAY_KEEP_D = 35  # daily buckets: the 30-day window and a margin

# Reports of one incident through different systems: which categories can describe the same thing.
MERGE_GROUPS: dict[str, str] = {
    **dict.fromkeys(("police_criminal", "police_public_order", "public_order", "dispute"), "order"),
    **dict.fromkeys(("police_assist", "rescue", "flood_drought"), "rescue"),
    **dict.fromkeys(("fire", "forest_fire"), "fire"),
    **dict.fromkeys(("medical", "health", "epidemic"), "medical"),
    **dict.fromkeys(("traffic_accident", "traffic_safety"), "traffic"),
    **dict.fromkeys(("work_safety",), "safety"),
    **dict.fromkeys(("environment",), "environment"),
    **dict.fromkeys(("law_enforcement", "illegal_construction"), "city"),
}
EARTH_R = 6372797.560856  # metres, the radius Redis GEO uses


@dataclass
class Contrib:
    """What one case adds to the shared figures."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (key, field) -> n
    clocks: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # (stage, dim|value) -> due, warn
    lists: dict[str, float] = field(default_factory=dict)  # dim|value -> reported time, while the case is open
    marker: dict[str, Any] | None = None


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def ts(iso: str | None) -> float | None:
    return None if iso is None else epoch(iso)


def fold(state: dict[str, Any] | None, ev: Mapping[str, Any]) -> dict[str, Any]:
    """The state after one more event (a new dict; ``state`` is not modified)."""
    t = ts(ev["occurred_at"])
    assert t is not None
    rep = ts(ev.get("reported_at")) or t
    attrs = ev.get("attrs") or {}
    step = [t, ev["status"], ev["event_id"], attrs.get("satisfaction") if ev["status"] == "rated" else None]
    if state is None:
        state = {"id": ev["case_id"], "src": ev["source"], "h": [], "v": None, "cur": {}, "rep": rep,
                 "links": [], "dup": None}
    new = dict(state)
    if all(s[2] != step[2] for s in state["h"]):
        new["h"] = sorted([*state["h"], step], key=_step_key)
    new["rep"] = min(state["rep"], rep)
    version = [t, STATUS_RANK.get(ev["status"], 0), ev["event_id"]]
    if state["v"] is None or version > state["v"]:
        new["v"] = version
        new["cur"] = _current(ev, attrs)
    return new


def _step_key(s: list[Any]) -> tuple[float, int, str]:
    return (s[0], STATUS_RANK.get(s[1], 0), s[2])


def _current(ev: Mapping[str, Any], attrs: Mapping[str, Any]) -> dict[str, Any]:
    loc = ev.get("location") or {}
    return {
        "status": ev["status"], "kind": ev["kind"], "category": ev["category"], "priority": ev["priority"],
        "adcode": loc.get("adcode"), "town": loc.get("town"), "village": loc.get("village"), "grid": loc.get("grid"),
        "lat": loc.get("lat"), "lon": loc.get("lon"), "department": ev.get("department"),
        "summary": ev.get("summary") or "", "service_code": attrs.get("service_code"),
        "service_name": attrs.get("service_name"),
    }


def link(a: dict[str, Any], b: dict[str, Any], window_s: float, distance_m: float) -> bool:
    """Whether two cases from different systems are reports of one incident."""
    if a["src"] == b["src"] or abs(a["rep"] - b["rep"]) > window_s:
        return False
    ca, cb = a["cur"], b["cur"]
    group = MERGE_GROUPS.get(ca.get("category", ""))
    if group is None or group != MERGE_GROUPS.get(cb.get("category", "")):
        return False
    if None in (ca.get("lat"), ca.get("lon"), cb.get("lat"), cb.get("lon")):
        return False
    return distance(ca["lat"], ca["lon"], cb["lat"], cb["lon"]) <= distance_m


def linkable(state: Mapping[str, Any]) -> bool:
    """Whether a case can be linked at all: it has a position and a category some group holds."""
    cur = state["cur"]
    return cur.get("lat") is not None and cur.get("lon") is not None and cur.get("category") in MERGE_GROUPS


def cell_size(distance_m: float) -> float:
    """Degrees per linking cell: at least twice the merge distance, so neighbouring cells cover it."""
    return max(0.01, 2 * distance_m / 100_000)


def cell_of(lat: float, lon: float, size: float) -> tuple[int, int]:
    return math.floor(lat / size), math.floor(lon / size)


def distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle metres, as Redis computes them."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_R * math.asin(math.sqrt(a))


def join_links(earlier: dict[str, Any], later: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides list each other; the later report points at its earliest linked report."""
    e, la = dict(earlier), dict(later)
    e["links"] = sorted({*earlier["links"], later["id"]})
    la["links"] = sorted({*later["links"], earlier["id"]})
    if la["dup"] is None or order_key_of(earlier) < tuple(la["dup"]):
        la["dup"] = list(order_key_of(earlier))
    return e, la


def order_key_of(state: Mapping[str, Any]) -> tuple[float, str]:
    return (state["rep"], state["id"])


# --- what a case contributes ---------------------------------------------------------------

@lru_cache(maxsize=4096)
def hour_bucket(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, BEIJING).strftime("%Y%m%d%H")


@lru_cache(maxsize=4096)
def day_bucket(day: int) -> str:
    return datetime.fromtimestamp(day * 86400 - 8 * 3600, BEIJING).strftime("%Y%m%d")


def beijing_day(t: float) -> int:
    """Days since the epoch in Beijing time (the day buckets' index)."""
    return int((t + 8 * 3600) // 86400)


@dataclass(frozen=True, slots=True)
class Horizon:
    """Buckets older than this are outside every window: nothing is counted into them."""

    hour: int  # oldest hour index kept
    day: int  # oldest Beijing day index kept

    @classmethod
    def at(cls, now: float) -> Horizon:
        return cls(hour=int((now - HOUR_KEEP_S) // 3600), day=beijing_day(now) - DAY_KEEP_D)


def dim_values(state: Mapping[str, Any]) -> list[tuple[str, str]]:
    cur = state["cur"]
    adcode, src, cat = cur.get("adcode"), state["src"], cur.get("category")
    pairs = [("all", "*"), ("district", adcode), ("town", cur.get("town")), ("village", cur.get("village")),
             ("grid", cur.get("grid")), ("source", src), ("category", cat), ("department", cur.get("department"))]
    if adcode:
        pairs.append(("dsrc", f"{adcode}/{src}"))
        if cat:
            pairs.append(("dcat", f"{adcode}/{cat}"))
    return [(d, v) for d, v in pairs if v]


class Deriver:
    """derive(): a case's contributions. Holds the policies and key builder."""

    def __init__(self, policies: Policies, keys: Any) -> None:
        self.policies = policies
        self.keys = keys

    def clocks(self, state: Mapping[str, Any]) -> list[SlaClock]:
        cur = state["cur"]
        facts = CaseFacts(source=state["src"], category=cur.get("category", "other"),
                          priority=cur.get("priority", 3), adcode=cur.get("adcode"),
                          service_code=cur.get("service_code"), service_name=cur.get("service_name"))
        return self.policies.clocks(facts, [(s[0], s[1]) for s in state["h"]])

    def derive(self, state: Mapping[str, Any] | None, horizon: Horizon) -> Contrib:
        out = Contrib()
        if state is None or state["cur"].get("kind", "case") != "case":
            return out
        dims = dim_values(state)
        status = state["cur"]["status"]
        add = _Adder(out.counts, self.keys, dims, horizon)
        add.at(state["rep"], "recv")
        if status in DONE:
            add.at(state["rep"], "done_c")
            add.at(_done_time(state["h"]), "done")
        elif status == "cancelled":
            add.at(state["rep"], "cancel_c")
        else:
            self._open(state, dims, out)
        for step in state["h"]:
            if step[1] == "reopened":
                add.at(step[0], "redo")
        rated = [s for s in state["h"] if s[1] == "rated" and s[3]]
        if rated:
            add.at(rated[-1][0], "rated")
            if rated[-1][3] in SATISFIED:
                add.at(rated[-1][0], "satisfied")
        clocks = self.clocks(state)
        for clock in clocks:
            self._clock(clock, state, dims, add, out)
        out.marker = self.marker(state, clocks)
        return out

    def _open(self, state: Mapping[str, Any], dims: list[tuple[str, str]], out: Contrib) -> None:
        cur = state["cur"]
        metrics = ["open"]
        if cur.get("priority") == 1:
            metrics.append("open_p1")
        if sum(1 for s in state["h"] if s[1] == "reopened") >= ESCALATE_REDO:
            metrics.append("esc")
        if state["dup"] is None:
            metrics.append("inc")
        for dim, value in dims:
            key = self.keys.now(dim)
            for m in metrics:
                out.counts[(key, f"{value}|{m}")] += 1
            if dim in LIST_DIMS:
                out.lists[f"{dim}|{value}"] = state["rep"]

    def _clock(self, clock: SlaClock, state: Mapping[str, Any], dims: list[tuple[str, str]],
               add: _Adder, out: Contrib) -> None:
        stage = f"{clock.policy}.{clock.stage}"
        if clock.stopped is not None:
            add.at(clock.stopped, f"stop:{stage}")
            if clock.stopped <= clock.deadline:
                add.at(clock.stopped, f"ot:{stage}")
            return
        if state["cur"]["status"] in DONE or state["cur"]["status"] == "cancelled":
            return  # a finished case has no running clocks even if a stage was skipped upstream
        for dim, value in dims:
            if dim in CLOCK_DIMS:
                out.clocks[(stage, f"{dim}|{value}")] = (clock.deadline, clock.yellow_at)

    def marker(self, state: Mapping[str, Any], clocks: Iterable[SlaClock]) -> dict[str, Any] | None:
        cur = state["cur"]
        if cur.get("lat") is None or cur["status"] in DONE or cur["status"] == "cancelled":
            return None
        running = [c for c in clocks if c.stopped is None]
        first = min(running, key=lambda c: c.deadline, default=None)
        srcs = sorted({state["src"], *(c.split(":", 1)[0] for c in state["links"])})
        return {
            "id": state["id"], "src": state["src"], "cat": cur["category"], "p": cur["priority"],
            "st": cur["status"], "lat": cur["lat"], "lon": cur["lon"], "d": cur.get("adcode"),
            "sum": cur["summary"][:120], "t": state["rep"], "up": state["v"][0],
            "due": first.deadline if first else None, "warn": first.yellow_at if first else None,
            "stage": f"{first.policy}.{first.stage}" if first else None,
            "dup": state["dup"][1] if state["dup"] else None, "srcs": srcs,
        }


def _done_time(h: list[list[Any]]) -> float:
    """When the case was (last) handled to completion: the first done step after the last reopen."""
    t_done = None
    for s in h:
        if s[1] == "reopened":
            t_done = None
        elif s[1] in DONE and t_done is None:
            t_done = s[0]
    return t_done if t_done is not None else h[-1][0]


class _Adder:
    """Counts a metric at a moment into the hour and day buckets of every dimension."""

    def __init__(self, counts: Counter[tuple[str, str]], keys: Any, dims: list[tuple[str, str]],
                 horizon: Horizon) -> None:
        self.counts, self.keys, self.dims, self.horizon = counts, keys, dims, horizon

    def at(self, t: float, metric: str) -> None:
        hour = int(t // 3600)
        day = beijing_day(t)
        keys, counts = self.keys, self.counts
        if hour >= self.horizon.hour:
            hb = hour_bucket(hour)
            for dim, value in self.dims:
                if dim in HOUR_DIMS:
                    counts[agg_field(keys, "h", hb, dim, value, metric)] += 1
        if day >= self.horizon.day:
            db = day_bucket(day)
            for dim, value in self.dims:
                counts[agg_field(keys, "d", db, dim, value, metric)] += 1


def agg_field(keys: Any, gran: str, bucket: str, dim: str, value: str, metric: str) -> tuple[str, str]:
    """(key, field) a count of ``metric`` for ``value`` of ``dim`` goes to in one bucket."""
    if dim in KEYED_DIMS:
        return keys.agg(gran, bucket, dim, value), metric
    return keys.agg(gran, bucket, dim), f"{value}|{metric}"


def bucket_of(key: str) -> tuple[str, datetime] | None:
    """(granularity "h" or "d", start in Beijing time) of a bucket key ``…:agg:GRAN:BUCKET:DIM[:VALUE]``."""
    _, found, tail = key.partition(":agg:")
    parts = tail.split(":", 2)
    if not found or len(parts) < 3 or parts[0] not in ("h", "d"):
        return None
    gran, bucket, _dim = parts
    return gran, datetime.strptime(bucket, "%Y%m%d%H" if gran == "h" else "%Y%m%d").replace(tzinfo=BEIJING)


def bucket_expiry(key: str) -> int | None:
    """Epoch seconds at which a bucket key may go (it has left every window)."""
    found = bucket_of(key)
    if found is None:
        return None
    gran, start = found
    keep = timedelta(seconds=HOUR_KEEP_S + 7200) if gran == "h" else timedelta(days=DAY_KEEP_D + 2)
    return int((start + keep).timestamp())


def in_horizon(key: str, horizon: Horizon) -> bool:
    """Whether a bucket key is one that counts are still written into."""
    found = bucket_of(key)
    if found is None:
        return False
    gran, start = found
    t = start.timestamp()
    return int(t // 3600) >= horizon.hour if gran == "h" else beijing_day(t) >= horizon.day
