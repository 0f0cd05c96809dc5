"""OASIS CAP 1.1 / 1.2 warnings (feed ``qx``), including China's GB/T 35965.1-2018 profile.

One candidate per ``<info>`` block (a message carries one block per language). The Chinese
profile adds what the dashboard needs most: the warning colour (蓝/黄/橙/红 → priority) and the
issuing unit's division code at the start of the identifier. See feeds/FORMATS.md, "CAP".

Untrusted XML is parsed only with defusedxml, with DTDs forbidden: real CAP never has one, and
refusing it closes entity-expansion and external-entity attacks before expat sees them.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from shapely.errors import GEOSException
from shapely.geometry import Polygon

from dashboard.contract.event import BEIJING, Category, Status, make_event_id
from dashboard.contract.geo import Datum, to_wgs84
from dashboard.contract.privacy import mask_text
from feeds.adapters.base import FieldError, Parsed, Reject

log = logging.getLogger(__name__)

CAP_NAMESPACES = frozenset({
    "urn:oasis:names:tc:emergency:cap:1.1",
    "urn:oasis:names:tc:emergency:cap:1.2",
    "",  # tolerated: some producers drop the namespace
})
MAX_PAYLOAD_BYTES = 5_000_000  # bytes; a real CAP message is a few kB, a larger one is not CAP
RAW_CHARS = 2000  # characters of the payload kept with a reject
SUMMARY_CHARS = 500  # Event.summary limit
DEPARTMENT_CHARS = 100  # Event.department limit
TEXT_CHARS = 2000  # description / instruction kept in attrs

# colour -> priority (1 urgent … 4 low); a feed may override entries with options["colours"]
DEFAULT_COLOURS: Mapping[str, int] = {"red": 1, "orange": 2, "yellow": 3, "blue": 4}
# CAP <severity> -> priority, used when no colour is found
SEVERITY_PRIORITY: Mapping[str, int] = {"extreme": 1, "severe": 2, "moderate": 3, "minor": 4, "unknown": 4}
STATUS_BY_MSG_TYPE: Mapping[str, Status] = {
    "alert": Status.reported, "update": Status.in_progress, "cancel": Status.cancelled,
}
# parameter valueNames that carry the warning colour (compared case-insensitively); semáforo is
# Mexico's SMN traffic-light level
COLOUR_PARAMS = frozenset({
    "预警级别", "预警颜色", "alert_color", "colorlevel", "color", "colour", "semáforo",
})

_ZH_COLOUR = {"蓝": "blue", "藍": "blue", "黄": "yellow", "黃": "yellow", "橙": "orange",
              "红": "red", "紅": "red"}
# in a parameter or event code the bare word is the colour ("红", "Red", "11B03_RED")
_VALUE_COLOUR_RE = re.compile(r"([蓝藍黄黃橙红紅])|(?<![a-z])(blue|yellow|orange|red)(?![a-z])", re.I)
# in free text only a colour *of a warning* counts: "黄色预警", "Code ORANGE", not "黄河" or "Red Flag"
_TEXT_COLOUR_RE = re.compile(
    r"([蓝藍黄黃橙红紅])色"
    r"|(?<![a-z])(blue|yellow|orange|red)\s+(?:warning|alert|level|signal)"
    r"|(?:code|level)\s*[:：]?\s*(blue|yellow|orange|red)(?![a-z])",
    re.I,
)
_TYPHOON_RE = re.compile(r"台风|颱風|臺風|热带气旋|熱帶氣旋|typhoon|tropical\s+(?:cyclone|storm)|hurricane"
                         r"|ciclón\s+tropical|tormenta\s+tropical", re.I)
# specific words only: a bare 洪 also names places (洪山区)
_FLOOD_RE = re.compile(r"洪水|洪涝|洪澇|山洪|内涝|內澇|渍涝|汛|水库|水庫|泄洪|洩洪|干旱|乾旱|旱情"
                       r"|flood|drought|inundaci", re.I)
# first two digits of a real division code (GB/T 2260 provinces, Taiwan, Hong Kong, Macao)
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82"
    .split()
)


@dataclass(frozen=True, slots=True)
class _Header:
    """The <alert>-level fields shared by every <info> block of a message."""

    identifier: str
    sender: str
    sent_raw: str
    sent: datetime
    msg_type: str
    status: Status
    cap_status: str | None
    references: tuple[str, ...]
    case_ref: str
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class _Context:
    source: str
    datum: Datum
    colours: Mapping[str, int]
    raw: str


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[Parsed]:
    """One CAP message -> one candidate per <info> block, or rejects naming the field."""
    raw = mask_text(_decode_head(payload))
    source = str(options.get("source") or "qx")
    try:
        datum = Datum(options.get("datum") or Datum.wgs84)
    except ValueError:
        yield Reject(f"datum: unknown datum {options.get('datum')!r}", raw)
        return
    root = _load(payload)
    if isinstance(root, Reject):
        yield Reject(root.reason, raw)
        return
    header = _header(root)
    if isinstance(header, Reject):
        yield Reject(header.reason, raw, header.record_key)
        return
    infos = _children(root, "info")
    if not infos:
        yield Reject("info: missing", raw, header.identifier)
        return
    ctx = _Context(source, datum, _colour_table(options), raw)
    for index, info in enumerate(infos):
        yield _info_candidate(ctx, header, info, index)


# --- XML access -------------------------------------------------------------------------------


def _decode_head(payload: bytes | str) -> str:
    if isinstance(payload, str):
        return payload[:RAW_CHARS]
    return bytes(payload[: RAW_CHARS * 4]).decode("utf-8", "replace")[:RAW_CHARS]


def _load(payload: bytes | str) -> Element | Reject:
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "replace")
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Reject(f"xml: payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        root: Element = fromstring(payload, forbid_dtd=True)
    except DefusedXmlException as err:
        return Reject(f"xml: forbidden construct ({type(err).__name__})")
    except ParseError as err:
        return Reject(f"xml: not well-formed ({err})")
    ns, name = _split_tag(root.tag)
    if name != "alert":
        return Reject(f"alert: root element is <{name[:40]}>, not <alert>")
    if ns not in CAP_NAMESPACES:
        return Reject(f"alert: unsupported namespace {ns[:80]!r}")
    return root


def _split_tag(tag: Any) -> tuple[str, str]:
    if not isinstance(tag, str):  # comments and processing instructions have callable tags
        return "", ""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _children(el: Element, name: str) -> list[Element]:
    # local names only: producers mix prefixes (cap:info) and defaults, and signatures live in
    # their own namespace with names that never collide with CAP's
    return [c for c in el if _split_tag(c.tag)[1] == name]


def _text(el: Element, name: str) -> str | None:
    for c in _children(el, name):
        t = (c.text or "").strip()
        if t:
            return t
    return None


def _pairs(el: Element, name: str) -> list[tuple[str, str]]:
    """(valueName, value) of <parameter>/<eventCode>/<geocode> children."""
    return [(_text(c, "valueName") or "", _text(c, "value") or "") for c in _children(el, name)]


# --- alert header -----------------------------------------------------------------------------


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    # CAP requires an offset; a naive time from a Chinese producer means Beijing time
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=BEIJING)


def _header(root: Element) -> _Header | Reject:
    identifier = _text(root, "identifier")
    if identifier is None:
        return Reject("identifier: missing")
    sender = _text(root, "sender")
    if sender is None:
        return Reject("sender: missing", record_key=identifier)
    sent_raw = _text(root, "sent")
    if sent_raw is None:
        return Reject("sent: missing", record_key=identifier)
    sent = _parse_time(sent_raw)
    if sent is None:
        return Reject(f"sent: not an ISO 8601 time: {sent_raw[:40]!r}", record_key=identifier)
    msg_type = _text(root, "msgType") or ""
    status = STATUS_BY_MSG_TYPE.get(msg_type.casefold())
    if status is None:
        # Ack and Error answer other messages; they carry no warning for the board
        reason = f"{msg_type[:20]!r} is not Alert, Update or Cancel" if msg_type else "missing"
        return Reject(f"msgType: {reason}", record_key=identifier)
    refs = tuple((_text(root, "references") or "").split())
    first_ref = refs[0].split(",") if refs else []
    # an update or cancel belongs to the case its first reference opened (CAP: "sender,id,sent")
    has_ref = status is not Status.reported and len(first_ref) >= 2 and first_ref[1]
    case_ref = first_ref[1] if has_ref else identifier
    reported = _parse_time(first_ref[2]) if has_ref and len(first_ref) >= 3 else None
    return _Header(identifier, sender, sent_raw, sent, msg_type, status, _text(root, "status"), refs,
                   case_ref, reported or sent)


def _colour_table(options: Mapping[str, Any]) -> Mapping[str, int]:
    table = dict(DEFAULT_COLOURS)
    override = options.get("colours")
    if isinstance(override, Mapping):
        for colour, prio in override.items():
            if isinstance(prio, int) and not isinstance(prio, bool) and 1 <= prio <= 4:
                table[str(colour).casefold()] = prio
            else:
                log.warning("cap: ignoring colour %s with priority %r (want 1-4)", colour, prio)
    return table


# --- one <info> block -------------------------------------------------------------------------


def _info_candidate(ctx: _Context, h: _Header, info: Element, index: int) -> Parsed:
    try:
        areas, first_point = _areas(info, ctx.datum)
    except FieldError as err:
        return Reject(str(err), ctx.raw, h.identifier)
    event, headline = _text(info, "event"), _text(info, "headline")
    colour = _colour(info, headline, event)
    severity = _text(info, "severity")
    return {
        "event_id": make_event_id(ctx.source, h.identifier, h.sender, h.sent_raw, index),
        "case_id": f"{ctx.source}:{h.case_ref}",
        "source": ctx.source,
        "kind": "alert",
        "status": h.status.value,
        "category": _category(event, headline).value,
        "priority": _priority(colour, severity, ctx.colours),
        "occurred_at": h.sent,
        "reported_at": h.reported_at,
        "location": _location(h.identifier, info, first_point),
        "department": (_text(info, "senderName") or h.sender)[:DEPARTMENT_CHARS],
        "summary": (headline or event or "")[:SUMMARY_CHARS],
        "attrs": _attrs(h, info, colour, areas),
    }


def _attrs(h: _Header, info: Element, colour: str | None, areas: list[dict[str, Any]]) -> dict[str, Any]:
    times = {n: _parse_time(_text(info, n)) for n in ("effective", "onset", "expires")}
    attrs: dict[str, Any] = {
        "identifier": h.identifier,
        "sender": h.sender,
        "sender_name": _text(info, "senderName"),
        "event": _text(info, "event"),
        "headline": _text(info, "headline"),
        "colour": colour,
        "urgency": _text(info, "urgency"),
        "severity": _text(info, "severity"),
        "certainty": _text(info, "certainty"),
        "msg_type": h.msg_type,
        "cap_status": h.cap_status,
        "references": list(h.references) or None,
        "language": _text(info, "language"),
        "cap_category": _text(info, "category"),
        "event_codes": [{"name": n, "value": v} for n, v in _pairs(info, "eventCode")] or None,
        "description": (_text(info, "description") or "")[:TEXT_CHARS] or None,
        "instruction": (_text(info, "instruction") or "")[:TEXT_CHARS] or None,
        "web": _text(info, "web"),
        "areas": areas or None,
        **{n: t.isoformat() for n, t in times.items() if t is not None},
    }
    return {k: v for k, v in attrs.items() if v is not None}


def _category(event: str | None, headline: str | None) -> Category:
    text = f"{event or ''} {headline or ''}"
    if _TYPHOON_RE.search(text):
        return Category.typhoon
    if _FLOOD_RE.search(text):
        return Category.flood_drought
    return Category.weather_warning


def _priority(colour: str | None, severity: str | None, colours: Mapping[str, int]) -> int:
    if colour is not None and colour in colours:
        return colours[colour]
    return SEVERITY_PRIORITY.get((severity or "unknown").casefold(), 4)


# --- colour -----------------------------------------------------------------------------------


def _colour(info: Element, headline: str | None, event: str | None) -> str | None:
    for name, value in _pairs(info, "parameter"):
        if name.strip().casefold() in COLOUR_PARAMS:
            found = _last_colour(_VALUE_COLOUR_RE, value)
            if found:
                return found
    for _, value in _pairs(info, "eventCode"):
        found = _last_colour(_VALUE_COLOUR_RE, value)
        if found:
            return found
    return _last_colour(_TEXT_COLOUR_RE, headline or "") or _last_colour(_TEXT_COLOUR_RE, event or "")


def _last_colour(pattern: re.Pattern[str], text: str) -> str | None:
    # the last colour named wins: "由黄色升级为橙色预警" is an orange warning
    colour = None
    for m in pattern.finditer(text):
        word = next(g for g in m.groups() if g)
        colour = _ZH_COLOUR.get(word) or word.casefold()
    return colour


# --- areas and location -----------------------------------------------------------------------


def _areas(info: Element, datum: Datum) -> tuple[list[dict[str, Any]], tuple[float, float] | None]:
    """attrs.areas entries (GeoJSON order) and the point for location: first polygon, else circle."""
    areas: list[dict[str, Any]] = []
    polygon_point = circle_point = None
    for area in _children(info, "area"):
        base: dict[str, Any] = {"desc": _text(area, "areaDesc") or ""}
        geocodes = [{"name": n, "value": v} for n, v in _pairs(area, "geocode")]
        if geocodes:
            base["geocodes"] = geocodes
        shapes = 0
        for el in _children(area, "polygon"):
            ring = _parse_polygon(el.text or "", datum)
            polygon_point = polygon_point or _centroid(ring)
            areas.append({**base, "polygon": ring})
            shapes += 1
        for el in _children(area, "circle"):
            centre, radius = _parse_circle(el.text or "", datum)
            circle_point = circle_point or (centre[1], centre[0])
            areas.append({**base, "circle": {"center": centre, "radius_km": radius}})
            shapes += 1
        if not shapes:
            areas.append(base)
    return areas, polygon_point or circle_point


def _tokens(text: str) -> list[str]:
    return re.sub(r"\s*,\s*", ",", text.strip()).split()


def _parse_point(token: str, field: str, datum: Datum) -> list[float]:
    """'lat,lon' (an optional third altitude ignored) -> [lon, lat] in WGS-84."""
    parts = token.split(",")
    try:
        if len(parts) not in (2, 3):
            raise ValueError(token)
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise FieldError(field, f"{token[:40]!r} is not a 'lat,lon' pair") from None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise FieldError("lat", f"{parts[0][:20]} out of range in {field}")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise FieldError("lon", f"{parts[1][:20]} out of range in {field}")
    wlat, wlon = to_wgs84(lat, lon, datum)
    return [wlon, wlat]


def _parse_polygon(text: str, datum: Datum) -> list[list[float]]:
    ring = [_parse_point(t, "polygon", datum) for t in _tokens(text)]
    if len(ring) < 3:
        raise FieldError("polygon", f"needs at least 3 points, got {len(ring)}")
    if ring[0] != ring[-1]:
        ring.append(ring[0])  # CAP requires a closed ring; close it rather than lose the warning
    return ring


def _parse_circle(text: str, datum: Datum) -> tuple[list[float], float]:
    parts = _tokens(text)
    if len(parts) != 2:
        raise FieldError("circle", f"{text.strip()[:40]!r} is not 'lat,lon radius'")
    centre = _parse_point(parts[0], "circle", datum)
    try:
        radius = float(parts[1])
    except ValueError:
        radius = math.nan
    if not (math.isfinite(radius) and radius >= 0):
        raise FieldError("circle", f"radius {parts[1][:20]!r} is not a distance in km")
    return centre, radius


def _centroid(ring: list[list[float]]) -> tuple[float, float]:
    """(lat, lon) of a ring; the vertex mean when the ring is degenerate or self-intersecting."""
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    mean = (round(sum(lats) / len(lats), 6), round(sum(lons) / len(lons), 6))
    try:
        c = Polygon(ring).centroid
    except (ValueError, GEOSException):
        return mean
    # a bow-tie's signed areas can cancel and throw the centroid far outside the shape
    if c.is_empty or not (min(lons) <= c.x <= max(lons) and min(lats) <= c.y <= max(lats)):
        return mean
    return round(c.y, 6), round(c.x, 6)


def _location(identifier: str, info: Element, point: tuple[float, float] | None) -> dict[str, Any] | None:
    adcode, town = _geocode_division(info)
    if adcode is None:
        adcode = _identifier_adcode(identifier)
    loc: dict[str, Any] = {"adcode": adcode, "town": town}
    if point is not None and point != (0.0, 0.0):
        loc["lat"], loc["lon"] = point
    loc = {k: v for k, v in loc.items() if v is not None}
    return loc or None


def _plausible_adcode(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and code[:2] in _PROVINCES


def _identifier_adcode(identifier: str) -> str | None:
    # GB/T 35965.1: the identifier opens with the issuing unit's code, e.g. 44070041600000_2022…
    m = re.match(r"\d{6}", identifier)
    return m.group(0) if m and _plausible_adcode(m.group(0)) else None


def _geocode_division(info: Element) -> tuple[str | None, str | None]:
    """(adcode, town) from the first geocode that is a 6- or 12-digit Chinese division code."""
    for area in _children(info, "area"):
        for _, value in _pairs(area, "geocode"):
            v = value.strip()
            if len(v) in (6, 12) and v.isdigit() and _plausible_adcode(v[:6]):
                town = v[:9] if len(v) == 12 and v[6:9] != "000" else None
                return v[:6], town
    return None, None
