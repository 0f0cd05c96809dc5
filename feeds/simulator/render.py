"""Facts in the store -> records and documents in each feed's upstream format."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import orjson

from feeds.simulator.duty import CheckIn, Closure, Task
from feeds.simulator.formats import cad, cap, open311, readings, reports, tables, typhoon
from feeds.simulator.formats.documents import ENVELOPES, Raw, bare, cad_envelope, dumps
from feeds.simulator.formats.records import CASE_RECORDS
from feeds.simulator.geography import CityGeo
from feeds.simulator.hydro import Reading
from feeds.simulator.ledger import Entry
from feeds.simulator.mobilise import Mobilisation
from feeds.simulator.model import CaseVersion, StormFix
from feeds.simulator.response import Response
from feeds.simulator.upstreams import FeedInfo
from feeds.simulator.vessels import VesselFix

ROWS: dict[str, Callable[..., dict[str, Any]]] = {
    "xf": tables.petition_row, "sj": tables.complaint_row, "mz": tables.assistance_row,
}


class Renderer:
    def __init__(self, feeds: dict[str, FeedInfo], city: CityGeo) -> None:
        self.feeds, self.city = feeds, city

    def record(self, feed: str, entry: Entry, extensions: bool = True) -> Any:
        """One record version: a dict (JSON, rows), or bytes (a CAP document)."""
        info, fact = self.feeds[feed], entry.fact
        if isinstance(fact, CaseVersion):
            if info.adapter == "open311":
                return open311.request(fact.case, fact.i, info.datum, extensions)
            if info.adapter == "cad":
                return cad.eido(fact.case, fact.i, info.datum)
            if feed in ROWS:
                return ROWS[feed](fact.case, fact.i, info.datum)
            return CASE_RECORDS[feed](fact.case, fact.i, info.datum)
        return self._scheduled(info, fact)

    def _scheduled(self, info: FeedInfo, fact: Any) -> Any:
        if isinstance(fact, StormFix):
            fix = fact.storm.fixes[fact.fix_index]
            return typhoon.storm_object(fact.storm, fix.time, [fix])
        if isinstance(fact, Reading):
            return readings.gauge(fact, info.datum)
        if isinstance(fact, Response):
            return reports.response(fact, self.city)
        if isinstance(fact, Mobilisation):
            return reports.mobilisation(fact, self.city)
        if isinstance(fact, CheckIn):
            return reports.checkin(fact, self.city, info.datum)
        if isinstance(fact, Closure):
            return reports.closure(fact, self.city, info.datum)
        if isinstance(fact, Task):
            return reports.task(fact, self.city)
        if isinstance(fact, VesselFix):
            return readings.vessel(fact, self.city, info.datum)
        return cap.alert_xml(fact, self.city)

    def item(self, feed: str, entry: Entry) -> Any:
        """What goes into a JSON document for this entry (``Raw`` for an injected one)."""
        return Raw(entry.raw) if entry.raw is not None else self.record(feed, entry)

    def document(self, feed: str, items: list[Any]) -> bytes:
        """A poll response of a JSON-bodied feed (Open311 JSON, CAD, JSON feeds, typhoon)."""
        adapter = self.feeds[feed].adapter
        if adapter == "cad":
            return dumps(items, cad_envelope)
        if adapter == "json":
            return dumps(items, ENVELOPES[feed][1] if feed in ENVELOPES else bare)
        return dumps(items, bare)

    def xml_document(self, feed: str, entries: list[Entry], extensions: bool = True) -> bytes:
        return open311.document_xml([self.xml_item(e.raw) if e.raw is not None
                                     else open311.request_xml(self.record(feed, e, extensions))
                                     for e in entries])

    def ledger_payload(self, feed: str, entry: Entry) -> str:
        """One served version as a payload the feed's adapter parses on its own."""
        info = self.feeds[feed]
        if info.adapter == "cap":
            data = entry.raw if entry.raw is not None else self.record(feed, entry)
            return data.decode("utf-8", "replace")
        if info.adapter == "open311" and info.options.get("format") == "xml":
            return self.xml_document(feed, [entry]).decode()
        return self.document(feed, [self.item(feed, entry)]).decode()

    @staticmethod
    def xml_item(raw: bytes) -> str:
        """An injected Open311 request in an XML response: XML as given, JSON converted."""
        text = raw.decode("utf-8", "replace").strip()
        if text.startswith("<"):
            return text
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return f"<request>{text}</request>"
        return open311.request_xml(obj) if isinstance(obj, dict) else f"<request>{text}</request>"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
