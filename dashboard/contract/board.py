"""What a board is: one typed registration that every part of the system reads.

A board is a page of the web app. It reads one or more *snapshots*, which the live worker builds
for every scope from the live state and publishes to Redis, and the web pushes to the page; the
browser draws them with the board's *renderer*. A registration says all of that once:

- the page: its path, title, the layout module that renders its frame, its renderer and stylesheet
  (files under assets/), and the scope levels it is shown at;
- the snapshots it reads (by name, in the order of the push stream's position), each with its
  pydantic model (what the browser reads; `pingan schema` prints it), its builder, whether it is a
  whole snapshot (the page needs only the newest) or a change log (the page needs every entry), and
  which of its fields carry GeoJSON (shifted into the tiles' datum on the way out);
- whether it joins a rotating wall's views, whether `/healthz` requires its snapshots, and whether
  red alerts pin a rotating wall to it;
- whether it draws itself in the browser from GET requests (the tablet, which must work offline)
  rather than through Dash's frame and ``set_props``.

The registrations themselves are in dashboard/boards.py; a scope is named by its adcode
everywhere (the city's and each district's), with ``city`` accepted as an alias.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from dashboard.contract.geo import districts, division_name

Level = Literal["city", "district", "town", "village", "grid"]  # boards publish the first two
PUBLISHED: frozenset[str] = frozenset({"city", "district"})  # the levels the live workers publish every round
CITY_ALIAS = "city"

EpochMs = Annotated[int, Field(description="epoch milliseconds (Beijing time is UTC+8)")]


# --- scopes -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scope:
    """A place a snapshot is built for: the city or one of its districts, named by adcode."""
    code: str
    level: Level
    name: str


@cache
def scopes(city: str) -> tuple[Scope, ...]:
    """The city's scope, then each district's (adcode order)."""
    return (Scope(city, "city", division_name(city) or city),
            *(Scope(d.adcode, "district", d.name) for d in districts(city)))


def resolve(raw: str | None, city: str) -> Scope | None:
    """The scope a request names (an adcode, or ``city``); None when the city has no such scope."""
    code = city if raw in (None, "", CITY_ALIAS) else raw
    return next((s for s in scopes(city) if s.code == code), None)


# --- what every snapshot carries ------------------------------------------------------------------

class Model(BaseModel):
    """A part of a snapshot: no field beyond those declared, so a renamed field fails validation."""
    model_config = ConfigDict(extra="forbid")


class PointGeometry(Model):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="longitude, latitude (WGS-84; the tiles' datum as sent)")


class FeedState(Model):
    """One connected system's health, as the boards' feed strip shows it."""
    code: str
    name: str
    state: Literal["ok", "degraded", "down"]
    lag_s: float | None = Field(description="seconds since the feed's last successful poll")
    events: int = Field(description="events in its stream")
    rejected: int = Field(description="records rejected (dead-lettered)")


class ClockInfo(Model):
    """The run's clock: ``now = origin + (wall time − origin) × speed`` (a demo runs faster)."""
    speed: float
    origin: float | None = Field(description="epoch seconds at which the clock and wall time agree")


class HistoryLoad(Model):
    """History being written into the archive (``pingan backfill``, ``pingan demo --history-days``)."""
    state: Literal["loading", "done", "failed"]
    days: float
    done_days: float
    events: int


class Acknowledgement(Model):
    key: str
    who: str
    at: EpochMs
    comment: str = Field(description="masked of personal data")


class AlertItem(Model):
    """A red warning in force, or an emergency response at level II or I."""
    key: str
    kind: Literal["warning", "response"]
    headline: str
    since: EpochMs | None
    districts: list[str] = Field(description="adcodes it concerns (none for a response)")
    acknowledgement: Acknowledgement | None


class Alert(Model):
    """Red alert items standing in a scope: a rotating wall is pinned to ``board_path`` while it is set."""
    level: Literal["red"]
    board_path: str
    headline: str
    unacknowledged: int
    items: list[AlertItem]


class SnapshotHead(Model):
    """What every snapshot carries."""
    snapshot: str = Field(description="the registered snapshot's name")
    scope: str = Field(description="adcode of the city or district it is built for")
    version: int = Field(description="the live state's version it was built from")
    as_of: EpochMs = Field(description="the run's clock when it was built")


class PageHead(SnapshotHead):
    """What a page's header shows, carried by every whole snapshot a board reads: the clock, how fresh
    the data is, the feeds' health and the red alert."""
    clock: ClockInfo
    data_as_of: EpochMs | None = Field(description="the newest event time applied (any source)")
    feeds: list[FeedState]
    alert: Alert | None = Field(description="red alert items standing in this scope (below the district: its "
                                            "district's)")
    history: HistoryLoad | None = Field(None, description="a history backfill under way or done; None: none ran")


# --- the registration -------------------------------------------------------------------------

class Builder(Protocol):
    """Builds one snapshot for every scope at one instant (see dashboard/live/publish.py)."""

    def __init__(self, ctx: Any) -> None: ...

    def build(self, rnd: Any, scopes: Sequence[Scope]) -> Mapping[str, Any]:
        """{scope code: the snapshot (a model, or for a change log its JSON-ready dict)}."""
        ...


@dataclass(frozen=True)
class Snapshot:
    """One kind of snapshot, built by the live worker for every scope of the boards that read it."""
    name: str
    model: type[BaseModel]
    builder: type[Builder]
    log: bool = False  # a change log: every entry matters (else only the newest does)
    items: str | None = None  # a log's list field whose items (by "id") an entry adds or replaces
    every_s: float | None = None  # built at most this often (None: the snapshot cadence)
    geojson: tuple[str, ...] = ()  # top-level fields holding GeoJSON, shifted into the tiles' datum
    description: str = ""
    on_demand: bool = False  # also built for a town, village or grid when a page asks (never published)

    def __post_init__(self) -> None:
        if self.log != (self.items is not None):
            raise ValueError(f"snapshot {self.name}: a change log names its items field, a whole snapshot none")
        if self.on_demand and self.log:
            raise ValueError(f"snapshot {self.name}: a change log cannot be built on demand")


@dataclass(frozen=True)
class Board:
    """One page of the web app and everything that serves it."""
    name: str
    path: str
    title: tuple[str, str]  # 中文, English
    snapshots: tuple[str, ...]  # names of the snapshots it reads, in the push stream's order
    layout: str  # module whose layout(page: Page) renders the frame
    renderer: str  # under assets/: registers window.pingan.renderers[<board name>]
    stylesheet: str  # under assets/
    levels: tuple[Level, ...] = ("city", "district")
    rotation: bool = True  # joins a rotating wall's views
    health: bool = True  # /healthz answers 503 while its whole snapshots are missing or stale
    alerts: bool = False  # red alerts pin a rotating wall to this board
    # draws itself in the browser from GET requests only, so a service worker can keep it offline: its layout
    # module's layout() is only a host and its app_config() what the renderer fetches from {path}/config.json;
    # its service worker is the renderer's file with "-sw" before ".js" (docs/decisions/036)
    draws_itself: bool = False
    home_for: tuple[str, ...] = ()  # roles that land here after login (others: the first board of the rotation)
    order: int = field(default=100, compare=False)  # place in the rotation and the demo's list

    def title_in(self, lang: str) -> str:
        return self.title[1] if lang == "en" else self.title[0]


class Registry:
    """The registered snapshots and boards, checked against each other when built."""

    def __init__(self, snapshots: Iterable[Snapshot], boards: Iterable[Board]) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        for s in snapshots:
            if s.name in self.snapshots:
                raise ValueError(f"snapshot {s.name} registered twice")
            self.snapshots[s.name] = s
        self.boards: tuple[Board, ...] = tuple(sorted(boards, key=lambda b: (b.order, b.name)))
        seen: set[str] = set()
        for b in self.boards:
            if b.name in seen or sum(1 for o in self.boards if o.path == b.path) > 1:
                raise ValueError(f"board {b.name}: name or path {b.path} registered twice")
            seen.add(b.name)
            missing = [n for n in b.snapshots if n not in self.snapshots]
            if missing or not b.snapshots:
                raise ValueError(f"board {b.name} reads unregistered snapshots {missing or '(none)'}")
            if not b.path.startswith("/") or b.path.startswith("/stream/") or b.path.startswith("/api/"):
                raise ValueError(f"board {b.name}: path {b.path!r} must be a page path")
            below = [lv for lv in b.levels if lv not in PUBLISHED]
            if below and (off := [n for n in b.snapshots if not self.snapshots[n].on_demand]):
                raise ValueError(f"board {b.name} is shown at {', '.join(below)}, where nothing is published: "
                                 f"{', '.join(off)} cannot be built on demand")
        if sum(1 for b in self.boards if b.alerts) > 1:
            raise ValueError("only one board can be the one red alerts pin walls to")

    def with_board(self, board: Board, *snapshots: Snapshot) -> Registry:
        """A registry with one more board (and the snapshots it brings)."""
        return Registry([*self.snapshots.values(), *snapshots], [*self.boards, board])

    def board(self, name: str) -> Board | None:
        return next((b for b in self.boards if b.name == name), None)

    def reads(self, board: Board) -> tuple[Snapshot, ...]:
        return tuple(self.snapshots[n] for n in board.snapshots)

    def built(self) -> tuple[Snapshot, ...]:
        """The snapshots some board reads (what the live worker builds), in registration order."""
        wanted = {n for b in self.boards for n in b.snapshots}
        return tuple(s for n, s in self.snapshots.items() if n in wanted)

    def levels_of(self, snapshot: str) -> set[Level]:
        return {lv for b in self.boards if snapshot in b.snapshots for lv in b.levels}

    def rotation(self) -> tuple[Board, ...]:
        return tuple(b for b in self.boards if b.rotation)

    def alert_board(self) -> Board | None:
        return next((b for b in self.boards if b.alerts), None)

    def home(self, role: str | None = None) -> Board:
        """Where ``/`` leads: the board made for ``role``, else the first board of the rotation."""
        made = next((b for b in self.boards if role is not None and role in b.home_for), None)
        return made or (self.rotation() or self.boards)[0]

    def health_checks(self, city: str) -> list[tuple[str, str]]:
        """(snapshot, scope code) pairs whose age `/healthz` judges: the whole snapshots of the boards
        that require theirs (a change log is appended only when something changed, so its age says
        nothing), at every scope those boards are shown at."""
        out: list[tuple[str, str]] = []
        for b in self.boards:
            if not b.health:
                continue
            for s in self.reads(b):
                for sc in scopes(city):
                    pair = (s.name, sc.code)
                    if not s.log and sc.level in b.levels and pair not in out:
                        out.append(pair)
        return out

    def schemas(self) -> dict[str, Any]:
        """Every built snapshot's JSON Schema, by name (a change log's: one entry of it)."""
        out = {}
        for s in self.built():
            schema = s.model.model_json_schema()
            kind = f"a log of changes to `{s.items}`, by id" if s.log else "a page needs only the newest"
            schema["description"] = f"{s.description or schema.get('description', '')} ({kind})".strip()
            out[s.name] = schema
        return out
