"""Records of the emergency-management feed (yj): response level changes (RESPONSE), district
mobilisation reports (MOBILIZE), grid check-ins (CHECKIN), closures (CLOSURE) and command tasks
(TASK). Every record carries reportId, reportType, reportTypeName, actionType, responseLevel (the
city's level when it was made), areaCode, areaName, content, reportTime, updateTime, issueOrg."""

from __future__ import annotations

from typing import Any

from dashboard.contract import geo
from feeds.simulator.duty import CheckIn, Closure, Task
from feeds.simulator.geography import CityGeo
from feeds.simulator.mobilise import Mobilisation
from feeds.simulator.response import ROMAN, Response
from feeds.simulator.simtime import iso

CLOSURE_ORG = {"道路": "{c}公安局交通警察支队{d}大队", "桥梁": "{c}公安局交通警察支队{d}大队",
               "渡口": "{d}交通运输局", "景区": "{d}文化广电旅游体育局", "区域": "{d}三防指挥部"}


def _common(case: str, code: str, type_name: str, action: str, severity: int, area: str, area_name: str,
            content: str, reported: Any, updated: Any, org: str) -> dict[str, Any]:
    return {"reportId": case, "reportType": code, "reportTypeName": type_name, "actionType": action,
            "responseLevel": ROMAN.get(severity, "NONE"), "areaCode": area, "areaName": area_name,
            "content": content, "reportTime": iso(reported), "updateTime": iso(updated), "issueOrg": org}


def response(r: Response, city: CityGeo) -> dict[str, Any]:
    level = ROMAN.get(r.severity, "NONE")
    name = f"{r.hazard}{level}级应急响应" if r.severity else f"{r.hazard}应急响应"
    return {
        **_common(r.case, "RESPONSE", "应急响应", r.action, r.severity, city.city, city.name,
                  f"{city.name}三防指挥部{r.action}{name}。", r.time, r.time, f"{city.name}三防指挥部"),
        "responseLevelName": name, "hazardType": r.hazard,
    }


def mobilisation(m: Mobilisation, city: CityGeo) -> dict[str, Any]:
    district = city.district_names[m.adcode]
    content = (f"{district}已出动{m.deployed}人，开放避护场所{m.shelters_open}个、安置{m.shelter_occupancy}人，"
               f"转移群众{m.transferred}人；在港船舶{m.boats_in_port}艘，在海船舶{m.boats_at_sea}艘。")
    return {
        **_common(m.case, "MOBILIZE", "力量动员", "报送", m.severity, m.adcode, district, content,
                  m.time, m.time, f"{district}三防指挥部"),
        "teams": [{"teamType": t.kind, "activated": t.activated, "available": t.available, "persons": t.persons}
                  for t in m.teams],
        "personsDeployed": m.deployed,
        "shelters": {"opened": m.shelters_open, "capacity": m.shelter_capacity, "occupancy": m.shelter_occupancy},
        "personsTransferred": m.transferred,
        "boats": {"inPort": m.boats_in_port, "atSea": m.boats_at_sea},
        "towns": [{"townCode": t.code, "townName": t.name, "personsDeployed": t.deployed,
                   "personsTransferred": t.transferred, "sheltersOpened": t.shelters_open,
                   "shelterOccupancy": t.occupancy} for t in m.towns],
    }


def checkin(c: CheckIn, city: CityGeo, datum: str) -> dict[str, Any]:
    district, town = city.district_names[c.adcode], city.town_names[c.grid.village.town]
    lat, lon = geo.from_wgs84(c.lat, c.lon, datum)
    on_duty = c.workers + c.staff
    content = (f"{c.grid.name}网格员{c.workers}人、部门下沉人员{c.staff}人已报到，{on_duty}人在岗。"
               if c.action == "报到" else f"{c.grid.name}应急值守解除，{on_duty}人撤岗。")
    return {
        **_common(c.case, "CHECKIN", "网格报到", c.action, c.level, c.adcode, district, content,
                  c.first, c.time, f"{town}综治中心"),
        "townCode": c.grid.village.town, "townName": town, "gridCode": c.grid.id, "gridName": c.grid.name,
        "latitude": lat, "longitude": lon, "gridWorkers": c.workers, "deptStaff": c.staff,
        "depts": list(c.depts), "personsOnDuty": on_duty,
    }


def closure(c: Closure, city: CityGeo, datum: str) -> dict[str, Any]:
    district = city.district_names[c.adcode]
    lat, lon = geo.from_wgs84(c.lat, c.lon, datum)
    state = "已封闭" if c.action == "封闭" else "解除封闭"
    return {
        **_common(c.case, "CLOSURE", "封闭管控", c.action, c.level, c.adcode, district,
                  f"{c.name}{state}：{c.reason}。", c.since, c.time,
                  CLOSURE_ORG[c.kind].format(c=city.name, d=district)),
        "closureType": c.kind, "closureName": c.name, "reason": c.reason, "townCode": c.town,
        "latitude": lat, "longitude": lon,
    }


def task(t: Task, city: CityGeo) -> dict[str, Any]:
    district = city.district_names[t.adcode]
    content = (f"{city.name}三防指挥部任务{t.action}：{t.name}（{district}，{t.assignee}，"
               f"时限{t.deadline:%m-%d %H:%M}）。")
    return {
        **_common(t.case, "TASK", "指挥任务", t.action, t.level, t.adcode, district, content,
                  t.issued, t.time, f"{city.name}三防指挥部"),
        "taskName": t.name, "assignee": t.assignee, "deadline": iso(t.deadline),
    }
