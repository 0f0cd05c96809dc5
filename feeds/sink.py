"""Writing to Redis: events into per-feed streams with atomic de-duplication, rejects into the
dead-letter stream. At-least-once delivery upstream becomes exactly-once in the stream here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis
from redis.typing import EncodableT, FieldT

from feeds.adapters.base import Reject
from feeds.event import Event
from feeds.keys import Keys
from feeds.privacy import mask_text
from feeds.settings import Settings

# Check-and-add of each id and the XADD happen in one script, so a crash can never leave an id
# marked as seen without its event in the stream (or the reverse). Both keys share a hash tag.
_DEDUP_XADD = """
local now = ARGV[1]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
local added = 0
for i = 4, #ARGV, 2 do
  if redis.call('ZADD', KEYS[2], 'NX', now, ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'id', ARGV[i], 'e', ARGV[i + 1])
    added = added + 1
  end
end
return added
"""


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
        args: list[EncodableT] = [now_ms, cutoff, self.settings.stream_maxlen]
        for ev in events:
            args.append(ev.event_id)
            args.append(ev.model_dump_json(by_alias=True))
        added = int(self._script(keys=[self.keys.stream(feed), self.keys.seen(feed)], args=args))
        res = WriteResult(added=added, duplicates=len(events) - added)
        self.r.hincrby(self.keys.counters(feed), "events", added)
        if res.duplicates:
            self.r.hincrby(self.keys.counters(feed), "duplicates", res.duplicates)
        return res

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
