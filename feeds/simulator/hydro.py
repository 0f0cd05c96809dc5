"""Rain and water-level gauges (sw): ~40 stations reporting every 10 simulated minutes.

Rain follows the rain-bearing warning signals of the station's district and the storm's
distance; water levels rise with the recent rain (an exponentially fading sum), so heavy rain
lifts some river and reservoir stations above their warning level.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.contract.event import BEIJING
from feeds.simulator.geography import CityGeo

REPORT_EVERY = timedelta(minutes=10)
STATIONS = 40
TYPE_MIX = (("PP", 24), ("ZZ", 12), ("RR", 4))  # rain, river level, reservoir
FADE = math.exp(-10 / 180)  # rain "memory" of a catchment, ~3 hours
GAIN_M_PER_MM = {"ZZ": 0.025, "RR": 0.012}
RAIN_DAY_STARTS_H = 8  # Chinese hydrology counts daily rain from 08:00


@dataclass(frozen=True, slots=True)
class Station:
    code: str
    name: str
    kind: str
    adcode: str
    lat: float
    lon: float
    base_z: float | None
    warn_z: float | None
    guarantee_z: float | None


@dataclass(frozen=True, slots=True)
class Reading:
    station: Station
    time: datetime
    rain_mm: float | None  # this 10-minute period
    day_rain_mm: float | None
    level_m: float | None
    warn: str  # "0" normal, "1" above warning, "2" above guarantee


def make_stations(city: CityGeo, count: int = STATIONS) -> list[Station]:
    rng = random.Random(f"gauges:{city.city}")
    kinds = [k for k, n in TYPE_MIX for _ in range(round(n * count / STATIONS))][:count]
    out = []
    for i, kind in enumerate(kinds):
        adcode = city.districts[i % len(city.districts)].adcode
        town = rng.choice(city.towns_of(adcode))
        lat, lon = city.point_in(adcode, rng)
        base = None if kind == "PP" else round(rng.uniform(2, 8) if kind == "ZZ" else rng.uniform(20, 60), 2)
        warn = None if base is None else round(base + rng.uniform(1.3, 1.8), 2)
        guarantee = None if warn is None else round(warn + 1.0, 2)
        short = town.name.removesuffix("街道").removesuffix("镇")
        name = f"{short}{'雨量站' if kind == 'PP' else '水位站' if kind == 'ZZ' else '水库站'}"
        out.append(Station(f"8{adcode[2:]}{i:03d}", name, kind, adcode, lat, lon, base, warn, guarantee))
    return out


class Gauges:
    """Stateful: readings must be produced in time order (the fading sums carry over)."""

    def __init__(self, seed: int, city: CityGeo, rain_at: Callable[[str, datetime], float]) -> None:
        self.seed = seed
        self.stations = make_stations(city)
        self._rain_at = rain_at
        self._memory = {s.code: 0.0 for s in self.stations}
        self._day = {s.code: 0.0 for s in self.stations}

    def readings(self, mark: datetime) -> list[Reading]:
        """All stations' readings at one 10-minute mark."""
        return [self._read(s, mark) for s in self.stations]

    def _read(self, s: Station, mark: datetime) -> Reading:
        rng = random.Random(f"{self.seed}:gauge:{s.code}:{mark.timestamp():.0f}")
        mm_h = self._rain_at(s.adcode, mark)
        if mm_h > 0:
            rain = mm_h / 6 * math.exp(rng.gauss(0, 0.5))
        else:
            rain = 0.5 if rng.random() < 0.03 else 0.0
        rain = round(rain * 2) / 2  # tipping bucket: 0.5 mm
        local = mark.astimezone(BEIJING)
        if local.hour == RAIN_DAY_STARTS_H and local.minute == 10:
            self._day[s.code] = 0.0
        self._day[s.code] += rain
        self._memory[s.code] = self._memory[s.code] * FADE + rain
        level, warn = self._level(s, rng)
        if s.kind == "PP":
            return Reading(s, mark, rain, round(self._day[s.code], 1), None, "1" if mm_h >= 30 else "0")
        return Reading(s, mark, rain, round(self._day[s.code], 1), level, warn)

    def _level(self, s: Station, rng: random.Random) -> tuple[float | None, str]:
        if s.base_z is None or s.warn_z is None or s.guarantee_z is None:
            return None, "0"
        z = s.base_z + GAIN_M_PER_MM[s.kind] * self._memory[s.code] + rng.uniform(-0.02, 0.02)
        warn = "2" if z >= s.guarantee_z else "1" if z >= s.warn_z else "0"
        return round(z, 2), warn
