"""Health of every feed, read from Redis: what `pingan status` prints and /healthz will serve."""

from __future__ import annotations

import time
from typing import Any

import redis

from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed

STATES = ("ok", "degraded", "down")


def _dec(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


def feed_state(h: dict[str, str], settings: Settings, interval_s: float, now_ms: int) -> tuple[str, float | None]:
    """(state, lag_s): lag is the wall time since the last successful poll. It measures the poller,
    not the data, so it stays on real time whatever the run's clock (dashboard/contract/clock.py) says."""
    if not h:
        return "down", None  # no poller has reported within the health TTL
    last_ok = int(h.get("last_ok", 0) or 0)
    lag = (now_ms - last_ok) / 1000 if last_ok else None
    failures = int(h.get("failures", 0) or 0)
    if failures >= settings.down_after:
        return "down", lag
    stale_after = max(3 * interval_s, 30.0)
    if failures >= settings.degraded_after or h.get("payload_error") == "1" or lag is None or lag > stale_after:
        return "degraded", lag
    return "ok", lag


def collect(r: redis.Redis, keys: Keys, feeds: dict[str, Feed], settings: Settings) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    pipe = r.pipeline(transaction=False)
    for code in feeds:
        pipe.hgetall(keys.health(code))
        pipe.hgetall(keys.counters(code))
        pipe.xlen(keys.stream(code))
    res = pipe.execute()
    out = []
    for i, (code, feed) in enumerate(feeds.items()):
        h, c, xlen = _dec(res[3 * i]), _dec(res[3 * i + 1]), int(res[3 * i + 2])
        state, lag = feed_state(h, settings, feed.interval_s, now_ms)
        out.append({
            "code": code, "name": feed.name, "state": state, "events": int(c.get("events", 0)),
            "stream_len": xlen, "rejected": int(c.get("rejects", 0)), "duplicates": int(c.get("duplicates", 0)),
            "lag_s": round(lag, 1) if lag is not None else None, "failures": int(h.get("failures", 0) or 0),
            "last_error": h.get("last_error"), "newest_event": h.get("newest_event"), "worker": h.get("worker"),
        })
    return {"at": now_ms, "feeds": out, "dead_letters": int(r.xlen(keys.dead)),
            "summary": {s: sum(1 for f in out if f["state"] == s) for s in STATES}}


def render_table(report: dict[str, Any]) -> str:
    lines = [f"{'code':<7}{'state':<10}{'events':>9}{'stream':>9}{'rejects':>9}{'lag_s':>8}  name / last error"]
    for f in report["feeds"]:
        lag = "-" if f["lag_s"] is None else f"{f['lag_s']:.0f}"
        tail = f["name"] + (f"  ! {f['last_error']}" if f["state"] != "ok" and f["last_error"] else "")
        lines.append(f"{f['code']:<7}{f['state']:<10}{f['events']:>9}{f['stream_len']:>9}"
                     f"{f['rejected']:>9}{lag:>8}  {tail}")
    s = report["summary"]
    lines.append(f"ok {s['ok']}, degraded {s['degraded']}, down {s['down']}; dead letters {report['dead_letters']}")
    return "\n".join(lines)
