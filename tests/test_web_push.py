"""The push stream against a real Redis: positions, a change log (the case map), catch-up and
resume, what one XREAD becomes, the display datum, and which screens count as connected."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import pytest
import redis

from dashboard.boards import CASE_MAP, REGISTRY, WALL, WALL_FIGURES
from dashboard.contract.geo import Datum
from dashboard.live.changelog import ChangeLog
from dashboard.live.publish import Publisher
from dashboard.web.mapconf import shift
from dashboard.web.push import SCREEN_TTL_S, Position, Pusher, connected_screens, message
from tests.conftest import REDIS_URL

CITY = "440700"
SPECS = REGISTRY.reads(WALL)  # the wall reads its figures (whole) and its case map (a change log)
FIGS, MAP = WALL_FIGURES.name, CASE_MAP.name


def marker(i: int, lat: float = 22.58, lon: float = 113.08, status: str = "reported") -> dict[str, Any]:
    return {"type": "Feature", "id": f"c{i}",
            "geometry": {"type": "Point", "coordinates": [round(lon + i * 1e-3, 6), round(lat + i * 1e-3, 6)]},
            "properties": {"status": status, "district": "440703"}}


def map_snap(markers: list[dict[str, Any]], version: int = 1) -> dict[str, Any]:
    return {"snapshot": MAP, "scope": CITY, "version": version, "as_of": 1_700_000_000_000, "markers": markers}


def parse(raw: bytes) -> list[dict[str, Any]]:
    """SSE messages -> [{event, id, data (parsed)}]."""
    out = []
    for block in raw.split(b"\n\n"):
        if not block:
            continue
        fields = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line)
        out.append({"event": fields[b"event"].decode(), "id": fields.get(b"id", b"").decode() or None,
                    "data": orjson.loads(fields[b"data"]), "raw": fields[b"data"]})
    return out


def replay(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a browser's map holds after applying the log's entries in order."""
    state: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("reset"):
            state = {}
        state.update({m["id"]: m for m in e["markers"]})
        for i in e["removed"]:
            state.pop(i, None)
    return state


@pytest.fixture
def publisher(r, keys) -> Publisher:
    return Publisher(r, keys)


def publish_wall(publisher: Publisher, n: int) -> str:
    entry = publisher.publish(WALL_FIGURES, CITY, {"snapshot": FIGS, "scope": CITY, "n": n})
    assert entry is not None
    return entry


def map_log(r, keys) -> list[tuple[str, dict[str, Any]]]:
    return [(i.decode(), orjson.loads(f[b"d"])) for i, f in r.xrange(keys.snapshot_log(MAP, CITY))]


def pos(figures: str | None = None, cases: str | None = None) -> Position:
    """A position in the wall's two logs (its registration's order: figures, then the case map)."""
    assert [s.name for s in SPECS] == [FIGS, MAP]
    return Position((figures, cases))


def xread(r, keys, p: Position) -> Any:
    logs = Pusher(r, keys).logs(SPECS, CITY)
    return r.xread({name: p.ids[i] or "0-0" for i, name in enumerate(logs)})


# --- Position -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, first, second", [
    ("1700000000000-0|1700000000001-3", "1700000000000-0", "1700000000001-3"),
    ("1-0|", "1-0", None),
    ("|2-5", None, "2-5"),
    ("1-0", "1-0", None),
    (None, None, None),
    ("", None, None),
])
def test_position_parses_and_prints_back(raw, first, second):
    p = Position.parse(raw, 2)
    assert p.ids == (first, second)
    assert Position.parse(str(p), 2) == p
    assert str(p) == f"{first or ''}|{second or ''}"


@pytest.mark.parametrize("raw", ["abc|def", "1-|x", "-1|2-", "1-2-3|4", "1x-0|0-y", "1-0\nevent: x|2-0\n", " 1-0|"])
def test_position_ignores_garbage_parts(raw):
    p = Position.parse(raw, 2)
    for part in p.ids:
        assert part is None or part in ("2-0",)  # only a well-formed id survives
    assert "\n" not in str(p)


def test_position_has_one_part_per_log_of_the_board():
    assert Position.parse("1-0|2-0|3-0", 1).ids == ("1-0",)
    assert Position.parse("1-0", 3).ids == ("1-0", None, None)
    assert str(Position.parse("1-0", 3).with_id(2, "5-5")) == "1-0||5-5"


def test_message_is_one_sse_event():
    assert message("wall", b'{"a":1}', pos("1-0", "2-0")) == b'event: wall\nid: 1-0|2-0\ndata: {"a":1}\n\n'
    assert message("ping", b"{}") == b"event: ping\ndata: {}\n\n"


# --- ChangeLog: the case map as a log of changes -------------------------------------------------

def test_change_log_resets_then_publishes_changes(r, keys):
    log = ChangeLog(r, keys, MAP, "markers")
    a, b, c = marker(1), marker(2), marker(3)
    id1 = log.publish(CITY, map_snap([a, b]))
    b2 = {**b, "properties": {**b["properties"], "status": "accepted"}}
    id2 = log.publish(CITY, map_snap([b2, c], version=2))
    assert log.publish(CITY, map_snap([b2, c], version=3)) is None  # nothing moved: no entry
    entries = map_log(r, keys)
    assert [i for i, _ in entries] == [id1, id2]
    first, second = entries[0][1], entries[1][1]
    assert first["reset"] is True and first["markers"] == [a, b] and first["removed"] == []
    assert second["reset"] is False and second["version"] == 2
    assert sorted(m["id"] for m in second["markers"]) == ["c2", "c3"] and second["removed"] == ["c1"]
    stored = orjson.loads(r.get(keys.snapshot(MAP, CITY)))
    assert stored["markers"] == [b2, c] and stored["reset"] is True, "the full state is stored as a reset entry"
    assert r.get(keys.snapshot_log_id(MAP, CITY)).decode() == id2


def test_change_log_replayed_in_order_equals_the_full_state(r, keys):
    rng = random.Random(5)
    log = ChangeLog(r, keys, MAP, "markers", keep=1000)
    current = {i: marker(i) for i in range(30)}
    for step in range(40):
        for i in rng.sample(sorted(current), 3):
            del current[i]
        for i in rng.sample(sorted(current), 3):
            current[i] = {**current[i], "properties": {"status": f"s{step}"}}
        for k in range(4):
            current[1000 + step * 4 + k] = marker(1000 + step * 4 + k)
        log.publish(CITY, map_snap(list(current.values()), version=step))
    full = orjson.loads(r.get(keys.snapshot(MAP, CITY)))["markers"]
    assert replay([e for _, e in map_log(r, keys)]) == {m["id"]: m for m in full}
    assert {m["id"] for m in full} == {f"c{i}" for i in current}


def test_change_log_forget_starts_over_with_a_reset_and_the_log_is_capped(r, keys):
    log = ChangeLog(r, keys, MAP, "markers", keep=3)
    for v in range(5):
        log.publish(CITY, map_snap([marker(v)], version=v))
    assert r.xlen(keys.snapshot_log(MAP, CITY)) == 3
    log.forget()
    log.publish(CITY, map_snap([marker(9)]))
    assert map_log(r, keys)[-1][1]["reset"] is True


# --- Pusher.catch_up ----------------------------------------------------------------------------

def test_catch_up_without_position_sends_the_full_map_and_the_newest_snapshot(r, keys, publisher):
    publisher.publish(CASE_MAP, CITY, map_snap([marker(1), marker(2)]))
    map_id = publisher.publish(CASE_MAP, CITY, map_snap([marker(2), marker(3)]))
    publish_wall(publisher, 1)
    newest = publish_wall(publisher, 2)
    p, msgs = Pusher(r, keys).catch_up(SPECS, CITY, pos())
    assert p == pos(newest, map_id)
    got = parse(b"".join(msgs))
    assert [m["event"] for m in got] == [MAP, FIGS]  # the change log's full state first, as a reset
    assert got[0]["data"]["reset"] is True and got[0]["data"]["markers"] == [marker(2), marker(3)]
    assert got[1]["data"]["n"] == 2
    assert got[1]["id"] == str(p)


def test_catch_up_with_a_resumable_map_id_sends_no_reset_then_only_later_changes(r, keys, publisher):
    first = publisher.publish(CASE_MAP, CITY, map_snap([marker(1), marker(2)]))
    old_wall = publish_wall(publisher, 1)
    publisher.publish(CASE_MAP, CITY, map_snap([marker(2), marker(3)]))
    last = publisher.publish(CASE_MAP, CITY, map_snap([marker(3)]))
    newest = publish_wall(publisher, 2)
    pusher = Pusher(r, keys)
    p, msgs = pusher.catch_up(SPECS, CITY, pos(old_wall, first))
    assert p == pos(newest, first)
    assert [m["event"] for m in parse(b"".join(msgs))] == [FIGS]
    p, msgs = pusher.changes(xread(r, keys, p), SPECS, pusher.logs(SPECS, CITY), p)
    entries = [m["data"] for m in parse(b"".join(msgs))]
    assert not any(e.get("reset") for e in entries)
    assert [e["removed"] for e in entries] == [["c1"], ["c2"]]
    assert p.ids[1] == last
    assert replay([{"reset": True, "markers": [marker(1), marker(2)], "removed": []}, *entries]) == {"c3": marker(3)}


@pytest.mark.parametrize("known", ["trimmed", "unknown"])
def test_catch_up_with_a_map_id_no_longer_in_the_log_resets(r, keys, publisher, known):
    publisher._logs[MAP] = ChangeLog(r, keys, MAP, "markers", keep=2)
    first = publisher.publish(CASE_MAP, CITY, map_snap([marker(1)]))
    for v in range(2, 5):
        last = publisher.publish(CASE_MAP, CITY, map_snap([marker(v)], version=v))
    publish_wall(publisher, 1)
    gone = first if known == "trimmed" else "1-1"
    assert not r.xrange(keys.snapshot_log(MAP, CITY), gone, gone)
    p, msgs = Pusher(r, keys).catch_up(SPECS, CITY, pos(None, gone))
    got = parse(b"".join(msgs))
    assert got[0]["event"] == MAP and got[0]["data"]["reset"] is True
    assert got[0]["data"]["markers"] == [marker(4)]
    assert p.ids[1] == last


def test_catch_up_with_nothing_published_sends_nothing(r, keys):
    p, msgs = Pusher(r, keys).catch_up(SPECS, CITY, pos())
    assert msgs == [] and p == pos()


# --- Pusher.changes -----------------------------------------------------------------------------

def test_changes_sends_every_map_entry_in_order_but_only_the_newest_snapshot(r, keys, publisher):
    publisher.publish(CASE_MAP, CITY, map_snap([marker(1)]))
    start = pos(publish_wall(publisher, 0), r.get(keys.snapshot_log_id(MAP, CITY)).decode())
    map_ids = [publisher.publish(CASE_MAP, CITY, map_snap([marker(1), *[marker(k) for k in range(2, v + 2)]],
                                                           version=v)) for v in range(1, 4)]
    walls = [publish_wall(publisher, n) for n in (1, 2, 3)]
    pusher = Pusher(r, keys)
    p, msgs = pusher.changes(xread(r, keys, start), SPECS, pusher.logs(SPECS, CITY), start)
    out = parse(b"".join(msgs))
    assert [m["event"] for m in out] == [MAP, MAP, MAP, FIGS]
    assert [Position.parse(m["id"], 2).ids[1] for m in out[:3]] == map_ids
    assert [[u["id"] for u in m["data"]["markers"]] for m in out[:3]] == [["c2"], ["c3"], ["c4"]]
    assert out[3]["data"]["n"] == 3
    assert p == pos(walls[-1], map_ids[-1]) and out[3]["id"] == str(p)


def test_changes_with_only_map_entries_keeps_the_wall_position(r, keys, publisher):
    first = publisher.publish(CASE_MAP, CITY, map_snap([marker(1)]))
    second = publisher.publish(CASE_MAP, CITY, map_snap([marker(2)]))
    pusher = Pusher(r, keys)
    p, msgs = pusher.changes(xread(r, keys, pos("5-0", first)), SPECS, pusher.logs(SPECS, CITY), pos("5-0", first))
    assert p == pos("5-0", second)
    assert [m["event"] for m in parse(b"".join(msgs))] == [MAP]


# --- display datum ------------------------------------------------------------------------------

def _lat_lon(m: dict[str, Any]) -> tuple[float, float]:
    lon, lat = m["geometry"]["coordinates"]
    return lat, lon


def test_gcj02_display_shifts_what_is_drawn_and_wgs84_leaves_the_bytes_alone(r, keys, publisher):
    a, b = marker(1), marker(2)
    publisher.publish(CASE_MAP, CITY, map_snap([a]))
    start = r.get(keys.snapshot_log_id(MAP, CITY)).decode()
    publisher.publish(CASE_MAP, CITY, map_snap([a, b]))
    publish_wall(publisher, 1)
    raw_entry = r.xrange(keys.snapshot_log(MAP, CITY))[-1][1][b"d"]

    gcj = Pusher(r, keys, Datum.gcj02)
    _, msgs = gcj.catch_up(SPECS, CITY, pos())
    full = parse(b"".join(msgs))[0]["data"]["markers"]
    for before, after in zip([a, b], full, strict=True):
        assert _lat_lon(after) == pytest.approx(shift(*_lat_lon(before), Datum.gcj02))
        assert abs(_lat_lon(after)[1] - _lat_lon(before)[1]) > 1e-3  # several hundred metres in Jiangmen
    logs = gcj.logs(SPECS, CITY)
    _, msgs = gcj.changes(r.xread({logs[1]: start}), SPECS, logs, pos(None, start))
    up = parse(b"".join(msgs))[0]["data"]["markers"]
    assert _lat_lon(up[0]) == pytest.approx(shift(*_lat_lon(b), Datum.gcj02))

    wgs = Pusher(r, keys, Datum.wgs84)
    _, msgs = wgs.changes(r.xread({logs[1]: start}), SPECS, logs, pos(None, start))
    assert parse(b"".join(msgs))[0]["raw"] == raw_entry
    _, msgs = wgs.catch_up(SPECS, CITY, pos())
    assert parse(b"".join(msgs))[0]["data"]["markers"] == [a, b]


def test_a_snapshot_without_geojson_fields_is_sent_as_stored_whatever_the_datum(r, keys, publisher):
    publish_wall(publisher, 7)
    stored = r.xrange(keys.snapshot_log(FIGS, CITY))[-1][1][b"s"]
    _, msgs = Pusher(r, keys, Datum.gcj02).catch_up(SPECS, CITY, pos())
    assert parse(b"".join(msgs))[0]["raw"] == stored


# --- screens ------------------------------------------------------------------------------------

def test_connected_screens_drops_screens_not_seen_within_the_ttl(r, keys):
    now = 1_700_000_000_000
    ttl = int(SCREEN_TTL_S * 1000)
    r.hset(keys.screens, mapping={
        "fresh": orjson.dumps({"board": WALL.name, "scope": CITY, "seen": now - 1000}),
        "edge": orjson.dumps({"board": WALL.name, "scope": "440703", "seen": now - ttl}),
        "old": orjson.dumps({"board": WALL.name, "scope": CITY, "seen": now - ttl - 1}),
        "garbage": b"not json",
    })
    alive = connected_screens(r, keys, now)
    assert sorted(s["screen"] for s in alive) == ["edge", "fresh"]
    assert next(s for s in alive if s["screen"] == "edge")["scope"] == "440703"
    assert sorted(k.decode() for k in r.hkeys(keys.screens)) == ["edge", "fresh"]


def test_a_stream_says_hello_registers_its_screen_and_forgets_it_when_it_ends(r, keys, publisher):
    publish_wall(publisher, 1)
    pusher = Pusher(r, keys, max_age_s=0.5, block_ms=100)
    body = pusher.stream(WALL.name, SPECS, CITY, screen="wall-7", build="abc")
    first = next(body)
    assert first.startswith(b"retry: ")
    hello = parse(first.split(b"\n", 1)[1])[0]
    assert hello["event"] == "hello" and hello["data"] == {"build": "abc", "screen": "wall-7"}
    assert parse(next(body))[0]["data"]["n"] == 1
    assert next(body).startswith(b"event: ping")  # nothing new within block_ms
    assert [s["screen"] for s in connected_screens(r, keys, int(time.time() * 1000))] == ["wall-7"]
    rest = list(body)  # ends by itself after max_age_s
    assert all(m.startswith(b"event: ping") for m in rest)
    assert not r.hexists(keys.screens, "wall-7")


@pytest.mark.slow  # waits out a whole heartbeat and more
def test_an_idle_stream_pings_instead_of_timing_out_on_the_redis_socket(keys):
    """The blocking XREAD must return before the client's socket timeout (redis-py's default, as the
    app's client uses it): otherwise a quiet wall's stream dies and it reconnects for the full map."""
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(REDIS_URL, max_connections=4, timeout=5))
    try:
        body = Pusher(client, keys, max_age_s=30).stream(WALL.name, SPECS, CITY, screen="idle")
        next(body)  # hello; nothing published: no catch-up
        assert next(body).startswith(b"event: ping")
        body.close()
    finally:
        client.delete(keys.screens)
        client.close()
