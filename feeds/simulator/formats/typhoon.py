"""The operational real-time typhoon track JSON (tf), the shape of wztf121.com's storm objects:
naive Beijing times, lng/lat in 0.1 degrees, radii in km with quadrants, a forecast per fix."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from feeds.simulator.storm import Fix, Storm
from feeds.simulator.stormphysics import compass, intensity

FORECAST_LEADS_H = (12, 24, 36, 48)


def naive(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def storm_object(storm: Storm, upto: datetime, fixes: list[Fix] | None = None) -> dict[str, Any]:
    """The storm as the feed shows it at ``upto`` (or with just the given ``fixes``)."""
    shown = fixes if fixes is not None else storm.fixes_upto(upto)
    return {
        "tfbh": storm.tfbh, "ident": storm.tfbh, "name": storm.name, "ename": storm.ename,
        "is_current": 1 if upto < storm.end else 0,
        "begin_time": naive(storm.start), "end_time": naive(shown[-1].time if shown else storm.start),
        "land": [{"position": lf.position, "land_time": naive(lf.time), "lng": lf.lon, "lat": lf.lat}
                 for lf in storm.landfalls if lf.time <= upto],
        "points": [point(storm, f) for f in shown],
    }


def point(storm: Storm, f: Fix) -> dict[str, Any]:
    """One fix; what a replayed file says of itself (grade, pressure, radii …) is printed as given."""
    it = intensity(f.wind)
    return {
        "time": naive(f.time), "lng": f.lon, "lat": f.lat, "strong": f.grade or it.grade,
        "power": f.power if f.power is not None else it.power, "speed": round(f.wind),
        "move_dir": f.move_dir or compass(f.bearing), "move_speed": f.move_kmh,
        "pressure": f.pressure if f.pressure is not None else it.pressure, **f.wind_radii(), "remark": f.remark,
        "forecast": _forecast(storm, f),
    }


def _forecast(storm: Storm, f: Fix) -> list[dict[str, Any]] | None:
    """The official forecast issued with this fix: the true track ahead plus a growing error."""
    rng = random.Random(f"forecast:{storm.tfbh}:{f.time.isoformat()}")
    pts = []
    for lead in FORECAST_LEADS_H:
        when = f.time + timedelta(hours=lead)
        pos = storm.position_at(when)
        if pos is None:
            break
        err_km, heading = lead * 4.5 * rng.uniform(0.3, 1.0), rng.uniform(0, 2 * math.pi)
        lat = pos[0] + err_km * math.cos(heading) / 111
        lon = pos[1] + err_km * math.sin(heading) / 111
        it = storm.intensity_at(when)
        pts.append({"time": naive(when), "lng": round(lon, 1), "lat": round(lat, 1), "strong": it.grade,
                    "power": it.power, "speed": round(it.wind), "move_dir": None, "move_speed": None,
                    "pressure": it.pressure, "radius7": None, "radius10": None, "remark": None})
    return [{"sets": "中国", "points": pts}] if pts else None
