"""The Simulator: the model, the store, the renderers and the writers on one simulated clock.

Tests step it by hand (``advance_to`` / ``step``); ``server.serve`` ticks it from a thread.
All access goes through ``lock`` (the model and the store are not thread-safe on their own).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from feeds.simulator import simtime
from feeds.simulator.geography import CityGeo
from feeds.simulator.ledger import RETENTION_H, Store
from feeds.simulator.model import CaseVersion, Model
from feeds.simulator.render import Renderer, b64
from feeds.simulator.scenario import Placed, Scenario, place
from feeds.simulator.upstreams import FeedInfo, load_feeds
from feeds.simulator.writers import DropFolder, ExchangeTable

log = logging.getLogger(__name__)
MODES = ("ok", "down", "slow", "http500", "garbage")
SLOW_S = 30.0  # how long a "slow" upstream takes to answer (real seconds)
FILE_EVERY = timedelta(minutes=5)  # drop-folder files are cut every 5 simulated minutes
PRUNE_EVERY = timedelta(hours=1)


class Simulator:
    def __init__(self, *, seed: int = 1, speed: float = 1.0, start: datetime | None = None,
                 data_dir: Path = Path("var"), city: str = "440700", volumes: dict[str, float] | None = None,
                 backfill_h: float = 2.0, faults: dict[str, str] | None = None, slow_s: float = SLOW_S,
                 registry: Path | None = None, clock_origin: float | None = None,
                 scenario: Scenario | None = None) -> None:
        self.lock = threading.RLock()
        self.seed, self.speed, self.slow_s = seed, speed, slow_s
        if start is None and clock_origin is not None:  # the run's shared clock starts at its origin
            start = datetime.fromtimestamp(int(clock_origin), simtime.BEIJING)
        self.start = (start or simtime.beijing_now()).astimezone(simtime.BEIJING).replace(microsecond=0)
        self.feeds: dict[str, FeedInfo] = load_feeds(registry)
        self.city = CityGeo(city)
        self.store = Store(self.feeds)
        self.renderer = Renderer(self.feeds, self.city)
        anchor = self.start - timedelta(hours=backfill_h)
        self.scenario: Placed | None = None if scenario is None else place(scenario, seed, self.city, self.start)
        self.model = Model(seed, self.city, anchor, self.store, volumes,
                           self.scenario.storm if self.scenario else None)
        self.modes = {f: "ok" for f in self.feeds}
        self.paused = False
        self.data_dir = Path(data_dir)
        self.table = ExchangeTable(self.data_dir / "exchange.db")
        self.folders = {"sj": DropFolder(self.data_dir / "drop" / "sj", "csv", "12315"),
                        "mz": DropFolder(self.data_dir / "drop" / "mz", "xlsx", "shjz")}
        self.table.slow_s = slow_s
        for folder in self.folders.values():
            folder.slow_s = slow_s
        self._xf_seq = 0
        self._files_until = {f: _floor(anchor, FILE_EVERY) for f in self.folders}
        self._pruned_at = anchor
        self.advance_to(self.start)
        self.clock = simtime.SimClock(self.start, speed, origin=clock_origin)
        for feed, mode in (faults or {}).items():
            self.set_fault(feed, mode)

    @property
    def now(self) -> datetime:
        return self.model.now

    # -- time ------------------------------------------------------------------------------------
    def advance_to(self, t: datetime) -> None:
        with self.lock:
            if self.paused or t <= self.model.now:
                return
            self.model.advance_to(t.astimezone(simtime.BEIJING).replace(microsecond=0))
            self._write()
            if self.model.now - self._pruned_at >= PRUNE_EVERY:
                self._prune()

    def step(self, seconds: float) -> None:
        self.advance_to(self.now + timedelta(seconds=seconds))

    def tick(self) -> None:
        """Catch the model up with the simulated clock (the serving thread calls this)."""
        if not self.paused:
            self.advance_to(self.clock.now())

    def pause(self) -> None:
        with self.lock:
            self.paused = True
            if hasattr(self, "clock"):
                self.clock.pause()

    def resume(self) -> None:
        with self.lock:
            self.paused = False
            self.clock.rebase(self.now)
            self.clock.resume()

    def manual_step(self, seconds: float) -> None:
        """Step while serving: the clock follows the model so ticks do not jump back."""
        with self.lock:
            self.step(seconds)
            self.clock.rebase(self.now)

    def _prune(self) -> None:
        before = self.model.now - timedelta(hours=RETENTION_H)
        self.store.prune(before)
        self.model.prune(before)
        self.table.prune_ledger(before)
        for folder in self.folders.values():
            folder.prune_ledger(before)
        self._pruned_at = self.model.now

    # -- writers ---------------------------------------------------------------------------------
    def _write(self) -> None:
        now = self.model.now
        if "xf" in self.store.logs:
            entries = [e for e in self.store.logs["xf"].entries if e.seq > self._xf_seq and e.raw is None]
            if entries:
                self._xf_seq = entries[-1].seq
                self.table.queue([self.renderer.record("xf", e) for e in entries])
            self.table.flush(now)
        for feed, folder in self.folders.items():
            self._cut_files(feed, folder, now)
            folder.flush(now)

    def _cut_files(self, feed: str, folder: DropFolder, now: datetime) -> None:
        log_ = self.store.logs[feed]
        while self._files_until[feed] + FILE_EVERY <= now:
            start = self._files_until[feed]
            end = start + FILE_EVERY
            entries = [e for e in log_.since(start, 10**9, end) if e.time > start and e.raw is None]
            folder.queue(end, [self.renderer.record(feed, e) for e in entries])
            self._files_until[feed] = end

    # -- control ---------------------------------------------------------------------------------
    def set_fault(self, feed: str, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: must be one of {', '.join(MODES)}")
        with self.lock:
            self.modes[feed] = mode
            writer = self.table if feed == "xf" else self.folders.get(feed)
            if writer is not None:
                writer.set_mode(mode)
                writer.flush(self.now)

    def inject_row(self, feed: str, row: dict[str, Any]) -> None:
        """xf: one row into the exchange table; sj/mz: a one-row file."""
        with self.lock:
            key = str(row.get("petition_no") or row.get("投诉编号") or row.get("申请编号") or "injected")
            self.store.add(feed, self.now, key, raw=orjson.dumps(row))
            self.store.logs[feed].pending.clear()  # rows are written, not served on a poll
            if feed == "xf":
                self.table.queue([{"updated_at": simtime.iso(self.now), **row}], injected=True)
                self.table.flush(self.now)
            else:
                self.folders[feed].queue(self.now, [row], injected=True)
                self.folders[feed].flush(self.now)

    def inject_raw(self, feed: str, key: str, body: bytes) -> None:
        with self.lock:
            self.store.add(feed, self.now, key, raw=body)

    # -- reporting -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "sim_time": simtime.iso(self.now), "speed": self.speed, "seed": self.seed,
                "city": self.city.city, "paused": self.paused, "start": simtime.iso(self.start),
                "shared_clock": self.clock.shared,
                "scenario": self.scenario.status() if self.scenario else None,
                "feeds": {f: {"mode": self.modes[f], "adapter": info.adapter,
                              "records": len(self.store.logs[f].entries), "total": self.store.logs[f].total,
                              "served": self._served_count(f)}
                          for f, info in self.feeds.items()},
            }

    def _served_count(self, feed: str) -> int:
        if feed == "xf":
            return len(self.table.written)
        if feed in self.folders:
            return len(self.folders[feed].written)
        return len(self.store.logs[feed].served)

    def ledger(self, feed: str) -> dict[str, Any]:
        with self.lock:
            out: dict[str, Any] = {"feed": feed, "adapter": self.feeds[feed].adapter}
            if feed == "xf":
                out["payloads"] = [w.data.decode() for w in self.table.written]
                out["injected"] = [i for i, w in enumerate(self.table.written) if w.injected]
            elif feed in self.folders:
                written = self.folders[feed].written
                out.update(encoding="base64", payloads=[b64(w.data) for w in written],
                           names=[w.name for w in written], injected=[i for i, w in enumerate(written) if w.injected])
            else:
                served = list(self.store.logs[feed].served.values())
                out["payloads"] = [self.renderer.ledger_payload(feed, e) for e in served]
                out["injected"] = [i for i, e in enumerate(served) if e.injected]
            return out

    def cases(self, feed: str) -> list[Any]:
        """The distinct cases with a version in the store (tests inspect them)."""
        seen: dict[str, Any] = {}
        for e in self.store.logs[feed].entries:
            if isinstance(e.fact, CaseVersion):
                seen.setdefault(e.fact.case.no, e.fact.case)
        return list(seen.values())


def _floor(t: datetime, step: timedelta) -> datetime:
    return simtime.align_up(t, step) - step if (t - simtime.EPOCH) % step else t
