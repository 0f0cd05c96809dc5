"""Vessels of the maritime grids (hs): ~150 boats with a home port, reporting every 15 minutes.

Each boat's day is drawn from (seed, boat, date): whether it goes out, when, to which fishing
ground. When an emergency response of level III or higher is in force, boats at sea head back
within two hours and then shelter in port (避风).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.contract.event import BEIJING
from feeds.simulator.geography import CityGeo, Port
from feeds.simulator.people import Person, fake_person

REPORT_EVERY = timedelta(minutes=15)
FLEET = 150
TRANSIT = timedelta(hours=1.5)
RETURN_WITHIN = timedelta(hours=2)
SHIP_TYPES = ("渔船", "货船", "客船", "工程船")
SHIP_WEIGHTS = (80, 10, 5, 5)


@dataclass(frozen=True, slots=True)
class Vessel:
    mmsi: str
    name: str
    kind: str
    port: Port
    owner: Person


@dataclass(frozen=True, slots=True)
class VesselFix:
    vessel: Vessel
    time: datetime
    lat: float
    lon: float
    status: str  # 在港 在航 作业 返港 避风
    sog: float  # knots
    cog: float


def make_fleet(city: CityGeo, count: int = FLEET) -> list[Vessel]:
    rng = random.Random(f"fleet:{city.city}")
    out = []
    for i in range(count):
        port = city.ports[i % len(city.ports)]
        kind = rng.choices(SHIP_TYPES, SHIP_WEIGHTS)[0]
        district = city.district_names[port.adcode][0]
        prefix = {"渔船": "渔", "货船": "货", "客船": "客", "工程船": "工"}[kind]
        mmsi = f"41{3 + i % 2}{city.city[2:4]}{i:04d}"
        name = f"粤{district}{prefix}{rng.randrange(10000, 99999)}"
        out.append(Vessel(mmsi, name, kind, port, fake_person(rng, port.adcode)))
    return out


class Fleet:
    def __init__(self, seed: int, city: CityGeo, shelter_since: Callable[[datetime], datetime | None]) -> None:
        self.seed, self.city = seed, city
        self.vessels = make_fleet(city)
        self._shelter_since = shelter_since
        self._plans: dict[tuple[str, datetime], tuple[bool, datetime, datetime, tuple[float, float]]] = {}
        self._last: tuple[datetime, list[VesselFix]] | None = None

    def fixes(self, mark: datetime) -> list[VesselFix]:
        if self._last is None or self._last[0] != mark:
            since = self._shelter_since(mark)
            self._last = (mark, [self._fix(v, mark, since) for v in self.vessels])
        return self._last[1]

    def _fix(self, v: Vessel, t: datetime, since: datetime | None) -> VesselFix:
        if since is None:
            return self._free(v, t)
        before = self._free(v, since)
        if before.status == "在港" or t - since >= RETURN_WITHIN:
            return VesselFix(v, t, v.port.lat, v.port.lon, "避风", 0.0, 0.0)
        w = (t - since) / RETURN_WITHIN
        lat = before.lat + (v.port.lat - before.lat) * w
        lon = before.lon + (v.port.lon - before.lon) * w
        return VesselFix(v, t, round(lat, 5), round(lon, 5), "返港", 9.0, _course((before.lat, before.lon), (lat, lon)))

    def _free(self, v: Vessel, t: datetime) -> VesselFix:
        """Where the boat is at ``t`` by its own plan for the day."""
        goes, depart, back, ground = self._plan(v, t)
        home = (v.port.lat, v.port.lon)
        if not goes or not depart <= t <= back:
            return VesselFix(v, t, v.port.lat, v.port.lon, "在港", 0.0, 0.0)
        if t < depart + TRANSIT:
            pos = _lerp(home, ground, (t - depart) / TRANSIT)
            return VesselFix(v, t, *pos, "在航", 8.5, _course(home, ground))
        if t > back - TRANSIT:
            pos = _lerp(ground, home, 1 - (back - t) / TRANSIT)
            return VesselFix(v, t, *pos, "在航", 8.5, _course(ground, home))
        phase = (t - depart).total_seconds() / 14400 * 2 * math.pi
        lat = ground[0] + 0.02 * math.sin(phase)
        lon = ground[1] + 0.02 * math.cos(phase)
        return VesselFix(v, t, round(lat, 5), round(lon, 5), "作业", 3.0, round(math.degrees(phase) % 360, 1))

    def _plan(self, v: Vessel, t: datetime) -> tuple[bool, datetime, datetime, tuple[float, float]]:
        day = t.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        key = (v.mmsi, day)
        if key not in self._plans:
            if len(self._plans) > 4 * len(self.vessels):
                self._plans.clear()
            rng = random.Random(f"{self.seed}:vessel:{v.mmsi}:{day:%Y%m%d}")
            goes = rng.random() < 0.6
            depart = day + timedelta(hours=5 + rng.uniform(0, 4))
            back = depart + timedelta(hours=rng.uniform(6, 13))
            self._plans[key] = (goes, depart, back, self.city.sea_point(rng, v.port))
        return self._plans[key]

    def counts(self, adcode: str, mark: datetime) -> tuple[int, int]:
        """(in port, at sea) for the boats whose home port is in the district."""
        fixes = [f for f in self.fixes(mark) if f.vessel.port.adcode == adcode]
        at_sea = sum(1 for f in fixes if f.status in ("在航", "作业", "返港"))
        return len(fixes) - at_sea, at_sea


def _lerp(a: tuple[float, float], b: tuple[float, float], w: float) -> tuple[float, float]:
    return round(a[0] + (b[0] - a[0]) * w, 5), round(a[1] + (b[1] - a[1]) * w, 5)


def _course(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    return round(math.degrees(math.atan2(dx, b[0] - a[0])) % 360, 1)
