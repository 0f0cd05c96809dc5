"""The case map (the wall's `wall-map` change log) from the live state: one GeoJSON point per open
case, lights from the nearest running clock at the build's instant, linked later reports left out,
and a marker that did not change is the very object it was (the change log's diff skips it)."""

from __future__ import annotations

from dashboard.boards import CASE_MAP, REGISTRY
from dashboard.contract.board import scopes
from dashboard.contract.clock import Clock
from dashboard.live.publish import LiveContext, Round
from dashboard.live.sla import Policies
from dashboard.live.store import LiveStore
from dashboard.live.wall_board import CaseMap, CaseMapBuilder
from tests.board_fixtures import HOUR, PENGJIANG, TAISHAN, T, _store_clock, case

CITY = "440700"


def _builder(r, keys, settings):
    ctx = LiveContext(r, keys, settings, Policies.load(), Clock(), {}, REGISTRY)
    return ctx, CaseMapBuilder(ctx)


def _by_id(snap):
    return {m["id"]: m for m in snap["markers"]}


def test_markers_lights_links_and_unchanged_markers_kept(r, keys, settings):
    LiveStore(r, keys, settings, Policies.load(), _store_clock()).apply([
        case("12345", "A", T - 3 * HOUR, "reported", "public_service", PENGJIANG),
        case("110", "P", T - 300, "reported", "police_public_order", PENGJIANG, priority=1, lat=22.59, lon=113.09),
        case("wg", "G", T - 200, "reported", "public_order", PENGJIANG, lat=22.5901, lon=113.0901),
        case("12345", "B", T - 3 * HOUR, "reported", "environment", TAISHAN, lat=22.25, lon=112.79),
    ], now=T)
    ctx, builder = _builder(r, keys, settings)
    city, pengjiang = scopes(CITY)[0], scopes(CITY)[1]
    first = builder.build(Round(ctx, T), [city, pengjiang])
    assert set(_by_id(first[CITY])) == {"12345:A", "110:P", "12345:B"}, "the grid worker's report is linked to 110's"
    assert set(_by_id(first[PENGJIANG])) == {"12345:A", "110:P"}
    p = _by_id(first[CITY])["110:P"]["properties"]
    assert p["sources"] == ["110", "wg"] and p["fresh"] and p["light"] in ("green", "yellow", "red")
    CaseMap.model_validate({**first[CITY], "markers": first[CITY]["markers"]})

    again = builder.build(Round(ctx, T + 1), [city])
    for cid, m in _by_id(again[CITY]).items():
        assert m is _by_id(first[CITY])[cid], f"{cid}: nothing changed, the same object"

    # a day later (no event since): the 12345 cases' sign-off clocks (1 working day) have run out
    later = _by_id(builder.build(Round(ctx, T + 26 * HOUR), [city])[CITY])
    assert later["12345:A"]["properties"]["light"] == "red" and later["12345:A"] is not _by_id(first[CITY])["12345:A"]
    assert not later["110:P"]["properties"]["fresh"]
    assert CASE_MAP.items == "markers"
