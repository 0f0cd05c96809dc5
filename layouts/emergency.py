"""The emergency board's frame (dashboard/boards.py EMERGENCY): typhoon and emergency mobilisation,
for the wall during a storm.

The frame is rendered once (panels, one row per district or town, fixed slots for lists and the
level strip); the browser keeps it current from the push stream (assets/boards/emergency.js
renders a snapshot; the storm, gauges, closures and vessels arrive as one GeoJSON layer). The
alert panel takes a duty officer's acknowledgement (POST /api/alerts/ack). Every id the browser
writes is declared here and handed to it in the page's config.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
import dash_mantine_components as dmc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from dashboard.live.emergency_board import CHIPS, STRIP_MAX
from dashboard.web.mapconf import display_datum, region
from layouts.frame import FrameIds, Page, base_map, config, feed_chips, frame, table_class

FEEDS = ("tf", "qx", "yj", "sw", "hs")  # the systems this board is drawn from
TEAM_SLOTS = 4
GAUGE_SLOTS = 5
CLOSURE_SLOTS = 4
TASK_SLOTS = 4
ALERT_SLOTS = 3
ACK_SLOTS = 3
DISTRICT_COLS = ("issued", "km", "closest", "force7", "force10")
AREA_COLS = ("deployed", "transferred", "occupancy", "grid")
GRID_CLASSES = ("missing", "few", "some", "many")
MOB_TILES = ("deployed", "transferred", "shelters", "occupancy")
BOAT_TILES = ("in_port", "at_sea", "returning")


IDS = FrameIds("em")


def layout(page: Page) -> html.Div:
    cfg = config(page, IDS, _frame_ids(page), feeds=FEEDS)
    extra = [html.Div("", id=IDS.storm_chip, className="storm-chip"),
             html.Div("", id=IDS.level_badge, className="level-badge lv0")]
    return frame(page, IDS, cfg, header_extra=extra, classes="em", body=[
        html.Div(className="col col-left", children=[_response(page), _districts(page), _gauges(page),
                                                     _closures_tasks(page)]),
        html.Div(className="col col-map", children=[_map(page), _incidents(page)]),
        html.Div(className="col col-right", children=[_mobilisation(page), _areas(page), _checkin_boats(page)]),
    ], foot=[_alerts(page), _feeds(page)])


def _frame_ids(page: Page) -> dict[str, Any]:
    districts = page.site.districts
    names = ("level_badge", "storm_chip", "resp_level", "resp_name", "resp_since", "resp_peak", "resp_from", "resp_to",
             "map", "map_panel", "boundaries", "layer", "storm_info", "legend", "gauges_count", "incidents",
             "incidents_window", "checkin_count", "checkin_duty", "checkin_missing", "closures_count", "tasks_count",
             "alerts_count", "ack_status")
    return {
        **{n: getattr(IDS, n) for n in names},
        "strip": [IDS.of("strip", i) for i in range(STRIP_MAX)],
        "chip": {code: [IDS.of("warn", code, i) for i in range(CHIPS)] for code, _ in districts},
        "district": {code: {c: IDS.of("district", code, c) for c in DISTRICT_COLS} for code, _ in districts},
        "area": {code: {**{c: IDS.of("area", code, c) for c in AREA_COLS}, **_grid_ids(page, code)}
                 for code, _ in page.areas},
        "team": [IDS.of("team", i) for i in range(TEAM_SLOTS)],
        "team_bar": [IDS.of("team-bar", i) for i in range(TEAM_SLOTS)],
        "gauge": [IDS.of("gauge", i) for i in range(GAUGE_SLOTS)],
        "closure": [IDS.of("closure", i) for i in range(CLOSURE_SLOTS)],
        "task": [IDS.of("task", i) for i in range(TASK_SLOTS)],
        "alert_item": [IDS.of("alert-item", i) for i in range(ALERT_SLOTS)],
        "ack_item": [IDS.of("ack-item", i) for i in range(ACK_SLOTS)],
        "mob": {k: IDS.of("tile", k) for k in MOB_TILES},
        "boat": {k: IDS.of("tile", k) for k in BOAT_TILES},
    }


def _panel(title: str, children: list[Any], cls: str, count_id: str | None = None) -> html.Div:
    head = [title] + ([html.Span("", id=count_id, className="legend")] if count_id else [])
    return html.Div(className=f"panel {cls}", children=[html.H2(head), *children])


def _response(page: Page) -> html.Div:
    return _panel(page.t("em_response"), cls="em-response", children=[
        html.Div(className="resp-row", children=[
            html.Div("—", id=IDS.resp_level, className="resp-level lv0"),
            html.Div(className="resp-text", children=[
                html.Div(page.t("em_no_response"), id=IDS.resp_name, className="resp-name"),
                html.Div("", id=IDS.resp_since, className="resp-since"),
                html.Div("", id=IDS.resp_peak, className="resp-peak"),
            ]),
        ]),
        html.Div(className="resp-strip", children=[html.Span(id=IDS.of("strip", i), className="seg", hidden=True)
                                                   for i in range(STRIP_MAX)]),
        html.Div(className="resp-axis", children=[html.Span("", id=IDS.resp_from), html.Span("", id=IDS.resp_to)]),
    ])


def _districts(page: Page) -> html.Div:
    head = html.Tr([html.Th(page.t("area")), html.Th(page.t("em_warnings"), className="c-warn")]
                   + [html.Th(page.t(k)) for k in ("em_issued", "em_dist_now", "em_closest", "em_r7", "em_r10")])
    rows = [html.Tr([html.Td(name, className="name"),
                     html.Td([html.Span("", id=IDS.of("warn", code, i), className="chip") for i in range(CHIPS)],
                             className="c-warn")]
                    + [html.Td("—", id=IDS.of("district", code, c), className=f"c-{c}") for c in DISTRICT_COLS])
            for code, name in page.site.districts]
    return _panel(page.t("em_districts"), cls="em-districts",
                  children=[html.Table([html.Thead(head), html.Tbody(rows)])])


def _slots(kind: str, n: int, cls: str = "slots") -> html.Ul:
    return html.Ul(className=cls, children=[html.Li("", id=IDS.of(kind, i), className="slot") for i in range(n)])


def _gauges(page: Page) -> html.Div:
    return _panel(page.t("em_gauges"), cls="em-gauges", count_id=IDS.gauges_count, children=[
        _slots("gauge", GAUGE_SLOTS)])


def _map(page: Page) -> html.Div:
    site = page.site
    if "emergency.region" not in site.cache:
        site.cache["emergency.region"] = region(site.city.code, display_datum(site.settings.tile_datum))
    layers = [
        dl.GeoJSON(id=IDS.region, data=site.cache["emergency.region"], interactive=False,
                   style={"variable": "pingan.renderers.emergency.regionStyle"}),
        dl.GeoJSON(id=IDS.boundaries, data=site.boundaries, hideout={"rank": {}, "scope": page.scope.code},
                   style={"variable": "pingan.renderers.emergency.boundaryStyle"},
                   onEachFeature={"variable": "pingan.map.districtLabel"}),
        dl.GeoJSON(id=IDS.layer, data={"type": "FeatureCollection", "features": []}, hideout={"lang": page.lang},
                   style={"variable": "pingan.renderers.emergency.layerStyle"},
                   pointToLayer={"variable": "pingan.renderers.emergency.layerPoint"},
                   onEachFeature={"variable": "pingan.renderers.emergency.layerTooltip"}),
    ]
    ok = site.tiles["ok"]
    return html.Div(id=IDS.map_panel, className="panel map em-map-panel", children=[
        html.H2([page.t("em_map"), html.Span(page.t("em_circles"), id=IDS.legend, className="legend")]),
        base_map(page, IDS.map, layers, zoom=7, tiles_id=IDS.tiles),
        html.Div("", id=IDS.storm_info, className="storm-info"),
        html.Div(page.t("no_tiles") if not ok else "", id=IDS.tiles_note, className="tiles-note"),
    ])


def _incidents(page: Page) -> html.Div:
    return _panel(page.t("em_incidents"), cls="em-incidents", count_id=IDS.incidents_window, children=[
        dcc.Graph(id=IDS.incidents, className="incidents-graph",
                  config={"displayModeBar": False, "staticPlot": True, "responsive": True},
                  figure={"data": [], "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}})])


def _mobilisation(page: Page) -> html.Div:
    tiles = [html.Div(className=f"mob-tile mob-{k}", children=[html.Div("—", id=IDS.of("tile", k), className="big"),
                                                                html.Div(page.t(f"em_{k}"), className="label")])
             for k in MOB_TILES]
    teams = [html.Div(className="team-row", children=[html.Div("", id=IDS.of("team", i), className="team-label"),
                                                      html.Div(html.Div(id=IDS.of("team-bar", i), className="fill"),
                                                               className="team-bar")])
             for i in range(TEAM_SLOTS)]
    return _panel(page.t("em_mobilisation"), cls="em-mob", children=[
        html.Div(tiles, className="mob-tiles"), html.Div(teams, className="teams")])


def _grid_ids(page: Page, code: str) -> dict[str, str]:
    return {f"grid_{g}": IDS.of("area", code, f"grid-{g}") for g in GRID_CLASSES} if _bars(page) else {}


def _bars(page: Page) -> bool:
    """A district's board draws each town's grids as a bar by people on duty."""
    return page.scope.level != "city"


def _grid_cell(page: Page, code: str) -> list[Any]:
    """The grids checked in (a count), and on a district's board a bar of the town's grids."""
    bar = [html.Span(className="grid-bar", children=[html.Span(id=IDS.of("area", code, f"grid-{g}"), className=f"g {g}")
                                                     for g in GRID_CLASSES])] if _bars(page) else []
    return [*bar, html.Span("—", id=IDS.of("area", code, "grid"), className="g-count")]


def _areas(page: Page) -> html.Div:
    rows = page.areas
    head = html.Tr([html.Th(page.t("area"))] + [html.Th(page.t(k)) for k in
                                                ("em_deployed", "em_transferred", "em_occupancy", "em_checkin")])
    body = [html.Tr([html.Td(name, className="name")]
                    + [html.Td("—", id=IDS.of("area", code, c)) for c in AREA_COLS[:3]]
                    + [html.Td(_grid_cell(page, code), className="c-grid")])
            for code, name in rows]
    table_ = html.Table([html.Thead(head), html.Tbody(body)], className=table_class(rows))
    title = page.t("em_areas_city" if page.scope.level == "city" else "em_areas_district")
    return _panel(title, cls="areas em-areas", children=[table_])


def _checkin_boats(page: Page) -> html.Div:
    boats = [html.Div(className=f"boat-tile boat-{k}", children=[html.Div("—", id=IDS.of("tile", k), className="big"),
                                                                  html.Div(page.t(f"em_{k}"), className="label")])
             for k in BOAT_TILES]
    return html.Div(className="panel em-checkin-boats", children=[
        html.Div(className="checkin", children=[
            html.H2([page.t("em_checkin"), html.Span(page.t("em_checkin_sub"), className="legend")]),
            html.Div([html.Span("—", id=IDS.checkin_count, className="big"),
                      html.Span("", id=IDS.checkin_duty, className="sub")], className="checkin-figs"),
            html.Div("", id=IDS.checkin_missing, className="missing"),
        ]),
        html.Div(className="boats", children=[html.H2(page.t("em_boats")), html.Div(boats, className="boat-tiles")]),
    ])


def _closures_tasks(page: Page) -> html.Div:
    return html.Div(className="panel em-lists", children=[
        html.Div([html.H2([page.t("em_closures"), html.Span("", id=IDS.closures_count, className="legend")]),
                  _slots("closure", CLOSURE_SLOTS)]),
        html.Div([html.H2([page.t("em_tasks"), html.Span("", id=IDS.tasks_count, className="legend")]),
                  _slots("task", TASK_SLOTS)]),
    ])


def _alerts(page: Page) -> html.Div:
    viewer = page.viewer
    may_ack = viewer is None or viewer.may_ack  # no viewer: the renderers' fixtures
    signer = page.t("em_ack_as").format(name=viewer.label(page.lang)) if viewer else ""
    form = html.Div(className="ack-form", hidden=not may_ack, children=[
        html.Span(signer, id=IDS.ack_who, className="ack-who"),
        dmc.TextInput(id=IDS.ack_comment, placeholder=page.t("em_ack_comment"), size="md", className="ack-comment"),
        dmc.Button(page.t("em_ack"), id=IDS.ack_button, color="red", size="md", className="ack-button", n_clicks=0),
        html.Span("", id=IDS.ack_status, className="ack-status"),
    ])
    readonly = html.Div(page.t("em_ack_readonly").format(role=viewer.label(page.lang).split(" · ")[-1]),
                        className="ack-readonly") if viewer and not may_ack else None
    return _panel(page.t("em_alerts"), cls="em-alerts", count_id=IDS.alerts_count, children=[
        html.Div(className="alert-cols", children=[
            html.Div([_slots("alert-item", ALERT_SLOTS, "slots alert-items"), form, readonly], className="alert-now"),
            html.Div([html.Div(page.t("em_ack_log"), className="sub"),
                      _slots("ack-item", ACK_SLOTS, "slots ack-items")], className="alert-log")])])


def _feeds(page: Page) -> html.Div:
    return _panel(page.t("em_feeds"), cls="feeds", children=[feed_chips(page, IDS, FEEDS)])


# the acknowledgement form: every item not yet acknowledged, signed by the logged-in duty officer
clientside_callback(ClientsideFunction("pingan", "acknowledge"), Output(IDS.ack_status, "children"),
                    Input(IDS.ack_button, "n_clicks"), State(IDS.ack_comment, "value"),
                    prevent_initial_call=True)
