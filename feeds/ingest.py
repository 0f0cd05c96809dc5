"""`pingan ingest`: the pollers of all feeds in one process, scheduled by APScheduler 3.

Each feed is a job (max_instances=1, coalesce, no misfire limit, jitter) that polls only while this process holds
the feed's lease, so any number of ingest processes can run and each feed has one active poller.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from dashboard.contract.event import BEIJING
from dashboard.contract.lease import Leases
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed, load_feeds
from feeds.pipeline import tune_gc
from feeds.poller import FeedPoller, IngestContext

log = logging.getLogger(__name__)

TRIM_EVERY_S = 600  # age-based trimming of streams and dead letters
HEARTBEAT_EVERY_S = 5
STOP_POLL_S = 0.2  # how often the main thread looks for a stop signal


class IngestWorker:
    def __init__(self, settings: Settings, feeds: dict[str, Feed], worker: str | None = None) -> None:
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.ctx = IngestContext.create(settings, self.worker)
        self.feeds = feeds
        self.pollers = {code: FeedPoller(feed, self.ctx) for code, feed in feeds.items()}
        self.leases = Leases(self.ctx.r, self.ctx.keys, self.worker, settings.lease_ttl_s)

    def refresh_leases(self) -> None:
        held = self.leases.refresh(self.feeds)
        self.ctx.r.hset(self.ctx.keys.workers, self.worker, int(time.time() * 1000))
        log.debug("holding %d/%d feeds", len(held), len(self.feeds))

    def poll(self, code: str) -> None:
        if self.leases.holds(code):
            self.pollers[code].run_once()

    def trim(self) -> None:
        for code in self.feeds:
            if self.leases.holds(code):
                self.ctx.sink.trim_by_age(code)

    def run_once(self, codes: Iterable[str] | None = None) -> None:
        """One pass over the feeds (tests, `pingan ingest --once`)."""
        self.refresh_leases()
        for code in codes or self.feeds:
            self.poll(code)

    def close(self) -> None:
        try:
            self.leases.release_all()
            self.ctx.r.hdel(self.ctx.keys.workers, self.worker)
        finally:
            self.ctx.close()


def run(settings: Settings, only: list[str] | None = None, once: bool = False) -> None:
    feeds = load_feeds(settings)
    if only:
        feeds = {c: f for c, f in feeds.items() if c in only}
    worker = IngestWorker(settings, feeds)
    tune_gc()
    log.info("ingest worker %s: %d feeds, Redis %s", worker.worker, len(feeds), settings.redis_url)
    if once:
        try:
            worker.run_once()
        finally:
            worker.close()
        return
    sched = BackgroundScheduler(executors={"default": ThreadPoolExecutor(len(feeds) + 4)}, timezone=BEIJING)
    # a run that starts late still runs: APScheduler drops one that a busy process's pool thread picks
    # up more than misfire_grace_time (1 s by default) after it was due, and under load a feed polled
    # every 5 s (the weather warnings) then lost run after run for minutes (known issue 55)
    common = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": None}
    sched.add_job(worker.refresh_leases, "interval", seconds=settings.lease_ttl_s / 3, id="leases",
                  next_run_time=_now(), **common)
    for code, feed in feeds.items():
        sched.add_job(worker.poll, "interval", args=[code], seconds=feed.interval_s, id=f"poll:{code}",
                      jitter=max(0.1, feed.interval_s * 0.1), next_run_time=_now(), **common)
    sched.add_job(worker.trim, "interval", seconds=TRIM_EVERY_S, id="trim", **common)

    # The handler only sets a flag; the scheduler is shut down by the main thread. Shutting it down
    # inside the handler deadlocked when the signal landed while the main thread was submitting a
    # job: ThreadPoolExecutor.submit holds the pool's (non-reentrant) shutdown lock, which
    # shutdown() then waited for forever (seen in the kill -9 test: SIGTERM ignored for 15 s).
    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        sched.start()
        while not stopping:
            time.sleep(STOP_POLL_S)
        log.info("signal %d: stopping", stopping[0])
    finally:
        if sched.running:
            sched.shutdown(wait=True)  # running polls finish before their clients close (HTTP timeouts bound it)
        worker.close()


def _now():  # noqa: ANN202 - a datetime for APScheduler's next_run_time
    from datetime import datetime

    return datetime.now(BEIJING)
