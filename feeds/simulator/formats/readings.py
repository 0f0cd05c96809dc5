"""Records of the reading feeds: gauge readings (sw, SL 323 field names) and vessel positions
(hs). The emergency feed's records (yj) are in emergency.py."""

from __future__ import annotations

from typing import Any

from dashboard.contract import geo
from feeds.simulator.geography import CityGeo
from feeds.simulator.hydro import Reading
from feeds.simulator.simtime import plain
from feeds.simulator.vessels import VesselFix


def gauge(r: Reading, datum: str) -> dict[str, Any]:
    s = r.station
    lat, lon = geo.from_wgs84(s.lat, s.lon, datum)
    return {
        "STCD": s.code, "STNM": s.name, "STTP": s.kind, "ADDVCD": s.adcode, "LGTD": lon, "LTTD": lat,
        "TM": plain(r.time), "DRP": r.rain_mm, "DYP": r.day_rain_mm, "Z": r.level_m,
        "WRZ": s.warn_z, "GRZ": s.guarantee_z,
        "OVER": None if r.level_m is None or s.warn_z is None else round(r.level_m - s.warn_z, 2),
        "WARN": r.warn,
    }


def vessel(f: VesselFix, city: CityGeo, datum: str) -> dict[str, Any]:
    v = f.vessel
    lat, lon = geo.from_wgs84(f.lat, f.lon, datum)
    return {
        "mmsi": v.mmsi, "shipName": v.name, "shipType": v.kind, "owner": v.owner.name,
        "ownerPhone": v.owner.phone, "navStatus": f.status, "inPort": f.status in ("在港", "避风"),
        "lon": lon, "lat": lat, "sog": f.sog, "cog": f.cog, "portName": v.port.name,
        "seaGrid": f"HS-{v.port.adcode}-{int(v.mmsi[-2:]) % 20 + 1:03d}", "districtCode": v.port.adcode,
        "gpsTime": plain(f.time),
    }
