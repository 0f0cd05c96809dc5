"""The push stream against a real Redis: positions, the map's change log, catch-up and resume,
what one XREAD becomes, the display datum, and which screens count as connected."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import pytest
import redis

from dashboard.live.mapdelta import MapPublisher
from dashboard.live.sla import Policies
from dashboard.live.snapshot import SnapshotBuilder
from dashboard.web.mapconf import shift
from dashboard.web.push import SCREEN_TTL_S, Position, Pusher, connected_screens, message
from feeds.geo import Datum
from tests.conftest import REDIS_URL

WALL, MAP = "wall", "wall-map"


def marker(i: int, lat: float = 22.58, lon: float = 113.08, st: str = "reported") -> dict[str, Any]:
    return {"id": f"c{i}", "st": st, "lat": round(lat + i * 1e-3, 6), "lon": round(lon + i * 1e-3, 6), "d": "440703"}


def map_snap(markers: list[dict[str, Any]], version: int = 1) -> dict[str, Any]:
    return {"board": MAP, "scope": "city", "version": version, "as_of": 1_700_000_000_000, "markers": markers}


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
            state = {m["id"]: m for m in e["markers"]}
        else:
            state.update({m["id"]: m for m in e["up"]})
            for i in e["rm"]:
                state.pop(i, None)
    return state


@pytest.fixture
def builder(r, keys) -> SnapshotBuilder:
    return SnapshotBuilder(r, keys, Policies.load(None), "440700")


def publish_wall(builder: SnapshotBuilder, n: int) -> str:
    return builder.publish(WALL, "city", {"board": WALL, "scope": "city", "n": n})


def map_log(r, keys) -> list[tuple[str, dict[str, Any]]]:
    return [(i.decode(), orjson.loads(f[b"d"])) for i, f in r.xrange(keys.snapshot_log(MAP, "city"))]


# --- Position -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, wall, map_", [
    ("1700000000000-0|1700000000001-3", "1700000000000-0", "1700000000001-3"),
    ("1-0|", "1-0", None),
    ("|2-5", None, "2-5"),
    ("1-0", "1-0", None),
    (None, None, None),
    ("", None, None),
])
def test_position_parses_and_prints_back(raw, wall, map_):
    pos = Position.parse(raw)
    assert (pos.wall, pos.map) == (wall, map_)
    assert Position.parse(str(pos)) == pos
    assert str(pos) == f"{wall or ''}|{map_ or ''}"


@pytest.mark.parametrize("raw", ["abc|def", "1-|x", "-1|2-", "1-2-3|4", "1x-0|0-y", "1-0\nevent: x|2-0\n", " 1-0|"])
def test_position_ignores_garbage_parts(raw):
    pos = Position.parse(raw)
    for part in (pos.wall, pos.map):
        assert part is None or part in ("2-0",)  # only a well-formed id survives
    assert "\n" not in str(pos)


def test_message_is_one_sse_event():
    assert message("snapshot", b'{"a":1}', Position("1-0", "2-0")) == b'event: snapshot\nid: 1-0|2-0\ndata: {"a":1}\n\n'
    assert message("ping", b"{}") == b"event: ping\ndata: {}\n\n"


# --- MapPublisher: the log of changes -----------------------------------------------------------

def test_map_publisher_resets_then_publishes_deltas(r, keys):
    mp = MapPublisher(r, keys)
    a, b, c = marker(1), marker(2), marker(3)
    id1 = mp.publish("city", map_snap([a, b]))
    b2 = {**b, "st": "assigned"}
    id2 = mp.publish("city", map_snap([b2, c], version=2))
    assert mp.publish("city", map_snap([b2, c], version=3)) is None  # nothing moved: no entry
    log = map_log(r, keys)
    assert [i for i, _ in log] == [id1, id2]
    first, second = log[0][1], log[1][1]
    assert first["reset"] is True and first["markers"] == [a, b]
    assert "reset" not in second and second["version"] == 2
    assert sorted(m["id"] for m in second["up"]) == ["c2", "c3"] and second["rm"] == ["c1"]
    assert orjson.loads(r.get(keys.snapshot(MAP, "city")))["markers"] == [b2, c]
    assert r.get(keys.snapshot_log_id(MAP, "city")).decode() == id2


def test_map_log_replayed_in_order_equals_the_full_map(r, keys):
    rng = random.Random(5)
    mp = MapPublisher(r, keys, keep=1000)
    current = {i: marker(i) for i in range(30)}
    for step in range(40):
        for i in rng.sample(sorted(current), 3):
            del current[i]
        for i in rng.sample(sorted(current), 3):
            current[i] = {**current[i], "st": f"s{step}"}
        for k in range(4):
            current[1000 + step * 4 + k] = marker(1000 + step * 4 + k)
        mp.publish("city", map_snap(list(current.values()), version=step))
    full = orjson.loads(r.get(keys.snapshot(MAP, "city")))["markers"]
    assert replay([e for _, e in map_log(r, keys)]) == {m["id"]: m for m in full}
    assert {m["id"] for m in full} == {f"c{i}" for i in current}


def test_map_publisher_forget_starts_over_with_a_reset_and_the_log_is_capped(r, keys):
    mp = MapPublisher(r, keys, keep=3)
    for v in range(5):
        mp.publish("city", map_snap([marker(v)], version=v))
    assert r.xlen(keys.snapshot_log(MAP, "city")) == 3
    mp.forget()
    mp.publish("city", map_snap([marker(9)]))
    assert map_log(r, keys)[-1][1]["reset"] is True


# --- Pusher.catch_up ----------------------------------------------------------------------------

def test_catch_up_without_position_sends_the_full_map_and_the_newest_snapshot(r, keys, builder):
    mp = MapPublisher(r, keys)
    mp.publish("city", map_snap([marker(1), marker(2)]))
    map_id = mp.publish("city", map_snap([marker(2), marker(3)]))
    publish_wall(builder, 1)
    newest = publish_wall(builder, 2)
    pos, msgs = Pusher(r, keys).catch_up(WALL, "city", Position())
    assert pos == Position(newest, map_id)
    got = parse(b"".join(msgs))
    assert [m["event"] for m in got] == ["mapfull", "snapshot"]  # the full map replaces every marker
    assert got[0]["data"]["markers"] == [marker(2), marker(3)]
    assert got[1]["data"]["n"] == 2
    assert got[1]["id"] == str(pos)


def test_catch_up_with_a_resumable_map_id_sends_no_reset_then_only_later_changes(r, keys, builder):
    mp = MapPublisher(r, keys)
    first = mp.publish("city", map_snap([marker(1), marker(2)]))
    old_wall = publish_wall(builder, 1)
    mp.publish("city", map_snap([marker(2), marker(3)]))
    last = mp.publish("city", map_snap([marker(3)]))
    newest = publish_wall(builder, 2)
    pusher = Pusher(r, keys)
    pos, msgs = pusher.catch_up(WALL, "city", Position(old_wall, first))
    assert pos == Position(newest, first)
    assert [m["event"] for m in parse(b"".join(msgs))] == ["snapshot"]
    logs = (keys.snapshot_log(WALL, "city"), keys.snapshot_log(MAP, "city"))
    got = r.xread({logs[0]: pos.wall, logs[1]: pos.map})
    pos, msgs = pusher.changes(got, logs, pos)
    entries = [m["data"] for m in parse(b"".join(msgs))]
    assert not any(e.get("reset") for e in entries)
    assert [e["rm"] for e in entries] == [["c1"], ["c2"]]
    assert pos.map == last
    assert replay([{"reset": True, "markers": [marker(1), marker(2)]}, *entries]) == {"c3": marker(3)}


@pytest.mark.parametrize("known", ["trimmed", "unknown"])
def test_catch_up_with_a_map_id_no_longer_in_the_log_resets(r, keys, builder, known):
    mp = MapPublisher(r, keys, keep=2)
    first = mp.publish("city", map_snap([marker(1)]))
    for v in range(2, 5):
        last = mp.publish("city", map_snap([marker(v)], version=v))
    publish_wall(builder, 1)
    gone = first if known == "trimmed" else "1-1"
    assert not r.xrange(keys.snapshot_log(MAP, "city"), gone, gone)
    pos, msgs = Pusher(r, keys).catch_up(WALL, "city", Position(None, gone))
    got = parse(b"".join(msgs))
    assert got[0]["event"] == "mapfull"
    assert got[0]["data"]["markers"] == [marker(4)]
    assert pos.map == last


def test_catch_up_with_nothing_published_sends_nothing(r, keys):
    pos, msgs = Pusher(r, keys).catch_up(WALL, "city", Position())
    assert msgs == [] and pos == Position()


# --- Pusher.changes -----------------------------------------------------------------------------

def test_changes_sends_every_map_entry_in_order_but_only_the_newest_snapshot(r, keys, builder):
    mp = MapPublisher(r, keys)
    mp.publish("city", map_snap([marker(1)]))
    start = Position(publish_wall(builder, 0), r.get(keys.snapshot_log_id(MAP, "city")).decode())
    map_ids = [mp.publish("city", map_snap([marker(1), *[marker(k) for k in range(2, v + 2)]], version=v))
               for v in range(1, 4)]
    walls = [publish_wall(builder, n) for n in (1, 2, 3)]
    logs = (keys.snapshot_log(WALL, "city"), keys.snapshot_log(MAP, "city"))
    got = r.xread({logs[0]: start.wall, logs[1]: start.map})
    pos, msgs = Pusher(r, keys).changes(got, logs, start)
    out = parse(b"".join(msgs))
    assert [m["event"] for m in out] == ["map", "map", "map", "snapshot"]
    assert [Position.parse(m["id"]).map for m in out[:3]] == map_ids
    assert [[u["id"] for u in m["data"]["up"]] for m in out[:3]] == [["c2"], ["c3"], ["c4"]]
    assert out[3]["data"]["n"] == 3
    assert pos == Position(walls[-1], map_ids[-1]) and out[3]["id"] == str(pos)


def test_changes_with_only_map_entries_keeps_the_wall_position(r, keys):
    mp = MapPublisher(r, keys)
    first = mp.publish("city", map_snap([marker(1)]))
    second = mp.publish("city", map_snap([marker(2)]))
    logs = (keys.snapshot_log(WALL, "city"), keys.snapshot_log(MAP, "city"))
    got = r.xread({logs[0]: "5-0", logs[1]: first})
    pos, msgs = Pusher(r, keys).changes(got, logs, Position("5-0", first))
    assert pos == Position("5-0", second)
    assert [m["event"] for m in parse(b"".join(msgs))] == ["map"]


# --- display datum ------------------------------------------------------------------------------

def test_gcj02_display_shifts_markers_and_wgs84_leaves_the_bytes_alone(r, keys, builder):
    mp = MapPublisher(r, keys)
    a, b = marker(1), marker(2)
    mp.publish("city", map_snap([a]))
    start = r.get(keys.snapshot_log_id(MAP, "city")).decode()
    mp.publish("city", map_snap([a, b]))
    publish_wall(builder, 1)
    logs = (keys.snapshot_log(WALL, "city"), keys.snapshot_log(MAP, "city"))
    raw_entry = r.xrange(logs[1])[-1][1][b"d"]

    gcj = Pusher(r, keys, Datum.gcj02)
    _, msgs = gcj.catch_up(WALL, "city", Position())
    full = parse(b"".join(msgs))[0]["data"]["markers"]
    for before, after in zip([a, b], full, strict=True):
        assert (after["lat"], after["lon"]) == pytest.approx(shift(before["lat"], before["lon"], Datum.gcj02))
        assert abs(after["lon"] - before["lon"]) > 1e-3  # several hundred metres in Jiangmen
    _, msgs = gcj.changes(r.xread({logs[1]: start}), logs, Position(None, start))
    up = parse(b"".join(msgs))[0]["data"]["up"]
    assert (up[0]["lat"], up[0]["lon"]) == pytest.approx(shift(b["lat"], b["lon"], Datum.gcj02))

    wgs = Pusher(r, keys, Datum.wgs84)
    _, msgs = wgs.changes(r.xread({logs[1]: start}), logs, Position(None, start))
    assert parse(b"".join(msgs))[0]["raw"] == raw_entry
    _, msgs = wgs.catch_up(WALL, "city", Position())
    assert parse(b"".join(msgs))[0]["data"]["markers"] == [a, b]


# --- screens ------------------------------------------------------------------------------------

def test_connected_screens_drops_screens_not_seen_within_the_ttl(r, keys):
    now = 1_700_000_000_000
    ttl = int(SCREEN_TTL_S * 1000)
    r.hset(keys.screens, mapping={
        "fresh": orjson.dumps({"board": WALL, "scope": "city", "seen": now - 1000}),
        "edge": orjson.dumps({"board": WALL, "scope": "440703", "seen": now - ttl}),
        "old": orjson.dumps({"board": WALL, "scope": "city", "seen": now - ttl - 1}),
        "garbage": b"not json",
    })
    alive = connected_screens(r, keys, now)
    assert sorted(s["screen"] for s in alive) == ["edge", "fresh"]
    assert next(s for s in alive if s["screen"] == "edge")["scope"] == "440703"
    assert sorted(k.decode() for k in r.hkeys(keys.screens)) == ["edge", "fresh"]


def test_a_stream_says_hello_registers_its_screen_and_forgets_it_when_it_ends(r, keys, builder):
    publish_wall(builder, 1)
    pusher = Pusher(r, keys, max_age_s=0.5, block_ms=100)
    body = pusher.stream(WALL, "city", screen="wall-7", build="abc")
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


def test_an_idle_stream_pings_instead_of_timing_out_on_the_redis_socket(keys):
    """The blocking XREAD must return before the client's socket timeout (redis-py's default, as the
    app's client uses it): otherwise a quiet wall's stream dies and it reconnects for the full map."""
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(REDIS_URL, max_connections=4, timeout=5))
    try:
        body = Pusher(client, keys, max_age_s=30).stream(WALL, "city", screen="idle")
        next(body)  # hello; nothing published: no catch-up
        assert next(body).startswith(b"event: ping")
        body.close()
    finally:
        client.delete(keys.screens)
        client.close()
