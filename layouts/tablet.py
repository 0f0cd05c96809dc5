"""The leaders' tablet (dashboard/boards.py TABLET): the city's picture on a tablet or phone, drilled
down by tap from the city to a single grid.

Unlike the wall's frame, the tablet's is drawn in the browser (assets/boards/tablet.js) from GET
requests only — this app config, the scope's wall snapshot, the places, cases and history APIs — so
that a service worker can keep it for a tablet that loses the network (Dash renders a page through a
POST callback, which the Cache API cannot store; docs/decisions/036). The Dash page is only the host
the app mounts beside; the same config serves every scope, so one cached copy is enough offline.
"""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.contract.board import Board
from dashboard.live import kpi
from layouts.frame import Page, Site, Viewer
from layouts.i18n import table

WINDOWS = ("today", "7d", "30d")  # the periods a leader taps between (each against the one before it)
PERIOD_DAYS = {"today": 1, "7d": 7, "30d": 30}  # how far back the previous period lies
KPI_SHOWN = ("closure", "on_time_sign_off", "response", "on_time_closure", "satisfaction")
CASES_PAGE = 20  # cases listed at a time
HOST = "tablet-host"
# Dash loads Plotly only for a page that draws a dcc.Graph; the tablet draws its own (served by Dash from the
# plotly package, kept by the service worker like the other scripts)
PLOTLY = "/_dash-component-suites/plotly/package_data/plotly.min.js"


def layout(page: Page) -> html.Div:
    """The host the browser's app mounts beside (it reads the scope from the address, not from here)."""
    data: dict[str, Any] = {"data-scope": page.scope.code}
    return html.Div(id=HOST, className="board tablet-host", **data)


def app_config(board: Board, site: Site, viewer: Viewer | None, lang: str, build: str) -> dict[str, Any]:
    """What the tablet's app needs besides the data: the same for every scope."""
    registry = site.registry
    alert_board = registry.alert_board()
    emergency = registry.reads(alert_board)[0].name if alert_board else None
    i = 1 if lang == "en" else 0
    return {
        "board": board.name, "path": board.path, "lang": lang, "build": build, "title": board.title_in(lang),
        "city": {"code": site.city.code, "name": site.city_name},
        "home": viewer.scope if viewer else site.city.code,
        "viewer": {**viewer.public(), "scope": viewer.scope} if viewer else None,
        "stale_after_s": 3 * site.settings.snapshot_heartbeat_s,
        "snapshot": board.snapshots[0],
        "alert_board": {"snapshot": emergency, "path": alert_board.path if alert_board else None},
        "windows": [{"key": w, "label": kpi.WINDOWS[w][i], "days": PERIOD_DAYS[w]} for w in WINDOWS],  # type: ignore[index]
        "kpis": [{"key": k.key, "name": k.name[i], "formula": k.formula[i], "target": k.target}
                 for k in kpi.KPIS if k.key in KPI_SHOWN],
        "cases_page": CASES_PAGE, "plotly": PLOTLY,
        "text": table(lang), "categories": site.categories, "tiles": site.tiles, "bounds": site.bounds,
        "center": site.center, "boundaries": site.boundaries,
    }
