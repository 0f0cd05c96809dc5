"""The poller writes one batch while it normalises the next, and keeps the crash-safety rule: at
most one batch in flight, a batch's cursor saved only once its replies are in, so a crash repeats
at most one batch (which dedup drops). tests/test_e2e_ingest.py kills real workers; these tests
watch the order of the steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from dashboard.bench.throughput import _records
from dashboard.contract.systems import Feed
from feeds import transports as tp
from feeds.pipeline import Pipeline
from feeds.poller import FeedPoller, IngestContext
from feeds.sink import PendingWrite, StreamSink

FEED = Feed(code="12345", name="12345", adapter="open311", transport="sql", endpoint="unused", interval_s=5)
PER_PAGE = 40


def _pages(n: int) -> list[bytes]:
    records = orjson.loads(b"".join(_records(PER_PAGE * n)).replace(b"][", b","))
    return [orjson.dumps(records[i : i + PER_PAGE]) for i in range(0, len(records), PER_PAGE)]


@pytest.fixture
def poller(r, keys, settings) -> Iterator[FeedPoller]:
    with httpx.Client() as http:
        ctx = IngestContext(settings, r, keys, StreamSink(r, keys, settings), Pipeline(None), http, "test")
        yield FeedPoller(FEED, ctx)


def _watch(poller: FeedPoller, monkeypatch: pytest.MonkeyPatch, strict: bool = True) -> list[tuple[str, Any]]:
    """Record normalise/send/result/cursor steps, checking (when strict) on every send and cursor
    save that no batch is in flight."""
    log: list[tuple[str, Any]] = []
    in_flight: list[PendingWrite] = []
    sink, real_send, real_result = poller.ctx.sink, poller.ctx.sink.send, PendingWrite.result
    real_normalise, real_save = poller._normalise, poller._save_cursor

    def send(feed: str, items: Any) -> PendingWrite:
        assert not (strict and in_flight), "a batch was sent while another was in flight"
        pending = real_send(feed, items)
        in_flight.append(pending)
        log.append(("send", None))
        return pending

    def result(self: PendingWrite) -> Any:
        res = real_result(self)
        if self in in_flight:
            in_flight.remove(self)
        log.append(("result", res.added))
        return res

    def normalise(batch: tp.Batch) -> Any:
        log.append(("normalise", batch.cursor.get("page")))
        return real_normalise(batch)

    def save(values: dict[str, str]) -> None:
        assert not (strict and in_flight), "a cursor was saved while its batch was in flight"
        log.append(("cursor", values.get("page")))
        real_save(values)

    monkeypatch.setattr(sink, "send", send)
    monkeypatch.setattr(PendingWrite, "result", result)
    monkeypatch.setattr(poller, "_normalise", normalise)
    monkeypatch.setattr(poller, "_save_cursor", save)
    return log


def test_the_next_batch_is_normalised_while_one_is_in_flight(poller, monkeypatch, r, keys):
    log = _watch(poller, monkeypatch)
    pages = _pages(3)
    res = poller.ingest(tp.Batch("open311", p, cursor={"page": str(i)}) for i, p in enumerate(pages))
    assert res.written.added == 3 * PER_PAGE
    assert log == [
        ("normalise", "0"), ("send", None),
        ("normalise", "1"), ("result", PER_PAGE), ("cursor", "0"), ("send", None),
        ("normalise", "2"), ("result", PER_PAGE), ("cursor", "1"), ("send", None),
        ("result", PER_PAGE), ("cursor", "2"),
    ]
    assert r.xlen(keys.stream("12345")) == 3 * PER_PAGE
    assert r.hget(keys.cursor("12345"), "page") == b"2"


def test_a_failed_fetch_still_finishes_the_batch_in_flight(poller, monkeypatch, r, keys):
    log = _watch(poller, monkeypatch)
    pages = _pages(2)

    def batches() -> Iterator[tp.Batch]:
        yield tp.Batch("open311", pages[0], cursor={"page": "0"})
        raise tp.UpstreamError("page 2: timeout")

    with pytest.raises(tp.UpstreamError):
        poller.ingest(batches())
    assert log == [("normalise", "0"), ("send", None), ("result", PER_PAGE), ("cursor", "0")]
    assert r.xlen(keys.stream("12345")) == PER_PAGE and r.hget(keys.cursor("12345"), "page") == b"0"


def test_a_crash_at_any_step_repeats_at_most_one_batch(poller, monkeypatch, r, keys):
    """Stop the pass before each step in turn (as kill -9 would: nothing after it runs), then poll
    again from the saved cursor: at most one batch is written twice (dedup drops it), none is lost."""
    pages = _pages(4)
    steps = len(_watch_steps(poller, monkeypatch, pages, r, keys))
    for crash_at in range(steps):
        r.delete(keys.stream("12345"), keys.seen("12345"), keys.cursor("12345"), keys.counters("12345"))
        with monkeypatch.context() as m:
            _crash_after(poller, m, crash_at)
            with pytest.raises(_Crash):
                poller.ingest(tp.Batch("open311", p, cursor={"page": str(i)}) for i, p in enumerate(pages))
        saved = r.hget(keys.cursor("12345"), "page")
        start = 0 if saved is None else int(saved) + 1
        again = poller.ingest(tp.Batch("open311", p, cursor={"page": str(i)}) for i, p in enumerate(pages)
                              if i >= start)
        assert r.xlen(keys.stream("12345")) == 4 * PER_PAGE, crash_at  # nothing lost, nothing twice
        assert again.written.duplicates <= PER_PAGE, crash_at  # at most one batch repeated


class _Crash(BaseException):
    """Stands for kill -9: raised past every handler, and PendingWrite.result is never reached."""


def _watch_steps(poller: FeedPoller, monkeypatch: pytest.MonkeyPatch, pages: list[bytes], r: Any,
                 keys: Any) -> list[tuple[str, Any]]:
    with monkeypatch.context() as m:
        log = _watch(poller, m, strict=False)  # only counting: the replays below are the check
        poller.ingest(tp.Batch("open311", p, cursor={"page": str(i)}) for i, p in enumerate(pages))
    return log


def _crash_after(poller: FeedPoller, monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    count = {"n": 0}
    sink, real_send, real_result = poller.ctx.sink, poller.ctx.sink.send, PendingWrite.result
    real_normalise, real_save = poller._normalise, poller._save_cursor

    def step() -> None:
        if count["n"] == steps:
            # what a killed process leaves: replies unread, the connection dropped, no finally clause
            monkeypatch.setattr(PendingWrite, "result", _crashed_result)
            raise _Crash
        count["n"] += 1

    def send(feed: str, items: Any) -> PendingWrite:
        step()
        return real_send(feed, items)

    def result(self: PendingWrite) -> Any:
        step()
        return real_result(self)

    def normalise(batch: tp.Batch) -> Any:
        step()
        return real_normalise(batch)

    def save(values: dict[str, str]) -> None:
        step()
        real_save(values)

    monkeypatch.setattr(sink, "send", send)
    monkeypatch.setattr(PendingWrite, "result", result)
    monkeypatch.setattr(poller, "_normalise", normalise)
    monkeypatch.setattr(poller, "_save_cursor", save)


def _crashed_result(self: PendingWrite) -> Any:
    conn, self._conn = self._conn, None
    if conn is not None:  # the replies are never read; Redis runs whatever it had received
        conn.disconnect()
        self._sink.r.connection_pool.release(conn)
    raise _Crash


def test_drop_files_are_finished_one_by_one(poller, monkeypatch):
    """The folder transport skips a file whose digest is remembered: it is read only after the file
    before it was written and remembered."""
    log = _watch(poller, monkeypatch)
    pages = _pages(2)
    done: list[int] = []

    def batches() -> Iterator[tp.Batch]:
        for i, p in enumerate(pages):
            log.append(("fetch", str(i)))
            yield tp.Batch("open311", p, on_written=lambda failed, i=i: done.append(i))

    poller.ingest(batches())
    assert log == [("fetch", "0"), ("normalise", None), ("send", None), ("result", PER_PAGE),
                   ("fetch", "1"), ("normalise", None), ("send", None), ("result", PER_PAGE)]
    assert done == [0, 1]


def test_the_cursor_is_the_newest_time_not_too_far_ahead(poller, r, keys):
    """A record dated more than FUTURE_SKEW ahead never moves the cursor; the newest of the others does,
    and an older page never moves it back."""
    from datetime import timedelta

    from dashboard.contract.event import BEIJING
    from feeds.poller import FUTURE_SKEW

    now = poller.ctx.now().astimezone(BEIJING).replace(microsecond=0)
    times = [now - timedelta(hours=2), now + FUTURE_SKEW + timedelta(days=1), now - timedelta(hours=1),
             now - timedelta(hours=3)]
    records = [{"service_request_id": f"F{i}", "status": "open", "updated_datetime": t.isoformat(),
                "extended_attributes": {"district_code": "440703"}} for i, t in enumerate(times)]
    http_feed = Feed(code="12345", name="12345", adapter="open311", transport="http", endpoint="unused",
                     interval_s=5)
    p = FeedPoller(http_feed, poller.ctx)
    p.ingest([tp.Batch("open311", orjson.dumps(records))])
    assert r.hget(keys.cursor("12345"), "since") == tp.iso(now - timedelta(hours=1)).encode()
    p.ingest([tp.Batch("open311", orjson.dumps(records[3:]))])  # older only: the cursor stays
    assert r.hget(keys.cursor("12345"), "since") == tp.iso(now - timedelta(hours=1)).encode()
    only_garbage = [{**records[1], "service_request_id": "G"}]
    fresh = FeedPoller(http_feed, poller.ctx)
    r.delete(keys.cursor("12345"))
    fresh.ingest([tp.Batch("open311", orjson.dumps(only_garbage))])
    assert r.hget(keys.cursor("12345"), "since") is None
