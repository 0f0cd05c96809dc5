"""Writing to Redis: events into per-feed streams with atomic de-duplication, rejects into the
dead-letter stream. At-least-once delivery upstream becomes exactly-once in the stream here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, FieldT, KeyT

from dashboard.contract.event import Event
from dashboard.contract.keys import Keys
from dashboard.contract.privacy import mask_text
from dashboard.contract.settings import Settings
from feeds.adapters.base import Reject

# Check-and-add of each id, the XADD and the counters happen in one script, so a crash can never
# leave an id marked as seen without its event in the stream (or the reverse). All keys share a
# hash tag. ARGV: now (ms), dedup cutoff (ms), MAXLEN, then id, event JSON, id, event JSON, …
# Redis commands called from a script cost more than their work, so the ids are looked up with
# one ZMSCORE and the new ones recorded with one ZADD (an id twice in one call counts once), and
# the stream is trimmed once per call rather than at each XADD (MAXLEN is approximate anyway).
_DEDUP_XADD = """
local now = ARGV[1]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
local n = (#ARGV - 3) / 2
local ids = {}
for i = 1, n do ids[i] = ARGV[2 + 2 * i] end
local known = redis.call('ZMSCORE', KEYS[2], unpack(ids))
local seen, members, added = {}, {}, 0
for i = 1, n do
  local id = ids[i]
  if not known[i] and not seen[id] then
    seen[id] = true
    members[#members + 1] = now
    members[#members + 1] = id
    redis.call('XADD', KEYS[1], '*', 'id', id, 'e', ARGV[3 + 2 * i])
    added = added + 1
  end
end
if added > 0 then
  redis.call('ZADD', KEYS[2], unpack(members))
  redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[3])
end
redis.call('HINCRBY', KEYS[3], 'events', added)
if n > added then
  redis.call('HINCRBY', KEYS[3], 'duplicates', n - added)
end
return added
"""


# Events per script call within a batch: serialising a slice and running the script on it take
# about as long as each other, so slices let the two overlap (see StreamSink.send); the first is
# small so that Redis starts early.
SLICE, FIRST_SLICE = 100, 25


def _args(head: list[EncodableT], events: Sequence[Event]) -> list[EncodableT]:
    args = list(head)
    for ev in events:
        args += (ev.event_id, ev.to_json())
    return args


def _connection(pool: redis.ConnectionPool) -> Connection:
    try:
        return pool.get_connection()  # type: ignore[call-arg,no-any-return,unused-ignore]
    except TypeError:  # redis-py before 5.3 wants a command name
        return pool.get_connection("EVALSHA")  # type: ignore[no-any-return,unused-ignore]


@dataclass
class WriteResult:
    added: int = 0
    duplicates: int = 0
    rejected: int = 0

    def __iadd__(self, other: WriteResult) -> WriteResult:
        self.added += other.added
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        return self


class PendingWrite:
    """Events sent to Redis as script calls whose replies are not read yet (StreamSink.send).

    Until ``result()`` Redis runs the calls on its own core while the caller goes on (the poller
    normalises the next page). A call Redis did not know the script for is sent again the usual
    way, which loads it; after a lost connection every call is (dedup drops what had been written,
    counted as duplicates). Nothing is known to be written before ``result()`` returns."""

    def __init__(self, sink: StreamSink, keys: list[KeyT], calls: list[list[EncodableT]], events: int,
                 rejected: int, conn: Connection | None, replies: list[Any] | None = None) -> None:
        self._sink, self._keys, self._calls, self._events = sink, keys, calls, events
        self._rejected, self._conn, self._replies = rejected, conn, replies

    def result(self) -> WriteResult:
        """Read the replies (once): events added and duplicates; raises what Redis raised."""
        replies = self._replies if self._replies is not None else self._read()
        self._replies = replies
        added = 0
        for args, reply in zip(self._calls, replies, strict=True):
            if isinstance(reply, ResponseError) and not isinstance(reply, NoScriptError):
                raise reply
            added += int(reply if isinstance(reply, int) else self._sink._script(keys=self._keys, args=args))
        return WriteResult(added=added, duplicates=self._events - added, rejected=self._rejected)

    def _read(self) -> list[Any]:
        conn, self._conn = self._conn, None
        if conn is None:  # the connection was lost while sending: every call again
            return [None] * len(self._calls)
        pool = self._sink.r.connection_pool
        replies: list[Any] = []
        try:
            for _ in self._calls:
                try:
                    replies.append(conn.read_response())
                except ResponseError as err:  # NOSCRIPT, or an error to raise once all are read
                    replies.append(err)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            conn.disconnect()
            replies = [None] * len(self._calls)
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)
        return replies


class StreamSink:
    def __init__(self, r: redis.Redis, keys: Keys, settings: Settings) -> None:
        self.r = r
        self.keys = keys
        self.settings = settings
        self._script = r.register_script(_DEDUP_XADD)

    def write_events(self, feed: str, events: Sequence[Event]) -> WriteResult:
        return self._send_events(feed, events, 0).result()

    def send(self, feed: str, items: Iterable[Event | Reject]) -> PendingWrite:
        """Write the rejects, and send the events without waiting for Redis; ``result()`` waits."""
        events: list[Event] = []
        rejects: list[Reject] = []
        for it in items:
            (rejects if isinstance(it, Reject) else events).append(it)  # type: ignore[arg-type]
        return self._send_events(feed, events, self.write_rejects(feed, rejects))

    def write(self, feed: str, items: Iterable[Event | Reject]) -> WriteResult:
        return self.send(feed, items).result()

    def _send_events(self, feed: str, events: Sequence[Event], rejected: int) -> PendingWrite:
        """Each ``batch_size`` events are one dedup window (one ``now``), sent in slices, each slice
        as soon as it is serialised: Redis works through one slice while the next is serialised."""
        keys: list[KeyT] = [self.keys.stream(feed), self.keys.seen(feed), self.keys.counters(feed)]
        size = self.settings.batch_size
        slices: list[tuple[list[EncodableT], Sequence[Event]]] = []
        for i in range(0, len(events), size):
            batch = events[i : i + size]
            now_ms = int(time.time() * 1000)
            head: list[EncodableT] = [now_ms, now_ms - int(self.settings.dedup_window_h * 3_600_000),
                                      self.settings.stream_maxlen]
            cuts = [0, *range(FIRST_SLICE, len(batch), SLICE), len(batch)]
            slices += [(head, batch[a:b]) for a, b in zip(cuts, cuts[1:])]  # noqa: B905 - one shorter
        if not isinstance(self.r, redis.Redis):  # e.g. a cluster client: one call at a time
            calls = [_args(head, part) for head, part in slices]
            replies = [int(self._script(keys=keys, args=args)) for args in calls]
            return PendingWrite(self, keys, calls, len(events), rejected, None, replies)
        return self._pipelined(keys, slices, len(events), rejected)

    def _pipelined(self, keys: list[KeyT], slices: list[tuple[list[EncodableT], Sequence[Event]]], events: int,
                   rejected: int) -> PendingWrite:
        if not slices:
            return PendingWrite(self, keys, [], events, rejected, None, [])
        pool = self.r.connection_pool
        conn = _connection(pool)
        calls: list[list[EncodableT]] = []
        try:
            for head, part in slices:
                args = _args(head, part)
                calls.append(args)
                conn.send_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            conn.disconnect()
            pool.release(conn)
            calls = [_args(head, part) for head, part in slices]
            return PendingWrite(self, keys, calls, events, rejected, None)
        except BaseException:
            conn.disconnect()
            pool.release(conn)
            raise
        return PendingWrite(self, keys, calls, events, rejected, conn)

    def write_rejects(self, feed: str, rejects: Iterable[Reject]) -> int:
        """Each reject goes to the dead-letter stream with its reason and a masked, capped raw copy."""
        pipe = self.r.pipeline(transaction=False)
        n = 0
        cap = self.settings.dead_raw_bytes
        for rej in rejects:
            raw = mask_text(rej.raw)
            raw_b = raw.encode("utf-8", "replace")
            fields: dict[FieldT, EncodableT] = {
                "feed": feed,
                "reason": mask_text(rej.reason)[:500],
                "key": mask_text(rej.record_key or "")[:128],
                "raw": raw_b[:cap].decode("utf-8", "ignore"),
                "raw_bytes": len(raw_b),
                "at": int(time.time() * 1000),
            }
            pipe.xadd(self.keys.dead, fields, maxlen=self.settings.dead_maxlen, approximate=True)
            n += 1
        if n:
            pipe.hincrby(self.keys.counters(feed), "rejects", n)
            pipe.execute()
        return n

    def trim_by_age(self, feed: str) -> int:
        """Drop stream entries older than the retention (stream ids are ms timestamps)."""
        min_ms = int(time.time() * 1000 - self.settings.stream_retention_h * 3_600_000)
        return int(self.r.xtrim(self.keys.stream(feed), minid=f"{min_ms}-0", approximate=False))
