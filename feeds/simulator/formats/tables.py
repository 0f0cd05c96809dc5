"""Rows of the table-shaped feeds: the petition exchange table (xf, SQL), 12315 complaints (sj,
CSV with Chinese headers) and social assistance applications (mz, XLSX)."""

from __future__ import annotations

from typing import Any

from dashboard.contract import geo
from feeds.simulator.cases import Case
from feeds.simulator.formats.common import note
from feeds.simulator.formats.records import label
from feeds.simulator.simtime import iso, plain

XF_STATUS_NAMES = {"01": "登记", "02": "受理", "03": "交办", "04": "办理中", "05": "已办结",
                   "06": "已终结", "07": "复查", "09": "不予受理"}
URGENCY_ZH = {1: "紧急", 2: "较急", 3: "一般", 4: "一般"}
XF_COLUMNS = (
    ("row_id", "INTEGER PRIMARY KEY AUTOINCREMENT"), ("petition_no", "TEXT"), ("petition_form", "TEXT"),
    ("petitioner_name", "TEXT"), ("petitioner_phone", "TEXT"), ("petitioner_id_card", "TEXT"),
    ("persons_count", "INTEGER"), ("issue_type", "TEXT"), ("issue_type_name", "TEXT"), ("content", "TEXT"),
    ("handle_org", "TEXT"), ("handle_opinion", "TEXT"), ("status_code", "TEXT"), ("status_name", "TEXT"),
    ("urgency", "TEXT"), ("district_code", "TEXT"), ("town_code", "TEXT"), ("village_code", "TEXT"),
    ("grid_code", "TEXT"), ("address", "TEXT"), ("lng", "REAL"), ("lat", "REAL"), ("register_time", "TEXT"),
    ("updated_at", "TEXT"),
)


def petition_row(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    lat, lon = geo.from_wgs84(p.lat, p.lon, datum)
    code = label(case, i)
    persons = case.extra["persons"]
    return {
        "petition_no": case.no, "petition_form": case.extra["form"], "petitioner_name": case.person.name,
        "petitioner_phone": case.person.phone, "petitioner_id_card": case.person.id_number,
        "persons_count": persons, "issue_type": case.ctype.code, "issue_type_name": case.ctype.name,
        "content": case.text, "handle_org": case.department, "handle_opinion": note(case, step),
        "status_code": code, "status_name": XF_STATUS_NAMES[code],
        "urgency": "紧急" if persons >= 5 else URGENCY_ZH[case.priority],
        "district_code": p.adcode, "town_code": p.town, "village_code": p.village, "grid_code": p.grid,
        "address": p.address, "lng": lon, "lat": lat, "register_time": iso(case.created),
        "updated_at": iso(step.at),
    }


def complaint_row(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    lat, lon = geo.from_wgs84(p.lat, p.lon, datum)
    return {
        "投诉编号": case.no, "登记时间": plain(case.created), "更新时间": plain(step.at), "状态": label(case, i),
        "投诉人": case.person.name, "联系电话": case.person.phone, "身份证号": case.person.id_number,
        "被投诉主体": case.extra["subject"], "统一社会信用代码": case.extra["credit_code"],
        "问题类别": case.ctype.name, "投诉内容": case.text, "涉案金额(元)": case.extra["amount"],
        "所属区县": p.adcode, "所属镇街": p.town, "村居代码": p.village, "网格编码": p.grid,
        "详细地址": p.address, "经度": lon, "纬度": lat, "承办单位": case.department,
        "处理意见": note(case, step), "紧急程度": URGENCY_ZH[case.priority],
    }


def assistance_row(case: Case, i: int, datum: str) -> dict[str, Any]:
    p, step = case.place, case.steps[i]
    lat, lon = geo.from_wgs84(p.lat, p.lon, datum)
    return {
        "申请编号": case.no, "救助类型": case.ctype.name, "申请人": case.person.name,
        "身份证号码": case.person.id_number, "联系电话": case.person.phone, "家庭人口": case.extra["family"],
        "申请金额(元)": case.extra["amount"], "办理状态": label(case, i), "所属区县": p.adcode,
        "所属镇街": p.town, "村居": p.village, "网格编码": p.grid, "家庭住址": p.address,
        "经度": lon, "纬度": lat, "经办单位": case.department, "办理意见": note(case, step),
        "申请日期": plain(case.created), "更新时间": plain(step.at),
    }
