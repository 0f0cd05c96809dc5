"""What every board's frame shares: the query parameters, the rotation, the header's clock, banners
and controls, the feed chips, the base map. Each board module (wall.py, emergency.py) builds its own
panels and declares its own ids; these take the ids they write to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from layouts.i18n import t


def positive(raw: str | None) -> float:
    try:
        v = float(raw) if raw else 0.0
    except ValueError:
        return 0.0
    return v if v > 0 else 0.0


def rotation(boards: Sequence[str], districts: Sequence[tuple[str, str]], scope: str, lang: str, kiosk: bool,
             rotate: str | None, extra: dict[str, str | None] | None = None) -> list[str]:
    """The views a rotating wall cycles through: every board at the page's scope; with one board
    alone, its city view and each district's."""
    keep = {"lang": lang, "kiosk": "1" if kiosk else None, "rotate": rotate, **(extra or {})}
    query = "&".join(f"{k}={v}" for k, v in keep.items() if v)
    if len(boards) > 1:
        at = f"scope={scope}&" if scope != "city" else ""
        return [f"/{b}?{at}{query}" for b in boards]
    return [f"/{boards[0]}?scope={s}&{query}" for s in ["city", *(code for code, _ in districts)]]


def scope_of(scope: str | None, districts: Sequence[tuple[str, str]]) -> str:
    return scope if scope and any(code == scope for code, _ in districts) else "city"


def header(title: str, city_name: str, scope_name: str, ids: Any, select_id: str, lang_id: str,
           districts: Sequence[tuple[str, str]], scope: str, lang: str, extra: Sequence[Any] = ()) -> html.Div:
    """Title, banners (stale data, red alert), the scope and language controls, the clock."""
    options = [{"value": "city", "label": t("city", lang)}] + [{"value": c, "label": n} for c, n in districts]
    return html.Div(className="wall-head", children=[
        html.Div(className="title", children=[html.Span(city_name, className="city"), title,
                                              html.Span(scope_name, id=ids.scope_name, className="scope")]),
        html.Div(className="head-mid", children=[
            *extra,
            html.Div(id=ids.banner, className="banner", hidden=True),
            html.Div(id=ids.alert, className="alert", hidden=True),
        ]),
        html.Div(id=ids.controls, className="controls", children=[
            dcc.Dropdown(id=select_id, options=options, value=scope, clearable=False, searchable=False,
                         className="scope-select"),
            html.A("EN" if lang == "zh" else "中文", id=lang_id, className="lang",
                   href=f"?scope={scope}&lang={'en' if lang == 'zh' else 'zh'}"),
        ]),
        html.Div(className="clock-box", children=[
            html.Div(id=ids.clock, className="clock", children="--:--:--"),
            html.Div(className="asof", children=[html.Span(t("as_of", lang) + " "), html.Span("—", id=ids.as_of),
                                                 html.Span("", id=ids.clock_note, className="note")]),
        ]),
    ])


def feed_chips(feeds: Sequence[tuple[str, str]], grid_id: str, chip_id: Any, lag_id: Any) -> html.Div:
    return html.Div(id=grid_id, className="feed-grid", children=[
        html.Div(id=chip_id(code), className="feed unknown", title=name,
                 children=[html.Span(className="dot"), html.Span(name, className="name"),
                           html.Span("", id=lag_id(code), className="lag")])
        for code, name in feeds])


def tile_layers(tiles: dict[str, Any], tiles_id: str) -> list[Any]:
    """The tile layer when tiles load (else none: boundaries on a plain background)."""
    if not tiles["ok"]:
        return []
    return [dl.TileLayer(id=tiles_id, url=tiles["url"], attribution=tiles["attribution"],
                         subdomains=tiles["subdomains"], maxZoom=18)]
