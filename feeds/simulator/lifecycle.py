"""Case lifecycles: every case's whole timeline is drawn when it is created, from its own seeded
generator, so what it does never depends on how the clock is stepped.

reported -> accepted -> dispatched -> in_progress -> resolved -> closed (-> rated for 12345 and
117), with lognormal delays per feed so that some cases breach their SLA; occasionally cancelled
early, occasionally reopened (sent back for redo), sometimes three times or more.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Stage:
    name: str  # the upstream's stage (e.g. "enroute", "replied"); renderers pick labels by it
    status: str  # the Event status it means
    median_min: float  # median delay after the previous stage, minutes
    sigma: float  # lognormal spread


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    stage: str
    status: str
    redo: int = 0
    satisfaction: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    path: tuple[Stage, ...]  # after "reported", up to and including the first resolution
    redo_path: tuple[Stage, ...]  # what a reopened case goes through again
    close: Stage
    rate: Stage | None = None  # a follow-up call rates the case after closing (12345, 117)
    cancel_p: float = 0.02  # cancelled right after reporting or acceptance
    redo_p: float = 0.03  # first reopen; each further one has REDO_AGAIN_P
    slow_p: float = 0.06  # handled by a slow department: every delay x SLOW_FACTOR
    self_p: float = 0.0  # grid worker solves it on the spot: reported -> resolved directly
    self_median_min: float = 20.0


REDO_AGAIN_P = 0.5
MAX_REDO = 5
SLOW_FACTOR = 4.0
URGENT_FACTOR = 0.25  # urgent cases (priority 1) move four times faster
MIN_DELAY_S = 5
MAX_DELAY = timedelta(days=40)


def S(name: str, status: str, median_min: float, sigma: float = 0.8) -> Stage:
    return Stage(name, status, median_min, sigma)


def _cad(ack: float, disp: float, enroute: float, onscene: float, cleared: float, closed: float) -> Profile:
    return Profile(
        path=(S("acknowledged", "accepted", ack, 0.5), S("dispatched", "dispatched", disp, 0.6),
              S("enroute", "dispatched", enroute, 0.5), S("onscene", "in_progress", onscene, 0.45),
              S("cleared", "resolved", cleared, 0.7)),
        redo_path=(S("onscene", "in_progress", 12, 0.5), S("cleared", "resolved", 30, 0.6)),
        close=S("closed", "closed", closed, 0.8), cancel_p=0.04, redo_p=0.01, slow_p=0.04)


def _office(acc: float, disp: float, work: float, resolve: float, close: float, **kw: float) -> Profile:
    return Profile(
        path=(S("accepted", "accepted", acc), S("dispatched", "dispatched", disp),
              S("in_progress", "in_progress", work), S("resolved", "resolved", resolve, 0.9)),
        redo_path=(S("in_progress", "in_progress", work), S("resolved", "resolved", resolve / 2, 0.9)),
        close=S("closed", "closed", close), **kw)  # type: ignore[arg-type]


DAY = 1440.0
PROFILES: dict[str, Profile] = {
    "110": _cad(0.5, 2, 1, 6, 40, 120),
    "119": _cad(0.3, 1, 0.5, 9, 60, 180),
    "120": _cad(0.5, 1.5, 1, 8, 45, 60),
    "122": _cad(1, 3, 1, 12, 50, 240),
    "12345": Profile(
        path=(S("accepted", "accepted", 45, 1.0), S("dispatched", "dispatched", 30),
              S("in_progress", "in_progress", 120), S("resolved", "resolved", 2000, 0.9)),
        redo_path=(S("in_progress", "in_progress", 120), S("resolved", "resolved", 1400, 0.9)),
        close=S("closed", "closed", 360), rate=S("rated", "rated", DAY, 0.5), redo_p=0.05),
    "qy117": Profile(
        path=(S("accepted", "accepted", 8), S("dispatched", "dispatched", 6),
              S("replied", "in_progress", 10), S("solution", "resolved", 300, 0.8)),
        redo_path=(S("replied", "in_progress", 30), S("solution", "resolved", 300, 0.8)),
        close=S("closed", "closed", 1.5 * DAY), rate=S("rated", "rated", 720, 0.5), redo_p=0.03),
    "cg": _office(20, 30, 60, 480, DAY, redo_p=0.03),
    "wg": _office(20, 40, 90, 480, 720, self_p=0.55),
    "xf": _office(DAY, DAY, 2 * DAY, 10 * DAY, 3 * DAY, cancel_p=0.08, redo_p=0.05),
    "tj": _office(120, 240, 720, 2 * DAY, DAY, cancel_p=0.05, redo_p=0.04),
    "aj": _office(120, 240, DAY, 4 * DAY, 2 * DAY, redo_p=0.08),
    "hb": _office(60, 120, 360, 2 * DAY, DAY, cancel_p=0.06),
    "sj": _office(240, 480, DAY, 3 * DAY, DAY, cancel_p=0.08),
    "mz": _office(DAY, 2 * DAY, 3 * DAY, 5 * DAY, 3 * DAY, cancel_p=0.05, redo_p=0.08),
    "wj": _office(30, 60, 120, 2 * DAY, 3 * DAY, cancel_p=0.15),
    "sp": _office(5, 15, 30, 120, 240, cancel_p=0.3, redo_p=0.02),
}


def delay(rng: random.Random, stage: Stage, factor: float) -> timedelta:
    minutes = stage.median_min * factor * math.exp(stage.sigma * rng.gauss(0.0, 1.0))
    return min(timedelta(seconds=max(MIN_DELAY_S, round(minutes * 60))), MAX_DELAY)


def draw_timeline(profile: Profile, created: datetime, rng: random.Random, urgent: bool) -> list[Step]:
    """The whole future of one case, starting with its report at ``created``."""
    factor = (SLOW_FACTOR if rng.random() < profile.slow_p else 1.0) * (URGENT_FACTOR if urgent else 1.0)
    steps = [Step(created, "reported", "reported")]
    cancel_at = rng.randrange(2) if rng.random() < profile.cancel_p else -1
    if rng.random() < profile.self_p:
        solved = Stage("resolved", "resolved", profile.self_median_min, 0.8)
        t = created + delay(rng, solved, 1.0)
        steps.append(Step(t, solved.name, solved.status))
        return [*steps, Step(t + delay(rng, profile.close, 1.0), "closed", "closed")]
    t = created
    for i, stage in enumerate(profile.path):
        t += delay(rng, stage, factor)
        if i == cancel_at:
            return [*steps, Step(t, "cancelled", "cancelled")]
        steps.append(Step(t, stage.name, stage.status))
    _redo_rounds(profile, rng, factor, steps)
    return steps


def _redo_rounds(profile: Profile, rng: random.Random, factor: float, steps: list[Step]) -> None:
    """Closing, rating and sending back for redo, until the case stays closed."""
    redo, p = 0, profile.redo_p
    while True:
        again = redo < MAX_REDO and rng.random() < p
        t = steps[-1].at
        if profile.rate is not None:
            t += delay(rng, profile.close, factor)
            steps.append(Step(t, "closed", "closed", redo))
            t += delay(rng, profile.rate, 1.0)
            mood = "不满意" if again else rng.choices(("满意", "基本满意", "不满意"), (90, 8, 2))[0]
            steps.append(Step(t, "rated", "rated", redo, mood))
        if not again:
            break
        redo, p = redo + 1, REDO_AGAIN_P
        t += timedelta(seconds=round(rng.uniform(600, 14400)))
        steps.append(Step(t, "reopened", "reopened", redo))
        for stage in profile.redo_path:
            t += delay(rng, stage, factor)
            steps.append(Step(t, stage.name, stage.status, redo))
    if profile.rate is None:
        steps.append(Step(steps[-1].at + delay(rng, profile.close, factor), "closed", "closed", redo))
