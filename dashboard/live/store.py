"""Applying events to the live state in Redis: fold, derive, write the difference — atomically.

One batch is one optimistic transaction (WATCH the cases and map cells it reads, MULTI, EXEC):
if another worker changed any of them in between, the batch is recomputed from what is there
now. Counters only ever receive ``derive(new) - derive(old)``, so re-applying an event, a crash
before EXEC or a retry never counts anything twice.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from dashboard.contract.clock import Clock
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.live.emergency_state import EmergencyStore
from dashboard.live.sla import Policies
from dashboard.live.state import (
    DONE,
    Contrib,
    Deriver,
    Horizon,
    bucket_expiry,
    cell_of,
    cell_size,
    epoch,
    fold,
    join_links,
    link,
    linkable,
    order_key_of,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 50
TICKER_KEEP = 100
TICKER_PRIORITY = 2  # events of priority 1 (urgent) and 2 go on the ticker
CELL_KEEP_S = 7 * 86400  # how long a report stays a linking candidate (beyond the merge window)
DONE_CASE_TTL_EXTRA_S = 86400

# Applies a batch's writes in one call: KEYS are the keys touched, ARGV a list of operations that
# refer to keys by index (so every key is declared, as Redis Cluster wants; all share the city's tag).
_APPLY_OPS = """
local i, n = 1, #ARGV
while i <= n do
  local op, k = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'h' then redis.call('HINCRBY', k, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'z' then redis.call('ZADD', k, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'r' then redis.call('ZREM', k, ARGV[i + 2]); i = i + 3
  elseif op == 's' then redis.call('SET', k, ARGV[i + 2]); i = i + 3
  elseif op == 'S' then redis.call('SET', k, ARGV[i + 2], 'EX', ARGV[i + 3]); i = i + 4
  elseif op == 'H' then redis.call('HSET', k, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'D' then redis.call('HDEL', k, ARGV[i + 2]); i = i + 3
  elseif op == 'e' then redis.call('EXPIREAT', k, ARGV[i + 2]); i = i + 3
  elseif op == 'x' then redis.call('EXPIRE', k, ARGV[i + 2]); i = i + 3
  elseif op == 'a' then redis.call('SADD', k, ARGV[i + 2]); i = i + 3
  elseif op == 'i' then redis.call('INCR', k); i = i + 2
  else return redis.error_reply('unknown op ' .. op) end
end
return 1
"""


class Ops:
    """Writes collected for one :data:`_APPLY_OPS` call."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self.args: list[Any] = []

    def add(self, op: str, key: str, *values: Any) -> None:
        idx = self.keys.get(key)
        if idx is None:
            idx = self.keys[key] = len(self.keys) + 1
        self.args.append(op)
        self.args.append(idx)
        self.args.extend(values)

    def queue(self, script: Any, client: Any) -> None:
        if self.args:
            script(keys=list(self.keys), args=self.args, client=client)


@dataclass
class ApplyResult:
    events: int = 0
    cases_changed: int = 0
    retries: int = 0


Change = tuple[dict[str, Any] | None, dict[str, Any]]


class LiveStore:
    def __init__(self, r: redis.Redis, keys: Keys, settings: Settings, policies: Policies,
                 clock: Clock | None = None) -> None:
        self.r = r
        self.clock = clock or Clock.from_settings(settings)
        self.keys = keys
        self.settings = settings
        self.deriver = Deriver(policies, keys)
        self.window = settings.merge_window_s
        self.distance = settings.merge_distance_m
        self.cell_deg = cell_size(settings.merge_distance_m)
        self.done_ttl_s = int(settings.stream_retention_h * 3600 + DONE_CASE_TTL_EXTRA_S)
        self.emergency = EmergencyStore(r, keys)
        self._apply_ops = r.register_script(_APPLY_OPS)

    # --- entry point ---------------------------------------------------------------------------

    def apply(self, events: Sequence[Mapping[str, Any]], now: float | None = None) -> ApplyResult:
        """Apply a batch of normalised events (dicts as read from the streams); ``now`` (epoch
        seconds, default the clock's) decides which buckets are still inside a window."""
        now = self.clock.now() if now is None else now
        by_case: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for ev in events:
            if ev["kind"] == "case":
                by_case[ev["case_id"]].append(ev)
        result = ApplyResult(events=len(events))
        if by_case:
            result.cases_changed, result.retries = self._transact(by_case, Horizon.at(now))
        self._side_effects(events)
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
                        if state is not None and state != olds[cid]:
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
        return cell_of(lat, lon, self.cell_deg)

    def cells_near(self, lat: float, lon: float) -> set[tuple[int, int]]:
        """The cells a circle of the merge distance around a point touches (1 to 4 of them)."""
        dlat = self.distance / 111_000 * 1.01
        dlon = dlat / max(0.1, math.cos(math.radians(lat)))
        return {self.cell_of(la, lo) for la in (lat - dlat, lat, lat + dlat) for lo in (lon - dlon, lon, lon + dlon)}

    def _link(self, pipe: Any, created: list[str], changes: dict[str, Change]) -> None:
        """Link each newly seen case with reports of the same incident from other systems."""
        new = [changes[c][1] for c in created if linkable(changes[c][1])]
        if not new:
            return
        cells = sorted({self.keys.cell(*c) for s in new for c in self.cells_near(s["cur"]["lat"], s["cur"]["lon"])})
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
        pool = [cid for cid, (_, s) in changes.items() if linkable(s)]
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
        ops = Ops()
        counts: Counter[tuple[str, str]] = Counter()
        for cid, (old, new) in changes.items():
            if old == new:
                continue
            co, cn = self.deriver.derive(old, horizon), self.deriver.derive(new, horizon)
            counts.update(cn.counts)
            counts.subtract(co.counts)
            self._clock_ops(ops, cid, co, cn)
            self._list_ops(ops, cid, co, cn)
            self._marker_ops(ops, cid, co, cn)
            self.place_ops(ops, new, old)
            self.state_op(ops, cid, new)
        for cid in created:
            self.cell_op(ops, cid, changes[cid][1])
        self.count_ops(ops, counts.items())
        ops.add("i", self.keys.version)
        ops.queue(self._apply_ops, pipe)

    def _clock_ops(self, ops: Ops, cid: str, co: Contrib, cn: Contrib) -> None:
        for k in co.clocks.keys() - cn.clocks.keys():
            stage, dv = k
            dim, value = dv.split("|", 1)
            ops.add("r", self.keys.due(stage, dim, value), cid)
            ops.add("r", self.keys.warn(stage, dim, value), cid)
        for k, (due, warn) in cn.clocks.items():
            if co.clocks.get(k) == (due, warn):
                continue
            stage, dv = k
            dim, value = dv.split("|", 1)
            ops.add("z", self.keys.due(stage, dim, value), due, cid)
            ops.add("z", self.keys.warn(stage, dim, value), warn, cid)

    def _list_ops(self, ops: Ops, cid: str, co: Contrib, cn: Contrib) -> None:
        for dv in co.lists.keys() - cn.lists.keys():
            ops.add("r", self.keys.open_cases(*dv.split("|", 1)), cid)
        for dv, rep in cn.lists.items():
            if co.lists.get(dv) != rep:
                ops.add("z", self.keys.open_cases(*dv.split("|", 1)), rep, cid)

    def place_ops(self, ops: Ops, state: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> None:
        """The village a grid lies in and the town a village lies in, as this case names them (once
        per case and whenever its place changes; a place stays known after its cases have gone)."""
        links = place_links(state)
        for kid, where in links.items():
            if old is None or place_links(old).get(kid) != where:
                ops.add("H", self.keys.places, kid, where)
                ops.add("a", self.keys.place_kids(where.split("|", 1)[1]), kid)

    def _marker_ops(self, ops: Ops, cid: str, co: Contrib, cn: Contrib) -> None:
        if cn.marker is not None:
            if cn.marker != co.marker:
                ops.add("H", self.keys.markers, cid, orjson.dumps(cn.marker))
        elif co.marker is not None:
            ops.add("D", self.keys.markers, cid)

    def cell_op(self, ops: Ops, cid: str, state: Mapping[str, Any]) -> None:
        """A new report becomes a linking candidate in its map cell."""
        if linkable(state):
            cell = self.keys.cell(*self.cell_of(state["cur"]["lat"], state["cur"]["lon"]))
            ops.add("z", cell, state["rep"], cid)
            ops.add("x", cell, CELL_KEEP_S)

    def count_ops(self, ops: Ops, counts: Iterable[tuple[tuple[str, str], int]]) -> None:
        """Counter increments; a time bucket expires once it has left every window."""
        touched = set()
        for (key, fld), n in counts:
            if n:
                ops.add("h", key, fld, n)
                touched.add(key)
        for key in touched:
            expiry = bucket_expiry(key) if ":agg:" in key else None
            if expiry is not None:  # Redis expires on real time; the bucket leaves its windows on the clock's
                ops.add("e", key, int(self.clock.real_at(expiry)))

    def state_op(self, ops: Ops, cid: str, state: Mapping[str, Any]) -> None:
        finished = state["cur"].get("status") in DONE or state["cur"].get("status") == "cancelled"
        # open cases never expire: their counters would outlive them; finished ones go after retention
        if finished:
            ops.add("S", self.keys.case(cid), orjson.dumps(state), self.done_ttl_s)
        else:
            ops.add("s", self.keys.case(cid), orjson.dumps(state))

    # --- outside the transaction: newest times, the ticker, the emergency picture ---------------

    def _side_effects(self, events: Sequence[Mapping[str, Any]]) -> None:
        pipe = self.r.pipeline(transaction=False)
        newest: dict[str, float] = {}
        for ev in events:
            t = epoch(ev["occurred_at"]) * 1000
            newest[ev["source"]] = max(newest.get(ev["source"], 0), t)
            if ev["kind"] == "case" and ev["status"] == "reported" and ev.get("priority", 3) <= TICKER_PRIORITY:
                pipe.zadd(self.keys.ticker, {orjson.dumps(ticker_item(ev)): t})
        if newest:
            pipe.zadd(self.keys.newest, newest, gt=True)
            pipe.zremrangebyrank(self.keys.ticker, 0, -TICKER_KEEP - 1)
        if self.emergency.queue(pipe, events):
            pipe.incr(self.keys.version)  # the emergency snapshot is rebuilt when the version moves
        pipe.execute()


def place_links(state: Mapping[str, Any]) -> dict[str, str]:
    """{village: "village|TOWN", grid: "grid|VILLAGE"} as a case's location names them (a grid named
    without its village lies in the town)."""
    cur = state["cur"]
    town, village, grid = cur.get("town"), cur.get("village"), cur.get("grid")
    out = {village: f"village|{town}"} if village and town else {}
    if grid and (village or town):
        out[grid] = f"grid|{village or town}"
    return out


def ticker_item(ev: Mapping[str, Any]) -> dict[str, Any]:
    loc = ev.get("location") or {}
    return {"id": ev["event_id"], "case": ev["case_id"], "src": ev["source"], "cat": ev["category"],
            "p": ev["priority"], "t": ev["occurred_at"], "d": loc.get("adcode"),
            "pl": [p for p in (loc.get("town"), loc.get("village"), loc.get("grid")) if p],
            "sum": (ev.get("summary") or "")[:120]}


def _load(raw: Any) -> dict[str, Any] | None:
    return None if raw is None else orjson.loads(raw)
