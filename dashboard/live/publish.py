"""Publishing the registered snapshots: one round builds each of them for every scope at one instant
of the run's clock, and stores them where the web pushes them from.

A round reads what every snapshot's header shares once — the live state's version, the newest event
time, the feeds' health, the red alerts standing in each scope — and hands it to the builders
(dashboard/contract/board.py `Builder`), which read the rest themselves. A whole snapshot is stored under
``{SCOPE}:snap:NAME`` and appended to its capped log ``{SCOPE}:snaplog:NAME`` (what browsers are pushed,
resuming from its ids); a change log appends entries against what this worker last published
(dashboard/live/changelog.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
import redis
from pydantic import BaseModel, ValidationError

from dashboard.contract.board import Alert, ClockInfo, FeedState, HistoryLoad, Registry, Snapshot, scopes
from dashboard.contract.clock import Clock
from dashboard.contract.feed_health import collect
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import Feed
from dashboard.live import alerts
from dashboard.live.changelog import ChangeLog
from dashboard.live.emergency_state import EmergencyStore, Geo, active_warnings, response
from dashboard.live.sla import Policies

SNAPLOG_KEEP = 50  # whole snapshots kept per log: a page resumes from the newest anyway


@dataclass
class LiveContext:
    """What a builder is made with: the connection, the keys, the settings and the city."""
    r: redis.Redis
    keys: Keys
    settings: Settings
    policies: Policies
    clock: Clock
    feeds: dict[str, Feed]
    registry: Registry
    geo: Geo = field(init=False)

    def __post_init__(self) -> None:
        self.geo = Geo.of(self.settings.city_adcode)

    @property
    def city(self) -> str:
        return self.settings.city_adcode

    @cached_property
    def source_names(self) -> dict[str, str]:
        return {code: f.name for code, f in self.feeds.items()}

    @cached_property
    def emergency(self) -> EmergencyStore:
        return EmergencyStore(self.r, self.keys)


class Round:
    """One instant of the run's clock, and what every snapshot built for it shares (read once)."""

    def __init__(self, ctx: LiveContext, now: float) -> None:
        self.ctx, self.now = ctx, now

    @cached_property
    def version(self) -> int:
        return int(self.ctx.r.get(self.ctx.keys.version) or 0)

    @cached_property
    def newest(self) -> dict[str, int]:
        """Newest event time applied per source (epoch ms)."""
        raw: Any = self.ctx.r.zrange(self.ctx.keys.newest, 0, -1, withscores=True)
        return {(m.decode() if isinstance(m, bytes) else m): int(s) for m, s in raw}

    @cached_property
    def feeds(self) -> list[FeedState]:
        c = self.ctx
        return [FeedState(code=f["code"], name=f["name"], state=f["state"], lag_s=f["lag_s"], events=f["events"],
                          rejected=f["rejected"]) for f in collect(c.r, c.keys, c.feeds, c.settings)["feeds"]]

    @cached_property
    def picture(self) -> dict[str, Any]:
        """The emergency picture's tables (warnings, storms, response levels, acknowledgements…)."""
        return self.ctx.emergency.read()

    @cached_property
    def response(self) -> dict[str, Any] | None:
        """The emergency response level in force (or the last one stood down)."""
        return response(self.picture["levels"], self.now)

    @cached_property
    def warnings(self) -> list[dict[str, Any]]:
        """The warnings in force for the city's districts, most severe first."""
        return active_warnings(self.picture["warning"].values(), self.now, self.ctx.geo)

    @cached_property
    def alerts(self) -> dict[str, Alert | None]:
        """The red alert standing in each scope (None everywhere when no board takes alerts)."""
        board = self.ctx.registry.alert_board()
        if board is None:
            return {}
        return alerts.standing(self.warnings, self.response, self.picture["acks"], self.ctx.geo, board.path)

    def head(self, snapshot: str, scope: str) -> dict[str, Any]:
        """The fields of dashboard.contract.board.SnapshotHead."""
        return {"snapshot": snapshot, "scope": scope, "version": self.version, "as_of": int(self.now * 1000)}

    def page_head(self, snapshot: str, scope: str, district: str | None = None) -> dict[str, Any]:
        """The fields of dashboard.contract.board.PageHead: what a page's header shows (below the district,
        ``district`` names the one whose red alert stands over it: every tablet shows it)."""
        return {**self.head(snapshot, scope), "clock": ClockInfo(**self.ctx.clock.describe()),
                "data_as_of": max(self.newest.values(), default=0) or None, "feeds": self.feeds,
                "alert": self.alerts.get(district or scope) if (district or scope) in self._alert_scopes else None,
                "history": self.history}

    @cached_property
    def history(self) -> HistoryLoad | None:
        held: Any = self.ctx.r.hgetall(self.ctx.keys.history_load)
        raw = {k.decode(): v.decode() for k, v in held.items()}
        if not raw:
            return None
        try:
            return HistoryLoad.model_validate(raw)
        except ValidationError:
            return None

    @cached_property
    def _alert_scopes(self) -> frozenset[str]:
        """Alerts stand in the city and its districts; a town's, village's or grid's header shows its district's."""
        return frozenset(s.code for s in scopes(self.ctx.city))


class Publisher:
    """Stores snapshots and appends them to the logs browsers are pushed from."""

    def __init__(self, r: redis.Redis, keys: Keys, keep: int = SNAPLOG_KEEP) -> None:
        self.r, self.keys, self.keep = r, keys, keep
        self._logs: dict[str, ChangeLog] = {}

    def publish(self, spec: Snapshot, scope: str, snap: BaseModel | Mapping[str, Any]) -> str | None:
        """Publish one snapshot; returns its log entry id (None: a change log with nothing changed)."""
        if spec.log:
            assert spec.items is not None
            log = self._logs.get(spec.name)
            if log is None:
                log = self._logs[spec.name] = ChangeLog(self.r, self.keys, spec.name, spec.items)
            return log.publish(scope, snap.model_dump(mode="json") if isinstance(snap, BaseModel) else snap)
        body = snap.model_dump_json().encode() if isinstance(snap, BaseModel) else orjson.dumps(snap)
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.keys.snapshot(spec.name, scope), body)
        pipe.xadd(self.keys.snapshot_log(spec.name, scope), {"s": body}, maxlen=self.keep, approximate=self.keep > 10)
        res = pipe.execute()[1]
        return res.decode() if isinstance(res, bytes) else str(res)

    def forget(self) -> None:
        """Change logs start over with a reset (after losing the snapshot lease: another worker published)."""
        for log in self._logs.values():
            log.forget()
