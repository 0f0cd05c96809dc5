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

from feeds.adapters.base import Reject
from feeds.event import Event
from feeds.keys import Keys
from feeds.privacy import mask_text
from feeds.settings import Settings

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
# about as long as each other, so slices let the two overlap (see StreamSink._pipelined); the
# first is small so that Redis starts early.
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


class StreamSink:
    def __init__(self, r: redis.Redis, keys: Keys, settings: Settings) -> None:
        self.r = r
        self.keys = keys
        self.settings = settings
        self._script = r.register_script(_DEDUP_XADD)

    def write_events(self, feed: str, events: Sequence[Event]) -> WriteResult:
        result = WriteResult()
        size = self.settings.batch_size
        for i in range(0, len(events), size):
            result += self._write_batch(feed, events[i : i + size])
        return result

    def _write_batch(self, feed: str, events: Sequence[Event]) -> WriteResult:
        if not events:
            return WriteResult()
        now_ms = int(time.time() * 1000)
        cutoff = now_ms - int(self.settings.dedup_window_h * 3_600_000)
        head: list[EncodableT] = [now_ms, cutoff, self.settings.stream_maxlen]
        keys: list[KeyT] = [self.keys.stream(feed), self.keys.seen(feed), self.keys.counters(feed)]
        cuts = [0, *range(FIRST_SLICE, len(events), SLICE), len(events)]
        slices = [events[a:b] for a, b in zip(cuts, cuts[1:])]  # noqa: B905 - one shorter
        if len(slices) > 1 and isinstance(self.r, redis.Redis):
            added = self._pipelined(keys, head, slices)
        else:
            added = sum(int(self._script(keys=keys, args=_args(head, part))) for part in slices)
        return WriteResult(added=added, duplicates=len(events) - added)

    def _pipelined(self, keys: list[KeyT], head: list[EncodableT], slices: list[Sequence[Event]]) -> int:
        """Send each slice's script call as soon as it is serialised, then read the replies: Redis
        (on its own core) works through one slice while the next is serialised. A slice Redis did
        not know the script for is sent again the usual way, which loads it; after a lost
        connection every slice is (dedup drops what had been written, counted as duplicates)."""
        pool = self.r.connection_pool
        conn = _connection(pool)
        sent: list[list[EncodableT]] = []
        replies: list[Any] = []
        try:
            for part in slices:
                args = _args(head, part)
                conn.send_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
                sent.append(args)
            for _ in sent:
                try:
                    replies.append(conn.read_response())
                except ResponseError as err:  # NOSCRIPT, or an error to raise once all are read
                    replies.append(err)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            conn.disconnect()
            replies = [None] * len(slices)
            sent = [_args(head, part) for part in slices]
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)
        added = 0
        for args, reply in zip(sent, replies, strict=True):
            if isinstance(reply, ResponseError) and not isinstance(reply, NoScriptError):
                raise reply
            added += int(reply if isinstance(reply, int) else self._script(keys=keys, args=args))
        return added

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

    def write(self, feed: str, items: Iterable[Event | Reject]) -> WriteResult:
        events: list[Event] = []
        rejects: list[Reject] = []
        for it in items:
            (rejects if isinstance(it, Reject) else events).append(it)  # type: ignore[arg-type]
        res = self.write_events(feed, events)
        res.rejected = self.write_rejects(feed, rejects)
        return res

    def trim_by_age(self, feed: str) -> int:
        """Drop stream entries older than the retention (stream ids are ms timestamps)."""
        min_ms = int(time.time() * 1000 - self.settings.stream_retention_h * 3_600_000)
        return int(self.r.xtrim(self.keys.stream(feed), minid=f"{min_ms}-0", approximate=False))
