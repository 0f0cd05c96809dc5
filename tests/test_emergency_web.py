"""The emergency board's server side: the acknowledgement route (errors name the field), the push
stream of its snapshots, and what it draws shifted for GCJ-02 tiles."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from dashboard.boards import EMERGENCY, EMERGENCY_PICTURE, REGISTRY
from dashboard.contract.board import scopes
from dashboard.contract.clock import Clock
from dashboard.contract.geo import Datum, from_wgs84
from dashboard.live.emergency_board import EmergencyBuilder
from dashboard.live.publish import LiveContext, Publisher, Round
from dashboard.live.sla import Policies
from dashboard.live.store import LiveStore
from dashboard.web.app import create_app
from dashboard.web.mapconf import shift_geojson
from dashboard.web.push import Pusher
from tests.emergency_events import cap, fix, response
from tests.logins import ORIGIN, csrf_of, logged_in

T0 = 1_790_000_000.0
CITY, TAISHAN = "440700", "440781"
SPECS = REGISTRY.reads(EMERGENCY)


@pytest.fixture
def app(settings):
    return create_app(settings.model_copy(update={"tile_probe": False, "tile_url": ""}))


def _publish(r, keys, settings, events: list[dict[str, Any]], now: float) -> dict[str, Any]:
    LiveStore(r, keys, settings, Policies.load(), Clock()).apply(events, now=now)
    ctx = LiveContext(r, keys, settings, Policies.load(), Clock(), {}, REGISTRY)
    snap = EmergencyBuilder(ctx).build(Round(ctx, now), scopes(CITY)[:1])[CITY]
    Publisher(r, keys).publish(EMERGENCY_PICTURE, CITY, snap)
    return snap.model_dump(mode="json")


def _centre(snap: dict[str, Any]) -> list[float]:
    [f] = [f for f in snap["map_layer"]["features"] if f["properties"]["kind"] == "centre"]
    return f["geometry"]["coordinates"]


def test_acknowledgement_route(app, r, keys, settings):
    c = logged_in(app, settings, "wang-wu", "duty")
    token = csrf_of(c.get("/password").get_data(as_text=True))  # the session's token (any page carries it)
    headers = {**ORIGIN, "X-CSRFToken": token}
    assert c.post("/api/alerts/ack", data="nope", headers=headers).get_json()["error"].startswith("body:")
    assert c.post("/api/alerts/ack", json={}, headers=headers).get_json()["error"].startswith("keys:")
    assert c.post("/api/alerts/ack", json={"keys": ["x"], "scope": "445300"},
                  headers=headers).get_json()["error"].startswith("scope:")
    _publish(r, keys, settings, [cap("R1", T0, "red", TAISHAN), response("E1", T0, "I", "启动")], T0 + 60)
    resp = c.post("/api/alerts/ack", json={"keys": ["warn:qx:GONE"], "comment": ""}, headers=headers)
    assert resp.status_code == 400 and resp.get_json()["refused"][0]["error"].startswith("key:")
    resp = c.post("/api/alerts/ack", json={"keys": ["warn:qx:R1", "resp:yj:E1:I"], "comment": "收到", "scope": "city"},
                  headers=headers)
    assert resp.status_code == 200 and [a["who"] for a in resp.get_json()["acknowledged"]] == ["wang-wu"] * 2
    again = c.post("/api/alerts/ack", json={"keys": ["warn:qx:R1"], "scope": CITY}, headers=headers)
    assert again.status_code == 400 and "already" in again.get_json()["refused"][0]["error"]


def test_the_stream_pushes_emergency_snapshots(r, keys, settings):
    snap = _publish(r, keys, settings, [fix("201822", T0, 21.0, 113.0)], T0 + 60)
    pusher = Pusher(r, keys, block_ms=200, max_age_s=0.5)
    body = b"".join(pusher.stream(EMERGENCY.name, SPECS, CITY))
    sent = [orjson.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: {") and b"storm" in line]
    assert sent and sent[0]["storm"]["id"] == "201822" == snap["storm"]["id"]


def test_what_the_board_draws_follows_gcj02_tiles(r, keys, settings):
    landfall = {"position": "广东省江门市台山沿海", "time": "2018-09-16T17:00:00+08:00", "lat": 21.9, "lon": 112.5}
    snap = _publish(r, keys, settings, [fix("201822", T0, 21.9, 112.5, landfall=[landfall])], T0 + 60)
    want = from_wgs84(21.9, 112.5, Datum.gcj02)
    shifted = shift_geojson(orjson.loads(orjson.dumps(snap["map_layer"])), Datum.gcj02)
    for f in shifted["features"]:
        if f["geometry"]["type"] == "Point" and f["properties"]["kind"] in ("centre", "fix", "landfall"):
            assert tuple(f["geometry"]["coordinates"][::-1]) == want, f["properties"]["kind"]
    assert snap["storm"]["latest"]["lat"] == 21.9, "the published fix stays WGS-84 (it is text, not drawn)"
    pusher = Pusher(r, keys, Datum.gcj02, block_ms=200, max_age_s=0.5)
    body = b"".join(pusher.stream(EMERGENCY.name, SPECS, CITY))
    [line] = [x for x in body.split(b"\n") if x.startswith(b"data: {") and b"map_layer" in x]
    assert _centre(orjson.loads(line[6:])) == [want[1], want[0]]
    assert _centre(snap) == [112.5, 21.9]
