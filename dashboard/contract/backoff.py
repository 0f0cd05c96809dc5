"""The one retry wait of every process: a feed that keeps failing, a worker that lost Redis, a demo
child that keeps dying, a new SQLite file not yet switched to WAL."""

from __future__ import annotations

import random


def backoff(attempt: int, first_s: float, cap_s: float, jitter: float = 0.2) -> float:
    """Seconds to wait before retry ``attempt`` (1 for the first): ``first_s`` doubled with every
    attempt, at most ``cap_s``, less up to ``jitter`` of it at random so that many clients that
    failed together do not retry in step."""
    wait = min(cap_s, first_s * 2 ** min(max(attempt, 1) - 1, 30))
    return wait * (1 - jitter * random.random())
