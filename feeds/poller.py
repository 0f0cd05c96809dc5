"""One feed's poller. ``run_once`` is one pass: fetch what is new, write it, advance the cursor,
record health. The scheduler calls it on the feed's interval; tests call it directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import redis
from redis.typing import EncodableT

from dashboard.contract.backoff import backoff
from dashboard.contract.clock import Clock
from dashboard.contract.event import Event
from dashboard.contract.keys import Keys
from dashboard.contract.privacy import mask_text, masked_traceback
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed
from feeds import transports as tp
from feeds.adapters.base import Reject
from feeds.pipeline import Pipeline
from feeds.sink import PendingWrite, StreamSink, WriteResult

log = logging.getLogger(__name__)

INITIAL_LOOKBACK = timedelta(hours=24)  # first poll of a feed with no cursor
FUTURE_SKEW = timedelta(days=30)  # a record dated further ahead than this never moves a cursor


@dataclass
class IngestContext:
    """What all pollers of one process share; built once at start-up."""

    settings: Settings
    r: redis.Redis
    keys: Keys
    sink: StreamSink
    pipeline: Pipeline
    http: httpx.Client
    worker: str
    clock: Clock = field(default_factory=Clock)  # upstream time ("now" for cursors), not poll timing

    @classmethod
    def create(cls, settings: Settings, worker: str) -> IngestContext:
        r = redis.Redis.from_url(settings.redis_url)
        keys = Keys.from_settings(settings)
        return cls(settings, r, keys, StreamSink(r, keys, settings), Pipeline(settings.city_adcode),
                   httpx.Client(timeout=settings.http_timeout_s, headers={"User-Agent": "pingan-ingest"}),
                   worker, Clock.from_settings(settings))

    def now(self) -> datetime:
        """The run's clock as an aware datetime: what upstream record times are compared with."""
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def close(self) -> None:
        self.http.close()
        self.r.close()


@dataclass
class PollResult:
    written: WriteResult = field(default_factory=WriteResult)
    payload_error: bool = False  # a payload that could not be read at all
    skipped: bool = False


class FeedPoller:
    def __init__(self, feed: Feed, ctx: IngestContext) -> None:
        self.feed = feed
        self.ctx = ctx
        self.failures = 0
        self.next_attempt = 0.0
        self._engine: Any = None
        self._newest: datetime | None = None
        self._options = feed.adapter_options()

    # ------------------------------------------------------------------ the one pass
    def run_once(self) -> PollResult:
        if time.monotonic() < self.next_attempt:
            return PollResult(skipped=True)
        started = time.time()
        try:
            result = self._poll()
        except (tp.UpstreamError, redis.RedisError, OSError) as exc:
            self._failed(f"{type(exc).__name__}: {exc}", started)
            return PollResult(payload_error=True)
        except Exception as exc:  # unknown: keep the traceback, keep polling
            log.error("feed %s: unexpected error\n%s", self.feed.code, masked_traceback(exc))
            self._failed(f"{type(exc).__name__}: {exc}", started)
            return PollResult(payload_error=True)
        if result.payload_error and result.written.added == 0:
            self._failed("payload unreadable (see dead-letter stream)", started, result)
        else:
            self._ok(started, result)
        return result

    def _poll(self) -> PollResult:
        return self.ingest(self._batches())

    def ingest(self, batches: Iterable[tp.Batch]) -> PollResult:
        """Everything a poll does after fetching (`pingan bench ingest` times this with its pages)."""
        feed = self.feed
        result = self.write_batches(batches)
        if self._newest is not None and feed.transport == "http" and feed.adapter != "cap":
            self._save_cursor({"since": tp.iso(self._newest)})
        return result

    def write_batches(self, batches: Iterable[tp.Batch]) -> PollResult:
        """Normalise and write each batch, saving its cursor once Redis has replied for it.

        Redis writes one batch while the next is fetched and normalised (on its own core: that
        hides the dedup-and-append script), but never more than one batch is in flight and a
        cursor is saved only after the replies of its batch are in: a crash repeats at most the
        one batch whose cursor was not saved, and dedup drops the repeat. A failure while fetching
        or normalising still finishes the batch in flight first. Drop-folder files are finished one
        by one (a file whose digest is remembered is skipped, so the next is read only after)."""
        result = PollResult()
        pending: tuple[tp.Batch, PendingWrite, bool] | None = None
        try:
            for batch in batches:
                items, whole = self._normalise(batch)
                if pending is not None:
                    done, pending = pending, None
                    self._finish(*done, result)
                pending = (batch, self.ctx.sink.send(self.feed.code, items), whole)
                if batch.on_written is not None:  # a drop file: the next one is judged by the digests remembered
                    done, pending = pending, None
                    self._finish(*done, result)
        finally:
            if pending is not None:
                self._finish(*pending, result)
        return result

    def _normalise(self, batch: tp.Batch) -> tuple[list[Event | Reject], bool]:
        items = list(self.ctx.pipeline.run(batch.adapter, batch.payload, self._options))
        # the newest time at most FUTURE_SKEW ahead: one comparison per event, not two (comparing
        # times in different zone objects is most of this loop), the filter only after garbage
        times = [it.occurred_at for it in items if isinstance(it, Event)]
        if times:
            limit = self.ctx.now() + FUTURE_SKEW
            top: datetime | None = max(times)
            if top is not None and top > limit:
                top = max((t for t in times if t <= limit), default=None)
            if top is not None and (self._newest is None or top > self._newest):
                self._newest = top
        # a reject without a record key means the payload as a whole could not be read
        whole = bool(items) and all(isinstance(it, Reject) for it in items) and any(
            it.record_key is None for it in items if isinstance(it, Reject))
        return items, whole

    def _finish(self, batch: tp.Batch, pending: PendingWrite, payload_error: bool, result: PollResult) -> None:
        res = pending.result()
        result.written += res
        result.payload_error |= payload_error
        if batch.cursor:
            self._save_cursor(batch.cursor)
        if batch.on_written:
            batch.on_written(payload_error and res.added == 0)

    # ------------------------------------------------------------------ transports
    def _batches(self) -> Any:
        feed, s, http = self.feed, self.ctx.settings, self.ctx.http
        cursor = self._load_cursor()
        self._newest = tp.parse_iso(cursor.get("since"))
        since = self._since(cursor)
        if feed.transport == "sql":
            return tp.sql_rows(self._sql_engine(), feed.options.get("table", feed.code),
                               feed.options.get("watermark", "updated_at"), feed.options.get("key", "id"),
                               cursor, s.batch_size)
        if feed.transport == "folder":
            files = self.ctx.keys.files(feed.code)
            return tp.folder_files(Path(feed.endpoint),
                                   seen=lambda d: self.ctx.r.zscore(files, d) is not None,
                                   remember=lambda d: self._remember_file(files, d))
        if feed.adapter == "open311":
            return tp.open311_pages(http, feed.endpoint, feed.options.get("format", "json"), since,
                                    int(feed.options.get("page_size", s.batch_size)))
        if feed.adapter == "cap":
            return tp.cap_items(http, feed.endpoint, since if cursor.get("since") else None)
        if feed.adapter in ("typhoon-json", "cma-bst"):
            return iter([tp.Batch(feed.adapter, tp.http_get(http, feed.endpoint))])
        records = (feed.mapping or {}).get("records") if feed.adapter == "json" else "incidents"
        return tp.since_pages(http, feed.endpoint, feed.adapter, since, s.batch_size, records,
                              newest=lambda: self._newest)

    def _remember_file(self, key: str, digest: str) -> None:
        self.ctx.r.zadd(key, {digest: time.time()})

    def _since(self, cursor: dict[str, str]) -> datetime:
        last = tp.parse_iso(cursor.get("since"))
        if last is None:
            return self.ctx.now() - INITIAL_LOOKBACK
        return last - timedelta(seconds=self.ctx.settings.poll_overlap_s)

    def _sql_engine(self) -> Any:
        if self._engine is None:
            self._engine = tp.make_engine(self.feed.endpoint)
        return self._engine

    # ------------------------------------------------------------------ cursor and health
    def _load_cursor(self) -> dict[str, str]:
        raw: dict[bytes, bytes] = self.ctx.r.hgetall(self.ctx.keys.cursor(self.feed.code))  # type: ignore[assignment]
        return {k.decode(): v.decode() for k, v in raw.items()}

    def _save_cursor(self, values: dict[str, str]) -> None:
        self.ctx.r.hset(self.ctx.keys.cursor(self.feed.code), mapping=cast("Mapping[EncodableT, EncodableT]", values))

    def _ok(self, started: float, result: PollResult) -> None:
        self.failures = 0
        self.next_attempt = 0.0
        self._health(started, {
            "last_ok": int(time.time() * 1000), "failures": 0, "payload_error": 0,
            "last_added": result.written.added, "last_rejected": result.written.rejected,
        })

    def _failed(self, reason: str, started: float, result: PollResult | None = None) -> None:
        self.failures += 1
        reason = mask_text(reason)  # upstream error texts can quote record content
        s = self.ctx.settings
        delay = backoff(self.failures, self.feed.interval_s, s.backoff_max_s)
        self.next_attempt = time.monotonic() + delay
        log.warning("feed %s failed (%d in a row, next try in %.0fs): %s",
                    self.feed.code, self.failures, delay, reason)
        fields: dict[str, Any] = {"last_error": reason[:300], "last_error_at": int(time.time() * 1000),
                                  "failures": self.failures, "payload_error": int(result is not None)}
        try:
            self._health(started, fields)
        except redis.RedisError:
            log.warning("feed %s: could not record health (Redis unavailable)", self.feed.code)

    def _health(self, started: float, fields: dict[str, Any]) -> None:
        key = self.ctx.keys.health(self.feed.code)
        fields |= {"worker": self.ctx.worker, "last_poll": int(time.time() * 1000),
                   "poll_ms": int((time.time() - started) * 1000), "interval_s": self.feed.interval_s}
        if self._newest is not None:
            fields["newest_event"] = tp.iso(self._newest)
        pipe = self.ctx.r.pipeline(transaction=False)
        pipe.hset(key, mapping=cast("Mapping[EncodableT, EncodableT]", fields))
        pipe.expire(key, self.ctx.settings.health_ttl_s)
        pipe.execute()
