"""An adapter bug must not kill the worker or leak personal data into logs; the payload is kept."""

import logging
import sys
import types

from feeds import adapters
from feeds.adapters.base import Reject
from feeds.pipeline import Pipeline
from feeds.sink import StreamSink


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
    from datetime import UTC, datetime

    from feeds.adapters.base import normalise

    rej = normalise({"event_id": "wg-0123456789", "case_id": "wg:1", "source": "wg", "kind": "case",
                     "status": "reported", "category": "dispute", "occurred_at": datetime.now(UTC),
                     "location": {"lat": 999, "lon": 113.0}, "attrs": {"caller_name": "张三丰",
                                                                        "caller_phone": "13812345678"}})
    assert isinstance(rej, Reject) and rej.reason.startswith("location.lat")
    assert "张三丰" not in rej.raw and "13812345678" not in rej.raw and "张**" in rej.raw
