"""Red-level alerts: what interrupts a wall's rotation, and a duty officer's acknowledgement of it.

An alert item stands while its condition does: a red warning in force (one item per CAP chain, so
its updates do not alert again) or an emergency response at level II or I (one item per episode and
level, so raising II to I alerts again). An acknowledgement (who, when, comment) is stored per item;
it silences the item's alarm on every screen and is shown on the board. Walls stay on the
board red alerts pin them to (the registration says which) while any item stands, acknowledged or
not, and return to their rotation after.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import redis

from dashboard.contract.board import Acknowledgement, Alert, AlertItem, scopes
from dashboard.contract.keys import Keys
from dashboard.contract.privacy import mask_text
from dashboard.live.emergency_state import Geo

ALERT_SEVERITY = 3  # response level II (severity 3) and I (4)
WHO_MAX, COMMENT_MAX = 40, 300


def acknowledgement(raw: Mapping[str, Any] | None) -> Acknowledgement | None:
    """A stored acknowledgement (``at`` epoch seconds) as the boards show it."""
    if not raw:
        return None
    return Acknowledgement(key=raw["key"], who=raw["who"], at=int(raw["at"] * 1000), comment=raw.get("comment") or "")


def items(warnings: Iterable[Mapping[str, Any]], resp: Mapping[str, Any] | None,
          acks: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]) -> list[AlertItem]:
    """The alert items in force: red warnings (``warnings`` already in force and in scope) and a
    level II/I response; each with its acknowledgement, if any. Unacknowledged first."""
    out = []
    for w in warnings:
        if w.get("c") == "red":
            key = f"warn:{w['id']}"
            area = "、".join(names.get(a, a) for a in w.get("districts", []))
            out.append(AlertItem(key=key, kind="warning", headline=w.get("hl") or f"{area}{w.get('hz', '')}红色预警",
                                 since=_ms(w.get("t")), districts=w.get("districts", []),
                                 acknowledgement=acknowledgement(acks.get(key))))
    if resp and resp.get("sev", 0) >= ALERT_SEVERITY and resp.get("active"):
        key = f"resp:{resp['ep']}:{resp['lvl']}"
        out.append(AlertItem(key=key, kind="response", headline=resp.get("nm") or f"{resp['lvl']}级应急响应",
                             since=_ms(resp.get("since")), districts=[],
                             acknowledgement=acknowledgement(acks.get(key))))
    out.sort(key=lambda i: (i.acknowledgement is not None, -(i.since or 0)))
    return out


def alert(found: list[AlertItem], board_path: str) -> Alert | None:
    """The snapshots' ``alert`` (None when nothing stands): walls pin ``board_path`` while it is set
    and sound the alarm while some item is unacknowledged."""
    if not found:
        return None
    unacked = [i for i in found if i.acknowledgement is None]
    lead = (unacked or found)[0]
    return Alert(level="red", board_path=board_path, headline=lead.headline, unacknowledged=len(unacked),
                 items=found)


def standing(warnings: Sequence[Mapping[str, Any]], resp: Mapping[str, Any] | None,
             acks: Mapping[str, Mapping[str, Any]], geo: Geo, board_path: str) -> dict[str, Alert | None]:
    """The alert standing in every scope of the city: the warnings in force and the response level
    (dashboard/live/emergency_state.py ``active_warnings``, ``response``) with their acknowledgements."""
    out = {}
    for sc in scopes(geo.city):
        mine = [w for w in warnings if sc.level == "city" or sc.code in w["districts"]]
        out[sc.code] = alert(items(mine, resp, acks, geo.names), board_path)
    return out


def _ms(t: float | None) -> int | None:
    return int(t * 1000) if t is not None else None


class AckError(ValueError):
    """An acknowledgement that cannot be taken; the message says which field and why."""


def acknowledge(r: redis.Redis, keys: Keys, key: str, who: str, comment: str = "",
                standing: Iterable[str] | None = None, at: float | None = None) -> dict[str, Any]:
    """Store a duty officer's acknowledgement of one alert item (the web writes the audit row);
    ``at`` is the run's clock (dashboard/contract/clock.py), default the wall clock.

    ``standing``: the keys of the items in force (from the newest snapshot); a key not among them
    is refused, so a stale screen cannot acknowledge what it no longer shows. The first
    acknowledgement of an item stands; a second one is refused."""
    who, comment = (who or "").strip(), (comment or "").strip()
    if not key or len(key) > 200:
        raise AckError("key: missing or too long")
    if standing is not None and key not in set(standing):
        raise AckError("key: no such alert in force")
    if not who:
        raise AckError("who: the duty officer's name is required")
    if len(who) > WHO_MAX:
        raise AckError(f"who: at most {WHO_MAX} characters")
    if len(comment) > COMMENT_MAX:
        raise AckError(f"comment: at most {COMMENT_MAX} characters")
    when = at if at is not None else time.time()
    masked = mask_text(comment)  # a comment may quote a caller's number
    record: dict[str, Any] = {"key": key, "who": who, "at": when, "comment": masked}
    body = orjson.dumps(record)
    if not r.hsetnx(keys.em_acks, key, body):
        raise AckError("key: already acknowledged")
    pipe = r.pipeline(transaction=False)
    pipe.incr(keys.version)  # the boards' next snapshot shows it
    pipe.execute()
    return record
