"""The simulated world, advanced in segments that never cross a half-hour block boundary.

Per segment (a, b]: new cases of each case feed arrive (drawn per block), every pending version
up to b is emitted in time order, then the scheduled streams (warnings, storm fixes, response
checks, gauge readings, vessel positions, mobilisation reports) emit what falls in (a, b].
Everything is a function of the seed and the simulated times, never of the wall clock.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.simulator import clock
from feeds.simulator import emergency as em
from feeds.simulator.cases import Case, make_case
from feeds.simulator.emergency import Emergency
from feeds.simulator.geography import CityGeo
from feeds.simulator.hydro import REPORT_EVERY as GAUGE_EVERY
from feeds.simulator.hydro import Gauges
from feeds.simulator.lifecycle import PROFILES
from feeds.simulator.store import Store
from feeds.simulator.storm import Storm, StormTrack
from feeds.simulator.traffic import DEFAULT_VOLUMES, block_offsets, expected, filler_offset
from feeds.simulator.vessels import REPORT_EVERY as VESSEL_EVERY
from feeds.simulator.vessels import Fleet
from feeds.simulator.weather import Weather

STORM_RAIN_KM = 350.0  # rain bands reach this far from the storm centre
STORM_RAIN_MM_H = 60.0


@dataclass(frozen=True, slots=True)
class CaseVersion:
    case: Case
    i: int  # index into case.steps


@dataclass(frozen=True, slots=True)
class StormFix:
    storm: Storm
    fix_index: int


class Model:
    def __init__(self, seed: int, city: CityGeo, anchor: datetime, store: Store,
                 volumes: dict[str, float] | None = None) -> None:
        self.seed, self.city, self.store, self.now = seed, city, store, anchor
        self.volumes = {**DEFAULT_VOLUMES, **(volumes or {})}
        self.case_feeds = [f for f in self.volumes if f in PROFILES and f in store.logs]
        self.storms = StormTrack(seed, city, anchor)
        self.weather = Weather(seed, city, anchor, self.storms.near)
        self.emergency = Emergency(seed, city, self.weather, self.storms)
        self.gauges = Gauges(seed, city, self._rain_at)
        self.fleet = Fleet(seed, city, self.emergency.shelter_since)
        self.emergency.boats = self.fleet.counts
        self._heaps: dict[str, list[tuple[datetime, int, Case]]] = {f: [] for f in self.case_feeds}
        self._arrivals: dict[str, list[datetime]] = {f: [] for f in self.case_feeds}
        self._block: dict[str, int] = {}
        self._day: dict[str, tuple[str, int]] = {}
        self._tie = 0
        self._emit_storm_history(anchor)

    def _rain_at(self, adcode: str, t: datetime) -> float:
        rain = self.weather.rain_mm_h(adcode, t)
        km = self.storms.near(t, STORM_RAIN_KM)
        return rain + (0.0 if km is None else STORM_RAIN_MM_H * (1 - km / STORM_RAIN_KM))

    def _emit_storm_history(self, anchor: datetime) -> None:
        """The first storm formed before the simulation began; its past fixes are on record."""
        storm = self.storms.storms[0]
        for j, fix in enumerate(storm.fixes):
            if fix.time <= anchor:
                self.store.add("tf", fix.time, f"{storm.tfbh}:{fix.time:%Y%m%d%H%M}", StormFix(storm, j))

    def advance_to(self, t: datetime) -> None:
        while self.now < t:
            end = min(t, clock.align_up(self.now, clock.BLOCK))
            self._segment(self.now, end)
            self.now = end

    def _segment(self, a: datetime, b: datetime) -> None:
        for feed in self.case_feeds:
            self._arrive(feed, a, b)
            self._emit_cases(feed, b)
        self._scheduled(a, b)

    def _arrive(self, feed: str, a: datetime, b: datetime) -> None:
        index = clock.block_index(b)
        if self._block.get(feed) != index:
            self._block[feed] = index
            self._arrivals[feed] = self._draw_block(feed, index, a)
        due = [t for t in self._arrivals[feed] if a < t <= b]
        for created in due:
            case = make_case(feed, self._next_seq(feed, created), created, self.seed, self.city)
            self._push(feed, case)

    def _draw_block(self, feed: str, index: int, a: datetime) -> list[datetime]:
        start, end = clock.block_bounds(index)
        volume = self.volumes[feed]
        times = [start + timedelta(seconds=s) for s in block_offsets(self.seed, feed, index,
                                                                     expected(feed, volume, start))]
        times = [t for t in times if t > a]
        heap = self._heaps[feed]
        if not times and volume > 0 and not (heap and heap[0][0] <= end):
            # nothing would happen in this half hour: one forced arrival keeps the cadence
            offset = timedelta(seconds=filler_offset(self.seed, feed, index))
            times = [max(a + timedelta(seconds=1), start + offset)]
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
            resp = self.emergency.check(mark)
            if resp is not None:
                self.store.add("yj", mark, resp.case, resp)
            if (mark - clock.EPOCH) % em.REPORT_EVERY == timedelta(0):
                for mob in self.emergency.mobilisation(mark):
                    self.store.add("yj", mark, mob.case, mob)
        for mark in _marks(a, b, GAUGE_EVERY):
            for r in self.gauges.readings(mark):
                self.store.add("sw", mark, r.station.code, r)
        for mark in _marks(a, b, VESSEL_EVERY):
            for f in self.fleet.fixes(mark):
                self.store.add("hs", mark, f.vessel.mmsi, f)

    def _storm_fixes(self, a: datetime, b: datetime) -> None:
        self.storms.active(b)  # make sure every storm up to b exists
        for storm in self.storms.storms:
            for j, fix in enumerate(storm.fixes):
                if a < fix.time <= b:
                    key = f"{storm.tfbh}:{fix.time:%Y%m%d%H%M}"
                    self.store.add("tf", fix.time, key, StormFix(storm, j))

    def prune(self, before: datetime) -> None:
        self.weather.prune(before)
        self.storms.prune(before)
        self.emergency.prune(before)


def _marks(a: datetime, b: datetime, step: timedelta) -> list[datetime]:
    """Multiples of ``step`` (from EPOCH) in (a, b]."""
    out, t = [], clock.align_up(a, step)
    while t <= b:
        out.append(t)
        t += step
    return out
