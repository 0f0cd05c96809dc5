import threading
from datetime import UTC, datetime

import redis
from redis.connection import Connection

from dashboard.contract.event import make_event_id
from feeds.adapters.base import Reject, normalise
from feeds.sink import StreamSink


def ev(i: int, source: str = "12345"):
    e = normalise({
        "event_id": make_event_id(source, i), "case_id": f"{source}:{i}", "source": source, "kind": "case",
        "status": "reported", "category": "public_service",
        "occurred_at": datetime(2026, 11, 22, 1, 0, i % 60, tzinfo=UTC), "summary": "电话13812345678",
    })
    assert not isinstance(e, Reject)
    return e


def test_dedup_across_batches_and_retries(r, keys, settings):
    sink = StreamSink(r, keys, settings)
    first = sink.write_events("12345", [ev(i) for i in range(10)])
    again = sink.write_events("12345", [ev(i) for i in range(5, 15)])
    assert (first.added, first.duplicates) == (10, 0)
    assert (again.added, again.duplicates) == (5, 5)
    ids = [f[b"id"] for _, f in r.xrange(keys.stream("12345"))]
    assert len(ids) == len(set(ids)) == 15
    body = r.xrange(keys.stream("12345"), count=1)[0][1][b"e"].decode()
    assert "13812345678" not in body and "138****5678" in body


def test_concurrent_writers_never_duplicate(r, keys, settings):
    settings.batch_size = 7
    sink = StreamSink(r, keys, settings)
    events = [ev(i) for i in range(300)]
    threads = [threading.Thread(target=sink.write_events, args=("12345", events)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [f[b"id"] for _, f in r.xrange(keys.stream("12345"))]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert int(r.hget(keys.counters("12345"), "duplicates")) == 900


def test_rejects_go_to_dead_letters_masked_and_capped(r, keys, settings):
    settings.dead_raw_bytes = 64
    sink = StreamSink(r, keys, settings)
    raw = "报警人张三 13812345678 440703199001011234 " + "x" * 500
    n = sink.write_rejects("110", [Reject("lat: out of range", raw=raw, record_key="110:1")])
    assert n == 1
    (_, f), = r.xrange(keys.dead)
    assert f[b"feed"] == b"110" and f[b"reason"] == b"lat: out of range"
    assert len(f[b"raw"]) <= 64 and int(f[b"raw_bytes"]) > 500
    for secret in (b"13812345678", b"440703199001011234", "张三".encode()):
        assert secret not in f[b"raw"]


def test_trim_by_age(r, keys, settings):
    sink = StreamSink(r, keys, settings)
    r.xadd(keys.stream("hb"), {"id": "old", "e": "{}"}, id="1000-0")
    sink.write_events("hb", [ev(1, "hb")])
    settings.stream_retention_h = 1
    sink.trim_by_age("hb")
    ids = [f[b"id"] for _, f in r.xrange(keys.stream("hb"))]
    assert b"old" not in ids and len(ids) == 1


def test_a_batch_goes_in_slices_in_order_with_dedup_across_them(r, keys, settings):
    """Slices of one batch are pipelined: every event once, in order, duplicates counted."""
    from feeds.sink import SLICE

    sink = StreamSink(r, keys, settings)
    n = 2 * SLICE + 50
    events = [ev(i) for i in range(n)]
    batch = events + [events[3], events[SLICE + 1], events[-1]]  # repeats land in later slices
    res = sink.write_events("12345", batch)
    assert (res.added, res.duplicates) == (n, 3)
    ids = [f[b"id"] for _, f in r.xrange(keys.stream("12345"))]
    assert ids == [e.event_id.encode() for e in events]
    counters = r.hgetall(keys.counters("12345"))
    assert (int(counters[b"events"]), int(counters[b"duplicates"])) == (n, 3)
    again = sink.write_events("12345", events[::-1])
    assert (again.added, again.duplicates) == (0, n)


def test_an_unknown_script_is_loaded_and_the_batch_still_written(r, keys, settings):
    from feeds.sink import SLICE

    sink = StreamSink(r, keys, settings)
    sink._script.sha = "0" * 40  # as after SCRIPT FLUSH or a failover: NOSCRIPT for every slice
    res = sink.write_events("12345", [ev(i) for i in range(SLICE + 5)])
    assert res.added == SLICE + 5 and r.xlen(keys.stream("12345")) == SLICE + 5


def test_a_connection_lost_mid_batch_writes_every_event_once(r, keys, settings, monkeypatch):
    from feeds.sink import SLICE

    sent = []
    real = Connection.send_command

    def flaky(self, *args, **kwargs):
        sent.append(args[0])
        if len(sent) == 2:
            raise redis.ConnectionError("lost")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_command", flaky)
    sink = StreamSink(r, keys, settings)
    events = [ev(i) for i in range(3 * SLICE)]
    res = sink.write_events("12345", events)
    monkeypatch.undo()
    ids = [f[b"id"] for _, f in r.xrange(keys.stream("12345"))]
    assert ids == [e.event_id.encode() for e in events]
    assert res.added + res.duplicates == 3 * SLICE and res.added >= 2 * SLICE
    assert sink.write_events("12345", events).added == 0
