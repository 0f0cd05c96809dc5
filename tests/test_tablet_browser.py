"""The leaders' tablet in real Chromium with touch emulation, against a real live worker and `pingan web`.

Two days of a city's cases are written into the streams; a live worker (with the archive, for the
previous periods) turns them into the live state and nothing more arrives — the simulator paused — on a
clock that all but stands still, so `pingan rebuild --scope`'s figures hold for the whole run. At every
size a leader taps from the city down to one grid (the district on the map, then the ranked lists) and
goes back with the back gesture; every number on the way is the rebuild's; nothing scrolls sideways, no
tap target is under 44 px, and a vertical swipe over the chart scrolls the page. A district's leader
sees only their district. Offline, a reload shows the last data with 数据截至 and the offline banner;
back online it is live again by itself.

Run alone with `pytest -m browser`.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import orjson
import pytest

from dashboard.bench import synth
from dashboard.boards import REGISTRY
from dashboard.contract.clock import Clock
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.live.publish import LiveContext
from dashboard.live.rebuild import scope_figures
from dashboard.live.sla import Policies
from tests.browser import Web, chromium, require_chromium
from tests.conftest import REDIS_URL, REPO
from tests.e2e import stop, wait_until
from tests.logins import PASSWORD, add_account
from tests.test_wall_browser import _fixed1

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("tablet-browser")]
sync_api = pytest.importorskip("playwright.sync_api")

CITY, TAISHAN, KAIPING = "440700", "440781", "440783"
# iPad-class screens, landscape and portrait, and a phone
SIZES = ((1024, 768), (768, 1024), (1180, 820), (820, 1180), (1366, 1024), (1024, 1366), (390, 844))
SLOW_CLOCK = 1e-6  # clock seconds per wall second: the figures (SLA lights included) hold still


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict[str, Any]]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("tablet")
    prefix = f"test-tablet-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=0)
    env = {**os.environ, "PINGAN_REDIS_URL": REDIS_URL, "PINGAN_KEY_PREFIX": prefix,
           "PINGAN_DATA_DIR": str(tmp / "var"),
           "PINGAN_TILE_URL": "", "PINGAN_TILE_PROBE": "false", "PINGAN_CLOCK_ORIGIN": str(now.timestamp()),
           "PINGAN_CLOCK_SPEED": str(SLOW_CLOCK)}
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, data_dir=tmp / "var", tile_url="", tile_probe=False,
                        clock_origin=now.timestamp(), clock_speed=SLOW_CLOCK)
    keys = Keys(prefix)
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    pipe = r.pipeline(transaction=False)
    for ev in synth.events(6000, now, seed=11, span=timedelta(days=2)):
        pipe.xadd(keys.stream(ev["source"]), {"id": ev["event_id"], "e": orjson.dumps(ev)})
    pipe.execute()
    add_account(settings, "li", "leader")
    add_account(settings, "li-ts", "leader", TAISHAN)
    out = open(tmp / "live.log", "ab")  # noqa: SIM115 - owned by the process
    live = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "live"], env=env, cwd=REPO, stdout=out,
                            stderr=subprocess.STDOUT)
    web = Web(SimpleNamespace(tmp=tmp, env=env))  # type: ignore[arg-type]
    ctx = LiveContext(r, keys, settings, Policies.load(), Clock.from_settings(settings), load_feeds(settings), REGISTRY)
    try:
        web.start()
        wait_until(lambda: _caught_up(ctx), 120, every=2, what="the live worker through the streams")
        yield {"ctx": ctx, "web": web, "r": r, "keys": keys, "tmp": tmp}
    finally:
        web.kill()
        stop(live, grace_s=15)
        for k in r.scan_iter(match=f"{prefix}:*", count=1000):
            r.delete(k)
        r.close()


def _caught_up(ctx: LiveContext) -> bool:
    """Every group (the live state's, the archive's) has read and acknowledged every event, and the city's
    figures are published (the rebuild below says whether they are right)."""
    for code in ctx.feeds:
        stream = ctx.keys.stream(code)
        if not ctx.r.exists(stream):
            continue
        groups = ctx.r.xinfo_groups(stream)
        if len(groups) < 2 or any(g["lag"] or g["pending"] for g in groups):
            return False
    return bool(ctx.r.exists(ctx.keys.snapshot("wall", CITY)))


@pytest.fixture(scope="module")
def path(world) -> list[str]:
    """City → a district → a town → a village → a grid, down to a grid with open cases in a village."""
    ctx = world["ctx"]
    states = [orjson.loads(ctx.r.get(k)) for k in ctx.r.scan_iter(match=f"{ctx.keys.live}:case:*")]
    cur = next(s["cur"] for s in sorted(states, key=lambda s: s["id"])
               if s["cur"]["status"] not in ("resolved", "closed", "rated", "cancelled")
               and all(s["cur"].get(k) for k in ("adcode", "town", "village", "grid")))
    return [CITY, cur["adcode"], cur["town"], cur["village"], cur["grid"]]


@pytest.fixture(scope="module")
def rebuilt(world, path) -> dict[str, Any]:
    """`pingan rebuild --scope`'s figures of every place on the path (the clock all but stands still)."""
    found = scope_figures(world["ctx"], path)
    assert all(f["equal"] for f in found.values()), "the live state is the rebuild's"
    return {code: f["rebuilt"] for code, f in found.items()}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


class Tablet:
    """One tablet (a browser context with touch) logged in through the login form."""

    def __init__(self, browser: Any, base: str, name: str, size: tuple[int, int]) -> None:
        w, h = size
        self.base, self.errors = base, []
        self.context = browser.new_context(viewport={"width": w, "height": h}, has_touch=True, is_mobile=w < 600)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.goto(f"{base}/tablet")
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        self.page.goto(f"{base}/tablet")

    def js(self, expr: str, arg: Any = None) -> Any:
        return self.page.evaluate(expr, arg)

    def at(self, code: str) -> None:
        """Wait until the page shows ``code``: the address, the breadcrumbs and the snapshot drawn."""
        try:
            self._at(code)
        except sync_api.TimeoutError:
            raise AssertionError(f"not at {code}: {self.page.url} " + str(self.js(
                """() => { const t = pingan.tablet;
                  return [t.want, t.place && t.place.scope.code, t.snap && t.snap.scope, t.cases && t.cases.scope,
                          document.querySelector('.tb-crumbs').textContent]; }""")) +
                f" errors {self.errors}") from None

    def _at(self, code: str) -> None:
        self.page.wait_for_function(
            """code => { const t = window.pingan && pingan.tablet; return t && t.place && t.snap
                 && t.place.scope.code === code && t.snap.scope === code && t.cases && t.cases.scope === code
                 && new URLSearchParams(location.search).get('scope') === code
                 && document.querySelector('.tb-crumbs [aria-current=page]') !== null; }""", arg=code, timeout=20000)
        assert self.page.url.endswith(f"scope={code}") or code == CITY

    def shown(self) -> dict[str, Any]:
        """Every number the page shows, by what it is."""
        return self.js("""() => {
          const num = (el) => el ? el.textContent.replace(/,/g, '').trim() : null;
          const now = {}, kpi = {}, rows = {};
          for (const el of document.querySelectorAll('.tb-now [data-k]')) now[el.dataset.k] = num(el);
          for (const el of document.querySelectorAll('.tb-kpis [data-k^="kpi."]')) kpi[el.dataset.k.slice(4)] = num(el);
          for (const li of document.querySelectorAll('.tb-rows [data-code]')) {
            rows[li.dataset.code] = {};
            for (const el of li.querySelectorAll('[data-k]')) rows[li.dataset.code][el.dataset.k] = num(el);
          }
          return {now, kpi, rows, total: pingan.tablet.cases.total, listed: pingan.tablet.cases.items.length,
                  as_of: pingan.tablet.snap.as_of, crumbs: document.querySelector('.tb-crumbs').textContent};
        }""")

    def layout_faults(self) -> dict[str, Any]:
        """Sideways scrolling, and every visible tap target under 44 px."""
        return self.js("""() => {
          const small = [];
          const targets = '#tb a, #tb button, #tb [role=button], #tb input:not([type=hidden])';
          for (const el of document.querySelectorAll(targets)) {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
            const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
            if (r.width < 44 || r.height < 44) small.push(`${el.className || el.tagName} ${size}`);
          }
          const de = document.documentElement;
          return {sideways: Math.max(de.scrollWidth, document.body.scrollWidth) - window.innerWidth, small};
        }""")

    def swipe_up_over(self, selector: str) -> tuple[float, float]:
        """A one-finger swipe up over the element (real touch events): the page's scroll before and after."""
        self.js("s => document.querySelector(s).scrollIntoView({block: 'center'})", selector)
        self.page.wait_for_timeout(200)
        box = self.page.query_selector(selector).bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        before = self.js("scrollY")
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for i in range(1, 11):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y - 12 * i}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        self.page.wait_for_timeout(400)
        return before, self.js("scrollY")

    def tap_district_on_map(self, code: str, opens: bool = True) -> None:
        """A tap on the district's polygon, at its label point (once nothing else is over it); ``opens``:
        it must open the district."""
        self.js("() => document.querySelector('.tb-map').scrollIntoView({block: 'center'})")
        point = self.page.wait_for_function("""code => {
          const t = pingan.tablet, f = t.cfg.boundaries.features.find((f) => f.properties.adcode === code);
          const p = t.map.latLngToContainerPoint(f.properties.label);
          const box = t.map.getContainer().getBoundingClientRect(), x = box.left + p.x, y = box.top + p.y;
          const hit = document.elementFromPoint(x, y);
          return hit && hit.tagName === 'path' && t.map.getContainer().contains(hit) ? [x, y] : null; }""",
                                            arg=code, timeout=10000).json_value()
        if opens:
            self.tap_at(point, code)
        else:
            self.page.touchscreen.tap(*point)

    def tap_at(self, point: list[float], code: str) -> None:
        """A tap at ``point`` that should open ``code``, tapped again when it did not: on a loaded machine
        the touch's end can come after Chromium's long-press delay, and a long press is no click."""
        for _ in range(3):
            self.page.touchscreen.tap(*point)
            try:
                self.page.wait_for_function("code => pingan.tablet.want === code", arg=code, timeout=3000)
                return
            except sync_api.TimeoutError:
                continue
        raise AssertionError(f"three taps at {point} did not open {code}")

    def tap_place_on_map(self, code: str) -> None:
        """A tap on the place's marker where no other marker covers it (zoomed in until one is found)."""
        self.js("() => document.querySelector('.tb-map').scrollIntoView({block: 'center'})")
        for _ in range(4):
            self.page.wait_for_timeout(300)
            point = self.js("""code => {
              const el = document.querySelector(`.tb-place[data-place="${code}"]`), r = el.getBoundingClientRect();
              for (let i = 1; i < 8; i++) for (let j = 1; j < 8; j++) {
                const x = r.left + r.width * i / 8, y = r.top + r.height * j / 8;
                if (el.contains(document.elementFromPoint(x, y))) return [x, y];
              }
              pingan.tablet.map.setView(pingan.tablet.map.layerPointToLatLng(
                pingan.tablet.map.latLngToLayerPoint(pingan.tablet.place.children.find((c) => c.code === code).at)),
                pingan.tablet.map.getZoom() + 1, {animate: false});
              return null; }""", code)
            if point:
                self.tap_at(point, code)
                return
        raise AssertionError(f"the marker of {code} is covered at every zoom tried")

    def tap(self, code: str) -> None:
        self.page.locator(f".tb-rows [data-go='{code}']").tap()

    def close(self) -> None:
        self.context.close()


def _expected(fig: dict[str, Any]) -> dict[str, Any]:
    """What the page must show of a scope's figures."""
    whole = [r for r in fig["sla"] if not r["stage"]]
    now = {k: str(fig["cases"][k]) for k in ("open", "urgent_open", "open_incidents", "escalated_open")}
    now |= {"red": str(sum(r["red"] for r in whole)), "yellow": str(sum(r["yellow"] for r in whole))}
    rates = fig["kpis"]["today"]["rates"]
    kpi = {k: "—" if v["value"] is None else _fixed1(v["value"]) for k, v in rates.items()
           if k in ("closure", "on_time_sign_off", "response", "on_time_closure", "satisfaction")}
    rows = {a["code"]: {"red": str(a["red"]), "open": str(a["open"]),
                        "closure": "—" if (c := a["kpis_30d"]["rates"]["closure"]["value"]) is None else _fixed1(c)}
            for a in fig["areas"]}
    return {"now": now, "kpi": kpi, "rows": rows, "total": fig["cases"]["open"]}


def _check_the_change_against_the_previous_period(t: Tablet, fig: dict[str, Any]) -> None:
    """Each KPI's change against yesterday (the archive's read side, by the history API) is the rate now
    minus the rate then, in points."""
    t.page.wait_for_function("() => !document.querySelector('[data-k=\"delta.closure\"]').textContent.endsWith('—')",
                             timeout=15000)
    before = t.js("""async () => { const w = pingan.tablet.snap.windows.today, day = 86400000;
      const r = await fetch(`/api/history/440700/kpis?start=${w.start - day}&end=${w.end - day}`);
      return (await r.json())[0].kpis.rates; }""")
    for key in ("closure", "on_time_sign_off", "response"):
        now, then = fig["kpis"]["today"]["rates"][key]["value"], before[key]["value"]
        shown = t.js(f"document.querySelector('[data-k=\"delta.{key}\"]').textContent")
        if now is None or then is None:
            assert shown.endswith("—"), key
            continue
        d = math.floor((now - then) * 10 + 0.5) / 10
        assert shown == f"较上期 {'+' if d > 0 else '−' if d < 0 else '±'}{abs(d):.1f}", (key, now, then, shown)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_leader_taps_from_the_city_to_one_grid_and_back(world, browser, path, rebuilt, size):
    t = Tablet(browser, world["web"].url, "li", size)
    try:
        t.at(CITY)
        if size == SIZES[0]:
            _check_the_change_against_the_previous_period(t, rebuilt[CITY])
        seen = []
        for depth, code in enumerate(path):
            if depth == 1:
                t.tap_district_on_map(code)  # a district is tapped on the map
            elif depth == 2:
                t.tap_place_on_map(code)  # a town, as a marker on the map
            elif depth > 2:
                t.tap(code)  # villages and grids on the ranked list of the level above
            t.at(code)
            shown, want = t.shown(), _expected(rebuilt[code])
            assert {k: shown[k] for k in ("now", "kpi", "rows")} == {k: want[k] for k in ("now", "kpi", "rows")}, code
            assert shown["total"] == want["total"] and shown["listed"] == min(want["total"], 20), code
            assert shown["crumbs"].count("›") == depth
            faults = t.layout_faults()
            assert faults["sideways"] <= 0 and faults["small"] == [], (code, faults)
            seen.append(code)
            if depth == 0:  # the city's page is the longest: room to scroll both ways
                before, after = t.swipe_up_over(".tb-trend")
                assert after > before, "a vertical swipe over the chart scrolls the page"
                t.js("window.scrollTo(0, 0)")
        assert t.js("document.querySelector('.tb-rows').textContent").startswith("网格已是最小单元")
        for code in reversed(seen[:-1]):
            t.page.go_back()  # the back gesture: up a level
            t.at(code)
        assert t.errors == []
    finally:
        t.close()


def test_a_district_leader_sees_only_their_district_at_every_level(world, browser, path):
    t = Tablet(browser, world["web"].url, "li-ts", (1024, 768))
    try:
        t.at(TAISHAN)  # where the account starts
        assert t.js("document.querySelector('.tb-crumbs [data-go]') === null"), "the city cannot be opened"
        codes = t.js("[...document.querySelectorAll('.tb-rows [data-go]')].map((e) => e.dataset.go)")
        assert codes and all(c.startswith(TAISHAN) for c in codes)
        t.tap_district_on_map(KAIPING, opens=False)  # another district on the map: nothing happens
        t.page.wait_for_timeout(800)
        assert t.page.url.endswith(f"scope={TAISHAN}")
        # a case in the drawer stays open, and the page where it was, while the stream brings updates
        t.page.locator(".tb-case").first.tap()
        t.page.wait_for_function(
            "() => !document.querySelector('.tb-drawer').hidden && !!document.querySelector('.tb-steps')")
        case, y, at = t.js("[pingan.tablet.caseOpen, scrollY, pingan.tablet.snapAt]")
        assert unquote(t.page.url).endswith(f"case={case}")
        t.page.wait_for_function("at => pingan.tablet.snapAt > at", arg=at, timeout=20000)
        after = t.js("[pingan.tablet.caseOpen, scrollY, document.querySelector('.tb-drawer').hidden]")
        assert after == [case, y, False]
        t.page.go_back()  # the back gesture closes the drawer first
        t.page.wait_for_function("() => document.querySelector('.tb-drawer').hidden")
        t.at(TAISHAN)
        down = [TAISHAN]
        while True:  # down the first place of each level with something below it
            rows = t.js("[...document.querySelectorAll('.tb-rows [data-go]')].map((e) => e.dataset.go)")
            if not rows:
                break
            t.tap(rows[0])
            t.at(rows[0])
            down.append(rows[0])
            crumbs = t.js("[...document.querySelectorAll('.tb-crumbs .tb-crumb')].map((e) => e.textContent)")
            assert crumbs[:2] == ["全市", "台山市"]
            assert t.js("document.querySelector('.tb-crumbs [data-go=\"440700\"]')") is None
            listed = t.js("pingan.tablet.cases.items.map((c) => c.district)")
            assert all(d == TAISHAN for d in listed)
        assert len(down) == 4, down  # the district, a town, a village, a grid
        asked = t.js("""async (codes) => { const out = {};
          for (const c of codes) out[c] = [(await fetch(`/tablet?scope=${c}`)).status,
                                           (await fetch(`/api/snapshot/wall?scope=${c}`)).status,
                                           (await fetch(`/api/places/${c}/cases`)).status];
          return out; }""", [CITY, KAIPING, *path[2:]] if path[1] != TAISHAN else [CITY, KAIPING])
        assert all(v == [403, 403, 403] for v in asked.values()), asked
        assert t.page.goto(f"{t.base}/tablet?scope={KAIPING}").status == 403
        assert [e for e in t.errors if "status of 403" not in e] == []  # the refusals asked for above, only
    finally:
        t.close()


def test_offline_a_reload_shows_the_last_data_and_back_online_it_is_live_again(world, browser, path):
    t = Tablet(browser, world["web"].url, "li", (1180, 820))
    try:
        t.at(CITY)
        t.tap_district_on_map(path[1])
        t.at(path[1])
        # the service worker is in charge and has kept the page (a first visit is kept once it has settled)
        t.page.wait_for_function("""async (code) => { if (!navigator.serviceWorker.controller) return false;
          const names = await caches.keys(), kept = names.length && await caches.open(names[0]);
          return !!kept && !!await kept.match('/tablet') && !!await kept.match(`/api/places/${code}`); }""",
                                 arg=path[1], timeout=20000, polling=500)
        t.page.wait_for_timeout(5500)  # a pushed snapshot written into the cache
        before = t.shown()
        t.context.set_offline(True)
        t.page.reload()
        try:
            t.at(path[1])
        except AssertionError as exc:  # what the worker and the cache held, to tell a miss from a lost worker
            kept = t.js("""async () => { const out = {controller: !!navigator.serviceWorker.controller};
              for (const n of await caches.keys()) out[n] = (await (await caches.open(n)).keys()).map((r) => r.url);
              return out; }""")
            raise AssertionError(f"{exc}; offline cache: {kept}") from None
        t.page.wait_for_function("() => !document.querySelector('.tb-banner').hidden", timeout=10000)
        banner = t.js("document.querySelector('.tb-banner').textContent")
        assert banner.startswith("离线 · 数据截至 ")
        assert t.js("document.documentElement.classList.contains('tb-offline')")
        offline = t.shown()
        assert {k: offline[k] for k in ("now", "kpi", "rows")} == {k: before[k] for k in ("now", "kpi", "rows")}
        assert offline["as_of"] >= before["as_of"] - 6000
        t.context.set_offline(False)  # no tap from here on
        t.page.wait_for_function("""() => { const t = pingan.tablet;
          return t.connected && document.querySelector('.tb-banner').hidden && Date.now() - t.snapAt < 10000; }""",
                                 timeout=30000)
        assert t.js("!document.documentElement.classList.contains('tb-offline')")
        # what an offline reload logs (the server unreachable) is the only thing logged
        assert all("ERR_INTERNET_DISCONNECTED" in e or "server did not respond" in e or "reading 'title'" in e
                   or "Failed to load resource" in e for e in t.errors), t.errors
    finally:
        t.close()
