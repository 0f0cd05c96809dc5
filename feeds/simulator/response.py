"""Emergency management (yj): the city's response level (IV -> I and back down, 解除), driven by
the warning signals in force in the districts.

A typhoon signal anywhere brings the 防风 response of its rank (blue IV, yellow III, orange II,
red I: Guangdong's practice of matching the response to the signal); ordinary rain and wind
signals bring the 防汛 response, orange IV and red III. Level changes are checked every 10
simulated minutes: raised at once, lowered only after the lower level has held for an hour
(commanders do not stand down on one quiet reading).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.simulator.geography import CityGeo
from feeds.simulator.weather import Weather

CHECK_EVERY = timedelta(minutes=10)
STAND_DOWN_AFTER = timedelta(hours=1)
FLOOD_HAZARDS = frozenset({"暴雨", "大风", "雷雨大风"})
ROMAN = {1: "IV", 2: "III", 3: "II", 4: "I"}  # by severity 1..4


@dataclass(frozen=True, slots=True)
class Response:
    case: str
    time: datetime
    severity: int  # 0 none (stood down) .. 4 (level I)
    action: str  # 启动 提升 降低 解除
    hazard: str  # 防风 | 防汛
    previous: int  # the severity before this change


class Emergency:
    def __init__(self, city: CityGeo, weather: Weather) -> None:
        self.city, self.weather = city, weather
        self.changes: list[tuple[datetime, int]] = []
        self._severity = 0
        self._episode = ""
        self.episode_start: datetime | None = None  # when the response in force was started
        self._lower_since: datetime | None = None

    def target(self, t: datetime) -> tuple[int, str]:
        wind = flood = 0
        for d in self.city.districts:
            signals = self.weather.in_force(d.adcode, t)
            wind = max(wind, signals.get("台风", 0))
            flood = max([flood] + [max(0, rank - 2) for h, rank in signals.items() if h in FLOOD_HAZARDS])
        return max(wind, flood), "防风" if wind >= flood and wind else "防汛"

    def district_rank(self, adcode: str, t: datetime) -> int:
        """How hard the district is hit at ``t``: its highest wind or rain signal (0..4)."""
        signals = self.weather.in_force(adcode, t)
        return max([0] + [rank for h, rank in signals.items() if h == "台风" or h in FLOOD_HAZARDS])

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
            self.episode_start = mark
        previous, self._severity = self._severity, sev
        self.changes.append((mark, sev))
        return Response(self._episode, mark, sev, action, hazard, previous)

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

    def prune(self, before: datetime) -> None:
        while len(self.changes) > 2 and self.changes[1][0] < before:
            self.changes.pop(0)
