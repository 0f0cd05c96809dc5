"""A snapshot published as a log of changes, so a browser receives only what moved.

The wall's case map has a marker for every open case (tens of thousands at city scale); re-sending
them all to every wall every two seconds is what makes long-running walls slow. Instead each
publish appends to the scope's log either a *reset* (every item: the first publish of a worker,
which knows nothing of what was sent before it) or a *change* (items added or changed, ids
removed) against the previous entry. The full snapshot is stored beside the log, as a reset entry,
with the id of the entry it equals, both written by one script: a browser that connects reads the
full snapshot and continues from exactly that entry, and a browser that resumes (SSE
Last-Event-ID) continues from its own entry as long as it is still in the log.

Any snapshot registered with ``log=True`` is published this way: ``items`` names its list of
``{"id": …}`` items (dashboard/contract/board.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import redis

from dashboard.contract.keys import Keys

LOG_KEEP = 120  # entries kept per scope (four minutes at one every two seconds)

# KEYS: full snapshot, log, id of the entry the full snapshot equals; ARGV: full JSON, entry JSON, keep
_PUBLISH = """
local id = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], '*', 'd', ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[3], id)
return id
"""

Items = Mapping[str, Mapping[str, Any]]


def diff(before: Items, after: Items) -> tuple[list[Any], list[str]]:
    """(items new or changed, ids gone) from ``before`` to ``after`` (both id -> item)."""
    up = [m for i, m in after.items() if (was := before.get(i)) is not m and was != m]  # same object: unchanged
    rm = [i for i in before if i not in after]
    return up, rm


class ChangeLog:
    """Appends each scope's changes of one snapshot to its log (one per worker holding the lease)."""

    def __init__(self, r: redis.Redis, keys: Keys, name: str, items: str, keep: int = LOG_KEEP) -> None:
        self.r, self.keys, self.name, self.items, self.keep = r, keys, name, items, keep
        self._script = r.register_script(_PUBLISH)
        self._sent: dict[str, dict[str, Any]] = {}  # scope -> id -> item, as last published

    def publish(self, scope: str, snap: Mapping[str, Any]) -> str | None:
        """Publish ``snap`` (its items under ``self.items``, ``reset``/``removed`` aside); returns the
        log entry id, None when nothing moved."""
        items = {m["id"]: m for m in snap[self.items]}
        head = {k: v for k, v in snap.items() if k not in (self.items, "reset", "removed")}
        full = {**head, "reset": True, self.items: snap[self.items], "removed": []}
        before = self._sent.get(scope)
        if before is None:
            entry = full
        else:
            up, rm = diff(before, items)
            if not up and not rm:
                return None
            entry = {**head, "reset": False, self.items: up, "removed": rm}
        keys = [self.keys.snapshot(self.name, scope), self.keys.snapshot_log(self.name, scope),
                self.keys.snapshot_log_id(self.name, scope)]
        raw = self._script(keys=keys, args=[orjson.dumps(full), orjson.dumps(entry), self.keep])
        self._sent[scope] = items
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def forget(self) -> None:
        """Start over with resets (after losing the snapshot lease: another worker published since)."""
        self._sent.clear()
