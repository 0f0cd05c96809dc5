"""Warning signals that follow a storm (qx): typhoon signals and rainstorm signals per district,
decided every 10 simulated minutes from the simulator's knowledge of the storm's true future.

Typhoon (the national signal rules as Guangdong applies them): blue when the district is to be reached by force-6
winds within 24 h, yellow force 8 within 24 h, orange force 10 within 12 h, red force 12 within
6 h. A district is reached when its nearest point lies inside the wind circle of the quadrant
facing it (force 7/10/12 circles from the track; force 6 and 8 between and beyond them).
Rainstorm (暴雨): yellow when 50 mm is coming within 6 h, orange 50 mm within 3 h, red 100 mm
within 3 h, from the storm's rain at the district's centroid.

Chains as the ordinary warnings: Alert (发布), Update (升级 at once, 降级 once the lower signal has
held an hour, 继续 every 30-60 minutes otherwise), Cancel (解除). Everything for a storm is
computed once, when the storm is first asked about: a storm is known whole in advance.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shapely.affinity import affine_transform
from shapely.geometry import Point
from shapely.ops import nearest_points

from feeds.simulator import simtime
from feeds.simulator.geography import CityGeo
from feeds.simulator.storm import Storm, StormTrack, km_between
from feeds.simulator.weather import COLOUR_RANK, CapMessage, identifier

STEP = timedelta(minutes=10)
REACH_KM = 1300.0  # a storm centre farther than this from the city cannot bring force 6 to it
HOLD_DOWN = timedelta(hours=1)
CONTINUE_MIN = (25, 45)  # minutes to the next 继续 of an unchanged signal (sent 30-60 minutes apart)
# (rank, force, hours ahead): the highest rank whose force is due within its hours applies
TYPHOON_RULES = ((4, 12, 6), (3, 10, 12), (2, 8, 24), (1, 6, 24))
RAIN_RULES = ((4, 100.0, 3), (3, 50.0, 3), (2, 50.0, 6))  # (rank, mm, hours ahead)
RAIN_KM = 400.0  # the storm's rain reaches this far from its centre
LADDER = {"台风": ("", "蓝色", "黄色", "橙色", "红色"), "暴雨": ("", "", "黄色", "橙色", "红色")}
BUSY_MARGIN = timedelta(hours=1)  # ordinary warnings keep this far from a storm's signals


@dataclass(slots=True)
class StormSignals:
    """What one storm brings: its messages, and per district the rain series and signal changes."""

    start: datetime  # first tick of the series
    rain: dict[str, list[float]]  # adcode -> mm/h per tick
    messages: list[CapMessage] = field(default_factory=list)
    chains: dict[tuple[str, str], list[CapMessage]] = field(default_factory=dict)  # (adcode, hazard)

    @property
    def busy(self) -> tuple[datetime, datetime] | None:
        return (self.messages[0].sent, self.messages[-1].sent) if self.messages else None


class Signals:
    """The storms' signals, computed lazily per storm and cached until the storm is pruned."""

    def __init__(self, seed: int, city: CityGeo, storms: StormTrack) -> None:
        self.seed, self.city, self.storms = seed, city, storms
        self._shapes = _DistrictShapes(city)
        self._cache: dict[tuple[str, datetime], StormSignals] = {}

    def of(self, storm: Storm) -> StormSignals:
        key = (storm.tfbh, storm.start)
        if key not in self._cache:
            self._cache[key] = self._compute(storm)
        return self._cache[key]

    def _all(self, t: datetime) -> list[StormSignals]:
        return [self.of(s) for s in self.storms.upto(t)]

    def messages(self, after: datetime, upto: datetime) -> list[CapMessage]:
        return [m for sig in self._all(upto) for m in sig.messages if after < m.sent <= upto]

    def history(self, t: datetime) -> list[CapMessage]:
        """The messages, up to ``t``, of every chain still in force at ``t`` (a run that starts
        in the middle of a storm has its warnings on record)."""
        out = []
        for sig in self._all(t):
            for chain in sig.chains.values():
                sent = [m for m in chain if m.sent <= t]
                if sent and sent[-1].msg_type != "Cancel":
                    out += [m for m in sent if m.root == sent[-1].root]
        return sorted(out, key=lambda m: (m.sent, m.identifier))

    def in_force(self, adcode: str, t: datetime) -> dict[str, int]:
        """Hazard -> colour rank of the storm signals in force in the district at ``t``."""
        out: dict[str, int] = {}
        for sig in self._all(t):
            for hazard in LADDER:
                chain = sig.chains.get((adcode, hazard), [])
                i = bisect.bisect_right(chain, t, key=lambda m: m.sent) - 1
                if i >= 0 and chain[i].msg_type != "Cancel":
                    out[hazard] = max(out.get(hazard, 0), COLOUR_RANK[chain[i].colour])
        return out

    def rain_mm_h(self, adcode: str, t: datetime) -> float:
        total = 0.0
        for sig in self._all(t):
            series = sig.rain.get(adcode, [])
            i = round((t - sig.start) / STEP)
            if 0 <= i < len(series):
                total += series[i]
        return total

    def busy(self, t0: datetime, t1: datetime) -> tuple[datetime, datetime] | None:
        """The first storm signal period (with a margin) that overlaps [t0, t1]."""
        for sig in self._all(t1):
            window = sig.busy
            if window and window[0] - BUSY_MARGIN <= t1 and t0 <= window[1] + BUSY_MARGIN:
                return window[0] - BUSY_MARGIN, window[1] + BUSY_MARGIN
        return None

    def prune(self) -> None:
        kept = {(s.tfbh, s.start) for s in self.storms.storms}
        self._cache = {k: v for k, v in self._cache.items() if k in kept}

    # -- computing one storm -----------------------------------------------------------------------
    def _compute(self, storm: Storm) -> StormSignals:
        start = simtime.align_up(storm.start - STEP, STEP)
        if min(km_between((f.lat, f.lon), self.city.centre) for f in storm.fixes) > REACH_KM:
            return StormSignals(start, {})
        ticks = _ticks(start, storm.end)
        force = {a: [0] * len(ticks) for a in self._shapes.codes}
        rain = {a: [0.0] * len(ticks) for a in self._shapes.codes}
        for i, t in enumerate(ticks):
            pos = storm.position_at(t)
            if pos is None or km_between(pos, self.city.centre) > REACH_KM:
                continue
            wind, quads = storm.wind_at(t), storm.quadrants_at(t)
            for adcode in self._shapes.codes:
                near_km, quadrant, centroid_km = self._shapes.distances(adcode, pos)
                force[adcode][i] = _force(near_km, {f: q[quadrant] for f, q in quads.items()}, wind)
                rain[adcode][i] = _rain(centroid_km, wind)
        sig = StormSignals(start, rain)
        for adcode in self._shapes.codes:
            self._chain(sig, storm, adcode, "台风", _typhoon_targets(force[adcode]))
            self._chain(sig, storm, adcode, "暴雨", _rain_targets(rain[adcode]))
        sig.messages.sort(key=lambda m: (m.sent, m.identifier))
        return sig

    def _chain(self, sig: StormSignals, storm: Storm, adcode: str, hazard: str, targets: list[int]) -> None:
        """Messages of one district's signal of one hazard, by the 10-minute targets."""
        out = sig.chains.setdefault((adcode, hazard), [])
        rank, lower_since, next_continue = 0, None, None
        root: CapMessage | None = None
        # ticks run on after the series until every signal is cancelled
        for i in range(len(targets) + int(HOLD_DOWN / STEP) + 1):
            t, target = sig.start + i * STEP, targets[i] if i < len(targets) else 0
            lower_since = (lower_since or t) if target < rank else None
            if target > rank:
                action = "发布" if rank == 0 else "升级"
            elif lower_since is not None and t - lower_since >= HOLD_DOWN:
                action = "解除" if target == 0 else "降级"
            elif rank and next_continue is not None and t >= next_continue:
                action, target = "继续", rank
            else:
                continue
            rng = random.Random(f"{self.seed}:signal:{storm.tfbh}:{adcode}:{hazard}:{i}")
            sent = t + timedelta(minutes=rng.randint(0, 4), seconds=0 if hazard == "台风" else 30)
            msg = _message(adcode, hazard, sent, action, LADDER[hazard][rank if action == "解除" else target],
                           None if action == "发布" else root)
            out.append(msg)
            sig.messages.append(msg)
            root = None if action == "解除" else root if action != "发布" else msg
            rank = 0 if action == "解除" else target
            next_continue = sent + timedelta(minutes=rng.randint(*CONTINUE_MIN))
            if action != "继续":
                lower_since = None


def _message(adcode: str, hazard: str, sent: datetime, action: str, colour: str,
             root: CapMessage | None) -> CapMessage:
    msg_type = "Alert" if root is None else "Cancel" if action == "解除" else "Update"
    ident = identifier(adcode, sent)
    return CapMessage(ident, sent, msg_type, adcode, hazard, colour, action,
                      root.identifier if root else ident, root.sent if root else sent)


def _ticks(start: datetime, end: datetime) -> list[datetime]:
    n = int((end - start) / STEP) + 1
    return [start + i * STEP for i in range(n)]


def _force(near_km: float, radius: dict[int, float], wind: float) -> int:
    """Beaufort force (0, 6, 8, 10 or 12 and above) reaching a district ``near_km`` from the centre."""
    r7, r10, r12 = radius[7], radius[10], radius[12]
    r8 = r10 + 0.5 * (r7 - r10) if wind >= 17.2 and r7 else 0.0
    r6 = r7 * 1.25 if r7 else 80.0 if wind >= 10.8 else 0.0  # a depression has a small force-6 core
    for force, r in ((12, r12), (10, r10), (8, r8), (6, r6)):
        if r > 0 and near_km <= r:
            return force
    return 0


def _rain(km: float, wind: float) -> float:
    """mm/h of the storm's rain ``km`` from its centre: heavier for a stronger storm."""
    if wind < 10.8 or km >= RAIN_KM:
        return 0.0
    return min(70.0, 15.0 + wind) * (1 - km / RAIN_KM) ** 2


def _typhoon_targets(force: list[int]) -> list[int]:
    """Per tick, the highest rank whose force is due within its hours (the tick itself included)."""
    n = len(force)
    due = {}  # force -> per tick, ticks until that force is next reached (n when never)
    for f in {f for _, f, _ in TYPHOON_RULES}:
        ahead, nxt = [n] * n, None
        for i in reversed(range(n)):
            if force[i] >= f:
                nxt = i
            if nxt is not None:
                ahead[i] = nxt - i
        due[f] = ahead
    return [next((rank for rank, f, h in TYPHOON_RULES if due[f][i] < h * 6), 0) for i in range(n)]


def _rain_targets(rain: list[float]) -> list[int]:
    """Per tick, the highest rank whose rain (mm) falls within its hours (the tick included)."""
    sums = [0.0]
    for r in rain:
        sums.append(sums[-1] + r * STEP.total_seconds() / 3600)  # mm in each 10 minutes
    n = len(rain)
    return [next((rank for rank, mm, h in RAIN_RULES if sums[min(n, i + h * 6)] - sums[i] >= mm), 0)
            for i in range(n)]


class _DistrictShapes:
    """District polygons in a local kilometre grid around the city centre (distances in km)."""

    def __init__(self, city: CityGeo) -> None:
        self.lat0, self.lon0 = city.centre
        self.kx, self.ky = 111.32 * math.cos(math.radians(self.lat0)), 110.57
        self.codes = [d.adcode for d in city.districts]
        self.geoms = {d.adcode: affine_transform(d.geometry, [self.kx, 0, 0, self.ky,
                                                              -self.kx * self.lon0, -self.ky * self.lat0])
                      for d in city.districts}
        self.centroids = {a: g.centroid for a, g in self.geoms.items()}

    def distances(self, adcode: str, pos: tuple[float, float]) -> tuple[float, str, float]:
        """(km to the nearest point, quadrant of the storm it lies in, km to the centroid)."""
        p = Point((pos[1] - self.lon0) * self.kx, (pos[0] - self.lat0) * self.ky)
        g = self.geoms[adcode]
        near = nearest_points(g, p)[0]
        km = near.distance(p)
        deg = math.degrees(math.atan2(near.x - p.x, near.y - p.y)) % 360 if km > 0 else 45.0
        return km, ("ne", "se", "sw", "nw")[int(deg // 90) % 4], self.centroids[adcode].distance(p)


__all__ = ["Signals", "StormSignals"]
