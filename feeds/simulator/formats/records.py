"""Records of the JSON-over-HTTP case feeds (wg, tj, aj, hb, wj, sp), in the field names those
systems use. Status labels live here; the mapping profiles in feeds/mappings/ read them back."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from feeds.simulator.cases import Case
from feeds.simulator.formats.common import note, position
from feeds.simulator.people import Person, fake_person
from feeds.simulator.simtime import epoch_ms, iso, iso_ms, plain

STATUS_LABELS: dict[str, dict[str, str]] = {
    "wg": {"reported": "10", "accepted": "20", "dispatched": "30", "in_progress": "40", "resolved": "50",
           "closed": "60", "reopened": "70", "cancelled": "90"},
    "tj": {"reported": "登记", "accepted": "受理", "dispatched": "分流", "in_progress": "调解中",
           "resolved": "调解成功", "closed": "归档", "reopened": "重新调解", "cancelled": "撤回"},
    "aj": {"reported": "待核实", "accepted": "已核实", "dispatched": "已交办", "in_progress": "整改中",
           "resolved": "已整改", "closed": "已销号", "reopened": "复查不通过", "cancelled": "已撤销"},
    "hb": {"reported": "0", "accepted": "1", "dispatched": "2", "in_progress": "3", "resolved": "4",
           "closed": "5", "reopened": "6", "cancelled": "9"},
    "wj": {"reported": "初次报告", "accepted": "已核实", "dispatched": "已派员", "in_progress": "处置中",
           "resolved": "已控制", "closed": "结案", "reopened": "重新处置", "cancelled": "已排除"},
    "sp": {"reported": "UNHANDLED", "accepted": "CONFIRMED", "dispatched": "DISPATCHED",
           "in_progress": "PROCESSING", "resolved": "DONE", "closed": "ARCHIVED", "reopened": "REOPENED",
           "cancelled": "FALSE_ALARM"},
    "xf": {"reported": "01", "accepted": "02", "dispatched": "03", "in_progress": "04", "resolved": "05",
           "closed": "06", "reopened": "07", "cancelled": "09"},
    "sj": {"reported": "待分流", "accepted": "已受理", "dispatched": "已分派", "in_progress": "调解中",
           "resolved": "已办结", "closed": "已归档", "reopened": "重新处理", "cancelled": "不予受理"},
    "mz": {"reported": "已申请", "accepted": "已受理", "dispatched": "入户调查", "in_progress": "审核中",
           "resolved": "已审批", "closed": "已发放", "reopened": "退回补充", "cancelled": "已撤回"},
}
WG_STATUS_NAMES = {"10": "待受理", "20": "已受理", "30": "已派遣", "40": "处置中", "50": "已办结",
                   "60": "已归档", "70": "退回重办", "90": "已作废"}
HB_STATE_NAMES = {"0": "待受理", "1": "已受理", "2": "已转办", "3": "调查处理中", "4": "已办结",
                  "5": "已回复归档", "6": "重新办理", "9": "不予受理"}
LEVEL_ZH = {1: "紧急", 2: "重大", 3: "一般", 4: "轻微"}
GRADE_ZH = {1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级"}
HAZARD_LEVEL = {1: "重大隐患", 2: "较大隐患", 3: "一般隐患", 4: "一般隐患"}


@lru_cache(maxsize=4096)
def grid_worker(grid: str) -> Person:
    """The full-time grid worker of a grid (one per grid, stable)."""
    return fake_person(random.Random(f"worker:{grid}"), grid[:6])


def label(case: Case, i: int) -> str:
    return STATUS_LABELS[case.feed][case.steps[i].status]


def grid_report(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    worker = grid_worker(p.grid)
    lat, lon = position(case, datum)
    code = label(case, i)
    return {
        "reportId": case.no, "eventType": case.ctype.code, "eventTypeName": case.ctype.name,
        "eventLevel": LEVEL_ZH[case.priority], "status": code, "statusName": WG_STATUS_NAMES[code],
        "title": f"{p.grid_name}{case.ctype.name}事件", "content": case.text,
        "reporterName": worker.name, "reporterPhone": worker.phone,
        "partyName": case.person.name, "partyPhone": case.person.phone, "partyIdCard": case.person.id_number,
        "gridCode": p.grid, "gridName": p.grid_name, "villageCode": p.village, "villageName": p.village_name,
        "townCode": p.town, "townName": p.town_name, "districtCode": p.adcode,
        "longitude": lon, "latitude": lat, "address": p.address,
        "handleDept": case.department, "handleOpinion": note(case, step), "source": "网格员巡查",
        "reportTime": plain(case.created), "updateTime": plain(step.at),
    }


def mediation(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step, b = case.place, case.steps[i], case.extra["party_b"]
    lat, lon = position(case, datum)
    return {
        "caseNo": case.no, "disputeType": case.ctype.name, "caseStatus": label(case, i),
        "riskLevel": case.extra["risk"],
        "partyA": {"name": case.person.name, "phone": case.person.phone, "idCard": case.person.id_number},
        "partyB": {"name": b.name, "phone": b.phone, "idCard": b.id_number},
        "disputeDesc": case.text, "mediationOrg": case.department, "progress": note(case, step),
        "location": {"lng": lon, "lat": lat, "address": p.address, "areaCode": p.town,
                     "villageCode": p.village, "gridCode": p.grid},
        "districtCode": p.adcode, "regTime": iso(case.created), "modifyTime": iso(step.at),
    }


def hazard(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    lat, lon = position(case, datum)
    return {
        "hazardId": case.no, "hazardName": f"{case.extra['enterprise']}{case.ctype.name}隐患",
        "hazardType": case.ctype.name, "hazardLevel": HAZARD_LEVEL[case.priority],
        "enterpriseName": case.extra["enterprise"], "creditCode": case.extra["credit_code"],
        "contactPerson": case.person.name, "contactPhone": case.person.phone,
        "description": case.text, "checkDept": case.department, "rectifyStatus": label(case, i),
        "rectifyOpinion": note(case, step),
        "gcjLng": lon, "gcjLat": lat, "address": p.address, "regionCode": p.town,
        "villageCode": p.village, "gridCode": p.grid, "districtCode": p.adcode,
        "findTime": epoch_ms(case.created), "updateTime": iso(step.at),
    }


def environment(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    lat, lon = position(case, datum)
    code = label(case, i)
    return {
        "complaintNo": case.no, "pollutionType": case.ctype.name, "complaintSource": case.extra["channel"],
        "title": f"{p.town_name}{case.ctype.name}投诉", "content": case.text,
        "complainant": case.person.name, "phone": case.person.phone,
        "state": code, "stateName": HB_STATE_NAMES[code], "urgency": str(case.priority),
        "handleUnit": case.department, "reply": note(case, step),
        "lng": lon, "lat": lat, "areaCode": p.town, "districtCode": p.adcode, "address": p.address,
        "acceptTime": case.created.strftime("%Y/%m/%d %H:%M:%S"), "updateTime": plain(step.at),
    }


def health_event(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    lat, lon = position(case, datum)
    return {
        "eventId": case.no, "eventCategory": case.ctype.name, "eventGrade": GRADE_ZH[case.priority],
        "eventStatus": label(case, i), "eventSummary": case.text, "progress": note(case, step),
        "reportOrg": case.extra["org"], "reporter": case.person.name, "reporterTel": case.person.phone,
        "patientCount": case.extra["patients"], "deathCount": case.extra["deaths"],
        "geo": {"type": "Point", "coordinates": [lon, lat]},
        "divisionCode": p.town, "countyCode": p.adcode, "address": p.address, "handleOrg": case.department,
        "occurTime": iso(case.created), "reportTime": iso(case.created), "lastModified": iso(step.at),
    }


def video_alarm(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    lat, lon = position(case, datum)
    return {
        "alarmId": case.no, "deviceCode": case.extra["device"], "deviceName": case.extra["device_name"],
        "algorithmType": case.ctype.code, "algorithmName": case.ctype.name, "alarmLevel": case.priority,
        "confidence": case.extra["confidence"], "handleStatus": label(case, i),
        "handleDept": case.department, "description": case.text,
        "picUrl": f"http://10.44.7.21/snap/{case.no}.jpg",
        "longitude": lon, "latitude": lat, "areaCode": p.town, "districtCode": p.adcode, "gridCode": p.grid,
        "address": p.address, "alarmTime": epoch_ms(case.created), "updateTime": iso_ms(step.at),
    }


CASE_RECORDS: dict[str, Callable[[Case, int, str], dict[str, Any]]] = {
    "wg": grid_report, "tj": mediation, "aj": hazard, "hb": environment, "wj": health_event, "sp": video_alarm,
}
