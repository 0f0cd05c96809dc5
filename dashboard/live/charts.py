"""The boards' charts as Plotly figures, built here and sent in the snapshots; the browser draws
what it is sent.

Sizes (fonts, margins, line widths) are for a 16 px root font; a page scales them to its own (a 4K
wall's root font is twice a 1080p one's), so one figure fits every screen. A figure is built per
language and cached by its data: a snapshot rebuilt every second with the same counts costs nothing;
the trend, which every scope down to a grid has, is Plotly's figure built once and filled in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import orjson
import plotly.graph_objects as go

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
BASE_PX = 16  # the root font size the sizes below are for
CACHE = 256

_WORDS: dict[str, tuple[str, str]] = {"today": ("今日", "today"), "yesterday": ("昨日", "yesterday")}
_TRANSPARENT = "rgba(0,0,0,0)"
_TEXT = "#cfe3ff"


def _w(key: str, lang: Lang) -> str:
    zh, en = _WORDS[key]
    return en if lang == "en" else zh


def _layout(**extra: Any) -> dict[str, Any]:
    return {"template": "none", "paper_bgcolor": _TRANSPARENT, "plot_bgcolor": _TRANSPARENT, "autosize": True,
            "font": {"color": _TEXT, "size": 0.85 * BASE_PX}, **extra}


def _json(fig: go.Figure) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(orjson.dumps(fig.to_plotly_json(), option=orjson.OPT_SERIALIZE_NUMPY))
    return out


@lru_cache(maxsize=len(LANGS))
def _trend_figure(lang: Lang) -> str:
    """The trend's figure without its data, as JSON: Plotly builds and checks it once per language."""
    fig = go.Figure(
        data=[go.Bar(x=[], y=[], name=_w("today", lang), marker={"color": "#3fa7ff"}),
              go.Scatter(x=[], y=[], mode="lines", name=_w("yesterday", lang),
                         line={"color": "#f5b74a", "width": 0.18 * BASE_PX, "dash": "dot"})],
        layout=_layout(margin={"l": 3 * BASE_PX, "r": BASE_PX, "t": 0.5 * BASE_PX, "b": 2 * BASE_PX},
                       xaxis={"gridcolor": "rgba(255,255,255,0.08)", "dtick": 3, "range": [-0.5, 23.5]},
                       yaxis={"gridcolor": "rgba(255,255,255,0.12)", "rangemode": "tozero"},
                       legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom",
                               "bgcolor": _TRANSPARENT},
                       bargap=0.25))
    return orjson.dumps(_json(fig)).decode()


def _trend(today: tuple[int, ...], yesterday: tuple[int, ...], lang: Lang) -> dict[str, Any]:
    """The figure with this data: every scope down to a grid has its own, so a figure is not built by
    Plotly for each (5 ms), only filled in."""
    hours = [str(h) for h in range(24)]
    fig: dict[str, Any] = orjson.loads(_trend_figure(lang))
    bars, line = fig["data"]
    bars["x"], bars["y"] = hours[:len(today)], list(today)
    line["x"], line["y"] = hours[:len(yesterday)], list(yesterday)
    return fig


def trend(today: list[int], yesterday: list[int]) -> dict[Lang, dict[str, Any]]:
    """Cases received per hour: today's bars against yesterday's line."""
    return {lang: _trend(tuple(today), tuple(yesterday), lang) for lang in LANGS}


@lru_cache(maxsize=CACHE)
def _categories(rows: tuple[tuple[str, str, int], ...], lang: Lang) -> dict[str, Any]:
    shown = list(reversed(rows))  # the largest on top
    names = [en if lang == "en" else zh for zh, en, _ in shown]
    counts = [n for _, _, n in shown]
    fig = go.Figure(
        data=[go.Bar(x=counts, y=names, orientation="h", marker={"color": "#3fa7ff"}, text=counts,
                     textposition="outside", cliponaxis=False)],
        layout=_layout(showlegend=False, font={"color": _TEXT, "size": 0.8 * BASE_PX},
                       margin={"l": 6 * BASE_PX, "r": 2 * BASE_PX, "t": 0.2 * BASE_PX, "b": 1.2 * BASE_PX},
                       xaxis={"gridcolor": "rgba(255,255,255,0.1)", "rangemode": "tozero"},
                       yaxis={"automargin": True}, bargap=0.25))
    return _json(fig)


def categories(rows: list[tuple[str, str, int]], top: int = 10) -> dict[Lang, dict[str, Any]]:
    """Counts by category as horizontal bars (``rows``: (中文 name, English name, count), largest first)."""
    return {lang: _categories(tuple(rows[:top]), lang) for lang in LANGS}
