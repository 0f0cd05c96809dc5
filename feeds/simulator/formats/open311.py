"""Open311 GeoReport v2 (12345, qy117, cg): service requests as JSON objects or XML <request>."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from feeds.simulator.cases import Case
from feeds.simulator.catalog import TYPES
from feeds.simulator.formats.common import (
    CLOSED_STATUSES,
    WORKFLOW_ZH,
    add_working_days,
    note,
    position,
    satisfaction,
)
from feeds.simulator.simtime import iso
from feeds.simulator.surge import STORM_TYPES

# extension `stages`: key -> the lifecycle stages that mark it, first found wins
STAGE_SOURCES = {"accepted": ("accepted",), "replied": ("replied", "in_progress"),
                 "solution": ("solution", "resolved"), "closed": ("closed",)}
EXTRA_STAGES = ("reported", "dispatched", "rated", "reopened")
ZIPCODES = {"440703": "529000", "440704": "529040", "440705": "529100", "440781": "529200",
            "440783": "529300", "440784": "529700", "440785": "529400"}


def deadline(case: Case) -> datetime:
    if case.feed == "qy117":
        return case.created + timedelta(days=7)
    if case.priority == 1:
        return case.created + timedelta(hours=2)
    return add_working_days(case.created, 7 if case.feed == "12345" else 3)


def request(case: Case, i: int, datum: str, extensions: bool = True) -> dict[str, Any]:
    step = case.steps[i]
    lat, lon = position(case, datum)
    out: dict[str, Any] = {
        "service_request_id": case.no,
        "status": "closed" if step.status in CLOSED_STATUSES else "open",
        "status_notes": note(case, step),
        "service_name": case.ctype.name,
        "service_code": case.ctype.code,
        "description": case.text,
        "agency_responsible": case.department,
        "service_notice": "",
        "requested_datetime": iso(case.created),
        "updated_datetime": iso(step.at),
        "expected_datetime": iso(deadline(case)),
        "address": case.place.address,
        "address_id": case.place.grid,
        "zipcode": ZIPCODES.get(case.place.adcode, ""),
        "lat": lat,
        "long": lon,
        "media_url": "",
    }
    if extensions:
        out["extended_attributes"] = _extended(case, i)
    return out


def _extended(case: Case, i: int) -> dict[str, Any]:
    step, p = case.steps[i], case.place
    ext: dict[str, Any] = {
        "workflow_status": WORKFLOW_ZH[step.stage], "category": case.ctype.category,
        "priority": case.priority, "district_code": p.adcode, "town_code": p.town,
        "village": p.village, "village_name": p.village_name, "grid_id": p.grid,
        "caller_name": case.person.name, "caller_phone": case.person.phone,
        "redo_count": step.redo, "stages": _stages(case, i),
    }
    mood = satisfaction(case, i)
    if mood:
        ext["satisfaction"] = mood
    if case.feed == "qy117":
        ext["enterprise_name"] = case.extra["enterprise"]
        ext["credit_code"] = case.extra["credit_code"]
    return ext


def _stages(case: Case, i: int) -> dict[str, str]:
    """First time each stage was reached: the four 117 stages (for 12345 and cg, replied is the
    first handling, solution the first resolution), plus the hotline's other stages."""
    reached = case.stage_times(i)
    out = {}
    for key, sources in STAGE_SOURCES.items():
        when = next((reached[s] for s in sources if s in reached), None)
        if when is not None:
            out[key] = iso(when)
    if case.feed != "qy117":
        out.update((k, iso(reached[k])) for k in EXTRA_STAGES if k in reached)
    return out


def services(feed: str) -> list[dict[str, Any]]:
    """The service list: ordinary case types and those only a storm brings (surge.py)."""
    return [{"service_code": t.code, "service_name": t.name, "description": t.name, "metadata": False,
             "type": "realtime", "keywords": t.category, "group": t.category}
            for t in (*TYPES[feed], *STORM_TYPES.get(feed, ()))]


def request_xml(obj: dict[str, Any]) -> str:
    """One <request> element for a request dict (nested dicts become nested elements)."""
    return f"<request>{_elements(obj)}</request>"


def _elements(obj: dict[str, Any]) -> str:
    parts = []
    for k, v in obj.items():
        if isinstance(v, dict):
            parts.append(f"<{k}>{_elements(v)}</{k}>")
        elif v is None:
            parts.append(f"<{k}/>")
        else:
            parts.append(f"<{k}>{escape(_text(v))}</{k}>")
    return "".join(parts)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def document_xml(items: list[str]) -> bytes:
    body = "".join(items)
    return f'<?xml version="1.0" encoding="utf-8"?>\n<service_requests>{body}</service_requests>'.encode()


def services_xml(feed: str) -> bytes:
    items = "".join(f"<service>{_elements(s)}</service>" for s in services(feed))
    return f'<?xml version="1.0" encoding="utf-8"?>\n<services>{items}</services>'.encode()
