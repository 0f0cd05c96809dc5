"""The archive's read side: case facts kept current as events are archived and rebuilt from them, the
query API within a scope, history written straight into the archive — and over a replayed typhoon
day, the archive's per-district counts and rates equal the live state's for the same windows."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from dashboard.bench import synth
from dashboard.boards import REGISTRY
from dashboard.contract.clock import Clock
from dashboard.contract.event import BEIJING, Event, make_event_id
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.history import facts
from dashboard.history.backfill import History, backfill
from dashboard.history.query import Filter, Reader, window_filter
from dashboard.live import kpi
from dashboard.live.archive import Archive
from dashboard.live.ondemand import OnDemand
from dashboard.live.publish import LiveContext
from dashboard.live.sla import Policies
from dashboard.live.store import LiveStore
from dashboard.web.app import create_app
from tests.conftest import REPO, SHARED_DATA
from tests.logins import logged_in
from tests.test_archive import _pg_schema_url

POLICIES = Policies.load()
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=BEIJING)
TAISHAN, PENGJIANG, CITY = "440781", "440703", "440700"


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request: pytest.FixtureRequest, tmp_path) -> Iterator[Archive]:
    url = f"sqlite:///{tmp_path}/archive.db" if request.param == "sqlite" else _pg_schema_url(request)
    a = Archive(url, POLICIES)
    yield a
    a.close()


def _ev(case: str, i: int, status: str, at: datetime, source: str = "12345", **over: Any) -> bytes:
    fields: dict[str, Any] = {
        "event_id": make_event_id(source, case, i), "case_id": f"{source}:{case}", "source": source, "kind": "case",
        "status": status, "category": "dispute", "priority": 3, "occurred_at": at, "reported_at": T0,
        "ingested_at": at.astimezone(UTC) + timedelta(seconds=2),
        "location": {"lat": 22.25, "lon": 112.79, "adcode": TAISHAN, "town": "440781100", "grid": "TS-01"},
        "department": "台山市住建局", "summary": f"噪音扰民 {case}", "attrs": {},
    }
    fields.update(over)
    return Event.model_validate(fields).to_json()


def _facts(a: Archive) -> dict[str, dict[str, Any]]:
    with a.engine.connect() as con:
        return {r.case_id: r._asdict() for r in con.execute(sa.select(facts.case_facts))}


def _table(a: Archive, table: sa.Table) -> list[dict[str, Any]]:
    with a.engine.connect() as con:
        return sorted((r._asdict() for r in con.execute(sa.select(table))), key=lambda r: sorted(r.items()))


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def test_a_case_s_facts_follow_its_life_whatever_order_its_events_arrive_in(archive):
    life = [("reported", T0), ("accepted", T0 + timedelta(minutes=20)), ("dispatched", T0 + timedelta(hours=1)),
            ("resolved", T0 + timedelta(days=1)), ("reopened", T0 + timedelta(days=1, hours=2)),
            ("resolved", T0 + timedelta(days=2)), ("rated", T0 + timedelta(days=2, hours=1))]
    payloads = [_ev("A1", i, st, at, attrs={"satisfaction": "满意"} if st == "rated" else {})
                for i, (st, at) in enumerate(life)]
    archive.write(payloads[4:])  # the end of its life first, the beginning later (redelivery, two workers)
    first = _facts(archive)["12345:A1"]
    assert first["phase"] == "done" and first["sent_back"] == 1 and first["accepted_at"] is None
    archive.write(payloads[:4] + payloads[:2])  # and some again: nothing is counted twice
    f = _facts(archive)["12345:A1"]
    assert (f["status"], f["phase"], f["rating"], f["sent_back"]) == ("rated", "done", "满意", 1)
    assert f["received_at"] == _ms(T0) and f["accepted_at"] == _ms(T0 + timedelta(minutes=20))
    assert f["dispatched_at"] == _ms(T0 + timedelta(hours=1))
    assert f["handled_at"] == _ms(T0 + timedelta(days=2)), "handled: the first done step after the last reopen"
    assert f["rated_at"] == _ms(T0 + timedelta(days=2, hours=1))
    assert (f["district"], f["town"], f["grid"], f["department"]) == (TAISHAN, "440781100", "TS-01", "台山市住建局")
    stages = {s["stage"]: s for s in _table(archive, facts.case_stages)}
    assert stages, "the 12345 policy's clocks"
    assert all(s["outcome"] in ("on_time", "late") and s["stopped"] is not None for s in stages.values())
    assert f["sla"] == ("late" if any(s["outcome"] == "late" for s in stages.values()) else "on_time")
    assert [r["at"] for r in _table(archive, facts.case_reopens)] == [_ms(T0 + timedelta(days=1, hours=2))]
    # everything again from the events alone: the same rows
    before = (_facts(archive), _table(archive, facts.case_stages), _table(archive, facts.case_reopens))
    assert archive.rebuild_facts() == {"cases": 1, "case_ids": 1}
    assert (_facts(archive), _table(archive, facts.case_stages), _table(archive, facts.case_reopens)) == before


def test_warnings_and_readings_have_no_case_facts_and_a_cancelled_case_has_no_running_clock(archive):
    archive.write([_ev("W1", 0, "reported", T0, source="qx", kind="alert", category="weather_warning"),
                   _ev("C1", 0, "reported", T0), _ev("C1", 1, "cancelled", T0 + timedelta(minutes=5))])
    got = _facts(archive)
    assert set(got) == {"12345:C1"}
    assert got["12345:C1"]["phase"] == "cancelled" and got["12345:C1"]["cancelled_at"] is not None
    assert {s["outcome"] for s in _table(archive, facts.case_stages)} <= {"skipped", "on_time", "late"}


def test_two_systems_reporting_one_incident_are_linked_to_the_earlier_report(archive):
    near = {"lat": 22.2500, "lon": 112.7900, "adcode": TAISHAN}
    archive.write([_ev("P1", 0, "reported", T0 + timedelta(minutes=10), source="110", category="police_assist",
                       reported_at=T0 + timedelta(minutes=10), location={**near, "lat": 22.2508})])
    archive.write([_ev("F1", 0, "reported", T0, source="119", category="rescue", reported_at=T0, location=near),
                   _ev("F2", 0, "reported", T0, source="119", category="fire", reported_at=T0, location=near),
                   _ev("Q1", 0, "reported", T0 + timedelta(hours=2), source="120", category="medical",
                       reported_at=T0 + timedelta(hours=2), location=near)])
    # one batch: P1's update and an incident three days later, each read with its own stored neighbours
    later = T0 + timedelta(days=3)
    archive.write([_ev("P1", 1, "accepted", T0 + timedelta(minutes=15), source="110", category="police_assist",
                       reported_at=T0 + timedelta(minutes=10), location={**near, "lat": 22.2508}),
                   _ev("F3", 0, "reported", later, source="119", category="rescue", reported_at=later, location=near),
                   _ev("P2", 0, "reported", later + timedelta(minutes=5), source="110", category="police_assist",
                       reported_at=later + timedelta(minutes=5), location=near)])
    got = _facts(archive)
    assert got["110:P1"]["linked"] == "119:F1", "rescue and police assistance 90 m and 10 min apart"
    assert got["110:P2"]["linked"] == "119:F3" and got["119:F3"]["linked"] is None
    assert got["119:F1"]["linked"] is None and got["119:F2"]["linked"] is None  # fire is another group
    assert got["120:Q1"]["linked"] is None


def test_the_query_api_counts_rates_series_and_pages_within_a_scope(archive):
    days = [T0 + timedelta(days=d, hours=h) for d in range(3) for h in (1, 5)]
    payloads = []
    for n, at in enumerate(days):
        district = TAISHAN if n % 2 else PENGJIANG
        loc = {"lat": 22.25, "lon": 112.79, "adcode": district}
        payloads.append(_ev(f"S{n}", 0, "reported", at, reported_at=at, location=loc, category="dispute"
                            if n < 4 else "environment"))
        if n < 3:
            payloads.append(_ev(f"S{n}", 1, "resolved", at + timedelta(hours=2), reported_at=at, location=loc))
    archive.write(payloads)
    reader = Reader(archive.engine)
    f = window_filter(T0, T0 + timedelta(days=3))
    assert {c.value: c.n for c in reader.counts("city", CITY, f, "district")} == {TAISHAN: 3, PENGJIANG: 3}
    assert {c.value: c.n for c in reader.counts("district", TAISHAN, f, "district")} == {TAISHAN: 3}
    cats = Filter(start=f.start, end=f.end, category=["environment"])
    assert sum(c.n for c in reader.counts("city", CITY, cats, "category")) == 2
    s = reader.series("city", CITY, f, "day", "district")
    assert len(s.buckets) == 4 and s.buckets[0] == _ms(T0.replace(hour=0)), "09:00 to 09:00 three days on"
    assert {x.value: x.counts for x in s.series} == {TAISHAN: [1, 1, 1, 0], PENGJIANG: [1, 1, 1, 0]}
    assert [x.counts for x in reader.series("city", CITY, f, "hour").series][0][:6] == [0, 1, 0, 0, 0, 1]
    assert sum(reader.series("city", CITY, f, "week").series[0].counts) == 6
    assert sum(reader.series("city", CITY, f, "month").series[0].counts) == 6
    rows = {row.value: row.kpis for row in reader.kpis("city", CITY, f, "district")}
    assert rows[PENGJIANG].parts.received == 3 and rows[PENGJIANG].parts.handled_of_received == 2
    assert rows[PENGJIANG].rates["closure"].value == round(100 * 2 / 3, 2)
    assert rows[TAISHAN].rates["closure"].value == round(100 * 1 / 3, 2)
    whole = reader.kpis("district", TAISHAN, f)
    assert [r.value for r in whole] == ["*"] and whole[0].kpis.parts.received == 3
    page = reader.cases("city", CITY, f, "newest", 0, 4)
    assert page.total == 6 and [i.case_id for i in page.items] == [f"12345:S{n}" for n in (5, 4, 3, 2)]
    assert [i.case_id for i in reader.cases("city", CITY, f, "newest", 1, 4).items] == ["12345:S1", "12345:S0"]
    assert {i.district for i in reader.cases("district", TAISHAN, f).items} == {TAISHAN}
    with pytest.raises(ValueError, match="end must come after start"):
        Filter(start=f.end, end=f.start)


@pytest.fixture(scope="module")
def typhoon_day() -> tuple[float, list[dict[str, Any]]]:
    """山竹 Mangkhut replayed over the last 24 hours (closest at 12 h ago), at a fifth of the daily
    volumes, through every feed's own adapter (the backfill's path)."""
    from feeds.simulator.scenario import Scenario
    from feeds.simulator.traffic import DEFAULT_VOLUMES

    track = SHARED_DATA / "typhoon" / "wztf_realtime_json" / "201822.json"
    if not track.is_file():
        pytest.skip(f"real track not found at {track}")
    end = datetime.now(BEIJING).replace(microsecond=0)
    hist = History(Settings(), end - timedelta(hours=24), end, seed=8, scenario=Scenario("typhoon", track, None, 12.0),
                   volumes={k: v / 5 for k, v in DEFAULT_VOLUMES.items()})
    try:
        items = [x for _, by in hist.hours() for xs in by.values() for x in xs]
    finally:
        hist.close()
    events = [orjson.loads(x.to_json()) for x in items if isinstance(x, Event)]
    assert len(events) == len(items), "the simulator's records all normalise"
    return end.timestamp(), events


@pytest.mark.slow  # a simulated day through the adapters, the live store and both archives: ~1 min
@pytest.mark.xdist_group("history-typhoon")
def test_a_typhoon_day_s_counts_and_rates_per_district_equal_the_live_state_s(r, keys, settings, typhoon_day,
                                                                              request, tmp_path):
    now, events = typhoon_day
    store = LiveStore(r, keys, settings, POLICIES)
    for i in range(0, len(events), 1000):
        store.apply(events[i:i + 1000], now=now)
    ctx = LiveContext(r, keys, settings, POLICIES, Clock.from_settings(settings), load_feeds(settings), REGISTRY)
    on = OnDemand(ctx, cache_s=0)
    storm_cases = sum(1 for e in events if e["kind"] == "case" and e["category"] in ("rescue", "flood_drought"))
    assert storm_cases > 50, "the storm brought its cases"
    districts = sorted({e["location"]["adcode"] for e in events if (e.get("location") or {}).get("adcode")})
    live = {}
    for w in ("today", "24h"):
        for code in [CITY, *districts]:
            scope = on.scope(code)
            assert scope is not None
            live[w, code] = orjson.loads(on.wall_json(scope, now=now))["kpis"][w]
    assert len(live) >= 16, "the city and every district in both windows"
    parts = live["24h", CITY]["parts"]  # every kind of count is there to be compared
    assert parts["received"] > 1000 and parts["handled"] > 100 and parts["cancelled_of_received"] > 0, parts
    assert parts["signed"] > 100 and parts["closed"] > 50, parts  # ratings come days later: the next test
    assert parts["sign_overdue_open"] + parts["close_overdue_open"] > 0, parts
    for url in (f"sqlite:///{tmp_path}/archive.db", _pg_schema_url(request)):
        with Archive(url, POLICIES) as archive:
            for i in range(0, len(events), 2000):
                archive.write([orjson.dumps(e) for e in events[i:i + 2000]])
            reader = Reader(archive.engine)
            for (w, code), figures in live.items():
                start, end = kpi.window_range(w, now)
                f = Filter(start=_ms(start), end=_ms(end) + 1)  # the live windows hold everything up to now
                level = "city" if code == CITY else "district"
                got = reader.kpis(level, code, f)[0].kpis.model_dump(mode="json")
                assert got == figures, (url.split(":")[0], w, code)
            start, end = kpi.window_range("24h", now)
            by_district = {row.value: row.kpis.model_dump(mode="json")
                           for row in reader.kpis("city", CITY, Filter(start=_ms(start), end=_ms(end) + 1), "district")}
            assert all(by_district[c] == live["24h", c] for c in by_district if c), "by district, the same"


@pytest.mark.slow  # 40 k events through the live store and an archive: ~30 s
def test_every_window_s_rates_per_district_equal_the_live_state_s_over_three_weeks(r, keys, settings, tmp_path):
    """Ratings, reopens and closures come days after the report: three weeks of cases (the bench's
    synthetic ones) compared in all four windows, by district and for the city."""
    now = datetime.now(UTC).replace(microsecond=0)
    events = list(synth.events(40_000, now, seed=17, span=timedelta(days=21)))
    store = LiveStore(r, keys, settings, POLICIES)
    for i in range(0, len(events), 2000):
        store.apply(events[i:i + 2000], now=now.timestamp())
    ctx = LiveContext(r, keys, settings, POLICIES, Clock.from_settings(settings), load_feeds(settings), REGISTRY)
    on = OnDemand(ctx, cache_s=0)
    with Archive(f"sqlite:///{tmp_path}/archive.db", POLICIES) as archive:
        for i in range(0, len(events), 5000):
            archive.write([orjson.dumps(e) for e in events[i:i + 5000]])
        reader = Reader(archive.engine)
        month = orjson.loads(on.wall_json(on.scope(CITY), now=now.timestamp()))  # type: ignore[arg-type]
        parts = month["kpis"]["30d"]["parts"]
        assert parts["rated"] > 100 and parts["satisfied"] > 0 and parts["sent_back"] > 0, parts
        for w in kpi.WINDOWS:
            start, end = kpi.window_range(w, now.timestamp())
            f = Filter(start=_ms(start), end=_ms(end) + 1)
            assert reader.kpis("city", CITY, f)[0].kpis.model_dump(mode="json") == month["kpis"][w], w
            for row in reader.kpis("city", CITY, f, "district"):
                if row.value:
                    live = orjson.loads(on.wall_json(on.scope(row.value), now=now.timestamp()))  # type: ignore[arg-type]
                    assert row.kpis.model_dump(mode="json") == live["kpis"][w], (w, row.value)


@pytest.mark.slow  # hours of simulated history through the adapters
def test_backfill_writes_history_straight_into_the_archive_and_its_facts(settings: Settings, tmp_path):
    settings = settings.model_copy(update={"archive_url": f"sqlite:///{tmp_path}/h.db"})
    end = datetime(2026, 11, 20, 15, tzinfo=BEIJING)
    with Archive.from_settings(settings) as a:
        report = backfill(settings, 0.25, end=end + timedelta(hours=10), seed=4, archive=a)
        assert report.end == datetime(2026, 11, 21, tzinfo=BEIJING), "it ends at a Beijing midnight"
        assert report.rejected == 0 and report.events == report.inserted == a.count() > 1000
        assert len(report.per_feed) == 21, sorted(report.per_feed)
        got = _facts(a)
        assert len(got) > 300
        assert all(_ms(report.start) - 86_400_000 <= f["received_at"] < _ms(report.end) for f in got.values())
        with a.engine.connect() as con:
            raw = " ".join(con.scalars(sa.select(sa.text("payload")).select_from(sa.table("events"))))
        import re

        assert not re.search(r"(?<![0-9a-f])1[3-9]\d{9}(?![0-9a-f])", raw), "no phone number stored raw"
        assert re.search(r"1[3-9]\d\*{4}\d{4}", raw), "the masked ones are there"


@pytest.mark.slow  # `pingan backfill` and `pingan archive` as processes
def test_pingan_backfill_and_archive_rebuild_from_the_command_line(settings: Settings, r, tmp_path):
    env = {"PINGAN_REDIS_URL": settings.redis_url, "PINGAN_KEY_PREFIX": settings.key_prefix, "PATH": "/usr/bin:/bin",
           "PINGAN_DATA_DIR": str(settings.data_dir), "PINGAN_ARCHIVE_URL": f"sqlite:///{tmp_path}/cli.db"}
    out = subprocess.run([sys.executable, "-m", "dashboard.cli", "backfill", "--days", "0.1", "--json"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=True).stdout
    rep = json.loads(out)
    assert rep["events"] > 0 and rep["rejected"] == 0 and rep["archive_bytes"] > 0
    out = subprocess.run([sys.executable, "-m", "dashboard.cli", "archive", "rebuild", "--json"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert json.loads(out)["cases"] > 0
    load = {k.decode(): v.decode() for k, v in r.hgetall(Keys.from_settings(settings).history_load).items()}
    assert load["state"] == "done" and float(load["done_days"]) == 0.1 and int(load["events"]) == rep["events"]


def test_the_history_api_is_scoped_and_denied_to_roles_without_it(settings: Settings, r, tmp_path):
    settings = settings.model_copy(update={"archive_url": f"sqlite:///{tmp_path}/api.db"})
    with Archive.from_settings(settings) as a:
        a.write([_ev(f"H{n}", 0, "reported", T0 + timedelta(hours=n), reported_at=T0 + timedelta(hours=n),
                     location={"adcode": TAISHAN if n % 2 else PENGJIANG}) for n in range(6)])
    app = create_app(settings)
    q = "start=2026-11-30&end=2026-12-01"
    city = logged_in(app, settings, "fenxi", "analyst")
    got = city.get(f"/api/history/{CITY}/counts?{q}&by=district").get_json()
    assert {c["value"]: c["n"] for c in got} == {TAISHAN: 3, PENGJIANG: 3}
    series = city.get(f"/api/history/{CITY}/series?{q}&bucket=hour&district={TAISHAN}").get_json()
    assert sum(series["series"][0]["counts"]) == 3 and len(series["buckets"]) == 24
    assert city.get(f"/api/history/{CITY}/kpis?{q}&by=district").status_code == 200
    assert city.get(f"/api/history/{CITY}/cases?{q}&size=2").get_json()["total"] == 6
    assert city.get(f"/api/history/{CITY}/counts?start=yesterday&end=2026-12-01").status_code == 400
    assert city.get(f"/api/history/{CITY}/counts?{q}&by=password").status_code == 400
    taishan = logged_in(app, settings, "taishan-fx", "analyst", TAISHAN)
    assert taishan.get(f"/api/history/{CITY}/counts?{q}").status_code == 403
    assert taishan.get(f"/api/history/{PENGJIANG}/cases?{q}").status_code == 403
    mine = taishan.get(f"/api/history/{TAISHAN}/cases?{q}").get_json()
    assert mine["total"] == 3 and {i["district"] for i in mine["items"]} == {TAISHAN}
    admin = logged_in(app, settings, "xitong", "sysadmin")
    assert admin.get(f"/api/history/{CITY}/counts?{q}").status_code == 403
