"""Applying events to the live state in Redis: fold, derive, write the difference — atomically.

One batch is one optimistic transaction (WATCH the cases and map cells it reads, MULTI, EXEC):
if another worker changed any of them in between, the batch is recomputed from what is there
now. Counters only ever receive ``derive(new) - derive(old)``, so re-applying an event, a crash
before EXEC or a retry never counts anything twice.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from dashboard.live.sla import Policies
from dashboard.live.state import (
    DONE,
    MERGE_GROUPS,
    Contrib,
    Deriver,
    Horizon,
    bucket_expiry,
    fold,
    join_links,
    link,
    order_key_of,
)
from feeds.keys import Keys
from feeds.settings import Settings

log = logging.getLogger(__name__)

MAX_RETRIES = 50
TICKER_KEEP = 100
TICKER_PRIORITY = 2  # events of priority 1 (urgent) and 2 go on the ticker
CELL_KEEP_S = 7 * 86400  # how long a report stays a linking candidate (beyond the merge window)
DONE_CASE_TTL_EXTRA_S = 86400

# Non-case events (warnings, track fixes, readings, mobilisation reports): the newest version of
# each wins, compared by a sortable version string stored in front of the JSON.
_SET_IF_NEWER = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local v = string.sub(cur, 1, string.find(cur, '\\n', 1, true) - 1)
  if v >= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\\n' .. ARGV[3])
return 1
"""


@dataclass
class ApplyResult:
    events: int = 0
    cases_changed: int = 0
    retries: int = 0


Change = tuple[dict[str, Any] | None, dict[str, Any]]


class LiveStore:
    def __init__(self, r: redis.Redis, keys: Keys, settings: Settings, policies: Policies) -> None:
        self.r = r
        self.keys = keys
        self.settings = settings
        self.deriver = Deriver(policies, keys)
        self.window = settings.merge_window_s
        self.distance = settings.merge_distance_m
        # a cell is at least twice the merge distance wide, so the 3x3 block around a report covers it
        self.cell_deg = max(0.01, 2 * settings.merge_distance_m / 100_000)
        self.done_ttl_s = int(settings.stream_retention_h * 3600 + DONE_CASE_TTL_EXTRA_S)
        self._set_if_newer = r.register_script(_SET_IF_NEWER)

    # --- entry point ---------------------------------------------------------------------------

    def apply(self, events: Sequence[Mapping[str, Any]], now: float | None = None) -> ApplyResult:
        """Apply a batch of normalised events (dicts as read from the streams)."""
        now = time.time() if now is None else now
        by_case: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        others: list[Mapping[str, Any]] = []
        for ev in events:
            (by_case[ev["case_id"]] if ev["kind"] == "case" else others).append(ev)
        result = ApplyResult(events=len(events))
        if by_case:
            result.cases_changed, result.retries = self._transact(by_case, Horizon.at(now))
        self._side_effects(events, others)
        return result

    # --- the transaction -----------------------------------------------------------------------

    def _transact(self, by_case: Mapping[str, list[Mapping[str, Any]]], horizon: Horizon) -> tuple[int, int]:
        case_keys = [self.keys.case(c) for c in by_case]
        with self.r.pipeline() as pipe:
            for attempt in range(MAX_RETRIES):
                try:
                    pipe.watch(*case_keys)
                    olds = dict(zip(by_case, (_load(v) for v in pipe.mget(case_keys)), strict=True))
                    changes: dict[str, Change] = {}
                    for cid, evs in by_case.items():
                        state = olds[cid]
                        for ev in evs:
                            state = fold(state, ev)
                        if state != olds[cid]:
                            changes[cid] = (olds[cid], state)
                    created = [c for c in changes if olds[c] is None]
                    self._link(pipe, created, changes)
                    pipe.multi()
                    self._queue_writes(pipe, changes, created, horizon)
                    pipe.execute()
                    return len(changes), attempt
                except redis.WatchError:
                    continue
        raise RuntimeError(f"live state: batch still conflicting after {MAX_RETRIES} attempts")

    # --- linking reports of one incident --------------------------------------------------------

    def cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg)

    def _linkable(self, state: Mapping[str, Any]) -> bool:
        cur = state["cur"]
        return cur.get("lat") is not None and cur.get("lon") is not None and cur.get("category") in MERGE_GROUPS

    def _link(self, pipe: Any, created: list[str], changes: dict[str, Change]) -> None:
        """Link each newly seen case with reports of the same incident from other systems."""
        new = [changes[c][1] for c in created if self._linkable(changes[c][1])]
        if not new:
            return
        cells = sorted({self.keys.cell(i + di, j + dj) for s in new
                        for i, j in [self.cell_of(s["cur"]["lat"], s["cur"]["lon"])]
                        for di in (-1, 0, 1) for dj in (-1, 0, 1)})
        pipe.watch(*cells)  # a report added nearby by another worker meanwhile makes us retry
        reader = self.r.pipeline(transaction=False)
        lo = min(s["rep"] for s in new) - self.window
        hi = max(s["rep"] for s in new) + self.window
        for cell in cells:
            reader.zrangebyscore(cell, lo, hi)
        found = {m.decode() for members in reader.execute() for m in members} - set(changes)
        if found:
            ids = sorted(found)
            pipe.watch(*(self.keys.case(c) for c in ids))
            for cid, raw in zip(ids, pipe.mget([self.keys.case(c) for c in ids]), strict=True):
                state = _load(raw)
                if state is not None:
                    changes[cid] = (state, state)
        self._join_pairs(new, changes)

    def _join_pairs(self, new: list[dict[str, Any]], changes: dict[str, Change]) -> None:
        pool = [cid for cid, (_, s) in changes.items() if self._linkable(s)]
        fresh = {s["id"] for s in new}
        for a in sorted(fresh, key=lambda c: order_key_of(changes[c][1])):
            for b in pool:
                if b == a or (b in fresh and b < a):
                    continue  # each pair of new reports is looked at once
                sa, sb = changes[a][1], changes[b][1]
                if b in sa["links"] or not link(sa, sb, self.window, self.distance):
                    continue
                early, late = (sa, sb) if order_key_of(sa) < order_key_of(sb) else (sb, sa)
                e2, l2 = join_links(early, late)
                changes[e2["id"]] = (changes[e2["id"]][0], e2)
                changes[l2["id"]] = (changes[l2["id"]][0], l2)

    # --- writing the difference -----------------------------------------------------------------

    def _queue_writes(self, pipe: Any, changes: dict[str, Change], created: list[str], horizon: Horizon) -> None:
        counts: Counter[tuple[str, str]] = Counter()
        clock_names: set[str] = set()
        for cid, (old, new) in changes.items():
            if old == new:
                continue
            co, cn = self.deriver.derive(old, horizon), self.deriver.derive(new, horizon)
            counts.update(cn.counts)
            counts.subtract(co.counts)
            self._queue_clocks(pipe, cid, co, cn, clock_names)
            self._queue_marker(pipe, cid, co, cn)
            self._queue_state(pipe, cid, new)
        for cid in created:
            s = changes[cid][1]
            if self._linkable(s):
                cell = self.keys.cell(*self.cell_of(s["cur"]["lat"], s["cur"]["lon"]))
                pipe.zadd(cell, {cid: s["rep"]})
                pipe.expire(cell, CELL_KEEP_S)
        touched = set()
        for (key, fld), n in counts.items():
            if n:
                pipe.hincrby(key, fld, n)
                touched.add(key)
        for key in touched:
            expiry = bucket_expiry(key) if ":agg:" in key else None
            if expiry is not None:
                pipe.expireat(key, expiry)
        if clock_names:
            pipe.sadd(self.keys.clock_keys, *clock_names)
        pipe.incr(self.keys.version)

    def _queue_clocks(self, pipe: Any, cid: str, co: Contrib, cn: Contrib, names: set[str]) -> None:
        for k in co.clocks.keys() - cn.clocks.keys():
            stage, dv = k
            dim, value = dv.split("|", 1)
            pipe.zrem(self.keys.due(stage, dim, value), cid)
            pipe.zrem(self.keys.warn(stage, dim, value), cid)
        for k, (due, warn) in cn.clocks.items():
            if co.clocks.get(k) == (due, warn):
                continue
            stage, dv = k
            dim, value = dv.split("|", 1)
            pipe.zadd(self.keys.due(stage, dim, value), {cid: due})
            pipe.zadd(self.keys.warn(stage, dim, value), {cid: warn})
            names.add(f"{stage}|{dim}|{value}")

    def _queue_marker(self, pipe: Any, cid: str, co: Contrib, cn: Contrib) -> None:
        if cn.marker is not None:
            if cn.marker != co.marker:
                pipe.hset(self.keys.markers, cid, orjson.dumps(cn.marker))
        elif co.marker is not None:
            pipe.hdel(self.keys.markers, cid)

    def _queue_state(self, pipe: Any, cid: str, state: Mapping[str, Any]) -> None:
        finished = state["cur"].get("status") in DONE or state["cur"].get("status") == "cancelled"
        # open cases never expire: their counters would outlive them; finished ones go after retention
        pipe.set(self.keys.case(cid), orjson.dumps(state), ex=self.done_ttl_s if finished else None)

    # --- outside the transaction: newest times, the ticker, non-case kinds ----------------------

    def _side_effects(self, events: Sequence[Mapping[str, Any]], others: Iterable[Mapping[str, Any]]) -> None:
        pipe = self.r.pipeline(transaction=False)
        newest: dict[str, float] = {}
        for ev in events:
            t = _epoch_ms(ev["occurred_at"])
            newest[ev["source"]] = max(newest.get(ev["source"], 0), t)
            if ev["kind"] == "case" and ev["status"] == "reported" and ev.get("priority", 3) <= TICKER_PRIORITY:
                pipe.zadd(self.keys.ticker, {orjson.dumps(ticker_item(ev)): t})
        if newest:
            pipe.zadd(self.keys.newest, newest, gt=True)
            pipe.zremrangebyrank(self.keys.ticker, 0, -TICKER_KEEP - 1)
        for ev in others:
            version = f"{_epoch_ms(ev['occurred_at']):015.0f}:{ev['event_id']}"
            self._set_if_newer(keys=[self.keys.latest(ev["kind"])],
                               args=[ev["case_id"], version, orjson.dumps(ev)], client=pipe)
        pipe.execute()


def ticker_item(ev: Mapping[str, Any]) -> dict[str, Any]:
    loc = ev.get("location") or {}
    return {"id": ev["event_id"], "case": ev["case_id"], "src": ev["source"], "cat": ev["category"],
            "p": ev["priority"], "t": ev["occurred_at"], "d": loc.get("adcode"),
            "sum": (ev.get("summary") or "")[:120]}


def _epoch_ms(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp() * 1000


def _load(raw: bytes | None) -> dict[str, Any] | None:
    return None if raw is None else orjson.loads(raw)
