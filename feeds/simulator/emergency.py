"""Emergency management (yj): the city's response level (IV -> I and back down, 解除) driven by
the warning signals and the storm's distance, and every district's mobilisation report.

Level changes are checked every 10 simulated minutes: raised at once, lowered only after the
lower level has held for an hour (commanders do not stand down on one quiet reading).
Mobilisation reports come from every district every 30 minutes, so the feed never goes quiet.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.simulator.geography import CityGeo
from feeds.simulator.storm import StormTrack
from feeds.simulator.weather import Weather

CHECK_EVERY = timedelta(minutes=10)
REPORT_EVERY = timedelta(minutes=30)
STAND_DOWN_AFTER = timedelta(hours=1)
WIND_RAIN = frozenset({"台风", "暴雨", "大风", "雷雨大风"})
ROMAN = {1: "IV", 2: "III", 3: "II", 4: "I"}  # by severity 1..4
SHARE = {0: 0.0, 1: 0.1, 2: 0.3, 3: 0.6, 4: 0.9}  # forces activated, by severity
# Jiangmen's forces (73 towns): (teams, people)
FORCES = (("党员先锋队", 2400, 64000), ("突击队", 1000, 18000), ("救援队", 25, 750))
JIANGMEN_TOWNS = 73
SHELTERS_PER_TOWN = 12
SHELTER_CAPACITY = 150


@dataclass(frozen=True, slots=True)
class Response:
    case: str
    time: datetime
    severity: int  # 0 none (stood down) .. 4 (level I)
    action: str  # 启动 提升 降低 解除
    hazard: str  # 防风 | 防汛


@dataclass(frozen=True, slots=True)
class Team:
    kind: str
    activated: int
    available: int
    persons: int


@dataclass(frozen=True, slots=True)
class Mobilisation:
    case: str
    time: datetime
    adcode: str
    severity: int
    teams: tuple[Team, ...]
    deployed: int
    shelters_open: int
    shelter_capacity: int
    shelter_occupancy: int
    transferred: int
    boats_in_port: int
    boats_at_sea: int


class Emergency:
    def __init__(self, seed: int, city: CityGeo, weather: Weather, storms: StormTrack) -> None:
        self.seed, self.city, self.weather, self.storms = seed, city, weather, storms
        self.changes: list[tuple[datetime, int]] = []
        self._severity = 0
        self._episode = ""
        self._lower_since: datetime | None = None
        # set by the model: (adcode, mark) -> boats (in port, at sea) of the district's ports
        self.boats: Callable[[str, datetime], tuple[int, int]] | None = None

    def target(self, t: datetime) -> tuple[int, str]:
        rain = 0
        for d in self.city.districts:
            hazard, rank = self.weather.colour_at(d.adcode, t)
            if hazard in WIND_RAIN and rank >= 2:
                rain = max(rain, rank - 1)
        km = self.storms.near(t)
        wind = 0 if km is None else 4 if km < 150 else 3 if km < 300 else 2 if km < 500 else 1
        return max(rain, wind), "防风" if wind >= rain and wind else "防汛"

    def check(self, mark: datetime) -> Response | None:
        """One 10-minute check; a Response when the level changes."""
        sev, hazard = self.target(mark)
        if sev < self._severity:
            self._lower_since = self._lower_since or mark
            if mark - self._lower_since < STAND_DOWN_AFTER:
                return None
        self._lower_since = None
        if sev == self._severity:
            return None
        action = "启动" if self._severity == 0 else "解除" if sev == 0 else "提升" if sev > self._severity else "降低"
        if self._severity == 0:
            self._episode = f"YJXY{self.city.city}{mark:%Y%m%d%H%M}"
        self._severity = sev
        self.changes.append((mark, sev))
        return Response(self._episode, mark, sev, action, hazard)

    def severity_at(self, t: datetime) -> int:
        i = bisect.bisect_right(self.changes, t, key=lambda c: c[0]) - 1
        return self.changes[i][1] if i >= 0 else 0

    def shelter_since(self, t: datetime) -> datetime | None:
        """Start of the level-III-or-higher period in force at ``t`` (boats go back to port)."""
        i = bisect.bisect_right(self.changes, t, key=lambda c: c[0]) - 1
        if i < 0 or self.changes[i][1] < 2:
            return None
        while i > 0 and self.changes[i - 1][1] >= 2:
            i -= 1
        return self.changes[i][0]

    def mobilisation(self, mark: datetime) -> list[Mobilisation]:
        sev = self.severity_at(mark)
        return [self._district(d.adcode, mark, sev) for d in self.city.districts]

    def _district(self, adcode: str, mark: datetime, sev: int) -> Mobilisation:
        rng = random.Random(f"{self.seed}:mobilise:{adcode}:{mark.timestamp():.0f}")
        towns = len(self.city.towns_of(adcode))
        scale = towns / JIANGMEN_TOWNS
        frac = SHARE[sev]
        teams = []
        for kind, total_teams, total_people in FORCES:
            n = max(1, round(total_teams * scale))
            on = min(n, round(n * frac * rng.uniform(0.9, 1.1)))
            teams.append(Team(kind, on, n - on, round(on * total_people / total_teams)))
        shelters = towns * SHELTERS_PER_TOWN
        opened = round(shelters * frac)
        transferred = round(frac * frac * towns * 600 * rng.uniform(0.8, 1.2))
        in_port, at_sea = self.boats(adcode, mark) if self.boats else (0, 0)
        return Mobilisation(f"YJDW{adcode}{mark:%Y%m%d}", mark, adcode, sev, tuple(teams),
                            round(sum(t.persons for t in teams) * 0.85), opened, opened * SHELTER_CAPACITY,
                            min(opened * SHELTER_CAPACITY, round(transferred * 0.7)), transferred,
                            in_port, at_sea)

    def prune(self, before: datetime) -> None:
        while len(self.changes) > 2 and self.changes[1][0] < before:
            self.changes.pop(0)
