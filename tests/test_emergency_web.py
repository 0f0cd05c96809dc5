"""The emergency board's server side: the page frame, the acknowledgement route (errors name the
field), the push stream of its snapshots, and positions shifted for GCJ-02 tiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from dashboard.live.emergency_board import EmergencyBoard
from dashboard.live.sla import Policies
from dashboard.live.store import LiveStore
from dashboard.web.app import create_app
from dashboard.web.mapconf import shift_emergency
from dashboard.web.push import Pusher
from feeds.clock import Clock
from feeds.geo import Datum, from_wgs84
from tests.emergency_events import cap, fix, response

T0 = 1_790_000_000.0
TAISHAN = "440781"


@pytest.fixture
def app(settings):
    return create_app(settings.model_copy(update={"tile_probe": False, "tile_url": ""}))


def _publish(r, keys, settings, events: list[dict[str, Any]], now: float) -> dict[str, Any]:
    LiveStore(r, keys, settings, Policies.load(), Clock()).apply(events, now=now)
    snap = EmergencyBoard(r, keys, settings.city_adcode).build_all(["city"], now=now)["city"]
    r.set(keys.snapshot("emergency", "city"), orjson.dumps(snap))
    r.xadd(keys.snapshot_log("emergency", "city"), {"s": orjson.dumps(snap)})
    return snap


def _page(app, path: str) -> str:
    body = {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": path},
                       {"id": "url", "property": "search", "value": "?scope=440781"}],
            "changedPropIds": ["url.pathname"]}
    resp = app.server.test_client().post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _nodes(tree: Any) -> Any:
    """Every dict and str in a JSON tree."""
    if isinstance(tree, dict):
        yield tree
        for v in tree.values():
            yield from _nodes(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from _nodes(v)
    else:
        yield tree


def test_the_frame_declares_every_id_the_page_writes(app):
    layout = orjson.loads(_page(app, "/board/emergency"))["response"]["page"]["children"]
    components = [n for n in _nodes(layout) if isinstance(n, dict) and isinstance(n.get("props"), dict)]
    ids = {n["props"]["id"] for n in components if "id" in n["props"]}
    config = next(n["props"]["data"] for n in components if n["props"].get("id") == "em-config")
    wanted = {v for v in _nodes(config["ids"]) if isinstance(v, str)} - {"em-tiles"}  # no tiles here: no layer
    assert wanted and wanted - ids == set(), "ids the page would write to but the frame lacks"
    assert config["scope"] == TAISHAN and config["stream"] == f"/stream/emergency?scope={TAISHAN}"
    assert config["ids"]["area"] and all(code.startswith(TAISHAN) for code in config["ids"]["area"]), \
        "a district's board lists its towns"


def test_acknowledgement_route(app, r, keys, settings):
    c = app.server.test_client()
    assert c.post("/api/alerts/ack", data="nope").get_json()["error"].startswith("body:")
    assert c.post("/api/alerts/ack", json={"who": "张三"}).get_json()["error"].startswith("keys:")
    _publish(r, keys, settings, [cap("R1", T0, "red", TAISHAN), response("E1", T0, "I", "启动")], T0 + 60)
    resp = c.post("/api/alerts/ack", json={"keys": ["warn:qx:R1", "warn:qx:GONE"], "who": "", "comment": ""})
    assert resp.status_code == 400
    assert {x["error"].split(":")[0] for x in resp.get_json()["refused"]} == {"who", "key"}
    resp = c.post("/api/alerts/ack", json={"keys": ["warn:qx:R1", "resp:yj:E1:I"], "who": "王五", "comment": "收到"})
    assert resp.status_code == 200 and len(resp.get_json()["acknowledged"]) == 2
    assert r.xlen(keys.audit) == 2
    again = c.post("/api/alerts/ack", json={"keys": ["warn:qx:R1"], "who": "王五"})
    assert again.status_code == 400 and "already" in again.get_json()["refused"][0]["error"]


def test_the_stream_pushes_emergency_snapshots(r, keys, settings):
    snap = _publish(r, keys, settings, [fix("201822", T0, 21.0, 113.0)], T0 + 60)
    pusher = Pusher(r, keys, block_ms=200, max_age_s=0.5)
    body = b"".join(pusher.stream("emergency", "city"))
    sent = [orjson.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: {\"board\"")]
    assert sent and sent[0]["storm"]["id"] == "201822" == snap["storm"]["id"]


def test_positions_follow_gcj02_tiles(r, keys, settings):
    landfall = {"position": "广东省江门市台山沿海", "time": "2018-09-16T17:00:00+08:00", "lat": 21.9, "lon": 112.5}
    snap = _publish(r, keys, settings, [fix("201822", T0, 21.9, 112.5, landfall=[landfall])], T0 + 60)
    shifted = shift_emergency(orjson.loads(orjson.dumps(snap)), Datum.gcj02)
    want = from_wgs84(21.9, 112.5, Datum.gcj02)
    assert (shifted["storm"]["latest"]["lat"], shifted["storm"]["latest"]["lon"]) == want
    assert tuple(shifted["storm"]["track"][0][1:3]) == want and tuple(shifted["storm"]["landfall"][0][1:3]) == want
    pusher = Pusher(r, keys, Datum.gcj02, block_ms=200, max_age_s=0.5)
    body = b"".join(pusher.stream("emergency", "city"))
    [line] = [x for x in body.split(b"\n") if x.startswith(b"data: {\"board\"")]
    assert orjson.loads(line[6:])["storm"]["latest"]["lat"] == want[0]


def test_every_word_the_pages_write_is_in_both_languages():
    import re

    from layouts.i18n import TEXT, table

    root = Path(__file__).resolve().parents[1] / "assets"
    used = {m for f in ("pingan.js", "emergency.js") for m in re.findall(r'\btr\("([a-z0-9_.]+)"',
                                                                     (root / f).read_text("utf-8"))}
    assert used, "the pages write words"
    for lang in ("zh", "en"):
        words = table(lang)
        # a key ending in "." is a prefix the page completes ("status." + a status)
        missing = {k for k in used if k not in words and not (k.endswith(".") and any(w.startswith(k) for w in words))}
        assert not missing, (lang, missing)
    assert all(zh for zh, _ in TEXT.values())  # English may leave a unit out ("件")
