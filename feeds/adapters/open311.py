"""The `open311` adapter: Open311 GeoReport v2 service requests, JSON or XML (12345, qy117, cg).

FORMATS.md has the field mapping. What real servers send, and how it is read here:

- JSON as a bare list, ``{"requests": […]}`` or ``{"service_requests": […]}`` (or one object);
  XML as ``<service_requests><request>…`` — any root's child elements are the records, so a
  services list fed in by mistake is rejected record by record (``service_request_id: missing``).
- Duplicate keys in one object (SF's 2010 export repeats ``updated_datetime`` as ``"null"``):
  the first non-null value wins. The strings "null"/"none"/"nil" and ``xsi:nil`` mean missing.
- Status is case-insensitive (SF sends ``Open``). ``lon`` is read when ``long`` is absent.
- Lat/long 0,0 (SF) or null (Bloomington): no position. ``expected_datetime`` that is not a
  time (SF's ``"true"``) is dropped, since it is only informational.
- Naive times are taken as ``options["tz"]`` (default Asia/Shanghai), which shifts the naive US
  samples by their offset; times with "Z" or an offset are kept as sent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from dashboard.contract.event import BEIJING, Category, Status, make_event_id
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

STATUSES: Final[Mapping[str, str]] = {"open": "reported", "closed": "closed"}
# the 12345 work-order states (工单状态) as the hotline platforms name them, and the Event's own
WORKFLOW_STATUSES: Final[Mapping[str, str]] = {
    "待签收": "reported", "已签收": "accepted", "已派遣": "dispatched", "处理中": "in_progress",
    "已办结": "resolved", "已归档": "closed", "已回访": "rated", "重办": "reopened", "已撤销": "cancelled",
    **{s.value: s.value for s in Status},
}
SATISFACTION: Final = frozenset({"满意", "基本满意", "不满意"})
STAGES: Final = ("accepted", "replied", "solution", "closed")
DEFAULT_CATEGORY: Final = Category.public_service.value
DEFAULT_PAGE_SIZE: Final = 500  # GeoReport servers' usual cap; the poller passes it
EXT: Final = "extended_attributes"
_NULLS: Final = frozenset({"", "null", "none", "nil"})
_XSI_NIL: Final = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_XML_DEPTH: Final = 8  # request → extended_attributes → stages → … ; deeper nesting is kept as text
_CATEGORIES: Final = frozenset(c.value for c in Category)


@dataclass(frozen=True, slots=True)
class _Context:
    source: str
    datum: str = "wgs84"
    tz: str = DEFAULT_TZ
    categories: Mapping[str, str] = field(default_factory=dict)
    default_category: str = DEFAULT_CATEGORY

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> _Context:
        return cls(
            source=str(options["source"]),
            datum=str(options.get("datum") or "wgs84"),
            tz=str(options.get("tz") or DEFAULT_TZ),
            categories={str(k): str(v) for k, v in (options.get("categories") or {}).items()},
            default_category=str(options.get("default_category") or DEFAULT_CATEGORY),
        )


def page_params(since: datetime, until: datetime, page: int, page_size: int) -> dict[str, str]:
    """Query of one poll page: updated in [since, until], 1-based page, extensions on.

    Naive datetimes are taken as Beijing time: the server needs an offset.
    """
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    return {
        "updated_after": _with_offset(since).isoformat(),
        "updated_before": _with_offset(until).isoformat(),
        "page": str(page),
        "page_size": str(page_size),
        "extensions": "true",
    }


def _with_offset(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[Parsed]:
    ctx = _Context.from_options(options)
    try:
        records = _xml_records(payload) if _looks_like_xml(payload) else _json_records(payload)
    except FieldError as err:
        yield Reject(str(err), raw=payload_snippet(payload))
        return
    for record in records:
        yield _parse_record(record, ctx)


# --- splitting a payload into records ----------------------------------------------------


def _looks_like_xml(payload: bytes) -> bool:
    # JSON is UTF-8 only (RFC 8259), so a UTF-16 byte-order mark can only start XML
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return payload.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<"


def _json_records(payload: bytes) -> list[Any]:
    doc = load_json(payload, object_pairs_hook=_first_non_null)
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("requests", "service_requests"):
            if isinstance(found := doc.get(key), list):
                return found
        if "service_request_id" in doc:
            return [doc]
    raise FieldError("payload", "expected a list of service requests")


def _first_non_null(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key not in out or _is_null(out[key]):
            out[key] = value
    return out


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NULLS)


def _xml_records(payload: bytes) -> list[dict[str, Any]]:
    try:
        root = SafeET.fromstring(payload)
    except (ET.ParseError, DefusedXmlException, ValueError) as err:
        raise FieldError("payload", f"not well-formed XML ({type(err).__name__})") from None
    elements = [root] if _local(root.tag) == "request" else list(root)
    return [_element_dict(e, 1) for e in elements]


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _element_dict(element: ET.Element, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        key = _local(child.tag)
        if key not in out or _is_null(out[key]):  # repeated elements: as JSON duplicates
            out[key] = _element_value(child, depth + 1)
    return out


def _element_value(element: ET.Element, depth: int) -> Any:
    if element.get(_XSI_NIL) == "true":
        return None
    if len(element) and depth < _XML_DEPTH:
        return _element_dict(element, depth)
    return element.text


# --- one record ----------------------------------------------------------------------------


def _parse_record(record: Any, ctx: _Context) -> Parsed:
    if not isinstance(record, dict):
        return Reject(f"record: not an object ({type(record).__name__})", raw=masked_raw(record))
    try:
        return _candidate(record, ctx)
    except FieldError as err:
        key = _text_or_none(record, "service_request_id")
        return Reject(str(err), raw=masked_raw(record), record_key=f"{ctx.source}:{key}" if key else None)


def _candidate(record: dict[str, Any], ctx: _Context) -> Candidate:
    request_id = _text(record, "service_request_id")
    if request_id is None:
        raise FieldError("service_request_id", "missing")
    ext = _extensions(record)
    status = _status(record, ext)
    updated = _time(record, "updated_datetime", ctx.tz)
    reported = _time(record, "requested_datetime", ctx.tz)
    occurred = updated or reported
    if occurred is None:
        raise FieldError("updated_datetime", "missing, and no requested_datetime either")
    cand: Candidate = {
        "event_id": make_event_id(ctx.source, request_id, occurred.isoformat(), status),
        "case_id": f"{ctx.source}:{request_id}",
        "source": ctx.source,
        "kind": "case",
        "status": status,
        "category": _category(record, ext, ctx),
        "occurred_at": occurred,
        "summary": _text(record, "description") or _text(record, "service_name") or "",
    }
    optional = {
        "reported_at": reported,
        "priority": _priority(ext),
        "department": _text(record, "agency_responsible"),
        "location": _location(record, ext, ctx),
        "attrs": {**_standard_attrs(record, ctx), **_extension_attrs(ext, ctx)},
    }
    cand.update((k, v) for k, v in optional.items() if v)
    return cand


def _text(obj: Mapping[str, Any], key: str, name: str | None = None) -> str | None:
    """A field as stripped text; None when missing, empty or a null marker ("null", "none", "nil")."""
    text = scalar_text(obj.get(key), name or key)
    return None if text is None or text.lower() in _NULLS else text


def _text_or_none(obj: Mapping[str, Any], key: str) -> str | None:
    try:
        return _text(obj, key)
    except FieldError:
        return None


def _time(obj: Mapping[str, Any], key: str, tz: str, name: str | None = None) -> datetime | None:
    value = obj.get(key)
    return None if _is_null(value) else parse_time(value, ("iso",), tz, name or key)


def _extensions(record: Mapping[str, Any]) -> dict[str, Any]:
    ext = record.get(EXT)
    if _is_null(ext):
        return {}
    if not isinstance(ext, dict):
        raise FieldError(EXT, f"not an object ({type(ext).__name__})")
    return ext


def _status(record: Mapping[str, Any], ext: Mapping[str, Any]) -> str:
    workflow = _text(ext, "workflow_status", f"{EXT}.workflow_status")
    if workflow is not None:
        if workflow not in WORKFLOW_STATUSES:
            raise FieldError(f"{EXT}.workflow_status", f"unknown value {shown(workflow)}")
        return WORKFLOW_STATUSES[workflow]
    raw = _text(record, "status")
    if raw is None:
        raise FieldError("status", "missing")
    if raw.lower() not in STATUSES:
        raise FieldError("status", f"unknown value {shown(raw)} (expected open or closed)")
    return STATUSES[raw.lower()]


def _category(record: Mapping[str, Any], ext: Mapping[str, Any], ctx: _Context) -> str:
    category = _text(ext, "category", f"{EXT}.category")
    if category is not None:
        if category not in _CATEGORIES:
            raise FieldError(f"{EXT}.category", f"unknown value {shown(category)}")
        return category
    code = _text(record, "service_code")
    if code is not None and code in ctx.categories:
        return ctx.categories[code]
    return ctx.default_category


def _priority(ext: Mapping[str, Any]) -> int | None:
    value = ext.get("priority")
    priority = None if _is_null(value) else to_int(value, f"{EXT}.priority")
    if priority is not None and not 1 <= priority <= 4:
        raise FieldError(f"{EXT}.priority", f"{priority} outside 1–4")
    return priority


def _location(record: Mapping[str, Any], ext: Mapping[str, Any], ctx: _Context) -> dict[str, Any] | None:
    lat = record.get("lat")
    lon_key = "long" if "long" in record else "lon"
    lon = record.get(lon_key)
    pos = position(None if _is_null(lat) else lat, None if _is_null(lon) else lon, ctx.datum, "lat", lon_key)
    return build_location(
        pos,
        adcode=_code(ext, "district_code", 6),
        town=_code(ext, "town_code", 9),
        village=_text(ext, "village", f"{EXT}.village"),
        grid=_text(ext, "grid_id", f"{EXT}.grid_id"),
        address=_text(record, "address"),
    )


_DIGITS: Final = {n: re.compile(f"[0-9]{{{n}}}") for n in (6, 9)}  # an adcode, a town code


def _code(ext: Mapping[str, Any], key: str, digits: int) -> str | None:
    code = _text(ext, key, f"{EXT}.{key}")
    if code is not None and not _DIGITS[digits].fullmatch(code):
        raise FieldError(f"{EXT}.{key}", f"expected {digits} digits, got {shown(code)}")
    return code


def _standard_attrs(record: Mapping[str, Any], ctx: _Context) -> dict[str, Any]:
    keys = ("service_code", "service_name", "status_notes", "service_notice", "address_id",
            "zipcode", "media_url")
    attrs: dict[str, Any] = {k: v for k in keys if (v := _text_or_none(record, k)) is not None}
    try:
        expected = _time(record, "expected_datetime", ctx.tz)
    except FieldError:
        expected = None  # informational only; SF's 2010 export sends "true" here
    if expected is not None:
        attrs["expected_at"] = expected.isoformat()
    return attrs


def _extension_attrs(ext: Mapping[str, Any], ctx: _Context) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "workflow_status": _text(ext, "workflow_status", f"{EXT}.workflow_status"),
        "caller_name": _text(ext, "caller_name", f"{EXT}.caller_name"),
        "caller_phone": _text(ext, "caller_phone", f"{EXT}.caller_phone"),
        "satisfaction": _satisfaction(ext),
        "redo_count": _redo_count(ext),
        "stages": _stages(ext, ctx.tz),
    }
    return {k: v for k, v in attrs.items() if v is not None}


def _satisfaction(ext: Mapping[str, Any]) -> str | None:
    value = _text(ext, "satisfaction", f"{EXT}.satisfaction")
    if value is not None and value not in SATISFACTION:
        raise FieldError(f"{EXT}.satisfaction", f"unknown value {shown(value)}")
    return value


def _redo_count(ext: Mapping[str, Any]) -> int | None:
    value = ext.get("redo_count")
    count = None if _is_null(value) else to_int(value, f"{EXT}.redo_count")
    if count is not None and count < 0:
        raise FieldError(f"{EXT}.redo_count", f"negative: {count}")
    return count


def _stages(ext: Mapping[str, Any], tz: str) -> dict[str, str] | None:
    stages = ext.get("stages")
    if _is_null(stages):
        return None
    if not isinstance(stages, dict):
        raise FieldError(f"{EXT}.stages", f"not an object ({type(stages).__name__})")
    out = {}
    for stage in STAGES:
        moment = _time(stages, stage, tz, f"{EXT}.stages.{stage}")
        if moment is not None:
            out[stage] = moment.isoformat()
    return out or None

