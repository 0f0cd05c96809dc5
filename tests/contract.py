"""The adapter contract, checked the same way for every adapter's tests."""

from __future__ import annotations

import json
import re
from typing import Any

from dashboard.contract.event import Event
from feeds.adapters.base import Reject, normalise

# a reason starts with the offending field: "lat: out of range", "extended_attributes.priority: …"
FIELD_REASON = re.compile(r"^[A-Za-z_][\w.]*: \S")


def check_outputs(parsed: list[Any]) -> None:
    """Dicts or Rejects naming a field; every dict normalises to an Event or such a Reject."""
    for p in parsed:
        assert isinstance(p, dict | Reject)
        if isinstance(p, Reject):
            assert FIELD_REASON.match(p.reason), p.reason
            continue
        result = normalise(p)
        assert isinstance(result, Event | Reject)
        if isinstance(result, Event):
            json.loads(result.to_json())
        else:
            assert FIELD_REASON.match(result.reason), result.reason
