"""The one notion of "now" shared by every process of a run.

A clock is an origin (epoch seconds) and a speed: ``now = origin + (time.time() - origin) * speed``.
Every process given the same two numbers (``PINGAN_CLOCK_ORIGIN``, ``PINGAN_CLOCK_SPEED``; `pingan
demo` sets both for its children) reads the same time to the second without talking to the
others, because the formula hangs off the system clock, not off when each process started. Speed
1 (the default) is plain ``time.time()``.

Only what is compared with event times runs on this clock: windows, SLA lights, a snapshot's
``as_of``, the "too far in the future" guard of cursors. Leases, TTLs of health records, backoff,
heartbeats and poll intervals are about processes, not about the simulated world, and stay on real
time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.contract.settings import Settings


@dataclass(frozen=True, slots=True)
class Clock:
    origin: float | None = None  # epoch seconds at which clock time and real time agree
    speed: float = 1.0  # clock seconds per real second

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"clock speed must be positive, not {self.speed!r}")
        if self.speed != 1 and self.origin is None:
            # an origin per process would give every process its own time: refuse rather than drift
            raise ValueError("a clock speed other than 1 needs an origin (PINGAN_CLOCK_ORIGIN)")

    @classmethod
    def from_settings(cls, settings: Settings) -> Clock:
        return cls(settings.clock_origin, settings.clock_speed)

    @property
    def real(self) -> bool:
        """Whether this clock is the system clock."""
        return self.speed == 1

    def now(self) -> float:
        """Clock time, epoch seconds."""
        return self.at(time.time())

    def at(self, real: float) -> float:
        """Clock time at the real instant ``real`` (epoch seconds)."""
        if self.origin is None or self.speed == 1:
            return real
        return self.origin + (real - self.origin) * self.speed

    def real_at(self, t: float) -> float:
        """The real instant at which this clock shows ``t`` (for Redis EXPIREAT and the like)."""
        if self.origin is None or self.speed == 1:
            return t
        return self.origin + (t - self.origin) / self.speed

    def describe(self) -> dict[str, float | None]:
        """What a snapshot says about its clock, so a board can show "×60 demo time"."""
        return {"speed": self.speed, "origin": self.origin}
