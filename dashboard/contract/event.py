"""The normalised event: what every adapter produces and every consumer reads.

One event is one observed version of something upstream: a case reaching a lifecycle status, a
warning issued or cancelled, one track fix of a storm, one gauge reading, one mobilisation report.
``event_id`` is stable for that version, so re-reading the same upstream record gives the same id
and the ingest path drops it as a duplicate.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any, Final, get_args

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION = 1
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class Kind(StrEnum):
    case = "case"
    alert = "alert"
    track = "track"
    mobilisation = "mobilisation"
    reading = "reading"


class Status(StrEnum):
    reported = "reported"
    accepted = "accepted"
    dispatched = "dispatched"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    rated = "rated"
    reopened = "reopened"
    cancelled = "cancelled"


class Category(StrEnum):
    # the ten key work areas (十大重点工作)
    public_order = "public_order"
    dispute = "dispute"
    epidemic = "epidemic"
    illegal_construction = "illegal_construction"
    work_safety = "work_safety"
    traffic_safety = "traffic_safety"
    forest_fire = "forest_fire"
    flood_drought = "flood_drought"
    public_service = "public_service"
    law_enforcement = "law_enforcement"
    # enterprise appeals (117)
    enterprise_appeal = "enterprise_appeal"
    # incident types of the emergency dispatch centres
    police_criminal = "police_criminal"
    police_public_order = "police_public_order"
    police_assist = "police_assist"
    fire = "fire"
    rescue = "rescue"
    medical = "medical"
    traffic_accident = "traffic_accident"
    # the other connected systems
    petition = "petition"
    environment = "environment"
    market = "market"
    social_assistance = "social_assistance"
    health = "health"
    video_alarm = "video_alarm"
    maritime = "maritime"
    weather_warning = "weather_warning"
    typhoon = "typhoon"
    hydrology = "hydrology"
    emergency_response = "emergency_response"
    other = "other"


CATEGORY_ZH: dict[Category, str] = {
    Category.public_order: "社会治安",
    Category.dispute: "矛盾纠纷",
    Category.epidemic: "卫生防疫",
    Category.illegal_construction: "农村违建",
    Category.work_safety: "安全生产",
    Category.traffic_safety: "交通安全",
    Category.forest_fire: "森林防火",
    Category.flood_drought: "防汛防旱",
    Category.public_service: "便民服务",
    Category.law_enforcement: "综合执法",
    Category.enterprise_appeal: "企业诉求",
    Category.police_criminal: "刑事警情",
    Category.police_public_order: "治安警情",
    Category.police_assist: "求助警情",
    Category.fire: "火灾",
    Category.rescue: "抢险救援",
    Category.medical: "医疗急救",
    Category.traffic_accident: "交通事故",
    Category.petition: "信访",
    Category.environment: "生态环境",
    Category.market: "市场监管",
    Category.social_assistance: "社会救助",
    Category.health: "卫生健康",
    Category.video_alarm: "视频告警",
    Category.maritime: "海上网格",
    Category.weather_warning: "气象预警",
    Category.typhoon: "台风",
    Category.hydrology: "水情",
    Category.emergency_response: "应急响应",
    Category.other: "其他",
}

Adcode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
TownCode = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]


class Location(BaseModel):
    """WGS-84 position plus the administrative and grid codes when the upstream knows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    adcode: Adcode | None = None
    town: TownCode | None = None
    village: str | None = Field(None, max_length=64)
    grid: str | None = Field(None, max_length=64)
    address: str | None = Field(None, max_length=200)


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=True)

    schema_version: int = Field(SCHEMA_VERSION, alias="schema")
    event_id: str = Field(min_length=8, max_length=64)
    case_id: str = Field(min_length=1, max_length=128)
    source: str = Field(pattern=r"^[a-z0-9]{2,8}$")
    kind: Kind
    status: Status
    category: Category
    priority: int = Field(3, ge=1, le=4, description="1 urgent … 4 low")
    occurred_at: AwareDatetime = Field(description="when this version happened upstream")
    reported_at: AwareDatetime | None = Field(None, description="when the case was first reported")
    ingested_at: AwareDatetime
    location: Location | None = None
    department: str | None = Field(None, max_length=100)
    summary: str = Field("", max_length=500)
    attrs: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> bytes:
        """The event as stored in the streams: ``model_dump_json(by_alias=True)``, as bytes."""
        return _orjson(self) or _SERIALIZE(self, by_alias=True)


_SERIALIZE = Event.__pydantic_serializer__.to_json


def max_length(model: type[BaseModel], name: str) -> int:
    """The max_length constraint of a str field."""
    return min(m.max_length for m in model.model_fields[name].metadata if getattr(m, "max_length", None))


def make_event_id(source: str, *parts: object) -> str:
    """A stable id for one upstream version: same inputs, same id, across processes and restarts."""
    # the hash of source, then "\x1f" + str(part) for each part (joined as they are when all are str)
    strs = parts if _STR.issuperset(map(type, parts)) else tuple(map(str, parts))
    text = "\x1f".join((source, *strs))  # type: ignore[arg-type]  # all str by now
    return source + "-" + _blake2b(text.encode(), digest_size=12).hexdigest()


_STR: Final = frozenset({str})
_blake2b = hashlib.blake2b


def now_utc() -> datetime:
    """The one clock of the ingest path (tests may monkeypatch it)."""
    return datetime.now(UTC)


# --- building events from exact values ----------------------------------------------------
# Validation with pydantic costs more than the rest of normalising an event. An adapter's fast
# path that has itself checked every value against the constraints of the fields above (see
# feeds.adapters.base.Exact) has the Event built by construct_event, exactly as pydantic would
# build it (same values, defaults and fields set) but without checking anything a second time.
# Any change to the models switches this off until the adapters' checks have been reviewed
# against the change and _SHAPE updated; everything then goes through Event.model_validate.
# tests/test_pipeline.py holds this table to the models and both ways of building to each other.

_SHAPE: Final = {
    "Event.schema_version": ("int", ()),
    "Event.event_id": ("str", ("MinLen(min_length=8)", "MaxLen(max_length=64)")),
    "Event.case_id": ("str", ("MinLen(min_length=1)", "MaxLen(max_length=128)")),
    "Event.source": ("str", ("_PydanticGeneralMetadata(pattern='^[a-z0-9]{2,8}$')",)),
    "Event.kind": ("Kind", ()),
    "Event.status": ("Status", ()),
    "Event.category": ("Category", ()),
    "Event.priority": ("int", ("Ge(ge=1)", "Le(le=4)")),
    "Event.occurred_at": ("AwareDatetime", ()),
    "Event.reported_at": ("AwareDatetime | None", ()),
    "Event.ingested_at": ("AwareDatetime", ()),
    "Event.location": ("Location | None", ()),
    "Event.department": ("str | None", ("MaxLen(max_length=100)",)),
    "Event.summary": ("str", ("MaxLen(max_length=500)",)),
    "Event.attrs": ("dict[str, Any]", ()),
    "Location.lat": ("float | None", ("Ge(ge=-90)", "Le(le=90)")),
    "Location.lon": ("float | None", ("Ge(ge=-180)", "Le(le=180)")),
    "Location.adcode": ("Adcode | None", ("pattern='^\\\\d{6}$'",)),
    "Location.town": ("TownCode | None", ("pattern='^\\\\d{9}$'",)),
    "Location.village": ("str | None", ("MaxLen(max_length=64)",)),
    "Location.grid": ("str | None", ("MaxLen(max_length=64)",)),
    "Location.address": ("str | None", ("MaxLen(max_length=200)",)),
}
_ANNOTATIONS: Final[dict[str, Any]] = {
    "int": int, "str": str, "Kind": Kind, "Status": Status, "Category": Category,
    "AwareDatetime": AwareDatetime, "AwareDatetime | None": AwareDatetime | None,
    "Location | None": Location | None, "str | None": str | None, "dict[str, Any]": dict[str, Any],
    "float | None": float | None, "Adcode | None": Adcode | None, "TownCode | None": TownCode | None,
}


def model_shape() -> dict[str, tuple[Any, tuple[str, ...]]]:
    """Each field of Event and Location: its annotation and its constraints (including those of an
    Annotated type inside an Optional, such as Adcode's pattern)."""
    return {
        f"{model.__name__}.{name}": (field.annotation, (*map(repr, field.metadata), *_nested(field.annotation)))
        for model in (Event, Location)
        for name, field in model.model_fields.items()
    }


def _nested(annotation: Any) -> list[str]:
    return [f"pattern={m.pattern!r}" if isinstance(m, StringConstraints) else repr(m)
            for arg in get_args(annotation) for m in getattr(arg, "__metadata__", ())]


def _exact_supported() -> bool:
    expected = {k: (_ANNOTATIONS[a], constraints) for k, (a, constraints) in _SHAPE.items()}
    config = tuple(model.model_config.get(k) for model in (Event, Location)
                   for k in ("extra", "use_enum_values", "populate_by_name", "frozen"))
    hooks = [getattr(model, attr) for model in (Event, Location)
             for attr in ("__pydantic_post_init__", "__private_attributes__")]
    hooks += [getattr(model.__pydantic_decorators__, kind) for model in (Event, Location)
              for kind in ("validators", "field_validators", "model_validators", "field_serializers",
                           "model_serializers")]
    return (model_shape() == expected and not any(hooks)
            and config == ("forbid", True, True, None, "forbid", None, None, True))


EXACT_SUPPORTED: Final = _exact_supported()
_set = object.__setattr__
_new = object.__new__


def construct_event(values: dict[str, Any]) -> Event:
    """The Event of values that already meet every constraint, keyed by field name, with
    ``location`` a dict of Location fields. Exactly what ``Event.model_validate(values)`` gives
    for such values; only for callers that have checked them (feeds.adapters.base.Exact)."""
    fields = {**EVENT_DEFAULTS, **values}  # every field, in the model's order
    if "attrs" not in values:
        fields["attrs"] = {}
    loc = fields["location"]
    loc_set = None
    if loc is not None:
        fields["location"] = {**LOCATION_DEFAULTS, **loc}
        loc_set = set(loc)
    return assemble_event(fields, set(values), loc_set)


def assemble_event(fields: dict[str, Any], fields_set: set[str], location_set: set[str] | None) -> Event:
    """construct_event once the values are laid out: ``fields`` holds every Event field in the
    model's order, ``location`` every Location field in its order (or None); the sets name the
    fields the values gave (pydantic's fields set)."""
    loc = fields["location"]
    if loc is not None:
        location = _new(Location)
        _set(location, "__dict__", loc)
        _set(location, "__pydantic_fields_set__", location_set)
        _set(location, "__pydantic_extra__", None)
        _set(location, "__pydantic_private__", None)
        fields["location"] = location
    event = _new(Event)
    _set(event, "__dict__", fields)
    _set(event, "__pydantic_fields_set__", fields_set)
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


# every field with its default (required ones: None, always overridden; attrs: a new dict each time)
EVENT_DEFAULTS: Final = {name: None if field.is_required() else field.get_default(call_default_factory=False)
                         for name, field in Event.model_fields.items()}
LOCATION_DEFAULTS: Final = {name: field.default for name, field in Location.model_fields.items()}


# --- the stored JSON, written by orjson -------------------------------------------------------
# pydantic's serialiser walks the model's schema for every event; orjson writes the same bytes
# from the values in about half the time. Both write fields in the model's order, None as null,
# floats alike (shortest repr), non-ASCII as UTF-8, a zero offset as "Z" (OPT_UTC_Z). They differ
# on a time whose offset has seconds (orjson rounds +08:00:30 to "+08:01", pydantic cuts it to
# "+08:00") and on what orjson would write its own way (subclasses of str/int/dict/list, dataclasses),
# so orjson may write the top-level times only when their zone is a whole-minute fixed offset,
# hands everything else it would not write like pydantic to `_refuse` (the PASSTHROUGH options),
# and writes attrs with times passed through too; an event orjson refuses, or one whose fields
# are not laid out as the model lays them out, is written by pydantic.
# tests/test_pipeline.py holds both to each other on generated events.

_NAMES: Final = list(Event.model_fields)
_LOCATION_NAMES: Final = list(Location.model_fields)
_SCHEMA_KEY: Final = "schema_version"
_TOP: Final = orjson.OPT_UTC_Z | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
_ATTRS: Final = _TOP | orjson.OPT_PASSTHROUGH_DATETIME
_prefixes: Final = {1: b'{"schema":1,'}  # by schema version
_minute_zones: dict[timezone, bool] = {}  # fixed-offset zones seen: is the offset whole minutes?
_ZONES_KEPT: Final = 256  # real feeds use one or two offsets; odd ones are judged again each time
_fragment = orjson.Fragment


def _refuse(value: Any) -> Any:
    raise TypeError


def _orjson(event: Event) -> bytes | None:
    """``model_dump_json(by_alias=True)`` of an event, or None when pydantic must write it."""
    d = event.__dict__
    version = d[_SCHEMA_KEY]
    prefix = _prefixes.get(version) if version.__class__ is int else None
    reported, loc = d["reported_at"], d["location"]
    if (prefix is None or list(d) != _NAMES or not _minute_time(d["occurred_at"])
            or not _minute_time(d["ingested_at"]) or not (reported is None or _minute_time(reported))):
        return None
    out = d.copy()
    del out[_SCHEMA_KEY]
    try:
        out["attrs"] = _fragment(orjson.dumps(d["attrs"], default=_refuse, option=_ATTRS))
        if loc is not None:
            if loc.__class__ is not Location or list(loc.__dict__) != _LOCATION_NAMES:
                return None
            out["location"] = loc.__dict__
        return prefix + orjson.dumps(out, default=_refuse, option=_TOP)[1:]
    except TypeError:  # refused, an int beyond 64 bits, a lone surrogate, …
        return None


def _minute_time(value: Any) -> bool:
    tz = value.tzinfo
    if value.__class__ is not datetime or tz.__class__ is not timezone:
        return False
    ok = _minute_zones.get(tz)
    if ok is None:
        offset = tz.utcoffset(None)
        ok = offset.seconds % 60 == 0 and offset.microseconds == 0
        if len(_minute_zones) < _ZONES_KEPT:
            _minute_zones[tz] = ok
    return ok
