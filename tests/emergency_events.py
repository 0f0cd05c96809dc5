"""Emergency events for tests: hand-made normalised events of each kind the emergency picture keeps,
and the events a simulator run really produces for the tf, qx, yj, sw and hs feeds (through the
product's adapters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from dashboard.contract.event import BEIJING, make_event_id
from feeds.pipeline import Pipeline

EMERGENCY_FEEDS = ("tf", "qx", "yj", "sw", "hs")


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, BEIJING).isoformat()


def event(kind: str, category: str, case_id: str, t: float, attrs: dict[str, Any] | None = None,
          status: str = "reported", source: str = "x", reported: float | None = None,
          **location: Any) -> dict[str, Any]:
    """A normalised event as the streams hold it (what Event.to_json gives, parsed)."""
    loc = {"lat": None, "lon": None, "adcode": None, "town": None, "village": None, "grid": None, "address": None}
    loc.update(location)
    return {"schema": 1, "event_id": make_event_id(source, case_id, t, status, orjson.dumps(attrs or {}).decode()),
            "case_id": case_id, "source": source, "kind": kind, "status": status, "category": category,
            "priority": 3, "occurred_at": iso(t), "reported_at": iso(reported if reported is not None else t),
            "ingested_at": datetime.now(UTC).isoformat(), "location": loc, "department": None, "summary": "",
            "attrs": attrs or {}}


def cap(chain: str, t: float, colour: str, adcode: str, msg_type: str = "Alert", hazard: str = "台风",
        cap_status: str = "Actual", valid_h: float = 6, issued: float | None = None) -> dict[str, Any]:
    status = {"Alert": "reported", "Update": "in_progress", "Cancel": "cancelled"}[msg_type]
    ev = event("alert", "typhoon" if hazard == "台风" else "weather_warning", f"qx:{chain}", t,
               {"event": hazard, "colour": colour, "msg_type": msg_type, "cap_status": cap_status,
                "expires": iso(t + valid_h * 3600), "headline": f"{hazard}{colour}预警",
                "areas": [{"desc": adcode, "geocodes": [{"name": "行*****", "value": adcode}]}]},
               status=status, source="qx", reported=issued, adcode=adcode)
    ev["summary"] = f"{adcode}{hazard}{colour}预警"
    return ev


def response(episode: str, t: float, level: str, action: str) -> dict[str, Any]:
    return event("mobilisation", "emergency_response", f"yj:{episode}", t,
                 {"report_code": "RESPONSE", "report_type": "应急响应", "action": action, "response_level": level,
                  "response_name": f"防风{level}级应急响应", "hazard": "防风"},
                 status="closed" if action == "解除" else "in_progress", source="yj", adcode="440700")


def fix(storm: str, t: float, lat: float, lon: float, wind: float = 33, forecast: list[Any] | None = None,
        r7: int = 300, r10: int = 120, r12: int = 60, landfall: list[Any] | None = None,
        move_dir: str | None = None, move_speed: float | None = None) -> dict[str, Any]:
    quad = {"ne": r7, "se": r7, "sw": r7, "nw": r7}
    return event("track", "typhoon", f"tf:{storm}", t,
                 {"storm_id": storm, "name_zh": "山竹", "name_en": "Mangkhut", "intensity": 4, "wind_ms": wind,
                  "pressure_hpa": 950, "power": 12, "move_dir": move_dir, "move_speed": move_speed,
                  "radius7_quad": quad, "radius10_quad": {k: r10 for k in quad},
                  "radius12_quad": {k: r12 for k in quad}, "forecast": forecast or [], "landfall": landfall or []},
                 source="tf", lat=lat, lon=lon)


def simulated(sim: Any) -> list[dict[str, Any]]:
    """Every retained record of the emergency feeds of a stepped Simulator, as normalised events."""
    from tests.test_simulator_roundtrip import options

    pipeline, out = Pipeline(None), []
    for code in EMERGENCY_FEEDS:
        info, opts = sim.feeds[code], options(sim, code)
        for entry in sim.store.logs[code].entries:
            body = sim.renderer.ledger_payload(code, entry).encode()
            for item in pipeline.run(info.adapter, body, opts):
                if hasattr(item, "to_json"):
                    out.append(orjson.loads(item.to_json()))
                else:
                    raise AssertionError(f"{code}: the simulator served a record its adapter rejects: {item.reason}")
    return out


HOUR = timedelta(hours=1).total_seconds()
