"""Mobilisation reports (yj MOBILIZE): every district every 30 minutes, whatever the level (the
feed never goes quiet), with its towns' figures summing to the district's.

Forces follow the city's response level. From level III people in danger are moved out, more
where the district is hit harder (its warning signals); they fill the shelters over a few hours,
and after the stand-down from III they go home over hours, so occupancy rises and falls without
jumps. Stateful: reports must be made in time order (the model makes one at every 30-minute mark).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.simulator.geography import CityGeo
from feeds.simulator.response import Emergency

REPORT_EVERY = timedelta(minutes=30)
SHARE = {0: 0.0, 1: 0.1, 2: 0.3, 3: 0.6, 4: 0.9}  # forces activated, by severity
# Jiangmen's forces (73 towns): (teams, people)
FORCES = (("党员先锋队", 2400, 64000), ("突击队", 1000, 18000), ("救援队", 25, 750))
JIANGMEN_TOWNS = 73
SHELTERS_PER_TOWN = 12
SHELTER_CAPACITY = 150
TRANSFER_PER_TOWN = {0: 0, 1: 0, 2: 300, 3: 900, 4: 1800}  # people moved out, by severity, hardest hit
EXPOSURE = {0: 0.3, 1: 0.4, 2: 0.6, 3: 0.8, 4: 1.0}  # by the district's highest signal
TRANSFER_RATE = 0.4  # share of the people still to be moved that are moved in each half hour
IN_SHELTER = 0.7  # share of the moved who stay in shelters (the others with relatives)
SETTLE_RATE = 0.5  # occupancy closes this share of its gap to the moved in shelters per half hour
GO_HOME = 0.85  # share of the occupancy still there half an hour later, after the stand-down (~10 h to empty)


@dataclass(frozen=True, slots=True)
class Team:
    kind: str
    activated: int
    available: int
    persons: int


@dataclass(frozen=True, slots=True)
class TownFigures:
    code: str
    name: str
    deployed: int
    transferred: int
    shelters_open: int
    occupancy: int


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
    towns: tuple[TownFigures, ...]


@dataclass(slots=True)
class _Town:
    transferred: int = 0
    occupancy: int = 0


class Mobiliser:
    def __init__(self, seed: int, city: CityGeo, emergency: Emergency) -> None:
        self.seed, self.city, self.emergency = seed, city, emergency
        self._towns = {t.code: _Town() for t in city.towns}
        # a town's share of its district's people (a stable proxy for population)
        self._weight = {t.code: random.Random(f"town-weight:{t.code}").uniform(0.6, 1.4) for t in city.towns}
        # set by the model: (adcode, mark) -> boats (in port, at sea) of the district's ports
        self.boats: Callable[[str, datetime], tuple[int, int]] | None = None

    def reports(self, mark: datetime) -> list[Mobilisation]:
        sev = self.emergency.severity_at(mark)
        return [self._district(d.adcode, mark, sev) for d in self.city.districts]

    def _district(self, adcode: str, mark: datetime, sev: int) -> Mobilisation:
        rng = random.Random(f"{self.seed}:mobilise:{adcode}:{mark.timestamp():.0f}")
        towns = self.city.towns_of(adcode)
        scale = len(towns) / JIANGMEN_TOWNS
        teams = []
        for kind, total_teams, total_people in FORCES:
            n = max(1, round(total_teams * scale))
            on = min(n, round(n * SHARE[sev] * rng.uniform(0.9, 1.1)))
            teams.append(Team(kind, on, n - on, round(on * total_people / total_teams)))
        deployed = round(sum(t.persons for t in teams) * 0.85)
        shares = _split(deployed, [self._weight[t.code] for t in towns])
        rank = self.emergency.district_rank(adcode, mark)
        figures = tuple(self._town(t.code, t.name, sev, rank, people) for t, people in zip(towns, shares, strict=True))
        in_port, at_sea = self.boats(adcode, mark) if self.boats else (0, 0)
        opened = sum(f.shelters_open for f in figures)
        return Mobilisation(f"YJDW{adcode}{mark:%Y%m%d}", mark, adcode, sev, tuple(teams), deployed, opened,
                            opened * SHELTER_CAPACITY, sum(f.occupancy for f in figures),
                            sum(f.transferred for f in figures), in_port, at_sea, figures)

    def _town(self, code: str, name: str, sev: int, rank: int, deployed: int) -> TownFigures:
        st = self._towns[code]
        if sev >= 2:
            goal = round(TRANSFER_PER_TOWN[sev] * EXPOSURE[rank] * self._weight[code])
            if goal > st.transferred:
                st.transferred += math.ceil((goal - st.transferred) * TRANSFER_RATE)
            st.occupancy += round((IN_SHELTER * st.transferred - st.occupancy) * SETTLE_RATE)
        else:
            st.occupancy = int(st.occupancy * GO_HOME) if st.occupancy >= 5 else 0
            if sev == 0 and st.occupancy == 0:
                st.transferred = 0  # the episode is over: the next one counts from zero
        opened = min(SHELTERS_PER_TOWN, max(math.ceil(st.occupancy / SHELTER_CAPACITY),
                                            round(SHELTERS_PER_TOWN * SHARE[sev])))
        st.occupancy = min(st.occupancy, opened * SHELTER_CAPACITY)
        return TownFigures(code, name, deployed, st.transferred, opened, st.occupancy)


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` in whole parts proportional to ``weights`` (largest remainders), summing exactly."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)[: total - sum(parts)]:
        parts[i] += 1
    return parts
