"""The live worker reads "now" from the run's clock: windows, SLA lights, as_of and bucket expiry."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import orjson

from dashboard.contract.clock import Clock
from dashboard.contract.event import BEIJING
from dashboard.contract.systems import load_feeds
from dashboard.live.publish import Round
from dashboard.live.state import bucket_expiry
from dashboard.live.worker import LiveWorker

SPEED = 60.0
CITY = "440700"


def _clock_showing(target: float) -> Clock:
    """A 60x clock that shows ``target`` now: origin + (now - origin) x 60 = target."""
    real = time.time()
    return Clock((SPEED * real - target) / (SPEED - 1), SPEED)


def _grid_report(at: float) -> dict:
    iso = datetime.fromtimestamp(at, BEIJING).isoformat()
    return {"schema": 1, "event_id": "wg-clock-1", "case_id": "wg:CLOCK1", "source": "wg", "kind": "case",
            "status": "reported", "category": "public_order", "priority": 2, "occurred_at": iso,
            "reported_at": iso, "ingested_at": datetime.now(BEIJING).isoformat(),
            "location": {"lat": 22.58, "lon": 113.08, "adcode": "440703"}, "summary": "test"}


def test_worker_on_a_fast_clock_counts_windows_and_lights_on_that_clock(r, keys, settings):
    # the clock shows tomorrow 15:00 Beijing: a report 2 clock hours old is today's for it, and
    # red (grid reports are accepted within 1 hour), while for the wall clock it is still ahead
    tomorrow = (datetime.now(BEIJING) + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    clock = _clock_showing(tomorrow.timestamp())
    ev = _grid_report(clock.now() - 2 * 3600)
    worker = LiveWorker(settings, load_feeds(settings), name="clock-test", archive=False, clock=clock)
    try:
        worker.ensure_groups()
        r.xadd(keys.stream("wg"), {"id": ev["event_id"], "e": orjson.dumps(ev)})
        assert worker.run_once() == 1
        before = clock.now()
        assert worker.maybe_snapshot(force=True)
        snap = orjson.loads(r.get(keys.snapshot("wall", CITY)))
        assert before - 0.001 <= snap["as_of"] / 1000 <= clock.now()  # as_of is whole milliseconds
        assert snap["clock"] == {"speed": SPEED, "origin": clock.origin}
        assert snap["kpis"]["today"]["parts"]["received"] == 1
        grid = [row for row in snap["sla"] if row["policy"] == "grid"]
        assert [(row["row"], row["running"], row["red"]) for row in grid] == [("grid", 1, 1)]

        # the same state seen at wall-clock time: nothing today yet, nothing overdue
        real = worker.builders["wall"].build(Round(worker.ctx, time.time()), worker.scopes[:1])[CITY]
        assert real.kpis["today"].parts.received == 0
        assert sum(row.red for row in real.sla) == 0

        # buckets expire in real time when the clock has moved them out of every window
        day_keys = [k.decode() for k in r.scan_iter(match=f"{keys.live}:agg:d:*")]
        assert day_keys
        for key in day_keys:
            expires = r.expiretime(key)
            assert expires == int(clock.real_at(bucket_expiry(key)))
            assert expires < bucket_expiry(key)
    finally:
        worker.close()


def test_a_worker_with_a_backlog_publishes_at_the_heartbeat_only(r, keys, settings):
    s = settings.model_copy(update={"live_batch": 5, "snapshot_interval_s": 0.0, "snapshot_heartbeat_s": 30.0})
    worker = LiveWorker(s, load_feeds(s), name="backlog-test", archive=False)
    try:
        worker.ensure_groups()
        assert worker.maybe_snapshot(force=True)  # the first one
        now = time.time()
        for i in range(12):
            ev = {**_grid_report(now - 60), "event_id": f"wg-backlog-{i:02d}", "case_id": f"wg:B{i}"}
            r.xadd(keys.stream("wg"), {"id": ev["event_id"], "e": orjson.dumps(ev)})
        before = r.xlen(keys.snapshot_log("wall", CITY))
        assert worker.run_once() == 5 and worker.behind  # a full round: catching up
        assert worker.run_once() == 5 and worker.behind
        assert r.xlen(keys.snapshot_log("wall", CITY)) == before, "no snapshot while behind"
        assert worker.run_once() == 2 and not worker.behind  # caught up: the changed state goes out
        assert r.xlen(keys.snapshot_log("wall", CITY)) == before + 1
    finally:
        worker.close()
