"""History for the archive: the simulator's world over past days, straight into SQL.

``pingan backfill --days N`` (and ``pingan demo --history-days N``, in the background) runs the
simulator's model over the N days before a Beijing midnight, renders every record version each of
the 21 upstreams would have served in its real format (Open311 JSON or XML, CAD, CAP XML, the
mapped JSON, the exchange table's rows, the drop folders' CSV and XLSX files) and passes each
through its feed's own adapter and the normalising step (:class:`feeds.pipeline.Pipeline`, so
personal data is masked exactly as at ingest). The events go to :meth:`Archive.write`, which keeps
the case facts current as it does for the live archive consumer; nothing goes through Redis.

It ends at a midnight so that its cases and the live simulator's never share a number: case
numbers are the creation date and a per-day sequence, and a world started later numbers its own
day from 1.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard.contract.event import BEIJING, Event
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.live.archive import Archive
from feeds.adapters.base import Reject
from feeds.pipeline import Pipeline

log = logging.getLogger(__name__)

STEP = timedelta(hours=1)  # the model advances an hour at a time; each hour's records are one batch
WRITE_BATCH = 2_000  # events per archive transaction


@dataclass
class Report:
    days: float
    start: datetime
    end: datetime
    events: int = 0
    inserted: int = 0
    rejected: int = 0
    records: int = 0  # upstream payloads rendered and parsed
    seconds: float = 0.0
    reached: datetime | None = None  # the simulated time written up to
    archive_s: float = 0.0  # of ``seconds``, in Archive.write (the events and their cases' facts)
    per_feed: dict[str, int] = field(default_factory=dict)

    @property
    def done_days(self) -> float:
        return 0.0 if self.reached is None else (self.reached - self.start).total_seconds() / 86_400

    def as_json(self, archive_bytes: int | None) -> dict[str, Any]:
        out = {"benchmark": "backfill", "days": self.days, "start": self.start.isoformat(),
               "end": self.end.isoformat(), "records": self.records, "events": self.events,
               "inserted": self.inserted, "rejected": self.rejected, "seconds": round(self.seconds, 1),
               "events_per_s": round(self.events / self.seconds) if self.seconds else None,
               "archive_s": round(self.archive_s, 1),
               "archive_events_per_s": round(self.events / self.archive_s) if self.archive_s else None,
               "per_feed": self.per_feed}
        if archive_bytes is not None:
            out.update(archive_bytes=archive_bytes,
                       bytes_per_day=round(archive_bytes / self.days) if self.days else None)
        return out


def last_midnight(t: datetime) -> datetime:
    """The Beijing midnight at or before ``t``."""
    return t.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)


class History:
    """The simulator's world from ``start`` to ``end``: each hour, the events every upstream's records
    of that hour normalise to (and the rejects, which a healthy simulator does not produce)."""

    def __init__(self, settings: Settings, start: datetime, end: datetime, *, seed: int = 1,
                 volumes: dict[str, float] | None = None, scenario: Any = None, work_dir: Path | None = None) -> None:
        from feeds.simulator.engine import Simulator

        self.start, self.end = start, end
        self._tmp = tempfile.TemporaryDirectory(prefix="pingan-history-") if work_dir is None else None
        work = Path(self._tmp.name) if self._tmp else work_dir
        assert work is not None
        self.sim = Simulator(seed=seed, start=start, backfill_h=0, data_dir=work, city=settings.city_adcode,
                             volumes=volumes, scenario=scenario, registry=settings.registry, slow_s=0.0)
        self.feeds = load_feeds(settings)
        self.options = {code: feed.adapter_options() for code, feed in self.feeds.items()}
        self.pipeline = Pipeline(settings.city_adcode)
        self._seq = {code: 0 for code in self.sim.feeds}
        self.records = 0  # upstream payloads rendered and parsed

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def hours(self) -> Iterator[tuple[datetime, dict[str, list[Event | Reject]]]]:
        """(end of the hour, feed → what its records of that hour became), hour after hour."""
        t = self.start
        while t < self.end:
            t = min(t + STEP, self.end)
            self.sim.advance_to(t)
            out: dict[str, list[Event | Reject]] = {}
            for code, payload, at in self._payloads():
                self.records += 1
                out.setdefault(code, []).extend(self._parsed(code, payload, at))
            yield t, out

    def _payloads(self) -> Iterator[tuple[str, bytes, datetime]]:
        sim = self.sim
        for code in sim.feeds:
            if code == "xf":
                written, sim.table.written = sim.table.written, []
                yield from ((code, w.data, w.time) for w in written)
            elif code in sim.folders:
                folder = sim.folders[code]
                written, folder.written = folder.written, []
                yield from ((code, w.data, w.time) for w in written)
            else:
                log_ = sim.store.logs[code]
                new = [e for e in log_.entries if e.seq > self._seq[code]]
                if new:
                    self._seq[code] = new[-1].seq
                for e in new:
                    yield code, sim.renderer.ledger_payload(code, e).encode(), e.time

    def _parsed(self, code: str, payload: bytes, at: datetime) -> Iterator[Event | Reject]:
        feed = self.feeds.get(code)
        if feed is None:
            return
        yield from self.pipeline.run(feed.adapter, payload, self.options[code], ingested_at=at)


def backfill(settings: Settings, days: float, *, end: datetime | None = None, seed: int = 1,
             volumes: dict[str, float] | None = None, archive: Archive | None = None,
             progress: Callable[[Report], None] | None = None) -> Report:
    """``days`` of history ending at ``end`` (default: today's Beijing midnight) into the archive."""
    end = last_midnight(end or datetime.now(BEIJING))
    start = end - timedelta(days=days)
    report = Report(days=days, start=start, end=end)
    own = archive is None
    arch = archive or Archive.from_settings(settings)
    hist = History(settings, start, end, seed=seed, volumes=volumes)
    began = time.monotonic()
    pending: list[bytes] = []
    try:
        for t, by_feed in hist.hours():
            report.reached = t
            for code, items in by_feed.items():
                for item in items:
                    if isinstance(item, Reject):
                        report.rejected += 1
                        log.warning("backfill: %s record rejected: %s", code, item.reason)
                        continue
                    pending.append(item.to_json())
                    report.per_feed[code] = report.per_feed.get(code, 0) + 1
            report.records = hist.records
            if len(pending) >= WRITE_BATCH:
                _write(arch, pending, report)
                pending = []
                report.seconds = time.monotonic() - began
                if progress:
                    progress(report)
        _write(arch, pending, report)
        report.seconds = time.monotonic() - began
        if progress:
            progress(report)
    finally:
        hist.close()
        if own:
            arch.close()
    return report


def _write(arch: Archive, payloads: list[bytes], report: Report) -> None:
    for i in range(0, len(payloads), WRITE_BATCH):
        part = payloads[i:i + WRITE_BATCH]
        began = time.monotonic()
        result = arch.write(part)
        report.archive_s += time.monotonic() - began
        report.events += len(part)
        report.inserted += result.inserted
        report.rejected += len(result.bad)


class LoadStatus:
    """The backfill's progress where the boards read it (Keys.history_load); a Redis that does not answer
    only costs the note on the boards, never the history."""

    def __init__(self, settings: Settings, days: float) -> None:
        import redis

        from dashboard.contract.keys import Keys

        self.r = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.key = Keys.from_settings(settings).history_load
        self.days = days

    def set(self, state: str, report: Report | None = None) -> None:
        import redis

        done = self.days if state == "done" else report.done_days if report else 0.0
        try:
            self.r.hset(self.key, mapping={"state": state, "days": self.days, "done_days": round(done, 3),
                                           "events": report.events if report else 0})
        except redis.RedisError as exc:
            log.warning("backfill: progress not written to Redis (%s)", exc)

    def progress(self, report: Report) -> None:
        self.set("loading", report)


def archive_bytes(arch: Archive) -> int:
    """The archive's size on disk: the SQLite file and its WAL, or PostgreSQL's tables with their indexes."""
    import sqlalchemy as sa

    from dashboard.history.facts import metadata as facts_tables

    url = arch.engine.url
    if url.get_backend_name() == "sqlite":
        base = Path(url.database or "")
        return sum(p.stat().st_size for p in (base, Path(f"{base}-wal")) if p.is_file())
    names = ["events", *facts_tables.tables]
    with arch.engine.connect() as con:
        return int(sum(con.scalar(sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": n}) or 0
                       for n in names))
