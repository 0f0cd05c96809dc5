"""The control API (JSON): faults, injected records, pause/resume, manual steps, status, ledger."""

from __future__ import annotations

import itertools
import re
from typing import Any

import orjson
from flask import Blueprint, Response, abort, current_app, request

from feeds.simulator import serving
from feeds.simulator.engine import MODES, Simulator
from feeds.simulator.writers import COLUMNS

JSON = "application/json; charset=utf-8"
control = Blueprint("control", __name__, url_prefix="/_control")
_fallback_keys = itertools.count(1)
_ID_FIELDS = (("service_request_id",), ("incidentComponent", "incidentTrackingIdentifier"), ("tfbh",))


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status, mimetype=JSON)


def _sim(feed: str | None = None) -> Simulator:
    sim: Simulator = current_app.extensions["simulator"]
    if feed is not None and feed not in sim.feeds:
        abort(404)
    return sim


@control.post("/<feed>/fault")
def fault(feed: str) -> Response:
    sim = _sim(feed)
    body = request.get_json(force=True, silent=True) or {}
    mode = body.get("mode") if isinstance(body, dict) else None
    if mode not in MODES:
        return _json({"error": f"mode: must be one of {', '.join(MODES)}"}, 400)
    sim.set_fault(feed, mode)
    return _json({"feed": feed, "mode": mode})


@control.post("/<feed>/inject")
def inject(feed: str) -> Response:
    """One raw record in the feed's upstream format, served on the next poll exactly as given."""
    sim = _sim(feed)
    body = request.get_data()
    if not body.strip():
        return _json({"error": "body: empty, nothing to store"}, 400)
    info = sim.feeds[feed]
    if info.transport in ("sql", "folder"):
        return _inject_row(sim, feed, body)
    fallback = f"inject-{next(_fallback_keys)}"
    key = serving.cap_identifier(body, fallback) if info.adapter == "cap" else _key(body, fallback)
    sim.inject_raw(feed, key, body)
    return _json({"feed": feed, "stored": True, "key": key})


@control.post("/pause")
def pause() -> Response:
    _sim().pause()
    return _json(_sim().status())


@control.post("/resume")
def resume() -> Response:
    _sim().resume()
    return _json(_sim().status())


@control.post("/step")
def step() -> Response:
    """Advance simulated time by hand: {"seconds": N}."""
    body = request.get_json(force=True, silent=True) or {}
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
        return _json({"error": "seconds: a positive number is required"}, 400)
    _sim().manual_step(float(seconds))
    return _json(_sim().status())


@control.get("/status")
def status() -> Response:
    return _json(_sim().status())


@control.get("/<feed>/ledger")
def ledger(feed: str) -> Response:
    return _json(_sim(feed).ledger(feed))


def _key(body: bytes, fallback: str) -> str:
    """The record's upstream id when it has a recognisable one (Open311 keeps current versions)."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        m = re.search(rb"<service_request_id>\s*([^<]+?)\s*</service_request_id>", body)
        return m.group(1).decode("utf-8", "replace") if m else fallback
    for path in _ID_FIELDS:
        value: Any = obj
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str | int) and str(value):
            return str(value)
    return fallback


def _inject_row(sim: Simulator, feed: str, body: bytes) -> Response:
    try:
        row = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _json({"error": "body: not a JSON object, cannot be stored as a row"}, 400)
    if not isinstance(row, dict) or not row:
        return _json({"error": "body: a row must be a non-empty JSON object"}, 400)
    if feed == "xf":
        unknown = sorted(set(row) - set(COLUMNS))
        if unknown:
            return _json({"error": f"{unknown[0]}: no such column in xf_petition"}, 400)
    flat = {str(k): orjson.dumps(v).decode() if isinstance(v, dict | list) else v for k, v in row.items()}
    sim.inject_row(feed, flat)
    return _json({"feed": feed, "stored": True})
