"""Boards are registrations: the registry checks itself, every part of the system reads it (a
throwaway third board registered here is published, pushed, routed, rotated and health-checked as
declared), every frame declares every id its page writes, the pages' words exist in both languages,
and no module outside the registry and a board's own modules names a board."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from typing import Any, Literal

import orjson
import pytest
from dash import html

from dashboard.boards import EMERGENCY, REGISTRY, WALL
from dashboard.contract.board import Board, PageHead, Registry, Scope, Snapshot, resolve, scopes
from dashboard.contract.systems import load_feeds
from dashboard.live.publish import LiveContext, Round
from dashboard.live.worker import LiveWorker
from dashboard.web.app import create_app, page_config
from layouts.frame import FrameIds, Page, config, frame
from tests.conftest import REPO
from tests.logins import ORIGIN, logged_in

CITY, PENGJIANG = "440700", "440703"


# --- a throwaway board: its model, builder, layout ------------------------------------------------

class DrillSnapshot(PageHead):
    snapshot: Literal["drill"] = "drill"
    open: int


class DrillBuilder:
    def __init__(self, ctx: LiveContext) -> None:
        self.ctx = ctx

    def build(self, rnd: Round, scopes: Sequence[Scope]) -> dict[str, DrillSnapshot]:
        return {sc.code: DrillSnapshot(**rnd.page_head("drill", sc.code), open=7) for sc in scopes}


DRILL_IDS = FrameIds("drill")


def layout(page: Page) -> html.Div:
    cfg = config(page, DRILL_IDS, {"open": DRILL_IDS.open})
    return frame(page, DRILL_IDS, cfg, header_extra=[], body=[html.Div("—", id=DRILL_IDS.open)], foot=[])


DRILL = Snapshot("drill", DrillSnapshot, DrillBuilder)


def drill(**kw: Any) -> Registry:
    board = Board(name="drill", path="/board/drill", title=("演练", "Drill"), snapshots=("drill",),
                  layout="tests.test_boards", renderer="boards/drill.js", stylesheet="boards/drill.css",
                  levels=("city",), **kw)
    return REGISTRY.with_board(board, DRILL)


# --- the registry ---------------------------------------------------------------------------------

def test_the_registry_refuses_what_cannot_work():
    with pytest.raises(ValueError, match="registered twice"):
        Registry([*REGISTRY.snapshots.values()], [*REGISTRY.boards, WALL])
    with pytest.raises(ValueError, match="unregistered snapshots"):
        Registry(REGISTRY.snapshots.values(), [Board("x", "/x", ("x", "x"), ("nope",), "m", "r", "s")])
    with pytest.raises(ValueError, match="page path"):
        Registry(REGISTRY.snapshots.values(), [Board("x", "/stream/x", ("x", "x"), ("wall",), "m", "r", "s")])
    with pytest.raises(ValueError, match="only one board"):
        REGISTRY.with_board(Board("x", "/x", ("x", "x"), ("wall",), "m", "r", "s", alerts=True))
    with pytest.raises(ValueError, match="names its items"):
        Snapshot("x", DrillSnapshot, DrillBuilder, log=True)
    with pytest.raises(ValueError, match="cannot be built on demand"):  # below the district nothing is published
        REGISTRY.with_board(Board("x", "/x", ("x", "x"), ("wall", "emergency"), "m", "r", "s",
                                  levels=("city", "district", "town")))
    with pytest.raises(ValueError, match="change log cannot be built on demand"):
        Snapshot("x", DrillSnapshot, DrillBuilder, log=True, items="markers", on_demand=True)
    assert REGISTRY.with_board(Board("x", "/x", ("x", "x"), ("wall",), "m", "r", "s", levels=("grid",)))


def test_scopes_are_adcodes_with_city_as_an_alias():
    assert [s.code for s in scopes(CITY)][:2] == [CITY, PENGJIANG] and len(scopes(CITY)) == 8
    assert resolve("city", CITY) == resolve(None, CITY) == resolve(CITY, CITY) == scopes(CITY)[0]
    assert resolve(PENGJIANG, CITY).level == "district"
    assert resolve("445302", CITY) is None and resolve("nonsense", CITY) is None


def test_rotation_health_and_alerts_come_from_the_registrations():
    assert [b.name for b in REGISTRY.rotation()] == ["wall", "emergency"]
    assert REGISTRY.alert_board() is EMERGENCY and REGISTRY.home() is WALL
    checks = REGISTRY.health_checks(CITY)
    assert {n for n, _ in checks} == {"wall", "emergency"}, "whole snapshots only: the case map is a change log"
    assert len(checks) == 2 * len(scopes(CITY))
    assert "drill" not in {n for n, _ in drill(health=False).health_checks(CITY)}
    assert [(n, s) for n, s in drill(health=True).health_checks(CITY) if n == "drill"] == [("drill", CITY)], \
        "at the levels the board is shown at"


# --- the throwaway board, end to end (real Redis) --------------------------------------------------

def test_a_throwaway_board_is_published_routed_pushed_and_rotated_as_declared(r, keys, settings):
    s = settings.model_copy(update={"tile_probe": False, "tile_url": ""})
    registry = drill(rotation=False, health=False)
    worker = LiveWorker(s, load_feeds(s), name="drill", archive=False, registry=registry)
    try:
        assert worker.maybe_snapshot(force=True)
    finally:
        worker.close()
    snap = orjson.loads(r.get(keys.snapshot("drill", CITY)))
    assert snap["open"] == 7 and snap["scope"] == CITY
    assert not r.exists(keys.snapshot("drill", PENGJIANG)), "shown at the city only"
    assert r.exists(keys.snapshot("wall", PENGJIANG)) and r.exists(keys.snapshot("emergency", CITY))

    client = logged_in(create_app(s, registry), s, "duty", "duty")
    page = client.get("/board/drill")
    assert page.status_code == 200 and b"/assets/boards/drill.js?v=" in page.data, "its renderer is loaded"
    assert b".mjs" not in page.data, "the renderers' unit tests are never page scripts"
    assert client.get("/stream/drill?scope=440703").status_code == 404, "not shown at a district"
    assert client.get("/api/snapshot/drill?scope=city").get_json()["open"] == 7
    assert client.get("/healthz").status_code == 200, "health does not require what the board does not"
    feeds = load_feeds(s)
    wall = page_config(s, registry, feeds, "wall", {"rotate": "30", "kiosk": "1"})
    assert [v.split("?")[0] for v in wall["rotation"]] == ["/wall", "/board/emergency"], "it does not rotate"

    rotating = drill(rotation=True, health=True)
    wall = page_config(s, rotating, feeds, "wall", {"rotate": "30"})
    assert [v.split("?")[0] for v in wall["rotation"]] == ["/wall", "/board/emergency", "/board/drill"]
    r.delete(keys.snapshot_log("drill", CITY))
    health = create_app(s, rotating).server.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["snapshots"]["stale"] == [f"drill:{CITY}"]


def test_the_stream_of_a_board_carries_every_snapshot_it_reads(r, keys, settings):
    s = settings.model_copy(update={"tile_probe": False, "tile_url": "", "stream_max_age_s": 0.5})
    worker = LiveWorker(s, load_feeds(s), name="push", archive=False)
    try:
        worker.maybe_snapshot(force=True)
    finally:
        worker.close()
    client = logged_in(create_app(s), s, "duty", "duty")
    body = client.get("/stream/wall?scope=city").get_data()
    events = re.findall(rb"^event: (\S+)$", body, re.M)
    assert events[:3] == [b"hello", b"wall-map", b"wall"], events[:5]
    assert client.get("/stream/nope").status_code == 404
    assert client.get("/stream/wall?scope=445302").status_code == 404, "another city's district"


# --- frames, words, names ---------------------------------------------------------------------------

def _ids(tree: Any) -> set[str]:
    out = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("props"), dict) and isinstance(node["props"].get("id"), str):
                out.add(node["props"]["id"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _leaves(ids: Any) -> set[str]:
    if isinstance(ids, dict):
        return {x for v in ids.values() for x in _leaves(v)}
    if isinstance(ids, list):
        return {x for v in ids for x in _leaves(v)}
    return {ids} if isinstance(ids, str) else set()


@pytest.mark.parametrize("board", [b.name for b in REGISTRY.boards if not b.draws_itself])
@pytest.mark.parametrize("scope", [CITY, PENGJIANG])
def test_every_frame_declares_every_id_its_page_writes(settings, board, scope):
    import importlib

    from layouts.frame import Site

    b = REGISTRY.board(board)
    assert b is not None
    site = Site.build(settings, REGISTRY, load_feeds(settings), tiles_ok=False)
    tree = orjson.loads(orjson.dumps(importlib.import_module(b.layout).layout(Page.of(site, b, {"scope": scope})),
                                     default=lambda c: c.to_plotly_json()))
    cfg = page_config(settings, REGISTRY, load_feeds(settings), board, {"scope": scope})
    wanted = _leaves(cfg["ids"])
    assert wanted and wanted - _ids(tree) == set(), "ids the page would write to but the frame lacks"
    assert cfg["scope"] == scope and cfg["stream"] == f"/stream/{board}?scope={scope}"
    assert [s["name"] for s in cfg["snapshots"]] == list(b.snapshots)
    if scope != CITY and "area" in cfg["ids"]:
        assert all(code.startswith(scope) for code in cfg["ids"]["area"]), "a district's board lists its towns"


def test_every_word_the_pages_write_is_in_both_languages():
    from layouts.i18n import TEXT, table

    used = set()
    for f in (REPO / "assets").rglob("*.js"):
        used |= set(re.findall(r'\btr\("([a-z0-9_.]+)"', f.read_text("utf-8")))
    assert len(used) > 50, "the pages write words"
    for lang in ("zh", "en"):
        words = table(lang)
        # a key ending in "." is a prefix the page completes ("status." + a status)
        missing = {k for k in used if k not in words and not (k.endswith(".") and any(w.startswith(k) for w in words))}
        assert not missing, (lang, missing)
    assert all(zh for zh, _ in TEXT.values())  # English may leave a unit out ("件")


# a board's own modules (and the registry) may name it; nothing else does
OWN = {"dashboard/boards.py", "dashboard/live/wall_board.py", "dashboard/live/emergency_board.py", "layouts/wall.py",
       "layouts/emergency.py", "assets/boards/wall.js", "assets/boards/wall.css", "assets/boards/emergency.js",
       "assets/boards/emergency.css"}


def test_only_the_registry_and_a_boards_own_modules_name_it():
    pattern = r"[\"'](wall|emergency|wall-map)[\"']"
    where = ["dashboard", "feeds", "layouts", "assets", ":!assets/boards/fixtures", ":!*.toml", ":!*.test.mjs"]
    out = subprocess.run(["git", "grep", "--untracked", "-lE", pattern, "--", *where], cwd=REPO, capture_output=True,
                         text=True)
    assert out.returncode in (0, 1), out.stderr
    assert set(out.stdout.split()) <= OWN, set(out.stdout.split()) - OWN


def test_pages_are_routed_by_dashs_page_registry_whatever_the_query(settings):
    s = settings.model_copy(update={"tile_probe": False, "tile_url": ""})
    app = create_app(s)
    client = logged_in(app, s, "duty", "duty")
    assert client.get("/").headers["Location"].endswith("/wall"), "/ is the first rotating board"
    [key] = [k for k in app.callback_map if "_pages_content" in k]

    def route(path: str, search: str) -> bytes:
        body = {"output": key, "outputs": [{"id": "_pages_content", "property": "children"},
                                           {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                           {"id": "_pages_location", "property": "search", "value": search}],
                "changedPropIds": ["_pages_location.pathname"]}
        resp = client.post("/_dash-update-component", json=body, headers=ORIGIN)
        if b"nowhere" in search.encode():
            assert resp.status_code == 404
            return b""
        assert resp.status_code == 200, resp.data[:300]
        return resp.data

    assert b"wall-area-440781001-open" in route("/wall", "?board=x&module=y&scope=440781"), "a district's towns"
    assert b"em-district-440703-km" in route("/board/emergency", "?scope=city&lang=en")
    assert route("/wall", "?scope=nowhere") == b"", "an unknown scope is not found"
