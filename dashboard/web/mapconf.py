"""What the wall's map is drawn on: tiles from a configured URL (or none), boundaries and
markers in the tiles' datum.

Case coordinates are stored in WGS-84. Tiles in GCJ-02 (AMap, Tencent) are offset by several
hundred metres in China, so boundaries and markers are shifted into the tiles' datum before they
reach the browser; WGS-84 and CGCS2000 tiles (OSM, 天地图) need nothing.

A government intranet often reaches no tile server at all. The server tries one tile now and
then; while none loads, pages leave the tile layer out (instead of a grid of broken images and a
console full of errors) and show the boundaries on a plain background.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from functools import cache
from typing import Any

import httpx
import shapely
from shapely.geometry import mapping

from dashboard.contract.geo import (
    Datum,
    cnmaps_land,
    districts,
    from_wgs84,
    geometry_from_wgs84,
    geometry_to_wgs84,
    label_point,
)

log = logging.getLogger(__name__)

PROBE_EVERY_S = 60.0
PROBE_TIMEOUT_S = 2.0
PROBE_TILE = (9, 417, 224)  # z, x, y: a tile over the Pearl River Delta
SIMPLIFY_DEG = 0.0005  # ~50 m: boundaries drawn at city zoom need no more


def display_datum(tile_datum: str) -> Datum:
    """The datum boundaries and markers are drawn in: the tiles' (GCJ-02 for AMap), else WGS-84."""
    d = Datum(tile_datum)
    return Datum.gcj02 if d is Datum.gcj02 else Datum.wgs84


def shift(lat: float, lon: float, datum: Datum) -> tuple[float, float]:
    return (lat, lon) if datum is Datum.wgs84 else from_wgs84(lat, lon, datum)


def shift_geojson(geo: Any, datum: Datum) -> Any:
    """GeoJSON (a FeatureCollection, a Feature, a geometry, or a list of them) with every position in
    ``datum`` (changed in place and returned)."""
    if isinstance(geo, list):
        for item in geo:
            shift_geojson(item, datum)
    elif isinstance(geo, dict):
        if geo.get("type") == "FeatureCollection":
            shift_geojson(geo.get("features"), datum)
        elif geo.get("type") == "Feature":
            shift_geojson(geo.get("geometry"), datum)
        elif "coordinates" in geo:
            geo["coordinates"] = _shift_positions(geo["coordinates"], datum)
    return geo


def _shift_positions(coords: Any, datum: Datum) -> Any:
    if coords and isinstance(coords[0], int | float):
        lat, lon = shift(coords[1], coords[0], datum)
        return [lon, lat, *coords[2:]]
    return [_shift_positions(c, datum) for c in coords]


@cache
def boundaries(city: str, datum: Datum) -> dict[str, Any]:
    """The city's districts as a GeoJSON FeatureCollection in ``datum`` (simplified for drawing)."""
    feats = []
    for d in districts(city):
        geom = geometry_from_wgs84(d.geometry.simplify(SIMPLIFY_DEG, preserve_topology=True), datum)
        lat, lon = shift(*label_point(d), datum)
        feats.append({"type": "Feature", "id": d.adcode,
                      "properties": {"adcode": d.adcode, "name": d.name, "label": [round(lat, 5), round(lon, 5)]},
                      "geometry": _rounded(mapping(geom))})
    return {"type": "FeatureCollection", "features": feats}


REGION_DEG = 6.0  # provinces within this of the city are drawn: the coast a storm comes from
REGION_SIMPLIFY_DEG = 0.03  # ~3 km, at the zoom a storm is watched from


@cache
def region(city: str, datum: Datum) -> dict[str, Any]:
    """The provinces around the city (GeoJSON, simplified): with no tiles, the coastline and the
    neighbours a storm crosses are still on the map."""
    (clat, clon), _ = extent(city)
    feats = []
    for path in sorted(cnmaps_land().glob("*0000.geojson")):
        if path.stem == "100000":
            continue
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
        geom = shapely.geometry.shape(raw.get("geometry", raw))
        minx, miny, maxx, maxy = geom.bounds
        if maxx < clon - REGION_DEG or minx > clon + REGION_DEG or maxy < clat - REGION_DEG or miny > clat + REGION_DEG:
            continue
        wgs = geometry_to_wgs84(geom.simplify(REGION_SIMPLIFY_DEG, preserve_topology=True), Datum.gcj02)
        shown = geometry_from_wgs84(wgs, datum)
        feats.append({"type": "Feature", "id": path.stem, "properties": {"adcode": path.stem},
                      "geometry": _rounded(mapping(shown), 3)})
    return {"type": "FeatureCollection", "features": feats}


def extent(city: str) -> tuple[tuple[float, float], list[list[float]]]:
    """(centre, [[south, west], [north, east]]) of the city in WGS-84 (shifts are far below a screen pixel
    at this zoom)."""
    minx, miny, maxx, maxy = shapely.union_all([d.geometry for d in districts(city)]).bounds
    return ((miny + maxy) / 2, (minx + maxx) / 2), [[miny, minx], [maxy, maxx]]


def _rounded(geo: Any, digits: int = 5) -> Any:
    if isinstance(geo, dict):
        return {k: _rounded(v, digits) for k, v in geo.items()}
    if isinstance(geo, (list, tuple)):
        return [_rounded(v, digits) for v in geo]
    return round(geo, digits) if isinstance(geo, float) else geo


class TileProbe:
    """Whether the configured tile server answers, checked in the background at most once a minute."""

    def __init__(self, url: str, subdomains: str, enabled: bool = True) -> None:
        self.url, self.subdomains, self.enabled = url, subdomains, enabled
        self._ok: bool | None = None if (url and enabled) else bool(url)
        self._checked = 0.0
        self._lock = threading.Lock()

    def ok(self) -> bool:
        """The last answer (never blocks a request); starts a new check when the last is old."""
        if not self.url:
            return False
        if not self.enabled:
            return True
        with self._lock:
            stale = time.monotonic() - self._checked >= PROBE_EVERY_S
            if stale:
                self._checked = time.monotonic()
        if stale:
            threading.Thread(target=self.check, name="tile-probe", daemon=True).start()
        return bool(self._ok)

    def check(self) -> bool:
        z, x, y = PROBE_TILE
        url = self.url.format(s=(self.subdomains or "a")[0], z=z, x=x, y=y)
        try:
            resp = httpx.get(url, timeout=PROBE_TIMEOUT_S, headers={"User-Agent": "pingan-command-centre"})
            ok = resp.status_code == 200 and resp.headers.get("content-type", "").startswith("image/")
        except httpx.HTTPError as exc:
            log.info("tiles unreachable at %s: %s", url.split("?")[0], exc)
            ok = False
        self._ok = ok
        return ok
