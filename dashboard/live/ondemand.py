"""What is read for one scope when someone asks: its figures at any level, its case list and one case's life.

The live workers publish snapshots for the city and its districts every round; the thousands of towns,
villages and grids get none. Their figures are built when asked, by the wall's builder from the same
incrementally kept counters (a few small hashes and sorted sets per place, whatever the history), and
cached for a couple of seconds so a roomful of tablets on one grid costs one build.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any, Literal

import orjson
from pydantic import Field

from dashboard.boards import WALL_FIGURES
from dashboard.contract.board import PUBLISHED, EpochMs, Model, Scope, Snapshot
from dashboard.contract.geo import Datum, from_wgs84
from dashboard.live.counters import category_name
from dashboard.live.places import Places
from dashboard.live.publish import LiveContext, Round
from dashboard.live.sla import light
from dashboard.live.state import DONE, Deriver
from dashboard.live.wall_board import WallBuilder

CACHE_S = 2.0  # a built snapshot is served this long (the wall's own round is 1-2 s)
PAGE_MAX = 200
MIDDLE_CASES = 2000  # a scope's newest open cases read to place its children on a map (a district has ~1,000)
Order = Literal["newest", "overdue"]


class PlaceRef(Model):
    code: str
    level: str
    name: str
    at: tuple[float, float] | None = Field(None, description=(
        "a place below the district (no polygons exist for it), as one of a scope's children: the median "
        "[lat, lon] of its located open cases among the scope's newest MIDDLE_CASES, in the tiles' datum"))


class PlaceInfo(Model):
    """A scope, where it lies (from the city down) and what lies in it."""
    scope: PlaceRef
    chain: list[PlaceRef] = Field(description="from the city down to the scope itself")
    children: list[PlaceRef]


class CaseItem(Model):
    case_id: str
    source: str
    source_name: str
    category: str
    category_name: str
    priority: int
    status: str
    reported_at: EpochMs
    updated_at: EpochMs
    summary: str = Field(description="masked at ingest")
    district: str | None
    town: str | None
    village: str | None
    grid: str | None
    lat: float | None = Field(description="where it was reported, in the tiles' datum (None: no location)")
    lon: float | None
    stage: str | None = Field(description="the running SLA clock due first (policy.stage)")
    due: EpochMs | None
    light: Literal["green", "yellow", "red"] | None
    linked: int = Field(description="reports of the same incident through other systems")


class CaseList(Model):
    scope: str
    order: Order
    total: int = Field(description="open cases in the scope")
    page: int
    size: int
    items: list[CaseItem]


class Step(Model):
    at: EpochMs
    status: str
    event_id: str
    satisfaction: str | None


class ClockRow(Model):
    policy: str
    stage: str
    label_zh: str
    label_en: str
    started: EpochMs
    deadline: EpochMs
    yellow_at: EpochMs
    stopped: EpochMs | None
    outcome: Literal["running", "met", "missed"]
    light: Literal["green", "yellow", "red"] | None = Field(description="while running")


class LinkedReport(Model):
    case_id: str
    source: str
    source_name: str
    reported_at: EpochMs
    status: str
    summary: str


class CaseLife(Model):
    case: CaseItem
    steps: list[Step]
    clocks: list[ClockRow]
    linked: list[LinkedReport] = Field(description="the same incident reported through other systems")
    first_report: str | None = Field(description="the earliest linked report, when this one came later")


def schemas() -> dict[str, Any]:
    """The JSON Schemas of what the places API answers (a place's figures are the wall's)."""
    return {"place": PlaceInfo.model_json_schema(), "case-list": CaseList.model_json_schema(),
            "case-life": CaseLife.model_json_schema()}


def _ms(t: float | None) -> int | None:
    return None if t is None else int(t * 1000)


class OnDemand:
    def __init__(self, ctx: LiveContext, cache_s: float = CACHE_S, datum: Datum = Datum.wgs84) -> None:
        self.ctx, self.r, self.keys = ctx, ctx.r, ctx.keys
        self.cache_s = cache_s
        self.datum = datum  # a case's location as the tiles draw it (the web's display datum)
        self.wall = WallBuilder(ctx)
        self.places: Places = self.wall.places
        self.deriver = Deriver(ctx.policies, ctx.keys)
        self.stages = self.wall.stages

    # --- places -------------------------------------------------------------------------------------

    def scope(self, code: str) -> Scope | None:
        return self.places.scope(code)

    def place(self, scope: Scope) -> PlaceInfo:
        def ref(s: Scope, at: tuple[float, float] | None = None) -> PlaceRef:
            return PlaceRef(code=s.code, level=s.level, name=s.name, at=at)
        kids = self.places.children(scope)
        at = self._middles(scope, kids[0].level) if kids and scope.level != "city" else {}
        return PlaceInfo(scope=ref(scope), chain=[ref(s) for s in self.places.chain(scope)],
                         children=[ref(s, at.get(s.code)) for s in kids])

    def _middles(self, scope: Scope, level: str) -> dict[str, tuple[float, float]]:
        """Where each child of ``scope`` (at ``level``) lies, for a map with no polygons below the district:
        the median location of its open cases, of the scope's newest MIDDLE_CASES (a bounded read)."""
        ids = [m.decode() for m in self.r.zrevrange(self.keys.open_cases(*self._dim(scope)), 0,  # type: ignore[union-attr]
                                                     MIDDLE_CASES - 1)]
        points: dict[str, list[tuple[float, float]]] = {}
        field = "adcode" if level == "district" else level
        for state in self._states(ids):
            cur = state["cur"] if state else {}
            if cur.get(field) and cur.get("lat") is not None and cur.get("lon") is not None:
                points.setdefault(cur[field], []).append((cur["lat"], cur["lon"]))
        out = {}
        for code, pts in points.items():
            out[code] = from_wgs84(median(p[0] for p in pts), median(p[1] for p in pts), self.datum)
        return out

    # --- figures ------------------------------------------------------------------------------------

    def snapshot_json(self, spec: Snapshot, scope: Scope) -> bytes:
        """A snapshot a board reads, for any place (what the push stream sends below the district)."""
        if spec.name != WALL_FIGURES.name:
            raise ValueError(f"snapshot {spec.name} is not built on demand")
        return self.wall_json(scope)

    def wall_json(self, scope: Scope, now: float | None = None) -> bytes:
        """The wall's figures for ``scope`` as JSON (the same schema as a district's): the city's and a
        district's as the workers publish them every round, any other built and cached briefly
        (``now`` given: built at that instant, no cache)."""
        if now is None and scope.level in PUBLISHED:
            published = self.r.get(self.keys.snapshot(WALL_FIGURES.name, scope.code))
            if published is not None:
                return published  # type: ignore[return-value]
        key = self.keys.scope_cache(WALL_FIGURES.name, scope.code)
        if now is None and (cached := self.r.get(key)) is not None:
            return cached  # type: ignore[return-value]
        rnd = Round(self.ctx, self.ctx.clock.now() if now is None else now)
        body = self.wall.build_one(rnd, scope).model_dump_json().encode()
        if now is None:
            self.r.set(key, body, px=int(self.cache_s * 1000))
        return body

    # --- case lists ---------------------------------------------------------------------------------

    def _dim(self, scope: Scope) -> tuple[str, str]:
        return ("all", "*") if scope.level == "city" else (scope.level, scope.code)

    def cases(self, scope: Scope, order: Order = "newest", page: int = 0, size: int = 50,
              now: float | None = None) -> CaseList:
        """The scope's open cases, newest reported first or most overdue first (earliest running
        deadline first; cases with no clock running after them, newest first), one page."""
        now = self.ctx.clock.now() if now is None else now
        size = max(1, min(size, PAGE_MAX))
        page = max(0, page)
        listed = self.keys.open_cases(*self._dim(scope))
        total = int(self.r.zcard(listed))
        lo, hi = page * size, page * size + size - 1
        if order == "newest":
            ids = [m.decode() for m in self.r.zrevrange(listed, lo, hi)]  # type: ignore[union-attr]
        else:
            dim, value = self._dim(scope)
            dues = [self.keys.due(stage, dim, value) for stage in self.stages]
            by_due: Any = self.r.zunion(dues, aggregate="MIN", withscores=True)
            ranked = [m.decode() for m, _ in sorted(by_due, key=lambda x: (x[1], x[0]))]
            seen = set(ranked)
            if hi >= len(ranked):
                rest: Any = self.r.zrevrange(listed, 0, -1)
                ranked += [m.decode() for m in rest if m.decode() not in seen]
            ids = ranked[lo:hi + 1]
        states = self._states(ids)
        return CaseList(scope=scope.code, order=order, total=total, page=page, size=size,
                        items=[self._item(s, now) for s in states if s is not None])

    def _states(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        if not ids:
            return []
        raw = self.r.mget([self.keys.case(c) for c in ids])
        return [None if v is None else orjson.loads(v) for v in raw]

    def _item(self, state: dict[str, Any], now: float) -> CaseItem:
        cur = state["cur"]
        running = [c for c in self.deriver.clocks(state) if c.stopped is None]
        finished = cur["status"] in DONE or cur["status"] == "cancelled"
        first = None if finished else min(running, key=lambda c: c.deadline, default=None)
        names = self.ctx.source_names
        lat, lon = cur.get("lat"), cur.get("lon")
        if lat is not None and lon is not None:
            lat, lon = from_wgs84(lat, lon, self.datum)
        return CaseItem(
            case_id=state["id"], source=state["src"], source_name=names.get(state["src"], state["src"]),
            category=cur["category"], category_name=category_name(cur["category"]), priority=cur["priority"],
            status=cur["status"], reported_at=int(state["rep"] * 1000), updated_at=int(state["v"][0] * 1000),
            summary=cur.get("summary") or "", district=cur.get("adcode"), town=cur.get("town"),
            village=cur.get("village"), grid=cur.get("grid"), lat=lat, lon=lon,
            stage=f"{first.policy}.{first.stage}" if first else None, due=_ms(first.deadline) if first else None,
            light=light(first.deadline, first.yellow_at, now) if first else None,
            linked=len(state["links"]))

    # --- one case -----------------------------------------------------------------------------------

    def case(self, case_id: str, now: float | None = None) -> CaseLife | None:
        """One case's whole life: its steps, each SLA clock with its deadline and outcome, and the
        reports of the same incident through other systems."""
        now = self.ctx.clock.now() if now is None else now
        state = self._states([case_id])
        if not state or state[0] is None:
            return None
        s = state[0]
        finished = s["cur"]["status"] in DONE or s["cur"]["status"] == "cancelled"
        clocks = []
        for c in self.deriver.clocks(s):
            if c.stopped is not None:
                outcome = "met" if c.stopped <= c.deadline else "missed"
            else:
                outcome = "missed" if finished and now > c.deadline else "running"
            clocks.append(ClockRow(policy=c.policy, stage=c.stage, label_zh=c.label_zh, label_en=c.label_en,
                                   started=int(c.start * 1000), deadline=int(c.deadline * 1000),
                                   yellow_at=int(c.yellow_at * 1000), stopped=_ms(c.stopped),
                                   outcome=outcome,
                                   light=light(c.deadline, c.yellow_at, now) if outcome == "running" else None))
        names = self.ctx.source_names
        linked = [LinkedReport(case_id=o["id"], source=o["src"], source_name=names.get(o["src"], o["src"]),
                               reported_at=int(o["rep"] * 1000), status=o["cur"]["status"],
                               summary=o["cur"].get("summary") or "")
                  for o in self._states(s["links"]) if o is not None]
        return CaseLife(case=self._item(s, now),
                        steps=[Step(at=int(t * 1000), status=st, event_id=eid, satisfaction=sat)
                               for t, st, eid, sat in s["h"]],
                        clocks=clocks, linked=sorted(linked, key=lambda x: (x.reported_at, x.case_id)),
                        first_report=s["dup"][1] if s["dup"] else None)
