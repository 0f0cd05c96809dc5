"""Helpers shared by the renderers: positions in a feed's datum, status labels, notes."""

from __future__ import annotations

from datetime import datetime, timedelta

from dashboard.contract import geo
from feeds.simulator.cases import Case
from feeds.simulator.lifecycle import Step

# Open311 workflow labels (FORMATS.md lists them), by stage
WORKFLOW_ZH = {
    "reported": "待签收", "accepted": "已签收", "dispatched": "已派遣", "in_progress": "处理中",
    "replied": "处理中", "resolved": "已办结", "solution": "已办结", "closed": "已归档",
    "rated": "已回访", "reopened": "重办", "cancelled": "已撤销",
}
CLOSED_STATUSES = frozenset({"resolved", "closed", "rated", "cancelled"})

NOTES = {
    "reported": "来件已登记，待签收。",
    "accepted": "{dept}已签收。",
    "acknowledged": "接警员已受理。",
    "dispatched": "已派遣至{dept}。",
    "enroute": "处置力量已出发。",
    "onscene": "处置力量已到达现场。",
    "in_progress": "{dept}正在处理。",
    "replied": "{dept}已联系企业答复。",
    "resolved": "已办结：{dept}已现场处理完毕。",
    "solution": "{dept}已提出解决方案。",
    "cleared": "现场处置完毕。",
    "closed": "已办结归档。",
    "rated": "回访完成，评价：{mood}。",
    "reopened": "回访不满意，发回重办（第{redo}次）。",
    "cancelled": "重复或无效来件，已撤销。",
}


def position(case: Case, datum: str) -> tuple[float, float]:
    """(lat, lon) of the case in the feed's datum."""
    return geo.from_wgs84(case.place.lat, case.place.lon, datum)


def note(case: Case, step: Step) -> str:
    return NOTES.get(step.stage, "").format(dept=case.department, mood=step.satisfaction or "", redo=step.redo)


def add_working_days(t: datetime, days: int) -> datetime:
    """``days`` working days (Monday-Friday) after ``t`` (public holidays ignored)."""
    out = t
    while days > 0:
        out += timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


def satisfaction(case: Case, i: int) -> str | None:
    """The latest rating up to step ``i``."""
    return next((s.satisfaction for s in reversed(case.steps[: i + 1]) if s.satisfaction), None)
