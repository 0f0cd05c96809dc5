"""The KPIs the command centre reports, defined once: names, formulas, targets, windows, and how each
is computed from the live state's window counts. Every reader uses this module — the wall's snapshot
builder, the wall's frame (each tile's formula on hover), the demo's report — so a rate cannot mean
two things in two places.

Rates are counted so that they cannot flatter (DOMAIN.md): an on-time rate is over the clocks stopped
in the window *plus* the open clocks already past their deadline, whatever their age.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from dashboard.contract.board import EpochMs, Model
from dashboard.contract.event import BEIJING
from dashboard.live.state import CLOSE_STAGES, SIGN_STAGES

Window = Literal["today", "24h", "7d", "30d"]
KpiKey = Literal["closure", "on_time_sign_off", "response", "on_time_closure", "satisfaction", "sent_back"]
Status = Literal["ok", "warn", "bad", "none"]

WINDOWS: dict[Window, tuple[str, str]] = {"today": ("今日", "today"), "24h": ("近24小时", "last 24 h"),
                                          "7d": ("近7日", "last 7 days"), "30d": ("近30日", "last 30 days")}
WARN_POINTS = 2.0  # a rate this close below its target is a warning, further below it is bad


@dataclass(frozen=True)
class Kpi:
    key: KpiKey
    name: tuple[str, str]  # 中文, English
    formula: tuple[str, str]
    target: float | None  # percent; None: reported without a target


KPIS: tuple[Kpi, ...] = (
    Kpi("closure", ("办结率", "Closure rate"),
        ("窗口内受理工单中已办结数 ÷ (受理数 − 撤销数)",
         "cases received in the window and handled ÷ (received − cancelled)"), 98.9),
    Kpi("on_time_sign_off", ("按时签收率", "On-time sign-off"),
        ("按时签收数 ÷ (窗口内签收数 + 当前超时未签收数)",
         "signed on time ÷ (signed in the window + open cases now past their sign-off deadline)"), 100.0),
    Kpi("response", ("部门响应率", "Department response"),
        ("窗口内已签收数 ÷ (窗口内签收数 + 当前超时未签收数)",
         "signed in the window ÷ (signed in the window + open cases now past their sign-off deadline)"), 100.0),
    Kpi("on_time_closure", ("按时办结率", "On-time closure"),
        ("按期办结数 ÷ (窗口内办结数 + 当前超期未办结数)",
         "handled by the deadline ÷ (handled in the window + open cases now past their deadline)"), 100.0),
    Kpi("satisfaction", ("满意率", "Satisfaction"),
        ("满意与基本满意数 ÷ 回访评价数", "satisfied or fairly satisfied ÷ rated, ratings in the window"), 99.0),
    Kpi("sent_back", ("发回重办率", "Sent back for redo"),
        ("发回重办次数 ÷ 窗口内办结数", "times sent back for redo ÷ cases handled in the window"), None),
)
BY_KEY: dict[str, Kpi] = {k.key: k for k in KPIS}


class KpiParts(Model):
    """The counts every rate is made of, in one area and window."""
    received: int = Field(description="cases received in the window")
    handled: int = Field(description="cases handled (办结) in the window")
    handled_of_received: int = Field(description="of the cases received in the window, those handled")
    cancelled_of_received: int = Field(description="of the cases received in the window, those cancelled")
    signed: int = Field(description="sign-off clocks stopped in the window")
    signed_on_time: int
    sign_overdue_open: int = Field(description="open sign-off clocks past their deadline now")
    closed: int = Field(description="closure clocks stopped in the window")
    closed_on_time: int
    close_overdue_open: int = Field(description="open closure clocks past their deadline now")
    rated: int
    satisfied: int
    sent_back: int = Field(description="times sent back for redo in the window")


class KpiRate(Model):
    value: float | None = Field(description="percent (two decimals); None when its denominator is 0")
    status: Status = Field(description="against the target: ok at or above it, warn within 2 points, bad below; "
                                       "none without a value or a target")


class Kpis(Model):
    """One area's KPIs in one window."""
    parts: KpiParts
    rates: dict[KpiKey, KpiRate]


class WindowRange(Model):
    label_zh: str
    label_en: str
    start: EpochMs
    end: EpochMs


def window_range(w: Window, now: float) -> tuple[datetime, datetime]:
    """A window's start and end in Beijing time: calendar days (today, 7 and 30 days) or the current
    hour and the 23 before it (24 h)."""
    end = datetime.fromtimestamp(now, BEIJING)
    midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
    if w == "today":
        return midnight, end
    if w == "24h":
        return end.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23), end
    days = 7 if w == "7d" else 30
    return midnight - timedelta(days=days - 1), end


def windows(now: float) -> dict[Window, WindowRange]:
    out = {}
    for w, (zh, en) in WINDOWS.items():
        start, end = window_range(w, now)
        out[w] = WindowRange(label_zh=zh, label_en=en, start=int(start.timestamp() * 1000),
                             end=int(end.timestamp() * 1000))
    return out


def rate(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den > 0 else None


def status(value: float | None, target: float | None) -> Status:
    if value is None or target is None:
        return "none"
    return "ok" if value >= target else "warn" if value >= target - WARN_POINTS else "bad"


def kpis(counts: Mapping[str, int], value: str, overdue: Mapping[str, int]) -> Kpis:
    """The KPIs of one area (``value``: its counter value, ``*`` for the city) from its window counts
    (``{value}|{metric}`` → n) and its open clocks past their deadline now (stage → n)."""
    def c(metric: str) -> int:
        return counts.get(f"{value}|{metric}", 0)

    def stages(prefix: str, kinds: frozenset[str]) -> int:
        return sum(n for k, n in counts.items()
                   if k.startswith(f"{value}|{prefix}:") and k.rsplit(".", 1)[-1] in kinds)

    parts = KpiParts(
        received=c("recv"), handled=c("done"), handled_of_received=c("done_c"), cancelled_of_received=c("cancel_c"),
        signed=stages("stop", SIGN_STAGES), signed_on_time=stages("ot", SIGN_STAGES),
        sign_overdue_open=sum(n for st, n in overdue.items() if st.rsplit(".", 1)[-1] in SIGN_STAGES),
        closed=stages("stop", CLOSE_STAGES), closed_on_time=stages("ot", CLOSE_STAGES),
        close_overdue_open=sum(n for st, n in overdue.items() if st.rsplit(".", 1)[-1] in CLOSE_STAGES),
        rated=c("rated"), satisfied=c("satisfied"), sent_back=c("redo"))
    p = parts
    values: dict[KpiKey, float | None] = {
        "closure": rate(p.handled_of_received, p.received - p.cancelled_of_received),
        "on_time_sign_off": rate(p.signed_on_time, p.signed + p.sign_overdue_open),
        "response": rate(p.signed, p.signed + p.sign_overdue_open),
        "on_time_closure": rate(p.closed_on_time, p.closed + p.close_overdue_open),
        "satisfaction": rate(p.satisfied, p.rated),
        "sent_back": rate(p.sent_back, p.handled),
    }
    return Kpis(parts=parts, rates={k: KpiRate(value=v, status=status(v, BY_KEY[k].target))
                                    for k, v in values.items()})
