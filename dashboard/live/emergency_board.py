"""The emergency board's snapshot (``emergency``): typhoon, warnings, response level, mobilisation,
check-ins, shelters, boats, closures, tasks, gauges, incidents in the event window, and the map
layer (the storm's track, wind circles, forecast and landfalls, gauges, closures and vessels as
GeoJSON), with its model and its builder.

One read of the emergency picture (dashboard/live/emergency_state.py, shared by the round) serves every
scope; composing a scope is a pure function of what was read, "now" (the run's clock) and the
city's geography. Scope: the city or one district, named by adcode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from dashboard.contract.board import Acknowledgement, EpochMs, Model, PageHead, PointGeometry, Scope
from dashboard.live import charts
from dashboard.live.alerts import acknowledgement
from dashboard.live.counters import SUM_SCRIPT, category_name
from dashboard.live.emergency_state import COLOUR_RANK, DONE_STATUSES, Geo
from dashboard.live.publish import LiveContext, Round
from dashboard.live.state import hour_bucket
from dashboard.live.stormpath import approach, destination, expected_path, forecast_points, km

STORM_SHOWN_S = 24 * 3600  # a storm stays on the board this long after its last fix
STORM_NEAR_KM = 800  # closer than this, the storm concerns the city
STORM_VIEW_KM = 2000  # closer than this, the map takes the storm in
VIEW_EVERY_S = 6 * 3600  # the map's view follows the storm in steps of this much track, not every fix
FRESH_S = 6 * 3600  # gauge readings, vessel positions and mobilisation reports older than this are stale
WINDOW_AFTER_S = 24 * 3600  # the event window of a response stood down stays shown this long
WINDOW_HOURS_MAX = 48  # hourly buckets kept (dashboard/live/state.py HOUR_KEEP_S)
LIST_MAX = 12
MISSING_SHOWN = 30
CHIPS = 3  # warnings per district row
STRIP_MAX = 24  # response level changes on the strip
RING_STEP_DEG = 6  # a wind circle's outline: a point every this many degrees

Colour = Literal["blue", "yellow", "orange", "red"]
Level = Literal["I", "II", "III", "IV"]


# --- the model ----------------------------------------------------------------------------------

class StormFix(Model):
    at: EpochMs
    lat: float = Field(description="WGS-84 (as published; the map layer is in the tiles' datum)")
    lon: float
    category: int | None = Field(description="CMA intensity: 1 TD … 6 SuperTY, 9 extratropical, 0 weaker")
    wind_ms: float | None
    pressure_hpa: float | None
    wind_force: int | None = Field(description="Beaufort force near the centre")
    moving_towards: str | None = Field(description="16-point compass, as the track gives it")
    speed_kmh: float | None


class Landfall(Model):
    at: EpochMs
    lat: float | None
    lon: float | None
    place: str


class Storm(Model):
    id: str
    name_zh: str
    name_en: str
    latest: StormFix
    distance_km: int = Field(description="from the city's centre now")
    near: bool = Field(description="close enough to concern the city")
    other_storms: int
    landfalls: list[Landfall]
    forecast_points: int


class WindArrival(Model):
    at: EpochMs | None = Field(description="when the wind circle is expected to reach the district")
    inside: bool = Field(description="the district is inside it at the latest fix")


class WarningChip(Model):
    hazard: str
    colour: Colour | None
    colour_rank: int = Field(ge=0, le=4)
    headline: str
    issued_at: EpochMs
    effective_from: EpochMs
    expires_at: EpochMs | None


class DistrictRow(Model):
    code: str
    name: str
    selected: bool = Field(description="the district the board is showing")
    warning_rank: int = Field(ge=0, le=4, description="the highest warning colour in force: 0 none … 4 red")
    hazards: list[str]
    warnings: list[WarningChip] = Field(description="the warnings in force here, highest first (at most 3)")
    distance_km: int | None = Field(description="the storm's distance now (None without a storm)")
    closest_km: int | None
    closest_at: EpochMs | None
    passed: bool
    force7: WindArrival | None
    force10: WindArrival | None
    force12: WindArrival | None


class Warning(Model):
    id: str
    colour: Colour | None
    colour_rank: int
    hazard: str
    headline: str
    issued_at: EpochMs
    effective_from: EpochMs
    expires_at: EpochMs | None
    districts: list[str]


class ResponseStep(Model):
    at: EpochMs
    severity: int = Field(ge=0, le=4, description="0 stood down, 1 level IV … 4 level I")
    action: str | None


class StripSegment(Model):
    """A level held, as a share of the strip from the first change shown to now."""
    severity: int
    share_pct: float
    start: EpochMs
    end: EpochMs
    action: str | None


class Response(Model):
    level: Level | None
    severity: int
    active: bool
    action: str | None
    hazard: str | None
    name: str | None
    episode: str | None
    since: EpochMs
    episode_start: EpochMs
    peak: Level | None = Field(description="the highest level of the episode")
    history: list[ResponseStep]
    strip: list[StripSegment]


class Team(Model):
    type: str
    activated: int
    available: int
    persons: int


class Shelters(Model):
    opened: int
    capacity: int
    occupancy: int


class MobilisationArea(Model):
    code: str
    name: str
    deployed: int
    transferred: int
    shelters_open: int
    capacity: int | None
    occupancy: int
    reported_at: EpochMs | None
    stale: bool


class Mobilisation(Model):
    teams: list[Team]
    deployed: int
    transferred: int
    shelters: Shelters
    reports: int
    newest: EpochMs | None
    areas: list[MobilisationArea]


class GridClasses(Model):
    """A town's grids by people on duty: not checked in, under 5, under 10, 10 or more."""
    missing: int
    few: int
    some: int
    many: int


class CheckinArea(Model):
    code: str
    name: str
    grids: int
    checked_in: int
    on_duty: int
    grid_classes: GridClasses | None = Field(description="a district's board only")


class Checkins(Model):
    since: EpochMs | None = Field(description="check-ins count from the response's start (None: no response)")
    grids: int
    checked_in: int
    on_duty: int
    staff: int
    areas: list[CheckinArea]
    missing: list[str] = Field(description="grids not yet checked in (the first 30)")
    missing_count: int


class Boats(Model):
    total: int
    in_port: int
    at_sea: int
    returning: int


class Closure(Model):
    id: str
    district: str | None
    type: str
    name: str
    reason: str
    since: EpochMs
    status: str
    lat: float | None = Field(description="WGS-84")
    lon: float | None


class Closures(Model):
    active: int
    lifted: int
    items: list[Closure]
    by_type: dict[str, int]


class Task(Model):
    id: str
    district: str | None
    task: str
    assignee: str
    due: EpochMs | None
    since: EpochMs
    status: str


class Tasks(Model):
    open: int
    done: int
    items: list[Task]


class Gauge(Model):
    id: str
    name: str
    station_type: str | None = Field(description="ZZ/ZQ/RR… water level stations, PP rain gauges")
    district: str | None
    warning: Literal["warning", "guarantee"] = Field(description="above its warning or its guarantee level")
    water_level_m: float | None
    over_warning_m: float | None
    rain_10min_mm: float | None
    rain_today_mm: float | None
    lat: float | None = Field(description="WGS-84")
    lon: float | None


class Gauges(Model):
    stations: int
    over: int
    guarantee: int
    items: list[Gauge]


class CategoryCount(Model):
    category: str
    name: str
    count: int


class Incidents(Model):
    start: EpochMs
    end: EpochMs
    episode: bool = Field(description="True: since the response began; False: the last 24 hours")
    total: int
    by_category: list[CategoryCount]


class EmergencyCharts(Model):
    incidents: dict[charts.Lang, dict[str, Any]] = Field(description="a Plotly figure per language")


# the map layer: GeoJSON features, each with a ``kind``

class LineGeometry(Model):
    type: Literal["LineString"] = "LineString"
    coordinates: list[tuple[float, float]]


class PolygonGeometry(Model):
    type: Literal["Polygon"] = "Polygon"
    coordinates: list[list[tuple[float, float]]]


class TrackProps(Model):
    kind: Literal["track"] = "track"
    category: int | None


class FixProps(Model):
    kind: Literal["fix"] = "fix"
    at: EpochMs
    category: int | None
    wind_ms: float | None
    pressure_hpa: float | None


class CircleProps(Model):
    kind: Literal["wind-circle"] = "wind-circle"
    force: Literal[7, 10, 12]


class ForecastProps(Model):
    kind: Literal["forecast"] = "forecast"


class ForecastPointProps(Model):
    kind: Literal["forecast-point"] = "forecast-point"
    at: EpochMs
    category: int | None


class CentreProps(Model):
    kind: Literal["centre"] = "centre"
    category: int | None


class LandfallProps(Model):
    kind: Literal["landfall"] = "landfall"
    at: EpochMs
    place: str


class GaugeProps(Model):
    kind: Literal["gauge"] = "gauge"
    warning: Literal["warning", "guarantee"]
    name: str
    value: float | None = Field(description="water level (m), or rain in 10 minutes (mm) for a rain gauge")


class ClosureProps(Model):
    kind: Literal["closure"] = "closure"
    type: str
    name: str


class VesselProps(Model):
    kind: Literal["vessel"] = "vessel"
    returning: bool


FeatureProps = Annotated[TrackProps | FixProps | CircleProps | ForecastProps | ForecastPointProps | CentreProps
                         | LandfallProps | GaugeProps | ClosureProps | VesselProps, Field(discriminator="kind")]
Geometry = Annotated[PointGeometry | LineGeometry | PolygonGeometry, Field(discriminator="type")]


class MapFeature(Model):
    type: Literal["Feature"] = "Feature"
    geometry: Geometry
    properties: FeatureProps


class MapLayer(Model):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[MapFeature]


class EmergencySnapshot(PageHead):
    """Typhoon and emergency mobilisation for the city or one district."""
    snapshot: Literal["emergency"] = "emergency"
    storm: Storm | None
    districts: list[DistrictRow] = Field(description="every district of the city")
    warnings: list[Warning] = Field(description="warnings in force in this scope, highest first")
    response: Response | None
    mobilisation: Mobilisation
    checkins: Checkins
    boats: Boats
    closures: Closures
    tasks: Tasks
    gauges: Gauges
    incidents: Incidents
    charts: EmergencyCharts
    acknowledgements: list[Acknowledgement] = Field(description="newest first")
    map_layer: MapLayer = Field(description="what the map draws besides the boundaries (GeoJSON)")
    view_bounds: tuple[tuple[float, float], tuple[float, float]] = Field(
        description="[[south, west], [north, east]]: the city and, while a storm is within 2,000 km, the storm")
    storm_in_view: bool = Field(description="the view takes a storm in (district names give way at that zoom)")


# --- the builder --------------------------------------------------------------------------------

class EmergencyBuilder:
    def __init__(self, ctx: LiveContext) -> None:
        self.ctx, self.geo = ctx, ctx.geo
        self._sum = ctx.r.register_script(SUM_SCRIPT)

    def build(self, rnd: Round, scopes: Sequence[Scope]) -> dict[str, EmergencySnapshot]:
        city = CityWide.of(rnd, self.geo)
        incidents = self._incidents(rnd.response, [s.code for s in scopes], rnd.now)
        return {sc.code: EmergencySnapshot(**rnd.page_head("emergency", sc.code),
                                           **compose(city, rnd.picture, sc.code, rnd.now, self.geo, incidents[sc.code]))
                for sc in scopes}

    def _incidents(self, resp: Mapping[str, Any] | None, scopes: list[str], now: float) -> dict[str, Incidents]:
        """Cases received in the event window (since the response began; the last day without one),
        by category, for every scope, from the hourly counters (two sums inside Redis)."""
        if resp and (resp["active"] or now - resp["since"] < WINDOW_AFTER_S):
            start, end, episode = resp["episode_start"], now if resp["active"] else resp["since"], True
        else:
            start, end, episode = now - 24 * 3600, now, False
        first_hour = max(int(start // 3600), int(now // 3600) - WINDOW_HOURS_MAX + 1)
        hours = range(first_hour, int(end // 3600) + 1)
        counts: dict[str, Counter[str]] = {scope: Counter() for scope in scopes}
        keys = self.ctx.keys
        for dim in ("category", "dcat"):
            flat = self._sum(keys=[keys.agg("h", hour_bucket(h), dim) for h in hours], args=[""]) if hours else []
            for i in range(0, len(flat), 2):
                value, _, metric = bytes(flat[i]).decode().rpartition("|")
                if metric != "recv":
                    continue
                scope, _, cat = value.rpartition("/") if dim == "dcat" else (self.geo.city, "", value)
                if scope in counts:
                    counts[scope][cat] += int(flat[i + 1])
        return {scope: Incidents(start=first_hour * 3600 * 1000, end=int(end * 1000), episode=episode,
                                 total=sum(c.values()),
                                 by_category=[CategoryCount(category=k, name=category_name(k), count=n)
                                              for k, n in c.most_common() if n > 0])
                for scope, c in counts.items()}


# --- composing one scope (pure) ------------------------------------------------------------------

@dataclass(frozen=True)
class CityWide:
    """What every scope's snapshot shows alike, worked out once a round: the response, the warnings in
    force, the storm (its track, forecast, each district's distance and arrivals, its map features,
    the map's view) and the acknowledgements."""
    response: dict[str, Any] | None
    warnings: list[dict[str, Any]]
    storm: Storm | None
    districts: list[DistrictRow]  # none selected
    storm_features: list[MapFeature]
    view_bounds: tuple[tuple[float, float], tuple[float, float]]
    acknowledgements: list[Acknowledgement]

    @classmethod
    def of(cls, rnd: Round, geo: Geo) -> CityWide:
        t, now = rnd.picture, rnd.now
        storm, track, fc = current_storm(t["storm"], t["tracks"], now, geo)
        acks = sorted(t["acks"].values(), key=lambda a: -a.get("at", 0))[:LIST_MAX]
        return cls(response=rnd.response, warnings=rnd.warnings, storm=storm,
                   districts=district_rows(geo, rnd.warnings, storm, track, fc, None, now),
                   storm_features=storm_features(storm, track, fc), view_bounds=view_bounds(storm, track, fc, geo),
                   acknowledgements=[a for a in (acknowledgement(x) for x in acks) if a is not None])


def compose(city: CityWide, t: Mapping[str, Any], scope: str, now: float, geo: Geo,
            incidents: Incidents) -> dict[str, Any]:
    """The body of one scope's snapshot (everything but the page head)."""
    mine = [w for w in city.warnings if scope == geo.city or scope in w["districts"]]
    gauge = gauges(t["gauge"], scope, now, geo)
    closure = closures(t["closure"], scope, geo)
    cats = [(r.name, category_name(r.category, "en"), r.count) for r in incidents.by_category]
    return {
        "storm": city.storm,
        "districts": [d.model_copy(update={"selected": True}) if d.code == scope else d for d in city.districts],
        "warnings": [warning(w) for w in mine[:LIST_MAX * 2]],
        "response": response_model(city.response, now),
        "mobilisation": mobilisation(t["mobilise"], scope, now, geo),
        "checkins": checkins(t["checkin"], t["grids"], city.response, scope, geo),
        "boats": boats(t["vessel"], scope, now, geo),
        "closures": closure,
        "tasks": tasks(t["task"], scope, geo),
        "gauges": gauge,
        "incidents": incidents,
        "charts": EmergencyCharts(incidents=charts.categories(cats)),
        "acknowledgements": city.acknowledgements,
        "map_layer": MapLayer(features=city.storm_features + _marks(gauge, closure, at_sea(t["vessel"], scope, now,
                                                                                           geo))),
        "view_bounds": city.view_bounds,
        "storm_in_view": city.storm is not None and city.storm.distance_km < STORM_VIEW_KM,
    }


def _ms(t: float | None) -> int | None:
    return int(t * 1000) if t is not None else None


def current_storm(storms: Mapping[str, Mapping[str, Any]], tracks: Mapping[str, list[dict[str, Any]]],
                  now: float, geo: Geo) -> tuple[Storm | None, list[dict[str, Any]], list[list[Any]]]:
    """The storm nearest the city among those with a fix in the last day (its latest fix, landfalls
    and distance from the city), its track so far and its forecast points."""
    shown = []
    for sid, meta in storms.items():
        track = [f for f in tracks.get(sid, []) if f.get("lat") is not None and f["t"] <= now]
        if track and now - track[-1]["t"] <= STORM_SHOWN_S:
            last = track[-1]
            shown.append((km(last["lat"], last["lon"], *geo.centre), sid, meta, track))
    if not shown:
        return None, [], []
    shown.sort(key=lambda s: s[0])
    dist, sid, meta, track = shown[0]
    f = track[-1]
    fc = [p for p in forecast_points(meta) if p[1] is not None and p[2] is not None] if meta["t"] == f["t"] else []
    latest = StormFix(at=f["t"] * 1000, lat=f["lat"], lon=f["lon"], category=f.get("cat"), wind_ms=f.get("w"),
                      pressure_hpa=f.get("p"), wind_force=f.get("pw"), moving_towards=f.get("dir"),
                      speed_kmh=f.get("spd"))
    storm = Storm(id=sid, name_zh=meta.get("zh") or "", name_en=meta.get("en") or "", latest=latest,
                  distance_km=round(dist), near=dist <= STORM_NEAR_KM, other_storms=len(shown) - 1,
                  landfalls=[Landfall(at=x[0] * 1000, lat=x[1], lon=x[2], place=x[3]) for x in meta.get("land") or []],
                  forecast_points=len(fc))
    return storm, track, fc


def district_rows(geo: Geo, warnings: list[dict[str, Any]], storm: Storm | None, track: list[dict[str, Any]],
                  fc: list[list[Any]], scope: str | None, now: float) -> list[DistrictRow]:
    """Every district: its warnings in force, and the storm's distance and expected arrival."""
    latest = track[-1] if storm else None
    path = expected_path(latest, fc) if latest else []
    rows = []
    for code, name in geo.names.items():
        mine = [w for w in warnings if code in w["districts"]]
        row: dict[str, Any] = {
            "code": code, "name": name, "selected": scope == code,
            "warning_rank": max((w["rank"] for w in mine), default=0),
            "hazards": sorted({w.get("hz", "") for w in mine if w.get("hz")}),
            "warnings": [chip(w) for w in sorted(mine, key=lambda w: -w["rank"])[:CHIPS]],
            "distance_km": None, "closest_km": None, "closest_at": None, "passed": False,
            "force7": None, "force10": None, "force12": None}
        if latest:
            a = approach(path, latest, *geo.points[code], now=now)
            row.update(distance_km=a["km"], closest_km=a["closest_km"], closest_at=a["closest_at"] * 1000,
                       passed=a["passed"],
                       **{f"force{n}": WindArrival(at=_ms(a[f"eta_r{n}"]),
                                                   inside=a[f"eta_r{n}"] is not None and a[f"eta_r{n}"] <= latest["t"])
                          for n in (7, 10, 12)})
        rows.append(DistrictRow(**row))
    return rows


def chip(w: Mapping[str, Any]) -> WarningChip:
    return WarningChip(hazard=w.get("hz") or "", colour=_colour(w.get("c")), colour_rank=w["rank"],
                       headline=w.get("hl") or "", issued_at=w["t"] * 1000, effective_from=w["from"] * 1000,
                       expires_at=_ms(w.get("exp")))


def warning(w: Mapping[str, Any]) -> Warning:
    return Warning(id=w["id"], colour=_colour(w.get("c")), colour_rank=w["rank"], hazard=w.get("hz") or "",
                   headline=w.get("hl") or "", issued_at=w["t"] * 1000, effective_from=w["from"] * 1000,
                   expires_at=_ms(w.get("exp")), districts=w["districts"])


def _colour(c: Any) -> Colour | None:
    return c if c in COLOUR_RANK else None


def response_model(resp: Mapping[str, Any] | None, now: float) -> Response | None:
    """The response level in force, its history, and the strip of the levels held (shares of the time
    from the first change shown to now)."""
    if resp is None:
        return None
    history = resp["history"]
    shown = history[-STRIP_MAX:]
    start = shown[0][0]
    span = max(1.0, now - start)
    strip = []
    for i, (t, sev, act) in enumerate(shown):
        end = shown[i + 1][0] if i + 1 < len(shown) else now
        strip.append(StripSegment(severity=sev, share_pct=round(100 * max(0.0, end - t) / span, 2), start=t * 1000,
                                  end=int(end * 1000), action=act))
    return Response(level=resp["lvl"], severity=resp["sev"], active=resp["active"], action=resp.get("act"),
                    hazard=resp.get("hz"), name=resp.get("nm"), episode=resp.get("ep"), since=resp["since"] * 1000,
                    episode_start=resp["episode_start"] * 1000, peak=resp.get("peak"),
                    history=[ResponseStep(at=t * 1000, severity=sev, action=act) for t, sev, act in history],
                    strip=strip)


def mobilisation(reports: Mapping[str, Mapping[str, Any]], scope: str, now: float, geo: Geo) -> Mobilisation:
    """Teams activated against available by type, people deployed, shelters and people transferred,
    per district (city scope) or per town (district scope), from each district's newest report."""
    mine = {code: rep for code, rep in reports.items() if geo.in_scope(code, scope)}
    teams: dict[str, list[int]] = {}
    for rep in mine.values():
        for kind, on, free, persons in rep.get("teams", []):
            acc = teams.setdefault(kind, [0, 0, 0])
            acc[0], acc[1], acc[2] = acc[0] + on, acc[1] + free, acc[2] + persons
    sh = [sum(rep["sh"][i] for rep in mine.values()) for i in range(3)]
    if scope == geo.city:
        areas = [MobilisationArea(code=c, name=geo.names[c], deployed=r["dep"], transferred=r["tr"],
                                  shelters_open=r["sh"][0], capacity=r["sh"][1], occupancy=r["sh"][2],
                                  reported_at=r["t"] * 1000, stale=now - r["t"] > FRESH_S)
                 for c, r in sorted(mine.items()) if c in geo.names]
    else:
        rep = mine.get(scope, {})
        t = rep.get("t")
        areas = [MobilisationArea(code=code, name=geo.town_names.get(code, code), deployed=dep, transferred=tr,
                                  shelters_open=so, capacity=None, occupancy=occ, reported_at=_ms(t),
                                  stale=t is None or now - t > FRESH_S)
                 for code, dep, tr, so, occ in rep.get("towns", [])]
    return Mobilisation(
        teams=[Team(type=k, activated=v[0], available=v[1], persons=v[2]) for k, v in teams.items()],
        deployed=sum(r["dep"] for r in mine.values()), transferred=sum(r["tr"] for r in mine.values()),
        shelters=Shelters(opened=sh[0], capacity=sh[1], occupancy=sh[2]), reports=len(mine),
        newest=_ms(max((r["t"] for r in mine.values()), default=None)), areas=areas)


def grid_class(on_duty: int | None) -> str:
    """A grid by the people on duty there (None: not checked in)."""
    return "missing" if on_duty is None else "few" if on_duty < 5 else "some" if on_duty < 10 else "many"


def checkins(recs: Mapping[str, Mapping[str, Any]], grids: Mapping[str, str], resp: Mapping[str, Any] | None,
             scope: str, geo: Geo) -> Checkins:
    """Grids whose workers (and the departments sent to them) have reported for duty since the
    response began, against the grids known; per district or per town, and the grids still missing."""
    since = resp["episode_start"] if resp else None
    known = {g: town for g, town in grids.items() if geo.in_scope(town[:6], scope)}
    came = {g: r for g, r in recs.items() if since is not None and r["t"] >= since
            and geo.in_scope(str(r.get("d") or (r.get("town") or "")[:6]), scope)}
    for g, r in came.items():
        known.setdefault(g, str(r.get("town") or r.get("d") or ""))
    city = scope == geo.city

    def area_of(town: str) -> str:
        return town[:6] if city else town

    per: dict[str, list[int]] = {}
    classes: dict[str, Counter[str]] = {}
    for g, town in known.items():
        area = area_of(town)
        acc = per.setdefault(area, [0, 0, 0])
        acc[0] += 1
        if g in came:
            acc[1] += 1
            acc[2] += came[g].get("n", 0)
        classes.setdefault(area, Counter())[grid_class(came[g].get("n", 0) if g in came else None)] += 1
    names = geo.names if city else geo.town_names
    missing = sorted(g for g in known if g not in came)
    return Checkins(
        since=_ms(since), grids=len(known), checked_in=len(came), on_duty=sum(r.get("n", 0) for r in came.values()),
        staff=sum(r.get("s", 0) for r in came.values()),
        areas=[CheckinArea(code=a, name=names.get(a, a), grids=v[0], checked_in=v[1], on_duty=v[2],
                           grid_classes=None if city else GridClasses(**{k: classes[a][k] for k in
                                                                         ("missing", "few", "some", "many")}))
               for a, v in sorted(per.items())],
        missing=missing[:MISSING_SHOWN] if since is not None else [],
        missing_count=len(missing) if since is not None else 0)


def _fresh_vessels(vessels: Mapping[str, Mapping[str, Any]], scope: str, now: float,
                   geo: Geo) -> list[Mapping[str, Any]]:
    return [v for _, v in sorted(vessels.items()) if now - v["t"] <= FRESH_S and geo.in_scope(v.get("d"), scope)]


def boats(vessels: Mapping[str, Mapping[str, Any]], scope: str, now: float, geo: Geo) -> Boats:
    fresh = _fresh_vessels(vessels, scope, now, geo)
    sea = [v for v in fresh if not v.get("port")]
    return Boats(total=len(fresh), in_port=len(fresh) - len(sea), at_sea=len(sea),
                 returning=sum(1 for v in fresh if v.get("st") == "返港"))


def at_sea(vessels: Mapping[str, Mapping[str, Any]], scope: str, now: float, geo: Geo) -> list[Mapping[str, Any]]:
    """The vessels at sea with a position (what the map shows)."""
    return [v for v in _fresh_vessels(vessels, scope, now, geo) if not v.get("port") and v.get("lat") is not None]


def closures(recs: Mapping[str, Mapping[str, Any]], scope: str, geo: Geo) -> Closures:
    mine = [dict(r, id=k) for k, r in recs.items() if geo.in_scope(r.get("d"), scope)]
    active = sorted((r for r in mine if r["st"] not in DONE_STATUSES), key=lambda r: -r["from"])
    return Closures(active=len(active), lifted=len(mine) - len(active),
                    items=[Closure(id=r["id"], district=r.get("d"), type=r.get("type") or "", name=r.get("nm") or "",
                                   reason=r.get("why") or "", since=r["from"] * 1000, status=r["st"],
                                   lat=r.get("lat"), lon=r.get("lon"))
                           for r in active[:LIST_MAX]],
                    by_type=dict(Counter(r["type"] for r in active)))


def tasks(recs: Mapping[str, Mapping[str, Any]], scope: str, geo: Geo) -> Tasks:
    mine = [dict(r, id=k) for k, r in recs.items() if geo.in_scope(r.get("d"), scope)]
    open_ = sorted((r for r in mine if r["st"] not in DONE_STATUSES), key=lambda r: (r.get("due") or 1e12, r["from"]))
    return Tasks(open=len(open_), done=len(mine) - len(open_),
                 items=[Task(id=r["id"], district=r.get("d"), task=r.get("task") or "", assignee=r.get("who") or "",
                             due=_ms(r.get("due")), since=r["from"] * 1000, status=r["st"]) for r in open_[:LIST_MAX]])


def gauges(recs: Mapping[str, Mapping[str, Any]], scope: str, now: float, geo: Geo) -> Gauges:
    """Stations above their warning level (rain gauges: above the heavy-rain threshold), worst first."""
    fresh = [dict(r, id=k) for k, r in recs.items() if now - r["t"] <= FRESH_S and geo.in_scope(r.get("d"), scope)]
    over = [r for r in fresh if r.get("warn") in ("1", "2")]
    over.sort(key=lambda r: (-int(r["warn"]), -(r.get("over") or 0), r["id"]))
    return Gauges(stations=len(fresh), over=len(over), guarantee=sum(1 for r in over if r["warn"] == "2"),
                  items=[Gauge(id=r["id"], name=r.get("nm") or r["id"], station_type=r.get("tp"), district=r.get("d"),
                               warning="guarantee" if r["warn"] == "2" else "warning", water_level_m=r.get("z"),
                               over_warning_m=r.get("over"), rain_10min_mm=r.get("drp"), rain_today_mm=r.get("dyp"),
                               lat=r.get("lat"), lon=r.get("lon"))
                         for r in over[:LIST_MAX]])


# --- the map layer and view (pure) ---------------------------------------------------------------

def wind_circle(lat: float, lon: float, radii: Sequence[float | None]) -> list[tuple[float, float]]:
    """The outline of a wind circle from its four quadrants' radii (NE, SE, SW, NW; km), closed, as
    GeoJSON (lon, lat) positions."""
    pts = []
    for q in range(4):
        r = radii[q] or 0
        for a in range(q * 90, q * 90 + 91, RING_STEP_DEG):
            la, lo = destination(lat, lon, a, r) if r else (lat, lon)
            pts.append((round(lo, 4), round(la, 4)))
    return [*pts, pts[0]]


def _pt(lat: float, lon: float) -> PointGeometry:
    return PointGeometry(coordinates=(round(lon, 5), round(lat, 5)))


def storm_features(storm: Storm | None, track: list[dict[str, Any]], fc: list[list[Any]]) -> list[MapFeature]:
    """The storm on the map (track coloured by intensity, fixes, wind circles of the latest fix, the
    forecast, landfalls) as GeoJSON (WGS-84); a scope's map layer adds its gauges, closures, vessels."""
    feats: list[MapFeature] = []
    if storm is not None:
        for a, b in zip(track, track[1:], strict=False):
            feats.append(MapFeature(geometry=LineGeometry(coordinates=[(a["lon"], a["lat"]), (b["lon"], b["lat"])]),
                                    properties=TrackProps(category=b.get("cat"))))
        for f in track:
            feats.append(MapFeature(geometry=_pt(f["lat"], f["lon"]),
                                    properties=FixProps(at=f["t"] * 1000, category=f.get("cat"), wind_ms=f.get("w"),
                                                        pressure_hpa=f.get("p"))))
        last = track[-1]
        for force in (7, 10, 12):
            radii = last.get(f"r{force}")
            if radii:
                feats.append(MapFeature(geometry=PolygonGeometry(coordinates=[wind_circle(last["lat"], last["lon"],
                                                                                          radii)]),
                                        properties=CircleProps(force=force)))
        if fc:
            line = [(last["lon"], last["lat"]), *((p[2], p[1]) for p in fc)]
            feats.append(MapFeature(geometry=LineGeometry(coordinates=line), properties=ForecastProps()))
            feats += [MapFeature(geometry=_pt(p[1], p[2]), properties=ForecastPointProps(
                at=int(p[0]) * 1000, category=p[3] if len(p) > 3 else None)) for p in fc]
        feats.append(MapFeature(geometry=_pt(last["lat"], last["lon"]),
                                properties=CentreProps(category=last.get("cat"))))
        feats += [MapFeature(geometry=_pt(x.lat, x.lon), properties=LandfallProps(at=x.at, place=x.place))
                  for x in storm.landfalls if x.lat is not None and x.lon is not None]
    return feats


def _marks(gauge: Gauges, closure: Closures, vessels: list[Mapping[str, Any]]) -> list[MapFeature]:
    out = [MapFeature(geometry=_pt(g.lat, g.lon),
                      properties=GaugeProps(warning=g.warning, name=g.name,
                                            value=g.rain_10min_mm if g.station_type == "PP" else g.water_level_m))
           for g in gauge.items if g.lat is not None and g.lon is not None]
    out += [MapFeature(geometry=_pt(c.lat, c.lon), properties=ClosureProps(type=c.type, name=c.name))
            for c in closure.items if c.lat is not None and c.lon is not None]
    out += [MapFeature(geometry=_pt(v["lat"], v["lon"]), properties=VesselProps(returning=v.get("st") == "返港"))
            for v in vessels]
    return out


def view_bounds(storm: Storm | None, track: list[dict[str, Any]], fc: list[list[Any]],
                geo: Geo) -> tuple[tuple[float, float], tuple[float, float]]:
    """What the map shows: the city and, while a storm is within STORM_VIEW_KM, the storm with its
    gale circle and the next forecast points. The storm's part moves in steps (the fix that began the
    current VIEW_EVERY_S of track), so a wall nobody pans is not refitted at every fix."""
    (s, w), (n, e) = geo.bounds
    if storm is not None and storm.distance_km < STORM_VIEW_KM:
        block = track[-1]["t"] // VIEW_EVERY_S
        f = next(x for x in track if x["t"] // VIEW_EVERY_S == block)
        pts = [(f["lat"], f["lon"])]
        if f.get("r7"):
            pts += [destination(f["lat"], f["lon"], q * 90 + 45, f["r7"][q] or 0) for q in range(4)]
        if f is track[-1]:
            pts += [(p[1], p[2]) for p in fc[:2]]
        s, w = min(s, *(p[0] for p in pts)), min(w, *(p[1] for p in pts))
        n, e = max(n, *(p[0] for p in pts)), max(e, *(p[1] for p in pts))
    return (round(s, 4), round(w, 4)), (round(n, 4), round(e, 4))
