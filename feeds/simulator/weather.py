"""Weather warnings (qx). Ordinary weather is a sequence of cycles: in each, one hazard sweeps
the districts, each district's signal going up to its peak, one step down, then cancelled; most
cycles stay blue or yellow, orange is occasional and red rare (the wall pins itself to the
emergency board on red). A storm's own signals (typhoon, rainstorm: signals.py) replace the
ordinary cycles while they last. Rain for the gauges follows the rain-bearing signals and the
storm's rain.

Messages of one district are 20-30 minutes apart and districts start 20 minutes apart, so the
feed always has a new message within 30 simulated minutes (a cycle starts 20 minutes after the
previous one ends; a storm's signals continue every 30-60 minutes per district).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from feeds.simulator.geography import CityGeo

if TYPE_CHECKING:
    from feeds.simulator.signals import Signals

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
RAIN_HAZARDS = frozenset({"暴雨", "雷雨大风"})  # ordinary hazards that rain (a storm's rain: signals.py)
COLOUR_RANK = {"蓝色": 1, "黄色": 2, "橙色": 3, "红色": 4}
RAIN_MM_H = {0: 0.0, 1: 4.0, 2: 12.0, 3: 30.0, 4: 55.0}  # by colour rank
# a cycle's highest signal (index into the hazard's ladder), by ladder length
CYCLE_TOP_WEIGHTS = {4: (45, 40, 12, 3), 3: (80, 17, 3)}
STAGGER = timedelta(minutes=20)
CYCLE_GAP = timedelta(minutes=20)
MAX_CYCLE = timedelta(hours=7)  # the longest a cycle can last (7 districts, longest chains)
SHORT_CYCLE = timedelta(hours=3)  # a cycle of first signals only lasts less than this
CALM_BEFORE = timedelta(hours=48)  # ordinary signals stay at yellow this long before a storm's


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
    """Ordinary cycles generated lazily from ``anchor``; the storms' ``signals`` pause them."""

    def __init__(self, seed: int, city: CityGeo, anchor: datetime, signals: Signals) -> None:
        self.seed, self.city, self._anchor = seed, city, anchor
        self.signals = signals
        self.cycles: list[Cycle] = []

    def _extend(self, until: datetime) -> None:
        while not self.cycles or self.cycles[-1].end < until:
            # the first cycle too starts after the anchor: a message sent at the anchor itself
            # falls in no segment (a, b] and would never be served
            start = (self.cycles[-1].end if self.cycles else self._anchor) + CYCLE_GAP
            self.cycles.append(self._make_cycle(len(self.cycles), start))

    def _make_cycle(self, k: int, start: datetime) -> Cycle:
        rng = random.Random(f"{self.seed}:weather:{k}")
        hazard = rng.choices(_ORDINARY, _ORDINARY_WEIGHTS)[0]
        ladder = HAZARDS[hazard][1]
        top = rng.choices(range(len(ladder)), CYCLE_TOP_WEIGHTS[len(ladder)])[0]
        busy = self.signals.busy(start, start + CALM_BEFORE)
        if busy is not None:
            lead = busy[0] - start
            if lead < SHORT_CYCLE:  # a storm's signals are about to start (or on): stay quiet
                return Cycle(start, max(busy[1], start + STAGGER), "", [])
            # before a storm the weather is fair: nothing that would start a response of its own
            top = 0 if lead < MAX_CYCLE else min(top, ladder.index("黄色"))
        codes = [d.adcode for d in self.city.districts]
        rng.shuffle(codes)
        msgs: list[CapMessage] = []
        for i, adcode in enumerate(codes):
            peak = max(0, top - rng.choice((0, 0, 1)))
            msgs.extend(_district_chain(rng, adcode, hazard, start + i * STAGGER, peak, busy is None))
        msgs.sort(key=lambda m: (m.sent, m.identifier))
        return Cycle(start, msgs[-1].sent, hazard, msgs)

    def messages(self, after: datetime, upto: datetime) -> list[CapMessage]:
        """Messages sent in (after, upto]: the ordinary cycles' and the storms'."""
        self._extend(upto)
        out = [m for c in self.cycles if c.end > after and c.start <= upto
               for m in c.messages if after < m.sent <= upto]
        out += self.signals.messages(after, upto)
        return sorted(out, key=lambda m: (m.sent, m.identifier))

    def _ordinary_at(self, adcode: str, t: datetime) -> tuple[str, int]:
        """(hazard, colour rank) of the district's ordinary signal in force at ``t``; rank 0 = none."""
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

    def in_force(self, adcode: str, t: datetime) -> dict[str, int]:
        """Hazard -> colour rank of every signal in force in the district at ``t``."""
        out = self.signals.in_force(adcode, t)
        hazard, rank = self._ordinary_at(adcode, t)
        if rank:
            out[hazard] = max(out.get(hazard, 0), rank)
        return out

    def rain_mm_h(self, adcode: str, t: datetime) -> float:
        hazard, rank = self._ordinary_at(adcode, t)
        ordinary = RAIN_MM_H[rank] if hazard in RAIN_HAZARDS else 0.0
        return ordinary + self.signals.rain_mm_h(adcode, t)

    def prune(self, before: datetime) -> None:
        while len(self.cycles) > 2 and self.cycles[1].end < before:
            self.cycles.pop(0)
        self.signals.prune()


def _district_chain(rng: random.Random, adcode: str, hazard: str, t: datetime, peak: int,
                    hold: bool = True) -> list[CapMessage]:
    """Alert at the first colour, Updates up to the peak (held a while), one step down, Cancel."""
    ladder = HAZARDS[hazard][1]
    plan = [(ladder[0], "发布")] + [(ladder[i], "升级") for i in range(1, peak + 1)]
    plan += [(ladder[peak], "继续")] * (rng.randint(0, 3) if hold else 0)
    if peak >= 1:
        plan.append((ladder[peak - 1], "降级"))
    plan.append((plan[-1][0], "解除"))
    ident = identifier(adcode, t)
    out: list[CapMessage] = []
    for i, (colour, action) in enumerate(plan):
        if i:
            t += timedelta(minutes=rng.randint(20, 30))
        msg_type = "Alert" if i == 0 else "Cancel" if action == "解除" else "Update"
        out.append(CapMessage(ident if i == 0 else identifier(adcode, t), t, msg_type, adcode, hazard,
                              colour, action, ident, out[0].sent if out else t))
    return out


def identifier(adcode: str, t: datetime) -> str:
    """GB/T 35965.1 style: the issuing unit's code (division code first) + '_' + send time."""
    return f"{adcode}00000000_{t:%Y%m%d%H%M%S}"
