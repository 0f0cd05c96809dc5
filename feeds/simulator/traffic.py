"""How many cases each feed receives: daily volumes at Jiangmen scale, a diurnal profile (quiet
at night) and a Poisson draw per half-hour block from a generator seeded by (seed, feed, block).
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from dashboard.contract.event import BEIJING

# cases per day, by feed code (Jiangmen scale)
DEFAULT_VOLUMES: dict[str, float] = {
    "12345": 3000, "110": 1500, "wg": 5000, "119": 80, "120": 300, "122": 200, "qy117": 100,
    "cg": 800, "xf": 60, "tj": 150, "aj": 200, "hb": 150, "sj": 300, "mz": 100, "wj": 100, "sp": 1000,
}

# relative activity by hour of day (Beijing), 0..23
_OFFICE = (0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 1.7, 1.1, 1.2, 1.8, 1.9,
           1.8, 1.5, 1.0, 0.8, 0.7, 0.5, 0.35, 0.25)
_PATROL = (0.03, 0.02, 0.02, 0.02, 0.03, 0.05, 0.2, 0.8, 2.0, 2.4, 2.4, 2.0, 0.9, 1.0, 2.2, 2.4,
           2.2, 1.6, 0.8, 0.4, 0.3, 0.2, 0.1, 0.05)
_PEOPLE = (0.7, 0.55, 0.45, 0.35, 0.3, 0.35, 0.5, 0.8, 1.0, 1.1, 1.1, 1.2, 1.2, 1.1, 1.1, 1.1,
           1.2, 1.3, 1.4, 1.5, 1.5, 1.4, 1.2, 0.9)
_CAMERA = (0.4, 0.35, 0.3, 0.3, 0.35, 0.5, 0.8, 1.1, 1.3, 1.3, 1.3, 1.3, 1.2, 1.2, 1.3, 1.3,
           1.3, 1.4, 1.3, 1.2, 1.0, 0.8, 0.6, 0.5)
PROFILE_OF: dict[str, tuple[float, ...]] = {
    "110": _PEOPLE, "119": _PEOPLE, "120": _PEOPLE, "122": _PEOPLE, "wg": _PATROL, "sp": _CAMERA,
}


def hourly_share(feed: str, hour: int) -> float:
    weights = PROFILE_OF.get(feed, _OFFICE)
    return weights[hour] / sum(weights)


def expected(feed: str, volume: float, block_start: datetime) -> float:
    """Expected arrivals in the half hour after ``block_start``."""
    return volume * hourly_share(feed, block_start.astimezone(BEIJING).hour) / 2


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def block_offsets(seed: int, feed: str, index: int, lam: float) -> list[int]:
    """Arrival offsets in seconds (1..1800) within block ``index``, sorted."""
    rng = random.Random(f"{seed}:{feed}:arrivals:{index}")
    return sorted(rng.randint(1, 1800) for _ in range(poisson(rng, lam)))


def filler_offset(seed: int, feed: str, index: int) -> int:
    """Where the one forced arrival of an otherwise silent block goes (cadence guarantee)."""
    return random.Random(f"{seed}:{feed}:filler:{index}").randint(1, 1800)
