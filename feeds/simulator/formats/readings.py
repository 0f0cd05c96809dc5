"""Records of the non-case JSON feeds: gauge readings (sw, SL 323 field names), emergency
response and mobilisation reports (yj) and vessel positions (hs)."""

from __future__ import annotations

from typing import Any

from feeds import geo
from feeds.simulator.clock import iso, plain
from feeds.simulator.emergency import ROMAN, Mobilisation, Response
from feeds.simulator.geography import CityGeo
from feeds.simulator.hydro import Reading
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


def response(r: Response, city: CityGeo) -> dict[str, Any]:
    level = ROMAN.get(r.severity, "NONE")
    name = f"{r.hazard}{level}级应急响应" if r.severity else f"{r.hazard}应急响应"
    return {
        "reportId": r.case, "reportType": "RESPONSE", "reportTypeName": "应急响应",
        "actionType": r.action, "responseLevel": level, "responseLevelName": name, "hazardType": r.hazard,
        "issueOrg": f"{city.name}三防指挥部", "areaCode": city.city, "areaName": city.name,
        "content": f"{city.name}三防指挥部{r.action}{name}。", "reportTime": iso(r.time), "updateTime": iso(r.time),
    }


def mobilisation(m: Mobilisation, city: CityGeo) -> dict[str, Any]:
    district = city.district_names[m.adcode]
    level = ROMAN.get(m.severity, "NONE")
    return {
        "reportId": m.case, "reportType": "MOBILIZE", "reportTypeName": "力量动员", "actionType": "报送",
        "responseLevel": level, "areaCode": m.adcode, "areaName": district,
        "teams": [{"teamType": t.kind, "activated": t.activated, "available": t.available, "persons": t.persons}
                  for t in m.teams],
        "personsDeployed": m.deployed,
        "shelters": {"opened": m.shelters_open, "capacity": m.shelter_capacity, "occupancy": m.shelter_occupancy},
        "personsTransferred": m.transferred,
        "boats": {"inPort": m.boats_in_port, "atSea": m.boats_at_sea},
        "content": (f"{district}已出动{m.deployed}人，开放避护场所{m.shelters_open}个，"
                    f"转移群众{m.transferred}人；在港船舶{m.boats_in_port}艘，在海船舶{m.boats_at_sea}艘。"),
        "reportTime": iso(m.time), "updateTime": iso(m.time),
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
