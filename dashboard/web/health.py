"""`/healthz` (JSON for people and load balancers) and `/metrics` (Prometheus), both read from
Redis at request time, so every web worker answers for the whole installation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboard.contract.feed_health import collect
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed
from dashboard.web.push import connected_screens


def snapshot_ages(r: redis.Redis, keys: Keys, checks: list[tuple[str, str]], now_ms: int) -> dict[str, float | None]:
    """Seconds since each (snapshot, scope)'s newest was built (None: there is none)."""
    out: dict[str, float | None] = {}
    pipe = r.pipeline(transaction=False)
    for name, scope in checks:
        pipe.xrevrange(keys.snapshot_log(name, scope), count=1)
    for (name, scope), newest in zip(checks, pipe.execute(), strict=True):
        # entry ids are the Redis server's clock in ms: no need to parse the snapshot
        out[f"{name}:{scope}"] = round((now_ms - int(newest[0][0].split(b"-")[0])) / 1000, 1) if newest else None
    return out


def gather(r: redis.Redis, keys: Keys, feeds: dict[str, Feed], settings: Settings,
           checks: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, float | None], list[dict[str, Any]]]:
    """What both endpoints report: the feeds' status, each checked snapshot's age, connected screens."""
    report = collect(r, keys, feeds, settings)
    ages = snapshot_ages(r, keys, checks, _redis_ms(r))
    return report, ages, connected_screens(r, keys)


def healthz(r: redis.Redis, keys: Keys, feeds: dict[str, Feed], settings: Settings,
            checks: list[tuple[str, str]]) -> tuple[dict[str, Any], int]:
    """(body, HTTP status): 503 when Redis is unreachable or a snapshot the boards require
    (``checks``: (snapshot, scope) pairs from the registry) is missing or stale."""
    t0 = time.perf_counter()
    try:
        r.ping()
        report, ages, screens = gather(r, keys, feeds, settings, checks)
    except redis.RedisError as exc:
        return {"status": "down", "redis": {"ok": False, "error": str(exc)}}, 503
    stale_after = 3 * settings.snapshot_heartbeat_s
    stale = [k for k, age in ages.items() if age is None or age > stale_after]
    feeds_down = [f["code"] for f in report["feeds"] if f["state"] != "ok"]
    status = "down" if stale else ("degraded" if feeds_down else "ok")
    body = {
        "status": status,
        "redis": {"ok": True, "latency_ms": round((time.perf_counter() - t0) * 1000, 1)},
        "snapshots": {"stale_after_s": stale_after, "age_s": ages, "stale": stale},
        "feeds": [{k: f[k] for k in ("code", "name", "state", "lag_s", "events", "rejected")} for f in report["feeds"]],
        "feeds_not_ok": feeds_down, "dead_letters": report["dead_letters"], "screens": len(screens),
    }
    return body, 503 if stale else 200


class RedisCollector(Collector):
    """Reads the installation's figures from Redis on every scrape."""

    def __init__(self, r: redis.Redis, keys: Keys, feeds: dict[str, Feed], settings: Settings,
                 checks: list[tuple[str, str]], boards: list[str]) -> None:
        self.r, self.keys, self.feeds, self.settings = r, keys, feeds, settings
        self.checks, self.boards = checks, boards

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("pingan_redis_up", "1 when Redis answered this scrape")
        try:
            report, ages, screens = gather(self.r, self.keys, self.feeds, self.settings, self.checks)
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _feed_metrics(report)
        age = GaugeMetricFamily("pingan_snapshot_age_seconds", "Seconds since the newest snapshot was built",
                                labels=["snapshot", "scope"])
        for key, value in ages.items():
            name, scope = key.rsplit(":", 1)
            age.add_metric([name, scope], float("nan") if value is None else value)
        yield age
        scr = GaugeMetricFamily("pingan_connected_screens", "Pages with an open push stream", labels=["board"])
        for board in self.boards:
            scr.add_metric([board], sum(1 for s in screens if s.get("board") == board))
        yield scr
        dead = GaugeMetricFamily("pingan_dead_letters", "Entries in the dead-letter stream")
        dead.add_metric([], report["dead_letters"])
        yield dead


def _feed_metrics(report: dict[str, Any]) -> Iterator[Metric]:
    events = CounterMetricFamily("pingan_ingest_events", "Events ingested per feed", labels=["feed"])
    rejects = CounterMetricFamily("pingan_ingest_rejects", "Records rejected (dead-lettered) per feed",
                                  labels=["feed"])
    lag = GaugeMetricFamily("pingan_feed_lag_seconds", "Seconds since the feed's last successful poll",
                            labels=["feed"])
    state = GaugeMetricFamily("pingan_feed_up", "1 ok, 0.5 degraded, 0 down", labels=["feed"])
    for f in report["feeds"]:
        events.add_metric([f["code"]], f["events"])
        rejects.add_metric([f["code"]], f["rejected"])
        lag.add_metric([f["code"]], float("nan") if f["lag_s"] is None else f["lag_s"])
        state.add_metric([f["code"]], {"ok": 1.0, "degraded": 0.5}.get(f["state"], 0.0))
    yield from (events, rejects, lag, state)


def _redis_ms(r: redis.Redis) -> int:
    sec, usec = r.time()
    return int(sec) * 1000 + int(usec) // 1000


def dumps(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_INDENT_2)
