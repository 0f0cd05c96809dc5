"""`pingan rebuild`: recompute the live state from the retained streams and compare.

The replay folds every retained event into case states in memory, links reports of one incident,
derives every case's contributions with the same code the workers use, and compares the result
with what the workers keep in Redis: case states, counters, SLA clocks, map markers and the
emergency picture (acknowledgements are people's, not the streams', and are left alone). With
``apply`` it replaces the live state with the recomputed one (after a policy change; stop the
live workers first). Run the comparison while the workers are idle for an exact answer, and on
the workers' clock (the same ``clock_origin`` and ``clock_speed`` settings): which buckets are
still inside a window depends on "now".
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis
from pydantic import BaseModel

from dashboard.contract.clock import Clock
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.live import emergency_state as emergency
from dashboard.live.publish import LiveContext, Round
from dashboard.live.sla import Policies
from dashboard.live.state import (
    Deriver,
    Horizon,
    cell_of,
    cell_size,
    fold,
    in_horizon,
    join_links,
    link,
    linkable,
    order_key_of,
)
from dashboard.live.store import LiveStore, Ops, place_links
from dashboard.live.wall_board import WallBuilder

READ_CHUNK = 10_000
EXAMPLES = 10


@dataclass
class LiveState:
    """The live state as a from-scratch replay computes it."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # key -> field -> n
    clocks: dict[str, dict[str, float]] = field(default_factory=dict)  # due/warn/list key -> member -> score
    places: dict[str, str] = field(default_factory=dict)  # village or grid -> the place it lies in
    markers: dict[str, dict[str, Any]] = field(default_factory=dict)
    emergency: dict[str, dict[str, bytes]] = field(default_factory=dict)  # key -> field -> stored value
    events: int = 0


def replay(r: redis.Redis, keys: Keys, feeds: Iterable[str], settings: Settings, policies: Policies,
           now: float | None = None, into: Keys | None = None) -> LiveState:
    """The live state a replay of ``keys``' streams computes, keyed by ``into`` (default ``keys``)."""
    now = Clock.from_settings(settings).now() if now is None else now
    streams, keys = keys, into or keys
    model = LiveState()
    others: list[dict[str, Any]] = []
    for code in feeds:
        for ev in _events(r, streams.stream(code)):
            model.events += 1
            if ev.get("kind") == "case":
                model.states[ev["case_id"]] = fold(model.states.get(ev["case_id"]), ev)
            if ev.get("location", {}).get("grid") or ev.get("kind") != "case":
                others.append(ev)  # the emergency picture: non-case events, and the grids cases name
    model.emergency = emergency.replay(others, keys, now)
    _link_all(model.states, settings)
    deriver = Deriver(policies, keys)
    horizon = Horizon.at(now)
    counts: Counter[tuple[str, str]] = Counter()
    clocks: dict[str, dict[str, float]] = defaultdict(dict)
    for cid, state in model.states.items():
        c = deriver.derive(state, horizon)
        counts.update(c.counts)
        for (stage, dv), (due, warn) in c.clocks.items():
            dim, value = dv.split("|", 1)
            clocks[keys.due(stage, dim, value)][cid] = due
            clocks[keys.warn(stage, dim, value)][cid] = warn
        for dv, rep in c.lists.items():
            clocks[keys.open_cases(*dv.split("|", 1))][cid] = rep
        model.places.update(place_links(state))
        if c.marker is not None:
            model.markers[cid] = c.marker
    nested: dict[str, dict[str, int]] = defaultdict(dict)
    for (key, fld), n in counts.items():
        if n:
            nested[key][fld] = n
    model.counts, model.clocks = dict(nested), dict(clocks)
    return model


def _events(r: redis.Redis, stream: str) -> Iterable[dict[str, Any]]:
    start = "-"
    while True:
        items: Any = r.xrange(stream, start, "+", count=READ_CHUNK)
        if not items:
            return
        for _, fields in items:
            try:
                ev = orjson.loads(fields[b"e"])
            except (KeyError, orjson.JSONDecodeError):
                continue  # the live workers dead-letter these too
            if isinstance(ev, dict) and "case_id" in ev:
                yield ev
        last = items[-1][0].decode()
        start = "(" + last


def _link_all(states: dict[str, dict[str, Any]], settings: Settings) -> None:
    """The same pairwise rule the workers apply when the second report of a pair arrives."""
    size = cell_size(settings.merge_distance_m)
    cells: dict[tuple[int, int], list[str]] = defaultdict(list)
    for cid in sorted(states, key=lambda c: order_key_of(states[c])):
        cur = states[cid]["cur"]
        if not linkable(states[cid]):
            continue
        i, j = cell_of(cur["lat"], cur["lon"], size)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for other in cells.get((i + di, j + dj), ()):
                    a, b = states[other], states[cid]  # other is earlier in (reported, id) order
                    if link(a, b, settings.merge_window_s, settings.merge_distance_m):
                        states[other], states[cid] = join_links(a, b)
        cells[(i, j)].append(cid)


# --- what the workers keep -----------------------------------------------------------------------

def read_live(r: redis.Redis, keys: Keys, now: float) -> LiveState:
    horizon = Horizon.at(now)
    model = LiveState()
    for key in _scan(r, f"{keys.live}:case:*"):
        raw = r.get(key)
        if raw is not None:
            state = orjson.loads(raw)
            model.states[state["id"]] = state
    for key in [*_scan(r, f"{keys.live}:now:*"), *_scan(r, f"{keys.live}:agg:*")]:
        if ":agg:" in key and not in_horizon(key, horizon):
            continue
        fields: Any = r.hgetall(key)
        h = {k.decode(): int(v) for k, v in fields.items() if int(v) != 0}
        if h:
            model.counts[key] = h
    for key in [*_scan(r, f"{keys.live}:due:*"), *_scan(r, f"{keys.live}:warn:*"), *_scan(r, f"{keys.live}:list:*")]:
        members: Any = r.zrange(key, 0, -1, withscores=True)
        z = {m.decode(): float(s) for m, s in members}
        if z:
            model.clocks[key] = z
    places: Any = r.hgetall(keys.places)
    model.places = {k.decode(): v.decode() for k, v in places.items()}
    markers: Any = r.hgetall(keys.markers)
    model.markers = {k.decode(): orjson.loads(v) for k, v in markers.items()}
    model.emergency = emergency.read_raw(r, keys)
    return model


def _scan(r: redis.Redis, pattern: str) -> list[str]:
    return sorted(k.decode() for k in r.scan_iter(match=pattern, count=5000))


# --- comparing ------------------------------------------------------------------------------------

def compare(expected: LiveState, actual: LiveState) -> dict[str, Any]:
    """Differences between a replay and the workers' state, by kind, with a few examples each."""
    report: dict[str, Any] = {}
    report["cases"] = _diff_maps(expected.states, actual.states)
    report["counters"] = _diff_maps(_flat(expected.counts), _flat(actual.counts))
    report["clocks"] = _diff_maps(_flat(expected.clocks), _flat(actual.clocks))
    report["markers"] = _diff_maps(expected.markers, actual.markers)
    # a place stays known after its cases have left the streams: only missing or moved ones differ
    report["places"] = _diff_maps(expected.places, {k: v for k, v in actual.places.items() if k in expected.places})
    report["picture"] = _diff_maps(_flat(expected.emergency), _flat(actual.emergency))
    return report


def _flat(nested: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {f"{k} {f}": v for k, h in nested.items() for f, v in h.items()}


def _diff_maps(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    missing = sorted(a.keys() - b.keys())
    extra = sorted(b.keys() - a.keys())
    different = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
    return {
        "missing": len(missing), "extra": len(extra), "different": len(different),
        "examples": [{"key": k, "expected": a.get(k), "actual": b.get(k)}
                     for k in (missing + extra + different)[:EXAMPLES]],
    }


def differences(report: Mapping[str, Any]) -> int:
    return sum(v["missing"] + v["extra"] + v["different"] for v in report.values())


def rebuild(r: redis.Redis, keys: Keys, feeds: Iterable[str], settings: Settings, policies: Policies,
            apply: bool = False, now: float | None = None) -> dict[str, Any]:
    now = Clock.from_settings(settings).now() if now is None else now
    feeds = list(feeds)
    expected = replay(r, keys, feeds, settings, policies, now)
    actual = read_live(r, keys, now)
    report = compare(expected, actual)
    out = {"events": expected.events, "cases": len(expected.states), "live_cases": len(actual.states),
           "differences": differences(report), "report": report, "applied": False}
    if apply:
        write_model(r, keys, expected, settings, policies)
        out["applied"] = True
    return out


# --- one scope's figures --------------------------------------------------------------------------

FIGURES = frozenset({"cases", "kpis", "sla", "area_level", "areas", "by_source", "by_category", "trend"})


def figures(snapshot: BaseModel) -> dict[str, Any]:
    """What a screen shows of a scope that the counters make (not the header, the charts or the ticker)."""
    return snapshot.model_dump(mode="json", include=set(FIGURES))


@contextmanager
def scratch(ctx: LiveContext, now: float) -> Iterator[Keys]:
    """A replay of the streams written under a key prefix of its own (removed afterwards), for the same
    builders to read it as they read the workers'."""
    r, keys = ctx.r, ctx.keys
    tmp = Keys(f"{keys.prefix}-rebuild-{uuid.uuid4().hex[:8]}", keys.city)
    try:
        model = replay(r, keys, ctx.feeds, ctx.settings, ctx.policies, now, into=tmp)
        write_model(r, tmp, model, ctx.settings, ctx.policies)
        yield tmp
    finally:
        for k in r.scan_iter(match=f"{tmp.prefix}:*", count=5000):
            r.delete(k)


def scope_figures(ctx: LiveContext, codes: Iterable[str], now: float | None = None) -> dict[str, dict[str, Any]]:
    """For each scope code: its figures as the workers keep them (``live``) and as a replay of the
    streams computes them (``rebuilt``), and whether they are ``equal``; an unknown code: level None."""
    now = ctx.clock.now() if now is None else now
    out: dict[str, dict[str, Any]] = {}
    with scratch(ctx, now) as tmp:
        rebuilt_ctx = LiveContext(ctx.r, tmp, ctx.settings, ctx.policies, ctx.clock, ctx.feeds, ctx.registry)
        live, rebuilt = WallBuilder(ctx), WallBuilder(rebuilt_ctx)
        rnd, rnd_rebuilt = Round(ctx, now), Round(rebuilt_ctx, now)
        for code in codes:
            scope = live.places.scope(code) or rebuilt.places.scope(code)
            if scope is None:
                out[code] = {"scope": code, "level": None, "live": None, "rebuilt": None, "equal": False}
                continue
            a, b = figures(live.build_one(rnd, scope)), figures(rebuilt.build_one(rnd_rebuilt, scope))
            out[code] = {"scope": code, "level": scope.level, "live": a, "rebuilt": b, "equal": a == b}
    return out


def write_model(r: redis.Redis, keys: Keys, model: LiveState, settings: Settings, policies: Policies) -> None:
    """Replace the live state with ``model`` (snapshots, the consumer groups and the ticker stay)."""
    patterns = ["case:*", "now:*", "agg:*", "due:*", "warn:*", "list:*", "cell:*", "ondemand:*"]
    doomed = [k for p in patterns for k in _scan(r, f"{keys.live}:{p}")]
    doomed += [keys.markers]
    for i in range(0, len(doomed), 1000):
        r.delete(*doomed[i:i + 1000])
    store = LiveStore(r, keys, settings, policies)
    pipe = r.pipeline(transaction=False)
    for cid, state in model.states.items():
        ops = Ops()
        store.state_op(ops, cid, state)
        store.cell_op(ops, cid, state)
        store.place_ops(ops, state)
        ops.queue(store._apply_ops, pipe)
    for key, h in model.counts.items():
        ops = Ops()
        store.count_ops(ops, (((key, fld), n) for fld, n in h.items()))
        ops.queue(store._apply_ops, pipe)
    for key, z in model.clocks.items():
        pipe.zadd(key, z)
    for cid, m in model.markers.items():
        pipe.hset(keys.markers, cid, orjson.dumps(m))
    for key in [k for k in _scan(r, f"{keys.live}:em:*") if k != keys.em_acks]:
        pipe.delete(key)
    for key, stored in model.emergency.items():
        if key == keys.em_levels:
            pipe.zadd(key, {m: float(v) for m, v in stored.items()})
        else:
            pipe.hset(key, mapping=dict(stored.items()))
    pipe.incr(keys.version)
    pipe.execute()
