"""The boards' words, Simplified Chinese first. The browser gets the same table (for what it
writes itself: stale banners, popups, units), so a label is defined once."""

from __future__ import annotations

LANGS = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    "title": ("综合指挥中心 · 网格化治理态势", "Command Centre · Grid Governance"),
    "city": ("全市", "Whole city"),
    "open": ("在办工单", "Open cases"),
    "open_p1": ("紧急在办", "Urgent open"),
    "esc": ("多次重办", "Escalated"),
    "inc": ("在办事件", "Open incidents"),
    "kpis": ("考核指标", "Performance"),
    "target": ("目标", "target"),
    "window_30d": ("近30日", "30 days"),
    "today": ("今日", "today"),
    "sla": ("时限预警", "SLA clocks"),
    "stage": ("环节", "Stage"),
    "red": ("超时", "Overdue"),
    "yellow": ("临期", "Warning"),
    "due_1h": ("1小时内到期", "Due < 1 h"),
    "running": ("计时中", "Running"),
    "map": ("实时态势", "Live map"),
    "areas_city": ("各区（市）情况", "Districts"),
    "areas_district": ("各镇（街）情况", "Towns"),
    "area": ("地区", "Area"),
    "received_today": ("今日受理", "Received today"),
    "closed_today": ("今日办结", "Handled today"),
    "closure_30d": ("办结率(30日)", "Closure (30 d)"),
    "trend": ("每小时受理量 · 今日与昨日", "Cases per hour · today vs yesterday"),
    "yesterday": ("昨日", "yesterday"),
    "ticker": ("最新紧急事件", "Newest urgent events"),
    "feeds": ("接入系统", "Connected systems"),
    "as_of": ("数据截至", "Data as of"),
    "stale_snapshot": ("数据已停止更新：最近一次快照在 {s} 秒前", "Data stopped updating: last snapshot {s} s ago"),
    "stale_ingest": ("数据接入中断：最近一次接入在 {s} 秒前", "Ingestion stopped: last poll {s} s ago"),
    "offline": ("与服务器的连接已断开，正在重连…", "Connection to the server lost, reconnecting…"),
    "no_tiles": ("底图不可用，显示行政区划边界", "No base map reachable: boundaries only"),
    "reported": ("上报", "reported"),
    "status": ("状态", "status"),
    "due": ("时限", "due"),
    "sources": ("来源", "sources"),
    "cases": ("件", ""),
    "lag": ("延迟", "lag"),
    "seconds": ("秒", "s"),
    "choropleth_open": ("按在办量着色", "Shaded by open cases"),
    "choropleth_risk": ("按超时风险着色", "Shaded by SLA risk"),
    "demo_clock": ("演示时间 ×{x}", "demo time ×{x}"),
    "alert": ("红色预警", "Red alert"),
    "policy_other": ("其他", "Other"),
    "formula": ("口径", "Formula"),
}

STATUS: dict[str, tuple[str, str]] = {
    "reported": ("已上报", "reported"), "accepted": ("已受理", "accepted"), "dispatched": ("已派遣", "dispatched"),
    "in_progress": ("处置中", "in progress"), "escalated": ("已升级", "escalated"),
    "reopened": ("重办", "reopened"), "resolved": ("已办结", "resolved"), "closed": ("已归档", "closed"),
    "rated": ("已回访", "rated"), "cancelled": ("已撤销", "cancelled"),
}


def lang_of(value: str | None, default: str = "zh") -> str:
    return value if value in LANGS else default


def t(key: str, lang: str) -> str:
    zh, en = TEXT[key]
    return en if lang == "en" else zh


def table(lang: str) -> dict[str, str]:
    """Every word in one language, for the browser."""
    return {k: t(k, lang) for k in TEXT} | {f"status.{k}": (en if lang == "en" else zh)
                                           for k, (zh, en) in STATUS.items()}
