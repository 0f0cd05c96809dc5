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

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product
from typing import Any, Final
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeET
import orjson
from defusedxml import DefusedXmlException

from dashboard.contract.event import BEIJING, Category, Event, Location, Status, make_event_id, max_length
from feeds.adapters.base import Candidate, Exact, Parsed, Reject, masked_raw
from feeds.adapters.mapping import (
    DEFAULT_TZ,
    YEAR_MAX,
    YEAR_MIN,
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

_blake2b = hashlib.blake2b  # make_event_id's hash

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
_NULL_STRING: Final = re.compile(rb'"\s*(?:[Nn][Uu][Ll][Ll]|[Nn][Oo][Nn][Ee]|[Nn][Ii][Ll])?\s*"\s*[,}\]]')
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
    exact: bool = False  # the fast path may run: a source the Event accepts, known statuses
    request_id_max: int = 0  # case_id is "{source}:{request id}"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> _Context:
        source = str(options["source"])
        return cls(
            source=source,
            datum=str(options.get("datum") or "wgs84"),
            tz=str(options.get("tz") or DEFAULT_TZ),
            categories={str(k): str(v) for k, v in (options.get("categories") or {}).items()},
            default_category=str(options.get("default_category") or DEFAULT_CATEGORY),
            exact=_STATUSES_OK and _SOURCE.search(source) is not None and "\n" not in source,
            request_id_max=_CASE_ID_MAX - len(source) - 1,
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
    if not _looks_like_xml(payload):
        fast = _fast_page(payload, ctx)
        if fast is not None:
            yield from fast
            return
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
    doc = load_json(payload, object_pairs_hook=_first_non_null, hook_when=_has_null_strings)
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("requests", "service_requests"):
            if isinstance(found := doc.get(key), list):
                return found
        if "service_request_id" in doc:
            return [doc]
    raise FieldError("payload", "expected a list of service requests")


def _has_null_strings(body: bytes) -> bool:
    """Duplicate keys only need "first non-null wins" when a value can be a null marker string."""
    return _NULL_STRING.search(body) is not None


def _first_non_null(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    unique = dict(pairs)
    if len(unique) == len(pairs):  # no key twice: nothing to choose
        return unique
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key not in out or _is_null(out[key]):
            out[key] = value
    return out


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if value.__class__ is not str:
        return isinstance(value, str) and value.strip().lower() in _NULLS
    # hot path: text longer than any marker, with nothing to strip, is not one
    if len(value) > 4 and not value[0].isspace() and not value[-1].isspace():
        return False
    return value.strip().lower() in _NULLS


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
    try:
        return _fast_candidate(record, ctx)
    except Exception:  # _Slow, or anything unforeseen: the exact path decides
        return _exact_record(record, ctx)


def _exact_record(record: Any, ctx: _Context) -> Parsed:
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
    value = obj.get(key)
    # hot path: plain text with nothing to strip that is longer than any null marker
    if value.__class__ is str and len(value) > 4 and not value[0].isspace() and not value[-1].isspace():
        return str(value)
    return None if _is_null(value) else scalar_text(value, name or key)


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


def _code(ext: Mapping[str, Any], key: str, digits: int) -> str | None:
    code = _text(ext, key, f"{EXT}.{key}")
    if code is not None and not re.fullmatch(f"[0-9]{{{digits}}}", code):
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


# --- the fast path -------------------------------------------------------------------------
# Most records are plain: text is str with nothing to strip, numbers are JSON numbers, times are
# ISO strings, extensions are objects of those. _fast_candidate builds for them the very candidate
# _candidate builds, in fewer steps, and checks along the way every constraint of the Event that
# normalise does not settle itself (it masks and clips the texts), so the candidate is Exact and
# its Event is built without a second validation. Anything else raises _Slow and takes the path
# above, whose plain dict pydantic validates; it also words every reject.
# tests/test_open311_fast.py checks that both paths agree, and that Exact candidates are valid.


class _Slow(Exception):
    """This record (or page) needs the exact path."""


_BOM: Final = b"\xef\xbb\xbf"
# _NULL_STRING can only match from a '"' followed by whitespace, a quote or n/N: a cheap test first
_NULL_HINT: Final = re.compile(rb'"[\s"nN]')
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_RECORD_KEYS: Final = frozenset({
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "lon", "media_url", EXT,
})
_EXT_KEYS: Final = frozenset({
    "workflow_status", "category", "priority", "district_code", "town_code", "village", "grid_id",
    "caller_name", "caller_phone", "satisfaction", "redo_count", "stages",
})
_STANDARD_ATTRS: Final = ("service_code", "service_name", "status_notes", "service_notice", "address_id",
                          "zipcode", "media_url")
_PLAIN_DATUMS: Final = frozenset({"wgs84", "cgcs2000"})
# the Event's limits that the fast path checks (normalise clips summary, department and address)
_SOURCE: Final = re.compile(next(m.pattern for m in Event.model_fields["source"].metadata))
_CASE_ID_MAX: Final = max_length(Event, "case_id")
_VILLAGE_MAX: Final = max_length(Location, "village")
_GRID_MAX: Final = max_length(Location, "grid")
# every status the mappings give is one of the Event's (else nothing is Exact)
_STATUSES_OK: Final = {*WORKFLOW_STATUSES.values(), *STATUSES.values()} <= {s.value for s in Status}


def _fast_page(payload: bytes, ctx: _Context) -> list[Parsed] | None:
    """The candidates of a JSON page of plain records, or None when the page needs the exact path.

    Plain records hold only scalars besides their extensions (and the stages in those), so such a
    page is shallow and needs no depth check. The rule for duplicate keys (first non-null value
    wins, not orjson's last) only matters for a page with null-marker strings and duplicate keys;
    the second is ruled out by counting. Unreadable pages, odd records and every reject go the
    exact way.
    """
    body = payload.removeprefix(_BOM)
    try:
        doc = orjson.loads(body)
        records = doc if doc.__class__ is list else _enveloped(doc)
        if records is None:
            return None
        candidates: list[Parsed] = [_fast_candidate(record, ctx) for record in records]
    except Exception:  # _Slow, or anything unforeseen: the exact path decides (and words the rejects)
        return None
    if not _unique_keys(body, doc, records) and _NULL_HINT.search(body) is not None and _has_null_strings(body):
        return None
    return candidates


# A key followed by white space before its colon (pretty-printed JSON) defeats the count below, so
# any quote followed by white space (what the bytes regex \s matches) rules the count out. Looked
# for as substrings, each only when its white space byte occurs at all (a one-byte search is a
# memchr): a few times quicker than a regex scan of the page.
_WHITE: Final = (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c")


def _quote_space(body: bytes) -> bool:
    for white in _WHITE:
        if white in body and b'"' + white in body:
            return True
    return False


def _unique_keys(body: bytes, doc: Any, records: list[dict[str, Any]]) -> bool:
    """Whether no object of the page repeats a key, so that orjson read it as the stdlib would.

    Each key followed directly by its colon puts one '":' in the text, and '":' elsewhere is inside
    a string (after an escaped quote); a page of plain records has no objects but the records, their
    extensions and stages (and an envelope). So when the text has no more '":' than orjson found
    keys, no key was written twice."""
    if _quote_space(body):
        return False
    envelope = doc.__class__ is dict and not (records and records[0] is doc)
    keys = (len(doc) if envelope else 0) + sum(map(len, records))
    for ext in [record.get(EXT) for record in records]:
        if ext.__class__ is dict:
            stages = ext.get("stages")
            keys += len(ext) + (len(stages) if stages.__class__ is dict else 0)
    return body.count(b'":') == keys


def _enveloped(doc: Any) -> list[Any] | None:
    if doc.__class__ is not dict:
        return None
    for key in ("requests", "service_requests"):
        found = doc.get(key)
        if isinstance(found, list):
            rest = (v for k, v in doc.items() if k != key)
            return found if found.__class__ is list and _SCALARS.issuperset(map(type, rest)) else None
    return None if "service_request_id" not in doc else [doc]


# The fast path reads each text through _t; where it runs per field of every record, the common
# cases are written out first: ``v if (v := get(key)) is None or v.__class__ is str and v.strip()
# is v and v not in _NULL_VARIANTS else _t(v)`` is _t(get(key)) (None stays None, plain text is
# itself, anything else is _t's to judge), one call fewer per field.
_NULL_VARIANTS: Final = frozenset("".join(chars) for word in _NULLS  # each case variant: what _t reads as absent
                                  for chars in product(*((c, c.upper()) for c in word)))


def _t(value: Any) -> str | None:
    """A text field as _text gives it: plain str as is, None and null markers as None; else _Slow."""
    if value.__class__ is str and value.strip() is value:
        return value if len(value) > 4 or value.lower() not in _NULLS else None
    if value is None:
        return None
    raise _Slow


def _fast_candidate(record: Any, ctx: _Context) -> Candidate:
    if not (record.__class__ is dict and ctx.exact
            and (record.keys() <= _RECORD_KEYS or _only_scalars(record, _RECORD_KEYS))):
        raise _Slow
    get = record.get
    ext = get(EXT)
    if ext is None:
        ext = _NO_EXT
    elif ext.__class__ is not dict or not (ext.keys() <= _EXT_KEYS or _only_scalars(ext, _EXT_KEYS)):
        raise _Slow
    request_id = v if (v := get("service_request_id")).__class__ is str and v.strip() is v and (
        v not in _NULL_VARIANTS) else _t(v)
    workflow = v if (v := ext.get("workflow_status")) is None or v.__class__ is str and v.strip() is v and (
        v not in _NULL_VARIANTS) else _t(v)
    status = _fast_status(record, workflow)
    updated_raw, requested_raw = get("updated_datetime"), get("requested_datetime")
    updated = _fast_time(updated_raw, ctx)
    reported = updated if requested_raw == updated_raw else _fast_time(requested_raw, ctx)
    occurred, occurred_raw = (updated, updated_raw) if updated is not None else (reported, requested_raw)
    if request_id is None or occurred is None or len(request_id) > ctx.request_id_max:
        raise _Slow
    source = ctx.source
    # make_event_id(source, request_id, time, status), written out for its all-str parts
    key = f"{source}\x1f{request_id}\x1f{_iso(occurred, str(occurred_raw))}\x1f{status}"
    description = v if (v := get("description")) is None or v.__class__ is str and v.strip() is v and (
        v not in _NULL_VARIANTS) else _t(v)
    cand = Exact(
        event_id=source + "-" + _blake2b(key.encode(), digest_size=12).hexdigest(),
        case_id=f"{source}:{request_id}",
        source=source,
        kind="case",
        status=status,
        category=_fast_category(record, ext, ctx),
        occurred_at=occurred,
        summary=description or _t(get("service_name")) or "",
    )
    if reported is not None:
        cand["reported_at"] = reported
    priority = ext.get("priority")
    if priority is not None:
        if priority.__class__ is not int or not 1 <= priority <= 4:  # _fast_int(priority, 1, 4)
            raise _Slow
        cand["priority"] = priority
    department = v if (v := get("agency_responsible")) is None or v.__class__ is str and v.strip() is v and (
        v not in _NULL_VARIANTS) else _t(v)
    if department:
        cand["department"] = department
    location = _fast_location(record, ext, ctx)
    if location:
        cand["location"] = location
    attrs = _fast_attrs(record, ext, workflow, ctx)
    if attrs:
        cand["attrs"] = attrs
    return cand


_NO_EXT: Final[dict[str, Any]] = {}


def _only_scalars(obj: dict[str, Any], known: frozenset[str]) -> bool:
    """Values under keys the adapter does not read must not nest (the page skips the depth check)."""
    return _SCALARS.issuperset(type(v) for k, v in obj.items() if k not in known)


def _fast_status(record: dict[str, Any], workflow: str | None) -> str:
    if workflow is not None:
        status = WORKFLOW_STATUSES.get(workflow)
    else:
        raw = _t(record.get("status"))
        status = STATUSES.get(raw.lower()) if raw is not None else None
    if status is None:
        raise _Slow
    return status


def _fast_category(record: dict[str, Any], ext: dict[str, Any], ctx: _Context) -> str:
    category = ext.get("category")
    category = category if category is None else _t(category)
    if category is None:
        code = record.get("service_code")
        code = code if code is None else _t(code)
        category = ctx.categories.get(code, ctx.default_category) if code is not None else ctx.default_category
    if category not in _CATEGORIES:  # unknown, or a mistake in the feed's options: the exact path
        raise _Slow
    return category


def _fast_time(value: Any, ctx: _Context, lenient: bool = False) -> datetime | None:
    """An ISO time as _time reads it (None when absent); unreadable ones raise _Slow, or give None
    when ``lenient`` (for informational fields)."""
    if value is None:
        return None
    if value.__class__ is not str or value.strip() is not value:
        raise _Slow
    if len(value) <= 4 and value.lower() in _NULLS:  # "" and the null markers: absent, as _time
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        moment = None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(ctx.tz))
    if moment is None or not YEAR_MIN <= moment.year <= YEAR_MAX:
        if lenient:
            return None
        raise _Slow
    return moment


# The usual shape of a time with an offset, which isoformat() gives back unchanged once it has
# been read (-00:00 aside, which reads as UTC and prints as +00:00; fromisoformat takes "+08:60"
# as +09:00, hence the minutes): the text serves as is, for the price of one match.
_CANONICAL: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-](?:[01]\d|2[0-3]):[0-5]\d", re.ASCII)


def _iso(moment: datetime, text: str) -> str:
    """``moment.isoformat()`` of a moment read from ``text``."""
    canonical = _CANONICAL.fullmatch(text) is not None and not text.endswith("-00:00")
    return text if canonical else moment.isoformat()


def _fast_int(value: Any, low: int, high: int) -> int:
    if value.__class__ is not int or not low <= value <= high:
        raise _Slow
    return int(value)


def _fast_number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value) if value.__class__ is int and -(2**53) <= value <= 2**53 else value
    if number.__class__ is not float or number - number != 0:  # not a number, or not finite
        raise _Slow
    return float(number)


def _fast_location(record: dict[str, Any], ext: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    get, ext_get = record.get, ext.get
    loc: dict[str, Any] = {}
    adcode, town, village, grid = ext_get("district_code"), ext_get("town_code"), ext_get("village"), ext_get("grid_id")
    if adcode is not None and (adcode.__class__ is str and adcode.strip() is adcode and adcode not in _NULL_VARIANTS
                              or (adcode := _t(adcode))):
        loc["adcode"] = adcode
    if town is not None and (town.__class__ is str and town.strip() is town and town not in _NULL_VARIANTS
                              or (town := _t(town))):
        loc["town"] = town
    if village is not None and (
            village.__class__ is str and village.strip() is village and village not in _NULL_VARIANTS
            or (village := _t(village))):
        loc["village"] = village
    if grid is not None and (grid.__class__ is str and grid.strip() is grid and grid not in _NULL_VARIANTS
                              or (grid := _t(grid))):
        loc["grid"] = grid
    if (address := get("address")) is not None and (
            address.__class__ is str and address.strip() is address and address not in _NULL_VARIANTS
            or (address := _t(address))):
        loc["address"] = address
    if not (_code_ok(adcode, 6) and _code_ok(town, 9) and len(village or "") <= _VILLAGE_MAX
            and len(grid or "") <= _GRID_MAX):
        raise _Slow
    lon_key = "long" if "long" in record else "lon"
    pos = _fast_position(get("lat"), get(lon_key), ctx.datum, lon_key)
    if pos is not None:
        loc["lat"], loc["lon"] = pos
    return loc


def _code_ok(code: str | None, digits: int) -> bool:
    return not code or len(code) == digits and code.isdigit() and code.isascii()


def _fast_position(lat: Any, lon: Any, datum: str, lon_key: str) -> tuple[float, float] | None:
    if lat.__class__ is not float or lon.__class__ is not float:  # absent, or an int: as _location
        lat, lon = _fast_number(lat), _fast_number(lon)
        if lat is None or lon is None:
            return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # (NaN fails too)
        raise _Slow
    if lat == 0 and lon == 0:
        return None
    if datum in _PLAIN_DATUMS:
        return lat, lon
    try:
        pos = position(lat, lon, datum, "lat", lon_key)
    except FieldError:
        raise _Slow from None
    assert pos is not None
    return pos


def _fast_attrs(record: dict[str, Any], ext: dict[str, Any], workflow: str | None, ctx: _Context) -> dict[str, Any]:
    get = record.get
    attrs: dict[str, Any] = {}
    for key, value in zip(_STANDARD_ATTRS, map(get, _STANDARD_ATTRS)):  # noqa: B905 - same length
        if value is not None and (value.__class__ is str and value.strip() is value and value not in _NULL_VARIANTS
                                  or (value := _t(value))):
            attrs[key] = value
    if (raw := get("expected_datetime")) is not None and (expected := _fast_time(raw, ctx, True)):
        attrs["expected_at"] = _iso(expected, raw)
    if ext:
        _fast_extension_attrs(attrs, ext, workflow, ctx)
    return attrs


def _fast_extension_attrs(attrs: dict[str, Any], ext: dict[str, Any], workflow: str | None, ctx: _Context) -> None:
    get = ext.get
    if workflow:
        attrs["workflow_status"] = workflow
    if (name := get("caller_name")) is not None and (
            name.__class__ is str and name.strip() is name and name not in _NULL_VARIANTS or (name := _t(name))):
        attrs["caller_name"] = name
    if (phone := get("caller_phone")) is not None and (
            phone.__class__ is str and phone.strip() is phone and phone not in _NULL_VARIANTS or (phone := _t(phone))):
        attrs["caller_phone"] = phone
    if (satisfaction := get("satisfaction")) is not None and (satisfaction := _t(satisfaction)):
        if satisfaction not in SATISFACTION:
            raise _Slow
        attrs["satisfaction"] = satisfaction
    if (redo := get("redo_count")) is not None:
        attrs["redo_count"] = _fast_int(redo, 0, 2**63)
    if (stages := get("stages")) is not None and (stages := _fast_stages(stages, ctx)):
        attrs["stages"] = stages


def _fast_stages(stages: Any, ctx: _Context) -> dict[str, str] | None:
    if stages.__class__ is not dict or not _SCALARS.issuperset(map(type, stages.values())):
        raise _Slow
    out = {}
    for stage in STAGES:
        text = stages.get(stage)
        moment = _fast_time(text, ctx)
        if moment is not None:
            out[stage] = _iso(moment, str(text))
    return out or None
