"""What every board's frame shares: the site's static context, the page config the browser's core
reads (assets/pingan.js), the header (title, banners, scope and language controls, clock), the feed
chips and the base map, and the two callbacks every frame has (boot, scope). Each board's layout
module (layouts/wall.py, layouts/emergency.py) builds its own panels and declares its own ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_leaflet as dl
from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from dashboard.accounts.roles import ROLE_ZH, Role
from dashboard.contract.board import Board, Registry, Scope, resolve, scopes
from dashboard.contract.event import CATEGORY_ZH
from dashboard.contract.geo import towns
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed
from dashboard.web.mapconf import boundaries, display_datum, extent
from layouts.i18n import lang_of, t, table

NAV = "nav"  # the page's dcc.Location (refresh="callback-nav"): rotation and the scope select navigate with it
DENSE_ROWS = 9  # tables with more rows than this use the dense style


@dataclass(frozen=True)
class Site:
    """What every frame needs, gathered by the web app once per process (and tile state)."""
    settings: Settings
    registry: Registry
    city_name: str
    scopes: tuple[Scope, ...]
    towns: dict[str, list[tuple[str, str]]]  # district adcode -> [(town code, name)]
    feeds: dict[str, str]  # code -> name, registry order
    boundaries: dict[str, Any]  # the city's districts, GeoJSON in the display datum
    center: tuple[float, float]
    bounds: list[list[float]]
    tiles: dict[str, Any]  # url, subdomains, attribution, datum, ok
    categories: dict[str, tuple[str, str]]
    cache: dict[str, Any] = field(default_factory=dict, compare=False)  # boards' own static context

    @classmethod
    def build(cls, settings: Settings, registry: Registry, feeds: Mapping[str, Feed], tiles_ok: bool) -> Site:
        city = settings.city_adcode
        datum = display_datum(settings.tile_datum)
        center, bounds = extent(city)
        town_rows: dict[str, list[tuple[str, str]]] = {}
        for tw in towns(city):
            town_rows.setdefault(tw.adcode, []).append((tw.code, tw.name))
        return cls(settings=settings, registry=registry, city_name=scopes(city)[0].name, scopes=scopes(city),
                   towns=town_rows, feeds={code: f.name for code, f in feeds.items()},
                   boundaries=boundaries(city, datum), center=center, bounds=bounds,
                   tiles={"url": settings.tile_url, "subdomains": settings.tile_subdomains,
                          "attribution": settings.tile_attribution, "datum": datum.value, "ok": tiles_ok},
                   categories={c.value: (zh, c.value.replace("_", " ")) for c, zh in CATEGORY_ZH.items()})

    @property
    def city(self) -> Scope:
        return self.scopes[0]

    @property
    def districts(self) -> list[tuple[str, str]]:
        return [(s.code, s.name) for s in self.scopes if s.level == "district"]


@dataclass(frozen=True)
class FrameIds:
    """The ids every frame has, prefixed per board (a rotation swaps one frame for another)."""
    prefix: str

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{self.prefix}-{name.replace('_', '-')}"

    def common(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("root", "clock", "clock_note", "as_of", "banner", "alert",
                                              "scope_name", "controls", "feeds")}

    def of(self, *parts: str | int) -> str:
        """The id of one of a kind (``of("area", "440703", "open")``): a CSS-safe name."""
        return "-".join([self.prefix, *(str(p).replace(".", "_") for p in parts)])

    def feed(self, code: str) -> str:
        return self.of("feed", code)

    def feed_lag(self, code: str) -> str:
        return self.of("feed", code, "lag")


@dataclass(frozen=True)
class Viewer:
    """Who looks at a page: the account's name, role and scope, whether it may acknowledge alerts, and
    the session's CSRF token (which the page's POSTs carry)."""
    name: str
    role: str
    scope: str
    may_ack: bool
    csrf: str
    boards: tuple[str, ...] = ()  # a wall screen's boards (empty: a person, every board)

    def label(self, lang: str) -> str:
        return f"{self.name} · {self.role if lang == 'en' else ROLE_ZH.get(Role(self.role), self.role)}"

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "may_ack": self.may_ack, "csrf": self.csrf}


@dataclass(frozen=True)
class Page:
    """One request for a board's page: the board, its scope, the query's options and who is looking."""
    site: Site
    board: Board
    scope: Scope
    lang: str
    kiosk: bool
    rotate: str | None
    reload: str | None
    query: dict[str, str]  # the other parameters, kept across a rotation
    viewer: Viewer | None = None  # None: nobody logged in (the renderers' fixtures)

    @classmethod
    def of(cls, site: Site, board: Board, query: Mapping[str, Any], viewer: Viewer | None = None,
           scope: Scope | None = None) -> Page:
        """The page ``query`` asks for; the web's guard has already refused a scope ``viewer`` may not see
        (and resolved ``scope`` when it lies below the district), and a query without one shows the
        viewer's own."""
        q = {k: str(v) for k, v in query.items() if v is not None}
        named = q.pop("scope", None)
        scope = scope or resolve(named or (viewer.scope if viewer else None), site.city.code)
        if scope is None or scope.level not in board.levels:
            scope = site.city
        return cls(site=site, board=board, scope=scope, lang=lang_of(q.pop("lang", None), site.settings.ui_lang),
                   kiosk=q.pop("kiosk", None) == "1", rotate=q.pop("rotate", None), reload=q.pop("reload", None),
                   query=q, viewer=viewer)

    def may_see(self, scope: Scope) -> bool:
        """A city or district scope the viewer covers (what the scope select offers; the scope asked for
        was checked through its chain already)."""
        v = self.viewer
        return v is None or v.scope == self.site.city.code or scope.code.startswith(v.scope)

    @property
    def areas(self) -> list[tuple[str, str]]:
        """The rows of an area table: the districts (city scope) or the district's towns."""
        return self.site.districts if self.scope.level == "city" else self.site.towns.get(self.scope.code, [])

    def t(self, key: str) -> str:
        return t(key, self.lang)


def positive(raw: str | None) -> float:
    try:
        v = float(raw) if raw else 0.0
    except ValueError:
        return 0.0
    return v if v > 0 else 0.0


def rotation(page: Page) -> list[str]:
    """The views a rotating wall cycles through: every rotating board at the page's scope; with one
    board alone, its city view and each district's."""
    keep = {"lang": page.lang, "kiosk": "1" if page.kiosk else None, "rotate": page.rotate, **page.query}
    query = "&".join(f"{k}={v}" for k, v in keep.items() if v)
    registry, v = page.site.registry, page.viewer
    # a screen rotates through its own boards, in its order; anyone else through the rotating ones
    boards = tuple(b for n in v.boards if (b := registry.board(n))) if v and v.boards else registry.rotation()
    if len(boards) > 1:
        at = [(b, page.scope if page.scope.level in b.levels else page.site.city) for b in boards]
        return [f"{b.path}?scope={s.code}&{query}" for b, s in at if page.may_see(s)]
    only = boards[0] if boards else page.board
    return [f"{only.path}?scope={s.code}&{query}" for s in page.site.scopes
            if s.level in only.levels and page.may_see(s)]


def config(page: Page, ids: FrameIds, board_ids: Mapping[str, Any], feeds: Sequence[str] | None = None,
           **extra: Any) -> dict[str, Any]:
    """The page config the browser's core reads: the board, its snapshots and stream, the ids of
    everything it writes (``feeds``: the feeds whose chips the frame shows, default all), the words,
    and the rotation."""
    site, board = page.site, page.board
    specs = site.registry.reads(board)
    chips = shown_feeds(page, feeds)
    return {
        "board": board.name, "scope": page.scope.code, "scope_level": page.scope.level, "lang": page.lang,
        "kiosk": page.kiosk, "rotate_s": positive(page.rotate),
        "reload_h": positive(page.reload) or site.settings.wall_reload_h,
        "stale_after_s": 3 * site.settings.snapshot_heartbeat_s,
        "stream": f"/stream/{board.name}?scope={page.scope.code}",
        "snapshots": [{"name": s.name, "log": s.log, "items": s.items} for s in specs],
        "nav": NAV,
        "ids": {**ids.common(), "feed": {c: ids.feed(c) for c, _ in chips},
                "feed_lag": {c: ids.feed_lag(c) for c, _ in chips}, **board_ids},
        "text": table(page.lang), "categories": site.categories, "tiles": site.tiles, "bounds": site.bounds,
        "rotation": rotation(page) if page.rotate else [],
        "viewer": page.viewer.public() if page.viewer else None,
        **extra,
    }


def frame(page: Page, ids: FrameIds, cfg: dict[str, Any], header_extra: Sequence[Any], body: Sequence[Any],
          foot: Sequence[Any], classes: str = "") -> html.Div:
    """The frame of a board: the config and boot stores, the header, the body and the foot."""
    return html.Div(
        id=ids.root, className=f"board {page.board.name} {classes}" + (" kiosk" if page.kiosk else ""),
        lang="zh-CN" if page.lang == "zh" else "en", children=[
            dcc.Store(id={"type": "frame-config", "board": page.board.name}, data=cfg),
            dcc.Store(id={"type": "frame-boot", "board": page.board.name}),
            header(page, ids, header_extra),
            html.Div(className="board-body", children=list(body)),
            html.Div(className="board-foot", children=list(foot)),
        ])


def header(page: Page, ids: FrameIds, extra: Sequence[Any] = ()) -> html.Div:
    """Title, banners (stale data, red alert), the scope and language controls, the clock."""
    site, lang = page.site, page.lang
    shown = [s for s in site.scopes if s.level in page.board.levels and page.may_see(s)]
    options = [{"value": s.code, "label": t("city", lang) if s.level == "city" else s.name} for s in shown]
    other = "en" if lang == "zh" else "zh"
    return html.Div(className="board-head", children=[
        html.Div(className="title", children=[
            html.Span(site.city_name, className="city"), page.board.title_in(lang),
            html.Span(page.scope.name if page.scope.level != "city" else "", id=ids.scope_name, className="scope")]),
        html.Div(className="head-mid", children=[
            *extra,
            html.Div(id=ids.banner, className="banner", hidden=True),
            html.Div(id=ids.alert, className="alert", hidden=True),
        ]),
        html.Div(id=ids.controls, className="controls", children=[
            dcc.Dropdown(id={"type": "frame-scope", "board": page.board.name}, options=options,
                         value=page.scope.code, clearable=False, searchable=False, className="scope-select"),
            html.A("EN" if lang == "zh" else "中文", className="lang",
                   href=f"?scope={page.scope.code}&lang={other}"),
            *account(page),
        ]),
        html.Div(className="clock-box", children=[
            html.Div(id=ids.clock, className="clock", children="--:--:--"),
            html.Div(className="asof", children=[html.Span(t("as_of", lang) + " "), html.Span("—", id=ids.as_of),
                                                 html.Span("", id=ids.clock_note, className="note")]),
        ]),
    ])


def account(page: Page) -> list[Any]:
    """Who is logged in, and the logout button (a form: it posts the session's CSRF token)."""
    v = page.viewer
    if v is None:
        return []
    if v.role == Role.SCREEN:  # an unattended screen: its name, nothing to sign out of
        return [html.Span(v.label(page.lang), className="who screen")]
    return [html.Span(v.label(page.lang), className="who"),
            html.Form(method="POST", action="/logout", className="logout", children=[
                dcc.Input(type="hidden", name="csrf_token", value=v.csrf),
                dcc.Input(type="hidden", name="lang", value=page.lang),
                html.Button(t("auth_logout", page.lang), type="submit", className="logout-button")])]


def shown_feeds(page: Page, codes: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the feeds whose health a frame shows: ``codes``, or every feed."""
    return [(c, page.site.feeds[c]) for c in (codes if codes is not None else page.site.feeds) if c in page.site.feeds]


def feed_chips(page: Page, ids: FrameIds, codes: Sequence[str] | None = None) -> html.Div:
    feeds = shown_feeds(page, codes)
    return html.Div(id=ids.feeds, className="feed-grid", children=[
        html.Div(id=ids.feed(code), className="feed unknown", title=name,
                 children=[html.Span(className="dot"), html.Span(name, className="name"),
                           html.Span("", id=ids.feed_lag(code), className="lag")])
        for code, name in feeds])


def tile_layers(site: Site, tiles_id: str) -> list[Any]:
    """The tile layer when tiles load (else none: boundaries on a plain background)."""
    tiles = site.tiles
    if not tiles["ok"]:
        return []
    return [dl.TileLayer(id=tiles_id, url=tiles["url"], attribution=tiles["attribution"],
                         subdomains=tiles["subdomains"], maxZoom=18)]


def base_map(page: Page, map_id: str, layers: Sequence[Any], zoom: int, tiles_id: str) -> dl.Map:
    site = page.site
    ok = site.tiles["ok"]
    return dl.Map(id=map_id, center=site.center, zoom=zoom, bounds=site.bounds, zoomSnap=0.25,
                  children=[*tile_layers(site, tiles_id), *layers], attributionControl=ok,
                  className="leaflet-board" + ("" if ok else " no-tiles"))


def table_class(rows: Sequence[Any]) -> str:
    return "dense" if len(rows) > DENSE_ROWS else ""


# Every frame boots the browser's core when its config arrives, and its scope select navigates.
clientside_callback(ClientsideFunction("pingan", "boot"), Output({"type": "frame-boot", "board": MATCH}, "data"),
                    Input({"type": "frame-config", "board": MATCH}, "data"))
clientside_callback(ClientsideFunction("pingan", "scope"), Output(NAV, "search", allow_duplicate=True),
                    Input({"type": "frame-scope", "board": ALL}, "value"), State(NAV, "search"),
                    State({"type": "frame-config", "board": ALL}, "data"), prevent_initial_call=True)
