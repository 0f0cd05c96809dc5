"""The city as the simulator sees it: real district polygons and town codes, synthetic villages
and grids (deterministic per city), positions sampled inside the real polygons, coastal ports.

Jiangmen has 73 towns, 1,330 villages/communities and 2,954 grids; other cities get the same
ratios per town unless counts are given.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cached_property

from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.ops import unary_union
from shapely.prepared import PreparedGeometry, prep

from dashboard.contract import geo

VILLAGES_PER_TOWN = 1330 / 73
GRIDS_PER_VILLAGE = 2954 / 1330
_SYLLABLES = "龙凤石江沙溪岗塘田边新东西南北围坑头尾冲洲涌湾岭岭桥井水口圩朗平安和兴隆华美荣昌盛"
_ROAD = ("建设", "人民", "中山", "港口", "迎宾", "侨兴", "新市", "朝阳", "环城", "滨江", "工业", "育英")


@dataclass(frozen=True, slots=True)
class Village:
    code: str  # town code + 3 digits
    name: str
    town: str


@dataclass(frozen=True, slots=True)
class Grid:
    id: str  # village code + "-" + 2 digits
    name: str
    village: Village


@dataclass(frozen=True, slots=True)
class Place:
    adcode: str
    district: str
    town: str
    town_name: str
    village: str
    village_name: str
    grid: str
    grid_name: str
    lat: float  # WGS-84
    lon: float
    address: str


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    adcode: str
    lat: float
    lon: float


class CityGeo:
    """Geography of one city; everything here depends on the city only, never on the seed."""

    def __init__(self, city: str, villages: int | None = None, grids: int | None = None) -> None:
        self.city = city
        self.districts = geo.districts(city)
        self.name = geo.division_name(city) or city
        self.short = self.name.removesuffix("市")
        codes = {d.adcode for d in self.districts}
        self.towns = [t for t in geo.towns(city) if t.adcode in codes]
        if not self.towns:
            raise LookupError(f"no towns for city {city}")
        self._prepared = {d.adcode: prep(d.geometry) for d in self.districts}
        self.district_names = {d.adcode: d.name for d in self.districts}
        n_v = villages or round(VILLAGES_PER_TOWN * len(self.towns))
        n_g = grids or round(GRIDS_PER_VILLAGE * n_v)
        self.villages = _make_villages(self.towns, n_v)
        self.grids = _make_grids(self.villages, n_g)
        self._grids_by_town: dict[str, list[Grid]] = {}
        for g in self.grids:
            self._grids_by_town.setdefault(g.village.town, []).append(g)
        self.town_names = {t.code: t.name for t in self.towns}
        self._cap_polygons: dict[str, list[tuple[float, float]]] = {}
        # districts weighted by their number of towns (a proxy for population)
        self._district_codes = [t.adcode for t in self.towns]

    def pick_district(self, rng: random.Random) -> str:
        return rng.choice(self._district_codes)

    def point_in(self, adcode: str, rng: random.Random) -> tuple[float, float]:
        """(lat, lon) WGS-84, uniform inside the district polygon (rejection sampling)."""
        d = next(d for d in self.districts if d.adcode == adcode)
        minx, miny, maxx, maxy = d.geometry.bounds
        for _ in range(1000):
            lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if self._prepared[adcode].contains(Point(lon, lat)):
                return round(lat, 6), round(lon, 6)
        c = d.geometry.representative_point()
        return round(c.y, 6), round(c.x, 6)

    def place(self, rng: random.Random, adcode: str | None = None) -> Place:
        adcode = adcode or self.pick_district(rng)
        town = rng.choice([t for t in self.towns if t.adcode == adcode])
        grid = rng.choice(self._grids_by_town[town.code])
        lat, lon = self.point_in(adcode, rng)
        district = self.district_names[adcode]
        street = f"{rng.choice(_ROAD)}{'路街'[rng.randrange(2)]}{rng.randrange(1, 300)}号"
        return Place(adcode, district, town.code, town.name, grid.village.code, grid.village.name,
                     grid.id, grid.name, lat, lon, f"{district}{town.name}{grid.village.name}{street}")

    def towns_of(self, adcode: str) -> list[geo.Town]:
        return [t for t in self.towns if t.adcode == adcode]

    @cached_property
    def land(self) -> MultiPolygon | Polygon:
        return unary_union([d.geometry for d in self.districts])

    @cached_property
    def centre(self) -> tuple[float, float]:
        c = self.land.centroid
        return c.y, c.x

    def cap_polygon(self, adcode: str) -> list[tuple[float, float]]:
        """The district's largest part, simplified, as closed (lat, lon) pairs."""
        if adcode not in self._cap_polygons:
            self._cap_polygons[adcode] = self._simplified(adcode)
        return self._cap_polygons[adcode]

    def _simplified(self, adcode: str) -> list[tuple[float, float]]:
        g = next(d for d in self.districts if d.adcode == adcode).geometry
        part = max(g.geoms, key=lambda p: p.area) if isinstance(g, MultiPolygon) else g
        ring = part.simplify(0.01, preserve_topology=True).exterior.coords
        pts = [(round(y, 4), round(x, 4)) for x, y in ring]
        return pts if pts[0] == pts[-1] else [*pts, pts[0]]

    @cached_property
    def ports(self) -> list[Port]:
        """Up to 8 points on the southern edge of the city, spread west to east."""
        coords = [c for poly in _polygons(self.land) for c in poly.exterior.coords]
        low = min(y for _, y in coords)
        span = max(y for _, y in coords) - low
        south = sorted({(round(x, 4), round(y, 4)) for x, y in coords if y < low + 0.25 * span})
        step = max(1, len(south) // 8)
        out = []
        for i, (x, y) in enumerate(south[::step][:8]):
            adcode = self._nearest_district(x, y)
            town = self.towns_of(adcode)[i % len(self.towns_of(adcode))]
            out.append(Port(f"{town.name.removesuffix('镇').removesuffix('街道')}渔港", adcode, y, x))
        return out

    def _nearest_district(self, lon: float, lat: float) -> str:
        p = Point(lon, lat)
        return min(self.districts, key=lambda d: d.geometry.distance(p)).adcode

    @cached_property
    def _land_prepared(self) -> PreparedGeometry:
        return prep(self.land)

    def sea_point(self, rng: random.Random, port: Port) -> tuple[float, float]:
        """A fishing ground 10-60 km out to sea (south) of a port, never on the city's land."""
        prepared = self._land_prepared
        for _ in range(200):
            bearing = math.radians(rng.uniform(120, 240))
            km = rng.uniform(10, 60)
            lat = port.lat + km * math.cos(bearing) / 111.0
            lon = port.lon + km * math.sin(bearing) / (111.0 * math.cos(math.radians(port.lat)))
            if not prepared.contains(Point(lon, lat)):
                return round(lat, 5), round(lon, 5)
        return port.lat - 0.2, port.lon


def _polygons(g: MultiPolygon | Polygon) -> list[Polygon]:
    return list(g.geoms) if isinstance(g, MultiPolygon) else [g]


def _village_name(rng: random.Random, community: bool) -> str:
    return rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) + ("社区" if community else "村")


def _make_villages(towns: list[geo.Town], total: int) -> list[Village]:
    rng = random.Random(f"villages:{towns[0].code}:{total}")
    counts = _spread(total, len(towns), rng)
    out = []
    for town, n in zip(towns, counts, strict=True):
        urban = town.name.endswith("街道")
        for i in range(1, n + 1):
            name = _village_name(rng, urban or i <= 2)
            out.append(Village(f"{town.code}{i:03d}", name, town.code))
    return out


def _make_grids(villages: list[Village], total: int) -> list[Grid]:
    rng = random.Random(f"grids:{villages[0].code}:{total}")
    counts = _spread(total, len(villages), rng)
    return [Grid(f"{v.code}-{i:02d}", f"{v.name}第{i:02d}网格", v)
            for v, n in zip(villages, counts, strict=True) for i in range(1, n + 1)]


def _spread(total: int, buckets: int, rng: random.Random) -> list[int]:
    """``total`` split over ``buckets`` as evenly as possible, at least 1 each, remainder shuffled."""
    base, extra = divmod(max(total, buckets), buckets)
    lucky = set(rng.sample(range(buckets), extra))
    return [base + (1 if i in lucky else 0) for i in range(buckets)]
