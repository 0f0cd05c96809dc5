"""What every adapter shares: the reject record, the normalising step and the adapter signature.

An adapter turns one upstream payload (bytes as received: a response body, a file, a row) into
*candidates* — plain dicts with the fields of :class:`dashboard.contract.event.Event` — or :class:`Reject`
records. It never raises on bad input: one bad record becomes one reject naming the field.
:func:`normalise` then masks personal data and validates the candidate into an Event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from dashboard.contract.event import Event, now_utc, validation_reason
from dashboard.contract.privacy import mask_text, mask_value


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not become an event. ``reason`` names the offending field."""

    reason: str
    raw: str = ""
    record_key: str | None = None


Candidate = dict[str, Any]


class FieldError(ValueError):
    """One value of a record that makes the record (or a CAP <info> block) unusable; the adapter turns
    it into a Reject naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


Parsed = Candidate | Reject
# adapter(payload, options) -> candidates and rejects; options come from the feed's registry entry
Adapter = Callable[[bytes, Mapping[str, Any]], Iterator[Parsed]]

RAW_MAX = 4096  # characters of the raw copy kept with a reject

# masked, then clipped to the Event's limits: masking first means a cut never leaves half a number
SUMMARY_LIMIT, DEPARTMENT_LIMIT, ADDRESS_LIMIT = 500, 100, 200


def mask_clip(text: str, limit: int) -> str:
    masked = mask_text(text)
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


def normalise(candidate: Candidate, ingested_at: datetime | None = None) -> Event | Reject:
    """Mask personal data in a candidate and validate it into an Event (or a Reject).

    This is the one place masking happens for events, so no adapter can forget it.
    """
    c = dict(candidate)
    summary, department = c.get("summary"), c.get("department")
    if isinstance(summary, str):
        c["summary"] = mask_clip(summary, SUMMARY_LIMIT)
    if isinstance(department, str):
        c["department"] = mask_clip(department, DEPARTMENT_LIMIT)
    if c.get("attrs"):
        c["attrs"] = mask_value(c["attrs"])
    loc = c.get("location")
    if isinstance(loc, dict) and isinstance(loc.get("address"), str):
        c["location"] = {**loc, "address": mask_clip(loc["address"], ADDRESS_LIMIT)}
    c.setdefault("ingested_at", ingested_at or now_utc())
    try:
        return Event.model_validate(c)
    except ValidationError as err:
        return Reject(validation_reason(err), raw=masked_raw(candidate),
                      record_key=str(candidate.get("case_id") or "") or None)


def masked_raw(obj: Any) -> str:
    """The raw copy kept with a reject: personal data masked by key name and by pattern."""
    try:
        text = orjson.dumps(mask_value(obj), default=str).decode()
    except (TypeError, RecursionError):
        text = repr(type(obj))
    return mask_text(text[: RAW_MAX + 64])[:RAW_MAX]
