"""The declarative mapping engine (FORMATS.md, "Generic JSON … declarative mapping").

A mapping names, for each Event field, where its value sits in an upstream record; the json,
sql and csv adapters share it, so a new connected system is usually a TOML table, not code.
:func:`compile_mapping` checks a spec once (a bad spec is configuration: ``ValueError``), and
:func:`apply_mapping` turns one record into a candidate or a Reject naming the field.

Beyond FORMATS.md, the engine settles these details:

- A path is first looked up as one key (CSV column names may contain dots), then as a dotted
  path; a number part indexes a list. "Empty" means None, a blank string or an empty list/table.
- ``time`` may also be a list of formats, tried in order (one CSV profile serves Boston's ISO
  and NYC's US-style times). Without ``time``, ``occurred_at`` and ``reported_at`` read ISO 8601.
  Naive times take ``tz`` (default Asia/Shanghai). Years outside 1970–2100 are rejected: they
  are sentinels (NYC's 01/01/1900) or typos, never live events.
- Order of a table spec: ``const`` (final) | first present path | ``default`` (final, when
  missing); then ``map`` (lookup by the stripped text, integral floats as ints; a miss uses
  ``default`` or rejects), then ``type``, then ``time``. ``const`` and ``default`` are used as
  written, never converted.
- Without a ``type``, text fields become stripped strings, ``priority`` an int, ``lat``/``lon``
  floats. ``category`` missing → ``options["default_category"]``, else ``other``.
- With ``id`` paths, each must hold a value (else the record is rejected naming ``id``): a
  missing version part would give two versions one event id.
- ``summary``, ``department`` and ``address`` are masked and clipped to the Event's limits
  rather than rejected: long free text is normal upstream and the case still matters.

The helpers at the top (times, positions, masked raw copies) are shared by every adapter.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from dashboard.contract.event import make_event_id
from dashboard.contract.geo import Datum, to_wgs84
from dashboard.contract.privacy import mask_text
from feeds.adapters.base import RAW_MAX, Candidate, FieldError, Parsed, Reject, masked_raw

DEFAULT_TZ: Final = "Asia/Shanghai"
YEAR_MIN, YEAR_MAX = 1970, 2100
MAX_DEPTH: Final = 64  # nesting levels of a JSON document; deeper ones are hostile, not data
_BOM: Final = b"\xef\xbb\xbf"


# --- helpers shared by the adapters -------------------------------------------------------


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple, dict)) and not value


def shown(value: Any, limit: int = 40) -> str:
    """A short, masked rendering of an input value for a reject reason."""
    text = value if isinstance(value, str) else repr(value)
    return repr(mask_text(text[: limit * 4])[:limit])


def payload_snippet(payload: bytes) -> str:
    """The masked start of a payload that could not be split into records."""
    return mask_text(payload[: RAW_MAX + 64].decode("utf-8", "replace"))[:RAW_MAX]


def load_json(payload: bytes, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Parse a JSON payload strictly (UTF-8, no NaN, no lone surrogates), or raise FieldError.

    orjson checks the text; with ``object_pairs_hook`` the stdlib parser then builds the objects
    (for feeds whose duplicate keys need a rule other than "last one wins").
    """
    body = payload.removeprefix(_BOM)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise FieldError("payload", f"not JSON ({err})") from None
    if _depth_exceeds(doc, MAX_DEPTH):
        raise FieldError("payload", f"nested deeper than {MAX_DEPTH} levels")
    if object_pairs_hook is None:
        return doc
    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=object_pairs_hook)
    except ValueError as err:  # the stdlib's digit limit on huge integers
        raise FieldError("payload", f"not JSON ({err})") from None


def _depth_exceeds(doc: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (the document is level 1)."""
    level = [doc] if isinstance(doc, _CONTAINERS) else []
    for _ in range(limit):
        if not level:
            return False
        level = [c for node in level for c in (node.values() if isinstance(node, dict) else node)
                 if isinstance(c, _CONTAINERS)]
    return bool(level)


_CONTAINERS: Final = (dict, list)


def scalar_text(value: Any, field: str) -> str | None:
    """A field value as stripped text; None when empty. Integral floats print as ints (Excel)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(field, "not a finite number")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    raise FieldError(field, f"expected text or a number, got {type(value).__name__}")


def to_int(value: Any, field: str) -> int | None:
    if is_empty(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(field, f"not an integer: {shown(value)}")
    if isinstance(value, int):
        return value
    number = to_float(value, field)
    if number is None or not number.is_integer():
        raise FieldError(field, f"not an integer: {shown(value)}")
    return int(number)


def to_float(value: Any, field: str) -> float | None:
    if is_empty(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(field, f"not a number: {shown(value)}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise FieldError(field, f"not a number: {shown(value)}") from None
    if not math.isfinite(number):
        raise FieldError(field, f"not a finite number: {shown(value)}")
    return number


def parse_time(value: Any, formats: Sequence[str], tz: str, field: str) -> datetime | None:
    """An aware datetime from ``value`` (None when empty); naive times are in ``tz``."""
    if is_empty(value):
        return None
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        parsed = next((p for f in formats if (p := _parse_one(value, f)) is not None), None)
    if parsed is None:
        raise FieldError(field, f"not a time ({' or '.join(formats)}): {shown(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    if not YEAR_MIN <= parsed.year <= YEAR_MAX:
        raise FieldError(field, f"year {parsed.year} outside {YEAR_MIN}–{YEAR_MAX}")
    return parsed


def _parse_one(value: Any, fmt: str) -> datetime | None:
    if isinstance(value, bool):
        return None
    if fmt in ("epoch_s", "epoch_ms"):
        return _from_epoch(value, 1000.0 if fmt == "epoch_ms" else 1.0)
    if not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)
    except (ValueError, OverflowError):
        return None


def _from_epoch(value: Any, scale: float) -> datetime | None:
    try:
        seconds = float(value) / scale
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def position(lat: Any, lon: Any, datum: str, lat_field: str = "lat",
             lon_field: str = "lon") -> tuple[float, float] | None:
    """WGS-84 (lat, lon), or None for a missing or 0,0 position; bad values raise FieldError."""
    la, lo = to_float(lat, lat_field), to_float(lon, lon_field)
    if la is None or lo is None or (la == 0 and lo == 0):
        return None
    if not -90 <= la <= 90:
        raise FieldError(lat_field, f"latitude out of range: {la}")
    if not -180 <= lo <= 180:
        raise FieldError(lon_field, f"longitude out of range: {lo}")
    try:
        wla, wlo = to_wgs84(la, lo, datum)
    except (ValueError, OverflowError, ZeroDivisionError):
        raise FieldError(lat_field, f"cannot convert ({la}, {lo}) from {datum}") from None
    # prcoords' inverse diverges near the poles and the antimeridian
    if not (math.isfinite(wla) and math.isfinite(wlo) and -90 <= wla <= 90 and -180 <= wlo <= 180):
        raise FieldError(lat_field, f"({la}, {lo}) in {datum} has no WGS-84 equivalent")
    return wla, wlo


def build_location(pos: tuple[float, float] | None, **parts: str | None) -> dict[str, Any] | None:
    """The candidate's location, or None when the upstream gave no location field at all."""
    loc: dict[str, Any] = {k: v for k, v in parts.items() if v is not None}
    if pos is not None:
        loc["lat"], loc["lon"] = pos
    return loc or None


def jsonable(value: Any) -> Any:
    """Spreadsheet and time values as JSON-friendly attrs values."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


# --- compiling a spec ----------------------------------------------------------------------

EVENT_FIELDS: Final = ("kind", "case_id", "status", "category", "priority", "occurred_at",
                       "reported_at", "department", "summary")
LOCATION_FIELDS: Final = ("lat", "lon", "adcode", "town", "village", "grid", "address")
REQUIRED: Final = ("case_id", "occurred_at", "status", "kind")
SPECIAL_KEYS: Final = ("records", "cursor", "id", "datum", "attrs", "inherit")
TIME_FIELDS: Final = frozenset({"occurred_at", "reported_at"})
TIME_NAMES: Final = frozenset({"iso", "epoch_s", "epoch_ms"})
TYPES: Final = frozenset({"int", "float", "str"})
_SPEC_KEYS: Final = frozenset({"path", "paths", "const", "map", "default", "type", "time", "tz"})
_UNSET: Final[Any] = object()
_PROFILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    paths: tuple[str, ...] = ()
    const: Any = _UNSET
    table: Mapping[str, Any] | None = None  # the spec's `map`
    default: Any = _UNSET
    type: str | None = None
    time: tuple[str, ...] | None = None
    tz: str = DEFAULT_TZ


class CompiledMapping(dict[str, Any]):
    """A checked mapping: keys records, cursor, id, datum, fields (name → FieldSpec), attrs, and
    inherit (name → path in the whole document, copied into every record: a storm's id that the
    document carries once for all its fixes)."""


def compile_mapping(spec: Mapping[str, Any]) -> CompiledMapping:
    """Check a mapping spec once; raise ValueError naming the bad key. Compiled ones pass through."""
    if isinstance(spec, CompiledMapping):
        return spec
    if not isinstance(spec, Mapping):
        raise ValueError(f"mapping: expected a table, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(EVENT_FIELDS) - set(LOCATION_FIELDS) - set(SPECIAL_KEYS))
    if unknown:
        raise ValueError(f"mapping: unknown keys {unknown}")
    missing = [f for f in REQUIRED if f not in spec]
    if missing:
        raise ValueError(f"mapping: no spec for required fields {missing}")
    order = [*REQUIRED, *(f for f in (*EVENT_FIELDS, *LOCATION_FIELDS) if f not in REQUIRED)]
    attrs = spec.get("attrs", {})
    if not isinstance(attrs, Mapping):
        raise ValueError("attrs: expected a table of name = spec")
    inherit = spec.get("inherit", {})
    if not isinstance(inherit, Mapping) or not all(isinstance(v, str) for v in inherit.values()):
        raise ValueError("inherit: expected a table of name = path in the document")
    return CompiledMapping(
        inherit=dict(inherit),
        records=_str_key(spec, "records", ""),
        cursor=_str_key(spec, "cursor", None),
        id=_id_paths(spec.get("id")),
        datum=_datum(spec.get("datum")),
        fields={f: compile_field(f, spec[f]) for f in order if f in spec},
        attrs={str(k): compile_field(f"attrs.{k}", v) for k, v in attrs.items()},
    )


def _str_key(spec: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = spec.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key}: expected a dotted path string")
    return value


def _id_paths(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    paths = [value] if isinstance(value, str) else value
    if not _is_path_list(paths):
        raise ValueError("id: expected a path or a non-empty list of paths")
    return tuple(paths)


def _datum(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return Datum(value).value
    except ValueError:
        raise ValueError(f"datum: {value!r} is not one of {[d.value for d in Datum]}") from None


def _is_path_list(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(isinstance(p, str) and p for p in value))


def compile_field(name: str, spec: Any) -> FieldSpec:
    """One field's spec: a path, a list of paths, or a table."""
    if isinstance(spec, str) and spec:
        return FieldSpec(name, paths=(spec,))
    if _is_path_list(spec):
        return FieldSpec(name, paths=tuple(spec))
    if isinstance(spec, Mapping):
        return _compile_table(name, spec)
    raise ValueError(f"{name}: a spec is a path, a non-empty list of paths or a table")


def _compile_table(name: str, spec: Mapping[str, Any]) -> FieldSpec:
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ValueError(f"{name}: unknown spec keys {unknown}")
    if "path" in spec and "paths" in spec:
        raise ValueError(f"{name}: give `path` or `paths`, not both")
    if "const" in spec and len(spec) > 1:
        raise ValueError(f"{name}: `const` stands alone")
    paths = _table_paths(name, spec)
    if not paths and "const" not in spec and "default" not in spec:
        raise ValueError(f"{name}: needs `path`, `paths`, `const` or `default`")
    return FieldSpec(
        name, paths=paths, const=spec.get("const", _UNSET), table=_table_map(name, spec.get("map")),
        default=spec.get("default", _UNSET), type=_table_type(name, spec.get("type")),
        time=_table_time(name, spec.get("time")), tz=_table_tz(name, spec.get("tz", DEFAULT_TZ)),
    )


def _table_paths(name: str, spec: Mapping[str, Any]) -> tuple[str, ...]:
    if "path" in spec:
        if not isinstance(spec["path"], str) or not spec["path"]:
            raise ValueError(f"{name}: `path` must be a non-empty string")
        return (spec["path"],)
    if "paths" in spec:
        if not _is_path_list(spec["paths"]):
            raise ValueError(f"{name}: `paths` must be a non-empty list of strings")
        return tuple(spec["paths"])
    return ()


def _table_map(name: str, table: Any) -> dict[str, Any] | None:
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ValueError(f"{name}: `map` must be a table")
    return {str(k): v for k, v in table.items()}


def _table_type(name: str, value: Any) -> str | None:
    if value is not None and value not in TYPES:
        raise ValueError(f"{name}: `type` must be one of {sorted(TYPES)}")
    return None if value is None else str(value)


def _table_time(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    formats = [value] if isinstance(value, str) else value
    if not _is_path_list(formats) or not all(f in TIME_NAMES or "%" in f for f in formats):
        raise ValueError(f"{name}: `time` must be iso, epoch_s, epoch_ms or strptime formats")
    return tuple(formats)


def _table_tz(name: str, value: Any) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{name}: unknown time zone {value!r}") from None
    return str(value)


# --- profiles ------------------------------------------------------------------------------


def load_profile(name: str) -> dict[str, Any]:
    """The mapping profile feeds/mappings/{name}.toml (package data)."""
    if not isinstance(name, str) or not _PROFILE_NAME.fullmatch(name):
        raise ValueError(f"mapping profile name {name!r}: letters, digits, - and _ only")
    path = resources.files("feeds").joinpath("mappings").joinpath(f"{name}.toml")
    if not path.is_file():
        raise ValueError(f"mapping profile {name!r} not found in feeds/mappings/")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"mapping profile {name!r}: {err}") from None


def resolve_mapping(value: str | Mapping[str, Any]) -> dict[str, Any]:
    """A profile name, an inline table, or a table with `profile` overlaid by its other keys.

    The overlay replaces top-level keys, except `attrs`, which is merged name by name.
    """
    if isinstance(value, CompiledMapping):
        return value
    if isinstance(value, str):
        return load_profile(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"mapping: expected a profile name or a table, got {type(value).__name__}")
    overlay = dict(value)
    if "profile" not in overlay:
        return overlay
    base = load_profile(overlay.pop("profile"))
    if isinstance(base.get("attrs"), Mapping) and isinstance(overlay.get("attrs"), Mapping):
        overlay["attrs"] = {**base["attrs"], **overlay["attrs"]}
    return {**base, **overlay}


# --- applying a mapping --------------------------------------------------------------------


def get_path(doc: Any, path: str) -> Any:
    """The value at a dotted path (a whole-key match first), or None."""
    if path == "":
        return doc
    if isinstance(doc, Mapping) and path in doc:
        return doc[path]
    node = doc
    for part in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isascii() and part.isdigit():
            index = int(part)
            node = node[index] if index < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node


def first_present(record: Any, paths: Sequence[str]) -> Any:
    for path in paths:
        value = get_path(record, path)
        if not is_empty(value):
            return value
    return None


def apply_mapping(record: Any, mapping: Mapping[str, Any], options: Mapping[str, Any]) -> Parsed:
    """One record → a candidate, or a Reject whose reason starts with the field name."""
    compiled = compile_mapping(mapping)
    if not isinstance(record, Mapping):
        return Reject(f"record: not an object ({type(record).__name__})", raw=masked_raw(record))
    try:
        return _candidate(record, compiled, options)
    except FieldError as err:
        return Reject(str(err), raw=masked_raw(record), record_key=_record_key(record, compiled))


def _record_key(record: Mapping[str, Any], mapping: CompiledMapping) -> str | None:
    spec: FieldSpec = mapping["fields"]["case_id"]
    try:
        return scalar_text(first_present(record, spec.paths), "case_id")
    except FieldError:
        return None


def _candidate(record: Mapping[str, Any], mapping: CompiledMapping, options: Mapping[str, Any]) -> Candidate:
    source = str(options["source"])
    values = {name: field_value(spec, record) for name, spec in mapping["fields"].items()}
    for name in REQUIRED:
        if values.get(name) is None:
            raise FieldError(name, "missing")
    cand: Candidate = {
        "event_id": _event_id(record, mapping, source, values),
        "case_id": f"{source}:{values['case_id']}",
        "source": source,
        "kind": values["kind"],
        "status": values["status"],
        "category": values.get("category") or options.get("default_category") or "other",
        "occurred_at": values["occurred_at"],
    }
    cand.update(_optional(values))
    datum = mapping["datum"] or options.get("datum") or "wgs84"
    location = _location(values, datum)
    if location:
        cand["location"] = location
    attrs = {name: jsonable(v) for name, spec in mapping["attrs"].items()
             if (v := field_value(spec, record)) is not None}
    if attrs:
        cand["attrs"] = attrs
    return cand


def _optional(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: values[k] for k in ("priority", "reported_at") if values.get(k) is not None}
    for key in ("summary", "department"):
        if isinstance(values.get(key), str):
            out[key] = values[key]
    return out


def _location(values: Mapping[str, Any], datum: str) -> dict[str, Any] | None:
    pos = position(values.get("lat"), values.get("lon"), datum)
    address = values.get("address")
    return build_location(
        pos, adcode=values.get("adcode"), town=values.get("town"), village=values.get("village"),
        grid=values.get("grid"),
        address=address,
    )


def _event_id(record: Mapping[str, Any], mapping: CompiledMapping, source: str,
              values: Mapping[str, Any]) -> str:
    if mapping["id"]:
        return make_event_id(source, *(_id_part(record, p) for p in mapping["id"]))
    occurred = values["occurred_at"]
    stamp = occurred.isoformat() if isinstance(occurred, datetime) else str(occurred)
    return make_event_id(source, values["case_id"], values["status"], stamp)


def _id_part(record: Mapping[str, Any], path: str) -> str:
    # a missing part would give two versions one id, and the second would be dropped as a duplicate
    value = get_path(record, path)
    if is_empty(value):
        raise FieldError("id", f"no value at {path!r}")
    return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()


def field_value(spec: FieldSpec, record: Any) -> Any:
    """The converted value of one field, or None when it is missing (and has no default)."""
    if spec.const is not _UNSET:
        return spec.const
    raw = first_present(record, spec.paths)
    if raw is None:
        return None if spec.default is _UNSET else spec.default
    if spec.table is not None:
        key = scalar_text(raw, spec.name) or ""
        if key not in spec.table:
            if spec.default is _UNSET:
                raise FieldError(spec.name, f"unmapped value {shown(key)}")
            return spec.default
        raw = spec.table[key]
    return _convert(spec, raw)


def _convert(spec: FieldSpec, raw: Any) -> Any:
    if spec.type is not None:
        raw = _COERCE[spec.type](raw, spec.name)
    if spec.time is not None or spec.name in TIME_FIELDS:
        return parse_time(raw, spec.time or ("iso",), spec.tz, spec.name)
    implicit = _IMPLICIT.get(spec.name)
    return implicit(raw, spec.name) if implicit else raw


_COERCE: Final[dict[str, Callable[[Any, str], Any]]] = {
    "int": to_int, "float": to_float, "str": scalar_text,
}
_TEXT_FIELDS: Final = ("case_id", "kind", "status", "category", "department", "summary", "adcode",
                       "town", "village", "grid", "address")
_IMPLICIT: Final[dict[str, Callable[[Any, str], Any]]] = {
    **dict.fromkeys(_TEXT_FIELDS, scalar_text), "priority": to_int,
}


def cursor_value(record: Any, mapping: Mapping[str, Any]) -> str | None:
    """The raw value at mapping["cursor"] as text (the poller's watermark), or None."""
    path = mapping.get("cursor")
    if not path:
        return None
    try:
        return scalar_text(get_path(record, path), "cursor")
    except FieldError:
        return None


def parse_json(payload: bytes, options: Mapping[str, Any]) -> Iterator[Parsed]:
    """The `json` adapter: records at mapping["records"], each through the mapping."""
    mapping = compile_mapping(resolve_mapping(options["mapping"]))
    try:
        doc = load_json(payload)
        records = _records(doc, mapping["records"])
    except FieldError as err:
        yield Reject(str(err), raw=payload_snippet(payload))
        return
    inherited = {k: v for k, p in mapping.get("inherit", {}).items() if (v := get_path(doc, p)) is not None}
    for record in records:
        if inherited and isinstance(record, dict):
            record = {**inherited, **record}
        yield apply_mapping(record, mapping, options)


def _records(doc: Any, path: str) -> list[Any]:
    found = get_path(doc, path)
    if not isinstance(found, list):
        where = f"at {path!r}" if path else "(the document)"
        raise FieldError("records", f"expected a list {where}, got {type(found).__name__}")
    return found
