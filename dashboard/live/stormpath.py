"""Where a storm goes and when it reaches a place: its expected path (the official forecast, else
its current motion carried on), closest approach and wind-circle arrival per district.

Pure functions on the compact fixes of dashboard/live/emergency_state.py: ``[t, lat, lon, …]`` forecast
points and fixes with ``r7``/``r10``/``r12`` as [ne, se, sw, nw] radii in km.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dashboard.live.state import distance

STEP_S = 3600  # the expected path is sampled hourly
EXTRAPOLATE_H = 24  # without a forecast, the current motion is carried on this long
PREFERRED_AGENCY = "中国"  # CMA's forecast, when a fix carries several agencies'

# 16-point compass as the Chinese operational track gives it (and English abbreviations)
_POINTS_ZH = ("北", "北东北", "东北", "东东北", "东", "东东南", "东南", "南东南",
              "南", "南西南", "西南", "西西南", "西", "西西北", "西北", "北西北")
_POINTS_EN = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
COMPASS = {**{p: i * 22.5 for i, p in enumerate(_POINTS_ZH)}, **{p: i * 22.5 for i, p in enumerate(_POINTS_EN)}}


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return distance(lat1, lon1, lat2, lon2) / 1000.0


def bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing (degrees from north) from point 1 to point 2."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def destination(lat: float, lon: float, brg: float, dist_km: float) -> tuple[float, float]:
    """The point ``dist_km`` from (lat, lon) on bearing ``brg`` (great circle)."""
    d, b = dist_km / 6371.0, math.radians(brg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def quadrant_radius(radii: Sequence[float | None] | None, brg: float) -> float | None:
    """The wind-circle radius (km) towards a bearing: the quadrant's (NE 0–90°, SE, SW, NW)."""
    if not radii:
        return None
    r = radii[int(brg % 360 // 90)]
    return float(r) if r else None


def forecast_points(storm: Mapping[str, Any]) -> list[list[Any]]:
    """The forecast track to use: CMA's when given, else the first agency's."""
    sets = storm.get("fc") or []
    chosen = next((f for f in sets if f.get("by") == PREFERRED_AGENCY), sets[0] if sets else None)
    return list(chosen["pts"]) if chosen else []


def expected_path(latest: Mapping[str, Any], forecast: Sequence[Sequence[Any]]) -> list[tuple[float, float, float]]:
    """(t, lat, lon) hourly from the latest fix along the forecast, or along its motion."""
    t0, lat0, lon0 = latest["t"], latest["lat"], latest["lon"]
    knots = [(float(t0), lat0, lon0)] + [(float(p[0]), p[1], p[2]) for p in forecast
                                          if p[0] > t0 and p[1] is not None and p[2] is not None]
    if len(knots) == 1:
        brg, speed = COMPASS.get(str(latest.get("dir") or "")), latest.get("spd")
        if brg is None or not isinstance(speed, int | float) or speed <= 0:
            return [(float(t0), lat0, lon0)]
        knots.append((t0 + EXTRAPOLATE_H * 3600.0, *destination(lat0, lon0, brg, speed * EXTRAPOLATE_H)))
    out = []
    t = float(t0)
    for (ta, la, loa), (tb, lb, lob) in zip(knots, knots[1:], strict=False):
        while t < tb:
            w = (t - ta) / (tb - ta)
            out.append((t, la + (lb - la) * w, loa + (lob - loa) * w))
            t += STEP_S
    out.append(knots[-1])
    return out


def approach(path: Sequence[tuple[float, float, float]], latest: Mapping[str, Any], lat: float, lon: float,
             now: float) -> dict[str, Any]:
    """A place's distance now, its closest approach on the path, and when the 7-, 10- and 12-level
    wind circles (the latest fix's radii, towards the place) are expected to reach it."""
    here = km(latest["lat"], latest["lon"], lat, lon)
    best_t, best_km = latest["t"], here
    arrive: dict[str, float | None] = {"r7": None, "r10": None, "r12": None}
    for t, plat, plon in path:
        d = km(plat, plon, lat, lon)
        if d < best_km:
            best_t, best_km = t, d
        brg = bearing(plat, plon, lat, lon)
        for ring in arrive:
            radius = quadrant_radius(latest.get(ring), brg)
            if arrive[ring] is None and radius is not None and d <= radius:
                arrive[ring] = t
    return {"km": round(here), "closest_km": round(best_km), "closest_at": int(best_t),
            "passed": best_t <= latest["t"] and here > 0 and len(path) > 1,
            **{f"eta_{ring}": (int(v) if v is not None else None) for ring, v in arrive.items()},
            "inside_r7": arrive["r7"] is not None and arrive["r7"] <= latest["t"],
            "hours": round(max(0.0, best_t - now) / 3600, 1)}
