"""The leaders' tablet without a browser: its registration, its app config and service worker behind the
guard, its page at any level inside the account's scope only (and no other board's below the district),
a case opened is audited, a place's cases carry where they lie in the tiles' datum, a town's figures carry
its district's red alert, and logging out clears what a browser kept offline."""

from __future__ import annotations

import re
from datetime import timedelta

import orjson
import pytest

from dashboard.accounts.audit_log import AuditLog
from dashboard.bench import synth
from dashboard.boards import REGISTRY, TABLET
from dashboard.contract.geo import from_wgs84
from dashboard.live.ondemand import OnDemand
from dashboard.web.app import create_app
from tests.conftest import REPO
from tests.logins import ORIGIN, add_account, csrf_of, log_in, logged_in
from tests.test_auth import _pages_callback
from tests.test_places import CITY, KAIPING, NOW, TAISHAN, _load, _open


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(synth.events(3000, NOW, seed=11, span=timedelta(days=2)))


@pytest.fixture
def app(settings):
    return create_app(settings.model_copy(update={"tile_probe": False, "tile_url": "", "tile_datum": "gcj02",
                                                  "login_account_burst": 20, "login_address_burst": 50}))


def _states(r, keys) -> list[dict]:
    return [orjson.loads(r.get(k)) for k in r.scan_iter(match=f"{keys.live}:case:*")]


def test_the_tablet_is_a_board_shown_at_every_level_with_the_path_its_renderer_knows():
    assert REGISTRY.board("tablet") is TABLET
    assert TABLET.levels == ("city", "district", "town", "village", "grid") and not TABLET.rotation
    assert all(REGISTRY.snapshots[n].on_demand for n in TABLET.snapshots)
    js = (REPO / "assets" / TABLET.renderer).read_text()
    assert re.search(r'const PATH = "([^"]+)"', js).group(1) == TABLET.path  # type: ignore[union-attr]


def test_its_config_and_service_worker_are_behind_the_guard(app, settings):
    assert app.server.test_client().get("/tablet/config.json").status_code == 401
    leader = logged_in(app, settings, "li-taishan", "leader", TAISHAN)
    cfg = leader.get("/tablet/config.json?lang=en").get_json()
    assert cfg["home"] == TAISHAN and cfg["lang"] == "en" and cfg["viewer"]["name"] == "li-taishan"
    assert [w["key"] for w in cfg["windows"]] == ["today", "7d", "30d"]
    assert {k["key"] for k in cfg["kpis"]} >= {"closure", "on_time_closure", "satisfaction"}
    assert len(cfg["boundaries"]["features"]) == 7 and cfg["alert_board"]["path"] == "/board/emergency"
    sw = leader.get("/tablet/sw.js?v=x")
    assert sw.status_code == 200 and sw.headers["Service-Worker-Allowed"] == "/tablet"
    assert sw.mimetype == "text/javascript" and b"caches" in sw.data
    admin = logged_in(app, settings, "root", "sysadmin")
    assert admin.get("/tablet/config.json").status_code == 403


def test_the_page_opens_any_level_inside_the_accounts_scope_only(app, r, keys, settings, sample):
    _load(r, keys, settings, sample)
    states = _states(r, keys)
    mine = next(s for s in states if s["cur"].get("adcode") == TAISHAN and s["cur"].get("grid"))
    theirs = next(s for s in states if s["cur"].get("adcode") == KAIPING and s["cur"].get("grid"))
    leader = logged_in(app, settings, "li-taishan", "leader", TAISHAN)
    for code in (TAISHAN, mine["cur"]["town"], mine["cur"]["village"], mine["cur"]["grid"]):
        assert leader.get(f"/tablet?scope={code}").status_code == 200, code
        resp = _pages_callback(leader, f"?scope={code}", "/tablet")
        assert resp.status_code == 200, (code, resp.get_data(as_text=True)[:300])
        assert f'"data-scope":"{code}"' in resp.get_data(as_text=True)
    for code in (CITY, KAIPING, theirs["cur"]["town"], theirs["cur"]["grid"]):
        assert leader.get(f"/tablet?scope={code}").status_code == 403, code
        assert _pages_callback(leader, f"?scope={code}", "/tablet").status_code == 403, code
    # the wall is not shown below the district, whoever asks and however
    assert leader.get(f"/wall?scope={mine['cur']['town']}").status_code == 404
    assert _pages_callback(leader, f"?scope={mine['cur']['town']}", "/wall").status_code == 404
    city = logged_in(app, settings, "wang", "leader")
    assert _pages_callback(city, f"?scope={theirs['cur']['grid']}", "/tablet").status_code == 200


def test_opening_a_case_is_audited_and_cases_lie_in_the_tiles_datum(app, r, keys, settings, sample):
    ctx = _load(r, keys, settings, sample)
    states = _states(r, keys)
    mine = next(s for s in states if s["cur"].get("adcode") == TAISHAN and s["cur"].get("lat") and _open(s))
    theirs = next(s for s in states if s["cur"].get("adcode") == KAIPING)
    leader = logged_in(app, settings, "li-taishan", "leader", TAISHAN)
    assert leader.get(f"/api/cases/{mine['id']}").status_code == 200
    assert leader.get(f"/api/cases/{theirs['id']}").status_code == 403
    log = AuditLog.from_settings(settings)
    try:
        opened = [(row.object, row.result) for row in log.rows() if row.action == "case.open"]
    finally:
        log.engine.dispose()
    assert opened == [(mine["id"], "ok"), (theirs["id"], "denied")]
    listed = leader.get(f"/api/places/{mine['cur']['grid']}/cases?size=200").get_json()["items"]
    item = next(c for c in listed if c["case_id"] == mine["id"])
    assert (item["lat"], item["lon"]) == from_wgs84(mine["cur"]["lat"], mine["cur"]["lon"], "gcj02")
    raw = OnDemand(ctx).cases(OnDemand(ctx).scope(mine["cur"]["grid"]), size=200).items  # the WGS-84 default
    assert next(c for c in raw if c.case_id == mine["id"]).lat == mine["cur"]["lat"]


def test_logging_out_clears_what_the_browser_kept(app, settings):
    add_account(settings, "li", "leader")
    client = app.server.test_client()
    log_in(client, "li")
    token = csrf_of(client.get("/password").get_data(as_text=True))
    resp = client.post("/logout", data={"csrf_token": token}, headers=ORIGIN)
    assert resp.status_code == 302 and resp.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_a_places_children_lie_at_the_middle_of_their_open_cases_on_the_tiles(app, r, keys, settings, sample):
    _load(r, keys, settings, sample)
    states = [s for s in _states(r, keys) if _open(s) and s["cur"].get("adcode") == TAISHAN]
    leader = logged_in(app, settings, "li-taishan", "leader", TAISHAN)
    place = leader.get(f"/api/places/{TAISHAN}").get_json()
    by_town: dict[str, list[tuple[float, float]]] = {}
    for s in states:
        if s["cur"].get("town") and s["cur"].get("lat") is not None:
            by_town.setdefault(s["cur"]["town"], []).append((s["cur"]["lat"], s["cur"]["lon"]))
    assert by_town and len(states) < 2000  # every open case of the district is read
    for kid in place["children"]:
        pts = by_town.get(kid["code"])
        if not pts:
            assert kid["at"] is None, kid
            continue
        lat = sorted(p[0] for p in pts)
        lon = sorted(p[1] for p in pts)
        mid = ((lat[(len(lat) - 1) // 2] + lat[len(lat) // 2]) / 2, (lon[(len(lon) - 1) // 2] + lon[len(lon) // 2]) / 2)
        assert tuple(kid["at"]) == pytest.approx(from_wgs84(*mid, "gcj02"), abs=1e-6), kid["code"]
    assert all(p.get("at") is None for p in place["chain"])
