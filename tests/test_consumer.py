"""The live worker's readers: one blocking read over every stream of the city, fair between streams,
and an idle worker that waits in Redis instead of asking again and again."""

from __future__ import annotations

import threading

import orjson
import redis

from dashboard.contract.systems import load_feeds
from dashboard.live.consumer import GroupReader
from dashboard.live.worker import LiveWorker


class CountingRedis(redis.Redis):
    """A real client that counts the commands it sends (a pipeline counts as one round trip)."""

    sent = 0

    def execute_command(self, *args, **options):
        type(self).sent += 1
        return super().execute_command(*args, **options)


def _add(r, stream: str, n: int) -> None:
    for i in range(n):
        r.xadd(stream, {"e": orjson.dumps({"n": i})})


def test_one_read_takes_up_to_a_batch_from_every_stream(r, keys):
    streams = [keys.stream(code) for code in ("12345", "110", "wg")]
    reader = GroupReader(r, streams, "g", "c1", batch=4)
    reader.ensure_groups()
    _add(r, streams[0], 10)  # a busy stream does not starve the quiet ones
    _add(r, streams[1], 1)
    _add(r, streams[2], 2)
    got = reader.read()
    assert sorted((e.stream, len([x for x in got if x.stream == e.stream])) for e in got) == sorted(
        [(streams[0], 4)] * 4 + [(streams[1], 1)] + [(streams[2], 2)] * 2)
    reader.ack(got)
    assert [len(reader.read()) for _ in range(3)] == [4, 2, 0]  # the rest of the busy one, a batch at a time;
    # without block_ms a read returns at once


def test_an_idle_read_waits_in_redis_for_the_first_entry(r, keys):
    streams = [keys.stream(code) for code in ("12345", "110")]
    reader = GroupReader(r, streams, "g", "c1")
    reader.ensure_groups()
    writer = threading.Timer(0.2, _add, (redis.Redis(connection_pool=r.connection_pool), streams[1], 1))
    writer.start()
    got = reader.read(block_ms=30_000)  # returns with the entry, long before the block ends
    writer.join()
    assert [e.stream for e in got] == [streams[1]]


def test_an_idle_worker_sends_a_handful_of_commands_a_pass(r, keys, settings):
    """Before, every idle pass asked each of the 21 streams for each of the two groups (42 reads, ten
    passes a second). Now a pass is one blocking read per group and, for the worker that publishes,
    a look at the state's version."""
    client = CountingRedis.from_url(settings.redis_url)
    worker = LiveWorker(settings, load_feeds(settings), name="idle")
    worker.r = client
    worker.live.r = client
    assert worker.archive_reader is not None
    worker.archive_reader.r = client
    try:
        worker.ensure_groups()
        worker.run_once(block_ms=1)  # the first pass claims and beats the heart
        CountingRedis.sent = 0
        for _ in range(5):
            assert worker.run_once(block_ms=1) == 0
        assert worker.leases.holds("live-snapshot")
        assert CountingRedis.sent == 5 * 3, CountingRedis.sent
    finally:
        worker.close()
        client.close()
