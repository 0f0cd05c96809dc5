"""Small snapshots of every registered board, and their pages' configs: the fixtures the renderers'
unit tests read (assets/boards/fixtures/, run by `node --test`).

They are built by the product itself — the live store folds a fixed set of events, the registered
builders build each snapshot at a fixed instant, the layouts render each page's frame — against the
real Redis under a private key prefix. `python -m tests.board_fixtures` writes them;
tests/test_board_fixtures.py rebuilds them and fails when they differ from what is committed, so a
renamed field fails a fast test instead of a browser run.
"""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from typing import Any

import orjson
import redis

from dashboard.boards import REGISTRY
from dashboard.contract.board import Registry
from dashboard.contract.clock import Clock
from dashboard.contract.event import BEIJING
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.live import alerts
from dashboard.live.publish import LiveContext, Round
from dashboard.live.sla import Policies
from dashboard.live.store import LiveStore
from tests.conftest import REDIS_URL, REPO
from tests.emergency_events import HOUR, cap, event, fix, response

FIXTURES = REPO / "assets" / "boards" / "fixtures"
T = datetime(2026, 9, 15, 10, 0, tzinfo=BEIJING).timestamp()  # a Tuesday, working days known to the calendar
CITY, PENGJIANG, TAISHAN = "440700", "440703", "440781"
FEEDS = ("12345", "110", "wg", "tf", "qx", "yj", "sw", "hs")  # a short feed strip keeps the fixtures small
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
# (file stem, snapshot, scope, board for the frame config, page query)
PAGES = (("wall.city", "wall", CITY, "wall", {}), ("wall.district", "wall", TAISHAN, "wall", {}),
         ("emergency.city", "emergency", CITY, "emergency", {}),
         ("emergency.district", "emergency", TAISHAN, "emergency", {"lang": "en"}))


def case(source: str, cid: str, t: float, status: str, category: str, adcode: str, *, priority: int = 3,
         lat: float = 22.58, lon: float = 113.08, summary: str = "", town: str | None = None,
         rating: str | None = None, reported: float | None = None) -> dict[str, Any]:
    attrs = {"satisfaction": rating} if rating else {}
    ev = event("case", category, f"{source}:{cid}", t, attrs, status=status, source=source,
               reported=reported if reported is not None else t, adcode=adcode, lat=lat, lon=lon, town=town)
    ev.update(priority=priority, summary=summary)
    return ev


def events() -> list[dict[str, Any]]:
    """A morning in Jiangmen with a typhoon offshore: cases of every state, one linked incident, an
    overdue clock, a red warning, a level II response, mobilisation and the storm."""
    h = HOUR
    evs = [
        case("12345", "A1", T - 3 * h, "reported", "public_service", PENGJIANG, summary="路灯不亮，请处理"),
        case("12345", "A1", T - 2 * h, "accepted", "public_service", PENGJIANG, reported=T - 3 * h),
        case("12345", "A2", T - 30 * h, "reported", "environment", TAISHAN, lat=22.25, lon=112.79,
             summary="夜间施工噪音扰民"),
        case("12345", "A3", T - 5 * h, "reported", "public_order", TAISHAN, lat=22.26, lon=112.8),
        case("12345", "A3", T - 4 * h, "accepted", "public_order", TAISHAN, lat=22.26, lon=112.8, reported=T - 5 * h),
        case("12345", "A3", T - 2 * h, "resolved", "public_order", TAISHAN, lat=22.26, lon=112.8, reported=T - 5 * h),
        case("12345", "A3", T - h, "rated", "public_order", TAISHAN, lat=22.26, lon=112.8, reported=T - 5 * h,
             rating="满意"),
        # one incident through two systems: the 110 report is the first, the grid worker's is linked
        case("110", "P1", T - 600, "reported", "police_public_order", PENGJIANG, priority=1, lat=22.59, lon=113.09,
             summary=f"群众报警称有人打架 {HOSTILE}"),
        case("wg", "G1", T - 300, "reported", "public_order", PENGJIANG, priority=2, lat=22.5902, lon=113.0901,
             summary="网格员上报：街头斗殴"),
        case("110", "P2", T - 20 * 60, "reported", "rescue", TAISHAN, priority=1, lat=22.24, lon=112.78,
             summary="台山海边有人被困"),
    ]
    fc = [{"agency": "中国", "points": [{"time": _iso(T + k * 6 * h), "lat": 21.2 + 0.4 * k, "lon": 113.2 - 0.3 * k,
                                        "intensity": 5, "wind_ms": 45} for k in (1, 2, 3)]}]
    landfall = [{"position": "菲律宾吕宋岛", "time": _iso(T - 30 * h), "lat": 18.5, "lon": 122.1}]
    evs += [fix("201822", T - 12 * h, 19.0, 116.0), fix("201822", T - 6 * h, 19.9, 115.0),
            fix("201822", T, 20.8, 114.0, wind=48, forecast=fc, landfall=landfall, move_dir="西北", move_speed=22)]
    evs += [cap("R1", T - 2 * h, "red", TAISHAN), cap("B1", T - 5 * h, "blue", PENGJIANG, hazard="暴雨"),
            response("E1", T - 20 * h, "IV", "启动"), response("E1", T - 3 * h, "II", "提升")]
    evs += _mobilisation()
    return evs


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, BEIJING).isoformat()


def _yj(case_id: str, t: float, attrs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return event("mobilisation", "emergency_response", f"yj:{case_id}", t, attrs, source="yj", **kw)


def _mobilisation() -> list[dict[str, Any]]:
    out = []
    for i, code in enumerate((PENGJIANG, TAISHAN)):
        town = {"townCode": f"{code}001" if code == TAISHAN else f"{code}002", "personsDeployed": 300 + 100 * i,
                "personsTransferred": 40 * (i + 1), "sheltersOpened": 2 + i, "shelterOccupancy": 30 * (i + 1)}
        out.append(_yj(f"M{code}", T - 1800 + i, {
            "report_code": "MOBILIZE", "teams": [{"teamType": "党员先锋队", "activated": 12 + i, "available": 8,
                                                  "persons": 240}, {"teamType": "突击队", "activated": 3,
                                                                    "available": 5, "persons": 60}],
            "persons_deployed": 300 + 100 * i, "persons_transferred": 40 * (i + 1),
            "shelters": {"opened": 2 + i, "capacity": 500, "occupancy": 30 * (i + 1)}, "towns": [town]}, adcode=code))
    for g, n in (("440781001001-01", 7), ("440781001001-02", 12), ("440781001001-03", 3)):
        out.append(event("case", "public_service", f"wg:inv-{g}", T - 30 * HOUR, source="wg", adcode=TAISHAN,
                         town="440781001", grid=g))
        if g != "440781001001-03":
            out.append(_yj(f"BD-{g}", T - HOUR, {"report_code": "CHECKIN", "grid_workers": 2, "dept_staff": n - 2,
                                                 "persons_on_duty": n}, adcode=TAISHAN, town="440781001", grid=g))
    out.append(event("case", "public_service", "wg:inv-p", T - 30 * HOUR, source="wg", adcode=PENGJIANG,
                     town="440703002", grid="440703002001-01"))
    out += [event("track", "maritime", f"hs:{i}", T - 600, {"nav_status": st, "in_port": st == "在港"}, source="hs",
                  adcode=TAISHAN, lat=21.6 + 0.01 * i, lon=112.7) for i, st in enumerate(("在港", "返港", "作业"))]
    over = {"station_type": "ZZ", "station_name": "台城水位站", "level_m": 5.2, "warning_level_m": 5.0,
            "over_warning_m": 0.2, "warn": "1"}
    out.append(event("reading", "hydrology", "sw:Z1", T - 600, over, source="sw", adcode=TAISHAN, lat=22.25,
                     lon=112.78))
    out.append(_yj("GK1", T - 1200, {"report_code": "CLOSURE", "closure_type": "桥梁", "closure_name": "台山大桥",
                                     "reason": "台风"}, adcode=TAISHAN, lat=22.2, lon=112.8))
    out.append(_yj("RW1", T - 1100, {"report_code": "TASK", "task_name": "渔船回港避风", "assignee": "海洋渔业局",
                                     "deadline": _iso(T + 2 * HOUR)}, adcode=TAISHAN))
    return out


def _store_clock() -> Clock:
    """A clock that shows T now and runs twice as fast: the counters' buckets (which Redis expires on
    real time) all expire in the future, whenever the fixtures are built."""
    import time

    real = time.time()
    return Clock(2 * real - T, 2.0)


def build(r: redis.Redis, registry: Registry = REGISTRY) -> dict[str, Any]:
    """{file stem: fixture} from the events above, under a private key prefix (removed after)."""
    from dashboard.web.app import page_config

    prefix = f"test-fixtures-{uuid.uuid4().hex[:8]}"
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, tile_url="", tile_probe=False)
    keys = Keys(prefix)
    feeds = {c: f for c, f in load_feeds(settings).items() if c in FEEDS}
    try:
        LiveStore(r, keys, settings, Policies.load(), _store_clock()).apply(events(), now=T)
        # an acknowledgement of the red warning (masked comment), and the response still to acknowledge
        alerts.acknowledge(r, keys, "warn:qx:R1", "值班员张三", "已通知台山三防办 13812345678", at=T - 900)
        _feeds_healthy(r, keys, feeds)
        ctx = LiveContext(r, keys, settings, Policies.load(), Clock(), feeds, registry)
        rnd = Round(ctx, T)
        built: dict[tuple[str, str], Any] = {}
        for spec in registry.built():
            builder = spec.builder(ctx)
            for code, snap in builder.build(rnd, ctx_scopes(ctx)).items():
                built[(spec.name, code)] = snap
        out: dict[str, Any] = {}
        for stem, name, scope, board, query in PAGES:
            snap = built[(name, scope)]
            out[stem] = _json(snap)
            out[f"{stem}.frame"] = page_config(settings, registry, feeds, board, {"scope": scope, **query})
        out["wall-map.city"] = _json(built[("wall-map", CITY)])
        out.update(_tablet(ctx, settings, registry, feeds))
        return out
    finally:
        for k in r.scan_iter(match=f"{prefix}:*", count=1000):
            r.delete(k)


def _tablet(ctx: LiveContext, settings: Settings, registry: Registry, feeds: dict[str, Any]) -> dict[str, Any]:
    """What the tablet reads besides the wall's snapshots: its app config, a town's figures built on demand,
    a district's case list and one case's life."""
    from dashboard.live.ondemand import OnDemand
    from layouts.frame import Site
    from layouts.tablet import app_config

    on = OnDemand(ctx)
    town, district = on.scope(f"{TAISHAN}001"), on.scope(TAISHAN)
    assert town is not None and district is not None
    cases = on.cases(district, "overdue", now=T)
    life = on.case(cases.items[0].case_id, now=T)
    assert life is not None
    tablet = next(b for b in registry.boards if b.draws_itself)
    config = app_config(tablet, Site.build(settings, registry, feeds, False), None, "zh", "fixture")
    # one district of the city's boundaries is enough for the renderer's tests (all seven are 450 KB)
    config["boundaries"] = {**config["boundaries"], "features": config["boundaries"]["features"][:1]}
    return {"tablet.config": config,
            "wall.town": _json(on.wall.build_one(Round(ctx, T), town)),
            "case-list.district": cases.model_dump(mode="json"), "case-life": life.model_dump(mode="json")}


def ctx_scopes(ctx: LiveContext) -> list[Any]:
    from dashboard.contract.board import scopes

    return [s for s in scopes(ctx.city) if s.code in (CITY, TAISHAN)]


def _feeds_healthy(r: redis.Redis, keys: Keys, feeds: dict[str, Any]) -> None:
    """Every feed polled a moment ago (the strip's lag depends on real time: pinned below)."""
    import time

    for code in feeds:
        r.hset(keys.health(code), mapping={"last_ok": int(time.time() * 1000), "failures": 0})


def _json(snap: Any) -> Any:
    data = snap.model_dump(mode="json") if hasattr(snap, "model_dump") else orjson.loads(orjson.dumps(snap))
    for f in data.get("feeds", []):
        f["lag_s"] = 1.0  # real time since the health record above: not the fixture's business
    return data


def dumps(value: Any) -> bytes:
    """A fixture as committed: keys sorted, and a change log's markers by id (their order means nothing
    to the renderer, and Redis hands a hash's fields back in an order of its own)."""
    if isinstance(value, dict) and isinstance(value.get("markers"), list):
        value = {**value, "markers": sorted(value["markers"], key=lambda m: m["id"])}
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main(argv: list[str]) -> int:
    r = redis.Redis.from_url(REDIS_URL)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for stem, value in build(r).items():
        path = FIXTURES / f"{stem}.json"
        path.write_bytes(dumps(value))
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

