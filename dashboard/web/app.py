"""The Dash app: boards as pages from `layouts/`, the push stream, health and metrics.

`create_app(settings)` builds everything a web worker needs once (clients, the boards' static
context); nothing here holds case data — every request and stream reads Redis.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import dash
import dash_mantine_components as dmc
import orjson
import redis
from dash import ClientsideFunction, Input, Output, State, dcc, html
from flask import Response, redirect, request, stream_with_context
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from dashboard.live import alerts
from dashboard.live.sla import Policies
from dashboard.live.snapshot import KPIS
from dashboard.web import health
from dashboard.web.mapconf import TileProbe, boundaries, display_datum, extent, region
from dashboard.web.push import BLOCK_MS, Pusher
from feeds.clock import Clock
from feeds.event import CATEGORY_ZH
from feeds.geo import districts, division_name, towns
from feeds.keys import Keys
from feeds.registry import Feed, load_feeds
from feeds.settings import Settings
from layouts import emergency, wall

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
BOARDS: dict[str, Any] = {"wall": wall, "board/emergency": emergency}  # path -> layout module
STREAM_BOARDS = frozenset(m.BOARD for m in BOARDS.values())  # what /stream/<board> serves


def build_id() -> str:
    """Changes when the page code does: open walls reload themselves after a deploy, not after every restart."""
    h = hashlib.sha256()
    for folder, pattern in ((ASSETS, "*"), (ROOT / "layouts", "*.py"), (Path(__file__).parent, "*.py")):
        for p in sorted(folder.glob(pattern)):
            if p.is_file():
                h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:12]


def wall_context(settings: Settings, feeds: dict[str, Feed], tiles_ok: bool) -> wall.WallContext:
    city = settings.city_adcode
    policies = Policies.load(settings.sla_policies)
    datum = display_datum(settings.tile_datum)
    center, bounds = extent(city)
    dists = [(d.adcode, d.name) for d in districts(city)]
    town_rows: dict[str, list[tuple[str, str]]] = {}
    for tw in towns(city):
        town_rows.setdefault(tw.adcode, []).append((tw.code, tw.name))
    return wall.WallContext(
        city_name=division_name(city) or city, districts=dists, towns=town_rows,
        feeds=[(code, f.name) for code, f in feeds.items()],
        sla_rows=sla_rows(policies), kpi_defs=[
            {"key": k, "zh": zh, "en": en, "formula_zh": fz, "formula_en": fe, "target": tg}
            for k, zh, en, fz, fe, tg in KPIS],
        boundaries=boundaries(city, datum), center=center, bounds=bounds,
        tiles={"url": settings.tile_url, "subdomains": settings.tile_subdomains,
               "attribution": settings.tile_attribution, "datum": datum.value, "ok": tiles_ok},
        categories={c.value: (zh, c.value.replace("_", " ")) for c, zh in CATEGORY_ZH.items()},
        stale_after_s=3 * settings.snapshot_heartbeat_s, reload_h=settings.wall_reload_h, boards=tuple(BOARDS),
    )


def emergency_context(settings: Settings, feeds: dict[str, Feed], tiles_ok: bool) -> emergency.EmergencyContext:
    city = settings.city_adcode
    datum = display_datum(settings.tile_datum)
    center, bounds = extent(city)
    town_rows: dict[str, list[tuple[str, str]]] = {}
    for tw in towns(city):
        town_rows.setdefault(tw.adcode, []).append((tw.code, tw.name))
    return emergency.EmergencyContext(
        city_name=division_name(city) or city, districts=[(d.adcode, d.name) for d in districts(city)],
        towns=town_rows, feeds=[(code, feeds[code].name) for code in emergency.FEEDS if code in feeds],
        boundaries=boundaries(city, datum), region=region(city, datum), center=center, bounds=bounds,
        tiles={"url": settings.tile_url, "subdomains": settings.tile_subdomains,
               "attribution": settings.tile_attribution, "datum": datum.value, "ok": tiles_ok},
        categories={c.value: (zh, c.value.replace("_", " ")) for c, zh in CATEGORY_ZH.items()},
        stale_after_s=3 * settings.snapshot_heartbeat_s, reload_h=settings.wall_reload_h, boards=tuple(BOARDS),
    )


CONTEXTS = {"wall": wall_context, "board/emergency": emergency_context}


def sla_rows(policies: Policies) -> list[dict[str, Any]]:
    """Every stage of the 12345 and 117 policies, then one row per other policy."""
    names = {p: (zh, en) for p, zh, en in policies.names()}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for policy, stage, zh, en in policies.stages():
        pzh, pen = names[policy]
        if policy in wall.DETAIL_POLICIES:
            rows.append({"row": f"{policy}.{stage}", "policy": policy, "stage": f"{policy}.{stage}",
                         "zh": f"{pzh} · {zh}", "en": f"{pen} · {en}", "first": policy not in seen})
        elif policy not in seen:
            rows.append({"row": policy, "policy": policy, "stage": None, "zh": pzh, "en": pen,
                         "first": len(seen) == len(wall.DETAIL_POLICIES)})
        seen.add(policy)
    return rows


def create_app(settings: Settings) -> dash.Dash:
    r = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=settings.web_threads + 8, timeout=5, health_check_interval=30,
        socket_timeout=BLOCK_MS / 1000 + 10))  # a push stream's blocking read must never outlast the socket
    keys = Keys(settings.key_prefix)
    feeds = load_feeds(settings)
    probe = TileProbe(settings.tile_url, settings.tile_subdomains, settings.tile_probe)
    probe.ok()  # first check in the background
    scopes = ["city", *(d.adcode for d in districts(settings.city_adcode))]
    boards = [(b, s) for b in STREAM_BOARDS for s in scopes]
    pusher = Pusher(r, keys, display_datum(settings.tile_datum), settings.stream_max_age_s)
    build = build_id()

    app = dash.Dash(__name__, assets_folder=str(ASSETS), title="平安 · 综合指挥中心", update_title="",
                    suppress_callback_exceptions=True, serve_locally=True, compress=False)
    app.layout = dmc.MantineProvider(forceColorScheme="dark", children=[
        dcc.Location(id="url", refresh=False), html.Div(id="page", className="page")])
    _pages(app, settings, feeds, probe)
    _routes(app.server, r, keys, feeds, settings, boards, pusher, build)
    _acks(app.server, r, keys, settings)
    # Dash registers its script paths when it first serves the index; a gunicorn worker that has not
    # yet would refuse the scripts of a page another worker served
    app.server.test_client().get("/wall")
    return app


def _acks(server: Any, r: redis.Redis, keys: Keys, settings: Settings) -> None:
    clock = Clock.from_settings(settings)

    @server.route("/api/alerts/ack", methods=["POST"])
    def ack() -> Any:
        """Acknowledge alert items: {"keys": [...], "who": "...", "comment": "...", "scope": "city"}."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _json({"error": "body: expected a JSON object"}, 400)
        scope = str(body.get("scope") or "city")
        raw = r.get(keys.snapshot("emergency", scope))
        standing = [i["key"] for i in ((orjson.loads(raw).get("alert") or {}).get("items", []) if raw else [])]
        wanted = body.get("keys")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(k, str) for k in wanted):
            return _json({"error": "keys: a non-empty list of alert keys"}, 400)
        done, refused = [], []
        for key in wanted[:20]:
            try:
                done.append(alerts.acknowledge(r, keys, key, str(body.get("who") or ""), str(body.get("comment") or ""),
                                               standing=standing, at=clock.now()))
            except alerts.AckError as exc:
                refused.append({"key": key, "error": str(exc)})
        return _json({"acknowledged": done, "refused": refused}, 200 if done or not refused else 400)


def _pages(app: dash.Dash, settings: Settings, feeds: dict[str, Feed], probe: TileProbe) -> None:
    contexts: dict[tuple[str, bool], Any] = {}  # (board, tiles ok) -> the frame's static context

    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def page(pathname: str | None, search: str | None) -> Any:
        board = (pathname or "/").strip("/") or "wall"
        if board not in BOARDS:
            return html.Div(className="not-found", children=f"404 · {pathname}")
        params = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
        ok = probe.ok()
        if (board, ok) not in contexts:
            contexts[(board, ok)] = CONTEXTS[board](settings, feeds, ok)
        return BOARDS[board].layout(contexts[(board, ok)], default_lang=settings.ui_lang, **params)

    for module, select in ((wall, "wall-scope-select"), (emergency, "em-scope-select")):
        app.clientside_callback(ClientsideFunction("pingan", "boot"), Output(module.IDS.boot, "data"),
                                Input(module.IDS.config, "data"))
        app.clientside_callback(ClientsideFunction("pingan", "scope"), Output("url", "search", allow_duplicate=True),
                                Input(select, "value"), State("url", "search"), prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("pingan", "ack"), Output(emergency.IDS.ack_status, "children"),
                            Input(emergency.IDS.ack_button, "n_clicks"), State(emergency.IDS.ack_who, "value"),
                            State(emergency.IDS.ack_comment, "value"), prevent_initial_call=True)


def _routes(server: Any, r: redis.Redis, keys: Keys, feeds: dict[str, Feed], settings: Settings,
            boards: list[tuple[str, str]], pusher: Pusher, build: str) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(health.RedisCollector(r, keys, feeds, settings, boards))
    scopes = {s for _, s in boards}

    @server.route("/")
    def index() -> Any:
        return redirect("/wall")

    @server.route("/stream/<board>")
    def stream(board: str) -> Any:
        scope = request.args.get("scope", "city")
        if board not in STREAM_BOARDS or scope not in scopes:
            return Response("unknown board or scope\n", status=404, mimetype="text/plain")
        last = request.headers.get("Last-Event-ID") or request.args.get("last")
        body = pusher.stream(board, scope, last, request.args.get("screen"), build)
        return Response(stream_with_context(_guarded(body)), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @server.route("/api/snapshot/<board>")
    def snapshot(board: str) -> Any:
        raw = r.get(keys.snapshot(board, request.args.get("scope", "city"))) if board in STREAM_BOARDS else None
        if raw is None:
            return Response('{"error": "no snapshot"}', status=404, mimetype="application/json")
        return Response(raw, mimetype="application/json")

    @server.route("/healthz")
    def healthz() -> Any:
        body, status = health.healthz(r, keys, feeds, settings, boards)
        return Response(health.dumps(body), status=status, mimetype="application/json")

    @server.route("/metrics")
    def metrics() -> Any:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _json(body: Any, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _guarded(body: Any) -> Any:
    """End the stream quietly when Redis goes away; the browser reconnects (and its watchdog reloads)."""
    try:
        yield from body
    except redis.RedisError as exc:
        log.warning("push stream ended: %s", exc)
        yield b"event: error\ndata: {\"error\": \"redis\"}\n\n"
