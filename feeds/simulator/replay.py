"""A real storm track replayed: read with the product's own adapters (CMA best-track text or the
operational real-time JSON), turned into a ``Storm`` in original time; scenario.py shifts it.

What the files lack is filled in as the generator does it: wind radii from the wind where a
circle is missing (best tracks have none; the scraped real-time tracks print 0 for every circle
after landfall, although the storm still blows force 12), landfalls onto the province's land
from the track where the file names none (best tracks), motion from the neighbouring fixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from dashboard.contract.event import BEIJING
from feeds.adapters import typhoon as adapter
from feeds.adapters.base import Reject
from feeds.simulator.geography import CityGeo
from feeds.simulator.storm import (
    QUADRANTS,
    SAMPLE,
    Fix,
    Landfall,
    Radii,
    Storm,
    bearing,
    km_between,
    landfall_at,
    on_province_land,
)
from feeds.simulator.stormphysics import radii

# best-track category -> the real-time feed's grade text (what the tf adapter reads back)
GRADE_OF_CATEGORY = {1: "热带低压(TD)", 2: "热带风暴(TS)", 3: "强热带风暴(STS)", 4: "台风(TY)",
                     5: "强台风(STY)", 6: "超强台风(Super TY)", 9: "变性温带气旋(ET)"}
# best-track category -> a typical 2-minute wind (m/s) where the file gives none (WND 0)
WIND_OF_CATEGORY = {0: 12.0, 1: 15.0, 2: 20.0, 3: 28.0, 4: 37.0, 5: 45.0, 6: 55.0, 9: 15.0}
CIRCLES = ((7, 17.2), (10, 24.5), (12, 32.7))  # wind circle and the wind (m/s) that implies it
# best tracks carry English names only; the Chinese names of storms that affected Guangdong
NAMES_ZH = {"NIDA": "妮妲", "HAIMA": "海马", "HATO": "天鸽", "PAKHAR": "帕卡", "MANGKHUT": "山竹",
            "HIGOS": "海高斯", "CHABA": "暹芭", "MA-ON": "马鞍", "TALIM": "泰利", "SAOLA": "苏拉",
            "KOINU": "小犬", "YAGI": "摩羯", "TAPAH": "塔巴", "RAGASA": "桦加沙", "VICENTE": "韦森特",
            "RUMBIA": "温比亚", "BARIJAT": "百里嘉", "WIPHA": "韦帕", "KAI-TAK": "启德"}


class TrackError(ValueError):
    """The file holds no usable track (or several storms and no ``--storm`` to choose)."""


def load(path: Path, storm_id: str | None, city: CityGeo) -> Storm:
    """The storm of the file in original (Beijing) time, index 0."""
    payload = path.read_bytes()
    best_track = payload.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"66666")
    parse = adapter.parse_bst if best_track else adapter.parse_json
    items = list(parse(payload, {"source": "tf", "storm": storm_id or ""}))
    candidates = [c for c in items if not isinstance(c, Reject) and c.get("location")]
    ids = sorted({c["attrs"]["storm_id"] for c in candidates})
    if not ids:
        found = next((i.reason for i in items if isinstance(i, Reject)), "no fixes")
        raise TrackError(f"{path}: no track{f' for storm {storm_id}' if storm_id else ''} ({found})")
    if len(ids) > 1:
        raise TrackError(f"{path} holds {len(ids)} storms ({', '.join(ids[:5])}, …): choose one with --storm")
    candidates.sort(key=lambda c: c["occurred_at"])
    fixes = _fixes(candidates, city)
    attrs = candidates[-1]["attrs"]
    ename = (attrs.get("name_en") or "").strip()
    name = attrs.get("name_zh") or NAMES_ZH.get(ename.upper(), "")
    ename = ename.capitalize() if ename.isupper() else ename  # MANGKHUT -> Mangkhut, MA-ON -> Ma-on
    given = [_landfall(e) for e in attrs.get("landfall") or []]
    land = given if given else _first_landfall(fixes, city)
    return Storm(0, attrs["storm_id"], name, ename, fixes, land)


def _fixes(candidates: list[dict[str, Any]], city: CityGeo) -> list[Fix]:
    out: list[Fix] = []
    for i, c in enumerate(candidates):
        a, loc = c["attrs"], c["location"]
        t = c["occurred_at"].astimezone(BEIJING)
        lat, lon = round(loc["lat"], 2), round(loc["lon"], 2)
        if out and t == out[-1].time:
            continue  # a repeated fix time (merged records): keep the first
        wind = float(a.get("wind_ms") or WIND_OF_CATEGORY.get(a.get("intensity", 0), 12.0))
        land = on_province_land(city, lat, lon)
        prev = candidates[i - 1]["location"] if i else None
        heading = bearing((prev["lat"], prev["lon"]), (lat, lon)) if prev else None
        speed = a.get("move_speed")
        if speed is None and prev and out:
            hours = (t - out[-1].time).total_seconds() / 3600
            speed = round(km_between((prev["lat"], prev["lon"]), (lat, lon)) / hours) if hours else None
        out.append(Fix(t, lat, lon, wind, land, heading, speed, pressure=a.get("pressure_hpa"),
                       grade=a.get("strong") or GRADE_OF_CATEGORY.get(a.get("intensity", 0)),
                       power=a.get("power"), move_dir=a.get("move_dir"),
                       radii=_radii(a, wind, land) if "radius7_quad" in a else None,
                       remark=f"历史路径回放，原始时间 {t:%Y-%m-%d %H:%M}"))
    return out


def _radii(attrs: Mapping[str, Any], wind: float, over_land: bool) -> Radii:
    """The file's circles; one it leaves out (all quadrants 0 or empty) although the wind says the
    storm has it is estimated from the wind."""
    derived = radii(wind, over_land)
    out: Radii = {}
    for force, low in CIRCLES:
        key = f"radius{force}"
        quads = attrs.get(f"{key}_quad") or {}
        if wind >= low and not any(quads.get(q) for q in QUADRANTS):
            out[key], out[f"{key}_quad"] = derived[key], derived[f"{key}_quad"]
        else:
            out[key] = attrs.get(key)
            out[f"{key}_quad"] = {q: quads.get(q) for q in QUADRANTS}
    return out


def _landfall(entry: Mapping[str, Any]) -> Landfall:
    t = datetime.fromisoformat(entry["time"]).astimezone(BEIJING)
    return Landfall(t, entry["lat"], entry["lon"], entry.get("position") or "")


def _first_landfall(fixes: list[Fix], city: CityGeo) -> list[Landfall]:
    """Where the track first crosses onto the province's land, searched every 10 minutes."""
    for a, b in zip(fixes, fixes[1:], strict=False):
        if a.over_land or not b.over_land:
            continue
        t = a.time
        while t <= b.time:
            w = (t - a.time) / (b.time - a.time)
            lat, lon = a.lat + (b.lat - a.lat) * w, a.lon + (b.lon - a.lon) * w
            if on_province_land(city, lat, lon):
                return [landfall_at(city, t, lat, lon)]
            t += SAMPLE
    return []

