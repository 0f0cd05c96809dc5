"""Live state below the district: every town, village and grid counted as the city and its districts
are, figures built on demand for any of them, the districts' breakdowns by source and category, a
place's case list and one case's life; `pingan rebuild --scope` checks any of them."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

import orjson
import pytest

from dashboard.bench import synth
from dashboard.boards import REGISTRY, WALL_FIGURES
from dashboard.contract.clock import Clock
from dashboard.contract.systems import load_feeds
from dashboard.live.ondemand import OnDemand
from dashboard.live.publish import LiveContext, Round
from dashboard.live.rebuild import FIGURES, rebuild, replay, scope_figures
from dashboard.live.sla import Policies
from dashboard.live.state import DONE
from dashboard.live.store import LiveStore
from dashboard.web.app import create_app
from tests.conftest import REPO
from tests.logins import logged_in

NOW = datetime.now(UTC).replace(microsecond=0)  # bucket keys expire in real time
POLICIES = Policies.load()
CITY, TAISHAN, KAIPING = "440700", "440781", "440783"


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    """Two days of a demo-sized world: Jiangmen's 73 towns, 1,330 villages and 2,954 grids."""
    return list(synth.events(12_000, NOW, seed=11, span=timedelta(days=2)))


def _load(r, keys, settings, events: list[dict]) -> LiveContext:
    """The events applied by a live store in batches, and kept in their streams for a replay."""
    store = LiveStore(r, keys, settings, POLICIES)
    rng, i = random.Random(5), 0
    while i < len(events):
        n = rng.randint(50, 500)
        store.apply(events[i:i + n], now=NOW.timestamp())
        i += n
    pipe = r.pipeline(transaction=False)
    for ev in events:
        pipe.xadd(keys.stream(ev["source"]), {"id": ev["event_id"], "e": orjson.dumps(ev)})
    pipe.execute()
    return LiveContext(r, keys, settings, POLICIES, Clock.from_settings(settings), load_feeds(settings), REGISTRY)


def _open(s: dict) -> bool:
    return s["cur"]["status"] not in DONE and s["cur"]["status"] != "cancelled"


@pytest.mark.slow  # ~3,000 scopes built twice: 45 s on the team's VM
def test_every_town_village_and_grid_equals_the_rebuild(r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample)
    now = NOW.timestamp()
    model = replay(r, keys, ctx.feeds, settings, POLICIES, now)
    on = OnDemand(ctx)
    codes = {c for s in model.states.values() for c in (s["cur"].get("town"), s["cur"].get("village"),
                                                         s["cur"].get("grid")) if c}
    levels = {}
    for code in codes:
        scope = on.scope(code)
        assert scope is not None, f"{code}, named by the cases, is no scope"
        levels[code] = scope.level
    grids = [c for c, lv in levels.items() if lv == "grid"]
    villages = [c for c, lv in levels.items() if lv == "village"]
    assert len([c for c, lv in levels.items() if lv == "town"]) == 73
    assert len(villages) > 1000 and len(grids) > 1500, (len(villages), len(grids))
    found = scope_figures(ctx, [CITY, TAISHAN, *sorted(codes)], now=now)
    different = [c for c, f in found.items() if not f["equal"]]
    assert not different, [(c, found[c]["live"], found[c]["rebuilt"]) for c in different[:2]]
    # the figures mean something: each grid's open cases are the replay's open cases named there
    for code in grids[:300]:
        expected = sum(1 for s in model.states.values() if s["cur"].get("grid") == code and _open(s)
                       and s["cur"].get("kind", "case") == "case")
        assert found[code]["live"]["cases"]["open"] == expected, code
    total_open = found[CITY]["live"]["cases"]["open"]
    assert total_open == sum(found[c]["live"]["cases"]["open"] for c in levels if levels[c] == "town"
                             ) + sum(1 for s in model.states.values() if _open(s) and not s["cur"].get("town"))
    assert sum(f["live"]["cases"]["open"] for c, f in found.items() if levels.get(c) == "grid") > 0


def test_a_grid_a_village_and_a_town_are_built_on_demand_with_the_districts_schema(r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample[:3000])
    on = OnDemand(ctx)
    state = next(orjson.loads(r.get(k)) for k in r.scan_iter(match=f"{keys.live}:case:*")
                 if (s := orjson.loads(r.get(k)))["cur"].get("grid") and _open(s))
    cur = state["cur"]
    grid, village, town, district = cur["grid"], cur["village"], cur["town"], cur["adcode"]
    info = on.place(on.scope(grid))
    assert [p.code for p in info.chain] == [CITY, district, town, village, grid]
    assert [p.level for p in info.chain] == ["city", "district", "town", "village", "grid"]
    assert info.children == []
    assert grid in [p.code for p in on.place(on.scope(village)).children]
    assert village in [p.code for p in on.place(on.scope(town)).children]
    for code, below in ((town, "village"), (village, "grid"), (grid, None)):
        snap = orjson.loads(on.wall_json(on.scope(code)))
        assert snap["scope"] == code and snap["area_level"] == below
        assert snap["cases"]["open"] >= 1
        assert snap["by_source"] == [] and snap["by_category"] == []  # breakdowns are the city's and districts'
        if below:  # its areas add up to it (a case named without the level below is in neither)
            assert sum(a["open"] for a in snap["areas"]) <= snap["cases"]["open"]
            assert snap["kpis"]["today"] is not None
    # cached briefly: a second ask within the TTL is the same bytes, even after a change
    first = on.wall_json(on.scope(grid))
    r.hincrby(keys.now("grid"), f"{grid}|open", 1)
    assert on.wall_json(on.scope(grid)) == first
    r.delete(keys.scope_cache("wall", grid))
    assert orjson.loads(on.wall_json(on.scope(grid)))["cases"]["open"] == orjson.loads(first)["cases"]["open"] + 1
    # a district's is the snapshot the workers publish every round (built only while none is there)
    built = orjson.loads(on.wall_json(on.scope(district)))
    assert built["scope"] == district and built["area_level"] == "town"
    r.set(keys.snapshot("wall", district), b'{"published": true}')
    assert on.wall_json(on.scope(district)) == b'{"published": true}'


def test_a_districts_breakdowns_by_source_and_category_add_up(r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample[:6000])
    now = NOW.timestamp()
    rnd = Round(ctx, now)
    on = OnDemand(ctx)
    for code in (CITY, TAISHAN, KAIPING):
        snap = on.wall.build_one(rnd, on.scope(code))
        red = sum(row.red for row in snap.sla)
        yellow = sum(row.yellow for row in snap.sla)
        for rows in (snap.by_source, snap.by_category):
            assert rows, code
            assert sum(x.open for x in rows) == snap.cases.open
            assert sum(x.urgent_open for x in rows) == snap.cases.urgent_open
            assert sum(x.red for x in rows) == red and sum(x.yellow for x in rows) == yellow
            assert sum(x.received_today for x in rows) == snap.kpis["today"].parts.received
        assert red + yellow > 0, f"{code}: the sample has lights to break down"


def test_a_category_whose_cases_all_closed_before_today_has_no_row(r, keys, settings, sample):
    """Its open counter went up in one batch and back to nought in another, and nothing came today: the
    live hash still holds the nought, a rebuild never writes it, and neither shows a row of noughts."""
    start = NOW - timedelta(hours=30)
    opened = {**sample[0], "event_id": "wg-test-fire-1", "case_id": "wg:S11-TEST-FIRE", "category": "fire",
              "status": "reported", "occurred_at": start.isoformat(), "reported_at": start.isoformat()}
    closed = {**opened, "event_id": "wg-test-fire-2", "status": "closed",
              "occurred_at": (start + timedelta(hours=1)).isoformat()}
    others = [e for e in sample[:3000] if e["category"] != "fire"]
    ctx = _load(r, keys, settings, [opened, *others, closed])  # in batches of at most 500: apart
    now = NOW.timestamp()
    district = opened["location"]["adcode"]
    for code in (CITY, district):
        assert [x.code for x in OnDemand(ctx).wall.build_one(Round(ctx, now), OnDemand(ctx).scope(code)).by_category
                if x.code == "fire"] == [], code
        found = scope_figures(ctx, [code], now=now)[code]
        assert found["equal"], (found["live"]["by_category"], found["rebuilt"]["by_category"])


def test_a_places_case_list_newest_or_most_overdue_first_in_pages(r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample[:6000])
    now = NOW.timestamp()
    on = OnDemand(ctx)
    scope = on.scope(TAISHAN)
    whole = on.cases(scope, "newest", 0, 200, now=now)
    assert whole.total == orjson.loads(on.wall_json(scope, now=now))["cases"]["open"] > 0
    paged = [i for p in range(0, whole.total // 37 + 1) for i in on.cases(scope, "newest", p, 37, now=now).items]
    assert len({i.case_id for i in paged}) == len(paged) == whole.total
    assert [i.case_id for i in paged[:200]] == [i.case_id for i in whole.items]
    assert [i.reported_at for i in paged] == sorted((i.reported_at for i in paged), reverse=True)
    assert all(i.district == TAISHAN and i.status not in DONE for i in paged)
    overdue = [i for p in range(0, whole.total // 37 + 1) for i in on.cases(scope, "overdue", p, 37, now=now).items]
    assert {i.case_id for i in overdue} == {i.case_id for i in paged}
    timed = [i for i in overdue if i.due is not None]
    assert timed and overdue[:len(timed)] == timed, "cases with a running clock first"
    assert [i.due for i in timed] == sorted(i.due for i in timed)
    assert timed[0].light == "red", "the sample has an overdue case in Taishan"
    grid = paged[0].grid
    assert all(i.grid == grid for i in on.cases(on.scope(grid), "newest", 0, 50, now=now).items)


def test_a_cases_whole_life(r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample[:6000])
    now = NOW.timestamp()
    on = OnDemand(ctx)
    states = [orjson.loads(r.get(k)) for k in r.scan_iter(match=f"{keys.live}:case:*")]
    later = next(s for s in states if s["dup"])  # a later report of an incident reported elsewhere first
    life = on.case(later["id"], now=now)
    assert life is not None and life.first_report == later["dup"][1]
    assert life.first_report in [x.case_id for x in life.linked]
    assert all(x.source != later["src"] for x in life.linked)
    done = next(s for s in states if s["cur"]["status"] == "rated" and len(s["h"]) >= 4)
    life = on.case(done["id"], now=now)
    assert [s.at for s in life.steps] == sorted(s.at for s in life.steps)
    assert life.steps[0].status == "reported" and life.steps[-1].status == "rated"
    assert life.clocks and all(c.outcome in ("met", "missed") for c in life.clocks)
    assert all((c.outcome == "met") == (c.stopped is not None and c.stopped <= c.deadline) for c in life.clocks
               if c.stopped is not None)
    # an open case with a clock not stopped (an open case's clocks may all have stopped: the stage after
    # the last one stopped has not begun; picking any open case with clocks failed on such a one)
    running = next(s for s in states if _open(s) and any(c.stopped is None for c in on.case(s["id"], now=now).clocks))
    life = on.case(running["id"], now=now)
    assert all(c.outcome == "running" and c.light in ("green", "yellow", "red") for c in life.clocks
               if c.stopped is None)
    assert on.case("12345:no-such-case", now=now) is None


def test_rebuild_compares_and_repairs_the_places_counters(r, keys, settings, sample):
    _load(r, keys, settings, sample[:3000])
    now = NOW.timestamp()
    feeds = sorted({e["source"] for e in sample[:3000]})
    state = next(orjson.loads(r.get(k)) for k in r.scan_iter(match=f"{keys.live}:case:*")
                 if (s := orjson.loads(r.get(k)))["cur"].get("grid") and _open(s))
    grid, village = state["cur"]["grid"], state["cur"]["village"]
    r.zrem(keys.open_cases("grid", grid), state["id"])  # a case list lost a case
    r.hdel(keys.places, village)  # and a village its town
    rep = rebuild(r, keys, feeds, settings, POLICIES, now=now)
    assert rep["report"]["clocks"]["missing"] == 1 and rep["report"]["places"]["missing"] == 1
    assert rebuild(r, keys, feeds, settings, POLICIES, apply=True, now=now)["applied"]
    assert rebuild(r, keys, feeds, settings, POLICIES, now=now)["differences"] == 0
    assert state["id"] in {m.decode() for m in r.zrange(keys.open_cases("grid", grid), 0, -1)}


@pytest.mark.slow  # `pingan rebuild` as processes
def test_pingan_rebuild_scope_prints_a_grids_figures(r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample[:3000])
    on = OnDemand(ctx)
    grid = next(s["cur"]["grid"] for k in r.scan_iter(match=f"{keys.live}:case:*")
                if (s := orjson.loads(r.get(k)))["cur"].get("grid") and _open(s))
    env = {"PINGAN_REDIS_URL": settings.redis_url, "PINGAN_KEY_PREFIX": settings.key_prefix, "PATH": "/usr/bin:/bin",
           "PINGAN_DATA_DIR": str(settings.data_dir)}
    out = subprocess.run([sys.executable, "-m", "dashboard.cli", "rebuild", "--scope", grid, "--json"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = orjson.loads(out.stdout)
    assert printed["level"] == "grid" and printed["equal"]
    shown = {k: v for k, v in orjson.loads(on.wall_json(on.scope(grid))).items() if k in FIGURES}
    assert printed["rebuilt"]["cases"] == shown["cases"] and printed["rebuilt"]["sla"] == shown["sla"]
    bad = subprocess.run([sys.executable, "-m", "dashboard.cli", "rebuild", "--scope", "4407-nowhere"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "no place" in bad.stderr


# --- the web: any place the account covers, nothing else ------------------------------------------------

@pytest.fixture
def app(settings, r):
    return create_app(settings.model_copy(update={"tile_probe": False, "tile_url": "", "login_account_burst": 20,
                                                  "login_address_burst": 50}))


def test_the_places_api_answers_inside_the_accounts_scope_only(app, r, keys, settings, sample):
    _load(r, keys, settings, sample[:3000])
    states = [orjson.loads(r.get(k)) for k in r.scan_iter(match=f"{keys.live}:case:*")]
    mine = next(s for s in states if s["cur"].get("adcode") == TAISHAN and s["cur"].get("grid") and _open(s))
    theirs = next(s for s in states if s["cur"].get("adcode") == KAIPING and s["cur"].get("grid"))
    leader = logged_in(app, settings, "li-taishan", "leader", TAISHAN)
    for path in (f"/api/places/{mine['cur']['grid']}", f"/api/places/{mine['cur']['village']}/wall",
                 f"/api/places/{mine['cur']['town']}/cases?order=overdue&size=5", f"/api/cases/{mine['id']}"):
        resp = leader.get(path)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True))
    assert leader.get(f"/api/places/{mine['cur']['grid']}/wall").json["scope"] == mine["cur"]["grid"]
    for path in (f"/api/places/{theirs['cur']['grid']}/wall", f"/api/places/{KAIPING}/cases",
                 f"/api/places/{CITY}", f"/api/cases/{theirs['id']}"):
        resp = leader.get(path)
        assert resp.status_code == 403, (path, resp.status_code)
        assert b"summary" not in resp.data and b"open" not in resp.data
    assert leader.get("/api/places/4407-nowhere/wall").status_code == 404
    assert leader.get(f"/api/places/{TAISHAN}/cases?order=oldest").status_code == 400
    city = logged_in(app, settings, "wang", "analyst")
    assert city.get(f"/api/places/{theirs['cur']['grid']}/wall").status_code == 200
    admin = logged_in(app, settings, "root", "sysadmin")
    assert admin.get(f"/api/places/{TAISHAN}/wall").status_code == 403
    assert app.server.test_client().get(f"/api/places/{TAISHAN}/wall").status_code == 401


def _events(resp) -> Iterator[tuple[str, dict]]:
    """The events of an SSE response as they come: (event, data); closed when the reader stops."""
    buf = b""
    try:
        for chunk in resp.response:
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                fields = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line)
                if b"event" in fields:
                    yield fields[b"event"].decode(), orjson.loads(fields[b"data"])
    finally:
        resp.close()


def test_a_place_below_the_district_is_pushed_on_demand_inside_the_accounts_scope(r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample[:3000])
    states = [orjson.loads(r.get(k)) for k in r.scan_iter(match=f"{keys.live}:case:*")]
    mine = next(s for s in states if s["cur"].get("adcode") == TAISHAN and s["cur"].get("grid") and _open(s))
    theirs = next(s for s in states if s["cur"].get("adcode") == KAIPING and s["cur"].get("grid"))
    s = settings.model_copy(update={"tile_probe": False, "tile_url": ""})
    app = create_app(s)
    leader = logged_in(app, s, "li-taishan", "leader", TAISHAN)
    on = OnDemand(ctx)
    for code in (mine["cur"]["grid"], mine["cur"]["village"], mine["cur"]["town"]):
        resp = leader.get(f"/stream/tablet?scope={code}")
        assert resp.status_code == 200, (code, resp.get_data(as_text=True))
        events = _events(resp)
        (hello, _), (name, snap) = next(events), next(events)
        assert hello == "hello" and name == WALL_FIGURES.name and snap["scope"] == code
        built = orjson.loads(on.wall_json(on.scope(code)))
        assert {k: snap[k] for k in FIGURES} == {k: built[k] for k in FIGURES}, code
        assert leader.get(f"/api/snapshot/wall?scope={code}").get_json()["scope"] == code
        if code == mine["cur"]["grid"]:  # live: a new case in the grid reaches the open stream
            new = {**sample[0], "event_id": "wg-test-new-1", "case_id": "wg:S11-TEST-NEW", "status": "reported",
                   "occurred_at": NOW.isoformat(), "reported_at": NOW.isoformat(),
                   "location": {**sample[0]["location"], **{k: mine["cur"][k] for k in ("town", "village", "grid")},
                                "adcode": TAISHAN}}
            LiveStore(r, keys, settings, POLICIES).apply([new], now=NOW.timestamp())
            later = next(d for e, d in islice(events, 10) if e == WALL_FIGURES.name
                         and d["cases"]["open"] != snap["cases"]["open"])
            assert later["cases"]["open"] == snap["cases"]["open"] + 1 and later["scope"] == code
        events.close()
    grid = mine["cur"]["grid"]
    # the wall is shown at the city and the districts only; another district's grid is not the leader's
    assert leader.get(f"/stream/wall?scope={grid}").status_code == 404
    assert leader.get(f"/stream/tablet?scope={theirs['cur']['grid']}").status_code == 403
    assert leader.get("/stream/tablet?scope=4407-nowhere").status_code == 404
    anyone = app.server.test_client().get(f"/stream/tablet?scope={grid}", headers={"Accept": "text/event-stream"})
    assert anyone.get_data().count(b"event: logout") == 1 and b"cases" not in anyone.get_data()
