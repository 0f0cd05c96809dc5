"""What the simulated upstreams hold: per feed, every record version in time order (a version is
never dropped before it ages out, so pollers never miss an intermediate status), the current
version by key (Open311 serves only that), injected records waiting for the next poll, and the
versions actually served (the ledger).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

RETENTION_H = 48  # records older than this (simulated hours) are dropped
MAX_PER_FEED = 250_000  # hard cap on record versions kept per feed


@dataclass(slots=True, eq=False)
class Entry:
    seq: int
    time: datetime
    key: str
    fact: Any = None  # the model's fact (rendered on demand); None for an injected record
    raw: bytes | None = None  # an injected record, served exactly as given

    @property
    def injected(self) -> bool:
        return self.raw is not None


class FeedLog:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._times: list[datetime] = []
        self.current: dict[str, Entry] = {}
        self.pending: list[Entry] = []  # injected, not yet served by a poll
        self.served: dict[int, Entry] = {}  # seq -> entry, in the order first served
        self.total = 0  # versions ever added

    def add(self, entry: Entry) -> None:
        if self._times and entry.time < self._times[-1]:
            # never expected (the model emits in time order); keep the log sorted anyway
            i = bisect.bisect_right(self._times, entry.time)
            self._times.insert(i, entry.time)
            self.entries.insert(i, entry)
        else:
            self._times.append(entry.time)
            self.entries.append(entry)
        self.current[entry.key] = entry
        self.total += 1

    def since(self, since: datetime | None, limit: int, until: datetime | None = None) -> list[Entry]:
        """Versions with since <= time (<= until), oldest first, at most ``limit``."""
        lo = 0 if since is None else bisect.bisect_left(self._times, since)
        hi = len(self._times) if until is None else bisect.bisect_right(self._times, until)
        return self.entries[lo:min(hi, lo + limit)]

    def current_sorted(self, after: datetime | None, before: datetime | None) -> list[Entry]:
        rows = [e for e in self.current.values()
                if (after is None or e.time >= after) and (before is None or e.time <= before)]
        rows.sort(key=lambda e: (e.time, e.key))
        return rows

    def take_pending(self) -> list[Entry]:
        out, self.pending = self.pending, []
        return out

    def mark_served(self, entries: Iterable[Entry]) -> None:
        for e in entries:
            self.served.setdefault(e.seq, e)

    def prune(self, before: datetime, cap: int = MAX_PER_FEED) -> None:
        cut = max(bisect.bisect_left(self._times, before), len(self.entries) - cap)
        if cut <= 0:
            return
        oldest_kept = self.entries[cut].time if cut < len(self.entries) else None
        del self.entries[:cut], self._times[:cut]
        if oldest_kept is None:
            self.current.clear()
            self.served.clear()
            return
        self.current = {k: e for k, e in self.current.items() if e.time >= oldest_kept}
        self.served = {s: e for s, e in self.served.items() if e.time >= oldest_kept}


class Store:
    def __init__(self, feeds: Iterable[str]) -> None:
        self.logs: dict[str, FeedLog] = {f: FeedLog() for f in feeds}
        self._seq = 0

    def add(self, feed: str, time: datetime, key: str, fact: Any = None, raw: bytes | None = None) -> Entry:
        self._seq += 1
        entry = Entry(self._seq, time, key, fact, raw)
        self.logs[feed].add(entry)
        if raw is not None:
            self.logs[feed].pending.append(entry)
        return entry

    def prune(self, before: datetime) -> None:
        for log in self.logs.values():
            log.prune(before)
