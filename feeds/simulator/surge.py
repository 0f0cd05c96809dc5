"""Incidents a storm brings: more 110/119/120/122/12345/wg cases of the kinds a typhoon causes
(people trapped by water, fallen trees and wires, outages), on top of the ordinary traffic,
scaled by the response level and placed mostly in the districts hit hardest. Arrivals are a
Poisson draw per half-hour block from (seed, feed, block), like the ordinary ones.
"""

from __future__ import annotations

import random
from datetime import datetime

from feeds.simulator.catalog import CaseType
from feeds.simulator.geography import CityGeo
from feeds.simulator.response import Emergency
from feeds.simulator.traffic import DEFAULT_VOLUMES, block_offsets

# extra cases per day at level I, Jiangmen scale (the ordinary volumes scale them for a test run)
PER_DAY_AT_LEVEL_I: dict[str, float] = {"12345": 1500, "110": 300, "119": 150, "120": 100, "122": 120, "wg": 1000}
LEVEL_SHARE = {0: 0.0, 1: 0.1, 2: 0.3, 3: 0.6, 4: 1.0}  # of the level-I surge, by severity
HIT_WEIGHT = 4  # a district's weight is 1 + HIT_WEIGHT x its highest signal (0..4)


def _t(code: str, name: str, category: str, weight: float, text: str) -> CaseType:
    return CaseType(code, name, category, weight, text)


# the CAD codes follow the adapter's type prefixes (FORMATS.md), the grid codes its event types
STORM_TYPES: dict[str, tuple[CaseType, ...]] = {
    "12345": (_t("JM101", "停电报修", "public_service", 40, "反映{addr}受台风影响停电，至今未恢复供电。"),
              _t("JM102", "停水报修", "public_service", 20, "反映{addr}受台风影响停水。"),
              _t("JM103", "树木倒伏", "rescue", 20, "反映{addr}大树被风吹倒，压住道路。"),
              _t("JM104", "水浸求助", "flood_drought", 20, "反映{addr}水浸严重，请求排水。")),
    "110": (_t("Police.AssistTrapped", "被困求助", "police_assist", 50, "报警称{addr}有群众被水围困求助。"),
            _t("Police.TrafficObstruction", "道路阻断", "traffic_accident", 30, "报警称{addr}倒树阻断道路。"),
            _t("Police.AssistGeneral", "群众求助", "police_assist", 20, "群众在{addr}因台风求助。")),
    "119": (_t("Fire.Rescue.Flood", "水浸救援", "rescue", 35, "{addr}水浸，有人员被困。"),
            _t("Rescue.FallenTree", "倒树清障", "rescue", 30, "{addr}大树倒伏压住车辆。"),
            _t("Fire.Electrical", "电线起火", "fire", 20, "{addr}电线被风吹断起火。"),
            _t("Rescue.Water", "水域救援", "rescue", 15, "{addr}河段有人被洪水冲走。")),
    "120": (_t("Medical.Trauma", "外伤", "medical", 70, "{addr}有人被风吹落物砸伤。"),
            _t("Medical.Drowning", "溺水", "medical", 30, "{addr}有人溺水。")),
    "122": (_t("Traffic.Obstruction", "道路阻断", "traffic_accident", 50, "{addr}倒树阻断交通。"),
            _t("Traffic.Collision", "车辆碰撞", "traffic_accident", 50, "{addr}雨天路滑两车相撞。")),
    "wg": (_t("08", "防汛防旱", "flood_drought", 60, "巡查发现{addr}低洼地段水浸，需转移群众。"),
           _t("09", "便民服务", "public_service", 40, "{addr}停电停水，独居老人需要帮助。")),
}


class Surge:
    def __init__(self, seed: int, city: CityGeo, emergency: Emergency, volumes: dict[str, float]) -> None:
        self.seed, self.city, self.emergency = seed, city, emergency
        # a run at a tenth of the ordinary volumes gets a tenth of the surge too
        self._per_day = {f: n * volumes.get(f, 0) / DEFAULT_VOLUMES[f] for f, n in PER_DAY_AT_LEVEL_I.items()}

    def offsets(self, feed: str, index: int, block_start: datetime) -> list[int]:
        """Arrival offsets (s) of the storm's cases in a half-hour block, from its level at the start."""
        lam = self._per_day.get(feed, 0.0) * LEVEL_SHARE[self.emergency.severity_at(block_start)] / 48
        return block_offsets(self.seed, f"{feed}:storm", index, lam) if lam > 0 else []

    def district(self, feed: str, key: str, at: datetime) -> str:
        """Where a storm case (``key``: unique per case) happens: mostly where the signals are highest."""
        codes = [d.adcode for d in self.city.districts]
        weights = [len(self.city.towns_of(a)) * (1 + HIT_WEIGHT * self.emergency.district_rank(a, at)) for a in codes]
        return random.Random(f"{self.seed}:{feed}:storm-place:{key}").choices(codes, weights)[0]
