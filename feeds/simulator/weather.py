"""Weather warnings (qx) as a sequence of cycles: in each, one hazard sweeps the districts, each
district's signal going blue -> ... -> its peak, one step down, then cancelled; rain intensity
for the gauges follows the rain-bearing signals.

Messages of one district are 20-30 minutes apart and districts start 20 minutes apart, so the
feed always has a new message within 30 simulated minutes (a cycle starts 20 minutes after the
previous one ends).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from feeds.simulator.geography import CityGeo

# hazard -> (GB/T 35965.1 event code, colour ladder)
HAZARDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "台风": ("11B01", ("蓝色", "黄色", "橙色", "红色")),
    "暴雨": ("11B03", ("黄色", "橙色", "红色")),
    "大风": ("11B06", ("蓝色", "黄色", "橙色", "红色")),
    "雷雨大风": ("11B20", ("黄色", "橙色", "红色")),
    "高温": ("11B09", ("黄色", "橙色", "红色")),
    "大雾": ("11B17", ("黄色", "橙色", "红色")),
}
_ORDINARY = ("暴雨", "雷雨大风", "大风", "高温", "大雾")
_ORDINARY_WEIGHTS = (40, 20, 15, 15, 10)
RAIN_HAZARDS = frozenset({"台风", "暴雨", "雷雨大风"})
COLOUR_RANK = {"蓝色": 1, "黄色": 2, "橙色": 3, "红色": 4}
RAIN_MM_H = {0: 0.0, 1: 4.0, 2: 12.0, 3: 30.0, 4: 55.0}  # by colour rank
STAGGER = timedelta(minutes=20)
CYCLE_GAP = timedelta(minutes=20)


@dataclass(frozen=True, slots=True)
class CapMessage:
    identifier: str
    sent: datetime
    msg_type: str  # Alert | Update | Cancel
    adcode: str
    hazard: str
    colour: str
    action: str  # 发布 升级 降级 继续 解除
    root: str  # identifier of the chain's Alert (what Update/Cancel reference)
    root_sent: datetime


@dataclass(slots=True)
class Cycle:
    start: datetime
    end: datetime
    hazard: str
    messages: list[CapMessage] = field(default_factory=list)  # sorted by sent


class Weather:
    """Cycles generated lazily from ``anchor``; a storm within reach (``storm_km(t)`` is its
    distance from the city, None when far) makes a cycle a typhoon one."""

    def __init__(self, seed: int, city: CityGeo, anchor: datetime,
                 storm_km: Callable[[datetime], float | None]) -> None:
        self.seed, self.city, self._anchor = seed, city, anchor
        self._storm_km = storm_km
        self.cycles: list[Cycle] = []

    def _extend(self, until: datetime) -> None:
        while not self.cycles or self.cycles[-1].end < until:
            start = self.cycles[-1].end + CYCLE_GAP if self.cycles else self._anchor
            self.cycles.append(self._make_cycle(len(self.cycles), start))

    def _make_cycle(self, k: int, start: datetime) -> Cycle:
        rng = random.Random(f"{self.seed}:weather:{k}")
        km = self._storm_km(start)
        hazard = "台风" if km is not None else rng.choices(_ORDINARY, _ORDINARY_WEIGHTS)[0]
        top = 3 if km is None else _typhoon_top(km)
        codes = [d.adcode for d in self.city.districts]
        rng.shuffle(codes)
        msgs: list[CapMessage] = []
        for i, adcode in enumerate(codes):
            msgs.extend(_district_chain(rng, adcode, hazard, start + i * STAGGER, top))
        msgs.sort(key=lambda m: (m.sent, m.identifier))
        return Cycle(start, msgs[-1].sent, hazard, msgs)

    def messages(self, after: datetime, upto: datetime) -> list[CapMessage]:
        """Messages sent in (after, upto]."""
        self._extend(upto)
        return [m for c in self.cycles if c.end > after and c.start <= upto
                for m in c.messages if after < m.sent <= upto]

    def colour_at(self, adcode: str, t: datetime) -> tuple[str, int]:
        """(hazard, colour rank) of the district's signal in force at ``t``; rank 0 = none."""
        self._extend(t)
        i = bisect.bisect_right([c.start for c in self.cycles], t) - 1
        if i < 0:
            return "", 0
        cycle = self.cycles[i]
        last = None
        for m in cycle.messages:
            if m.sent > t:
                break
            if m.adcode == adcode:
                last = m
        if last is None or last.msg_type == "Cancel":
            return cycle.hazard, 0
        return cycle.hazard, COLOUR_RANK[last.colour]

    def rain_mm_h(self, adcode: str, t: datetime) -> float:
        hazard, rank = self.colour_at(adcode, t)
        return RAIN_MM_H[rank] if hazard in RAIN_HAZARDS else 0.0

    def prune(self, before: datetime) -> None:
        while len(self.cycles) > 2 and self.cycles[1].end < before:
            self.cycles.pop(0)


def _typhoon_top(km: float) -> int:
    """Highest typhoon signal (ladder index) a storm this far away warrants: red only when close."""
    return 1 if km > 500 else 2 if km > 250 else 3


def _district_chain(rng: random.Random, adcode: str, hazard: str, t: datetime, top: int = 3) -> list[CapMessage]:
    """Alert at the first colour, Updates up to the peak (held a while), one step down, Cancel."""
    ladder = HAZARDS[hazard][1]
    peak = min(top, rng.choices(range(len(ladder)), (40, 30, 20, 10)[: len(ladder)])[0])
    plan = [(ladder[0], "发布")] + [(ladder[i], "升级") for i in range(1, peak + 1)]
    plan += [(ladder[peak], "继续")] * rng.randint(0, 3)
    if peak >= 1:
        plan.append((ladder[peak - 1], "降级"))
    plan.append((plan[-1][0], "解除"))
    ident = _identifier(adcode, t)
    out: list[CapMessage] = []
    for i, (colour, action) in enumerate(plan):
        if i:
            t += timedelta(minutes=rng.randint(20, 30))
        msg_type = "Alert" if i == 0 else "Cancel" if action == "解除" else "Update"
        out.append(CapMessage(ident if i == 0 else _identifier(adcode, t), t, msg_type, adcode, hazard,
                              colour, action, ident, out[0].sent if out else t))
    return out


def _identifier(adcode: str, t: datetime) -> str:
    """GB/T 35965.1 style: the issuing unit's code (division code first) + '_' + send time."""
    return f"{adcode}00000000_{t:%Y%m%d%H%M%S}"
