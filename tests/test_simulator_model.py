"""The simulator's world: reproducibility, geography, volumes, cadence, lifecycles and SLAs,
weather, storms, the emergency response and pruning. A Simulator is stepped by hand; no test
waits on the wall clock."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from shapely.geometry import Point

from dashboard.contract import geo
from dashboard.contract.event import BEIJING
from feeds.simulator.engine import Simulator
from feeds.simulator.ledger import RETENTION_H
from feeds.simulator.lifecycle import PROFILES, draw_timeline
from feeds.simulator.model import CaseVersion
from feeds.simulator.traffic import DEFAULT_VOLUMES

# one group: the module's tests share module fixtures (simulated runs) built once on one worker
pytestmark = pytest.mark.xdist_group("simulator-model")

START = datetime(2026, 11, 23, 0, 0, tzinfo=BEIJING)  # a Monday
DAY = 24 * 3600


def scaled(factor: float) -> dict[str, float]:
    return {k: v * factor for k, v in DEFAULT_VOLUMES.items()}


@pytest.fixture(scope="module")
def day_sim(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    """Full Jiangmen volumes, one simulated day after a 2-hour backfill."""
    sim = Simulator(seed=7, start=START, data_dir=tmp_path_factory.mktemp("day"))
    for _ in range(24):
        sim.step(3600)
    return sim


def dump(sim: Simulator) -> dict[str, list[tuple[str, str, bytes]]]:
    out = {}
    for feed, log in sim.store.logs.items():
        rows = []
        for e in log.entries:
            rec = sim.renderer.record(feed, e)
            rows.append((e.time.isoformat(), e.key, rec if isinstance(rec, bytes) else orjson.dumps(rec)))
        out[feed] = rows
    return out


def test_same_seed_and_times_give_identical_records(tmp_path: Path) -> None:
    def run(seed: int, step_s: int, name: str) -> dict[str, list[tuple[str, str, bytes]]]:
        sim = Simulator(seed=seed, start=START, backfill_h=1, volumes=scaled(0.1), data_dir=tmp_path / name)
        for _ in range(3 * 3600 // step_s):
            sim.step(step_s)
        return dump(sim)

    coarse, fine = run(3, 3600, "a"), run(3, 300, "b")
    assert coarse == fine  # the step size does not matter, only the simulated times
    assert all(coarse[f] for f in coarse)
    other = run(4, 3600, "c")
    assert other["12345"] != coarse["12345"]


@pytest.mark.parametrize("city", ["440700", "445300"])
def test_cases_lie_inside_their_district_with_real_town_codes(city: str, tmp_path: Path) -> None:
    sim = Simulator(seed=2, start=START, backfill_h=1, volumes=scaled(0.2), city=city, data_dir=tmp_path)
    sim.step(4 * 3600)
    polygons = {d.adcode: d.geometry for d in geo.districts(city)}
    towns = {t.code: t.adcode for t in geo.towns(city)}
    n = 0
    for feed in sim.model.case_feeds:
        for case in sim.cases(feed):
            p = case.place
            assert polygons[p.adcode].contains(Point(p.lon, p.lat)), (feed, case.no)
            assert towns[p.town] == p.adcode
            assert re.fullmatch(rf"{p.town}\d{{3}}", p.village)
            assert re.fullmatch(rf"{p.village}-\d{{2}}", p.grid)
            n += 1
    assert n > 100


def test_jiangmen_has_its_villages_and_grids(day_sim: Simulator) -> None:
    assert len(day_sim.city.villages) == 1330
    assert len(day_sim.city.grids) == 2954
    assert len({g.id for g in day_sim.city.grids}) == 2954
    assert len(day_sim.city.towns) == 73


@pytest.mark.parametrize("feed", [f for f, v in DEFAULT_VOLUMES.items() if v >= 300])
def test_daily_volume_within_a_quarter_of_configured(day_sim: Simulator, feed: str) -> None:
    created = [c for c in day_sim.cases(feed) if START <= c.created < START + timedelta(days=1)]
    assert abs(len(created) - DEFAULT_VOLUMES[feed]) <= 0.25 * DEFAULT_VOLUMES[feed]


def test_nights_are_quiet(day_sim: Simulator) -> None:
    hours = Counter(c.created.hour for c in day_sim.cases("12345"))
    assert hours[3] * 5 < hours[10]


def test_every_feed_grows_in_every_half_hour(day_sim: Simulator) -> None:
    for feed, log in day_sim.store.logs.items():
        blocks = {int((e.time - START).total_seconds() - 1) // 1800 for e in log.entries if e.time > START}
        missing = sorted(set(range(48)) - blocks)
        assert not missing, f"{feed}: silent half hours {missing}"


def first_at(case: object, stage: str) -> datetime | None:
    return next((s.at for s in case.steps if s.stage == stage), None)  # type: ignore[attr-defined]


def test_some_cases_breach_their_sla_most_do_not(day_sim: Simulator) -> None:
    def share_late(feed: str, stage: str, limit: timedelta, only_urgent: bool = False) -> float:
        cases = [c for c in day_sim.cases(feed) if not only_urgent or c.priority == 1]
        times = [(c.created, first_at(c, stage)) for c in cases]
        done = [(a, b) for a, b in times if b is not None]
        return sum(1 for a, b in done if b - a > limit) / len(done)

    checks = [
        share_late("qy117", "replied", timedelta(hours=1)),  # 117: reply within 1 hour
        share_late("qy117", "solution", timedelta(days=1)),  # 117: solution within 1 day
        share_late("12345", "in_progress", timedelta(hours=2), only_urgent=True),  # urgent feedback
        share_late("110", "onscene", timedelta(minutes=15)),
        share_late("120", "onscene", timedelta(minutes=15)),
    ]
    assert all(0 < late < 0.5 for late in checks), checks


def test_lifecycles_are_ordered_and_sometimes_cancelled_or_redone() -> None:
    created = START
    for feed, profile in PROFILES.items():
        rng = random.Random(feed)
        timelines = [draw_timeline(profile, created, rng, urgent=i % 20 == 0) for i in range(1000)]
        for steps in timelines:
            assert steps[0].status == "reported" and steps[0].at == created
            assert all(a.at < b.at for a, b in zip(steps, steps[1:], strict=False))
            assert all(s.at.microsecond == 0 for s in steps)  # upstreams print whole seconds
            assert steps[-1].status in ("closed", "rated", "cancelled")
        assert any(s[-1].status == "cancelled" for s in timelines), feed
        if profile.rate is not None:
            assert any(s[-1].satisfaction in ("满意", "基本满意") for s in timelines)
    rng = random.Random(1)
    redone = [max(s.redo for s in draw_timeline(PROFILES["12345"], created, rng, False)) for _ in range(8000)]
    assert any(r >= 3 for r in redone)


def test_status_changes_are_new_versions_with_new_times(day_sim: Simulator) -> None:
    versions: dict[str, list[CaseVersion]] = {}
    for e in day_sim.store.logs["12345"].entries:
        versions.setdefault(e.key, []).append(e.fact)
    for key, vs in list(versions.items())[:500]:
        assert [v.i for v in vs] == list(range(vs[0].i, vs[0].i + len(vs))), key
        times = [v.case.steps[v.i].at for v in vs]
        assert times == sorted(times) and len(set(times)) == len(times)


def test_personal_data_appears_for_masking_downstream(day_sim: Simulator) -> None:
    cases = day_sim.cases("12345")
    assert all(re.fullmatch(r"1[3-9]\d0000\d{4}", c.person.phone) for c in cases)
    assert all(re.fullmatch(r"\d{17}[\dX]", c.person.id_number) for c in cases)
    assert any(re.search(r"1[3-9]\d0000\d{4}", c.text) for c in cases)
    assert any(re.search(r"\d{17}[\dX]", c.text) for c in cases)


def test_weather_warnings_escalate_then_cancel_with_references(day_sim: Simulator) -> None:
    msgs = [e.fact for e in day_sim.store.logs["qx"].entries]
    chains: dict[str, list] = {}
    for m in msgs:
        chains.setdefault(m.root, []).append(m)
    complete = [c for c in chains.values() if c[0].msg_type == "Alert" and c[-1].msg_type == "Cancel"]
    assert len(complete) > 10
    for chain in complete:
        assert all(m.msg_type == "Update" for m in chain[1:-1])
        assert chain[0].identifier.startswith(chain[0].adcode)
    colours = {m.colour for m in msgs}
    assert {"黄色", "橙色"} <= colours


def test_gauges_report_every_ten_minutes(day_sim: Simulator) -> None:
    readings = [e.fact for e in day_sim.store.logs["sw"].entries if e.time > START]
    assert len({r.station.code for r in readings}) == 40
    assert len(readings) == 40 * 6 * 24
    assert any(r.rain_mm and r.rain_mm > 0 for r in readings)


def test_the_default_season_keeps_its_storms_at_sea(tmp_path: Path) -> None:
    """Without a scenario storms form and recurve far out at sea one after another: the tf feed
    keeps its cadence, the city gets no typhoon warning and no response, boats go fishing
    (the typhoon scenario, tests/test_simulator_scenario.py, brings one ashore)."""
    sim = Simulator(seed=1, start=START, backfill_h=0, volumes=scaled(0), data_dir=tmp_path)
    for _ in range(4 * 24):
        sim.step(3600)
    storms = sim.model.storms.storms
    first = storms[0]
    assert first.fixes[0].lat < sim.city.centre[0] and first.fixes[0].lon > sim.city.centre[1]  # from the SE
    assert all(b.time - a.time == timedelta(minutes=30) for a, b in zip(first.fixes, first.fixes[1:], strict=False))
    assert not first.landfalls
    assert len(storms) >= 2 and storms[1].start == first.end + timedelta(minutes=30)
    assert not [e for e in sim.store.logs["qx"].entries if e.fact.hazard == "台风"]
    responses = [e.fact for e in sim.store.logs["yj"].entries if e.fact.__class__.__name__ == "Response"]
    assert all(r.hazard == "防汛" and r.severity <= 2 for r in responses)
    statuses = Counter(e.fact.status for e in sim.store.logs["hs"].entries)
    assert statuses["作业"] > 0 and statuses["在港"] > 0


def test_old_records_are_pruned(tmp_path: Path) -> None:
    sim = Simulator(seed=5, start=START, backfill_h=0, volumes=scaled(0.05), data_dir=tmp_path)
    for _ in range(60):
        sim.step(3600)
    horizon = sim.now - timedelta(hours=RETENTION_H + 1)
    for feed, log in sim.store.logs.items():
        assert all(e.time >= horizon for e in log.entries), feed
        assert all(e.time >= horizon for e in log.served.values()), feed
    assert len(sim.store.logs["hs"].entries) <= 150 * 4 * (RETENTION_H + 1)
