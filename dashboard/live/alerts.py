"""Red-level alerts: what interrupts a wall's rotation, and a duty officer's acknowledgement of it.

An alert item stands while its condition does: a red warning in force (one item per CAP chain, so
its updates do not alert again) or an emergency response at level II or I (one item per episode and
level, so raising II to I alerts again). An acknowledgement (who, when, comment) is stored per item;
it silences the item's alarm on every screen and is shown on the board. Walls stay on the
emergency board while any item stands, acknowledged or not, and return to their rotation after.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import redis

from feeds.keys import Keys
from feeds.privacy import mask_text

BOARD = "board/emergency"
ALERT_SEVERITY = 3  # response level II (severity 3) and I (4)
WHO_MAX, COMMENT_MAX = 40, 300
AUDIT_MAXLEN = 100_000


def items(warnings: Iterable[Mapping[str, Any]], response: Mapping[str, Any] | None,
          acks: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The alert items in force: red warnings (``warnings`` already in force and in scope) and a
    level II/I response; each with its acknowledgement, if any. Unacknowledged first."""
    out = []
    for w in warnings:
        if w.get("c") == "red":
            key = f"warn:{w['id']}"
            area = "、".join(names.get(a, a) for a in w.get("districts", []))
            out.append({"key": key, "kind": "warning", "headline": w.get("hl") or f"{area}{w.get('hz', '')}红色预警",
                        "since": w.get("t"), "districts": w.get("districts", []), "ack": acks.get(key)})
    if response and response.get("sev", 0) >= ALERT_SEVERITY and response.get("active"):
        key = f"resp:{response['ep']}:{response['lvl']}"
        out.append({"key": key, "kind": "response", "headline": response.get("nm") or f"{response['lvl']}级应急响应",
                    "since": response.get("since"), "districts": [], "ack": acks.get(key)})
    out.sort(key=lambda i: (i["ack"] is not None, -(i["since"] or 0)))
    return out


def alert(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The snapshot's ``alert`` (None when nothing stands): walls pin ``board`` while it is set and
    sound the alarm while ``unacked`` > 0."""
    if not found:
        return None
    unacked = [i for i in found if i["ack"] is None]
    lead = (unacked or found)[0]
    return {"level": "red", "board": BOARD, "headline": lead["headline"], "unacked": len(unacked),
            "items": found}


class AckError(ValueError):
    """An acknowledgement that cannot be taken; the message says which field and why."""


def acknowledge(r: redis.Redis, keys: Keys, key: str, who: str, comment: str = "",
                standing: Iterable[str] | None = None, at: float | None = None) -> dict[str, Any]:
    """Store a duty officer's acknowledgement of one alert item and write it to the audit stream;
    ``at`` is the run's clock (feeds/clock.py), default the wall clock.

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
    # ``at`` is the run's clock (what the boards show; sped up in a demo), ``real_at`` the wall clock
    pipe.xadd(keys.audit, {"type": "alert_ack", "key": key, "who": who, "at": str(when),
                           "real_at": str(time.time()), "comment": masked},
              maxlen=AUDIT_MAXLEN, approximate=True)
    pipe.incr(keys.version)  # the boards' next snapshot shows it
    pipe.execute()
    return record
