"""The typhoon scenario: a real track replayed (operational JSON and CMA best track) or a
generated storm, and the world following it: typhoon and rainstorm signals per district, the
response level, check-ins of every grid, closures, command tasks, shelters, boats and the storm's
incidents; and what the upstreams serve parses with the product's adapters. Simulators are
stepped by hand, coarsely, and each run is shared by the tests that read it."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from dashboard.contract.event import BEIJING, Event
from feeds.adapters.base import Reject
from feeds.pipeline import Pipeline
from feeds.simulator.duty import CheckIn, Closure, Task
from feeds.simulator.engine import Simulator
from feeds.simulator.mobilise import Mobilisation
from feeds.simulator.replay import TrackError, load
from feeds.simulator.response import Response
from feeds.simulator.scenario import Scenario, describe
from feeds.simulator.server import create_app
from feeds.simulator.simtime import iso
from feeds.simulator.storm import km_between
from feeds.simulator.surge import STORM_TYPES
from feeds.simulator.traffic import DEFAULT_VOLUMES
from tests.conftest import SHARED_DATA
from tests.test_simulator_roundtrip import options

# one group: the module's tests share module fixtures (simulated runs) built once on one worker;
# slow: whole simulated days and storms, left out of the quick local tier
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("simulator-scenario")]

START = datetime(2026, 8, 3, 6, 0, tzinfo=BEIJING)
TAISHAN = "440781"
RUN_H = 90  # 48 h to the closest approach, then long enough for every stand-down


class Run:
    """A scenario simulator stepped through the storm; every record version it ever held is kept
    (the store forgets after 48 h)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.first_tf = create_app(sim).test_client().get("/typhoon/tf/active.json").get_json()
        self.entries: dict[str, dict[int, Any]] = defaultdict(dict)
        self._collect()
        for _ in range(RUN_H // 6):
            sim.step(6 * 3600)
            self._collect()

    def _collect(self) -> None:
        for feed, log in self.sim.store.logs.items():
            for e in log.entries:
                self.entries[feed].setdefault(e.seq, e)

    def facts(self, feed: str, kind: type | None = None) -> list[Any]:
        out = [e.fact for _, e in sorted(self.entries[feed].items())]
        return [f for f in out if kind is None or isinstance(f, kind)]

    @property
    def closest(self) -> datetime:
        assert self.sim.scenario is not None
        return self.sim.scenario.closest


def replay(tmp: Path, track: Path, storm: str | None = None, volume: float = 0.0) -> Run:
    sim = Simulator(seed=3, start=START, backfill_h=2, data_dir=tmp,
                    volumes={k: v * volume for k, v in DEFAULT_VOLUMES.items()},
                    scenario=Scenario("typhoon", track, storm))
    return Run(sim)


@pytest.fixture(scope="module")
def tracks() -> Path:
    """../shared/data/typhoon, for the module's shared runs (``shared_data`` is per test)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real samples not found at {SHARED_DATA}")
    return SHARED_DATA / "typhoon"


@pytest.fixture(scope="module")
def mangkhut(tracks: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """山竹 from the operational JSON, with a twentieth of the ordinary case traffic."""
    return replay(tmp_path_factory.mktemp("mangkhut"), tracks / "wztf_realtime_json/201822.json",
                  volume=0.05)


@pytest.fixture(scope="module")
def mangkhut_bst(tracks: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return replay(tmp_path_factory.mktemp("bst"), tracks / "cma_bst/CH2018BST.txt", "1822")


@pytest.fixture(scope="module")
def maon(tracks: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return replay(tmp_path_factory.mktemp("maon"), tracks / "wztf_realtime_json/202209.json")


@pytest.fixture(params=["json", "bst"])
def storm_run(request: pytest.FixtureRequest) -> Run:
    run: Run = request.getfixturevalue("mangkhut" if request.param == "json" else "mangkhut_bst")
    return run


def typhoon_chain(run: Run, adcode: str) -> list[Any]:
    return [m for m in run.facts("qx") if m.hazard == "台风" and m.adcode == adcode]


def responses(run: Run) -> list[Response]:
    return run.facts("yj", Response)


def level_changes(run: Run) -> list[tuple[datetime, int]]:
    return [(r.time, r.severity) for r in responses(run)]


def episode(run: Run) -> list[tuple[datetime, int]]:
    """The level changes of the storm's response, 启动 to 解除 (ordinary rain may bring others)."""
    changes = level_changes(run)
    top = max(range(len(changes)), key=lambda i: (changes[i][1], -i))
    begin = max(i for i in range(top + 1) if i == 0 or changes[i - 1][1] == 0)
    end = next(i for i in range(top, len(changes)) if changes[i][1] == 0)
    return changes[begin:end + 1]


def first_time(run: Run, severity: int) -> datetime:
    return next(t for t, s in episode(run) if s >= severity)


def first_below(run: Run, severity: int, after: datetime) -> datetime:
    return next(t for t, s in episode(run) if t > after and s < severity)


# -- the storm ---------------------------------------------------------------------------------
def test_mangkhut_is_shifted_to_arrive_two_days_after_the_start(mangkhut: Run) -> None:
    sc = mangkhut.sim.status()["scenario"]
    assert (sc["kind"], sc["source"], sc["storm_id"], sc["name_zh"], sc["name_en"]) == \
        ("typhoon", "replay", "201822", "山竹", "Mangkhut")
    assert abs(datetime.fromisoformat(sc["closest_approach"]) - (START + timedelta(hours=48))) <= timedelta(minutes=30)
    assert sc["closest_km"] < 80
    assert [lf["position"] for lf in sc["landfalls"]] == ["菲律宾吕宋岛东北部沿海", "广东省江门市台山沿海"]
    storm = mangkhut.sim.scenario.storm
    original = datetime(2018, 9, 16, 17, 0, tzinfo=BEIJING)
    assert datetime.fromisoformat(sc["landfalls"][1]["time"]) == original + timedelta(hours=sc["shift_h"])
    assert datetime.fromisoformat(sc["landfalls"][0]["time"]).minute == 10  # whole hours: fixes keep minutes
    gaps = {b.time - a.time for a, b in zip(storm.fixes, storm.fixes[1:], strict=False)}
    assert {timedelta(hours=1), timedelta(hours=3), timedelta(hours=6)} <= gaps  # the file's own spacing
    assert "山竹" in describe(sc) and "台山" in describe(sc)


def test_fixes_appear_as_time_passes_with_replay_remarks_and_forecasts(mangkhut: Run) -> None:
    first = mangkhut.first_tf[0]
    times = [datetime.fromisoformat(p["time"]).replace(tzinfo=BEIJING) for p in first["points"]]
    assert max(times) <= START < max(times) + timedelta(hours=3)  # what was on record at the start
    assert first["is_current"] == 1 and len(first["land"]) == 0
    point = first["points"][-1]
    assert point["remark"].startswith("历史路径回放，原始时间 2018-09-")
    assert point["forecast"][0]["sets"] == "中国" and len(point["forecast"][0]["points"]) == 4
    assert point["radius7"] > 0 and set(point["radius7_quad"]) == {"ne", "se", "sw", "nw"}
    tf = [e for e in mangkhut.entries["tf"].values() if e.time > START]
    ours = [e for e in tf if e.fact.storm.tfbh == "201822"]
    assert len(ours) > 50 and all(e.time == e.fact.storm.fixes[e.fact.fix_index].time for e in ours)


def test_after_landfall_missing_wind_circles_are_estimated(mangkhut: Run) -> None:
    storm = mangkhut.sim.scenario.storm
    after = [f for f in storm.fixes if f.time > storm.landfalls[1].time and f.wind >= 32.7]
    assert after and all(f.wind_radii()["radius12"] for f in after)  # the file prints 0 for every circle


# -- warnings ------------------------------------------------------------------------------------
def test_typhoon_signals_rise_to_red_at_taishan_and_are_cancelled(storm_run: Run) -> None:
    chain = typhoon_chain(storm_run, TAISHAN)
    order = list(dict.fromkeys(m.colour for m in chain if m.action in ("发布", "升级")))
    assert order == ["蓝色", "黄色", "橙色", "红色"]
    red = next(m.sent for m in chain if m.colour == "红色")
    assert storm_run.closest - timedelta(hours=12) < red < storm_run.closest
    assert chain[-1].msg_type == "Cancel" and chain[-1].sent > storm_run.closest
    assert all(m.root == chain[0].identifier for m in chain)  # one chain: Alert, Updates, Cancel
    gaps = [b.sent - a.sent for a, b in zip(chain, chain[1:], strict=False)]
    assert max(gaps) <= timedelta(minutes=60)  # a message at least every 30-60 minutes while in force
    reds = {m.adcode for m in storm_run.facts("qx") if m.hazard == "台风" and m.colour == "红色"}
    assert TAISHAN in reds and len(reds) >= 3  # and its neighbours along the track
    now = storm_run.sim.now
    for d in storm_run.sim.city.districts:
        assert "台风" not in storm_run.sim.model.weather.in_force(d.adcode, now)


def test_the_storms_rain_brings_rainstorm_signals_and_floods(mangkhut: Run) -> None:
    rain = [m for m in mangkhut.facts("qx") if m.hazard == "暴雨"]
    assert {"黄色", "橙色", "红色"} <= {m.colour for m in rain}
    assert all(abs(m.sent - mangkhut.closest) < timedelta(hours=30) for m in rain if m.colour == "红色")
    levels = [r for r in mangkhut.facts("sw") if r.station.kind != "PP" and r.warn != "0"]
    assert levels  # rivers above their warning level


def test_no_ordinary_warnings_while_the_storm_signals_last(mangkhut: Run) -> None:
    storm_msgs = [m for m in mangkhut.facts("qx") if m.hazard in ("台风", "暴雨")]
    first, last = storm_msgs[0].sent, max(m.sent for m in storm_msgs if m.hazard == "台风")
    ordinary = [m for m in mangkhut.facts("qx") if m.hazard not in ("台风", "暴雨") and first <= m.sent <= last]
    assert not ordinary


# -- response and command actions -----------------------------------------------------------------
def test_response_rises_iv_to_i_near_landfall_and_stands_down(storm_run: Run) -> None:
    changes = episode(storm_run)
    rising = [s for t, s in changes if t <= first_time(storm_run, 4)]
    assert rising == [1, 2, 3, 4]  # 启动 IV, 提升 III, II, I
    assert abs(first_time(storm_run, 4) - storm_run.closest) < timedelta(hours=12)
    down = [(t, s) for t, s in changes if t > first_time(storm_run, 4)]
    assert [s for _, s in down] == sorted({s for _, s in down}, reverse=True) and down[-1][1] == 0
    assert down[-1][0] > storm_run.closest
    assert all(b - a >= timedelta(hours=1) for (a, _), (b, _) in zip(down, down[1:], strict=False))
    storm_responses = [r for r in responses(storm_run) if changes[0][0] <= r.time <= changes[-1][0]]
    assert [r.action for r in storm_responses][:2] == ["启动", "提升"] and storm_responses[-1].action == "解除"
    assert {r.hazard for r in storm_responses[:4]} == {"防风"}


def test_every_grid_checks_in_from_level_iii_and_stands_down(mangkhut: Run) -> None:
    city, checkins = mangkhut.sim.city, mangkhut.facts("yj", CheckIn)
    iii = first_time(mangkhut, 2)
    first = {}
    for c in checkins:
        first.setdefault(c.grid.id, c)
    assert set(first) == {g.id for g in city.grids} and len(first) == 2954
    assert all(timedelta(0) < c.time - iii <= timedelta(hours=2) for c in first.values())
    versions: dict[str, list[CheckIn]] = defaultdict(list)
    for c in checkins:
        if c.action == "报到":
            versions[c.case].append(c)
    assert {len(v) for v in versions.values()} == {3}  # checked in at III, again at II and at I
    staff = [sum(v[i].staff for v in versions.values()) for i in range(3)]
    assert staff[0] < staff[1] < staff[2]  # more departments' people as the level rises
    below = first_below(mangkhut, 2, first_time(mangkhut, 4))
    ended = [c for c in checkins if c.action == "解除"]
    assert len(ended) == 2954 and all(c.time > below for c in ended)
    rec = mangkhut.sim.renderer.record("yj", next(e for e in mangkhut.entries["yj"].values()
                                                  if isinstance(e.fact, CheckIn)))
    assert rec["reportId"] == f"BD{rec['gridCode']}{episode(mangkhut)[0][0]:%Y%m%d%H%M}"
    assert rec["personsOnDuty"] == rec["gridWorkers"] + rec["deptStaff"] and 1 <= rec["gridWorkers"] <= 3
    assert rec["townCode"].startswith(rec["areaCode"]) and rec["depts"]


def test_closures_from_level_ii_lifted_once_it_falls(mangkhut: Run) -> None:
    closures = mangkhut.facts("yj", Closure)
    opened = [c for c in closures if c.action == "封闭"]
    lifted = {c.case: c for c in closures if c.action == "解除"}
    ii = first_time(mangkhut, 3)
    assert len(opened) >= 20 and all(c.time > ii and c.level >= 3 for c in opened)
    assert set(lifted) == {c.case for c in opened}
    below = first_below(mangkhut, 3, first_time(mangkhut, 4))
    assert all(c.time > below for c in lifted.values())
    assert {c.kind for c in opened} <= {"道路", "桥梁", "渡口", "景区", "区域"}
    assert all(mangkhut.sim.city.district_names[c.adcode] in c.name for c in opened)
    per_district = Counter(c.adcode for c in opened)
    assert per_district[TAISHAN] == max(per_district.values())  # more where it hits hardest


def test_tasks_are_dispatched_worked_on_and_completed(mangkhut: Run) -> None:
    begin, end = episode(mangkhut)[0][0], episode(mangkhut)[-1][0]
    tasks = defaultdict(list)
    for t in mangkhut.facts("yj", Task):
        if begin <= t.issued <= end:
            tasks[t.case].append(t)
    assert len(tasks) == 7 * (2 + 4 + 3 + 3)  # every district, every level's tasks
    assert all([v.action for v in vs] == ["下达", "执行中", "完成"] for vs in tasks.values())
    on_time = [vs[-1].time <= vs[-1].deadline for vs in tasks.values()]
    assert sum(on_time) / len(on_time) > 0.8
    names = {vs[0].name for vs in tasks.values()}
    assert {"转移低洼地区群众", "渔船回港避风", "巡查山塘水库", "加固临时建筑", "排查地质灾害隐患点"} <= names


def test_shelters_fill_with_the_transfers_and_empty_over_hours(mangkhut: Run) -> None:
    reports = mangkhut.facts("yj", Mobilisation)
    by_mark: dict[datetime, list[Mobilisation]] = defaultdict(list)
    for m in reports:
        by_mark[m.time].append(m)
    occupancy = [sum(m.shelter_occupancy for m in ms) for _, ms in sorted(by_mark.items())]
    peak = max(occupancy)
    assert peak > 20000 and occupancy[0] == 0 and occupancy[-1] == 0
    top = occupancy.index(peak)
    assert all(b - a < 0.3 * peak for a, b in zip(occupancy, occupancy[1:], strict=False))  # no jumps
    emptied = next(i for i in range(top, len(occupancy)) if occupancy[i] == 0)
    assert emptied - top >= 6  # people go home over hours, not at once
    for m in reports[-200:] + [m for ms in by_mark.values() for m in ms if m.shelter_occupancy][:200]:
        assert sum(t.occupancy for t in m.towns) == m.shelter_occupancy
        assert sum(t.transferred for t in m.towns) == m.transferred
        assert sum(t.deployed for t in m.towns) == m.deployed
        assert sum(t.shelters_open for t in m.towns) == m.shelters_open
        assert m.shelter_occupancy <= m.shelter_capacity


def test_boats_are_in_port_at_level_iii_and_above(mangkhut: Run) -> None:
    i_level = first_time(mangkhut, 4)
    fixes = [f for f in mangkhut.facts("hs") if i_level <= f.time <= i_level + timedelta(hours=3)]
    assert fixes and all(f.status == "避风" for f in fixes)


def test_the_storm_brings_incidents_where_it_hits(mangkhut: Run) -> None:
    extra = [c for feed in STORM_TYPES for c in mangkhut.sim.cases(feed) if c.ctype in STORM_TYPES[feed]]
    assert len(extra) > 40
    def level_at(t: datetime) -> int:
        return next((s for when, s in reversed(level_changes(mangkhut)) if when <= t), 0)

    blocks = [c.created - timedelta(seconds=(c.created - START).total_seconds() % 1800) for c in extra]
    assert all(level_at(b) >= 1 for b in blocks)  # drawn by the level at the start of their half hour
    places = Counter(c.place.adcode for c in extra)
    assert places.most_common(1)[0][0] in (TAISHAN, "440705", "440783", "440785")
    categories = {c.ctype.category for c in extra}
    assert {"rescue", "flood_drought", "public_service", "traffic_accident"} <= categories


# -- what is served ------------------------------------------------------------------------------
def parse(sim: Simulator, code: str, adapter: str, body: bytes) -> list[Event]:
    out = list(Pipeline().run(adapter, body, options(sim, code)))
    rejects = [o.reason for o in out if isinstance(o, Reject)]
    assert not rejects, rejects[:3]
    return [o for o in out if isinstance(o, Event)]


def test_served_documents_parse_with_zero_rejects(mangkhut: Run) -> None:
    sim = mangkhut.sim
    c = create_app(sim).test_client()
    since = iso(sim.now - timedelta(hours=47))
    yj = parse(sim, "yj", "json", c.get("/json/yj/reports", query_string={"since": since, "limit": 5000}).data)
    codes = Counter(e.attrs["report_code"] for e in yj)
    assert {"MOBILIZE", "CHECKIN", "CLOSURE", "TASK", "RESPONSE"} <= set(codes)
    statuses = {(e.attrs["report_code"], e.attrs["action"]): e.status for e in yj}
    assert statuses[("CHECKIN", "解除")] == "closed" and statuses[("CLOSURE", "解除")] == "closed"
    assert statuses[("TASK", "完成")] == "closed" and statuses[("TASK", "执行中")] == "in_progress"
    checkin = next(e for e in yj if e.attrs["report_code"] == "CHECKIN")
    assert checkin.case_id.startswith("yj:BD") and checkin.location.grid and checkin.location.town
    assert checkin.location.lat and checkin.kind == "mobilisation" and checkin.category == "emergency_response"
    mobilize = next(e for e in yj if e.attrs["report_code"] == "MOBILIZE")
    assert {"townCode", "townName", "personsDeployed", "personsTransferred", "sheltersOpened",
            "shelterOccupancy"} == set(mobilize.attrs["towns"][0])
    tf = parse(sim, "tf", "typhoon-json", orjson.dumps(mangkhut.first_tf))
    assert {e.case_id for e in tf} == {"tf:201822"} and tf[-1].attrs["remark"].startswith("历史路径回放")
    assert parse(sim, "tf", "typhoon-json", c.get("/typhoon/tf/active.json").data)  # the storm after it
    rss = c.get("/cap/qx/rss.xml").data.decode()
    links = re.findall(r"<link>http://localhost(/cap/qx/alerts/[^<]+)</link>", rss)
    alerts = [e for link in links[:300] for e in parse(sim, "qx", "cap", c.get(link).data)]
    assert alerts and all(e.location and e.location.adcode for e in alerts)


def test_the_storms_incidents_parse_into_their_categories(mangkhut: Run) -> None:
    sim = mangkhut.sim
    c = create_app(sim).test_client()
    since = {"since": iso(sim.now - timedelta(hours=47)), "limit": 5000}
    bodies = {f: ("cad", c.get(f"/cad/{f}/incidents", query_string=since).data) for f in ("110", "119", "120", "122")}
    bodies["wg"] = ("json", c.get("/json/wg/reports", query_string=since).data)
    bodies["12345"] = ("open311", c.get("/open311/12345/v2/requests.json?page_size=5000").data)
    checked = 0
    for feed, (adapter, body) in bodies.items():
        storm_cases = {x.no: x for x in sim.cases(feed) if x.ctype in STORM_TYPES[feed]}
        for e in parse(sim, feed, adapter, body):
            case = storm_cases.get(e.case_id.split(":", 1)[1])
            if case is not None:
                assert e.category == case.ctype.category, (feed, case.ctype.code)
                checked += 1
    assert checked > 20


def test_status_says_the_scenario_and_nothing_without_one(mangkhut: Run, tmp_path: Path) -> None:
    status = create_app(mangkhut.sim).test_client().get("/_control/status").get_json()
    assert {"storm_id", "name_zh", "name_en", "shift_h", "closest_approach", "landfalls"} <= set(status["scenario"])
    plain = Simulator(seed=1, start=START, backfill_h=0, volumes={k: 0 for k in DEFAULT_VOLUMES}, data_dir=tmp_path)
    assert plain.status()["scenario"] is None


# -- other tracks and storms -----------------------------------------------------------------------
def test_ma_on_passes_south_orange_for_taishan_and_a_level_ii_response(maon: Run) -> None:
    chain = typhoon_chain(maon, TAISHAN)
    assert max(("蓝色", "黄色", "橙色", "红色").index(m.colour) for m in chain) >= 2
    assert chain[-1].msg_type == "Cancel"
    assert max(s for _, s in episode(maon)) >= 3 and episode(maon)[-1][1] == 0
    assert maon.sim.status()["scenario"]["landfalls"][0]["position"] == "广东电白沿海"


def test_a_best_track_file_needs_its_storm_named(shared_data: Path) -> None:
    from feeds.simulator.geography import CityGeo

    city = CityGeo("440700")
    with pytest.raises(TrackError, match="--storm"):
        load(shared_data / "typhoon/cma_bst/CH2018BST.txt", None, city)
    with pytest.raises(TrackError, match="no track"):
        load(shared_data / "typhoon/cma_bst/CH2018BST.txt", "9999", city)
    chaba = load(shared_data / "typhoon/cma_bst/CH2022BST.txt", "Chaba", city)
    assert (chaba.tfbh, chaba.name, chaba.ename) == ("202203", "暹芭", "Chaba")
    assert chaba.landfalls and chaba.landfalls[0].position == "广东省沿海"  # computed: 电白 is not in 江门
    assert chaba.fixes[0].time.utcoffset() == timedelta(hours=8)  # best-track UTC read as Beijing time


def test_a_generated_storm_approaches_like_a_replay(tmp_path: Path) -> None:
    sim = Simulator(seed=5, start=START, backfill_h=0, volumes={k: 0 for k in DEFAULT_VOLUMES}, data_dir=tmp_path,
                    scenario=Scenario("typhoon", lead_h=30))
    sc = sim.status()["scenario"]
    assert sc["source"] == "generated" and sc["closest_km"] < 150
    assert abs(datetime.fromisoformat(sc["closest_approach"]) - (START + timedelta(hours=30))) <= timedelta(minutes=30)
    assert "江门市" in sc["landfalls"][0]["position"]
    storm = sim.scenario.storm
    assert all(b.time - a.time == timedelta(minutes=30) for a, b in zip(storm.fixes, storm.fixes[1:], strict=False))
    signals = sim.model.weather.signals.of(storm)
    assert {m.colour for m in signals.messages if m.hazard == "台风"} == {"蓝色", "黄色", "橙色", "红色"}


def test_same_seed_and_times_give_the_same_scenario_whatever_the_steps(shared_data: Path, tmp_path: Path) -> None:
    def run(step_s: int, name: str) -> list[tuple[str, str, bytes]]:
        sim = Simulator(seed=2, start=START, backfill_h=1, data_dir=tmp_path / name,
                        volumes={k: v * 0.02 for k, v in DEFAULT_VOLUMES.items()},
                        scenario=Scenario("typhoon", shared_data / "typhoon/wztf_realtime_json/201822.json",
                                          lead_h=22))
        for _ in range(8 * 3600 // step_s):
            sim.step(step_s)
        rows = []
        for feed in ("yj", "qx", "tf", "110", "wg"):
            for e in sim.store.logs[feed].entries:
                rec = sim.renderer.record(feed, e)
                rows.append((feed, e.key, rec if isinstance(rec, bytes) else orjson.dumps(rec)))
        return rows

    coarse, fine = run(4 * 3600, "a"), run(600, "b")
    assert coarse == fine
    assert any(b'"CHECKIN"' in r for _, _, r in coarse)


# -- the default world -----------------------------------------------------------------------------
def test_default_world_storms_stay_far_with_no_typhoon_warnings(tmp_path: Path) -> None:
    sim = Simulator(seed=1, start=START, backfill_h=0, volumes={k: 0 for k in DEFAULT_VOLUMES}, data_dir=tmp_path)
    seen_tf = set()
    for _ in range(8):
        sim.step(12 * 3600)
        seen_tf |= {e.seq for e in sim.store.logs["tf"].entries}
        served = create_app(sim).test_client().get("/typhoon/tf/active.json").get_json()
        assert len(served) == 1 and served[0]["points"]  # the feed always serves a storm
    for storm in sim.model.storms.storms:
        assert min(km_between((f.lat, f.lon), sim.city.centre) for f in storm.fixes) > 800
        assert not storm.landfalls
    assert len(seen_tf) >= 8 * 24  # a fix every 30 minutes
    qx = [e.fact for e in sim.store.logs["qx"].entries]
    assert qx and not [m for m in qx if m.hazard in ("台风",)]
    assert max((e.fact.severity for e in sim.store.logs["yj"].entries if isinstance(e.fact, Response)),
               default=0) <= 2


def test_ordinary_warnings_are_mostly_blue_and_yellow_red_rare(tmp_path: Path) -> None:
    sim = Simulator(seed=4, start=START, backfill_h=0, volumes={k: 0 for k in DEFAULT_VOLUMES}, data_dir=tmp_path)
    weather = sim.model.weather
    weather.messages(START, START + timedelta(days=60))  # two months of ordinary cycles
    chains: dict[str, list[Any]] = defaultdict(list)
    for c in weather.cycles:
        for m in c.messages:
            chains[m.root].append(m)
    peaks = Counter(max(("蓝色", "黄色", "橙色", "红色").index(m.colour) for m in ms) for ms in chains.values())
    total = sum(peaks.values())
    assert total > 1000
    assert (peaks[0] + peaks[1]) / total > 0.8
    assert 0.02 < peaks[2] / total < 0.2
    assert 0 < peaks[3] / total < 0.05


# -- the command line --------------------------------------------------------------------------------
def test_the_scenario_flags_reach_the_demos_simulator(tracks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard.cli import _scenario_args, build_parser
    from dashboard.demo import supervisor as demo

    track = tracks / "cma_bst/CH2018BST.txt"
    a = build_parser().parse_args(["demo", "--scenario", "typhoon", "--track", str(track), "--storm", "1822"])
    assert a.speed is None and demo.SCENARIO_SPEED == 600  # a scenario demo runs at 600x unless told
    assert _scenario_args(a) == ["--scenario", "typhoon", "--lead-h", "48.0", "--track", str(track.resolve()),
                                 "--storm", "1822"]
    sim = build_parser().parse_args(["simulate", *_scenario_args(a), "--port", "0"])
    assert (sim.scenario, sim.track, sim.storm, sim.lead_h) == ("typhoon", str(track.resolve()), "1822", 48.0)
    for bad in (["simulate", "--track", str(track)], ["demo", "--scenario", "typhoon", "--track", "/nope.txt"]):
        with pytest.raises(SystemExit):
            _scenario_args(build_parser().parse_args(bad))
    demo._banner("redis://x", False, 8060, 8050, 600, 0.0)
    assert "http://127.0.0.1:8050/board/emergency" in capsys.readouterr().out
