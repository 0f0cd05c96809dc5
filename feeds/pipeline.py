"""parse → enrich → mask/validate: one payload from upstream to events and rejects.

Used by the pollers, by ``pingan feeds parse`` and by the ingest benchmark, so all three measure
and run the same path.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from dashboard.contract.event import Event, now_utc
from dashboard.contract.geo import DistrictLocator
from dashboard.contract.privacy import masked_traceback
from feeds.adapters import get_adapter
from feeds.adapters.base import Candidate, Reject, normalise

log = logging.getLogger(__name__)


GC_GEN0_THRESHOLD = 50_000  # allocations between young collections in ingest processes (default 700)


def tune_gc() -> None:
    """For long-running ingest processes: every event allocates a few dozen short-lived objects,
    and with the default threshold the collector spends much of its time re-walking the long-lived
    ones (registry, boundaries, clients); freeze those and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


class Pipeline:
    def __init__(self, city_adcode: str | None = None) -> None:
        self._locator = DistrictLocator(city_adcode) if city_adcode else None

    def _enrich(self, c: Candidate) -> Candidate:
        """Fill a missing district adcode from the position (events carry codes when they can)."""
        loc = c.get("location")
        if self._locator is None or not isinstance(loc, dict) or loc.get("adcode"):
            return c
        lat, lon = loc.get("lat"), loc.get("lon")
        if isinstance(lat, (float, int)) and isinstance(lon, (float, int)):
            code = self._locator.adcode_at(float(lat), float(lon))
            if code:
                return {**c, "location": {**loc, "adcode": code}}
        return c

    def run(
        self, adapter: str, payload: bytes, options: Mapping[str, Any], ingested_at: datetime | None = None
    ) -> Iterator[Event | Reject]:
        ts = ingested_at or now_utc()
        try:
            for item in get_adapter(adapter)(payload, options):
                yield item if isinstance(item, Reject) else normalise(self._enrich(item), ts)
        except Exception as exc:  # an adapter bug must not kill the worker; the payload is kept
            log.error("adapter %s failed on a payload from %s\n%s", adapter, options.get("source"),
                      masked_traceback(exc))
            yield Reject(f"payload: adapter {adapter} failed: {type(exc).__name__}",
                         raw=payload[:8192].decode("utf-8", "replace"))
