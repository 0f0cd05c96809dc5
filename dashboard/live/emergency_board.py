"""The emergency board's snapshot: typhoon, warnings, response level, mobilisation, check-ins,
shelters, boats, closures, tasks, gauges, incidents in the event window, and the red alert.

One read of the emergency picture (dashboard/live/emergency.py) serves every scope; composing a
scope is a pure function of what was read, "now" (the run's clock) and the city's geography.
Scope ``city`` or one district's adcode, as for the wall.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis

from dashboard.live import alerts
from dashboard.live.emergency import COLOUR_RANK, DONE_STATUSES, ROMAN, EmergencyStore
from dashboard.live.snapshot import SUM_SCRIPT, category_name
from dashboard.live.state import hour_bucket
from dashboard.live.stormpath import approach, expected_path, forecast_points, km
from feeds.clock import Clock
from feeds.geo import districts, label_point, towns
from feeds.keys import Keys

STORM_SHOWN_S = 24 * 3600  # a storm stays on the board this long after its last fix
STORM_NEAR_KM = 800  # closer than this, the storm concerns the city
FRESH_S = 6 * 3600  # gauge readings, vessel positions and mobilisation reports older than this are stale
WINDOW_AFTER_S = 24 * 3600  # the event window of a response stood down stays shown this long
WINDOW_HOURS_MAX = 48  # hourly buckets kept (dashboard/live/state.py HOUR_KEEP_S)
LIST_MAX = 12
MISSING_SHOWN = 30


@dataclass(frozen=True)
class Geo:
    """The city's districts (label points for distances) and towns, built once."""
    city: str
    names: dict[str, str]
    points: dict[str, tuple[float, float]]
    town_names: dict[str, str]
    centre: tuple[float, float]

    @classmethod
    @cache
    def of(cls, city: str) -> Geo:
        ds = districts(city)
        points = {d.adcode: label_point(d) for d in ds}
        lat = sum(p[0] for p in points.values()) / len(points)
        lon = sum(p[1] for p in points.values()) / len(points)
        return cls(city, {d.adcode: d.name for d in ds}, points, {t.code: t.name for t in towns(city)}, (lat, lon))

    def in_scope(self, adcode: str | None, scope: str) -> bool:
        return bool(adcode) and (scope == "city" or adcode == scope)


class EmergencyBoard:
    def __init__(self, r: redis.Redis, keys: Keys, city: str, clock: Clock | None = None) -> None:
        self.r, self.keys, self.geo = r, keys, Geo.of(city)
        self.clock = clock or Clock()
        self.store = EmergencyStore(r, keys)
        self._sum = r.register_script(SUM_SCRIPT)

    def build_all(self, scopes: Iterable[str], now: float | None = None,
                  feeds: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
        now = self.clock.now() if now is None else now
        scopes = list(scopes)
        tables = self.store.read()
        version = int(self.r.get(self.keys.version) or 0)
        newest: list[tuple[bytes, float]] = self.r.zrange(self.keys.newest, 0, -1, withscores=True)  # type: ignore[assignment]
        data_as_of = int(max((s for _, s in newest), default=0)) or None
        incidents = self._incidents(tables, scopes, now)
        out = {}
        for scope in scopes:
            snap = compose(tables, scope, now, self.geo, incidents[scope])
            snap.update(version=version, clock=self.clock.describe(), data_as_of=data_as_of, feeds=feeds or [])
            out[scope] = snap
        return out

    def _incidents(self, tables: Mapping[str, Any], scopes: list[str], now: float) -> dict[str, dict[str, Any]]:
        """Cases received in the event window (since the response began; the last day without one),
        by category, for every scope, from the hourly counters (two sums inside Redis)."""
        resp = response(tables["levels"], now)
        if resp and (resp["active"] or now - resp["since"] < WINDOW_AFTER_S):
            start, end, episode = resp["episode_start"], now if resp["active"] else resp["since"], True
        else:
            start, end, episode = now - 24 * 3600, now, False
        first_hour = max(int(start // 3600), int(now // 3600) - WINDOW_HOURS_MAX + 1)
        hours = range(first_hour, int(end // 3600) + 1)
        counts: dict[str, Counter[str]] = {scope: Counter() for scope in scopes}
        for dim in ("category", "dcat"):
            flat = self._sum(keys=[self.keys.agg("h", hour_bucket(h), dim) for h in hours], args=[""]) if hours else []
            for i in range(0, len(flat), 2):
                value, _, metric = bytes(flat[i]).decode().rpartition("|")
                if metric != "recv":
                    continue
                scope, _, cat = value.rpartition("/") if dim == "dcat" else ("city", "", value)
                if scope in counts:
                    counts[scope][cat] += int(flat[i + 1])
        def rows(c: Counter[str]) -> list[dict[str, Any]]:
            return [{"cat": k, "name": category_name(k), "n": n} for k, n in c.most_common() if n > 0]

        return {scope: {"from": first_hour * 3600, "to": int(end), "episode": episode, "total": sum(c.values()),
                        "by_category": rows(c)} for scope, c in counts.items()}


# --- composing one scope (pure) ------------------------------------------------------------------

def compose(t: Mapping[str, Any], scope: str, now: float, geo: Geo, incidents: dict[str, Any]) -> dict[str, Any]:
    resp = response(t["levels"], now)
    warnings = active_warnings(t["warning"].values(), now, geo)
    mine = [w for w in warnings if scope == "city" or scope in w["districts"]]
    found = alerts.items(mine, resp, t["acks"], geo.names)
    storm = current_storm(t["storm"], t["tracks"], now, geo)
    return {
        "board": "emergency", "scope": scope, "as_of": int(now * 1000),
        "storm": storm,
        "districts": district_rows(geo, warnings, storm, scope, now),
        "warnings": mine[:LIST_MAX * 2],
        "response": resp,
        "mobilisation": mobilisation(t["mobilise"], scope, now, geo),
        "checkins": checkins(t["checkin"], t["grids"], resp, scope, geo),
        "boats": boats(t["vessel"], scope, now, geo),
        "closures": closures(t["closure"], scope, geo),
        "tasks": tasks(t["task"], scope, geo),
        "gauges": gauges(t["gauge"], scope, now, geo),
        "incidents": incidents,
        "alert": alerts.alert(found),
        "acks": sorted(t["acks"].values(), key=lambda a: -a.get("at", 0))[:LIST_MAX],
    }


def response(levels: list[dict[str, Any]], now: float) -> dict[str, Any] | None:
    """The response level in force (or the last one stood down), since when, and its episode."""
    past = sorted((x for x in levels if x["t"] <= now), key=lambda x: (x["t"], x.get("sev", 0)))
    if not past:
        return None
    cur = past[-1]
    episode = [x for x in past if x.get("ep") == cur.get("ep")]
    return {"lvl": cur.get("lvl"), "sev": cur.get("sev", 0), "active": cur.get("sev", 0) > 0,
            "act": cur.get("act"), "hz": cur.get("hz"), "nm": cur.get("nm"), "ep": cur.get("ep"),
            "since": cur["t"], "episode_start": episode[0]["t"],
            "peak": ROMAN.get(max(x.get("sev", 0) for x in episode)),
            "history": [[x["t"], x.get("sev", 0), x.get("act")] for x in past[-40:]]}


def active_warnings(warnings: Iterable[Mapping[str, Any]], now: float, geo: Geo) -> list[dict[str, Any]]:
    """Warnings in force (status Actual, not cancelled, not expired) for the city's districts,
    most severe first. A warning for the whole city covers every district."""
    out = []
    for w in warnings:
        if w.get("cap") != "Actual" or w.get("mt") == "Cancel" or w.get("st") == "cancelled":
            continue
        if w.get("exp") is not None and w["exp"] <= now:
            continue
        areas = set(w.get("areas") or [])
        covered = sorted(geo.names) if geo.city in areas else sorted(a for a in areas if a in geo.names)
        if covered:
            out.append({**w, "districts": covered, "rank": COLOUR_RANK.get(str(w.get("c")), 0)})
    return sorted(out, key=lambda w: (-w["rank"], w["districts"][0], -w["t"]))


def current_storm(storms: Mapping[str, Mapping[str, Any]], tracks: Mapping[str, list[dict[str, Any]]],
                  now: float, geo: Geo) -> dict[str, Any] | None:
    """The storm nearest the city among those with a fix in the last day: its track, latest fix,
    forecast and landfalls, and its distance from the city."""
    shown = []
    for sid, meta in storms.items():
        track = [f for f in tracks.get(sid, []) if f.get("lat") is not None and f["t"] <= now]
        if track and now - track[-1]["t"] <= STORM_SHOWN_S:
            last = track[-1]
            shown.append((km(last["lat"], last["lon"], *geo.centre), sid, meta, track))
    if not shown:
        return None
    shown.sort(key=lambda s: s[0])
    dist, sid, meta, track = shown[0]
    latest = track[-1]
    fc = forecast_points(meta) if meta["t"] == latest["t"] else []
    return {"id": sid, "zh": meta.get("zh"), "en": meta.get("en"), "km": round(dist), "near": dist <= STORM_NEAR_KM,
            "latest": latest,
            "track": [[f["t"], f["lat"], f["lon"], f.get("cat"), f.get("w"), f.get("p")] for f in track],
            "forecast": fc, "landfall": meta.get("land") or [], "others": len(shown) - 1,
            "path": [[int(p[0]), round(p[1], 3), round(p[2], 3)] for p in expected_path(latest, fc)][::3]}


def district_rows(geo: Geo, warnings: list[dict[str, Any]], storm: Mapping[str, Any] | None,
                  scope: str, now: float) -> list[dict[str, Any]]:
    """Every district: its warnings' highest colour, and the storm's distance and expected arrival."""
    path = expected_path(storm["latest"], storm["forecast"]) if storm else []
    rows = []
    for code, name in geo.names.items():
        mine = [w for w in warnings if code in w["districts"]]
        row: dict[str, Any] = {"code": code, "name": name, "rank": max((w["rank"] for w in mine), default=0),
                               "hazards": sorted({w.get("hz", "") for w in mine if w.get("hz")}),
                               "mine": scope == code}
        if storm:
            row.update(approach(path, storm["latest"], *geo.points[code], now=now))
        rows.append(row)
    return rows


def mobilisation(reports: Mapping[str, Mapping[str, Any]], scope: str, now: float, geo: Geo) -> dict[str, Any]:
    """Teams activated against available by type, people deployed, shelters and people transferred,
    per district (city scope) or per town (district scope), from each district's newest report."""
    mine = {code: rep for code, rep in reports.items() if geo.in_scope(code, scope)}
    teams: dict[str, list[int]] = {}
    for rep in mine.values():
        for kind, on, free, persons in rep.get("teams", []):
            acc = teams.setdefault(kind, [0, 0, 0])
            acc[0], acc[1], acc[2] = acc[0] + on, acc[1] + free, acc[2] + persons
    sh = [sum(rep["sh"][i] for rep in mine.values()) for i in range(3)]
    if scope == "city":
        areas = [{"code": c, "name": geo.names[c], "dep": r["dep"], "tr": r["tr"], "sh_open": r["sh"][0],
                  "cap": r["sh"][1], "occ": r["sh"][2], "t": r["t"], "stale": now - r["t"] > FRESH_S}
                 for c, r in sorted(mine.items()) if c in geo.names]
    else:
        rep = mine.get(scope, {})
        areas = [{"code": code, "name": geo.town_names.get(code, code), "dep": dep, "tr": tr, "sh_open": so,
                  "occ": occ, "t": rep.get("t"), "stale": now - rep.get("t", now) > FRESH_S}
                 for code, dep, tr, so, occ in rep.get("towns", [])]
    return {"teams": [{"type": k, "activated": v[0], "available": v[1], "persons": v[2]} for k, v in teams.items()],
            "deployed": sum(r["dep"] for r in mine.values()), "transferred": sum(r["tr"] for r in mine.values()),
            "shelters": {"opened": sh[0], "capacity": sh[1], "occupancy": sh[2]},
            "reports": len(mine), "newest": max((r["t"] for r in mine.values()), default=None), "areas": areas}


def checkins(recs: Mapping[str, Mapping[str, Any]], grids: Mapping[str, str], resp: Mapping[str, Any] | None,
             scope: str, geo: Geo) -> dict[str, Any]:
    """Grids whose workers (and the departments sent to them) have reported for duty since the
    response began, against the grids known; per district or per town, and the grids still missing."""
    since = resp["episode_start"] if resp else None
    known = {g: town for g, town in grids.items() if geo.in_scope(town[:6], scope)}
    came = {g: r for g, r in recs.items() if since is not None and r["t"] >= since
            and geo.in_scope(str(r.get("d") or (r.get("town") or "")[:6]), scope)}
    for g, r in came.items():
        known.setdefault(g, str(r.get("town") or r.get("d") or ""))

    def area_of(town: str) -> str:
        return town[:6] if scope == "city" else town

    per: dict[str, list[int]] = {}
    for g, town in known.items():
        acc = per.setdefault(area_of(town), [0, 0, 0])
        acc[0] += 1
        if g in came:
            acc[1] += 1
            acc[2] += came[g].get("n", 0)
    names = geo.names if scope == "city" else geo.town_names
    missing = sorted(g for g in known if g not in came)
    # a district's board draws each town's grids: people on duty per grid, -1 not yet checked in
    by_grid: dict[str, list[int]] = {}
    if scope != "city":
        for g in sorted(known):
            by_grid.setdefault(known[g], []).append(came[g].get("n", 0) if g in came else -1)
    return {"since": since, "grids": len(known), "checked_in": len(came),
            "on_duty": sum(r.get("n", 0) for r in came.values()),
            "staff": sum(r.get("s", 0) for r in came.values()),
            "areas": [{"code": a, "name": names.get(a, a), "grids": v[0], "in": v[1], "on_duty": v[2],
                       **({"by_grid": by_grid.get(a, [])} if scope != "city" else {})}
                      for a, v in sorted(per.items())],
            "missing": missing[:MISSING_SHOWN] if since is not None else [],
            "missing_n": len(missing) if since is not None else 0}


def boats(vessels: Mapping[str, Mapping[str, Any]], scope: str, now: float, geo: Geo) -> dict[str, Any]:
    fresh = [v for _, v in sorted(vessels.items()) if now - v["t"] <= FRESH_S and geo.in_scope(v.get("d"), scope)]
    at_sea = [v for v in fresh if not v.get("port")]
    return {"total": len(fresh), "in_port": len(fresh) - len(at_sea), "at_sea": len(at_sea),
            "returning": sum(1 for v in fresh if v.get("st") == "返港"),
            "positions": [[v["lat"], v["lon"], v.get("st")] for v in at_sea if v.get("lat") is not None]}


def closures(recs: Mapping[str, Mapping[str, Any]], scope: str, geo: Geo) -> dict[str, Any]:
    mine = [dict(r, id=k) for k, r in recs.items() if geo.in_scope(r.get("d"), scope)]
    active = sorted((r for r in mine if r["st"] not in DONE_STATUSES), key=lambda r: -r["from"])
    return {"active": len(active), "lifted": len(mine) - len(active), "items": active[:LIST_MAX],
            "by_type": dict(Counter(r["type"] for r in active))}


def tasks(recs: Mapping[str, Mapping[str, Any]], scope: str, geo: Geo) -> dict[str, Any]:
    mine = [dict(r, id=k) for k, r in recs.items() if geo.in_scope(r.get("d"), scope)]
    open_ = sorted((r for r in mine if r["st"] not in DONE_STATUSES), key=lambda r: (r.get("due") or 1e12, r["from"]))
    return {"open": len(open_), "done": len(mine) - len(open_), "items": open_[:LIST_MAX]}


def gauges(recs: Mapping[str, Mapping[str, Any]], scope: str, now: float, geo: Geo) -> dict[str, Any]:
    """Stations above their warning level (rain gauges: above the heavy-rain threshold), worst first."""
    fresh = [dict(r, id=k) for k, r in recs.items() if now - r["t"] <= FRESH_S and geo.in_scope(r.get("d"), scope)]
    over = [r for r in fresh if r.get("warn") in ("1", "2")]
    over.sort(key=lambda r: (-int(r["warn"]), -(r.get("over") or 0), r["id"]))
    return {"stations": len(fresh), "over": len(over), "guarantee": sum(1 for r in over if r["warn"] == "2"),
            "items": over[:LIST_MAX]}
