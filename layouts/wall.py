"""The wall's frame (dashboard/boards.py WALL): the command centre's live board for the video wall.

The server renders the frame once (panels, empty figures, one row per district or town, one chip
per feed); the browser keeps it current from the push stream (assets/boards/wall.js renders each
snapshot), writing only the values that changed. Every id the browser writes to is declared here
and handed to it in the page's config, so no id is typed twice.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
import dash_mantine_components as dmc
from dash import dcc, html

from dashboard.live import kpi
from dashboard.live.sla import Policies
from dashboard.live.wall_board import SlaRowSpec, sla_rows
from layouts.frame import FrameIds, Page, base_map, config, feed_chips, frame, table_class

NOW_TILES = ("open", "urgent_open", "open_incidents", "escalated_open")
KPI_TILES = ("closure", "on_time_sign_off", "response", "on_time_closure", "satisfaction")
TICKER_ROWS = 8
AREA_COLS = ("open", "received_today", "handled_today", "red", "yellow", "closure_30d")
SLA_COLS = ("red", "yellow", "due_within_1h", "running")
KPI_PARTS = ("tile", "value", "today")
WORDS = {"urgent_open": "open_p1", "open_incidents": "inc", "escalated_open": "esc", "handled_today": "closed_today",
         "due_within_1h": "due_1h"}  # i18n keys of the columns and tiles


IDS = FrameIds("wall")


def _rows(page: Page) -> list[SlaRowSpec]:
    cache = page.site.cache
    if "wall.sla_rows" not in cache:
        cache["wall.sla_rows"] = sla_rows(Policies.load(page.site.settings.sla_policies))
    rows: list[SlaRowSpec] = cache["wall.sla_rows"]
    return rows


def layout(page: Page) -> html.Div:
    rows = _rows(page)
    choropleth = "risk" if page.query.get("choropleth") == "risk" else "open"
    cfg = config(page, IDS, _frame_ids(page, rows), choropleth=choropleth)
    return frame(page, IDS, cfg, header_extra=[], body=[
        html.Div(className="col col-left", children=[_now_tiles(page), _kpi_tiles(page), _sla(page, rows)]),
        html.Div(className="col col-map", children=[_map(page)]),
        html.Div(className="col col-right", children=[_areas(page), _trend(page)]),
    ], foot=[_ticker(page), _feeds(page)])


def _frame_ids(page: Page, rows: list[SlaRowSpec]) -> dict[str, Any]:
    """The id of every value the browser writes, keyed as the snapshot keys it (the browser never
    builds an id itself)."""
    return {
        "map": IDS.map, "markers": IDS.markers, "boundaries": IDS.boundaries, "legend": IDS.legend,
        "trend": IDS.trend, "ticker": IDS.ticker,
        "now": {k: IDS.of("now", k) for k in NOW_TILES},
        "kpi": {k: {part: IDS.of("kpi", k, part) for part in KPI_PARTS} for k in KPI_TILES},
        "sla": {r.row: {c: IDS.of("sla", r.row, c) for c in SLA_COLS} for r in rows},
        "area": {code: {c: IDS.of("area", code, c) for c in AREA_COLS} for code, _ in page.areas},
        "tick": [IDS.of("tick", i) for i in range(TICKER_ROWS)],
    }


def _word(key: str, page: Page) -> str:
    return page.t(WORDS.get(key, key))


def _now_tiles(page: Page) -> html.Div:
    return html.Div(className="panel now", children=[
        html.Div(className=f"now-tile now-{k}", children=[
            html.Div("—", id=IDS.of("now", k), className="big"), html.Div(_word(k, page), className="label")])
        for k in NOW_TILES])


def _kpi_tiles(page: Page) -> html.Div:
    lang = page.lang
    i = 1 if lang == "en" else 0
    tiles = []
    for key in KPI_TILES:
        k = kpi.BY_KEY[key]
        target = f"{page.t('target')} {k.target:g}%" if k.target is not None else ""
        tip = f"{page.t('formula')}：{k.formula[i]}（{page.t('window_30d')}）"
        tiles.append(dmc.Tooltip(label=tip, multiline=True, w=360, withArrow=True,
                                 events={"hover": True, "focus": True, "touch": True}, children=html.Div(
            className="kpi-tile", tabIndex="0", id=IDS.of("kpi", key, "tile"), children=[
                html.Div(k.name[i], className="label"),
                html.Div([html.Span("—", id=IDS.of("kpi", key, "value")), html.Span("%", className="unit")],
                         className="big"),
                html.Div([html.Span(target, className="target"),
                          html.Span(f" · {page.t('window_30d')}", className="window")], className="sub"),
                html.Div([html.Span(page.t("today") + " "), html.Span("—", id=IDS.of("kpi", key, "today"))],
                         className="sub today"),
            ])))
    return html.Div(className="panel kpis", children=[html.H2(page.t("kpis")), html.Div(tiles, className="kpi-grid")])


def _sla(page: Page, rows: list[SlaRowSpec]) -> html.Div:
    head = html.Tr([html.Th(page.t("stage"))] + [html.Th(_word(c, page), className=f"c-{c}") for c in SLA_COLS])
    body = []
    for r in rows:
        label = r.label_en if page.lang == "en" else r.label_zh
        body.append(html.Tr(className="policy-first" if r.first else "", children=[
            html.Td(label, className="stage")] + [html.Td("—", id=IDS.of("sla", r.row, c), className=f"c-{c}")
                                                  for c in SLA_COLS]))
    return html.Div(className="panel sla", children=[
        html.H2(page.t("sla")), html.Table([html.Thead(head), html.Tbody(body)], id=IDS.sla)])


def _map(page: Page) -> html.Div:
    layers = [
        dl.GeoJSON(id=IDS.boundaries, data=page.site.boundaries, hideout={"shade": {}, "scope": page.scope.code},
                   style={"variable": "pingan.renderers.wall.boundaryStyle"},
                   onEachFeature={"variable": "pingan.map.districtLabel"}),
        dl.GeoJSON(id=IDS.markers, data={"type": "FeatureCollection", "features": []}, cluster=True,
                   zoomToBoundsOnClick=True, superClusterOptions={"radius": 80, "maxZoom": 15},
                   pointToLayer={"variable": "pingan.renderers.wall.caseMarker"},
                   clusterToLayer={"variable": "pingan.renderers.wall.caseCluster"},
                   onEachFeature={"variable": "pingan.renderers.wall.casePopup"},
                   hideout={"lang": page.lang}),
    ]
    ok = page.site.tiles["ok"]
    return html.Div(className="panel map", children=[
        html.H2([page.t("map"), html.Span("", id=IDS.legend, className="legend")]),
        base_map(page, IDS.map, layers, zoom=9, tiles_id=IDS.tiles),
        html.Div(page.t("no_tiles") if not ok else "", id=IDS.tiles_note, className="tiles-note"),
    ])


def _areas(page: Page) -> html.Div:
    rows = page.areas
    head = html.Tr([html.Th(page.t("area"))] + [html.Th(_word(c, page), className=f"c-{c}") for c in AREA_COLS])
    body = [html.Tr([html.Td(name, className="name")] + [html.Td("—", id=IDS.of("area", code, c), className=f"c-{c}")
                                                         for c in AREA_COLS]) for code, name in rows]
    title = page.t("areas_city" if page.scope.level == "city" else "areas_district")
    return html.Div(className="panel areas", children=[
        html.H2(title), html.Table([html.Thead(head), html.Tbody(body)], id=IDS.areas, className=table_class(rows))])


def _trend(page: Page) -> html.Div:
    return html.Div(className="panel trend", children=[
        html.H2(page.t("trend")),
        dcc.Graph(id=IDS.trend, config={"displayModeBar": False, "staticPlot": True, "responsive": True},
                  figure={"data": [], "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}},
                  className="trend-graph"),
    ])


def _ticker(page: Page) -> html.Div:
    return html.Div(className="panel ticker", children=[
        html.H2(page.t("ticker")),
        html.Ul(id=IDS.ticker, children=[html.Li("", id=IDS.of("tick", i), className="tick")
                                         for i in range(TICKER_ROWS)]),
    ])


def _feeds(page: Page) -> html.Div:
    return html.Div(className="panel feeds", children=[html.H2(page.t("feeds")), feed_chips(page, IDS)])
