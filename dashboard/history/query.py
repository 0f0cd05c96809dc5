"""Questions over the case facts: counts, KPIs and series by time bucket and dimension, and paged case
lists, each within one place's scope (the caller's, checked by the web guard before it gets here).

KPIs are :func:`dashboard.live.kpi.kpis` over counts named as the live state names them
(``{value}|recv``, ``{value}|stop:hotline.sign`` …), so the same rate over the same window is the
same figure on the wall and over the archive. A window's open clocks past their deadline are those
with a deadline before the window's end that were still running at its end (stopped after it, or not
yet). Times are epoch milliseconds; buckets are Beijing hours, days, weeks (Monday) and months.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field, ValidationError, model_validator

from dashboard.contract.board import EpochMs, Model
from dashboard.contract.event import BEIJING, validation_reason
from dashboard.history.facts import case_facts, case_reopens, case_stages
from dashboard.live import kpi
from dashboard.live.archive import read_connection
from dashboard.live.kpi import Kpis
from dashboard.live.state import SATISFIED

Level = Literal["city", "district", "town", "village", "grid"]
Dim = Literal["district", "town", "village", "grid", "source", "category", "department", "priority", "phase", "sla"]
Bucket = Literal["hour", "day", "week", "month"]
Measure = Literal["received", "handled"]
Order = Literal["newest", "oldest", "slowest"]
DIMS: tuple[str, ...] = Dim.__args__  # type: ignore[attr-defined]
HOUR_MS, DAY_MS, BJ_MS = 3_600_000, 86_400_000, 8 * 3_600_000
MAX_SPAN_DAYS = 400  # one query reads at most this much history
MAX_VALUES = 500  # values of a dimension reported (the largest first)
MAX_PAGE = 200
F = case_facts.c


class Filter(Model):
    """Which cases: received (or handled) in [start, end), and any of the values given per dimension."""
    start: EpochMs
    end: EpochMs
    on: Measure = Field("received", description="the time the window applies to")
    district: list[str] = []
    town: list[str] = []
    village: list[str] = []
    grid: list[str] = []
    source: list[str] = []
    category: list[str] = []
    department: list[str] = []
    priority: list[int] = []
    phase: list[Literal["open", "done", "cancelled"]] = []
    sla: list[Literal["late", "running", "on_time", "none"]] = []

    @model_validator(mode="after")
    def _window(self) -> Filter:
        if self.end <= self.start:
            raise ValueError("end must come after start")
        if self.end - self.start > MAX_SPAN_DAYS * DAY_MS:
            raise ValueError(f"a window of at most {MAX_SPAN_DAYS} days")
        return self


class Count(Model):
    value: str
    n: int


class Series(Model):
    value: str = Field(description="the dimension's value, or * without one")
    counts: list[int] = Field(description="one per bucket")


class SeriesResult(Model):
    bucket: Bucket
    measure: Measure
    by: str | None
    buckets: list[EpochMs] = Field(description="each bucket's start")
    series: list[Series]


class KpiRow(Model):
    value: str
    kpis: Kpis


class FactItem(Model):
    case_id: str
    source: str
    category: str
    priority: int
    status: str
    phase: str
    sla: str
    district: str | None
    town: str | None
    village: str | None
    grid: str | None
    department: str | None
    summary: str
    received_at: EpochMs
    signed_at: EpochMs | None
    handled_at: EpochMs | None
    rated_at: EpochMs | None
    rating: str | None
    sent_back: int
    linked: str | None


class FactPage(Model):
    total: int
    page: int
    size: int
    order: Order
    items: list[FactItem]


class Reader:
    """Read-only queries over the facts of one archive (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- the building blocks ---------------------------------------------------------------------

    def _where(self, level: Level, code: str, f: Filter, time_col: sa.ColumnElement[Any] | None = None,
               start: int | None = None, end: int | None = None,
               cols: Any = F) -> list[sa.ColumnElement[bool]]:
        """The scope, the filter's values and a window on ``time_col`` (default: the filter's own), on
        the facts' columns or a child table's (which carry the same dimensions)."""
        out = self._scoped(level, code, f, cols)
        col = time_col if time_col is not None else (F.handled_at if f.on == "handled" else F.received_at)
        out += [col >= (f.start if start is None else start), col < (f.end if end is None else end)]
        return out

    def where(self, level: Level, code: str, f: Filter) -> list[sa.ColumnElement[bool]]:
        """The conditions every question asks of the facts: the scope, the filter's values and its window
        (an export reads the cases with the same ones, dashboard/history/export.py)."""
        return self._where(level, code, f)

    @staticmethod
    def _scoped(level: Level, code: str, f: Filter, cols: Any = F) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if level != "city":
            out.append(cols[level] == code)
        for dim in DIMS:  # each dimension is also a filter (any of the values given)
            values = getattr(f, dim)
            if values:
                out.append(cols[dim].in_(values))
        return out

    def _rows(self, stmt: sa.Select[Any]) -> list[tuple[Any, ...]]:
        with read_connection(self.engine) as con:
            return [tuple(row) for row in con.execute(stmt)]

    # --- the questions -------------------------------------------------------------------------

    def counts(self, level: Level, code: str, f: Filter, by: Dim) -> list[Count]:
        """Cases per value of ``by``, the largest first."""
        col = F[by]
        n = sa.func.count().label("n")
        rows = self._rows(sa.select(col, n).where(*self._where(level, code, f)).group_by(col)
                          .order_by(n.desc(), col).limit(MAX_VALUES))
        return [Count(value=str(v) if v is not None else "", n=int(k)) for v, k in rows]

    def series(self, level: Level, code: str, f: Filter, bucket: Bucket, by: Dim | None = None) -> SeriesResult:
        """Cases per bucket (per value of ``by``: its largest 20), received or handled in the window."""
        time_col = F.handled_at if f.on == "handled" else F.received_at
        day = (time_col + BJ_MS) // DAY_MS
        key = {"hour": time_col // HOUR_MS, "day": day, "week": (day + 3) // 7, "month": day}[bucket].label("b")
        group = F[by] if by else sa.literal("*")
        rows = self._rows(sa.select(group.label("v"), key, sa.func.count().label("n"))
                          .where(*self._where(level, code, f)).group_by(group, key) if by else
                          sa.select(sa.literal("*").label("v"), key, sa.func.count().label("n"))
                          .where(*self._where(level, code, f)).group_by(key))
        starts = _buckets(bucket, f.start, f.end)
        index = {b: i for i, b in enumerate(starts)}
        totals: Counter[str] = Counter()
        grid: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
        for v, b, n in rows:
            start = _bucket_start(bucket, int(b))
            i = index.get(start)
            if i is None:
                continue
            name = "" if v is None else str(v)
            grid[name][i] += int(n)
            totals[name] += int(n)
        top = [v for v, _ in totals.most_common(20)] if by else ["*"]
        return SeriesResult(bucket=bucket, measure=f.on, by=by, buckets=starts,
                            series=[Series(value=v, counts=grid[v] if v in grid else [0] * len(starts)) for v in top])

    def kpis(self, level: Level, code: str, f: Filter, by: Dim | None = None) -> list[KpiRow]:
        """The KPIs of the window [start, end) — per value of ``by``, or of the scope as a whole. Each count
        is over its own time (received, handled, rated, a clock's stop, a reopen); ``f.on`` is not used."""
        counts: Counter[str] = Counter()
        overdue: dict[str, Counter[str]] = defaultdict(Counter)
        e = f.end

        def n_if(*cond: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
            return sa.func.sum(sa.case((sa.and_(*cond), 1), else_=0))

        def group(cols: Any) -> sa.ColumnElement[Any]:
            return (cols[by] if by else sa.literal("*")).label("v")

        # the case counts: one indexed range per time they count at (received, handled, rated)
        g = group(F)
        passes: list[tuple[sa.ColumnElement[Any], dict[str, sa.ColumnElement[Any]]]] = [
            (F.received_at, {"recv": sa.func.count(), "done_c": n_if(F.phase == "done"),
                             "cancel_c": n_if(F.phase == "cancelled")}),
            (F.handled_at, {"done": sa.func.count()}),
            (F.rated_at, {"rated": n_if(F.rating.is_not(None), F.rating != ""),
                          "satisfied": n_if(F.rating.in_(sorted(SATISFIED)))}),
        ]
        for col, metrics in passes:
            stmt = (sa.select(g, *(m.label(k) for k, m in metrics.items()))
                    .where(*self._where(level, code, f, col)).group_by(g))
            for v, *ns in self._rows(stmt):
                for metric, n in zip(metrics, ns, strict=True):
                    counts[f"{_name(v)}|{metric}"] += int(n or 0)
        R, S = case_reopens.c, case_stages.c
        gr = group(R)
        for v, n in self._rows(sa.select(gr, sa.func.count()).where(*self._where(level, code, f, R.at, cols=R))
                               .group_by(gr)):
            counts[f"{_name(v)}|redo"] += int(n)
        gs = group(S)
        stopped = (sa.select(gs, S.stage, S.outcome, sa.func.count())
                   .where(*self._where(level, code, f, S.stopped, cols=S)).group_by(gs, S.stage, S.outcome))
        for v, stage, outcome, n in self._rows(stopped):
            counts[f"{_name(v)}|stop:{stage}"] += int(n)
            if outcome == "on_time":
                counts[f"{_name(v)}|ot:{stage}"] += int(n)
        # open at the window's end and past their deadline: running now, or stopped after the end (two
        # indexed ranges rather than one OR, which SQLite answers with a scan of every clock)
        for still_open in ((S.outcome == "open",), (S.stopped >= e,)):
            late = (sa.select(gs, S.stage, sa.func.count())
                    .where(*self._scoped(level, code, f, S), S.deadline < e, *still_open).group_by(gs, S.stage))
            for v, stage, n in self._rows(late):
                overdue[_name(v)][stage] += int(n)
        values = sorted({k.split("|", 1)[0] for k in counts} | set(overdue)) if by else ["*"]
        return [KpiRow(value=v, kpis=kpi.kpis(counts, v, overdue.get(v, {}))) for v in values[:MAX_VALUES]]

    def cases(self, level: Level, code: str, f: Filter, order: Order = "newest", page: int = 0,
              size: int = 50) -> FactPage:
        """The cases themselves, a page at a time."""
        size = max(1, min(size, MAX_PAGE))
        page = max(0, page)
        where = self._where(level, code, f)
        sort = {"newest": (F.received_at.desc(), F.case_id.desc()), "oldest": (F.received_at, F.case_id),
                "slowest": ((sa.func.coalesce(F.handled_at, f.end) - F.received_at).desc(), F.case_id)}[order]
        cols = [F[name] for name in FactItem.model_fields]
        with read_connection(self.engine) as con:
            total = int(con.scalar(sa.select(sa.func.count()).select_from(case_facts).where(*where)) or 0)
            rows = con.execute(sa.select(*cols).where(*where).order_by(*sort).offset(page * size).limit(size))
            items = [FactItem.model_validate(row._asdict()) for row in rows]
        return FactPage(total=total, page=page, size=size, order=order, items=items)


def schemas() -> dict[str, Any]:
    """The JSON Schemas of what the history API answers."""
    from pydantic import TypeAdapter

    return {"history-counts": TypeAdapter(list[Count]).json_schema(),
            "history-kpis": TypeAdapter(list[KpiRow]).json_schema(),
            "history-series": SeriesResult.model_json_schema(), "history-cases": FactPage.model_json_schema()}


def _name(v: Any) -> str:
    return "" if v is None else str(v)


def _bucket_start(bucket: Bucket, b: int) -> int:
    """The start (epoch ms) of a bucket the SQL numbered: hours and days since the epoch (days in
    Beijing), Monday weeks; a month is keyed by its days and starts on its first."""
    if bucket == "hour":
        return b * HOUR_MS
    if bucket == "week":
        return (b * 7 - 3) * DAY_MS - BJ_MS
    day = b * DAY_MS - BJ_MS
    if bucket == "day":
        return day
    first = datetime.fromtimestamp(day / 1000, BEIJING).replace(day=1)
    return int(first.timestamp() * 1000)


def _buckets(bucket: Bucket, start: int, end: int) -> list[int]:
    """Every bucket's start from the one holding ``start`` to the one holding ``end - 1``."""
    out: list[int] = []
    t = start
    while t < end:
        if bucket == "hour":
            b = _bucket_start(bucket, t // HOUR_MS)
        else:
            day = (t + BJ_MS) // DAY_MS
            b = _bucket_start(bucket, (day + 3) // 7 if bucket == "week" else day)
        if not out or out[-1] != b:
            out.append(b)
        t = _next(bucket, b)
    return out


def _next(bucket: Bucket, b: int) -> int:
    if bucket == "hour":
        return b + HOUR_MS
    if bucket == "day":
        return b + DAY_MS
    if bucket == "week":
        return b + 7 * DAY_MS
    d = datetime.fromtimestamp(b / 1000, BEIJING)
    nxt = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return int(nxt.timestamp() * 1000)


def parse_time(raw: str) -> int:
    """Epoch milliseconds from what a caller may write: epoch ms, an ISO date (its Beijing midnight) or
    an ISO date and time (Beijing time unless it carries an offset)."""
    raw = raw.strip()
    if not raw:
        raise ValueError("start and end: required (epoch ms, 2026-12-01 or 2026-12-01T08:00)")
    if raw.isdigit():
        return int(raw)
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not a time: {raw[:40]!r} (epoch ms, 2026-12-01 or 2026-12-01T08:00)") from None
    return int((t if t.tzinfo else t.replace(tzinfo=BEIJING)).timestamp() * 1000)


def reason(exc: Exception) -> str:
    return validation_reason(exc) if isinstance(exc, ValidationError) else str(exc)


def window_filter(start: datetime, end: datetime, **values: Sequence[Any]) -> Filter:
    return Filter(start=int(start.timestamp() * 1000), end=int(end.timestamp() * 1000), **values)
