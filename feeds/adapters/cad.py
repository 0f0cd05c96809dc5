"""The `cad` adapter: incident JSON of the dispatch centres (110, 119, 120, 122), modelled on NENA EIDO.

A payload is ``{"incidents": [EIDO, …]}``, a bare list, or one EIDO object. One candidate per
EIDO message (one version of an incident). The status and type tables below are the defaults;
a feed overrides them with ``options["statuses"]`` (merged over the defaults) and
``options["types"]`` (glob patterns tried before the defaults). Matching ignores case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Final

from dashboard.contract.event import make_event_id
from feeds.adapters.base import Candidate, Parsed, Reject, masked_raw
from feeds.adapters.mapping import (
    DEFAULT_TZ,
    FieldError,
    build_location,
    load_json,
    parse_time,
    payload_snippet,
    position,
    scalar_text,
    shown,
    to_int,
)

STATUSES: Final[Mapping[str, str]] = {
    "Created": "reported", "Acknowledged": "accepted", "Dispatched": "dispatched",
    "Enroute": "dispatched", "OnScene": "in_progress", "Cleared": "resolved", "Closed": "closed",
    "Cancelled": "cancelled", "Reopened": "reopened",
}
# First match wins, so specific patterns precede their family's catch-all.
TYPES: Final[Mapping[str, str]] = {
    "Police.Assist*": "police_assist",
    "Police.Traffic*": "traffic_accident",
    **dict.fromkeys(
        ("Police.Theft*", "Police.Robbery*", "Police.Assault*", "Police.Fraud*", "Police.Burglary*",
         "Police.Homicide*", "Police.Kidnap*", "Police.Drug*", "Police.Sexual*", "Police.Weapon*"),
        "police_criminal"),
    **dict.fromkeys(
        ("Police.Disturbance*", "Police.Fight*", "Police.Noise*", "Police.Gambling*",
         "Police.Dispute*", "Police.Suspicious*", "Police.Trespass*"),
        "police_public_order"),
    # any other police call: 治安警情 is the broad class in the public-security statistics
    "Police.*": "police_public_order",
    "Fire.Rescue*": "rescue",
    "Rescue.*": "rescue",
    "Fire.*": "fire",
    "Medical.*": "medical",
    "EMS.*": "medical",
    "Traffic.*": "traffic_accident",
}
TYPE_FIELD: Final = "incidentTypeCommonRegistryText"
STATUS_FIELD: Final = "incidentStatusCommonRegistryText"


@dataclass(frozen=True, slots=True)
class _Context:
    source: str
    datum: str
    tz: str
    statuses: Mapping[str, str]  # casefolded status text → Event status
    types: tuple[tuple[str, str], ...]  # (casefolded glob, category), in matching order

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> _Context:
        statuses = {**STATUSES, **(options.get("statuses") or {})}
        types = [*(options.get("types") or {}).items(), *TYPES.items()]
        return cls(
            source=str(options["source"]),
            datum=str(options.get("datum") or "wgs84"),
            tz=str(options.get("tz") or DEFAULT_TZ),
            statuses={str(k).casefold(): str(v) for k, v in statuses.items()},
            types=tuple((str(k).casefold(), str(v)) for k, v in types),
        )


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[Parsed]:
    ctx = _Context.from_options(options)
    try:
        records = _records(load_json(payload))
    except FieldError as err:
        yield Reject(str(err), raw=payload_snippet(payload))
        return
    for record in records:
        yield _parse_record(record, ctx)


def _records(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and "incidents" in doc:
        if not isinstance(doc["incidents"], list):
            raise FieldError("incidents", "not a list")
        return doc["incidents"]
    return [doc]


def _parse_record(record: Any, ctx: _Context) -> Parsed:
    if not isinstance(record, dict):
        return Reject(f"record: not an object ({type(record).__name__})", raw=masked_raw(record))
    try:
        return _candidate(record, ctx)
    except FieldError as err:
        return Reject(str(err), raw=masked_raw(record), record_key=_record_key(record, ctx))


def _record_key(record: Mapping[str, Any], ctx: _Context) -> str | None:
    incident = record.get("incidentComponent")
    if not isinstance(incident, dict):
        return None
    try:
        tracking = scalar_text(incident.get("incidentTrackingIdentifier"), "incidentTrackingIdentifier")
    except FieldError:
        return None
    return f"{ctx.source}:{tracking}" if tracking else None


def _candidate(record: Mapping[str, Any], ctx: _Context) -> Candidate:
    incident = _component(record, "incidentComponent")
    if incident is None:
        raise FieldError("incidentComponent", "missing")
    tracking = _text(incident, "incidentTrackingIdentifier")
    if tracking is None:
        raise FieldError("incidentTrackingIdentifier", "missing")
    status = _status(incident, ctx)
    type_text, category = _category(incident, ctx)
    updated = parse_time(record.get("lastUpdateTimeStamp"), ("iso",), ctx.tz, "lastUpdateTimeStamp")
    if updated is None:
        raise FieldError("lastUpdateTimeStamp", "missing")
    location = _location(record, ctx)
    cand: Candidate = {
        "event_id": make_event_id(ctx.source, tracking, updated.isoformat(), status),
        "case_id": f"{ctx.source}:{tracking}",
        "source": ctx.source,
        "kind": "case",
        "status": status,
        "category": category,
        "occurred_at": updated,
        "summary": _summary(record, type_text, location),
    }
    optional = {
        "reported_at": parse_time(incident.get("incidentCreationTimeStamp"), ("iso",), ctx.tz,
                                  "incidentCreationTimeStamp"),
        "priority": _priority(incident),
        "department": _department(record),
        "location": location,
        "attrs": _attrs(record, type_text),
    }
    cand.update((k, v) for k, v in optional.items() if v)
    return cand


def _component(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """An EIDO component: an object, or the first object of a list of them."""
    value = record.get(name)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    if value is None or isinstance(value, dict):
        return value
    raise FieldError(name, f"not an object ({type(value).__name__})")


def _components(record: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    value = record.get(name)
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(obj: Mapping[str, Any] | None, key: str) -> str | None:
    return None if obj is None else scalar_text(obj.get(key), key)


def _status(incident: Mapping[str, Any], ctx: _Context) -> str:
    text = _text(incident, STATUS_FIELD)
    if text is None:
        raise FieldError(STATUS_FIELD, "missing")
    status = ctx.statuses.get(text.casefold())
    if status is None:
        raise FieldError(STATUS_FIELD, f"unknown status {shown(text)}")
    return status


def _category(incident: Mapping[str, Any], ctx: _Context) -> tuple[str, str]:
    text = _text(incident, TYPE_FIELD)
    if text is None:
        raise FieldError(TYPE_FIELD, "missing")
    folded = text.casefold()
    for pattern, category in ctx.types:
        if fnmatchcase(folded, pattern):
            return text, category
    raise FieldError(TYPE_FIELD, f"unknown type {shown(text)}")


def _priority(incident: Mapping[str, Any]) -> int | None:
    priority = to_int(incident.get("incidentPriority"), "incidentPriority")
    if priority is not None and not 1 <= priority <= 4:
        raise FieldError("incidentPriority", f"{priority} outside 1–4")
    return priority


def _location(record: Mapping[str, Any], ctx: _Context) -> dict[str, Any] | None:
    loc = _component(record, "locationComponent")
    if loc is None:
        return None
    address = _text(loc, "civicAddressText")
    return build_location(
        _position(loc, ctx.datum),
        adcode=_code(loc, "districtCode", 6),
        town=_code(loc, "townCode", 9),
        address=address or None,
    )


def _position(loc: Mapping[str, Any], datum: str) -> tuple[float, float] | None:
    """GeoJSON Point [lon, lat] in the feed's datum → WGS-84; other geometries carry no point."""
    geometry = loc.get("locationByValue")
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        raise FieldError("locationByValue", f"not a GeoJSON object ({type(geometry).__name__})")
    if geometry.get("type", "Point") != "Point" or geometry.get("coordinates") is None:
        return None
    coords = geometry["coordinates"]
    if not isinstance(coords, list) or len(coords) < 2:
        raise FieldError("coordinates", f"expected [lon, lat], got {shown(coords)}")
    return position(coords[1], coords[0], datum, "coordinates", "coordinates")


def _code(loc: Mapping[str, Any], key: str, digits: int) -> str | None:
    code = _text(loc, key)
    if code is not None and not re.fullmatch(f"[0-9]{{{digits}}}", code):
        raise FieldError(key, f"expected {digits} digits, got {shown(code)}")
    return code


def _summary(record: Mapping[str, Any], type_text: str, location: Mapping[str, Any] | None) -> str:
    for note in _components(record, "notesComponent"):
        text = _text(note, "noteText")
        if text:
            return text
    address = (location or {}).get("address") or ""
    return f"{type_text} {address}".strip()


def _department(record: Mapping[str, Any]) -> str | None:
    name = _text(_component(record, "agencyComponent"), "agencyName")
    return name or None


def _attrs(record: Mapping[str, Any], type_text: str) -> dict[str, Any]:
    call = _component(record, "callComponent")
    attrs: dict[str, Any] = {
        "incident_type": type_text,
        "message_id": _text(record, "eidoMessageIdentifier"),
        "caller_name": _text(call, "callerName"),
        "caller_phone": _text(call, "callbackNumber"),
        "units": _units(record) or None,
    }
    return {k: v for k, v in attrs.items() if v is not None}


def _units(record: Mapping[str, Any]) -> list[dict[str, str | None]]:
    return [
        {"id": _text(u, "unitIdentifier"), "type": _text(u, "unitType"), "status": _text(u, "unitStatus")}
        for u in _components(record, "emergencyResourceComponent")
    ]

