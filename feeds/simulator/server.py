"""HTTP face of the simulator: the upstream endpoints (in their formats, see feeds/FORMATS.md),
the control API under ``/_control`` (control.py) and :func:`serve`, the blocking entry point."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, abort, current_app, request
from werkzeug.serving import make_server

from feeds.simulator import garbage, serving
from feeds.simulator.control import control
from feeds.simulator.engine import Simulator
from feeds.simulator.formats import open311
from feeds.simulator.scenario import Scenario, describe

log = logging.getLogger(__name__)
TICK_S = 0.2  # how often (real seconds) the serving thread advances the model
JSON = "application/json; charset=utf-8"
XML = "application/xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"

upstreams = Blueprint("upstreams", __name__)

__all__ = ["Simulator", "create_app", "serve"]


def create_app(sim: Simulator) -> Flask:
    app = Flask("feeds.simulator")
    app.extensions["simulator"] = sim
    app.extensions["garbage_turn"] = {}
    app.register_blueprint(upstreams)
    app.register_blueprint(control)
    app.register_error_handler(404, _not_found)
    return app


def _sim() -> Simulator:
    sim: Simulator = current_app.extensions["simulator"]
    return sim


def _not_found(err: Any) -> Response:
    return Response(orjson.dumps({"error": "not found", "path": request.path}), 404, mimetype=JSON)


def _answer(feed: str, build: Callable[[str | None], bytes | None], mimetype: str) -> Response:
    """Build the body under the simulator's lock, applying the feed's fault mode around it."""
    sim = _sim()
    mode = sim.modes.get(feed, "ok")
    if mode == "down":
        return Response(b'{"error": "service unavailable"}', 503, mimetype=JSON)
    if mode == "http500":
        return Response(garbage.HTML_500, 500, mimetype="text/html")
    if mode == "slow":
        time.sleep(sim.slow_s)  # outside the lock: other feeds keep answering
    kind = _garbage_kind(feed) if mode == "garbage" else None
    if kind == "structure":
        return Response(garbage.WRONG_JSON if mimetype == JSON else garbage.WRONG_XML, 200, mimetype=mimetype)
    with sim.lock:
        body = build(kind)
    if body is None:
        abort(404)
    return Response(garbage.truncate(body) if kind == "truncated" else body, 200, mimetype=mimetype)


def _garbage_kind(feed: str) -> str:
    """The garbage variants take turns per feed: truncated, wrong structure, invalid values."""
    turns: dict[str, int] = current_app.extensions["garbage_turn"]
    turns[feed] = turns.get(feed, -1) + 1
    return garbage.KINDS[turns[feed] % len(garbage.KINDS)]


def _feed_of(feed: str, adapter: str) -> None:
    info = _sim().feeds.get(feed)
    if info is None or info.adapter != adapter:
        abort(404)


@upstreams.get("/open311/<feed>/v2/requests.<fmt>")
def open311_requests(feed: str, fmt: str) -> Response:
    _feed_of(feed, "open311")
    if fmt not in ("json", "xml"):
        abort(404)
    sim, args = _sim(), request.args
    return _answer(feed, lambda k: serving.open311_requests(sim, feed, fmt, args, k), JSON if fmt == "json" else XML)


@upstreams.get("/open311/<feed>/v2/services.<fmt>")
def open311_services(feed: str, fmt: str) -> Response:
    _feed_of(feed, "open311")
    if fmt == "xml":
        return _answer(feed, lambda k: open311.services_xml(feed), XML)
    return _answer(feed, lambda k: orjson.dumps(open311.services(feed)), JSON)


@upstreams.get("/cad/<feed>/incidents")
def cad_incidents(feed: str) -> Response:
    _feed_of(feed, "cad")
    sim, args = _sim(), request.args
    return _answer(feed, lambda k: serving.windowed(sim, feed, args, k), JSON)


@upstreams.get("/cap/<feed>/rss.xml")
def cap_rss(feed: str) -> Response:
    _feed_of(feed, "cap")
    sim, base = _sim(), request.host_url.rstrip("/")
    return _answer(feed, lambda k: serving.rss(sim, base, k), RSS)


@upstreams.get("/cap/<feed>/alerts/<identifier>.xml")
def cap_alert(feed: str, identifier: str) -> Response:
    _feed_of(feed, "cap")
    sim = _sim()
    return _answer(feed, lambda k: serving.alert(sim, identifier, k), XML)


@upstreams.get("/typhoon/<feed>/active.json")
def typhoon_active(feed: str) -> Response:
    _feed_of(feed, "typhoon-json")
    sim = _sim()
    return _answer(feed, lambda k: serving.typhoon_active(sim, k), JSON)


@upstreams.get("/json/<feed>/<path>")
def json_feed(feed: str, path: str) -> Response:
    sim, args = _sim(), request.args
    info = sim.feeds.get(feed)
    if info is None or info.adapter != "json" or info.transport != "http" or info.path != path:
        abort(404)
    return _answer(feed, lambda k: serving.windowed(sim, feed, args, k), JSON)


def serve(host: str = "127.0.0.1", port: int = 8060, *, seed: int = 1, speed: float = 1.0,
          data_dir: Path = Path("var"), city: str = "440700", volumes: dict[str, float] | None = None,
          backfill_h: float = 2.0, faults: dict[str, str] | None = None, registry: Path | None = None,
          clock_origin: float | None = None, scenario: Scenario | None = None) -> None:
    """Run the simulator until SIGTERM or SIGINT (blocking).

    ``clock_origin`` (default: the ``clock_origin`` setting, PINGAN_CLOCK_ORIGIN) puts simulated
    time on the run's shared clock (dashboard/contract/clock.py) with this ``speed``: it starts at the origin
    and reads the same "now" as the live workers to the second.
    """
    if clock_origin is None:
        clock_origin = _shared_origin(speed)
    sim = Simulator(seed=seed, speed=speed, data_dir=data_dir, city=city, volumes=volumes,
                    backfill_h=backfill_h, faults=faults, registry=registry, clock_origin=clock_origin,
                    scenario=scenario)
    server = make_server(host, port, create_app(sim), threaded=True)
    stop = threading.Event()
    ticker = threading.Thread(target=_tick_loop, args=(sim, stop), name="sim-ticker", daemon=True)

    def on_signal(signum: int, frame: Any) -> None:
        log.info("signal %s: stopping the simulator", signum)
        stop.set()
        # shutdown() waits for serve_forever() to return, which runs in this (the main) thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    ticker.start()
    log.info("simulator for %s on http://%s:%s (seed %s, speed %s, data %s%s)", city, host, port, seed, speed,
             data_dir, "" if clock_origin is None else f", shared clock from {clock_origin:.0f}")
    if sim.scenario is not None:
        log.info("scenario: %s", describe(sim.scenario.status()))
    try:
        server.serve_forever()
    finally:
        stop.set()
        ticker.join(timeout=5)
        server.server_close()


def _shared_origin(speed: float) -> float | None:
    """The shared clock's origin from the settings (`pingan demo` sets it in its children's env)."""
    from dashboard.contract.settings import Settings

    settings = Settings()
    if settings.clock_origin is not None and settings.clock_speed != speed:
        log.warning("simulator speed %s differs from the shared clock's %s: the data will drift from the boards",
                    speed, settings.clock_speed)
    return settings.clock_origin


def _tick_loop(sim: Simulator, stop: threading.Event) -> None:
    """Advance the model with the simulated clock; an error is logged and the loop goes on."""
    while not stop.wait(TICK_S):
        try:
            sim.tick()
        except Exception:
            log.exception("simulator tick failed")
