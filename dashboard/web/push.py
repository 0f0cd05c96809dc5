"""Server-sent events: a board's snapshots, from Redis to one open page.

One stream per page multiplexes the logs of every snapshot the board reads (its registration says
which, dashboard/contract/board.py): a whole snapshot's log (a page only ever needs the newest entry) and a
change log's (a page needs every entry, in order). Each SSE event is named after its snapshot, and
its id is the position in every log, ``<id>|<id>…`` in the registration's order, so a browser's
automatic reconnect (``Last-Event-ID``) resumes exactly where it was: the newest whole snapshots
again, then the changes it missed — or a change log's full state when they are no longer in the
log. The web process keeps nothing but those ids per open stream; a stream ends after
``max_age_s`` and the browser reconnects at once, which keeps threads and connections turning over
on walls that stay open for weeks.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis

from dashboard.contract.board import PUBLISHED, Scope, Snapshot
from dashboard.contract.geo import Datum
from dashboard.contract.keys import Keys
from dashboard.web.mapconf import shift_geojson

log = logging.getLogger(__name__)

BLOCK_MS = 4_000  # a ping goes out when nothing else did for this long (proxies, watchdog); below redis-py's
# default socket timeout (5 s), or an idle stream's XREAD dies with "Timeout reading from socket"
RETRY_MS = 2_000  # how soon the browser reconnects after the stream ends or breaks
SCREEN_EVERY_S = 10.0
SCREEN_TTL_S = 30.0  # a screen not heard of for this long no longer counts as connected
MAX_LOG_ENTRIES = 200  # per read; a page far behind gets them in several messages
ON_DEMAND_EVERY_S = 2.0  # a place below the district: its figures asked for this often (OnDemand caches them)

OnDemandBuild = Callable[[Snapshot, Scope], bytes]


@dataclass(frozen=True)
class Position:
    """Where a page is in each of its board's logs (None: nowhere yet)."""
    ids: tuple[str | None, ...]

    @classmethod
    def parse(cls, raw: str | None, n: int) -> Position:
        parts = (raw or "").split("|")
        return cls(tuple(_stream_id(parts[i]) if i < len(parts) else None for i in range(n)))

    def with_id(self, i: int, entry: str | None) -> Position:
        return Position((*self.ids[:i], entry, *self.ids[i + 1:]))

    def __str__(self) -> str:
        return "|".join(x or "" for x in self.ids)


def _stream_id(s: str) -> str | None:
    a, dot, b = s.partition("-")
    return s if dot and a.isdigit() and b.isdigit() else None


def message(event: str, data: bytes, pos: Position | None = None) -> bytes:
    """One SSE message; ``data`` is one line of JSON (orjson never writes a newline)."""
    head = f"event: {event}\n" + (f"id: {pos}\n" if pos else "")
    return head.encode() + b"data: " + data + b"\n\n"


class Pusher:
    def __init__(self, r: redis.Redis, keys: Keys, datum: Datum = Datum.wgs84, max_age_s: float = 600,
                 block_ms: int = BLOCK_MS, on_demand: OnDemandBuild | None = None) -> None:
        self.r, self.keys, self.datum, self.max_age_s, self.block_ms = r, keys, datum, max_age_s, block_ms
        self.on_demand = on_demand

    def stream(self, board: str, specs: Sequence[Snapshot], scope: str, last: str | None = None,
               screen: str | None = None, build: str = "", alive: Callable[[], bool] = lambda: True,
               place: Scope | None = None) -> Iterator[bytes]:
        """The SSE body for one page: hello, current state, then changes until max_age_s — or until
        ``alive`` says its session has ended (checked every heartbeat), when a ``logout`` event ends it.
        A ``place`` below the district (no worker publishes for it) gets its snapshots built on demand."""
        screen = screen or uuid.uuid4().hex
        yield f"retry: {RETRY_MS}\n".encode() + message("hello", orjson.dumps({"build": build, "screen": screen}))
        if place is not None and place.level not in PUBLISHED:
            following = self._built_on_demand(specs, place)
        else:
            pos, first = self.catch_up(specs, scope, Position.parse(last, len(specs)))
            yield from first
            following = self._read_logs(specs, scope, pos)
        deadline, seen_at = time.monotonic() + self.max_age_s, 0.0
        try:
            while time.monotonic() < deadline:
                if not alive():
                    yield message("logout", b"{}")
                    return
                if time.monotonic() - seen_at >= SCREEN_EVERY_S:
                    self._seen(screen, board, scope)
                    seen_at = time.monotonic()
                out = following()
                yield from out or [message("ping", orjson.dumps({"t": int(time.time() * 1000)}))]
        finally:
            self.r.hdel(self.keys.screens, screen)

    def _read_logs(self, specs: Sequence[Snapshot], scope: str, pos: Position) -> Callable[[], list[bytes]]:
        """What follows the catch-up: each call blocks up to block_ms on the logs and returns their changes."""
        logs = self.logs(specs, scope)

        def read() -> list[bytes]:
            nonlocal pos
            got = self.r.xread({name: pos.ids[i] or "0-0" for i, name in enumerate(logs)},
                               count=MAX_LOG_ENTRIES, block=self.block_ms)
            if not got:
                return []
            pos, out = self.changes(got, specs, logs, pos)
            return out
        return read

    def _built_on_demand(self, specs: Sequence[Snapshot], place: Scope) -> Callable[[], list[bytes]]:
        """A town's, village's or grid's snapshots: each call (after the first, ON_DEMAND_EVERY_S later)
        builds them and returns those that changed; no log, so nothing to resume: a reconnect gets the
        current ones."""
        build = self.on_demand
        if build is None:
            raise RuntimeError("this pusher builds nothing on demand")
        sent: dict[str, bytes] = {}

        def built() -> list[bytes]:
            if sent:
                time.sleep(ON_DEMAND_EVERY_S)
            out = []
            for spec in specs:
                raw = build(spec, place)
                if sent.get(spec.name) != raw:
                    sent[spec.name] = raw
                    out.append(message(spec.name, self._shifted(spec, raw)))
            return out
        return built

    def logs(self, specs: Sequence[Snapshot], scope: str) -> list[str]:
        return [self.keys.snapshot_log(s.name, scope) for s in specs]

    def catch_up(self, specs: Sequence[Snapshot], scope: str, pos: Position) -> tuple[Position, list[bytes]]:
        """The newest of each whole snapshot, and each change log's full state unless ``pos`` can
        resume it."""
        out: list[tuple[Snapshot, bytes]] = []
        for i, spec in enumerate(specs):
            log_key = self.keys.snapshot_log(spec.name, scope)
            if not spec.log:
                newest: Any = self.r.xrevrange(log_key, count=1)
                if newest:
                    pos = pos.with_id(i, _s(newest[0][0]))
                    out.append((spec, newest[0][1][b"s"]))
                continue
            at = pos.ids[i]
            if at is not None and self.r.xrange(log_key, at, at):
                continue  # resumable: the entries after it follow
            full, full_id = cast(list[Any], self.r.mget(self.keys.snapshot(spec.name, scope),
                                                        self.keys.snapshot_log_id(spec.name, scope)))
            pos = pos.with_id(i, _s(full_id) if full_id else None)
            if full:
                out.append((spec, full))  # stored as a reset entry: replaces everything the page holds
        # change logs first: a page draws its whole snapshots on top of the state they describe
        out.sort(key=lambda x: not x[0].log)
        return pos, [message(spec.name, self._shifted(spec, raw), pos) for spec, raw in out]

    def changes(self, got: Any, specs: Sequence[Snapshot], logs: Sequence[str],
                pos: Position) -> tuple[Position, list[bytes]]:
        """SSE messages for what one XREAD returned: every change log entry, then each whole snapshot's
        newest."""
        index = {name: i for i, name in enumerate(logs)}
        out: list[bytes] = []
        newest: dict[int, tuple[str, bytes]] = {}
        for name, got_entries in got:
            i = index[_s(name)]
            if not got_entries:
                continue
            if not specs[i].log:
                newest[i] = (_s(got_entries[-1][0]), got_entries[-1][1][b"s"])
                continue
            for eid, fields in got_entries:  # each with its own position: a reconnect resumes after it
                pos = pos.with_id(i, _s(eid))
                out.append(message(specs[i].name, self._shifted(specs[i], fields[b"d"]), pos))
        for i, (eid, raw) in sorted(newest.items()):
            pos = pos.with_id(i, eid)
            out.append(message(specs[i].name, self._shifted(specs[i], raw), pos))
        return pos, out

    def _shifted(self, spec: Snapshot, raw: bytes) -> bytes:
        """A snapshot as sent: what it draws shifted into the tiles' datum when that is not WGS-84 (the
        stored bytes as they are otherwise: megabytes for a city's case map, not parsed per page)."""
        if self.datum is Datum.wgs84 or not spec.geojson:
            return raw
        snap = orjson.loads(raw)
        for field in spec.geojson:
            if snap.get(field) is not None:
                snap[field] = shift_geojson(snap[field], self.datum)
        return orjson.dumps(snap)

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
