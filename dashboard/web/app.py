"""The Dash app: the registered boards as Dash pages, their push streams, health and metrics.

`create_app(settings)` builds everything a web worker needs once (clients, the site's static
context); nothing here holds case data — every request and stream reads Redis. Every board comes
from the registry (dashboard/boards.py): its page (Dash's page registry), its renderer and
stylesheet, its push stream, what /healthz requires of it.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dash
import dash_mantine_components as dmc
import orjson
import redis
from flask import Response, abort, g, request, stream_with_context
from flask_login import current_user
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from dashboard.boards import REGISTRY
from dashboard.contract.board import PUBLISHED, Board, Registry, resolve
from dashboard.contract.clock import Clock
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed, load_feeds
from dashboard.live import alerts
from dashboard.live.ondemand import OnDemand, Order
from dashboard.live.places import Places
from dashboard.live.publish import LiveContext
from dashboard.live.sla import Policies
from dashboard.web import auth, exports, health, shell
from dashboard.web.mapconf import TileProbe, display_datum
from dashboard.web.push import BLOCK_MS, Pusher
from dashboard.web.serve import streams
from layouts.frame import NAV, Page, Site

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
BOARD_ASSETS = "boards"  # loaded per the registry, not by Dash's walk of assets/
AUTH_ASSETS = "auth"  # the login and admin pages' stylesheet: not the boards'
TESTS = r"\.mjs$"  # the renderers' unit tests (node --test) sit beside them; never served as page scripts


def build_id() -> str:
    """Changes when the page code does: open walls reload themselves after a deploy, not after every restart."""
    h = hashlib.sha256()
    for folder, pattern in ((ASSETS, "**/*"), (ROOT / "layouts", "*.py"), (Path(__file__).parent, "*.py")):
        for p in sorted(folder.glob(pattern)):
            if p.is_file() and "fixtures" not in p.parts:
                h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()[:12]


def create_app(settings: Settings, registry: Registry = REGISTRY) -> dash.Dash:
    r = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=streams(settings) + 8, timeout=5, health_check_interval=30,
        socket_timeout=BLOCK_MS / 1000 + 10))  # a push stream's blocking read must never outlast the socket
    keys = Keys.from_settings(settings)
    feeds = load_feeds(settings)
    probe = TileProbe(settings.tile_url, settings.tile_subdomains, settings.tile_probe)
    probe.ok()  # first check in the background
    build = build_id()
    app = dash.Dash(
        __name__, use_pages=True, pages_folder="", assets_folder=str(ASSETS),
        assets_path_ignore=[BOARD_ASSETS, AUTH_ASSETS], assets_ignore=TESTS,
        external_scripts=[f"/assets/{b.renderer}?v={build}" for b in registry.boards],
        external_stylesheets=[f"/assets/{b.stylesheet}?v={build}" for b in registry.boards],
        title="平安 · 综合指挥中心", update_title="", suppress_callback_exceptions=True, serve_locally=True,
        compress=False)
    guard = auth.install(app.server, settings, r, keys, registry)
    site = register_pages(settings, registry, feeds, probe, guard.places)
    app.layout = dmc.MantineProvider(forceColorScheme="dark", children=[
        dash.dcc.Location(id=NAV, refresh="callback-nav"), dash.page_container])
    on = OnDemand(LiveContext(r, keys, settings, Policies.load(settings.sla_policies), Clock.from_settings(settings),
                              feeds, registry), datum=display_datum(settings.tile_datum))
    pusher = Pusher(r, keys, display_datum(settings.tile_datum), settings.stream_max_age_s, on_demand=on.snapshot_json)
    _routes(app.server, r, keys, feeds, settings, registry, pusher, on, build, guard)
    _acks(app.server, r, keys, settings, registry, guard)
    _places(app.server, on, guard)
    for board in registry.boards:
        if board.draws_itself:
            shell.install(app.server, settings, board, site, guard.places, build, ASSETS)
    _history(app.server, guard.store.engine)
    exports.install(app.server, guard.store.engine, settings, guard)
    # Dash registers its script paths when it first serves the index; a gunicorn worker that has not
    # yet would refuse the scripts of a page another worker served (the guard lets this one through)
    app.server.test_client().get(registry.home().path, environ_overrides={auth.WARMUP: True})
    return app


def register_pages(settings: Settings, registry: Registry, feeds: Mapping[str, Feed], probe: TileProbe,
                   places: Places) -> Callable[[], Site]:
    """Every board as a Dash page (the page registry is the process's: it is rebuilt for this app); the
    frames' static context is returned for the other routes that need it."""
    sites: dict[bool, Site] = {}  # tiles reachable or not -> the frames' static context

    def site() -> Site:
        ok = probe.ok()
        if ok not in sites:
            sites[ok] = Site.build(settings, registry, feeds, ok)
        return sites[ok]

    def page(board: Board) -> Any:
        module = importlib.import_module(board.layout)

        def layout(**query: Any) -> Any:  # Dash passes the query string's parameters
            viewer, scope = auth.viewer(settings.city_adcode, query.get("scope"), board.name, places)
            if scope.level not in board.levels:
                abort(404)
            return module.layout(Page.of(site(), board, query, viewer, scope))
        return layout

    dash.page_registry.clear()
    for board in registry.boards:
        dash.register_page(board.name, path=board.path, name=board.title[0], title=f"{board.title[0]} · 平安",
                           layout=page(board))
    return site


def page_config(settings: Settings, registry: Registry, feeds: Mapping[str, Feed], board_name: str,
                query: Mapping[str, Any], tiles_ok: bool = False) -> dict[str, Any]:
    """The config a board's page hands the browser (the renderers' fixtures are made of it)."""
    board = registry.board(board_name)
    assert board is not None and not board.draws_itself, f"{board_name}: no frame config (it draws itself)"
    frame = importlib.import_module(board.layout).layout(Page.of(Site.build(settings, registry, feeds, tiles_ok),
                                                                 board, query))
    store = next(c for c in _walk(frame) if getattr(c, "id", None) == {"type": "frame-config", "board": board.name})
    config: dict[str, Any] = store.data
    return config


def _walk(component: Any) -> Any:
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def _acks(server: Any, r: redis.Redis, keys: Keys, settings: Settings, registry: Registry, guard: auth.Auth) -> None:
    clock = Clock.from_settings(settings)
    board = registry.alert_board()

    @server.route("/api/alerts/ack", methods=["POST"])
    def ack() -> Any:
        """Acknowledge alert items: {"keys": [...], "comment": "...", "scope": "<adcode>"}, signed by the
        logged-in duty officer (the guard has checked the role, the CSRF token and the origin)."""
        user = current_user
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _json({"error": "body: expected a JSON object"}, 400)
        scope = resolve(str(body.get("scope") or user.scope), settings.city_adcode)
        if scope is None:
            return _json({"error": "scope: not the city or one of its districts"}, 400)
        if not user.covers(scope.code, settings.city_adcode):
            guard.record(user.name, "alert.ack", ",".join(map(str, body.get("keys") or []))[:256], scope.code,
                         "denied", {"reason": f"outside the account's scope {user.scope}"})
            return _json({"error": f"scope: {scope.code} is outside your scope {user.scope}"}, 403)
        wanted = body.get("keys")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(k, str) for k in wanted):
            return _json({"error": "keys: a non-empty list of alert keys"}, 400)
        standing = _standing(r, keys, registry, board, scope.code)
        comment = str(body.get("comment") or "")
        done, refused = [], []
        for key in wanted[:20]:
            concerns = standing.get(key) or [settings.city_adcode]
            if not all(user.covers(d, settings.city_adcode) for d in concerns):
                refused.append({"key": key, "error": f"scope: the alert concerns {', '.join(concerns)}, "
                                                     f"outside your scope {user.scope}"})
                guard.record(user.name, "alert.ack", key, scope.code, "denied", {"concerns": concerns})
                continue
            try:
                done.append(alerts.acknowledge(r, keys, key, user.name, comment, standing=standing, at=clock.now()))
                guard.record(user.name, "alert.ack", key, scope.code, "ok", {"comment": comment})
            except alerts.AckError as exc:
                refused.append({"key": key, "error": str(exc)})
                guard.record(user.name, "alert.ack", key, scope.code, "refused", {"reason": str(exc)})
        return _json({"acknowledged": done, "refused": refused}, 200 if done or not refused else 400)


def _places(server: Any, on: OnDemand, guard: auth.Auth) -> None:
    """Any scope down to a grid, read on demand (dashboard/live/ondemand.py): where it lies and what lies
    in it, its figures, its open cases, and one case's life (each opening audited). The guard has checked
    the place's scope."""
    city = on.ctx.city

    @server.route("/api/places/<code>")
    def place(code: str) -> Any:
        return Response(on.place(g.place).model_dump_json(), mimetype="application/json")

    @server.route("/api/places/<code>/wall")
    def place_wall(code: str) -> Any:
        return Response(on.wall_json(g.place), mimetype="application/json")

    @server.route("/api/places/<code>/cases")
    def place_cases(code: str) -> Any:
        raw = request.args.get("order", "newest")
        try:
            page, size = int(request.args.get("page", 0)), int(request.args.get("size", 50))
        except ValueError:
            return _json({"error": "page and size: whole numbers"}, 400)
        if raw not in ("newest", "overdue"):
            return _json({"error": "order: newest or overdue"}, 400)
        order: Order = "overdue" if raw == "overdue" else "newest"
        return Response(on.cases(g.place, order, page, size).model_dump_json(), mimetype="application/json")

    @server.route("/api/cases/<case_id>")
    def case_life(case_id: str) -> Any:
        life = on.case(case_id)
        user = current_user
        if life is None:
            guard.record(user.name, "case.open", case_id[:64], user.scope, "refused", {"reason": "no such case"})
            return _json({"error": "no such case (or it has left the live state)"}, 404)
        where = life.case.district or city
        if not user.covers(life.case.district or "", city):  # no district: the city's accounts only
            guard.record(user.name, "case.open", case_id, where, "denied", {"reason": "outside the account's scope"})
            return _json({"error": f"scope: the case lies outside your scope {user.scope}"}, 403)
        guard.record(user.name, "case.open", case_id, where, "ok")
        return Response(life.model_dump_json(), mimetype="application/json")


def _history(server: Any, engine: Any) -> None:
    """The archive's case facts over any window and scope (dashboard/history/query.py): counts, KPIs and
    series by dimension, and the cases themselves. The guard has checked the place's scope; every query
    is confined to it."""
    from dashboard.history import query as hq
    from dashboard.live.archive import ensure_tables

    ensure_tables(engine)
    reader = hq.Reader(engine)

    def asked() -> tuple[hq.Filter, str | None]:
        args = request.args
        values: dict[str, Any] = {d: [v for raw in args.getlist(d) for v in raw.split(",") if v]
                                  for d in hq.DIMS}
        f = hq.Filter.model_validate({"start": hq.parse_time(args.get("start", "")),
                                      "end": hq.parse_time(args.get("end", "")),
                                      "on": args.get("on", "received"), **values})
        by = args.get("by") or None
        if by is not None and by not in hq.DIMS:
            raise ValueError(f"by: one of {', '.join(hq.DIMS)}")
        return f, by

    def answer(fn: Any) -> Any:
        try:
            f, by = asked()
            out = fn(g.place.level, g.place.code, f, by)
        except (ValueError, ValidationError) as exc:
            return _json({"error": hq.reason(exc)}, 400)
        return Response(out.model_dump_json() if hasattr(out, "model_dump_json")
                        else orjson.dumps([x.model_dump(mode="json") for x in out]), mimetype="application/json")

    @server.route("/api/history/<code>/counts")
    def history_counts(code: str) -> Any:
        return answer(lambda lv, c, f, by: reader.counts(lv, c, f, by or "category"))

    @server.route("/api/history/<code>/kpis")
    def history_kpis(code: str) -> Any:
        return answer(reader.kpis)

    @server.route("/api/history/<code>/series")
    def history_series(code: str) -> Any:
        bucket = request.args.get("bucket", "day")
        if bucket not in ("hour", "day", "week", "month"):
            return _json({"error": "bucket: hour, day, week or month"}, 400)
        return answer(lambda lv, c, f, by: reader.series(lv, c, f, bucket, by))  # type: ignore[arg-type]

    @server.route("/api/history/<code>/cases")
    def history_cases(code: str) -> Any:
        order = request.args.get("order", "newest")
        if order not in ("newest", "oldest", "slowest"):
            return _json({"error": "order: newest, oldest or slowest"}, 400)
        try:
            page, size = int(request.args.get("page", 0)), int(request.args.get("size", 50))
        except ValueError:
            return _json({"error": "page and size: whole numbers"}, 400)
        return answer(lambda lv, c, f, by: reader.cases(lv, c, f, order, page, size))  # type: ignore[arg-type]


def _standing(r: redis.Redis, keys: Keys, registry: Registry, board: Board | None, scope: str) -> dict[str, list[str]]:
    """The alert items standing in the newest snapshot the alert board reads for ``scope`` (key → the
    districts each concerns; none: the whole city): a screen can acknowledge only what the boards show."""
    if board is None:
        return {}
    for spec in registry.reads(board):
        raw = None if spec.log else r.get(keys.snapshot(spec.name, scope))
        if raw:
            alert = orjson.loads(raw).get("alert") or {}
            return {i["key"]: i.get("districts") or [] for i in alert.get("items", [])}
    return {}


def _routes(server: Any, r: redis.Redis, keys: Keys, feeds: dict[str, Feed], settings: Settings,
            registry: Registry, pusher: Pusher, on: OnDemand, build: str, guard: auth.Auth) -> None:
    checks = registry.health_checks(settings.city_adcode)
    metrics_registry = CollectorRegistry(auto_describe=False)
    boards = [b.name for b in registry.boards]
    metrics_registry.register(health.RedisCollector(r, keys, feeds, settings, checks, boards))

    @server.route("/stream/<name>")
    def stream(name: str) -> Any:
        board = registry.board(name)
        scope = g.scope  # the guard's: one the account covers
        if board is None or scope.level not in board.levels:
            return Response("unknown board or scope\n", status=404, mimetype="text/plain")
        last = request.headers.get("Last-Event-ID") or request.args.get("last")
        body = pusher.stream(board.name, registry.reads(board), scope.code, last, request.args.get("screen"), build,
                             alive=guard.standing(renew=False), place=scope)
        return Response(stream_with_context(_guarded(body)), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @server.route("/api/snapshot/<name>")
    def snapshot(name: str) -> Any:
        """The newest snapshot of a registered snapshot (a change log: its full state); below the district,
        one built on demand."""
        spec = registry.snapshots.get(name)
        if spec is not None and spec.on_demand and g.scope.level not in PUBLISHED:
            return Response(on.snapshot_json(spec, g.scope), mimetype="application/json")
        raw = r.get(keys.snapshot(name, g.scope.code)) if spec is not None else None
        if raw is None:
            return Response('{"error": "no snapshot"}', status=404, mimetype="application/json")
        return Response(raw, mimetype="application/json")

    @server.route("/healthz")
    def healthz() -> Any:
        body, status = health.healthz(r, keys, feeds, settings, checks)
        return Response(health.dumps(body), status=status, mimetype="application/json")

    @server.route("/metrics")
    def metrics() -> Any:
        return Response(generate_latest(metrics_registry), mimetype=CONTENT_TYPE_LATEST)


def _json(body: Any, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _guarded(body: Any) -> Any:
    """End the stream quietly when Redis goes away; the browser reconnects (and its watchdog reloads)."""
    try:
        yield from body
    except redis.RedisError as exc:
        log.warning("push stream ended: %s", exc)
        yield b"event: error\ndata: {\"error\": \"redis\"}\n\n"
