"""Generated tropical cyclones, fixes every 30 simulated minutes (the tf feed's cadence).

- ``distant``: the default world's storms: they form east of the Philippines and recurve to the
  north-east far out at sea, never nearer the city than ``DISTANT_KM`` (no warnings, no response).
- ``approaching``: the typhoon scenario without a track file: forms in the sea south-east of the
  city, curves towards a point of the city's coast, makes landfall where the track first enters
  the province's land and decays inland.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from feeds.simulator.geography import CityGeo
from feeds.simulator.storm import Fix, Landfall, Storm, bearing, km_between, landfall_at, on_province_land

FIX_EVERY = timedelta(minutes=30)
DISTANT_KM = 900.0  # a distant storm's centre stays at least this far from the city centre
NAMES = (("海葵", "Haikui"), ("鸿雁", "Kirogi"), ("启德", "Kai-tak"), ("天秤", "Tembin"),
         ("布拉万", "Bolaven"), ("三巴", "Sanba"), ("杰拉华", "Jelawat"), ("艾云尼", "Ewiniar"),
         ("马力斯", "Maliksi"), ("格美", "Gaemi"), ("派比安", "Prapiroon"), ("玛莉亚", "Maria"),
         ("山神", "Son-Tinh"), ("安比", "Ampil"), ("悟空", "Wukong"), ("云雀", "Jongdari"))
Line = list[tuple[float, float, float]]  # (lat, lon, cumulative km)


def distant(seed: int, city: CityGeo, k: int, start: datetime, under_way: bool = False) -> Storm:
    """A storm that recurves far out at sea; ``under_way``: 40 % of its life is already behind it
    at ``start`` (the first storm of a run)."""
    rng = random.Random(f"{seed}:storm:{k}")
    origin = (rng.uniform(10, 15), rng.uniform(138, 150))
    turn = (rng.uniform(17, 21), rng.uniform(127, 133))
    target = (rng.uniform(27, 33), rng.uniform(131, 142))
    line = _line([_bezier(origin, turn, target, i / 300) for i in range(301)])
    line = _keep_away(line, city.centre)
    speed, peak = rng.uniform(15, 22), rng.uniform(30, 55)
    if under_way:
        start -= timedelta(hours=round(0.4 * line[-1][2] / speed))

    def wind(km: float) -> float:  # strengthens over the warm sea, weakens as it recurves north
        f = km / line[-1][2]
        return 13 + (peak - 13) * f / 0.6 if f <= 0.6 else peak - (peak - 15) * (f - 0.6) / 0.4

    fixes = _fixes(line, start, speed, wind, lambda km: False)
    return _named(rng, k, start, fixes, [])


def approaching(seed: int, city: CityGeo, k: int, start: datetime) -> Storm:
    """A storm heading for a point of the city's coast, first fix at ``start``."""
    rng = random.Random(f"{seed}:storm:{k}")
    line, land_i = _coast_path(rng, city)
    speed, peak = rng.uniform(15, 22), rng.uniform(33, 60)
    land_km = line[land_i][2]

    def wind(km: float) -> float:
        if km > land_km:  # decays over land: e-folding in 7 hours
            return peak * 0.85 * math.exp(-((km - land_km) / speed) / 7.0)
        f = km / land_km
        return 13 + (peak - 13) * f / 0.7 if f <= 0.7 else peak * (1 - 0.15 * (f - 0.7) / 0.3)

    fixes = _fixes(line, start, speed, wind, lambda km: km > land_km)
    lat, lon, _ = line[land_i]
    when = start + timedelta(hours=land_km / speed)
    return _named(rng, k, start, fixes, [landfall_at(city, when, lat, lon)])


def _named(rng: random.Random, k: int, start: datetime, fixes: list[Fix], land: list[Landfall]) -> Storm:
    name, ename = NAMES[(k + rng.randrange(len(NAMES))) % len(NAMES)]
    return Storm(k, f"{start.year}{51 + k % 49:02d}", name, ename, fixes, land)


def _coast_path(rng: random.Random, city: CityGeo) -> tuple[Line, int]:
    """Dense polyline from the sea to a port of the city and inland; index of its first point on land."""
    port = rng.choice(city.ports)
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
    line = _line(pts)
    land_i = next((i for i, (la, lo, _) in enumerate(line) if on_province_land(city, la, lo)), 300)
    return line, land_i


def _keep_away(line: Line, centre: tuple[float, float]) -> Line:
    """Shift the whole track east until no point is within DISTANT_KM of ``centre``."""
    shift = 0.0
    while min(km_between((la, lo + shift), centre) for la, lo, _ in line) < DISTANT_KM:
        shift += 1.0
    return line if not shift else _line([(la, lo + shift) for la, lo, _ in line])


def _line(pts: list[tuple[float, float]]) -> Line:
    out, km = [], 0.0
    for i, p in enumerate(pts):
        km += km_between(pts[i - 1], p) if i else 0.0
        out.append((p[0], p[1], km))
    return out


def _bezier(a: tuple[float, float], c: tuple[float, float], b: tuple[float, float],
            s: float) -> tuple[float, float]:
    u = 1 - s
    return (u * u * a[0] + 2 * u * s * c[0] + s * s * b[0], u * u * a[1] + 2 * u * s * c[1] + s * s * b[1])


def _fixes(line: Line, start: datetime, speed: float, wind_of: Callable[[float], float],
           over_land: Callable[[float], bool]) -> list[Fix]:
    out: list[Fix] = []
    total_km, step_h = line[-1][2], FIX_EVERY.total_seconds() / 3600
    h = 0.0
    while (km := speed * h) <= total_km:
        lat, lon = _at_km(line, km)
        wind = wind_of(km)
        if over_land(km) and wind < 13:
            break  # dissipated over land
        prev = _at_km(line, max(0.0, km - speed * 0.5))
        out.append(Fix(start + timedelta(hours=h), round(lat, 1), round(lon, 1), round(wind, 1), over_land(km),
                       bearing(prev, (lat, lon)) if h else None, round(speed) if h else None))
        h += step_h
    return out


def _at_km(line: Line, km: float) -> tuple[float, float]:
    for (la1, lo1, k1), (la2, lo2, k2) in zip(line, line[1:], strict=False):
        if k2 >= km:
            w = 0.0 if k2 == k1 else (km - k1) / (k2 - k1)
            return la1 + (la2 - la1) * w, lo1 + (lo2 - lo1) * w
    return line[-1][0], line[-1][1]

