"""Server-sent events: a board's snapshots and map changes, from Redis to one open page.

One stream per page multiplexes two logs the live worker appends to: the board's snapshots (small,
whole; a page only ever needs the newest) and the map's changes (markers added, changed or
removed; a page needs every one, in order). The event id is ``<snapshot id>|<map id>``, so a
browser's automatic reconnect (``Last-Event-ID``) resumes exactly where it was: the newest
snapshot again, then the map changes it missed — or the full map when they are no longer in the
log. The web process keeps nothing but the two ids per open stream; a stream ends after
``max_age_s`` and the browser reconnects at once, which keeps threads and connections turning
over on walls that stay open for weeks.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis

from dashboard.web.mapconf import shift, shift_emergency
from feeds.geo import Datum
from feeds.keys import Keys

log = logging.getLogger(__name__)

BLOCK_MS = 4_000  # a ping goes out when nothing else did for this long (proxies, watchdog); below redis-py's
# default socket timeout (5 s), or an idle stream's XREAD dies with "Timeout reading from socket"
RETRY_MS = 2_000  # how soon the browser reconnects after the stream ends or breaks
SCREEN_EVERY_S = 10.0
SCREEN_TTL_S = 30.0  # a screen not heard of for this long no longer counts as connected
MAX_MAP_ENTRIES = 200  # per read; a page far behind gets them in several messages


@dataclass(frozen=True)
class Position:
    wall: str | None = None
    map: str | None = None

    @classmethod
    def parse(cls, raw: str | None) -> Position:
        w, _, m = (raw or "").partition("|")
        return cls(_stream_id(w), _stream_id(m))

    def __str__(self) -> str:
        return f"{self.wall or ''}|{self.map or ''}"


def _stream_id(s: str) -> str | None:
    a, dot, b = s.partition("-")
    return s if dot and a.isdigit() and b.isdigit() else None


def message(event: str, data: bytes, pos: Position | None = None) -> bytes:
    """One SSE message; ``data`` is one line of JSON (orjson never writes a newline)."""
    head = f"event: {event}\n" + (f"id: {pos}\n" if pos else "")
    return head.encode() + b"data: " + data + b"\n\n"


class Pusher:
    def __init__(self, r: redis.Redis, keys: Keys, datum: Datum = Datum.wgs84, max_age_s: float = 600,
                 block_ms: int = BLOCK_MS) -> None:
        self.r, self.keys, self.datum, self.max_age_s, self.block_ms = r, keys, datum, max_age_s, block_ms

    def stream(self, board: str, scope: str, last: str | None = None, screen: str | None = None,
               build: str = "") -> Iterator[bytes]:
        """The SSE body for one page: hello, current state, then changes until max_age_s."""
        screen = screen or uuid.uuid4().hex
        logs = (self.keys.snapshot_log(board, scope), self.keys.snapshot_log(f"{board}-map", scope))
        pos = Position.parse(last)
        yield f"retry: {RETRY_MS}\n".encode() + message("hello", orjson.dumps({"build": build, "screen": screen}))
        pos, first = self.catch_up(board, scope, pos)
        yield from first
        deadline, seen_at = time.monotonic() + self.max_age_s, 0.0
        try:
            while time.monotonic() < deadline:
                if time.monotonic() - seen_at >= SCREEN_EVERY_S:
                    self._seen(screen, board, scope)
                    seen_at = time.monotonic()
                got = self.r.xread({logs[0]: pos.wall or "0-0", logs[1]: pos.map or "0-0"},
                                   count=MAX_MAP_ENTRIES, block=self.block_ms)
                if not got:
                    yield message("ping", orjson.dumps({"t": int(time.time() * 1000)}))
                    continue
                pos, out = self.changes(got, logs, pos, board)
                yield from out
        finally:
            self.r.hdel(self.keys.screens, screen)

    def catch_up(self, board: str, scope: str, pos: Position) -> tuple[Position, list[bytes]]:
        """The newest snapshot, and the full map unless ``pos`` can resume the map's log."""
        out: list[bytes] = []
        newest: Any = self.r.xrevrange(self.keys.snapshot_log(board, scope), count=1)
        wall = pos.wall
        if newest:
            wall = _s(newest[0][0])
        map_log = self.keys.snapshot_log(f"{board}-map", scope)
        map_id = pos.map
        resumable = map_id is not None and bool(self.r.xrange(map_log, map_id, map_id))
        if not resumable:
            full, full_id = cast(list[Any], self.r.mget(self.keys.snapshot(f"{board}-map", scope),
                                        self.keys.snapshot_log_id(f"{board}-map", scope)))
            map_id = _s(full_id) if full_id else None
            if full:
                # the stored map as it is (megabytes for a city; not parsed again per page): "mapfull"
                # tells the page it replaces every marker
                body = self._map_entry(full)
                out.append(message("mapfull", body, Position(wall, map_id)))
        if newest:
            out.append(message("snapshot", self._snapshot(board, newest[0][1][b"s"]), Position(wall, map_id)))
        return Position(wall, map_id), out

    def changes(self, got: Any, logs: tuple[str, str], pos: Position,
                board: str = "wall") -> tuple[Position, list[bytes]]:
        """SSE messages for what one XREAD returned: every map change, then the newest snapshot."""
        out: list[bytes] = []
        snapshot = None
        wall, map_id = pos.wall, pos.map
        for name, entries in got:
            if _s(name) == logs[1]:
                for eid, fields in entries:
                    map_id = _s(eid)
                    out.append(message("map", self._map_entry(fields[b"d"]), Position(wall, map_id)))
            elif entries:
                wall, snapshot = _s(entries[-1][0]), entries[-1][1][b"s"]
        pos = Position(wall, map_id)
        if snapshot is not None:
            out.append(message("snapshot", self._snapshot(board, snapshot), pos))
        return pos, out

    def _map_entry(self, raw: bytes) -> bytes:
        """A map log entry (or the full map) as sent: shifted into the tiles' datum when that is not WGS-84."""
        if self.datum is Datum.wgs84:
            return raw
        entry = orjson.loads(raw)
        for m in [*entry.get("markers", []), *entry.get("up", [])]:
            m["lat"], m["lon"] = shift(m["lat"], m["lon"], self.datum)
        return orjson.dumps(entry)

    def _snapshot(self, board: str, raw: bytes) -> bytes:
        """A board snapshot as sent: the emergency board's positions shifted into the tiles' datum."""
        if self.datum is Datum.wgs84 or board != "emergency":
            return raw
        return orjson.dumps(shift_emergency(orjson.loads(raw), self.datum))

    def _seen(self, screen: str, board: str, scope: str) -> None:
        now = int(time.time() * 1000)
        self.r.hset(self.keys.screens, screen, orjson.dumps({"board": board, "scope": scope, "seen": now}))


def connected_screens(r: redis.Redis, keys: Keys, now_ms: int | None = None) -> list[dict[str, Any]]:
    """Screens heard of within SCREEN_TTL_S (and forget the others: closed without a goodbye)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    alive, gone = [], []
    for sid, raw in r.hgetall(keys.screens).items():
        try:
            info = orjson.loads(raw)
        except orjson.JSONDecodeError:
            info = {}
        if now_ms - int(info.get("seen", 0)) <= SCREEN_TTL_S * 1000:
            alive.append({"screen": _s(sid), **info})
        else:
            gone.append(sid)
    if gone:
        r.hdel(keys.screens, *gone)
    return alive


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v
