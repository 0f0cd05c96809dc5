"""Leases: with several ingest processes running, each feed is polled by exactly one of them.

A lease is a Redis key holding the owner's token with a TTL. The owner renews it; when the owner
dies the key expires and another process acquires it on its next refresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

from dashboard.contract.keys import Keys

# acquire if free, renew if ours; returns 1 when we hold it afterwards
_ACQUIRE_OR_RENEW = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases:
    def __init__(self, r: redis.Redis, keys: Keys, token: str, ttl_s: float) -> None:
        self.r = r
        self.keys = keys
        self.token = token
        self.ttl_ms = int(ttl_s * 1000)
        self._acquire = r.register_script(_ACQUIRE_OR_RENEW)
        self._release = r.register_script(_RELEASE)
        self._valid_until: dict[str, float] = {}

    def refresh(self, feeds: Iterable[str]) -> set[str]:
        """Acquire or renew every lease we can; returns the feeds this process now holds."""
        held = set()
        for feed in feeds:
            started = time.monotonic()
            ok = self._acquire(keys=[self.keys.lease(feed)], args=[self.token, self.ttl_ms])
            if ok:
                # counted from before the call, with a margin, so we stop before Redis expires it
                self._valid_until[feed] = started + self.ttl_ms / 1000 * 0.8
                held.add(feed)
            else:
                self._valid_until.pop(feed, None)
        return held

    def holds(self, feed: str) -> bool:
        return time.monotonic() < self._valid_until.get(feed, 0.0)

    def release_all(self) -> None:
        for feed in list(self._valid_until):
            self._release(keys=[self.keys.lease(feed)], args=[self.token])
        self._valid_until.clear()
