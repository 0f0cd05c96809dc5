"""Login sessions and login throttles in Redis: what the web's guard and `pingan users` share.

A session lives while its ``Keys.session_seen`` key does; deleting it ends the session at once.
Throttles count failed logins per account and per address in fixed windows. Every time here is a
Redis TTL: real time, never the demo's clock.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from dashboard.contract.keys import Keys


def end_sessions(r: redis.Redis, keys: Keys, name: str) -> int:
    """End every session of one account at once (its open push streams close within a heartbeat)."""
    sids = [s.decode() if isinstance(s, bytes) else str(s) for s in r.smembers(keys.user_sessions(name))]
    if sids:
        r.delete(*[keys.session_seen(s) for s in sids], *[keys.session(s) for s in sids])
    r.delete(keys.user_sessions(name))
    return len(sids)


class Sessions:
    """Which sessions are alive: Keys.session_seen, renewed by use, deleted to end one."""

    def __init__(self, r: redis.Redis, keys: Keys, idle_s: float, max_s: float) -> None:
        self.r, self.keys, self.idle_s, self.max_s = r, keys, int(idle_s), int(max_s)

    def start(self, sid: str, name: str) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.keys.session_seen(sid), name, ex=self.idle_s)
        pipe.sadd(self.keys.user_sessions(name), sid)
        pipe.expire(self.keys.user_sessions(name), self.max_s)
        pipe.execute()

    def alive(self, sid: str, renew: bool) -> bool:
        """Whether the session still stands; ``renew`` counts this request as use (only if it stands)."""
        if renew:
            return bool(self.r.set(self.keys.session_seen(sid), 1, ex=self.idle_s, xx=True))
        return bool(self.r.exists(self.keys.session_seen(sid)))

    def end(self, sid: str, name: str) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.delete(self.keys.session_seen(sid), self.keys.session(sid))
        pipe.srem(self.keys.user_sessions(name), sid)
        pipe.execute()


class Throttle:
    """Failed logins per account and per address in fixed windows (Redis TTLs: real time)."""

    def __init__(self, r: redis.Redis, keys: Keys, window_s: float, limits: Mapping[str, int]) -> None:
        self.r, self.keys, self.window_s, self.limits = r, keys, int(window_s), dict(limits)

    def wait_s(self, kind: str, who: str) -> int:
        """Seconds until ``who`` may try again (0: now)."""
        key = self.keys.login_throttle(kind, who)
        n = self.r.get(key)
        if n is None or int(n) < self.limits[kind]:
            return 0
        return max(1, int(self.r.ttl(key)))

    def fail(self, kind: str, who: str) -> None:
        key = self.keys.login_throttle(kind, who)
        pipe = self.r.pipeline(transaction=False)
        pipe.set(key, 0, ex=self.window_s, nx=True)  # the window starts at the first failure (not EXPIRE NX:
        pipe.incr(key)  # Redis 7 only, and the demo's embedded server is 6.2); INCR keeps the TTL
        pipe.execute()

    def clear(self, kind: str, who: str) -> None:
        self.r.delete(self.keys.login_throttle(kind, who))
