"""The simulated world, advanced in segments that never cross a half-hour block boundary.

Per segment (a, b]: new cases of each case feed arrive (drawn per block; a storm's extra cases
among them), every pending version up to b is emitted in time order, then the scheduled streams
(warnings, storm fixes, response checks, command actions, mobilisation reports, gauge readings,
vessel positions) emit what falls in (a, b]. A command action planned at a level change is
emitted after every check at or before its time. Everything is a function of the seed and the
simulated times, never of the wall clock.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from feeds.simulator import response as em
from feeds.simulator import simtime, stormgen
from feeds.simulator.cases import Case, make_case
from feeds.simulator.duty import Duty
from feeds.simulator.geography import CityGeo
from feeds.simulator.hydro import REPORT_EVERY as GAUGE_EVERY
from feeds.simulator.hydro import Gauges
from feeds.simulator.ledger import Store
from feeds.simulator.lifecycle import PROFILES
from feeds.simulator.mobilise import REPORT_EVERY as MOBILISE_EVERY
from feeds.simulator.mobilise import Mobiliser
from feeds.simulator.response import Emergency
from feeds.simulator.signals import Signals
from feeds.simulator.storm import Storm, StormTrack
from feeds.simulator.surge import STORM_TYPES, Surge
from feeds.simulator.traffic import DEFAULT_VOLUMES, block_offsets, expected, filler_offset
from feeds.simulator.vessels import REPORT_EVERY as VESSEL_EVERY
from feeds.simulator.vessels import Fleet
from feeds.simulator.weather import Weather


@dataclass(frozen=True, slots=True)
class CaseVersion:
    case: Case
    i: int  # index into case.steps


@dataclass(frozen=True, slots=True)
class StormFix:
    storm: Storm
    fix_index: int


class Model:
    """``first_storm``: the scenario's storm; without one, a distant storm is already on its way."""

    def __init__(self, seed: int, city: CityGeo, anchor: datetime, store: Store,
                 volumes: dict[str, float] | None = None, first_storm: Storm | None = None) -> None:
        self.seed, self.city, self.store, self.now = seed, city, store, anchor
        self.volumes = {**DEFAULT_VOLUMES, **(volumes or {})}
        self.case_feeds = [f for f in self.volumes if f in PROFILES and f in store.logs]
        first = first_storm or stormgen.distant(seed, city, 0, anchor, under_way=True)
        self.storms = StormTrack(first, lambda k, start: stormgen.distant(seed, city, k, start))
        self.weather = Weather(seed, city, anchor, Signals(seed, city, self.storms))
        self.emergency = Emergency(city, self.weather)
        self.mobiliser = Mobiliser(seed, city, self.emergency)
        self.duty = Duty(seed, city, self.emergency)
        self.surge = Surge(seed, city, self.emergency, self.volumes)
        self.gauges = Gauges(seed, city, self.weather.rain_mm_h)
        self.fleet = Fleet(seed, city, self.emergency.shelter_since)
        self.mobiliser.boats = self.fleet.counts
        self._heaps: dict[str, list[tuple[datetime, int, Case]]] = {f: [] for f in self.case_feeds}
        self._arrivals: dict[str, list[tuple[datetime, bool]]] = {f: [] for f in self.case_feeds}
        self._block: dict[str, int] = {}
        self._day: dict[str, tuple[str, int]] = {}
        self._tie = 0
        self._emit_storm_history(anchor)

    def _emit_storm_history(self, anchor: datetime) -> None:
        """The first storm formed before the simulation began: its past fixes are on record, and
        so are the warnings it had brought that are still in force."""
        storm = self.storms.storms[0]
        for j, fix in enumerate(storm.fixes):
            if fix.time <= anchor:
                self.store.add("tf", fix.time, f"{storm.tfbh}:{fix.time:%Y%m%d%H%M}", StormFix(storm, j))
        for m in self.weather.signals.history(anchor):
            self.store.add("qx", m.sent, m.identifier, m)

    def advance_to(self, t: datetime) -> None:
        while self.now < t:
            end = min(t, simtime.align_up(self.now, simtime.BLOCK))
            self._segment(self.now, end)
            self.now = end

    def _segment(self, a: datetime, b: datetime) -> None:
        for feed in self.case_feeds:
            self._arrive(feed, a, b)
            self._emit_cases(feed, b)
        self._scheduled(a, b)

    def _arrive(self, feed: str, a: datetime, b: datetime) -> None:
        index = simtime.block_index(b)
        if self._block.get(feed) != index:
            self._block[feed] = index
            self._arrivals[feed] = self._draw_block(feed, index, a)
        for created, storm in [x for x in self._arrivals[feed] if a < x[0] <= b]:
            seq = self._next_seq(feed, created)
            if storm:
                where = self.surge.district(feed, f"{created.isoformat()}:{seq}", created)
                case = make_case(feed, seq, created, self.seed, self.city, STORM_TYPES[feed], where)
            else:
                case = make_case(feed, seq, created, self.seed, self.city)
            self._push(feed, case)

    def _draw_block(self, feed: str, index: int, a: datetime) -> list[tuple[datetime, bool]]:
        """The block's arrivals (time, whether a storm brought it), ordered by time."""
        start, end = simtime.block_bounds(index)
        volume = self.volumes[feed]
        times = [(start + timedelta(seconds=s), False)
                 for s in block_offsets(self.seed, feed, index, expected(feed, volume, start))]
        times += [(start + timedelta(seconds=s), True) for s in self.surge.offsets(feed, index, start)]
        times = sorted(t for t in times if t[0] > a)
        heap = self._heaps[feed]
        if not times and volume > 0 and not (heap and heap[0][0] <= end):
            # nothing would happen in this half hour: one forced arrival keeps the cadence
            offset = timedelta(seconds=filler_offset(self.seed, feed, index))
            times = [(max(a + timedelta(seconds=1), start + offset), False)]
        return times

    def _next_seq(self, feed: str, created: datetime) -> int:
        day = created.strftime("%Y%m%d")
        prev_day, n = self._day.get(feed, (day, 0))
        n = n + 1 if prev_day == day else 1
        self._day[feed] = (day, n)
        return n

    def _push(self, feed: str, case: Case) -> None:
        self._tie += 1
        heapq.heappush(self._heaps[feed], (case.steps[case.next_i].at, self._tie, case))

    def _emit_cases(self, feed: str, b: datetime) -> None:
        heap = self._heaps[feed]
        while heap and heap[0][0] <= b:
            at, _, case = heapq.heappop(heap)
            self.store.add(feed, at, case.no, CaseVersion(case, case.next_i))
            case.next_i += 1
            if case.next_i < len(case.steps):
                self._push(feed, case)

    def _scheduled(self, a: datetime, b: datetime) -> None:
        for m in self.weather.messages(a, b):
            self.store.add("qx", m.sent, m.identifier, m)
        self._storm_fixes(a, b)
        for mark in _marks(a, b, em.CHECK_EVERY):
            self._actions(self.duty.due(mark, before=True))
            resp = self.emergency.check(mark)
            if resp is not None:
                self.store.add("yj", mark, resp.case, resp)
                self.duty.plan(resp)
            if (mark - simtime.EPOCH) % MOBILISE_EVERY == timedelta(0):
                for mob in self.mobiliser.reports(mark):
                    self.store.add("yj", mark, mob.case, mob)
        self._actions(self.duty.due(b))
        for mark in _marks(a, b, GAUGE_EVERY):
            for r in self.gauges.readings(mark):
                self.store.add("sw", mark, r.station.code, r)
        for mark in _marks(a, b, VESSEL_EVERY):
            for f in self.fleet.fixes(mark):
                self.store.add("hs", mark, f.vessel.mmsi, f)

    def _actions(self, facts: list[Any]) -> None:
        for fact in facts:
            self.store.add("yj", fact.time, fact.case, fact)

    def _storm_fixes(self, a: datetime, b: datetime) -> None:
        for storm in self.storms.upto(b):
            for j, fix in enumerate(storm.fixes):
                if a < fix.time <= b:
                    key = f"{storm.tfbh}:{fix.time:%Y%m%d%H%M}"
                    self.store.add("tf", fix.time, key, StormFix(storm, j))

    def prune(self, before: datetime) -> None:
        self.storms.prune(before)
        self.weather.prune(before)
        self.emergency.prune(before)


def _marks(a: datetime, b: datetime, step: timedelta) -> list[datetime]:
    """Multiples of ``step`` (from EPOCH) in (a, b]."""
    out, t = [], simtime.align_up(a, step)
    while t <= b:
        out.append(t)
        t += step
    return out
