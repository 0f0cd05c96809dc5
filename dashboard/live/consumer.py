"""A Redis consumer group over the 21 source streams: read, hand over, acknowledge.

Delivery is at least once. Entries a dead consumer had read but not acknowledged are claimed by
the others once they have been idle for ``claim_idle_s`` (XAUTOCLAIM); an entry that keeps
failing is moved to the dead-letter stream after ``MAX_DELIVERIES`` attempts instead of being
retried for ever. A city's streams share its hash tag (dashboard/contract/keys.py), so one
blocking XREADGROUP reads all of them, on a single Redis as on a Cluster: an idle reader waits in
Redis instead of asking 21 streams again and again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

log = logging.getLogger(__name__)

MAX_DELIVERIES = 10  # a worker killed this often while holding an entry: the entry itself is suspect


@dataclass(frozen=True, slots=True)
class Entry:
    stream: str
    id: str
    payload: bytes  # the event JSON (field "e")


class GroupReader:
    def __init__(self, r: redis.Redis, streams: Sequence[str], group: str, consumer: str,
                 batch: int = 500, claim_idle_s: float = 30.0) -> None:
        self.r = r
        self.streams = list(streams)
        self.group = group
        self.consumer = consumer
        self.batch = batch
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self._claim_from = {s: "0-0" for s in self.streams}

    def ensure_groups(self) -> None:
        """Create the group on every stream (from the beginning) if it is not there yet."""
        for stream in self.streams:
            try:
                self.r.xgroup_create(stream, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def read(self, block_ms: int | None = None) -> list[Entry]:
        """New entries, up to ``batch`` from each stream (so a busy stream cannot starve the others),
        in one command; when there are none, waits up to ``block_ms`` for the first (None: returns at
        once)."""
        try:
            res: Any = self.r.xreadgroup(self.group, self.consumer, dict.fromkeys(self.streams, ">"),
                                         count=self.batch, block=block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_groups()  # a stream was deleted and re-created
            return []
        out: list[Entry] = []
        for name, items in res or ():
            out.extend(_entries(name, items))
        return out

    def claim(self) -> tuple[list[Entry], list[Entry]]:
        """(entries to retry, entries that failed too often) taken over from idle consumers."""
        retry: list[Entry] = []
        poison: list[Entry] = []
        pipe = self.r.pipeline(transaction=False)  # one round trip for every stream
        for stream in self.streams:
            pipe.xautoclaim(stream, self.group, self.consumer, self.claim_idle_ms,
                            start_id=self._claim_from[stream], count=self.batch)
        for stream, (nxt, items, *_) in zip(self.streams, pipe.execute(), strict=True):
            self._claim_from[stream] = nxt.decode() if isinstance(nxt, bytes) else nxt
            entries = list(_entries(stream, [i for i in items if i[1] is not None]))
            if not entries:
                continue
            counts = self._deliveries(stream, entries)
            for e in entries:
                (poison if counts.get(e.id, 0) > MAX_DELIVERIES else retry).append(e)
        return retry, poison

    def _deliveries(self, stream: str, entries: Sequence[Entry]) -> dict[str, int]:
        rows: Any = self.r.xpending_range(stream, self.group, min=entries[0].id, max=entries[-1].id,
                                     count=len(entries) * 2, consumername=self.consumer)
        return {_s(row["message_id"]): int(row["times_delivered"]) for row in rows}

    def ack(self, entries: Iterable[Entry]) -> None:
        by_stream: dict[str, list[str]] = {}
        for e in entries:
            by_stream.setdefault(e.stream, []).append(e.id)
        if not by_stream:
            return
        pipe = self.r.pipeline(transaction=False)
        for stream, ids in by_stream.items():
            pipe.xack(stream, self.group, *ids)
        pipe.execute()


def _entries(stream: str | bytes, items: Iterable[tuple[bytes, dict[bytes, bytes]]]) -> Iterable[Entry]:
    name = _s(stream)
    for entry_id, fields in items:
        yield Entry(name, _s(entry_id), fields.get(b"e", b""))


def _s(v: str | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else v
