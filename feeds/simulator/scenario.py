"""Scenarios: the world of a demo built around one event. ``typhoon``: a storm (a real track
replayed, or a generated one) placed so that the simulation starts ``lead_h`` hours before its
closest approach to the city centre; the warnings, the response, the mobilisation and the
incidents then follow it as the simulator's world always does.

The shift is whole hours, so replayed fixes keep their minutes; fixes before the start are on
record at the start, later ones appear as simulated time reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from feeds.simulator import replay, stormgen
from feeds.simulator.geography import CityGeo
from feeds.simulator.simtime import iso
from feeds.simulator.storm import Storm, closest_approach

KINDS = ("typhoon",)
DEFAULT_LEAD_H = 48.0


@dataclass(frozen=True, slots=True)
class Scenario:
    kind: str = "typhoon"
    track: Path | None = None  # CHyyyyBST.txt or the real-time JSON; None: a generated storm
    storm: str | None = None  # which storm of the file (1822, 201822, Mangkhut …)
    lead_h: float = DEFAULT_LEAD_H

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"scenario: must be one of {', '.join(KINDS)}")


@dataclass(frozen=True, slots=True)
class Placed:
    """The scenario's storm in simulated time, and how it got there."""

    scenario: Scenario
    storm: Storm
    shift: timedelta  # simulated time minus the file's time (generated: minus the draft's)
    closest: datetime  # closest approach to the city centre, simulated time
    closest_km: float

    def status(self) -> dict[str, Any]:
        s, sc = self.storm, self.scenario
        return {
            "kind": sc.kind, "source": "replay" if sc.track else "generated",
            "track": str(sc.track) if sc.track else None, "lead_h": sc.lead_h,
            "storm_id": s.tfbh, "name_zh": s.name, "name_en": s.ename,
            "shift_h": round(self.shift.total_seconds() / 3600),
            "first_fix": iso(s.start), "last_fix": iso(s.end),
            "closest_approach": iso(self.closest), "closest_km": round(self.closest_km, 1),
            "landfalls": [{"time": iso(lf.time), "position": lf.position, "lat": lf.lat, "lon": lf.lon}
                          for lf in s.landfalls],
        }


def describe(sc: dict[str, Any]) -> str:
    """One line for a console, from a scenario as ``Placed.status`` (and /_control/status) gives it."""
    def when(text: str) -> str:
        return text[5:16].replace("T", " ")

    land = "; ".join(f"{when(lf['time'])} {lf['position']}" for lf in sc["landfalls"]) or "none"
    what = f"replay of {Path(sc['track']).name}" if sc["track"] else "generated storm"
    return (f"{sc['kind']} {sc['name_zh']} {sc['name_en']} ({sc['storm_id']}), {what}, times shifted "
            f"{sc['shift_h']:+d} h; closest approach {when(sc['closest_approach'])} "
            f"({sc['closest_km']:.0f} km from the city centre); landfall {land}")


def place(scenario: Scenario, seed: int, city: CityGeo, start: datetime) -> Placed:
    """The scenario's storm, its closest approach ``lead_h`` after ``start`` (to the hour)."""
    if scenario.track is not None:
        draft = replay.load(scenario.track, scenario.storm, city)
    else:
        draft = stormgen.approaching(seed, city, 0, start)
    when, km = closest_approach(draft, city.centre)
    wanted = start + timedelta(hours=scenario.lead_h) - when
    shift = timedelta(hours=round(wanted.total_seconds() / 3600))
    return Placed(scenario, draft.moved(shift), shift, when + shift, km)
