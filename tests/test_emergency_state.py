"""The emergency picture: folding is idempotent and order-independent; the board's figures are what
the events say (warnings in force, response level, mobilisation sums, check-ins, storm distance and
arrival); alerts stand while their condition does and are acknowledged once."""

from __future__ import annotations

import random
import time
from datetime import datetime

import orjson
import pytest
import redis

from dashboard.boards import REGISTRY
from dashboard.contract.board import scopes
from dashboard.contract.clock import Clock
from dashboard.contract.event import BEIJING
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.live import alerts
from dashboard.live.emergency_board import EmergencyBuilder, EmergencySnapshot
from dashboard.live.emergency_state import EmergencyStore, Geo, active_warnings, fold_ops, response
from dashboard.live.publish import LiveContext, Round
from dashboard.live.rebuild import rebuild
from dashboard.live.sla import Policies
from dashboard.live.store import LiveStore
from dashboard.live.stormpath import approach, destination, expected_path, km
from feeds.simulator.engine import Simulator
from feeds.simulator.scenario import Scenario
from tests.conftest import REDIS_URL
from tests.emergency_events import HOUR, cap, event, simulated
from tests.emergency_events import response as resp_event

# one group: the module's tests share module fixtures (simulated runs) built once on one worker
pytestmark = pytest.mark.xdist_group("emergency-state")

T0 = datetime(2026, 9, 15, 8, 0, tzinfo=BEIJING).timestamp()
CITY = "440700"
GEO = Geo.of(CITY)
TAISHAN = "440781"


def _store(r: redis.Redis, keys: Keys) -> LiveStore:
    return LiveStore(r, keys, Settings(redis_url=REDIS_URL, key_prefix=keys.prefix), Policies.load(), Clock())


def _tables(r: redis.Redis, keys: Keys) -> dict:
    return EmergencyStore(r, keys).read()


@pytest.fixture(scope="module")
def sim_events(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    # a generated storm that comes closest 12 h in: warnings, the response, mobilisation, check-ins…
    sim = Simulator(seed=4, data_dir=tmp_path_factory.mktemp("sim"), backfill_h=0.1,
                    start=datetime(2026, 9, 15, 0, 0, tzinfo=BEIJING), scenario=Scenario("typhoon", None, None, 12))
    sim.step(18 * HOUR)
    return simulated(sim)


@pytest.mark.slow  # a simulated storm (the module's sim_events)
def test_fold_is_idempotent_and_order_independent(r, keys, sim_events):
    other = Keys(keys.prefix + "-b")
    try:
        _store(r, keys).apply(sim_events, now=T0)
        shuffled = sim_events + random.Random(5).sample(sim_events, len(sim_events) // 3)  # redelivered, late
        random.Random(6).shuffle(shuffled)
        store = _store(r, other)
        for i in range(0, len(shuffled), 137):
            store.apply(shuffled[i:i + 137], now=T0)
        a, b = _tables(r, keys), _tables(r, other)
        assert a == b
        assert all(a[t] for t in ("storm", "warning", "mobilise", "checkin", "closure", "task", "gauge", "vessel")), \
            "a simulated storm fills every table"
        assert a["levels"], "and the response level log"
    finally:
        for k in r.scan_iter(match=f"{other.prefix}:*"):
            r.delete(k)


@pytest.mark.slow  # a simulated storm (the module's sim_events)
def test_simulated_storm_track_and_figures_are_whole(r, keys, sim_events):
    _store(r, keys).apply(sim_events, now=T0)
    tf = [e for e in sim_events if e["source"] == "tf"]
    storms = {e["attrs"]["storm_id"] for e in tf}
    t = _tables(r, keys)
    assert set(t["storm"]) == storms
    for s in storms:
        fixes = {int(datetime.fromisoformat(e["occurred_at"]).timestamp()) for e in tf if e["attrs"]["storm_id"] == s}
        assert [f["t"] for f in t["tracks"][s]] == sorted(fixes)
    hs = [e for e in sim_events if e["source"] == "hs"]
    assert len(t["vessel"]) == len({e["case_id"] for e in hs})


def test_warnings_in_force():
    base = T0
    chain = [cap("A", base, "blue", TAISHAN), cap("A", base + 1800, "yellow", TAISHAN, "Update", issued=base),
             cap("A", base + 3600, "red", TAISHAN, "Update", issued=base)]
    recs = {}
    for ev in chain:  # the newest version of the chain, as the table keeps it
        op = fold_ops(ev, Keys("x"))[0]
        recs[op.field] = op.value
    [w] = active_warnings(recs.values(), base + 4000, GEO)
    assert (w["c"], w["rank"], w["districts"], w["from"]) == ("red", 4, [TAISHAN], int(base))
    assert active_warnings(recs.values(), base + 3600 + 6 * 3600 + 1, GEO) == [], "expired"
    cancel = fold_ops(cap("A", base + 5000, "red", TAISHAN, "Cancel", issued=base), Keys("x"))[0].value
    assert active_warnings([cancel], base + 5001, GEO) == []
    test_msg = fold_ops(cap("B", base, "red", TAISHAN, cap_status="Exercise"), Keys("x"))[0].value
    assert active_warnings([test_msg], base + 1, GEO) == [], "exercises are not shown"
    city = fold_ops(cap("C", base, "orange", "440700", hazard="暴雨"), Keys("x"))[0].value
    [w] = active_warnings([city], base + 1, GEO)
    assert w["districts"] == sorted(GEO.names), "a warning for the city covers every district"
    elsewhere = fold_ops(cap("D", base, "red", "445302"), Keys("x"))[0].value
    assert active_warnings([elsewhere], base + 1, GEO) == [], "another city's warning"


def test_response_level_since_and_episode(r, keys):
    evs = [resp_event("E1", T0, "IV", "启动"), resp_event("E1", T0 + HOUR, "III", "提升"),
           resp_event("E1", T0 + 3 * HOUR, "I", "提升"), resp_event("E1", T0 + 9 * HOUR, "II", "降低")]
    _store(r, keys).apply(list(reversed(evs)), now=T0)
    levels = _tables(r, keys)["levels"]
    now = response(levels, T0 + 10 * HOUR)
    assert (now["lvl"], now["sev"], now["since"], now["episode_start"], now["peak"], now["active"]) == (
        "II", 3, T0 + 9 * HOUR, T0, "I", True)
    assert [h[1] for h in now["history"]] == [1, 2, 4, 3]
    assert response(levels, T0 + 2 * HOUR)["lvl"] == "III", "as it stood then"
    _store(r, keys).apply([resp_event("E1", T0 + 20 * HOUR, "NONE", "解除")], now=T0)
    down = response(_tables(r, keys)["levels"], T0 + 21 * HOUR)
    assert (down["active"], down["lvl"], down["since"]) == (False, None, T0 + 20 * HOUR)


def _build(r, keys, now, scope=CITY) -> EmergencySnapshot:
    settings = Settings(redis_url=REDIS_URL, key_prefix=keys.prefix)
    ctx = LiveContext(r, keys, settings, Policies.load(), Clock(), {}, REGISTRY)
    [sc] = [s for s in scopes(CITY) if s.code == scope]
    return EmergencyBuilder(ctx).build(Round(ctx, now), [sc])[scope]


def _snapshot(r, keys, now, scope=CITY) -> dict:
    return _build(r, keys, now, scope).model_dump(mode="json")


def test_alerts_stand_while_red_and_are_acknowledged_once(r, keys):
    store = _store(r, keys)
    store.apply([cap("R1", T0, "red", TAISHAN), resp_event("E1", T0, "II", "启动")], now=T0)
    a = _snapshot(r, keys, T0 + 60)["alert"]
    assert a["board_path"] == "/board/emergency" and a["unacknowledged"] == 2
    assert {i["key"] for i in a["items"]} == {"warn:qx:R1", "resp:yj:E1:II"}
    assert _snapshot(r, keys, T0 + 60, "440703")["alert"]["unacknowledged"] == 1, "蓬江 sees the city's response only"
    standing = [i["key"] for i in a["items"]]
    with pytest.raises(alerts.AckError, match="^who"):
        alerts.acknowledge(r, keys, "warn:qx:R1", "  ", standing=standing)
    with pytest.raises(alerts.AckError, match="no such alert"):
        alerts.acknowledge(r, keys, "warn:qx:OLD", "张三", standing=standing)
    rec = alerts.acknowledge(r, keys, "warn:qx:R1", "张三", "已通知台山，电话13812345678", standing=standing,
                             at=T0 + 120)
    assert rec["comment"] == "已通知台山，电话138****5678"
    with pytest.raises(alerts.AckError, match="already"):
        alerts.acknowledge(r, keys, "warn:qx:R1", "李四", standing=standing)
    a = _snapshot(r, keys, T0 + 180)["alert"]
    assert a["unacknowledged"] == 1 and a["items"][0]["key"] == "resp:yj:E1:II", "unacknowledged first"
    assert a["items"][1]["acknowledgement"]["who"] == "张三"
    assert b"13812345678" not in r.hget(keys.em_acks, "warn:qx:R1"), "masked where it is kept"
    store.apply([resp_event("E1", T0 + HOUR, "I", "提升")], now=T0)
    a = _snapshot(r, keys, T0 + HOUR + 60)["alert"]
    assert a["unacknowledged"] == 1 and a["items"][0]["key"] == "resp:yj:E1:I", "raising the level alerts again"
    store.apply([cap("R1", T0 + 2 * HOUR, "orange", TAISHAN, "Update", issued=T0),
                 resp_event("E1", T0 + 2 * HOUR, "III", "降低")], now=T0)
    assert _snapshot(r, keys, T0 + 2 * HOUR + 60)["alert"] is None, "below red and level II: nothing stands"


def test_storm_distance_closest_approach_and_wind_circle_arrival():
    # a storm 300 km south-east of Taishan's point, heading for it at 20 km/h, with a CMA forecast
    lat, lon = GEO.points[TAISHAN]
    start = destination(lat, lon, 135, 300)
    t0 = T0
    fc = [[t0 + h * 3600, *destination(lat, lon, 135, 300 - 20 * h), 4, 40] for h in (6, 12, 24)]
    latest = {"t": t0, "lat": start[0], "lon": start[1], "r7": [100] * 4, "r10": [50] * 4, "r12": None}
    path = expected_path(latest, fc)
    a = approach(path, latest, lat, lon, now=t0)
    assert a["km"] == pytest.approx(300, abs=2)
    assert a["closest_km"] < 25 and abs(a["closest_at"] - (t0 + 15 * 3600)) <= 3600
    assert abs(a["eta_r7"] - (t0 + 10 * 3600)) <= 3600, "300 km - 100 km at 20 km/h"
    assert abs(a["eta_r10"] - (t0 + 12.5 * 3600)) <= 3600
    assert a["eta_r12"] is None and not a["passed"] and not a["inside_r7"]
    # no forecast: the current motion carried on (north-west, 18 km/h)
    latest2 = {**latest, "dir": "西北", "spd": 18}
    p2 = expected_path(latest2, [])
    assert km(p2[-1][1], p2[-1][2], latest["lat"], latest["lon"]) == pytest.approx(18 * 24, rel=0.02)
    assert approach(p2, latest2, lat, lon, now=t0)["closest_km"] < 300


def _yj(case: str, t: float, attrs: dict, **kw) -> dict:
    return event("mobilisation", "emergency_response", f"yj:{case}", t, attrs, source="yj", **kw)


def _mobilise(code: str, i: int) -> dict:
    town = {"townCode": f"{code}001", "personsDeployed": 500 + i, "personsTransferred": 40, "sheltersOpened": 3,
            "shelterOccupancy": 20}
    team = {"teamType": "突击队", "activated": 10 + i, "available": 5, "persons": 100}
    return _yj(f"M{code}", T0 + 600 + i, {
        "report_code": "MOBILIZE", "teams": [team],
        "persons_deployed": 500 + i, "persons_transferred": 40,
        "shelters": {"opened": 3, "capacity": 300, "occupancy": 20}, "boats_in_port": 4, "boats_at_sea": 1,
        "towns": [town]}, adcode=code)


def _figures_events() -> list[dict]:
    evs = [resp_event("E1", T0, "III", "启动"), _mobilise("440703", 0), _mobilise(TAISHAN, 1)]
    grids = [("440781100001-01", "440781100"), ("440781100001-02", "440781100"), ("440703001001-01", "440703001")]
    for g, town in grids:  # the grids the case feeds name: the inventory
        evs.append(event("case", "public_service", f"wg:{g}", T0 - 3600, source="wg", adcode=town[:6], town=town,
                         grid=g))
    came = {"report_code": "CHECKIN", "grid_workers": 2, "dept_staff": 5, "persons_on_duty": 7}
    evs.append(_yj("BD1", T0 + 900, came, adcode=TAISHAN, town="440781100", grid="440781100001-01"))
    evs.append(_yj("BD0", T0 - 9 * 86400, {"report_code": "CHECKIN", "persons_on_duty": 3},  # an earlier episode's
                   adcode="440703", town="440703001", grid="440703001001-01"))
    for i, st in enumerate(("在港", "避风", "返港", "作业")):
        evs.append(event("track", "maritime", f"hs:{i}", T0 + 60, {"nav_status": st, "in_port": st in ("在港", "避风")},
                         source="hs", adcode=TAISHAN, lat=21.5, lon=112.6))
    over = {"station_type": "ZZ", "level_m": 5.2, "warning_level_m": 5.0, "over_warning_m": 0.2, "warn": "1"}
    evs.append(event("reading", "hydrology", "sw:Z1", T0 + 60, over, source="sw", adcode=TAISHAN))
    evs.append(event("reading", "hydrology", "sw:Z2", T0 + 60, {"station_type": "ZZ", "level_m": 3.0, "warn": "0"},
                     source="sw", adcode=TAISHAN))
    evs.append(_yj("GK1", T0 + 700, {"report_code": "CLOSURE", "closure_type": "桥梁", "closure_name": "某大桥"},
                   adcode=TAISHAN))
    evs.append(_yj("GK2", T0 + 800, {"report_code": "CLOSURE", "closure_type": "景区", "closure_name": "某景区"},
                   status="closed", adcode=TAISHAN))
    evs.append(_yj("RW1", T0 + 700, {"report_code": "TASK", "task_name": "渔船回港避风", "assignee": "海洋渔业局"},
                   adcode=TAISHAN))
    return evs


def test_board_figures_from_mobilisation_checkins_boats_gauges_closures_tasks(r, keys):
    _store(r, keys).apply(_figures_events(), now=T0)
    s = _snapshot(r, keys, T0 + 1000)
    m = s["mobilisation"]
    assert (m["deployed"], m["transferred"]) == (1001, 80)
    assert m["shelters"] == {"opened": 6, "capacity": 600, "occupancy": 40}
    assert m["teams"] == [{"type": "突击队", "activated": 21, "available": 10, "persons": 200}]
    c = s["checkins"]
    assert (c["grids"], c["checked_in"], c["on_duty"], c["since"]) == (3, 1, 7, T0 * 1000), \
        "an earlier episode's don't count"
    assert s["boats"] == {"total": 4, "in_port": 2, "at_sea": 2, "returning": 1}
    vessels = [f for f in s["map_layer"]["features"] if f["properties"]["kind"] == "vessel"]  # at sea, on the map
    assert [(f["geometry"]["coordinates"], f["properties"]["returning"]) for f in vessels] == [
        ([112.6, 21.5], True), ([112.6, 21.5], False)]
    assert (s["gauges"]["over"], s["gauges"]["stations"], s["gauges"]["items"][0]["id"]) == (1, 2, "sw:Z1")
    assert (s["closures"]["active"], s["closures"]["lifted"], s["tasks"]["open"]) == (1, 1, 1)
    d = _snapshot(r, keys, T0 + 1000, TAISHAN)
    assert d["mobilisation"]["deployed"] == 501 and d["mobilisation"]["areas"][0]["code"] == "440781001"
    assert (d["checkins"]["grids"], d["checkins"]["missing"]) == (2, ["440781100001-02"])
    town = "440781100"
    assert d["checkins"]["areas"] == [{"code": town, "name": GEO.town_names.get(town, town), "grids": 2,
                                       "checked_in": 1, "on_duty": 7,
                                       "grid_classes": {"missing": 1, "few": 0, "some": 1, "many": 0}}], \
        "the town's grids by people on duty (7: under 10)"
    assert _snapshot(r, keys, T0 + 1000, "440703")["closures"]["active"] == 0


def test_incidents_in_the_event_window_by_category(r, keys):
    now = time.time() // 3600 * 3600 + 1800  # counter buckets expire on real time: stay near it
    start = now - 5 * HOUR
    store = _store(r, keys)
    store.apply([resp_event("E9", start, "IV", "启动")], now=now)
    rnd = random.Random(3)
    cases = []
    for i in range(120):
        t = now - rnd.uniform(0, 8 * HOUR)
        cat, code = rnd.choice(["rescue", "flood_drought", "traffic_accident"]), rnd.choice(["440703", TAISHAN])
        cases.append(event("case", cat, f"110:{i}", t, source="110", adcode=code))
    store.apply(cases, now=now)
    s = _snapshot(r, keys, now)
    first_hour = start // 3600 * 3600  # the window starts at the hour the response began
    expect: dict[str, int] = {}
    for ev in cases:
        if datetime.fromisoformat(ev["occurred_at"]).timestamp() >= first_hour:
            expect[ev["category"]] = expect.get(ev["category"], 0) + 1
    assert s["incidents"]["episode"] and s["incidents"]["start"] == first_hour * 1000
    assert {x["category"]: x["count"] for x in s["incidents"]["by_category"]} == expect
    d = _snapshot(r, keys, now, TAISHAN)
    mine = sum(1 for ev in cases if ev["location"]["adcode"] == TAISHAN
               and datetime.fromisoformat(ev["occurred_at"]).timestamp() >= first_hour)
    assert d["incidents"]["total"] == mine


def test_prune_drops_only_what_is_over(r, keys):
    store = _store(r, keys)
    store.apply([cap("OLD", T0, "red", TAISHAN), cap("OLD", T0 + HOUR, "red", TAISHAN, "Cancel", issued=T0),
                 cap("NOW", T0 + 3 * 86400, "blue", TAISHAN),
                 event("reading", "hydrology", "sw:S", T0, {"warn": "0"}, source="sw", adcode=TAISHAN)], now=T0)
    emergency = EmergencyStore(r, keys)
    assert emergency.prune(T0 + 3 * 86400 + 60) == 2
    t = emergency.read()
    assert set(t["warning"]) == {"qx:NOW"} and t["gauge"] == {}


@pytest.mark.slow  # a simulated storm (the module's sim_events)
def test_the_snapshot_is_its_model_and_stays_small(r, keys, sim_events):
    _store(r, keys).apply(sim_events, now=T0)
    snap = _build(r, keys, T0 + 18 * HOUR)
    body = snap.model_dump_json()
    assert EmergencySnapshot.model_validate_json(body) == snap
    assert snap.storm is not None and snap.map_layer.features, "a storm on the map"
    assert len(body) < 200_000, "pushed every second to every wall"


@pytest.mark.slow  # a simulated storm (the module's sim_events)
def test_rebuild_compares_and_repairs_the_emergency_picture(r, keys, sim_events):
    settings = Settings(redis_url=REDIS_URL, key_prefix=keys.prefix)
    _store(r, keys).apply(sim_events, now=T0)
    pipe = r.pipeline(transaction=False)
    for ev in sim_events:
        pipe.xadd(keys.stream(ev["source"]), {"id": ev["event_id"], "e": orjson.dumps(ev)})
    pipe.execute()
    feeds = sorted({e["source"] for e in sim_events})
    alerts.acknowledge(r, keys, "warn:qx:anything", "张三")  # people's acknowledgements are not replayed
    rep = rebuild(r, keys, feeds, settings, Policies.load(), now=T0)
    assert rep["differences"] == 0, rep["report"]["picture"]
    some_gauge = next(iter(_tables(r, keys)["gauge"]))
    r.hdel(keys.em("gauge"), some_gauge)
    r.zadd(keys.em_levels, {b'{"lvl":"I"}': T0})
    rep = rebuild(r, keys, feeds, settings, Policies.load(), now=T0)
    em = rep["report"]["picture"]
    assert (em["missing"], em["extra"]) == (1, 1)
    rebuild(r, keys, feeds, settings, Policies.load(), apply=True, now=T0)
    assert rebuild(r, keys, feeds, settings, Policies.load(), now=T0)["differences"] == 0
    assert r.hexists(keys.em_acks, "warn:qx:anything"), "apply leaves the acknowledgements alone"
