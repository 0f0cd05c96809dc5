"""CAP 1.2 warnings (qx) in the Chinese profile (GB/T 35965.1-2018) and the RSS index over them."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from feeds.simulator.geography import CityGeo
from feeds.simulator.simtime import iso
from feeds.simulator.weather import HAZARDS, CapMessage

SEVERITY = {"蓝色": "Minor", "黄色": "Moderate", "橙色": "Severe", "红色": "Extreme"}
ACTION_TEXT = {"发布": "发布", "升级": "升级发布", "降级": "降级为", "继续": "继续发布", "解除": "解除"}
VALID_FOR = timedelta(hours=6)
GUIDE = {
    "台风": "做好防风准备，停止露天集体活动，船舶回港避风。",
    "暴雨": "注意防范城市内涝和山洪地质灾害，低洼地区人员及时转移。",
    "大风": "注意高空坠物，加固围板、棚架等易被风吹动的搭建物。",
    "雷雨大风": "避免户外活动，远离易积水区域和广告牌。",
    "高温": "避免高温时段户外作业，注意防暑降温。",
    "大雾": "驾驶人员注意减速慢行，机场、高速公路做好安全管理。",
}


def headline(m: CapMessage, city: CityGeo) -> str:
    issuer = f"{city.name}{city.district_names[m.adcode]}气象台"
    if m.action == "解除":
        return f"{issuer}解除{m.hazard}{m.colour}预警信号"
    return f"{issuer}{ACTION_TEXT[m.action]}{m.hazard}{m.colour}预警信号"


def alert_xml(m: CapMessage, city: CityGeo) -> bytes:
    district = city.district_names[m.adcode]
    sender = f"{district}气象台"
    refs = "" if m.msg_type == "Alert" else f"<references>{sender},{m.root},{iso(m.root_sent)}</references>"
    polygon = " ".join(f"{lat},{lon}" for lat, lon in city.cap_polygon(m.adcode))
    code = HAZARDS[m.hazard][0]
    title = headline(m, city)
    text = (f"{title}：预计未来6小时{district}大部分地区将受{m.hazard}影响，请注意防范。"
            if m.action != "解除" else f"{title}，{m.hazard}影响已减弱。")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{m.identifier}</identifier>
  <sender>{escape(sender)}</sender>
  <sent>{iso(m.sent)}</sent>
  <status>Actual</status>
  <msgType>{m.msg_type}</msgType>
  <scope>Public</scope>
  <code>GB/T 35965.1-2018</code>
  {refs}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>{m.hazard}</event>
    <responseType>{"AllClear" if m.msg_type == "Cancel" else "Prepare"}</responseType>
    <urgency>{"Past" if m.msg_type == "Cancel" else "Expected"}</urgency>
    <severity>{SEVERITY[m.colour]}</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>GB/T 35965.1</valueName><value>{code}</value></eventCode>
    <effective>{iso(m.sent)}</effective>
    <expires>{iso(m.sent + VALID_FOR)}</expires>
    <senderName>{escape(city.name + sender)}</senderName>
    <headline>{escape(title)}</headline>
    <description>{escape(text)}</description>
    <instruction>{escape(GUIDE[m.hazard])}</instruction>
    <parameter><valueName>预警级别</valueName><value>{m.colour}</value></parameter>
    <area>
      <areaDesc>{escape(city.name + district)}</areaDesc>
      <polygon>{polygon}</polygon>
      <geocode><valueName>行政区划代码</valueName><value>{m.adcode}</value></geocode>
    </area>
  </info>
</alert>
""".encode()


def rss(items: list[tuple[str, str, datetime]], base: str, city: CityGeo) -> bytes:
    """RSS 2.0 index, newest first: (identifier, title, published)."""
    parts = []
    for ident, title, published in items:
        link = f"{base}/cap/qx/alerts/{ident}.xml"
        parts.append(f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                     f'<guid isPermaLink="false">{escape(ident)}</guid>'
                     f"<pubDate>{format_datetime(published)}</pubDate></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{escape(city.name)}突发事件预警信息</title><link>{escape(base)}/cap/qx/rss.xml</link>"
            f"<description>{escape(city.name)}气象预警（CAP 1.2）</description>"
            f"{''.join(parts)}</channel></rss>").encode()
