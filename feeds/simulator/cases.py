"""One upstream case: who reported what, where, and its pre-drawn timeline."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feeds.simulator.catalog import DEPARTMENTS, TYPES, CaseType
from feeds.simulator.geography import CityGeo, Place
from feeds.simulator.lifecycle import PROFILES, Step, draw_timeline
from feeds.simulator.people import (
    Person,
    contact_line,
    credit_code,
    enterprise_name,
    fake_person,
)

# upstream id formats, by feed: {d} = yyyymmdd of creation, {n} = the day's sequence number
ID_FORMATS: dict[str, str] = {
    "12345": "JM{d}{n:06d}", "qy117": "QY{d}{n:05d}", "cg": "CG{d}{n:05d}",
    "110": "110-{d}-{n:06d}", "119": "119-{d}-{n:06d}", "120": "120-{d}-{n:06d}", "122": "122-{d}-{n:06d}",
    "wg": "WG{d}{n:06d}", "xf": "XF{d}{n:05d}", "tj": "TJ{d}{n:05d}", "aj": "YH{d}{n:05d}",
    "hb": "HB{d}{n:05d}", "sj": "SJ{d}{n:06d}", "mz": "MZ{d}{n:05d}", "wj": "WJ{d}{n:05d}",
    "sp": "SP{d}{n:06d}",
}
CONTACT_IN_TEXT_P = 0.25  # share of descriptions that quote a phone or ID number
PRIORITY_WEIGHTS = (5, 15, 60, 20)  # priorities 1 (urgent) .. 4 (low)


@dataclass(slots=True, eq=False)
class Case:
    feed: str
    no: str
    created: datetime
    ctype: CaseType
    priority: int
    place: Place
    person: Person
    department: str
    text: str
    steps: list[Step]
    extra: dict[str, Any] = field(default_factory=dict)
    next_i: int = 0  # the next step to emit

    def stage_times(self, upto: int) -> dict[str, datetime]:
        """First time each stage was reached, up to step ``upto``."""
        out: dict[str, datetime] = {}
        for s in self.steps[: upto + 1]:
            out.setdefault(s.stage, s.at)
        return out


def make_case(feed: str, seq: int, created: datetime, seed: int, city: CityGeo,
              types: tuple[CaseType, ...] | None = None, adcode: str | None = None) -> Case:
    """A new case; ``types`` and ``adcode`` narrow what and where (a storm's cases)."""
    no = ID_FORMATS[feed].format(d=created.strftime("%Y%m%d"), n=seq)
    rng = random.Random(f"{seed}:{feed}:case:{no}")
    kinds = types or TYPES[feed]
    ctype = rng.choices(kinds, [t.weight for t in kinds])[0]
    priority = rng.choices((1, 2, 3, 4), PRIORITY_WEIGHTS)[0]
    place = city.place(rng, adcode)
    person = fake_person(rng, place.adcode)
    text = ctype.text.format(addr=place.address)
    if rng.random() < CONTACT_IN_TEXT_P:
        text += contact_line(rng, person)
    dept = rng.choice(DEPARTMENTS[feed]).format(d=place.district, t=place.town_name, c=city.name)
    steps = draw_timeline(PROFILES[feed], created, rng, urgent=priority == 1)
    extra = EXTRAS[feed](rng, place, city) if feed in EXTRAS else {}
    return Case(feed, no, created, ctype, priority, place, person, dept, text, steps, extra)


def _units(prefix: str, kind: str) -> Callable[[random.Random, Place, CityGeo], dict[str, Any]]:
    def draw(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
        n = rng.choices((1, 2, 3), (70, 22, 8))[0]
        units = [(f"{prefix}{place.adcode[-2:]}-{rng.randrange(1, 40):02d}", kind) for _ in range(n)]
        return {"units": units}
    return draw


def _enterprise(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    return {"enterprise": enterprise_name(rng, city.short), "credit_code": credit_code(rng, place.adcode)}


def _dispute(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    return {"party_b": fake_person(rng, place.adcode), "risk": rng.choices("绿黄红", (70, 25, 5))[0]}


def _petition(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    form = rng.choices(("来信", "来访", "网上信访", "领导信箱"), (20, 30, 45, 5))[0]
    persons = rng.choices((1, 2, 3, 6, 12), (70, 12, 8, 7, 3))[0]
    return {"form": form, "persons": persons}


def _video(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    device = f"{place.adcode}00001320{rng.randrange(1000000):06d}"
    return {"device": device, "device_name": f"{place.town_name}{rng.randrange(1, 99):02d}号高点球机",
            "confidence": round(rng.uniform(0.62, 0.99), 2)}


def _assistance(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    return {"family": rng.randint(1, 6), "amount": rng.choice((800, 1200, 1500, 2000, 3000, 5000))}


def _health(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    org = f"{place.district}{rng.choice(('人民医院', '中医院', '妇幼保健院', '疾病预防控制中心'))}"
    return {"org": org, "patients": rng.choices((1, 3, 5, 12, 30), (40, 25, 20, 10, 5))[0],
            "deaths": 1 if rng.random() < 0.03 else 0}


def _environment(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    return {"channel": rng.choices(("12369热线", "网络举报", "微信公众号", "来信来访"), (50, 25, 20, 5))[0]}


def _market(rng: random.Random, place: Place, city: CityGeo) -> dict[str, Any]:
    return {"subject": enterprise_name(rng, city.short), "credit_code": credit_code(rng, place.adcode),
            "amount": rng.choice((59, 128, 399, 1280, 2600, 9800))}


EXTRAS: dict[str, Callable[[random.Random, Place, CityGeo], dict[str, Any]]] = {
    "110": _units("XL", "巡逻车"), "119": _units("XF", "水罐消防车"), "120": _units("JH", "救护车"),
    "122": _units("JJ", "交警铁骑"), "qy117": _enterprise, "aj": _enterprise, "tj": _dispute,
    "xf": _petition, "sp": _video, "mz": _assistance, "wj": _health, "hb": _environment, "sj": _market,
}
