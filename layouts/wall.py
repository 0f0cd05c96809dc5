"""`/wall`: the command centre's live board for the video wall.

The server renders the frame once (panels, empty figures, one row per district or town, one chip
per feed); the browser then keeps it current from the push stream (assets/pingan.js), writing
only the values that changed. Every id the browser writes to is declared here and handed to it in
the page's config, so no id is typed twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import dash_leaflet as dl
import dash_mantine_components as dmc
from dash import dcc, html

from layouts.common import feed_chips, header, positive, rotation, scope_of, tile_layers
from layouts.i18n import lang_of, t, table

BOARD = "wall"
PATH = "/wall"
KPI_TILES = ("closure", "ontime_sign", "response", "ontime_close", "satisfaction")
NOW_TILES = ("open", "open_p1", "inc", "esc")
DETAIL_POLICIES = ("hotline12345", "enterprise117")  # every stage shown; other policies one row each
TICKER_ROWS = 8
AREA_COLS = ("open", "received_today", "closed_today", "red", "yellow", "closure_30d")
SLA_COLS = ("red", "yellow", "due_1h", "running")
KPI_PARTS = ("tile", "value", "today")


@dataclass(frozen=True)
class Ids:
    config: str = "wall-config"
    boot: str = "wall-boot"
    clock: str = "wall-clock"
    clock_note: str = "wall-clock-note"
    as_of: str = "wall-asof"
    banner: str = "wall-banner"
    alert: str = "wall-alert"
    scope_name: str = "wall-scope-name"
    controls: str = "wall-controls"
    map: str = "wall-map"
    tiles: str = "wall-tiles"
    tiles_note: str = "wall-tiles-note"
    boundaries: str = "wall-boundaries"
    legend: str = "wall-legend"
    trend: str = "wall-trend"
    ticker: str = "wall-ticker"
    feeds: str = "wall-feeds"
    areas: str = "wall-areas"
    sla: str = "wall-sla"

    @staticmethod
    def now(key: str) -> str:
        return f"wall-now-{key}"

    @staticmethod
    def kpi(key: str, part: str) -> str:
        return f"wall-kpi-{key}-{part}"

    @staticmethod
    def sla_cell(row: str, col: str) -> str:
        return f"wall-sla-{row.replace('.', '_')}-{col}"

    @staticmethod
    def area_cell(code: str, col: str) -> str:
        return f"wall-area-{code}-{col}"

    @staticmethod
    def feed(code: str) -> str:
        return f"wall-feed-{code}"

    @staticmethod
    def feed_lag(code: str) -> str:
        return f"wall-feed-{code}-lag"

    @staticmethod
    def tick(i: int) -> str:
        return f"wall-tick-{i}"


IDS = Ids()


@dataclass(frozen=True)
class WallContext:
    """What the frame needs to know, gathered by the app once (not per request)."""
    city_name: str
    districts: list[tuple[str, str]]  # (adcode, name)
    towns: dict[str, list[tuple[str, str]]]  # district adcode -> [(town code, name)]
    feeds: list[tuple[str, str]]  # (code, name) in registry order
    sla_rows: list[dict[str, Any]]  # {row, policy, stage|None, zh, en}
    kpi_defs: list[dict[str, Any]]
    boundaries: dict[str, Any]  # GeoJSON in the display datum
    center: tuple[float, float]
    bounds: list[list[float]]
    tiles: dict[str, Any]  # url, subdomains, attribution, datum, ok
    categories: dict[str, tuple[str, str]]
    stale_after_s: float
    reload_h: float
    boards: tuple[str, ...] = (BOARD,)


def layout(ctx: WallContext, scope: str = "city", lang: str | None = None, kiosk: str | None = None,
           rotate: str | None = None, choropleth: str | None = None, reload: str | None = None,
           default_lang: str = "zh", **_: Any) -> html.Div:
    lang = lang_of(lang, default_lang)
    scope = scope_of(scope, ctx.districts)
    area_rows = ctx.districts if scope == "city" else ctx.towns.get(scope, [])
    config = _config(ctx, scope, area_rows, lang, kiosk == "1", rotate, choropleth, reload)
    return html.Div(className="wall" + (" kiosk" if kiosk == "1" else ""), lang="zh-CN" if lang == "zh" else "en",
                    children=[
        dcc.Store(id=IDS.config, data=config),
        dcc.Store(id=IDS.boot),
        _header(ctx, scope, lang),
        html.Div(className="wall-body", children=[
            html.Div(className="col col-left", children=[_now_tiles(lang), _kpi_tiles(ctx, lang), _sla(ctx, lang)]),
            html.Div(className="col col-map", children=[_map(ctx, lang)]),
            html.Div(className="col col-right", children=[_areas(area_rows, scope, lang), _trend(lang)]),
        ]),
        html.Div(className="wall-foot", children=[_ticker(lang), _feeds(ctx, lang)]),
    ])


def _config(ctx: WallContext, scope: str, area_rows: list[tuple[str, str]], lang: str, kiosk: bool,
            rotate: str | None, choropleth: str | None, reload: str | None) -> dict[str, Any]:
    return {
        "board": BOARD, "scope": scope, "lang": lang, "kiosk": kiosk,
        "rotate_s": positive(rotate), "reload_h": positive(reload) or ctx.reload_h,
        "choropleth": "risk" if choropleth == "risk" else "open",
        "stale_after_s": ctx.stale_after_s, "stream": f"/stream/{BOARD}?scope={scope}",
        "ids": {**asdict(IDS), **_frame_ids(ctx, area_rows)},
        "sla_rows": ctx.sla_rows, "categories": ctx.categories, "tiles": ctx.tiles, "text": table(lang),
        "rotation": rotation(ctx.boards, ctx.districts, scope, lang, kiosk, rotate,
                             {"choropleth": choropleth}) if rotate else [],
        "bounds": ctx.bounds,
    }


def _frame_ids(ctx: WallContext, area_rows: list[tuple[str, str]]) -> dict[str, Any]:
    """The id of every value the browser writes, keyed as the snapshot keys it (the browser never
    builds an id itself)."""
    return {
        "now": {k: IDS.now(k) for k in NOW_TILES},
        "kpi": {k: {part: IDS.kpi(k, part) for part in KPI_PARTS} for k in KPI_TILES},
        "sla": {r["row"]: {c: IDS.sla_cell(r["row"], c) for c in SLA_COLS} for r in ctx.sla_rows},
        "area": {code: {c: IDS.area_cell(code, c) for c in AREA_COLS} for code, _ in area_rows},
        "feed": {code: IDS.feed(code) for code, _ in ctx.feeds},
        "feed_lag": {code: IDS.feed_lag(code) for code, _ in ctx.feeds},
        "tick": [IDS.tick(i) for i in range(TICKER_ROWS)],
    }


def _header(ctx: WallContext, scope: str, lang: str) -> html.Div:
    scope_name = dict(ctx.districts).get(scope, "") if scope != "city" else ""
    return header(t("title", lang), ctx.city_name, scope_name, IDS, "wall-scope-select", "wall-lang",
                  ctx.districts, scope, lang)


def _now_tiles(lang: str) -> html.Div:
    return html.Div(className="panel now", children=[
        html.Div(className=f"now-tile now-{k}", children=[
            html.Div("—", id=IDS.now(k), className="big"), html.Div(t(k, lang), className="label")])
        for k in NOW_TILES])


def _kpi_tiles(ctx: WallContext, lang: str) -> html.Div:
    defs = {d["key"]: d for d in ctx.kpi_defs}
    tiles = []
    for key in KPI_TILES:
        d = defs[key]
        name = d["en"] if lang == "en" else d["zh"]
        formula = d["formula_en"] if lang == "en" else d["formula_zh"]
        target = f"{t('target', lang)} {d['target']:g}%" if d["target"] is not None else ""
        tip = f"{t('formula', lang)}：{formula}（{t('window_30d', lang)}）"
        tiles.append(dmc.Tooltip(label=tip, multiline=True, w=360, withArrow=True,
                                 events={"hover": True, "focus": True, "touch": True}, children=html.Div(
            className="kpi-tile", tabIndex="0", id=IDS.kpi(key, "tile"), children=[
                html.Div(name, className="label"),
                html.Div([html.Span("—", id=IDS.kpi(key, "value")), html.Span("%", className="unit")],
                         className="big"),
                html.Div([html.Span(target, className="target"),
                          html.Span(f" · {t('window_30d', lang)}", className="window")], className="sub"),
                html.Div([html.Span(t("today", lang) + " "), html.Span("—", id=IDS.kpi(key, "today"))],
                         className="sub today"),
            ])))
    return html.Div(className="panel kpis", children=[html.H2(t("kpis", lang)), html.Div(tiles, className="kpi-grid")])


def _sla(ctx: WallContext, lang: str) -> html.Div:
    head = html.Tr([html.Th(t("stage", lang))] + [html.Th(t(c, lang), className=f"c-{c}") for c in SLA_COLS])
    rows = []
    for r in ctx.sla_rows:
        label = r["en"] if lang == "en" else r["zh"]
        rows.append(html.Tr(className="policy-first" if r.get("first") else "", children=[
            html.Td(label, className="stage")] + [html.Td("—", id=IDS.sla_cell(r["row"], c), className=f"c-{c}")
                                                  for c in SLA_COLS]))
    return html.Div(className="panel sla", children=[
        html.H2(t("sla", lang)), html.Table([html.Thead(head), html.Tbody(rows)], id=IDS.sla)])


def _map(ctx: WallContext, lang: str) -> html.Div:
    tiles = ctx.tiles
    layers: list[Any] = tile_layers(tiles, IDS.tiles)
    layers += [
        dl.GeoJSON(id=IDS.boundaries, data=ctx.boundaries, hideout={"fill": {}, "mode": "open"},
                   style={"variable": "pingan.map.boundaryStyle"},
                   onEachFeature={"variable": "pingan.map.boundaryLabel"}),
    ]
    return html.Div(className="panel map", children=[
        html.H2([t("map", lang), html.Span("", id=IDS.legend, className="legend")]),
        dl.Map(id=IDS.map, center=ctx.center, zoom=9, bounds=ctx.bounds, children=layers, zoomSnap=0.25,
               className="leaflet-wall" + ("" if tiles["ok"] else " no-tiles"), attributionControl=tiles["ok"]),
        html.Div(t("no_tiles", lang) if not tiles["ok"] else "", id=IDS.tiles_note, className="tiles-note"),
    ])


def _areas(rows: list[tuple[str, str]], scope: str, lang: str) -> html.Div:
    head = html.Tr([html.Th(t("area", lang))] + [html.Th(t(c, lang), className=f"c-{c}") for c in AREA_COLS])
    body = [html.Tr([html.Td(name, className="name")] + [html.Td("—", id=IDS.area_cell(code, c), className=f"c-{c}")
                                                         for c in AREA_COLS]) for code, name in rows]
    title = t("areas_city" if scope == "city" else "areas_district", lang)
    return html.Div(className="panel areas", children=[
        html.H2(title), html.Table([html.Thead(head), html.Tbody(body)], id=IDS.areas,
                                   className="dense" if len(rows) > 9 else "")])


def _trend(lang: str) -> html.Div:
    return html.Div(className="panel trend", children=[
        html.H2(t("trend", lang)),
        dcc.Graph(id=IDS.trend, config={"displayModeBar": False, "staticPlot": True, "responsive": True},
                  figure={"data": [], "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}},
                  className="trend-graph"),
    ])


def _ticker(lang: str) -> html.Div:
    return html.Div(className="panel ticker", children=[
        html.H2(t("ticker", lang)),
        html.Ul(id=IDS.ticker, children=[html.Li("", id=IDS.tick(i), className="tick") for i in range(TICKER_ROWS)]),
    ])


def _feeds(ctx: WallContext, lang: str) -> html.Div:
    return html.Div(className="panel feeds", children=[
        html.H2(t("feeds", lang)), feed_chips(ctx.feeds, IDS.feeds, IDS.feed, IDS.feed_lag)])
