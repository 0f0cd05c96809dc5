"""The emergency board in real Chromium while a real typhoon track is replayed at high speed:
simulator (scenario) → ingest → live → web (gunicorn), one shared clock.

Replaying 山竹 Mangkhut (2018, landfall at 台山): the storm moves on the map, the districts'
warning colours change, the response level rises, a rotating wall is pinned to this board at red
and released afterwards; a duty officer's acknowledgement is stored, shown and silences the alarm.
The same replay from a CMA best-track file (`CH2018BST.txt`, storm 1822) moves the storm and colours
the districts. Run alone with `pytest -m browser`; screenshots go to $PINGAN_ARTEFACTS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.browser import Page, chromium, require_chromium, whole_pipeline
from tests.conftest import SHARED_DATA
from tests.e2e import Stack, wait_until

# one group: the module's tests share one whole pipeline, built once on one worker (the other
# browser module runs beside it on the other worker)
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("emergency-browser")]

SPEED = 1200.0  # simulated seconds per real second: a day in 72 s
LEAD_H = 24.0  # the replay starts this long before the storm's closest approach (starting up takes ~10 h of it)
TAISHAN = "440781"
# the case feeds at a tenth of their daily volumes: the storm is what this test is about
VOLUMES = ("12345=300", "110=150", "wg=500", "119=10", "120=30", "122=30", "cg=100", "qy117=20")
PAGE = "(window.pingan && pingan.page && pingan.page())"
# the storm's centre as the board was sent it, while its symbol is drawn on the map
EYE = (f"(() => {{ const pg = {PAGE}; const s = pg && pg.snap; if (!s || !document.querySelector('#em-map .storm-eye'))"
       " return null; const c = s.map_layer.features.find(f => f.properties.kind === 'centre');"
       " return c ? c.geometry.coordinates : null; })()")
FIXES = "document.querySelectorAll('#em-map path.storm-fix').length"  # the track's fixes drawn on the map


@contextmanager
def _replay(tmp: Path, track: Path, storm: str | None, lead_h: float = LEAD_H) -> Iterator[dict[str, Any]]:
    require_chromium()
    args = ["--scenario", "typhoon", "--track", str(track), "--lead-h", str(lead_h)]
    args += ["--storm", storm] if storm else []
    for v in VOLUMES:
        args += ["--volume", v]
    clock = {"PINGAN_CLOCK_ORIGIN": repr(time.time()), "PINGAN_CLOCK_SPEED": repr(SPEED)}
    stack = Stack(tmp, f"test-em-{uuid.uuid4().hex[:8]}", speed=SPEED, seed=3, backfill_h=1, sim_args=tuple(args),
                  **clock)
    with whole_pipeline(stack, "emergency") as run:
        yield run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def _track(name: str) -> Path:
    path = SHARED_DATA / "typhoon" / name
    if not path.is_file():
        pytest.skip(f"real track not found at {path}")
    return path


def _snap(p: Page, path: str) -> Any:
    return p.js(f"(() => {{ const pg = {PAGE}; const s = pg && pg.snap; return s ? s.{path} : undefined; }})()")


def _fits_the_screen(p: Page) -> None:
    assert p.js("document.documentElement.scrollWidth <= innerWidth && "
                "document.documentElement.scrollHeight <= innerHeight"), "scrollbars"
    cut = p.js("""[...document.querySelectorAll('.panel')].filter(e => { const r = e.getBoundingClientRect();
                  return r.right > innerWidth + 1 || r.bottom > innerHeight + 1; }).length""")
    assert cut == 0, "a panel runs off the screen"


def _taishan_fill(p: Page) -> str:
    """The fill of 台山's boundary on the map."""
    return str(p.js(f"(document.querySelector('#em-map path.d-{TAISHAN}') || {{getAttribute: () => ''}})"
                    ".getAttribute('fill')"))


def test_mangkhut_replay_moves_the_storm_colours_districts_and_pins_the_wall_at_red(browser, tmp_path):
    with _replay(tmp_path, _track("wztf_realtime_json/201822.json"), None) as run:
        url, artefacts = run["web"].url, run["artefacts"]
        board = Page(browser, f"{url}/board/emergency")
        wall = Page(browser, f"{url}/wall?kiosk=1&rotate=3")
        try:
            wait_until(lambda: board.js(EYE), 60, what="the storm on the board's map")
            def sent() -> int:
                return len([f for f in _snap(board, "map_layer.features") or [] if f["properties"]["kind"] == "fix"])
            wait_until(lambda: board.js(FIXES) == sent() > 0, 15, what="every fix the board was sent drawn")
            first, drawn = board.js(EYE), board.js(FIXES)
            assert _snap(board, "storm.id") == "201822" and "山竹" in board.text("em-storm-chip")
            for size in ((1920, 1080), (3840, 2160)):
                board.page.set_viewport_size({"width": size[0], "height": size[1]})
                time.sleep(1.5)
                _fits_the_screen(board)
                board.page.screenshot(path=str(artefacts / f"emergency-early-{size[0]}x{size[1]}.png"))
            board.page.set_viewport_size({"width": 1920, "height": 1080})
            if _snap(board, "alert") is None:  # no red yet: the wall rotates between the boards
                wait_until(lambda: wall.js("location.pathname") == "/board/emergency", 15, what="rotation on")
                wait_until(lambda: wall.js("location.pathname") == "/wall" or _snap(wall, "alert"), 15,
                           what="rotation back (or a red alert meanwhile)")
            # red: 台山 goes red on the map and in the table, the wall is pinned to the board
            wait_until(lambda: (_snap(board, "alert") or {}).get("unacknowledged", 0) > 0, 180, every=1,
                       what="a red alert during the replay")
            wait_until(lambda: wall.js("location.pathname") == "/board/emergency", 15, what="the wall pinned")
            wait_until(lambda: board.js(EYE) != first and board.js(FIXES) > drawn, 30,
                       what="the storm moving on the map (its new fixes drawn)")
            wait_until(lambda: "c4" in board.js("document.querySelector('[id^=em-warn-] .c4, .chip.c4') ? 'c4' : ''"),
                       120, every=1, what="a district's chip red")
            wait_until(lambda: _taishan_fill(board) in ("#e03131", "#f08c00"), 120, every=1,
                       what="台山 orange or red on the map")
            assert board.js("document.documentElement.classList.contains('alarm')"), "the alarm shows"
            board.page.screenshot(path=str(artefacts / "emergency-red.png"))
            for _ in range(3):  # several rotation periods: it stays
                time.sleep(3)
                assert wall.js("location.pathname") == "/board/emergency"
            # the duty officer acknowledges on the board: stored, shown, the alarm stops
            pending = {i["key"] for i in _snap(board, "alert.items") if i["acknowledgement"] is None}
            assert board.text("em-ack-who") == "签名：值班员张三 · 值班员", "signed by the logged-in officer"
            board.page.fill("#em-ack-comment", "已通知台山市三防办 13812345678")
            board.page.click("#em-ack-button")

            def stored() -> dict[str, Any]:
                held = run["stack"].r.hgetall(run["stack"].keys.em_acks)
                return {k.decode(): orjson.loads(v) for k, v in held.items()}

            # one request stores them one after the other (each with its audit row)
            acks = wait_until(lambda: (got := stored()) and pending <= set(got) and got, 20,
                              what="every pending acknowledgement stored")
            assert {a["who"] for a in acks.values()} == {"值班员张三"}
            assert {a["comment"] for a in acks.values()} == {"已通知台山市三防办 138****5678"}, "masked"
            wait_until(lambda: "值班员张三" in board.text("em-ack-item-0"), 10, what="the acknowledgement shown")

            def silenced(p: Page) -> bool:  # every item acknowledged on that screen stops flashing
                items = _snap(p, "alert.items") or []
                return all(i["acknowledgement"] for i in items if i["key"] in pending)
            wait_until(lambda: silenced(board) and silenced(wall), 15, what="both screens show the acknowledgement")
            # the storm goes inland and dies out: red is over, the response comes down, the wall rotates again
            wait_until(lambda: _snap(board, "alert") is None, 240, every=1, what="the red alert over")
            wait_until(lambda: wall.js("location.pathname") == "/wall", 20, what="the wall released")
            land = _snap(board, "storm.landfalls") or []
            assert any("台山" in x["place"] for x in land), land
            # the storm's response rose to II or I and came down again; at 1200x a later ordinary episode
            # (rain: 防汛 IV/III) may already have begun by now, so read the level history, not the episode
            history = (_snap(board, "response") or {}).get("history") or []
            top = max(range(len(history)), key=lambda i: history[i]["severity"], default=None)
            assert top is not None and history[top]["severity"] >= 3, history
            assert any(x["severity"] < history[top]["severity"] for x in history[top + 1:]), \
                ("the response never came down", history)
            board.page.screenshot(path=str(artefacts / "emergency-after.png"))
            assert board.errors == [] and wall.errors == [], (board.errors, wall.errors)
        finally:
            board.close()
            wall.close()


def test_best_track_replay_moves_the_storm_and_colours_districts(browser, tmp_path):
    with _replay(tmp_path, _track("cma_bst/CH2018BST.txt"), "1822", lead_h=12) as run:
        p = Page(browser, f"{run['web'].url}/board/emergency?scope={TAISHAN}")
        try:
            wait_until(lambda: p.js(EYE), 60, what="the storm on the board's map")
            first = p.js(EYE)
            assert _snap(p, "storm.id") == "201822" or "1822" in str(_snap(p, "storm.id"))
            wait_until(lambda: p.js(EYE) != first, 60, what="the storm moving")
            wait_until(lambda: _taishan_fill(p) not in ("", "#1d2b45"), 120, every=1, what="台山 coloured by a warning")
            assert p.errors == [], p.errors
        finally:
            p.close()
