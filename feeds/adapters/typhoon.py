"""Tropical-cyclone tracks (feed ``tf``): CMA best-track text and the operational real-time JSON.

One candidate per fix. Both formats give the same case id for a storm, ``tf:{yyyynn}``, so a
best-track replay and the live feed land on the same storm. See feeds/FORMATS.md,
"Tropical cyclones".

- ``parse_bst``: CMA/STI ``CHyyyyBST.txt``. Header ``66666 IIII NNN SSSS CCCC F T NAME YYYYMMDD``
  (IIII international number yynn, NNN data lines, SSSS serial incl. depressions, CCCC China number,
  F end flag, T interval in hours, YYYYMMDD compiled on); data ``YYYYMMDDHH I LAT LON PRES WND [OWD]``
  in UTC, lat/lon in 0.1°, wind in m/s (2-min mean), WND 0 = unknown.
- ``parse_json``: a list of storms ``{tfbh, name, ename, is_current, land[], points[]}``; naive times
  are Beijing time, radii in km, ``forecast`` null or ``[{sets: agency, points: […]}]``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from dashboard.contract.event import BEIJING, make_event_id
from dashboard.contract.geo import Datum, to_wgs84
from dashboard.contract.privacy import mask_text
from feeds.adapters.base import FieldError, Parsed, Reject

log = logging.getLogger(__name__)

# CMA intensity category -> (Chinese name, abbreviation)
INTENSITY: Mapping[int, tuple[str, str]] = {
    0: ("弱于热带低压或未知", "unknown"),
    1: ("热带低压", "TD"),
    2: ("热带风暴", "TS"),
    3: ("强热带风暴", "STS"),
    4: ("台风", "TY"),
    5: ("强台风", "STY"),
    6: ("超强台风", "SuperTY"),
    9: ("变性", "ET"),
}
# intensity category -> priority (1 urgent … 4 low); anything not listed is 4
PRIORITY_BY_INTENSITY: Mapping[int, int] = {6: 1, 5: 1, 4: 2, 3: 3}
BST_END_FLAGS: Mapping[str, str] = {
    "0": "dissipated", "1": "left_area", "2": "merged", "3": "quasi_stationary",
}
RAW_CHARS = 2000  # characters of a record kept with a reject
SUMMARY_CHARS = 500  # Event.summary limit

# operational JSON "strong" text -> category; longest names first so 超强台风 is not read as 台风
_STRONG_NAMES: tuple[tuple[str, int], ...] = (
    ("超强台风", 6), ("强台风", 5), ("强热带风暴", 3), ("热带风暴", 2), ("热带低压", 1), ("台风", 4),
    ("变性", 9), ("温带", 9), ("super ty", 6), ("superty", 6), ("sty", 5), ("sts", 3), ("ty", 4),
    ("ts", 2), ("td", 1), ("et", 9),
)
_BST_TIME_RE = re.compile(r"\d{10}")
_FOUR_DIGITS_RE = re.compile(r"\d{4}")
_CN_NUMBERS_RE = re.compile(r"\d{4}(?:,\d{4})*")
_QUADRANTS = ("ne", "se", "sw", "nw")


@dataclass(frozen=True, slots=True)
class _Context:
    source: str
    datum: Datum
    storm: str  # casefolded filter, "" = every storm


@dataclass(slots=True)
class _Fix:
    time: datetime
    lat: float | None
    lon: float | None
    intensity: int
    pressure: float | None
    wind: float | None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Storm:
    key: str  # the upstream storm id in the case id: "201822", or "1949-Carmen-0000" when unnumbered
    name_zh: str | None
    name_en: str | None
    first_time: datetime | None
    attrs: dict[str, Any] = field(default_factory=dict)
    landfall: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)  # (time, entry)


def parse_bst(payload: bytes, options: Mapping[str, Any]) -> Iterator[Parsed]:
    """CMA best-track text -> one candidate per fix; bad lines become rejects naming the field."""
    ctx = _context(options)
    if isinstance(ctx, Reject):
        yield ctx
        return
    for header, lineno, lines in _bst_blocks(_decode(payload)):
        yield from _bst_storm(ctx, header, lineno, lines)


def parse_json(payload: bytes, options: Mapping[str, Any]) -> Iterator[Parsed]:
    """Operational real-time track JSON -> one candidate per fix."""
    ctx = _context(options)
    if isinstance(ctx, Reject):
        yield ctx
        return
    doc = _load_json(payload)
    if isinstance(doc, Reject):
        yield doc
        return
    for index, obj in enumerate(doc):
        if not isinstance(obj, dict):
            yield Reject(f"storm: item {index} is not an object", _raw(obj))
            continue
        yield from _json_storm(ctx, obj)


# --- shared -----------------------------------------------------------------------------------


def _context(options: Mapping[str, Any]) -> _Context | Reject:
    try:
        datum = Datum(options.get("datum") or Datum.wgs84)
    except ValueError:
        return Reject(f"datum: unknown datum {options.get('datum')!r}")
    storm = options.get("storm")
    return _Context(str(options.get("source") or "tf"), datum, str(storm or "").strip().casefold())


def _decode(payload: bytes | str) -> str:
    if isinstance(payload, str):
        return payload
    return bytes(payload).decode("utf-8-sig", "replace")


def _raw(obj: Any) -> str:
    if isinstance(obj, str):
        return mask_text(obj[:RAW_CHARS])
    try:
        text = orjson.dumps(obj, default=str).decode()
    except orjson.JSONEncodeError:  # orjson reads 1024 levels deep but writes only 254
        text = f"<{type(obj).__name__} nested too deeply to show>"
    return mask_text(text[:RAW_CHARS])


def _wanted(ctx: _Context, ids: Iterable[str | None], names: Iterable[str | None]) -> bool:
    if not ctx.storm:
        return True
    return any(i and i.casefold() == ctx.storm for i in (*ids, *names))


def _position(lat: float | None, lon: float | None, datum: Datum) -> tuple[float | None, float | None]:
    """Range-checked WGS-84 position; (None, None) when missing or 0,0 (unknown, not an error)."""
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise FieldError("lat", f"{lat} out of range")
    if math.isfinite(lon) and 180 < lon <= 360:
        lon -= 360  # a storm east of the date line (CMA writes 255.0°E for 105.0°W)
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise FieldError("lon", f"{lon} out of range")
    return to_wgs84(float(lat), float(lon), datum)


def _intensity_info(code: int) -> tuple[str, str]:
    return INTENSITY.get(code, INTENSITY[0])


def _candidate(ctx: _Context, storm: _Storm, fix: _Fix) -> dict[str, Any]:
    zh, abbr = _intensity_info(fix.intensity)
    case_id = f"{ctx.source}:{storm.key}"
    # landfalls so far: the event for a fix says what was known at that fix
    landfall = [lf for t, lf in storm.landfall if t <= fix.time] or None
    attrs: dict[str, Any] = {
        "storm_id": storm.key,
        # not "name": attrs under that key are masked as a person's name at ingest
        "name_zh": storm.name_zh,
        "name_en": storm.name_en,
        "intensity": fix.intensity,
        "intensity_zh": zh,
        "intensity_en": abbr,
        "pressure_hpa": fix.pressure,
        "wind_ms": fix.wind,
        "lat": fix.lat,
        "lon": fix.lon,
        **storm.attrs,
        **fix.attrs,
        "landfall": landfall,
    }
    location = {"lat": fix.lat, "lon": fix.lon} if fix.lat is not None else None
    return {
        "event_id": make_event_id(ctx.source, case_id, fix.time.isoformat(), fix.lat, fix.lon,
                                  fix.intensity, fix.pressure, fix.wind),
        "case_id": case_id,
        "source": ctx.source,
        "kind": "track",
        "status": "reported",
        "category": "typhoon",
        "priority": PRIORITY_BY_INTENSITY.get(fix.intensity, 4),
        "occurred_at": fix.time,
        "reported_at": storm.first_time,
        "location": location,
        "summary": _summary(storm, fix, zh)[:SUMMARY_CHARS],
        "attrs": {k: v for k, v in attrs.items() if v is not None},
    }


def _summary(storm: _Storm, fix: _Fix, intensity_zh: str) -> str:
    names = [n for n in dict.fromkeys((storm.name_zh, storm.name_en)) if n]
    parts = [*names, intensity_zh]
    if fix.pressure is not None:
        parts.append(f"{fix.pressure:g}hPa")
    if fix.wind is not None:
        parts.append(f"{fix.wind:g}m/s")
    return " ".join(parts)


# --- CMA best track ---------------------------------------------------------------------------


def _bst_blocks(text: str) -> Iterator[tuple[str | None, int, list[tuple[int, str]]]]:
    """(header line or None, its line number, [(line number, data line)]) per storm."""
    header: str | None = None
    header_no = 0
    lines: list[tuple[int, str]] = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.split()[0] == "66666":
            if header is not None or lines:
                yield header, header_no, lines
            header, header_no, lines = line, no, []
        else:
            lines.append((no, line))
    if header is not None or lines:
        yield header, header_no, lines


def _bst_storm(ctx: _Context, header: str | None, header_no: int,
               lines: list[tuple[int, str]]) -> Iterator[Parsed]:
    if header is None:
        yield Reject("header: data lines before any 66666 header", _raw("\n".join(t for _, t in lines[:20])),
                     f"line {lines[0][0]}")
        return
    try:
        head = _bst_header(header)
    except FieldError as err:
        # the lines under a bad header belong to no known storm: the header is the one bad record
        yield Reject(str(err), _raw(header), f"line {header_no}")
        return
    fixes = [_bst_fix(ctx, no, text) for no, text in lines]
    good = [f for f in fixes if isinstance(f, _Fix)]
    storm = _bst_identity(head, good[0].time if good else None)
    if not _wanted(ctx, (head["intl"], head["cn"], storm.key), (head["name"],)):
        return
    for fix in fixes:
        yield fix if isinstance(fix, Reject) else _candidate(ctx, storm, fix)


def _bst_header(line: str) -> dict[str, str]:
    p = line.split()
    if len(p) < 7:
        raise FieldError("header", f"expected at least 7 fields, got {len(p)}")
    for name, value in (("intl", p[1]), ("serial", p[3])):
        if not _FOUR_DIGITS_RE.fullmatch(value):
            raise FieldError("header", f"{name} number {value[:10]!r} is not 4 digits")
    # a storm formed by a merger carries both China numbers: "7127,7128" (Faye(Gloria), 1971)
    if not _CN_NUMBERS_RE.fullmatch(p[4]):
        raise FieldError("header", f"China number {p[4][:20]!r} is not 4 digits")
    # the compile date closes the line; the name (possibly absent) sits between it and the interval
    tail = p[7:-1] if len(p) > 7 and re.fullmatch(r"\d{8}", p[-1]) else p[7:]
    return {"intl": p[1], "serial": p[3], "cn": p[4], "end": p[5], "name": " ".join(tail)}


def _bst_identity(head: dict[str, str], first: datetime | None) -> _Storm:
    year = first.year if first else 0
    name = head["name"] or "(nameless)"
    if head["intl"] != "0000" and first is not None:
        key = f"{_full_year(int(head['intl'][:2]), year)}{head['intl'][2:]}"
    elif head["cn"] != "0000":
        key = f"{year}-{name}-{head['cn']}"
    else:
        # unnumbered and nameless storms share name and number within a year; the serial tells them apart
        key = f"{year}-{name}-s{head['serial']}"
    attrs = {"intl_no": head["intl"], "cn_no": head["cn"], "serial": head["serial"],
             "end_flag": BST_END_FLAGS.get(head["end"], head["end"])}
    return _Storm(key, None, head["name"] or None, first, attrs)


def _full_year(yy: int, near: int) -> int:
    # 1801 BOLAVEN starts on 2017-12-30: the storm's year is the one closest to its first fix
    century = near - near % 100
    return min((century - 100 + yy, century + yy, century + 100 + yy), key=lambda y: abs(y - near))


def _bst_fix(ctx: _Context, no: int, line: str) -> _Fix | Reject:
    try:
        return _bst_values(ctx, line)
    except FieldError as err:
        return Reject(str(err), _raw(line), f"line {no}")


def _bst_int(value: str, name: str) -> int:
    if not re.fullmatch(r"-?\d{1,6}", value):
        raise FieldError(name, f"{value[:20]!r} is not an integer")
    return int(value)


def _bst_values(ctx: _Context, line: str) -> _Fix:
    p = line.split()
    if len(p) not in (6, 7):
        raise FieldError("record", f"expected 6 or 7 fields, got {len(p)}")
    if not _BST_TIME_RE.fullmatch(p[0]):
        raise FieldError("time", f"{p[0][:20]!r} is not YYYYMMDDHH")
    try:
        t = datetime.strptime(p[0], "%Y%m%d%H").replace(tzinfo=UTC)
    except ValueError:
        raise FieldError("time", f"{p[0]!r} is not a valid date and hour") from None
    intensity = _bst_int(p[1], "intensity")
    if intensity not in INTENSITY:
        raise FieldError("intensity", f"unknown category {intensity}")
    lat, lon = _position(_bst_int(p[2], "lat") / 10, _bst_int(p[3], "lon") / 10, ctx.datum)
    pressure, wind = _bst_int(p[4], "pressure"), _bst_int(p[5], "wind")
    attrs = {"owd_ms": _bst_int(p[6], "owd")} if len(p) == 7 else {}
    return _Fix(t, lat, lon, intensity, pressure or None, wind or None, attrs)


# --- operational JSON -------------------------------------------------------------------------


def _load_json(payload: bytes | str) -> list[Any] | Reject:
    data = payload.encode("utf-8", "replace") if isinstance(payload, str) else bytes(payload)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        return Reject(f"json: not a JSON document ({err})", _raw(data[:RAW_CHARS].decode("utf-8", "replace")))
    if isinstance(doc, dict):
        return [doc]  # a single storm object
    if not isinstance(doc, list):
        return Reject(f"json: expected a list of storms, got {type(doc).__name__}", _raw(doc))
    return doc


def _json_storm(ctx: _Context, obj: dict[str, Any]) -> Iterator[Parsed]:
    tfbh = obj.get("tfbh") or obj.get("ident")
    if not isinstance(tfbh, (str, int)) or isinstance(tfbh, bool) or not str(tfbh).strip():
        yield Reject("tfbh: missing", _raw(obj))
        return
    key = str(tfbh).strip()
    name, ename = _opt_str(obj.get("name")), _opt_str(obj.get("ename"))
    if not _wanted(ctx, (key, key[2:] if len(key) == 6 else None, _opt_str(obj.get("ident"))), (name, ename)):
        return
    points = obj.get("points")
    if not isinstance(points, list):
        yield Reject("points: not a list", _raw(obj), key)
        return
    is_current = obj.get("is_current")
    storm = _Storm(key, name, ename, _opt_time(obj.get("begin_time")),
                   {"is_current": is_current if type(is_current) is int else None},
                   _landfall(obj.get("land"), ctx.datum))
    for index, point in enumerate(points):
        try:
            fix = _json_fix(ctx, point)
        except FieldError as err:
            yield Reject(str(err), _raw(point), f"{key}#{index}")
            continue
        yield _candidate(ctx, storm, fix)


def _opt_str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _opt_num(value: Any, name: str) -> float | None:
    """A number, or None when absent; a present non-number is an error naming the field."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(name, f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        num = float(value)
    elif isinstance(value, str):
        try:
            num = float(value)
        except ValueError:
            raise FieldError(name, f"{value[:20]!r} is not a number") from None
    else:
        raise FieldError(name, f"{type(value).__name__} is not a number")
    if not math.isfinite(num):
        raise FieldError(name, f"{value!r} is not a finite number")
    return int(num) if num.is_integer() and abs(num) < 2**53 else num


def _opt_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=BEIJING)  # the feed writes Beijing time


def _json_time(value: Any) -> datetime:
    t = _opt_time(value)
    if t is None:
        raise FieldError("time", f"{str(value)[:30]!r} is not an ISO time")
    return t


def _intensity_from_text(strong: str | None) -> int:
    text = (strong or "").casefold()
    for zh_or_abbr, code in _STRONG_NAMES:
        if zh_or_abbr.isascii():
            # abbreviations only inside brackets or alone: "台风(TY)", "TY"; not letters inside a word
            if re.search(rf"(?:^|[(（\s]){re.escape(zh_or_abbr)}(?:$|[)）\s])", text):
                return code
        elif zh_or_abbr in text:
            return code
    return 0


def _json_fix(ctx: _Context, point: Any) -> _Fix:
    if not isinstance(point, dict):
        raise FieldError("point", "not an object")
    t = _json_time(point.get("time"))
    lat, lon = _position(_opt_num(point.get("lat"), "lat"), _opt_num(point.get("lng"), "lon"), ctx.datum)
    strong = _opt_str(point.get("strong"))
    attrs: dict[str, Any] = {
        "strong": strong,
        "power": _opt_num(point.get("power"), "power"),
        "move_dir": _opt_str(point.get("move_dir")),
        "move_speed": _opt_num(point.get("move_speed"), "move_speed"),
        "remark": _opt_str(point.get("remark")),
        "forecast": _forecast(point.get("forecast"), ctx.datum),
    }
    for r in ("radius7", "radius10", "radius12"):
        attrs[r] = _opt_num(point.get(r), r)
        attrs[f"{r}_quad"] = _quad(point.get(f"{r}_quad"), f"{r}_quad")
    return _Fix(t, lat, lon, _intensity_from_text(strong), _opt_num(point.get("pressure"), "pressure"),
                _opt_num(point.get("speed"), "wind"), attrs)


def _quad(value: Any, name: str) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {q: _opt_num(value.get(q), f"{name}.{q}") for q in _QUADRANTS}


def _landfall(value: Any, datum: Datum) -> list[tuple[datetime, dict[str, Any]]]:
    """Landfalls with a readable time and place; a broken entry is dropped, not the storm's fixes."""
    out = []
    for item in value if isinstance(value, list) else []:
        try:
            t = _json_time(item.get("land_time")) if isinstance(item, dict) else None
            if t is None:
                continue
            lat, lon = _position(_opt_num(item.get("lat"), "lat"), _opt_num(item.get("lng"), "lon"), datum)
        except FieldError as err:
            log.debug("typhoon: landfall entry dropped: %s", err)
            continue
        entry = {"position": _opt_str(item.get("position")), "time": t.isoformat(), "lat": lat, "lon": lon}
        out.append((t, entry))
    return out


def _forecast(value: Any, datum: Datum) -> list[dict[str, Any]] | None:
    """Forecast tracks per agency; a broken point is dropped so one bad forecast keeps the fix."""
    if not isinstance(value, list):
        return None
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        pts = [fp for p in _as_list(entry.get("points")) if (fp := _forecast_point(p, datum))]
        out.append({"agency": _opt_str(entry.get("sets")), "points": pts})
    return out or None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _forecast_point(point: Any, datum: Datum) -> dict[str, Any] | None:
    try:
        if not isinstance(point, dict):
            raise FieldError("forecast", "point is not an object")
        t = _json_time(point.get("time"))
        lat, lon = _position(_opt_num(point.get("lat"), "lat"), _opt_num(point.get("lng"), "lon"), datum)
        strong = _opt_str(point.get("strong"))
        values = {
            "time": t.isoformat(), "lat": lat, "lon": lon, "strong": strong,
            "intensity": _intensity_from_text(strong),
            "pressure_hpa": _opt_num(point.get("pressure"), "pressure"),
            "wind_ms": _opt_num(point.get("speed"), "wind"),
            "power": _opt_num(point.get("power"), "power"),
        }
    except FieldError as err:
        log.debug("typhoon: forecast point dropped: %s", err)
        return None
    return {k: v for k, v in values.items() if v is not None}
