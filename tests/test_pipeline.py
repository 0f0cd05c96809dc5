"""The ingest path of one payload: an adapter bug must not kill the worker or leak personal data
into logs (the payload is kept); normalise masks, clips and validates; the stored JSON and the
event ids stay what they were."""

import hashlib
import logging
import sys
import types
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dashboard.bench.throughput import _records
from dashboard.contract.event import Event, Status, make_event_id
from feeds import adapters
from feeds.adapters.base import Reject, normalise
from feeds.pipeline import Pipeline
from feeds.sink import StreamSink

BEIJING = timezone(timedelta(hours=8))
# sha256 of the bench's 2,000 work orders as stored by the code before issue 12 (see the test)
BENCH_DIGEST = "3f4c9108cb9255c13879212c3933f20a8cdb55ef95fd63ed74c0f6cf17e50857"


def test_adapter_crash_becomes_a_dead_letter_and_a_masked_log(monkeypatch, caplog, r, keys, settings):
    def broken(payload, options):
        yield {"not": "an event"}
        raise KeyError("13812345678")

    module = types.ModuleType("broken_adapter")
    module.parse = broken
    monkeypatch.setitem(sys.modules, "broken_adapter", module)
    monkeypatch.setitem(adapters._ADAPTERS, "broken", ("broken_adapter", "parse"))
    with caplog.at_level(logging.ERROR):
        items = list(Pipeline(None).run("broken", b"raw record 13912345678", {"source": "wg"}))
    assert [type(i) for i in items] == [Reject, Reject]
    assert items[0].reason.startswith("event_id: ") and items[1].reason.startswith("payload: adapter broken failed")
    res = StreamSink(r, keys, settings).write("wg", items)
    assert res.rejected == 2 and r.xlen(keys.dead) == 2
    assert b"13912345678" not in b"".join(f[b"raw"] for _, f in r.xrange(keys.dead))
    assert "13812345678" not in caplog.text and "138****5678" in caplog.text


def test_a_validation_reject_keeps_no_name_or_number():
    rej = normalise({"event_id": "wg-0123456789", "case_id": "wg:1", "source": "wg", "kind": "case",
                     "status": "reported", "category": "dispute", "occurred_at": datetime.now(UTC),
                     "location": {"lat": 999, "lon": 113.0}, "attrs": {"caller_name": "张三丰",
                                                                        "caller_phone": "13812345678"}})
    assert isinstance(rej, Reject) and rej.reason.startswith("location.lat")
    assert "张三丰" not in rej.raw and "13812345678" not in rej.raw and "张**" in rej.raw


def test_normalise_masks_then_clips():
    candidate = {"event_id": "wg-0123456789", "case_id": "wg:1", "source": "wg", "kind": "case",
                 "status": "reported", "category": "dispute", "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
                 "summary": "报警人张三称 13812345678 " + "长" * 600, "department": "部" * 120,
                 "location": {"address": "路" * 300, "lat": 22.5, "lon": 113.1},
                 "attrs": {"caller_name": "李四", "caller_phone": "13912345678"}}
    event = normalise(candidate, datetime(2026, 1, 2, tzinfo=UTC))
    assert isinstance(event, Event)
    assert "张三" not in event.summary and "138****5678 长" in event.summary and len(event.summary) == 500
    assert event.summary.endswith("…") and len(event.department or "") == 100
    assert event.location is not None and len(event.location.address or "") == 200
    assert event.attrs == {"caller_name": "李*", "caller_phone": "139****5678"}


def test_the_stored_json_is_what_it_always_was():
    """Events in the streams and the archive are read back by other processes: field order, the
    "schema" alias, "Z" for UTC, null for absent location fields and UTF-8 text stay as they were."""
    candidate = {
        "event_id": "12345-0123456789abcdef", "case_id": "12345:GD-1", "source": "12345", "kind": "case",
        "status": "in_progress", "category": "dispute", "priority": 2,
        "occurred_at": datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING),
        "reported_at": datetime(2026, 11, 22, 9, 21, 0, 500000, tzinfo=BEIJING),
        "location": {"lat": 22.58, "lon": 113.08, "adcode": "440703", "address": "蓬江区白沙街道某路1号"},
        "department": "蓬江区白沙街道办", "summary": "楼上噪音扰民，联系人：李四 13900001111",
        "attrs": {"caller_name": "张三", "stages": {"accepted": "2026-11-22T09:40:00+08:00"}, "redo_count": 0,
                  "ok": True, "x": None, "f": 0.1},
    }
    event = normalise(candidate, datetime(2026, 11, 22, 1, 30, 5, tzinfo=UTC))
    assert isinstance(event, Event)
    assert event.to_json().decode() == (
        '{"schema":1,"event_id":"12345-0123456789abcdef","case_id":"12345:GD-1","source":"12345","kind":"case",'
        '"status":"in_progress","category":"dispute","priority":2,"occurred_at":"2026-11-22T09:30:00+08:00",'
        '"reported_at":"2026-11-22T09:21:00.500000+08:00","ingested_at":"2026-11-22T01:30:05Z",'
        '"location":{"lat":22.58,"lon":113.08,"adcode":"440703","town":null,"village":null,"grid":null,'
        '"address":"蓬江区白沙街道某路1号"},"department":"蓬江区白沙街道办",'
        '"summary":"楼上噪音扰民，联系人：李* 139****1111","attrs":{"caller_name":"张*",'
        '"stages":{"accepted":"2026-11-22T09:40:00+08:00"},"redo_count":0,"ok":true,"x":null,"f":0.1}}'
    )


def test_the_benchmark_pages_are_stored_as_before():
    """The bench's 2,000 work orders, through the worker's path, give the bytes the code before
    issue 12 stored (digest taken from that code at the same ingest time)."""
    ts = datetime(2026, 12, 1, tzinfo=UTC)
    digest = hashlib.sha256()
    for page in _records(2000):
        for event in Pipeline("440700").run("open311", page, {"source": "12345"}, ts):
            assert isinstance(event, Event), event
            digest.update(event.to_json() + b"\n")
    assert digest.hexdigest() == BENCH_DIGEST


def _reference_event_id(source: str, *parts: object) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(source.encode())
    for p in parts:
        h.update(b"\x1f")
        h.update(str(p).encode())
    return f"{source}-{h.hexdigest()}"


@given(st.from_regex(r"\A[a-z0-9]{2,8}\Z"),
       st.lists(st.text() | st.integers() | st.none() | st.floats() | st.sampled_from(list(Status)), max_size=4))
def test_event_ids_are_as_they_always_were(source: str, parts: list[Any]) -> None:
    """Ids are stored in the dedup index: the same inputs must give the same id across versions."""
    assert make_event_id(source, *parts) == _reference_event_id(source, *parts)
