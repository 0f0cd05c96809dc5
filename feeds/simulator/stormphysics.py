"""Tropical cyclone intensity tables (GB/T 19201-2006 grades, Beaufort force) and wind radii."""

from __future__ import annotations

from dataclasses import dataclass

# (lower bound m/s, Chinese grade with its code as the real-time feed prints it)
GRADES = ((51.0, "超强台风(Super TY)"), (41.5, "强台风(STY)"), (32.7, "台风(TY)"),
          (24.5, "强热带风暴(STS)"), (17.2, "热带风暴(TS)"), (0.0, "热带低压(TD)"))
BEAUFORT = (10.8, 13.9, 17.2, 20.8, 24.5, 28.5, 32.7, 37.0, 41.5, 46.2, 51.0, 56.1, 61.3)  # force 6..18
COMPASS = ("北", "北东北", "东北", "东东北", "东", "东东南", "东南", "南东南",
           "南", "南西南", "西南", "西西南", "西", "西西北", "西北", "北西北")


@dataclass(frozen=True, slots=True)
class Intensity:
    wind: float
    grade: str
    power: int
    pressure: int


def intensity(wind: float) -> Intensity:
    grade = next(name for low, name in GRADES if wind >= low)
    power = 5 + sum(1 for b in BEAUFORT if wind >= b)
    pressure = round(1010 - 0.0288 * wind * wind)
    return Intensity(wind, grade, power, pressure)


def compass(bearing: float | None) -> str | None:
    if bearing is None:
        return None
    return COMPASS[round(bearing / 22.5) % 16]


def radii(wind: float, over_land: bool) -> dict[str, dict[str, int | None] | int | None]:
    """radius7/10/12 (km) and their quadrants; 0 where the storm never reaches that force, all
    None for a tropical depression (as the real feed prints them)."""
    shrink = 0.8 if over_land else 1.0
    out: dict[str, dict[str, int | None] | int | None] = {}
    for name, low, base, slope in (("radius7", 17.2, 120, 4.0), ("radius10", 24.5, 40, 3.5),
                                   ("radius12", 32.7, 20, 2.5)):
        if wind < 17.2:
            r = None
        else:
            r = 0 if wind < low else round(min(450, base + slope * (wind - low)) * shrink / 10) * 10
        quads = {q: (None if r is None else round(r * f / 10) * 10)
                 for q, f in (("ne", 1.2), ("se", 1.0), ("sw", 0.8), ("nw", 0.9))}
        out[name] = max(v for v in quads.values() if v is not None) if r is not None else None
        out[f"{name}_quad"] = quads
    return out
