"""Normalised case events in bulk, for benchmarks and replay tests of the live state.

The cases come from the simulator's own models (case types, places inside the real district
boundaries, lognormal lifecycles with SLA breaches, reopenings and ratings), but are emitted as
normalised events directly, skipping the upstream formats, so a million of them are cheap. A
share of 110 reports is echoed by a 12345 call or a grid report from the same spot a few minutes
later, so incident linking has something to find.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.contract.event import make_event_id
from feeds.simulator.cases import make_case
from feeds.simulator.geography import CityGeo
from feeds.simulator.traffic import DEFAULT_VOLUMES

ECHO_P = 0.05  # share of 110 reports also reported through 12345 or the grid app
ECHO_CATEGORY = {"police_public_order": "dispute", "police_criminal": "public_order",
                 "police_assist": "public_order", "traffic_accident": "traffic_safety"}


def events(n: int, end: datetime, seed: int = 1, span: timedelta = timedelta(days=20),
           city: str = "440700") -> Iterator[dict[str, Any]]:
    """About ``n`` events of cases reported over ``span`` before ``end`` (steps after ``end`` are not
    emitted: those cases are still open). Cases are interleaved in time order of their reports."""
    geo = CityGeo(city)
    rng = random.Random(seed)
    feeds = list(DEFAULT_VOLUMES)
    weights = [DEFAULT_VOLUMES[f] for f in feeds]
    per_case = 5.0
    cases = max(1, int(n / per_case))
    start = end - span
    emitted, seq = 0, 0
    step_s = span.total_seconds() / cases
    t = start
    while emitted < n:
        seq += 1
        t += timedelta(seconds=rng.expovariate(1 / step_s))
        if t >= end:
            t = start + timedelta(seconds=rng.uniform(0, span.total_seconds()))
        feed = rng.choices(feeds, weights)[0]
        for ev in _case_events(feed, seq, t, seed, geo, end, rng):
            emitted += 1
            yield ev


def _case_events(feed: str, seq: int, created: datetime, seed: int, geo: CityGeo, end: datetime,
                 rng: random.Random) -> Iterator[dict[str, Any]]:
    case = make_case(feed, seq, created, seed, geo)
    case.no = f"S{seed}-{case.no}"  # runs with different seeds never share a case
    case_id = f"{feed}:{case.no}"
    yield from _steps(case, case_id, feed, case.ctype.category, end)
    if feed == "110" and case.ctype.category in ECHO_CATEGORY and rng.random() < ECHO_P * 4:
        echo = make_case("12345" if rng.random() < 0.5 else "wg", seq, created + timedelta(minutes=rng.uniform(1, 20)),
                         seed, geo)
        echo.place = case.place
        echo.no = f"S{seed}-{echo.no}"
        yield from _steps(echo, f"{echo.feed}:E{case.no}", echo.feed, ECHO_CATEGORY[case.ctype.category], end)


def _steps(case: Any, case_id: str, feed: str, category: str, end: datetime) -> Iterator[dict[str, Any]]:
    p = case.place
    location = {"lat": p.lat, "lon": p.lon, "adcode": p.adcode, "town": p.town, "village": p.village,
                "grid": p.grid, "address": p.address}
    reported = case.steps[0].at
    for i, step in enumerate(case.steps):
        if step.at > end:
            return
        attrs: dict[str, Any] = {"service_code": case.ctype.code, "service_name": case.ctype.name}
        if step.satisfaction:
            attrs["satisfaction"] = step.satisfaction
        if step.redo:
            attrs["redo_count"] = step.redo
        yield {
            "schema": 1, "event_id": make_event_id(feed, case.no, i, step.stage, step.at.isoformat()),
            "case_id": case_id, "source": feed, "kind": "case", "status": step.status, "category": category,
            "priority": case.priority, "occurred_at": step.at.isoformat(), "reported_at": reported.isoformat(),
            "ingested_at": datetime.now(UTC).isoformat(), "location": location, "department": case.department,
            "summary": case.ctype.text.format(addr=p.address), "attrs": attrs,
        }
