"""`pingan live`: fold the source streams into live state, archive them, publish board snapshots.

One process runs three consumers in one loop: the ``live`` consumer group (case state, SLA clocks,
KPIs), the ``archive`` consumer group (every event into SQL) and, while it holds the snapshot
lease, the snapshot builder. Start as many processes as you like: the groups share the work, a
dead worker's pending entries are claimed by the others, one process at a time builds snapshots.
Windows, SLA lights and ``as_of`` follow the run's clock (dashboard/contract/clock.py, from the settings);
claiming, heartbeats, leases and the snapshot cadence are real time.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import redis

from dashboard.boards import REGISTRY
from dashboard.contract.backoff import backoff
from dashboard.contract.board import Builder, Registry, Scope, scopes
from dashboard.contract.clock import Clock
from dashboard.contract.event import Kind
from dashboard.contract.keys import Keys
from dashboard.contract.lease import Leases
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed, load_feeds
from dashboard.live.consumer import MAX_DELIVERIES, Entry, GroupReader
from dashboard.live.publish import LiveContext, Publisher, Round
from dashboard.live.sla import Policies
from dashboard.live.store import LiveStore
from feeds.adapters.base import Reject
from feeds.sink import StreamSink

log = logging.getLogger(__name__)

LIVE_GROUP = "live"
ARCHIVE_GROUP = "archive"
SNAPSHOT_LEASE = "live-snapshot"
CLAIM_EVERY_S = 5.0  # at least; else half the idle time after which entries are claimed
REDIS_RETRY_FIRST_S, REDIS_RETRY_MAX_S = 0.2, 10.0  # waits while Redis is unreachable, doubling
HEARTBEAT_EVERY_S = 5.0
# while the live state has a backlog, the archive (and its case facts) gets one batch this often: the
# boards catch up first, and the archive still moves (the streams are trimmed: it must not stall)
ARCHIVE_WHEN_BEHIND_S = 1.0
PRUNE_EVERY_S = 60.0  # the emergency picture drops what is long over
REQUIRED = ("event_id", "case_id", "source", "kind", "status", "occurred_at")
KINDS = frozenset(k.value for k in Kind)


class LiveWorker:
    def __init__(self, settings: Settings, feeds: dict[str, Feed] | None = None, name: str | None = None,
                 archive: bool = True, snapshots: bool = True, policies: Policies | None = None,
                 clock: Clock | None = None, registry: Registry | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock.from_settings(settings)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.feeds = feeds if feeds is not None else load_feeds(settings)
        self.r = redis.Redis.from_url(settings.redis_url)
        self.keys = Keys.from_settings(settings)
        self.policies = policies or Policies.load(settings.sla_policies)
        streams = [self.keys.stream(code) for code in self.feeds]
        self.live = GroupReader(self.r, streams, LIVE_GROUP, self.name, settings.live_batch,
                                settings.live_claim_idle_s)
        self.store = LiveStore(self.r, self.keys, settings, self.policies, self.clock)
        self.dead = StreamSink(self.r, self.keys, settings)
        self.archive_reader: GroupReader | None = None
        self.archive: Any = None
        if archive:
            from dashboard.live.archive import Archive

            self.archive = Archive.from_settings(settings, self.policies)
            self.archive_reader = GroupReader(self.r, streams, ARCHIVE_GROUP, self.name, settings.live_batch,
                                              settings.live_claim_idle_s)
        self.registry = registry or REGISTRY
        self.ctx = LiveContext(self.r, self.keys, settings, self.policies, self.clock, self.feeds, self.registry)
        # what this worker publishes while it holds the snapshot lease: every snapshot a board reads
        self.builders: dict[str, Builder] = (
            {s.name: s.builder(self.ctx) for s in self.registry.built()} if snapshots else {})
        self.publisher = Publisher(self.r, self.keys)
        self._pruned_at = 0.0
        self.leases = Leases(self.r, self.keys, self.name, settings.lease_ttl_s)
        self.scopes = scopes(settings.city_adcode)
        self._next_claim = 0.0
        self._next_heartbeat = 0.0
        self._next_archive = 0.0
        self._snap_version = -1
        self._snap_at = 0.0
        self._built_at: dict[str, float] = {}
        self.applied = 0
        self.behind = False
        self._unpublished = False  # this worker applied events no snapshot shows yet

    def ensure_groups(self) -> None:
        self.live.ensure_groups()
        if self.archive_reader:
            self.archive_reader.ensure_groups()

    # --- one pass -------------------------------------------------------------------------------

    def run_once(self, now: float | None = None, block_ms: int | None = None) -> int:
        """Read and apply what is there, archive it, maybe publish snapshots; returns entries handled.
        With ``block_ms``, an idle worker waits that long in Redis for the first new entry."""
        mono = time.monotonic()
        claim = mono >= self._next_claim
        if claim:
            self._next_claim = mono + max(CLAIM_EVERY_S, self.settings.live_claim_idle_s / 2)
        n = self._consume(self.live, self._apply_live, claim, block_ms)
        # a full round means a backlog: catch up first, publishing only at the heartbeat meanwhile (a
        # snapshot of data minutes behind is no better than the last one, and building them every
        # second took most of a loaded worker's time: at 600x it fell hours of simulated time behind)
        self.behind = n >= self.settings.live_batch
        if self.archive_reader is not None and (not self.behind or mono >= self._next_archive):
            self._next_archive = mono + ARCHIVE_WHEN_BEHIND_S
            n += self._consume(self.archive_reader, self._apply_archive, claim)
        if mono >= self._next_heartbeat:
            self._next_heartbeat = mono + HEARTBEAT_EVERY_S
            self.r.hset(self.keys.live_workers, self.name, int(time.time() * 1000))
            if self.builders:
                self.leases.refresh([SNAPSHOT_LEASE])
        self.maybe_snapshot(now)
        return n

    def _consume(self, reader: GroupReader, handle: Callable[[Sequence[Entry]], list[tuple[Entry, str]]],
                 claim: bool, block_ms: int | None = None) -> int:
        entries = reader.read(block_ms)
        if claim:
            retry, poison = reader.claim()
            entries += retry
            why = f"delivered more than {MAX_DELIVERIES} times without success"
            self._dead_letter(reader.group, [(e, why) for e in poison])
            reader.ack(poison)
        # up to a batch from every stream came back: handled and acknowledged a batch at a time, so
        # none waits long unacknowledged (claim_idle_s) and a transaction stays the usual size
        step = self.settings.live_batch
        for i in range(0, len(entries), step):
            chunk = entries[i:i + step]
            self._dead_letter(reader.group, handle(chunk))
            reader.ack(chunk)
        return len(entries)

    # --- handlers -------------------------------------------------------------------------------

    def _apply_live(self, entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
        events, bad = decode(entries)
        try:
            self.store.apply([ev for _, ev in events])
        except redis.ConnectionError:
            raise
        except Exception:  # noqa: BLE001 - one bad event must not hold back the batch: find it
            log.exception("live: batch of %d failed; applying one by one", len(events))
            for entry, ev in events:
                try:
                    self.store.apply([ev])
                except redis.ConnectionError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    bad.append((entry, f"live state: {type(exc).__name__}: {exc}"))
        self.applied += len(events)
        self._unpublished = self._unpublished or bool(events)
        return bad

    def _apply_archive(self, entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
        res = self.archive.write([e.payload for e in entries])
        return [(entries[i], f"archive: {reason}") for i, reason in res.bad]

    def _dead_letter(self, group: str, bad: Sequence[tuple[Entry, str]]) -> None:
        if not bad:
            return
        for entry, reason in bad:
            log.warning("%s: %s %s rejected: %s", group, entry.stream, entry.id, reason)
        rejects = [Reject(reason=f"{group} {e.stream} {e.id}: {why}", raw=e.payload.decode("utf-8", "replace"),
                          record_key=e.id) for e, why in bad]
        self.dead.write_rejects(group, rejects)

    # --- snapshots ------------------------------------------------------------------------------

    def maybe_snapshot(self, now: float | None = None, force: bool = False) -> bool:
        if not self.builders or not (force or self.leases.holds(SNAPSHOT_LEASE)):
            self.publisher.forget()  # whoever publishes meanwhile, our next change log entries must be resets
            return False
        mono = time.monotonic()
        version = int(self.r.get(self.keys.version) or 0)
        changed = version != self._snap_version
        due = mono - self._snap_at >= (self.settings.snapshot_interval_s if changed and not self.behind
                                       else self.settings.snapshot_heartbeat_s)
        if not (force or due):
            return False
        self.publish_snapshots(now, every=force)
        self._snap_version, self._snap_at = version, mono
        self._unpublished = False
        return True

    def idle_block_ms(self, longest_ms: int) -> int:
        """How long an idle pass may wait in Redis for new entries: at most ``longest_ms``, and no
        later than the snapshot of what this worker applied is due (else the wait delays it)."""
        if not (self._unpublished and self.builders):
            return longest_ms
        due_in_s = self.settings.snapshot_interval_s - (time.monotonic() - self._snap_at)
        return max(1, min(longest_ms, int(due_in_s * 1000) + 1))

    def publish_snapshots(self, now: float | None = None, every: bool = False) -> None:
        """Every registered snapshot for every scope of the boards that read it, at one instant of the
        clock; a snapshot built at most every ``every_s`` (the case map) only when that is due, unless
        ``every``."""
        rnd = Round(self.ctx, self.clock.now() if now is None else now)
        for spec in self.registry.built():
            mono = time.monotonic()
            if not every and spec.every_s and mono - self._built_at.get(spec.name, -spec.every_s) < spec.every_s:
                continue
            levels = self.registry.levels_of(spec.name)
            mine: list[Scope] = [sc for sc in self.scopes if sc.level in levels]
            for code, snap in self.builders[spec.name].build(rnd, mine).items():
                self.publisher.publish(spec, code, snap)
            self._built_at[spec.name] = mono
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            self.ctx.emergency.prune(rnd.now)

    # --- loop -----------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.leases.release_all()
            self.r.hdel(self.keys.live_workers, self.name)
        except redis.ConnectionError as exc:  # Redis stopped first (a terminal's Ctrl-C reaches the demo's too)
            log.warning("live: could not release the snapshot lease (%s); it expires by itself", exc)
        finally:
            if self.archive is not None:
                self.archive.close()
            self.r.close()


def decode(entries: Sequence[Entry]) -> tuple[list[tuple[Entry, dict[str, Any]]], list[tuple[Entry, str]]]:
    """Parse stream entries into event dicts; anything unreadable is returned with its reason."""
    good, bad = [], []
    for e in entries:
        try:
            ev = orjson.loads(e.payload)
        except orjson.JSONDecodeError as exc:
            bad.append((e, f"not JSON: {exc}"))
            continue
        missing = [k for k in REQUIRED if not isinstance(ev, dict) or k not in ev]
        if missing:
            bad.append((e, f"{missing[0]}: missing"))
        elif ev["kind"] not in KINDS:
            bad.append((e, f"kind: unknown value {str(ev['kind'])[:40]!r}"))
        else:
            good.append((e, ev))
    return good, bad


def run(settings: Settings, archive: bool = True, snapshots: bool = True, once: bool = False) -> None:
    worker = LiveWorker(settings, archive=archive, snapshots=snapshots)
    worker.ensure_groups()
    log.info("live worker %s: %d streams, Redis %s, clock x%g", worker.name, len(worker.feeds), settings.redis_url,
             worker.clock.speed)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        log.info("signal %d: stopping", signum)
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failures, n = 0, 1
    # idle, the worker waits in Redis for new entries, waking at least as often as snapshots may be due
    block_ms = max(1, int(settings.snapshot_interval_s * 1000))
    try:
        while not stopping:
            try:
                n = worker.run_once(block_ms=None if n or once else worker.idle_block_ms(block_ms))
                failures = 0
            except redis.ConnectionError as exc:
                failures += 1
                log.warning("live: Redis unavailable (%s); retrying", exc)
                time.sleep(backoff(failures, REDIS_RETRY_FIRST_S, REDIS_RETRY_MAX_S))
                continue
            if once and n == 0:
                worker.maybe_snapshot(force=True)
                break
    finally:
        worker.close()
