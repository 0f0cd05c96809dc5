"""Every Redis key this system uses, in one place.

Per-feed keys share a hash tag (``{code}``) so a feed's stream, dedup index, cursor and lease
live in one Redis Cluster slot and can be touched atomically by one script.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "pingan"

    def stream(self, feed: str) -> str:
        """Stream of normalised events from one connected system."""
        return f"{self.prefix}:{{{feed}}}:events"

    def seen(self, feed: str) -> str:
        """Sorted set event_id -> first-seen ms, the dedup index (trimmed by age)."""
        return f"{self.prefix}:{{{feed}}}:seen"

    def cursor(self, feed: str) -> str:
        """Hash: the feed's poll cursor (watermark, etc.)."""
        return f"{self.prefix}:{{{feed}}}:cursor"

    def health(self, feed: str) -> str:
        """Hash with a TTL: last ok, last error, failures, lag, counters."""
        return f"{self.prefix}:{{{feed}}}:health"

    def counters(self, feed: str) -> str:
        """Hash without TTL: lifetime counts of events written, duplicates and rejects."""
        return f"{self.prefix}:{{{feed}}}:counters"

    def lease(self, feed: str) -> str:
        """String with a TTL: the token of the ingest process that polls this feed."""
        return f"{self.prefix}:{{{feed}}}:lease"

    def files(self, feed: str) -> str:
        """Sorted set of content digests of drop-folder files already ingested."""
        return f"{self.prefix}:{{{feed}}}:files"

    @property
    def dead(self) -> str:
        """Dead-letter stream: every rejected record with its feed, reason and a masked raw copy."""
        return f"{self.prefix}:dead"

    @property
    def workers(self) -> str:
        """Hash: ingest worker id -> last heartbeat (ms)."""
        return f"{self.prefix}:ingest:workers"

    def all_patterns(self) -> str:
        """Pattern that matches every key of this installation (tests and `reset`)."""
        return f"{self.prefix}:*"
