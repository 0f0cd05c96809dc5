"""The wall's snapshots: the figures (``wall``) and the case map (``wall-map``), their models and
their builders.

A figures snapshot reads a bounded amount whatever the history: the current-state hashes, at most 48
hourly and 30 daily buckets summed inside Redis, and the SLA clocks' sorted sets counted in one
script. Time-dependent figures (red and yellow lights, overdue counts, a marker's light) are counted
at build time from the deadlines, so they are exact without any timer. A scope is the city (its own
counters and one row per district) or a district (its own counters and one row per town).

The case map is a change log (dashboard/live/changelog.py): one GeoJSON point per open case, the
later reports of a linked incident left out (the first stands for it and lists every source). With
tens of thousands of markers every two seconds it is built as JSON-ready dicts, not model
instances (validating 28 k markers as pydantic models took 460 ms, measured); tests hold it to
:class:`CaseMap`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import Field

from dashboard.contract.board import PUBLISHED, EpochMs, Model, PageHead, PointGeometry, Scope, SnapshotHead
from dashboard.contract.event import BEIJING
from dashboard.live import charts, kpi
from dashboard.live.counters import COUNT_CLOCKS, FIELD_SERIES, SUM_SCRIPT, category_name, ints, pairs
from dashboard.live.kpi import Kpis, Window, WindowRange
from dashboard.live.places import Places
from dashboard.live.publish import LiveContext, Round
from dashboard.live.sla import Policies, light
from dashboard.live.state import KEYED_DIMS, beijing_day, day_bucket, epoch, hour_bucket

TICKER_SHOWN = 20
DETAIL_POLICIES = ("hotline12345", "enterprise117")  # every stage a row; other policies one row each
FRESH_S = 600  # markers reported this recently (the run's clock) are highlighted


# --- the figures ------------------------------------------------------------------------------

class CaseCounts(Model):
    open: int = Field(description="cases received and not yet handled or cancelled")
    urgent_open: int = Field(description="open cases of priority 1")
    escalated_open: int = Field(description="open cases sent back for redo 3 times or more")
    open_incidents: int = Field(description="open cases counting linked reports of one incident once")


class SlaRow(Model):
    """One row of the SLA panel: a stage of a policy shown stage by stage, or a whole policy."""
    row: str
    policy: str
    stage: str | None = Field(description="policy.stage; None for a policy summed over its stages")
    label_zh: str
    label_en: str
    running: int = Field(description="clocks running")
    red: int = Field(description="past their deadline")
    yellow: int = Field(description="within the last 20 % of their allowance")
    green: int
    due_within_1h: int


class AreaRow(Model):
    """A district (city scope) or a town (district scope)."""
    code: str
    name: str
    open: int
    open_incidents: int
    received_today: int
    handled_today: int
    red: int = Field(description="SLA clocks past their deadline")
    yellow: int
    kpis_30d: Kpis
    shade_by_open: int = Field(ge=0, le=2, description="map shade by open cases: thirds of the busiest area's")
    shade_by_risk: int = Field(ge=0, le=2, description="map shade by overdue clocks: 0 none, 1 under 5 % of "
                                                       "open cases, 2 more")


class BreakdownRow(Model):
    """A source system or a category, in the city or one district."""
    code: str
    name: str
    open: int
    urgent_open: int
    received_today: int
    handled_today: int
    red: int = Field(description="SLA clocks past their deadline")
    yellow: int


class Trend(Model):
    hours: list[int]
    today: list[int] = Field(description="cases received per hour of today so far")
    yesterday: list[int] = Field(description="per hour of yesterday")


class TickerItem(Model):
    event_id: str
    case_id: str
    source: str
    source_name: str
    category: str
    priority: int
    occurred_at: EpochMs
    district: str | None
    summary: str = Field(description="masked, at most 120 characters; shown as text, never as markup")
    fresh: bool = Field(description="reported within the last 10 minutes")


class WallCharts(Model):
    trend: dict[charts.Lang, dict[str, Any]] = Field(description="a Plotly figure per language")


class WallSnapshot(PageHead):
    """The wall's figures for the city or one district."""
    snapshot: Literal["wall"] = "wall"
    newest_by_source: dict[str, EpochMs]
    cases: CaseCounts
    kpis: dict[Window, Kpis]
    windows: dict[Window, WindowRange]
    sla: list[SlaRow]
    area_level: Literal["district", "town", "village", "grid"] | None = Field(
        description="the level of the areas' rows; None for a grid (nothing below it)")
    areas: list[AreaRow]
    by_source: list[BreakdownRow] = Field(description="the city and a district only")
    by_category: list[BreakdownRow] = Field(description="the city and a district only")
    trend: Trend
    charts: WallCharts
    ticker: list[TickerItem] = Field(description="newest urgent reports first")


# --- the case map -----------------------------------------------------------------------------

class CaseProperties(Model):
    source: str
    sources: list[str] = Field(description="every system that reported this incident")
    category: str
    priority: int
    status: str
    district: str | None
    summary: str = Field(description="masked; escaped before it goes into a popup")
    reported_at: EpochMs
    deadline: EpochMs | None = Field(description="the nearest deadline of a running SLA clock")
    stage: str | None = Field(description="that clock's policy.stage")
    light: Literal["none", "green", "yellow", "red"] = Field(description="that clock's light when built")
    fresh: bool = Field(description="reported within the last 10 minutes")


class CaseMarker(Model):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: CaseProperties


class CaseMap(SnapshotHead):
    """One entry of a scope's case map log: every open case (``reset``), or what changed since the
    previous entry."""
    snapshot: Literal["wall-map"] = "wall-map"
    reset: bool = Field(description="True: markers are every open case's; False: markers added or changed")
    markers: list[CaseMarker]
    removed: list[str] = Field(description="ids of markers gone since the previous entry")


# --- the SLA panel's rows ---------------------------------------------------------------------

@dataclass(frozen=True)
class SlaRowSpec:
    row: str
    policy: str
    stage: str | None
    label_zh: str
    label_en: str
    first: bool  # the first row of its group (a rule is drawn above it)


def sla_rows(policies: Policies) -> list[SlaRowSpec]:
    """The panel's rows: every stage of the 12345 and 117 policies, then one row per other policy."""
    names = {p: (zh, en) for p, zh, en in policies.names()}
    rows: list[SlaRowSpec] = []
    seen: set[str] = set()
    for policy, stage, zh, en in policies.stages():
        pzh, pen = names[policy]
        if policy in DETAIL_POLICIES:
            rows.append(SlaRowSpec(f"{policy}.{stage}", policy, f"{policy}.{stage}", f"{pzh} · {zh}", f"{pen} · {en}",
                                   policy not in seen))
        elif policy not in seen:
            rows.append(SlaRowSpec(policy, policy, None, pzh, pen, len(seen) == len(DETAIL_POLICIES)))
        seen.add(policy)
    return rows


# --- counters of a scope ----------------------------------------------------------------------

BELOW: dict[str, str | None] = {"city": "district", "district": "town", "town": "village", "village": "grid",
                                "grid": None}


@dataclass(frozen=True, slots=True)
class Counted:
    """How a scope's figures are counted: its own counter (dim, value), its areas' dimension and its
    breakdowns' (by source and category: the city's own dimensions, a district's dsrc and dcat)."""
    scope: Scope

    @property
    def city(self) -> bool:
        return self.scope.level == "city"

    @property
    def dim(self) -> str:
        return "all" if self.city else self.scope.level

    @property
    def value(self) -> str:
        return "*" if self.city else self.scope.code

    @property
    def area_dim(self) -> str | None:
        return BELOW[self.scope.level]

    def breakdown(self, by: str) -> tuple[str, str] | None:
        """(dimension, value prefix) of the breakdown ``by`` "source" or "category"; None below a district."""
        if self.city:
            return by, ""
        if self.scope.level == "district":
            return ("dsrc" if by == "source" else "dcat"), f"{self.scope.code}/"
        return None


Clocks = Mapping[tuple[str, str, str], Mapping[str, int]]
NOW_METRICS = ("open", "open_p1", "esc", "inc")


class WallBuilder:
    """The wall's figures for any scope: the city and its districts every round, and a town, village
    or grid on demand (dashboard/live/ondemand.py) with the same reads."""

    def __init__(self, ctx: LiveContext) -> None:
        self.ctx, self.r, self.keys = ctx, ctx.r, ctx.keys
        self._count_clocks = ctx.r.register_script(COUNT_CLOCKS)
        self._sum = ctx.r.register_script(SUM_SCRIPT)
        self._series = ctx.r.register_script(FIELD_SERIES)
        self.rows = sla_rows(ctx.policies)
        self.stages = [f"{p}.{st}" for p, st, _, _ in ctx.policies.stages()]
        self.places = Places(ctx.r, ctx.keys, ctx.city)

    def build(self, rnd: Round, scopes: Sequence[Scope]) -> dict[str, WallSnapshot]:
        return {sc.code: self.build_one(rnd, sc) for sc in scopes}

    def build_one(self, rnd: Round, scope: Scope) -> WallSnapshot:
        now, sc = rnd.now, Counted(scope)
        areas = self.places.children(scope)
        pipe = self.r.pipeline(transaction=False)
        pipe.zrevrange(self.keys.ticker, 0, 4 * TICKER_SHOWN)
        pipe.hmget(self.keys.now(sc.dim), [f"{sc.value}|{m}" for m in NOW_METRICS])
        if sc.area_dim:
            pipe.hmget(self.keys.now(sc.area_dim), [f"{a.code}|{m}" for a in areas for m in ("open", "inc")] or ["-"])
        for by in ("source", "category"):
            if (b := sc.breakdown(by)) is not None:
                pipe.hgetall(self.keys.now(b[0]))
        ticker, own, *rest = pipe.execute()
        cur = _fields([f"{sc.value}|{m}" for m in NOW_METRICS], own)
        if sc.area_dim:
            cur |= _fields([f"{a.code}|{m}" for a in areas for m in ("open", "inc")], rest.pop(0))
        breakdown_now = {by: self._strip(ints(rest.pop(0)), sc.breakdown(by))
                         for by in ("source", "category") if sc.breakdown(by) is not None}
        sums = self._sums(sc, areas, now)
        pairs_ = [(sc.dim, sc.value), *((sc.area_dim, a.code) for a in areas if sc.area_dim)]
        for by, current in breakdown_now.items():
            dim, prefix = sc.breakdown(by)  # type: ignore[misc]
            values = {k.split("|", 1)[0] for k in (*current, *sums[f"{by}_today"])}
            pairs_ += [(dim, f"{prefix}{v}") for v in sorted(values)]
        clocks = self._clocks(pairs_, now)
        trend = self._trend(sums["trend"], now)
        return WallSnapshot(
            **rnd.page_head("wall", scope.code,
                            self.places.district_of(scope) if scope.level not in PUBLISHED else None),
            newest_by_source=rnd.newest,
            cases=self._current(cur, sc),
            kpis={w: kpi.kpis(sums[w], sc.value, _overdue(clocks, sc.dim, sc.value)) for w in kpi.WINDOWS},
            windows=kpi.windows(now),
            sla=self._sla_rows(clocks, sc),
            area_level=sc.area_dim,
            areas=self._areas(cur, sums, clocks, sc, areas),
            by_source=self._breakdown(breakdown_now, sums, clocks, sc, "source"),
            by_category=self._breakdown(breakdown_now, sums, clocks, sc, "category"),
            trend=trend,
            charts=WallCharts(trend=charts.trend(trend.today, trend.yesterday)),
            ticker=self._ticker(ticker, sc, now),
        )

    # --- reading ----------------------------------------------------------------------------------

    def _sums(self, sc: Counted, areas: Sequence[Scope], now: float) -> dict[str, Any]:
        """Window sums, summed inside Redis (a bounded number of buckets whatever the history)."""
        hour0, day0 = int(now // 3600), beijing_day(now)
        hours = [hour_bucket(h) for h in range(hour0 - 47, hour0 + 1)]  # oldest first
        days = [day_bucket(d) for d in range(day0 - 29, day0 + 1)]
        pipe = self.r.pipeline(transaction=False)
        plan: list[tuple[str, str]] = []  # (name, value whose fields a keyed read is labelled with)

        def summed(name: str, gran: str, buckets: list[str], dim: str, value: str | None) -> None:
            """The sum of one value's fields over ``buckets`` (``value`` None: every value's)."""
            if value is not None and dim in KEYED_DIMS:
                self._sum(keys=[self.keys.agg(gran, b, dim, value) for b in buckets], args=[""], client=pipe)
                plan.append((name, value))
            else:
                prefix = "" if value is None else f"{value}|"
                self._sum(keys=[self.keys.agg(gran, b, dim) for b in buckets], args=[prefix], client=pipe)
                plan.append((name, ""))

        for w, n in (("today", 1), ("7d", 7), ("30d", 30)):
            summed(w, "d", days[-n:], sc.dim, sc.value)
        summed("24h", "h", hours[-24:], sc.dim, sc.value)
        if sc.area_dim in KEYED_DIMS:
            for a in areas:
                summed("areas_30d", "d", days, sc.area_dim, a.code)
                summed("areas_today", "d", days[-1:], sc.area_dim, a.code)
        elif sc.area_dim:
            summed("areas_30d", "d", days, sc.area_dim, None)
            summed("areas_today", "d", days[-1:], sc.area_dim, None)
        for by in ("source", "category"):
            if (b := sc.breakdown(by)) is not None:
                summed(f"{by}_today", "d", days[-1:], b[0], None)
        keyed = sc.dim in KEYED_DIMS
        self._series(keys=[self.keys.agg("h", b, sc.dim, sc.value if keyed else None) for b in hours],
                     args=["recv" if keyed else f"{sc.value}|recv"], client=pipe)
        *res, trend = pipe.execute()
        out: dict[str, Any] = {}
        for (name, label), v in zip(plan, res, strict=True):
            got = pairs(v)
            out.setdefault(name, {}).update({f"{label}|{k}": n for k, n in got.items()} if label else got)
        for name in ("areas_30d", "areas_today"):
            out[name] = _by_area(out.get(name, {}), areas)
        for by in ("source", "category"):
            out[f"{by}_today"] = self._strip(out.get(f"{by}_today", {}), sc.breakdown(by))
        out["trend"] = [int(v) for v in trend]
        return out

    @staticmethod
    def _strip(fields: Mapping[str, int], breakdown: tuple[str, str] | None) -> dict[str, int]:
        """A breakdown's fields without the district's prefix ("440781/12345|open" -> "12345|open")."""
        prefix = breakdown[1] if breakdown else ""
        return {k[len(prefix):]: n for k, n in fields.items() if k.startswith(prefix)}

    def _stages(self, dim: str, value: str) -> list[str]:
        """The stages whose clocks a (dim, value) can hold: a source's own policies', else every one."""
        if dim == "source":
            return self.ctx.policies.stages_of(value)
        if dim == "dsrc":
            return self.ctx.policies.stages_of(value.rsplit("/", 1)[-1])
        return self.stages

    def _clocks(self, pairs_: Iterable[tuple[str, str]], now: float) -> dict[tuple[str, str, str], dict[str, int]]:
        """{(stage, dim, value): {total, yellow, red, due_1h, green}} for every stage of each (dim, value)."""
        triples = [(stage, dim, value) for dim, value in pairs_ for stage in self._stages(dim, value)]
        keys: list[str] = []
        for stage, dim, value in triples:
            keys += [self.keys.due(stage, dim, value), self.keys.warn(stage, dim, value)]
        raw = self._count_clocks(keys=keys, args=[now, now + 3600]) if keys else []
        out = {}
        for i, t in enumerate(triples):
            total, warn, red, due1h = (int(x) for x in raw[4 * i: 4 * i + 4])
            if total:
                out[t] = {"total": total, "red": red, "yellow": warn - red, "green": total - warn, "due_1h": due1h}
        return out

    # --- figures ----------------------------------------------------------------------------------

    def _current(self, cur: Mapping[str, int], sc: Counted) -> CaseCounts:
        def n(metric: str) -> int:
            return cur.get(f"{sc.value}|{metric}", 0)
        return CaseCounts(open=n("open"), urgent_open=n("open_p1"), escalated_open=n("esc"), open_incidents=n("inc"))

    def _sla_rows(self, clocks: Clocks, sc: Counted) -> list[SlaRow]:
        """The panel's rows, each summed over the scope's own clocks of its stage (or policy)."""
        mine = [(stage, c) for (stage, dim, value), c in clocks.items() if dim == sc.dim and value == sc.value]
        out = []
        for spec in self.rows:
            counts = [c for stage, c in mine
                      if (stage == spec.stage if spec.stage else stage.split(".", 1)[0] == spec.policy)]

            def total(k: str, counts: list[Mapping[str, int]] = counts) -> int:
                return sum(c[k] for c in counts)
            out.append(SlaRow(row=spec.row, policy=spec.policy, stage=spec.stage, label_zh=spec.label_zh,
                              label_en=spec.label_en, running=total("total"), red=total("red"),
                              yellow=total("yellow"), green=total("green"), due_within_1h=total("due_1h")))
        return out

    def _areas(self, cur: Mapping[str, int], sums: Mapping[str, Any], clocks: Clocks, sc: Counted,
               areas: Sequence[Scope]) -> list[AreaRow]:
        """One row per place one level down: districts, towns, villages or grids."""
        if not sc.area_dim:
            return []
        today, month = sums["areas_today"], sums["areas_30d"]  # per area
        busiest = max((cur.get(f"{a.code}|open", 0) for a in areas), default=0)
        rows = []
        for a in areas:
            code = a.code
            lights = [c for (_, d, v), c in clocks.items() if d == sc.area_dim and v == code]
            open_, red = cur.get(f"{code}|open", 0), sum(c["red"] for c in lights)
            rows.append(AreaRow(
                code=code, name=a.name, open=open_, open_incidents=cur.get(f"{code}|inc", 0),
                received_today=today[code].get(f"{code}|recv", 0), handled_today=today[code].get(f"{code}|done", 0),
                red=red, yellow=sum(c["yellow"] for c in lights),
                kpis_30d=kpi.kpis(month[code], code, _overdue(clocks, sc.area_dim, code)),
                shade_by_open=shade_by_open(open_, busiest), shade_by_risk=shade_by_risk(red, open_)))
        return rows

    def _breakdown(self, now_: Mapping[str, Mapping[str, int]], sums: Mapping[str, Any], clocks: Clocks,
                   sc: Counted, by: str) -> list[BreakdownRow]:
        b = sc.breakdown(by)
        if b is None:
            return []  # below a district: no breakdown by source or category
        dim, prefix = b
        cur, today = now_[by], sums[f"{by}_today"]
        values = {k.split("|", 1)[0] for k in (*today, *cur)}
        rows = []
        for v in values:
            lights = [c for (_, d, val), c in clocks.items() if d == dim and val == f"{prefix}{v}"]
            row = BreakdownRow(code=v, name=self._name(by, v), open=cur.get(f"{v}|open", 0),
                               urgent_open=cur.get(f"{v}|open_p1", 0), received_today=today.get(f"{v}|recv", 0),
                               handled_today=today.get(f"{v}|done", 0), red=sum(c["red"] for c in lights),
                               yellow=sum(c["yellow"] for c in lights))
            # a counter decremented to nought stays in its hash (a rebuild never writes it): no row of noughts
            if row.open or row.urgent_open or row.received_today or row.handled_today or row.red or row.yellow:
                rows.append(row)
        return sorted(rows, key=lambda r: (-r.open, r.code))

    def _name(self, dim: str, value: str) -> str:
        return self.ctx.source_names.get(value, value) if dim == "source" else category_name(value)

    def _trend(self, series: list[int], now: float) -> Trend:
        """Received per hour, today against yesterday (``series``: 48 hours ending now)."""
        this_hour = datetime.fromtimestamp(now, BEIJING).hour
        return Trend(hours=list(range(24)), today=series[-(this_hour + 1):],
                     yesterday=series[-(this_hour + 25):-(this_hour + 1)])

    def _ticker(self, raw: Iterable[bytes], sc: Counted, now: float) -> list[TickerItem]:
        items = [orjson.loads(x) for x in raw]
        if sc.scope.level == "district":
            items = [i for i in items if i.get("d") == sc.scope.code]
        elif not sc.city:
            items = [i for i in items if sc.scope.code in (i.get("pl") or ())]
        names = self.ctx.source_names
        return [TickerItem(event_id=i["id"], case_id=i["case"], source=i["src"], source_name=names.get(i["src"],
                                                                                                        i["src"]),
                           category=i["cat"], priority=i["p"], occurred_at=int(epoch(i["t"]) * 1000),
                           district=i.get("d"), summary=i.get("sum") or "",
                           fresh=now - epoch(i["t"]) < FRESH_S)
                for i in items[:TICKER_SHOWN]]


def _by_area(fields: Mapping[str, int], areas: Sequence[Scope]) -> dict[str, dict[str, int]]:
    """Each area's own ``code|metric`` fields: its KPIs scan only them."""
    out: dict[str, dict[str, int]] = {a.code: {} for a in areas}
    for k, n in fields.items():
        code = k.split("|", 1)[0]
        if code in out:
            out[code][k] = n
    return out


def _fields(names: Sequence[str], values: Sequence[bytes | None]) -> dict[str, int]:
    return {n: int(v) for n, v in zip(names, values, strict=False) if v is not None}


@dataclass(slots=True)
class _Drawn:
    """A marker as last built: its stored record and its feature (None: a linked later report)."""
    stored: bytes
    feature: dict[str, Any] | None
    due: float | None = None
    warn: float | None = None
    reported: float = 0.0

    def holds(self, now: float) -> bool:
        """Whether the feature's time-dependent properties (light, fresh) are still right at ``now``."""
        if self.feature is None:
            return True
        p = self.feature["properties"]
        return bool(p["light"] == _light(self.due, self.warn, now) and p["fresh"] == (now - self.reported < FRESH_S))


class CaseMapBuilder:
    """Every open case's marker in each scope, from one read of the markers.

    A marker whose stored record and light are as last time is the same object as last time, so the
    change log's diff passes over it by identity: at 28 k markers a publish converts only what moved."""

    def __init__(self, ctx: LiveContext) -> None:
        self.ctx = ctx
        self._drawn: dict[bytes, _Drawn] = {}  # case id -> as last built

    def build(self, rnd: Round, scopes: Sequence[Scope]) -> dict[str, dict[str, Any]]:
        raw: dict[bytes, bytes] = self.ctx.r.hgetall(self.ctx.keys.markers)  # type: ignore[assignment]
        drawn: dict[bytes, _Drawn] = {}
        for cid, stored in raw.items():
            d = self._drawn.get(cid)
            drawn[cid] = d if d is not None and d.stored == stored and d.holds(rnd.now) else _draw(stored, rnd.now)
        self._drawn = drawn
        features = [d.feature for d in drawn.values() if d.feature is not None]
        return {sc.code: {**rnd.head("wall-map", sc.code), "reset": True, "removed": [],
                          "markers": [f for f in features
                                      if sc.level == "city" or f["properties"]["district"] == sc.code]}
                for sc in scopes}


def _draw(stored: bytes, now: float) -> _Drawn:
    m = orjson.loads(stored)
    if m.get("dup"):  # the later report of a linked incident: its first report stands for it
        return _Drawn(stored, None)
    return _Drawn(stored, marker_feature(m, now), m.get("due"), m.get("warn"), m["t"])


def _light(due: float | None, warn: float | None, now: float) -> str:
    return light(due, warn if warn is not None else due, now) if due is not None else "none"


def marker_feature(m: Mapping[str, Any], now: float) -> dict[str, Any]:
    """A stored marker (dashboard/live/state.py) as a :class:`CaseMarker` at ``now``."""
    due, warn = m.get("due"), m.get("warn")
    return {"type": "Feature", "id": m["id"], "geometry": {"type": "Point", "coordinates": [m["lon"], m["lat"]]},
            "properties": {
                "source": m["src"], "sources": m.get("srcs") or [m["src"]], "category": m["cat"],
                "priority": m["p"], "status": m["st"], "district": m.get("d"), "summary": m.get("sum") or "",
                "reported_at": int(m["t"] * 1000), "deadline": int(due * 1000) if due is not None else None,
                "stage": m.get("stage"), "light": _light(due, warn, now), "fresh": now - m["t"] < FRESH_S}}


def shade_by_open(open_: int, busiest: int) -> int:
    top = max(1, busiest)
    return 0 if open_ < top / 3 else 1 if open_ < 2 * top / 3 else 2


def shade_by_risk(red: int, open_: int) -> int:
    return 0 if not red else 1 if red / max(1, open_) < 0.05 else 2


def _overdue(clocks: Clocks, dim: str, value: str) -> dict[str, int]:
    return {stage: c["red"] for (stage, d, v), c in clocks.items() if d == dim and v == value}
