"""`/board/emergency`: typhoon and emergency mobilisation, for the wall during a storm.

The frame is rendered once (panels, one row per district or town, fixed slots for lists); the
browser keeps it current from the push stream (assets/emergency.js renders a snapshot, the storm is
drawn on the Leaflet map by the page). The alert panel takes a duty officer's acknowledgement
(POST /api/alerts/ack). Every id the browser writes is declared here and handed to it in the
page's config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import dash_leaflet as dl
import dash_mantine_components as dmc
from dash import dcc, html

from layouts.common import feed_chips, header, positive, rotation, scope_of, tile_layers
from layouts.i18n import lang_of, t, table

BOARD = "emergency"
PATH = "/board/emergency"
FEEDS = ("tf", "qx", "yj", "sw", "hs")  # the systems this board is drawn from
WARN_SLOTS = 2
TEAM_SLOTS = 4
GAUGE_SLOTS = 5
CLOSURE_SLOTS = 4
TASK_SLOTS = 4
ALERT_SLOTS = 3
ACK_SLOTS = 3
DISTRICT_COLS = ("issued", "km", "closest", "r7", "r10")
AREA_COLS = ("dep", "tr", "occ", "grid")
MOB_TILES = ("deployed", "transferred", "shelters", "occupancy")
BOAT_TILES = ("in_port", "at_sea", "returning")


@dataclass(frozen=True)
class Ids:
    config: str = "em-config"
    boot: str = "em-boot"
    clock: str = "em-clock"
    clock_note: str = "em-clock-note"
    as_of: str = "em-asof"
    banner: str = "em-banner"
    alert: str = "em-alert"
    scope_name: str = "em-scope-name"
    controls: str = "em-controls"
    level_badge: str = "em-level-badge"
    storm_chip: str = "em-storm-chip"
    resp_level: str = "em-resp-level"
    resp_name: str = "em-resp-name"
    resp_since: str = "em-resp-since"
    resp_peak: str = "em-resp-peak"
    resp_history: str = "em-resp-history"
    resp_from: str = "em-resp-from"
    resp_to: str = "em-resp-to"
    map: str = "em-map"
    tiles: str = "em-tiles"
    tiles_note: str = "em-tiles-note"
    region: str = "em-region"
    boundaries: str = "em-boundaries"
    storm_info: str = "em-storm-info"
    legend: str = "em-legend"
    gauges_count: str = "em-gauges-count"
    incidents: str = "em-incidents"
    incidents_window: str = "em-incidents-window"
    checkin_count: str = "em-checkin-count"
    checkin_duty: str = "em-checkin-duty"
    checkin_missing: str = "em-checkin-missing"
    closures_count: str = "em-closures-count"
    tasks_count: str = "em-tasks-count"
    alerts_count: str = "em-alerts-count"
    ack_who: str = "em-ack-who"
    ack_comment: str = "em-ack-comment"
    ack_button: str = "em-ack-button"
    ack_status: str = "em-ack-status"
    feeds: str = "em-feeds"

    @staticmethod
    def warn(code: str, i: int) -> str:
        return f"em-warn-{code}-{i}"

    @staticmethod
    def district(code: str, col: str) -> str:
        return f"em-district-{code}-{col}"

    @staticmethod
    def area(code: str, col: str) -> str:
        return f"em-area-{code}-{col}"

    @staticmethod
    def slot(kind: str, i: int) -> str:
        return f"em-{kind}-{i}"

    @staticmethod
    def tile(kind: str) -> str:
        return f"em-tile-{kind}"

    @staticmethod
    def feed(code: str) -> str:
        return f"em-feed-{code}"

    @staticmethod
    def feed_lag(code: str) -> str:
        return f"em-feed-{code}-lag"


IDS = Ids()


@dataclass(frozen=True)
class EmergencyContext:
    """What the frame needs, gathered once by the app."""
    city_name: str
    districts: list[tuple[str, str]]
    towns: dict[str, list[tuple[str, str]]]
    feeds: list[tuple[str, str]]  # the emergency feeds (code, name)
    boundaries: dict[str, Any]  # the city's districts, GeoJSON in the display datum
    region: dict[str, Any]  # the provinces around, for a coastline without tiles
    center: tuple[float, float]
    bounds: list[list[float]]
    tiles: dict[str, Any]
    categories: dict[str, tuple[str, str]]
    stale_after_s: float
    reload_h: float
    boards: tuple[str, ...] = ("board/emergency",)


def layout(ctx: EmergencyContext, scope: str = "city", lang: str | None = None, kiosk: str | None = None,
           rotate: str | None = None, reload: str | None = None, default_lang: str = "zh", **_: Any) -> html.Div:
    lang = lang_of(lang, default_lang)
    scope = scope_of(scope, ctx.districts)
    areas = ctx.districts if scope == "city" else ctx.towns.get(scope, [])
    config = {
        "board": BOARD, "scope": scope, "lang": lang, "kiosk": kiosk == "1", "rotate_s": positive(rotate),
        "reload_h": positive(reload) or ctx.reload_h, "stale_after_s": ctx.stale_after_s,
        "stream": f"/stream/{BOARD}?scope={scope}", "ids": {**asdict(IDS), **_frame_ids(ctx, areas)},
        "tiles": ctx.tiles, "text": table(lang), "categories": ctx.categories, "bounds": ctx.bounds,
        "rotation": rotation(ctx.boards, ctx.districts, scope, lang, kiosk == "1", rotate) if rotate else [],
        "districts": [code for code, _ in ctx.districts],
    }
    scope_name = dict(ctx.districts).get(scope, "") if scope != "city" else ""
    return html.Div(className="wall emergency" + (" kiosk" if kiosk == "1" else ""),
                    lang="zh-CN" if lang == "zh" else "en", children=[
        dcc.Store(id=IDS.config, data=config),
        dcc.Store(id=IDS.boot),
        header(t("em_title", lang), ctx.city_name, scope_name, IDS, "em-scope-select", "em-lang", ctx.districts,
               scope, lang, extra=[html.Div("", id=IDS.storm_chip, className="storm-chip"),
                                   html.Div("", id=IDS.level_badge, className="level-badge lv0")]),
        html.Div(className="wall-body em-body", children=[
            html.Div(className="col col-left", children=[_response(lang), _districts(ctx, lang), _gauges(lang),
                                                         _closures_tasks(lang)]),
            html.Div(className="col col-map", children=[_map(ctx, lang), _incidents(lang)]),
            html.Div(className="col col-right", children=[_mobilisation(lang), _areas(areas, scope, lang),
                                                          _checkin_boats(lang)]),
        ]),
        html.Div(className="wall-foot em-foot", children=[_alerts(lang), _feeds(ctx, lang)]),
    ])


def _frame_ids(ctx: EmergencyContext, areas: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "warn": {code: [IDS.warn(code, i) for i in range(WARN_SLOTS)] for code, _ in ctx.districts},
        "district": {code: {c: IDS.district(code, c) for c in DISTRICT_COLS} for code, _ in ctx.districts},
        "area": {code: {c: IDS.area(code, c) for c in AREA_COLS} for code, _ in areas},
        "team": [IDS.slot("team", i) for i in range(TEAM_SLOTS)],
        "team_bar": [IDS.slot("team-bar", i) for i in range(TEAM_SLOTS)],
        "gauge": [IDS.slot("gauge", i) for i in range(GAUGE_SLOTS)],
        "closure": [IDS.slot("closure", i) for i in range(CLOSURE_SLOTS)],
        "task": [IDS.slot("task", i) for i in range(TASK_SLOTS)],
        "alert_item": [IDS.slot("alert-item", i) for i in range(ALERT_SLOTS)],
        "ack_item": [IDS.slot("ack-item", i) for i in range(ACK_SLOTS)],
        "mob": {k: IDS.tile(k) for k in MOB_TILES},
        "boat": {k: IDS.tile(k) for k in BOAT_TILES},
        "feed": {code: IDS.feed(code) for code, _ in ctx.feeds},
        "feed_lag": {code: IDS.feed_lag(code) for code, _ in ctx.feeds},
    }


def _panel(title: str, children: list[Any], cls: str, count_id: str | None = None) -> html.Div:
    head = [title] + ([html.Span("", id=count_id, className="legend")] if count_id else [])
    return html.Div(className=f"panel {cls}", children=[html.H2(head), *children])


def _response(lang: str) -> html.Div:
    return _panel(t("em_response", lang), cls="em-response", children=[
        html.Div(className="resp-row", children=[
            html.Div("—", id=IDS.resp_level, className="resp-level lv0"),
            html.Div(className="resp-text", children=[
                html.Div(t("em_no_response", lang), id=IDS.resp_name, className="resp-name"),
                html.Div("", id=IDS.resp_since, className="resp-since"),
                html.Div("", id=IDS.resp_peak, className="resp-peak"),
            ]),
        ]),
        html.Div(id=IDS.resp_history, className="resp-strip"),
        html.Div(className="resp-axis", children=[html.Span("", id=IDS.resp_from), html.Span("", id=IDS.resp_to)]),
    ])


def _districts(ctx: EmergencyContext, lang: str) -> html.Div:
    head = html.Tr([html.Th(t("area", lang)), html.Th(t("em_warnings", lang), className="c-warn")]
                   + [html.Th(t(k, lang)) for k in ("em_issued", "em_dist_now", "em_closest", "em_r7", "em_r10")])
    rows = [html.Tr([html.Td(name, className="name"),
                     html.Td([html.Span("", id=IDS.warn(code, i), className="chip") for i in range(WARN_SLOTS)],
                             className="c-warn")]
                    + [html.Td("—", id=IDS.district(code, c), className=f"c-{c}") for c in DISTRICT_COLS])
            for code, name in ctx.districts]
    return _panel(t("em_districts", lang), cls="em-districts",
                  children=[html.Table([html.Thead(head), html.Tbody(rows)])])


def _gauges(lang: str) -> html.Div:
    return _panel(t("em_gauges", lang), cls="em-gauges", count_id=IDS.gauges_count, children=[
        html.Ul(className="slots", children=[html.Li("", id=IDS.slot("gauge", i), className="slot")
                                             for i in range(GAUGE_SLOTS)])])


def _map(ctx: EmergencyContext, lang: str) -> html.Div:
    layers: list[Any] = tile_layers(ctx.tiles, IDS.tiles)
    layers += [
        dl.GeoJSON(id=IDS.region, data=ctx.region, style={"variable": "pingan.em.regionStyle"}, interactive=False),
        dl.GeoJSON(id=IDS.boundaries, data=ctx.boundaries, hideout={"fill": {}, "scope": "city"},
                   style={"variable": "pingan.em.boundaryStyle"},
                   onEachFeature={"variable": "pingan.map.boundaryLabel"}),
    ]
    return html.Div(className="panel map em-map-panel", children=[
        html.H2([t("em_map", lang), html.Span(t("em_circles", lang), id=IDS.legend, className="legend")]),
        dl.Map(id=IDS.map, center=ctx.center, zoom=7, bounds=ctx.bounds, children=layers, zoomSnap=0.25,
               className="leaflet-wall" + ("" if ctx.tiles["ok"] else " no-tiles"), attributionControl=ctx.tiles["ok"]),
        html.Div("", id=IDS.storm_info, className="storm-info"),
        html.Div(t("no_tiles", lang) if not ctx.tiles["ok"] else "", id=IDS.tiles_note, className="tiles-note"),
    ])


def _incidents(lang: str) -> html.Div:
    return _panel(t("em_incidents", lang), cls="em-incidents", count_id=IDS.incidents_window, children=[
        dcc.Graph(id=IDS.incidents, className="incidents-graph",
                  config={"displayModeBar": False, "staticPlot": True, "responsive": True},
                  figure={"data": [], "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}})])


def _mobilisation(lang: str) -> html.Div:
    tiles = [html.Div(className=f"mob-tile mob-{k}", children=[html.Div("—", id=IDS.tile(k), className="big"),
                                                                html.Div(t(f"em_{k}", lang), className="label")])
             for k in MOB_TILES]
    teams = [html.Div(className="team-row", children=[html.Div("", id=IDS.slot("team", i), className="team-label"),
                                                      html.Div(html.Div(id=IDS.slot("team-bar", i), className="fill"),
                                                               className="team-bar")])
             for i in range(TEAM_SLOTS)]
    return _panel(t("em_mobilisation", lang), cls="em-mob", children=[
        html.Div(tiles, className="mob-tiles"), html.Div(teams, className="teams")])


def _areas(rows: list[tuple[str, str]], scope: str, lang: str) -> html.Div:
    head = html.Tr([html.Th(t("area", lang))] + [html.Th(t(k, lang)) for k in
                                                 ("em_deployed", "em_transferred", "em_occupancy", "em_checkin")])
    body = [html.Tr([html.Td(name, className="name")] + [html.Td("—", id=IDS.area(code, c)) for c in AREA_COLS])
            for code, name in rows]
    table_ = html.Table([html.Thead(head), html.Tbody(body)], className="dense" if len(rows) > 9 else "")
    return _panel(t("em_areas_city" if scope == "city" else "em_areas_district", lang), cls="areas em-areas",
                  children=[table_])


def _checkin_boats(lang: str) -> html.Div:
    boats = [html.Div(className=f"boat-tile boat-{k}", children=[html.Div("—", id=IDS.tile(k), className="big"),
                                                                  html.Div(t(f"em_{k}", lang), className="label")])
             for k in BOAT_TILES]
    return html.Div(className="panel em-checkin-boats", children=[
        html.Div(className="checkin", children=[
            html.H2([t("em_checkin", lang), html.Span(t("em_checkin_sub", lang), className="legend")]),
            html.Div([html.Span("—", id=IDS.checkin_count, className="big"),
                      html.Span("", id=IDS.checkin_duty, className="sub")], className="checkin-figs"),
            html.Div("", id=IDS.checkin_missing, className="missing"),
        ]),
        html.Div(className="boats", children=[html.H2(t("em_boats", lang)), html.Div(boats, className="boat-tiles")]),
    ])


def _closures_tasks(lang: str) -> html.Div:
    def ul(kind: str, n: int) -> html.Ul:
        return html.Ul(className="slots", children=[html.Li("", id=IDS.slot(kind, i), className="slot")
                                                    for i in range(n)])
    return html.Div(className="panel em-lists", children=[
        html.Div([html.H2([t("em_closures", lang), html.Span("", id=IDS.closures_count, className="legend")]),
                  ul("closure", CLOSURE_SLOTS)]),
        html.Div([html.H2([t("em_tasks", lang), html.Span("", id=IDS.tasks_count, className="legend")]),
                  ul("task", TASK_SLOTS)]),
    ])


def _alerts(lang: str) -> html.Div:
    items = html.Ul(className="slots alert-items", children=[html.Li("", id=IDS.slot("alert-item", i), className="slot")
                                                             for i in range(ALERT_SLOTS)])
    acks = html.Ul(className="slots ack-items", children=[html.Li("", id=IDS.slot("ack-item", i), className="slot")
                                                          for i in range(ACK_SLOTS)])
    form = html.Div(className="ack-form", children=[
        dmc.TextInput(id=IDS.ack_who, placeholder=t("em_ack_who", lang), size="md", className="ack-who",
                      persistence=True, persistence_type="local"),
        dmc.TextInput(id=IDS.ack_comment, placeholder=t("em_ack_comment", lang), size="md", className="ack-comment"),
        dmc.Button(t("em_ack", lang), id=IDS.ack_button, color="red", size="md", className="ack-button", n_clicks=0),
        html.Span("", id=IDS.ack_status, className="ack-status"),
    ])
    return _panel(t("em_alerts", lang), cls="em-alerts", count_id=IDS.alerts_count, children=[
        html.Div(className="alert-cols", children=[html.Div([items, form], className="alert-now"),
                                                    html.Div([html.Div(t("em_ack_log", lang), className="sub"), acks],
                                                             className="alert-log")])])


def _feeds(ctx: EmergencyContext, lang: str) -> html.Div:
    return _panel(t("em_feeds", lang), cls="feeds", children=[feed_chips(ctx.feeds, IDS.feeds, IDS.feed, IDS.feed_lag)])
