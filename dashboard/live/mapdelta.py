"""The wall map's markers as a log of changes, so a browser receives only what moved.

Every open case has a marker (tens of thousands at city scale). Re-sending them all to every wall
every two seconds is what makes long-running walls slow; instead each publish appends to the
scope's map log either a *reset* (every marker: the first publish of a worker, which knows
nothing of what was sent before it) or a *delta* (markers added or changed, ids removed) against
the previous entry. The full map is kept beside the log with the id of the entry it equals, both
written by one script, so a browser that connects reads the full map and continues from exactly
that entry, and a browser that resumes (SSE Last-Event-ID) continues from its own entry as long
as it is still in the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import redis

from feeds.keys import Keys

MAP_LOG_KEEP = 120  # entries of changes kept per scope (four minutes at one every two seconds)

# KEYS: full snapshot, log, id of the entry the full snapshot equals; ARGV: full JSON, entry JSON, keep
_PUBLISH = """
local id = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], '*', 'd', ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[3], id)
return id
"""


Markers = Mapping[str, Mapping[str, Any]]


def diff(before: Markers, after: Markers) -> tuple[list[Any], list[str]]:
    """(markers new or changed, ids gone) from ``before`` to ``after`` (both id -> marker)."""
    up = [m for i, m in after.items() if before.get(i) != m]
    rm = [i for i in before if i not in after]
    return up, rm


class MapPublisher:
    """Appends each scope's marker changes to its map log (one per live worker holding the lease)."""

    def __init__(self, r: redis.Redis, keys: Keys, board: str = "wall-map", keep: int = MAP_LOG_KEEP) -> None:
        self.r, self.keys, self.board, self.keep = r, keys, board, keep
        self._script = r.register_script(_PUBLISH)
        self._sent: dict[str, dict[str, Any]] = {}  # scope -> id -> marker, as last published

    def publish(self, scope: str, snap: Mapping[str, Any]) -> str | None:
        """Publish ``snap`` (a wall-map snapshot); returns the log entry id, None when nothing moved."""
        markers = {m["id"]: m for m in snap["markers"]}
        head = {k: v for k, v in snap.items() if k != "markers"}
        before = self._sent.get(scope)
        if before is None:
            entry: dict[str, Any] = {**head, "reset": True, "markers": snap["markers"]}
        else:
            up, rm = diff(before, markers)
            if not up and not rm:
                return None
            entry = {**head, "up": up, "rm": rm}
        keys = [self.keys.snapshot(self.board, scope), self.keys.snapshot_log(self.board, scope),
                self.keys.snapshot_log_id(self.board, scope)]
        raw = self._script(keys=keys, args=[orjson.dumps(snap), orjson.dumps(entry), self.keep])
        self._sent[scope] = markers
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def forget(self) -> None:
        """Start over with resets (after losing the snapshot lease: another worker published since)."""
        self._sent.clear()
