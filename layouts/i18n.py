"""The boards' words, Simplified Chinese first. The browser gets the same table (for what it
writes itself: stale banners, popups, units), so a label is defined once."""

from __future__ import annotations

LANGS = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
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
    "colon": ("：", ": "),
    "list_sep": ("、", ", "),
    "formula": ("口径", "Formula"),
    # the emergency board
    "em_response": ("应急响应", "Emergency response"),
    "em_no_response": ("未启动应急响应", "No emergency response"),
    "em_stood_down": ("已解除", "stood down"),
    "em_since": ("自", "since"),
    "em_peak": ("本轮最高", "peak this episode"),
    "em_level": ("{x}级", "level {x}"),
    "em_districts": ("各区（市）预警与台风距离（公里）", "Warnings and storm distance (km) by district"),
    "em_warnings": ("预警信号", "Warnings"),
    "em_no_warning": ("无", "none"),
    "em_issued": ("发布—失效", "Issued–expires"),
    "em_dist_now": ("距离", "Now"),
    "em_closest": ("最近", "Closest"),
    "em_r7": ("7级风圈", "Gale (7)"),
    "em_r10": ("10级风圈", "Storm (10)"),
    "em_inside": ("已进入", "inside"),
    "em_passed": ("已过", "passed"),
    "em_km": ("公里", "km"),
    "em_gauges": ("超警戒水位与强降雨站点", "Gauges above warning"),
    "em_gauges_none": ("无站点超警戒", "No gauge above warning"),
    "em_over": ("超警", "over"),
    "em_guarantee": ("超保证", "above guarantee"),
    "em_rain": ("降雨", "rain"),
    "em_rain_today": ("08时起", "since 08:00"),
    "em_map": ("台风路径与影响", "Typhoon track and impact"),
    "em_no_storm": ("当前无热带气旋", "No tropical cyclone"),
    "em_far": ("距本市 {km} 公里，暂无影响", "{km} km away, no effect yet"),
    "em_storm_at": ("{t} 位于 {lat}°N {lon}°E", "{t} at {lat}°N {lon}°E"),
    "em_wind": ("近中心最大风力 {pw} 级（{w} 米/秒），中心气压 {p} 百帕", "max wind force {pw} ({w} m/s), {p} hPa"),
    "em_move": ("以每小时 {spd} 公里向{dir}移动", "moving {dir} at {spd} km/h"),
    "em_landfall": ("登陆", "Landfall"),
    "em_forecast": ("预报路径", "Forecast"),
    "em_circles": ("风圈：7级 / 10级 / 12级", "Wind circles: force 7 / 10 / 12"),
    "em_incidents": ("事件窗口内受理警情事件", "Cases received in the event window"),
    "em_window_episode": ("自应急响应启动 {t} 起", "since the response began {t}"),
    "em_window_day": ("近24小时（未启动应急响应）", "last 24 h (no response)"),
    "em_mobilisation": ("力量动员", "Mobilisation"),
    "em_deployed": ("出动人员", "Deployed"),
    "em_transferred": ("转移群众", "Transferred"),
    "em_shelters": ("开放避护场所", "Shelters open"),
    "em_occupancy": ("安置人数 / 容量", "Sheltered / capacity"),
    "em_teams_active": ("已出动", "active"),
    "em_teams_free": ("待命", "available"),
    "em_persons": ("人", " people"),
    "em_areas_city": ("各区（市）动员情况", "Mobilisation by district"),
    "em_areas_district": ("各镇（街）动员情况", "Mobilisation by town"),
    "em_checkin": ("网格报到", "Grid check-ins"),
    "em_checkin_sub": ("网格员吹哨 · 部门报到", "grid workers call, departments report"),
    "em_on_duty": ("在岗人员", "On duty"),
    "em_missing": ("未报到网格", "Not yet checked in"),
    "em_boats": ("海上船舶", "Vessels"),
    "em_in_port": ("在港", "In port"),
    "em_at_sea": ("在海", "At sea"),
    "em_returning": ("返港中", "Returning"),
    "em_closures": ("交通与区域管控", "Closures"),
    "em_closures_none": ("无管控", "No closures"),
    "em_tasks": ("指挥任务", "Command tasks"),
    "em_tasks_none": ("无在办任务", "No open tasks"),
    "em_open": ("在办", "open"),
    "em_done": ("完成", "done"),
    "em_alerts": ("红色告警", "Red alerts"),
    "em_alerts_none": ("无红色告警", "No red alert"),
    "em_ack_who": ("值班员", "Duty officer"),
    "em_ack_comment": ("备注", "Comment"),
    "em_ack": ("确认收到", "Acknowledge"),
    "em_acked": ("已确认", "acknowledged"),
    "em_unacked": ("未确认 {n} 项", "{n} not acknowledged"),
    "em_ack_need_who": ("请填写值班员姓名", "Enter the duty officer's name"),
    "em_ack_done": ("已确认 {n} 项", "{n} acknowledged"),
    "em_ack_log": ("确认记录", "Acknowledgements"),
    "em_alert_banner": ("红色告警 · {h}", "Red alert · {h}"),
    "em_alert_pinned": ("红色告警：已切换至应急指挥", "Red alert: showing emergency command"),
    "em_feeds": ("应急数据接入", "Emergency feeds"),
}

# a warning's colour, as a chip says it after the hazard (台风红: the chip's colour shows it too)
COLOUR: dict[str, tuple[str, str]] = {"blue": ("蓝", " blue"), "yellow": ("黄", " yellow"), "orange": ("橙", " orange"),
                                      "red": ("红", " red"), "None": ("", "")}
# CMA intensity categories of a tropical cyclone
STORM_CAT: dict[str, tuple[str, str]] = {
    "0": ("弱于热带低压", "below TD"), "1": ("热带低压", "TD"), "2": ("热带风暴", "TS"), "3": ("强热带风暴", "STS"),
    "4": ("台风", "TY"), "5": ("强台风", "STY"), "6": ("超强台风", "SuperTY"), "9": ("变性温带气旋", "ET"),
    "None": ("热带气旋", "TC")}

FEED_STATE: dict[str, tuple[str, str]] = {"ok": ("正常", "ok"), "degraded": ("异常", "degraded"),
                                          "down": ("中断", "down")}

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
    out = {k: t(k, lang) for k in TEXT}
    prefixed = {"status": STATUS, "colour": COLOUR, "storm_cat": STORM_CAT, "feed_state": FEED_STATE}
    for prefix, words in prefixed.items():
        out |= {f"{prefix}.{k}": (en if lang == "en" else zh) for k, (zh, en) in words.items()}
    return out
