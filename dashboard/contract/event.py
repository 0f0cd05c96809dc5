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
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

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
        """The event as stored in the streams: pydantic's ``model_dump_json(by_alias=True)``, as bytes."""
        # the serialiser model_dump_json calls, without decoding its bytes to str and encoding them back
        return self.__pydantic_serializer__.to_json(self, by_alias=True)


def validation_reason(err: ValidationError) -> str:
    """'location.lat: Input should be less than or equal to 90' — field path first, no input echo."""
    parts = []
    for e in err.errors(include_input=False, include_url=False)[:3]:
        loc = ".".join(str(p) for p in e["loc"]) or "record"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def max_length(model: type[BaseModel], name: str) -> int:
    """The max_length constraint of a str field."""
    return min(m.max_length for m in model.model_fields[name].metadata if getattr(m, "max_length", None))


def make_event_id(source: str, *parts: object) -> str:
    """A stable id for one upstream version: same inputs, same id, across processes and restarts."""
    text = "\x1f".join((source, *map(str, parts)))
    return source + "-" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def now_utc() -> datetime:
    """The one clock of the ingest path (tests may monkeypatch it)."""
    return datetime.now(UTC)

