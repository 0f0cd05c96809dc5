"""Simulated time: start + real elapsed x speed (or the run's shared clock), always Beijing time
(+08:00), whole seconds."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from dashboard.contract.clock import Clock
from dashboard.contract.event import BEIJING

BLOCK = timedelta(minutes=30)  # arrivals are drawn per half-hour block (the cadence guarantee)
EPOCH = datetime(2000, 1, 1, tzinfo=BEIJING)


def beijing_now() -> datetime:
    return datetime.now(BEIJING).replace(microsecond=0)


def to_beijing(dt: datetime) -> datetime:
    return dt.astimezone(BEIJING)


def iso(dt: datetime) -> str:
    """2026-11-22T09:30:00+08:00"""
    return dt.astimezone(BEIJING).isoformat(timespec="seconds")


def iso_ms(dt: datetime) -> str:
    """2026-11-22T09:30:00.000+08:00 (some upstreams print milliseconds)"""
    return dt.astimezone(BEIJING).isoformat(timespec="milliseconds")


def plain(dt: datetime) -> str:
    """2026-11-22 09:30:00, naive Beijing time, as most Chinese systems print it."""
    return dt.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def epoch_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def parse_time(text: str | None) -> datetime | None:
    """An ISO time from a query string; naive means Beijing; None if absent or unreadable."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.strip().replace(" ", "T", 1).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=BEIJING) if dt.tzinfo is None else dt


def block_index(dt: datetime) -> int:
    """The half-hour block (start, end] that holds ``dt``, counted from EPOCH."""
    secs = int((dt - EPOCH).total_seconds())
    return (secs - 1) // int(BLOCK.total_seconds())


def block_bounds(index: int) -> tuple[datetime, datetime]:
    start = EPOCH + index * BLOCK
    return start, start + BLOCK


def align_up(dt: datetime, step: timedelta) -> datetime:
    """The first multiple of ``step`` (from EPOCH) strictly after ``dt``."""
    n = int((dt - EPOCH) / step) + 1
    return EPOCH + n * step


class SimClock:
    """Maps real time to simulated time; pausing freezes simulated time.

    Without ``origin`` simulated time starts at ``start`` when the clock is made and runs on the
    monotonic clock. With ``origin`` (epoch seconds, the shared clock of dashboard/contract/clock.py) it is
    ``origin + (time.time() - origin) x speed``, the time every other process of the run reads,
    whenever this process started. Pausing, resuming and manual steps rebase it on the monotonic
    clock: from then on the simulator keeps its own time and other processes' clocks run on
    (after a pause of P real seconds, the data is P x speed behind their "now").
    """

    def __init__(self, start: datetime, speed: float = 1.0, origin: float | None = None) -> None:
        self.speed = speed
        self._lock = threading.Lock()
        self._paused = False
        self._shared: Clock | None = None
        if origin is not None:
            self._shared = Clock(origin, speed)
        self._base = start
        self._real = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            if self._paused:
                return self._base
            if self._shared is not None:
                return datetime.fromtimestamp(int(self._shared.now()), BEIJING)
            elapsed = (time.monotonic() - self._real) * self.speed
            return (self._base + timedelta(seconds=elapsed)).replace(microsecond=0)

    @property
    def shared(self) -> bool:
        """Whether this clock still reads the run's shared clock (no pause or step since start)."""
        return self._shared is not None

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        base = self.now()
        with self._lock:
            self._base, self._paused, self._shared = base, True, None

    def resume(self) -> None:
        with self._lock:
            self._real, self._paused = time.monotonic(), False

    def rebase(self, sim_time: datetime) -> None:
        """Continue from ``sim_time`` (after a manual step moved the model ahead)."""
        with self._lock:
            self._base, self._real, self._shared = sim_time, time.monotonic(), None
