"""Poll responses of the HTTP upstreams, built under the simulator's lock.

Each function returns the body for one request; ``spoil`` (the ``garbage`` fault's "invalid
values" variant) corrupts every record before it is rendered. Versions included in a clean
response are recorded as served (the ledger); injected records waiting for a poll are added to
the next response whatever its window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from feeds.simulator import garbage
from feeds.simulator.engine import Simulator
from feeds.simulator.formats import cap, open311, typhoon
from feeds.simulator.formats.documents import Raw
from feeds.simulator.ledger import Entry, FeedLog
from feeds.simulator.simtime import parse_time

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
RSS_ITEMS = 500


def limit_of(args: Mapping[str, str], *names: str) -> int:
    for name in names:
        value = args.get(name)
        if value and value.strip().isdigit():
            return max(1, min(int(value), MAX_LIMIT))
    return DEFAULT_LIMIT


def _with_pending(log: FeedLog, entries: list[Entry], clean: bool) -> list[Entry]:
    """Injected records waiting for a poll join a clean response, whatever its window."""
    if not clean:
        return entries
    seqs = {e.seq for e in entries}
    return entries + [p for p in log.take_pending() if p.seq not in seqs]


def _items(sim: Simulator, feed: str, entries: list[Entry], spoil: bool, **kw: Any) -> list[Any]:
    out = []
    for e in entries:
        if e.raw is not None:
            out.append(Raw(e.raw))
        else:
            rec = sim.renderer.record(feed, e, **kw)
            out.append(garbage.spoil(rec) if spoil else rec)
    return out


def open311_requests(sim: Simulator, feed: str, fmt: str, args: Mapping[str, str], kind: str | None) -> bytes:
    """Each request's current version, ordered by updated_datetime, one page."""
    log = sim.store.logs[feed]
    rows = log.current_sorted(parse_time(args.get("updated_after")), parse_time(args.get("updated_before")))
    size = limit_of(args, "page_size", "limit")
    page = int(args["page"]) if args.get("page", "").isdigit() and int(args["page"]) > 0 else 1
    entries = _with_pending(log, rows[(page - 1) * size: page * size], kind is None)
    extensions = args.get("extensions", "true").lower() not in ("false", "0", "no")
    if kind is None:
        log.mark_served(entries)
    spoil = kind == "values"
    if fmt == "xml":
        return open311.document_xml([_xml_item(sim, feed, e, spoil, extensions) for e in entries])
    return sim.renderer.document(feed, _items(sim, feed, entries, spoil, extensions=extensions))


def _xml_item(sim: Simulator, feed: str, e: Entry, spoil: bool, extensions: bool) -> str:
    if e.raw is not None:
        return sim.renderer.xml_item(e.raw)
    rec = sim.renderer.record(feed, e, extensions)
    return open311.request_xml(garbage.spoil(rec) if spoil else rec)


def windowed(sim: Simulator, feed: str, args: Mapping[str, str], kind: str | None) -> bytes:
    """CAD and JSON feeds: every version with time >= since, oldest first, up to limit."""
    log = sim.store.logs[feed]
    entries = _with_pending(log, log.since(parse_time(args.get("since")), limit_of(args, "limit")), kind is None)
    if kind is None:
        log.mark_served(entries)
    return sim.renderer.document(feed, _items(sim, feed, entries, kind == "values"))


def typhoon_active(sim: Simulator, kind: str | None) -> bytes:
    """The active storm(s) with all their fixes so far, plus injected storm objects."""
    log = sim.store.logs["tf"]
    storms = sim.model.storms.active(sim.now)
    objs: list[Any] = [typhoon.storm_object(s, sim.now) for s in storms]
    if kind == "values":
        objs = [{**o, "points": [{**garbage.spoil(p), "time": "??", "lat": 999} for p in o["points"]]}
                for o in objs]
    if kind is not None:
        return sim.renderer.document("tf", objs)
    ids = {id(s) for s in storms}
    log.mark_served(e for e in log.entries if e.fact is not None and id(e.fact.storm) in ids)
    pending = log.take_pending()
    log.mark_served(pending)
    return sim.renderer.document("tf", objs + [Raw(p.raw) for p in pending if p.raw is not None])


def rss(sim: Simulator, base: str, kind: str | None) -> bytes:
    """The RSS index of the retained CAP messages, newest first."""
    log = sim.store.logs["qx"]
    if kind is None:
        log.take_pending()  # injected alerts are listed like any other
    newest = list(reversed(log.entries[-RSS_ITEMS:]))
    # with the garbage fault's "values" turn the index stays valid: the CAP documents it links to
    # are what come back malformed (see ``alert``)
    return cap.rss([(e.key, _title(sim, e), e.time) for e in newest], base, sim.city)


def _title(sim: Simulator, e: Entry) -> str:
    if e.raw is not None:
        m = re.search(rb"<headline>(.*?)</headline>", e.raw, re.S)
        return m.group(1).decode("utf-8", "replace") if m else e.key
    return cap.headline(e.fact, sim.city)


def alert(sim: Simulator, identifier: str, kind: str | None) -> bytes | None:
    log = sim.store.logs["qx"]
    entry = log.current.get(identifier)
    if entry is None:
        return None
    body = entry.raw if entry.raw is not None else sim.renderer.record("qx", entry)
    if kind == "values":
        body = re.sub(rb"<sent>.*?</sent>", b"<sent>not-a-time</sent>", body)
        return re.sub(rb"<polygon>.*?</polygon>", b"<polygon>999,999 999,999 999,999</polygon>", body)
    if kind is None:
        log.mark_served([entry])
    return body


def cap_identifier(body: bytes, fallback: str) -> str:
    m = re.search(rb"<(?:\w+:)?identifier>\s*([^<\s]+)\s*</(?:\w+:)?identifier>", body)
    ident = m.group(1).decode("utf-8", "replace") if m else fallback
    return re.sub(r"[^\w.\-]", "_", ident) or fallback
