"""The whole ingest path with real processes: simulator of the 21 systems → ingest → Redis."""

from __future__ import annotations

import base64
import random
import re
import signal
import time
from collections.abc import Iterator

import orjson
import pytest

from dashboard.contract.event import Event
from feeds.ingest import IngestWorker
from feeds.pipeline import Pipeline
from tests.e2e import Stack, wait_until

pytestmark = pytest.mark.slow

PHONE = "13987654321"
ID_NO = "440781198805051237"
NAME = "司马光明"


# the feeds that see a record an hour or less at night (office hours, 60 to 300 a day): at these
# volumes every stream grows within seconds at any hour, as the typhoon track's next fix takes ~30 s
RARE = ("xf", "tj", "aj", "mz", "qy117", "cg", "wj")


@pytest.fixture
def stack(request, tmp_path, prefix, r) -> Iterator[Stack]:
    volumes = [a for code in getattr(request, "param", ()) for a in ("--volume", f"{code}=3000")]
    s = Stack(tmp_path, prefix, sim_args=tuple(volumes))
    try:
        yield s
    finally:
        s.close()


def _states(stack: Stack) -> dict[str, str]:
    return {f["code"]: f["state"] for f in stack.status()["feeds"]}


@pytest.mark.parametrize("stack", [RARE], indirect=True, ids=["rare-feeds-busier"])
def test_all_21_feeds_flow_and_one_broken_feed_stays_apart(stack: Stack):
    stack.start_ingest()
    wait_until(lambda: set(_states(stack).values()) == {"ok"}, 60, what="all 21 feeds ok")
    first = stack.lengths()
    assert len(first) == 21 and all(n > 0 for n in first.values()), first

    # 110 goes down: degraded within two polls (interval 3 s), the other 20 keep flowing
    before = stack.lengths()
    stack.control("110/fault", {"mode": "down"})
    broke = time.monotonic()
    wait_until(lambda: _states(stack)["110"] != "ok", 2 * stack.feeds["110"].interval_s + 2, every=0.2,
               what="110 degraded within two polls")
    others = {c: s for c, s in _states(stack).items() if c != "110"}
    assert set(others.values()) == {"ok"}, others
    wait_until(lambda: sum(n for c, n in stack.lengths().items() if c != "110")
               > sum(n for c, n in before.items() if c != "110") + 50, 20, what="the others to keep flowing")
    assert stack.status()["feeds"][0]["last_error"].startswith("UpstreamError: HTTP 503")
    time.sleep(max(0.0, 6 - (time.monotonic() - broke)))

    # mended: recovers by itself (backoff is capped at 6 s here)
    stack.control("110/fault", {"mode": "ok"})
    n110 = stack.lengths()["110"]
    wait_until(lambda: _states(stack)["110"] == "ok" and stack.lengths()["110"] > n110, 20,
               what="110 to recover by itself")
    # and all the while every stream grew (the typhoon track's next fix is the last, ~30 s after the start)
    wait_until(lambda: all(n > first[c] for c, n in stack.lengths().items()), 60, what="every stream to grow")


def _ledger_event_ids(stack: Stack, code: str) -> set[str]:
    """Event ids of every record version the simulator served, parsed by the feed's own adapter."""
    feed = stack.feeds[code]
    ledger = stack.http.get(f"/_control/{code}/ledger").json()
    pipeline, ids = Pipeline(stack.settings.city_adcode), set()
    for payload in ledger["payloads"]:
        body = base64.b64decode(payload) if ledger.get("encoding") == "base64" else payload.encode()
        for item in pipeline.run(feed.adapter if feed.adapter != "sql" else "sql", body,
                                 feed.adapter_options()):
            if isinstance(item, Event):
                ids.add(item.event_id)
    return ids


def test_kill_9_during_traffic_loses_nothing_and_duplicates_nothing(stack: Stack):
    rnd = random.Random(9)
    for _ in range(3):
        p = stack.start_ingest()
        time.sleep(rnd.uniform(3, 7))
        p.send_signal(signal.SIGKILL)
        p.wait()
    final = stack.start_ingest()
    time.sleep(8)
    stack.control("pause")
    final.send_signal(signal.SIGTERM)
    final.wait(15)
    worker = IngestWorker(stack.settings, stack.feeds)
    try:
        # catch up with whatever the last worker had not polled yet: until a pass adds nothing (on a
        # loaded machine the last worker can be several pages behind, more than a fixed two passes)
        before = None
        for _ in range(10):
            worker.run_once()
            after = stack.lengths()
            if after == before:
                break
            before = after
    finally:
        worker.close()
    missing_total = 0
    for code in stack.feeds:
        ids = stack.stream_ids(code)
        assert len(ids) == len(set(ids)), f"{code}: duplicate event ids in the stream"
        served = _ledger_event_ids(stack, code)
        assert served, f"{code}: the simulator served nothing"
        missing = served - {i.decode() for i in ids}
        missing_total += len(missing)
        assert not missing, f"{code}: {len(missing)} of {len(served)} served events missing"
    assert missing_total == 0


def _pii_records(sim_time: str) -> dict[str, bytes]:
    naive = sim_time[:19].replace("T", " ")
    text = f"报警人{NAME}称家中被盗，联系电话{PHONE}，身份证{ID_NO}"
    return {
        "12345": orjson.dumps({
            "service_request_id": "PII-1", "status": "open", "service_name": "求助", "description": text,
            "requested_datetime": sim_time, "updated_datetime": sim_time, "lat": 22.58, "long": 113.08,
            "extended_attributes": {"caller_name": NAME, "caller_phone": PHONE, "district_code": "440703"}}),
        "110": orjson.dumps({
            "eidoMessageIdentifier": "m-pii", "lastUpdateTimeStamp": sim_time,
            "incidentComponent": {"incidentTrackingIdentifier": "110-PII-1",
                                  "incidentTypeCommonRegistryText": "Police.Theft",
                                  "incidentStatusCommonRegistryText": "Created", "incidentPriority": 2,
                                  "incidentCreationTimeStamp": sim_time},
            "locationComponent": [{"locationByValue": {"type": "Point", "coordinates": [113.08, 22.58]},
                                   "civicAddressText": "蓬江区白沙街道建设路8号"}],
            "callComponent": [{"callerName": NAME, "callbackNumber": PHONE}],
            "notesComponent": [{"noteText": text}]}),
        "wg": orjson.dumps({
            "reportId": "WG-PII-1", "status": "10", "eventType": "02", "updateTime": naive, "reportTime": naive,
            "content": text, "partyName": NAME, "partyPhone": PHONE, "partyIdCard": ID_NO,
            "reporterName": NAME, "reporterPhone": PHONE, "districtCode": "440703"}),
        "xf": orjson.dumps({
            "petition_no": "XF-PII-1", "status_code": "01", "updated_at": sim_time, "register_time": sim_time,
            "content": text, "petitioner_name": NAME, "petitioner_phone": PHONE, "petitioner_id_card": ID_NO,
            "district_code": "440703"}),
        "sj": orjson.dumps({"投诉编号": "SJ-PII-1", "状态": "待分流", "更新时间": naive, "登记时间": naive,
                            "投诉内容": text, "所属区县": "440703"}),
    }


def _all_values(r, prefix: str) -> Iterator[bytes]:
    for key in r.scan_iter(match=f"{prefix}:*", count=1000):
        t = r.type(key)
        if t == b"stream":
            for _, fields in r.xrange(key):
                yield from fields.values()
        elif t == b"hash":
            yield from r.hgetall(key).values()
        elif t == b"zset":
            yield from (m for m, _ in r.zrange(key, 0, -1, withscores=True))
        elif t == b"string":
            yield r.get(key)
        elif t in (b"set", b"list"):
            yield from (r.smembers(key) if t == b"set" else r.lrange(key, 0, -1))


def test_injected_personal_data_never_reaches_redis_or_logs(stack: Stack, prefix, r):
    stack.start_ingest()
    sim_time = stack.sim_status()["sim_time"]
    for code, raw in _pii_records(sim_time).items():
        stack.inject(code, raw)
    stack.inject("12345", b'{"service_request_id": "PII-2", "status": "??", "description": "' +
                 f"来电{PHONE} {ID_NO}".encode() + b'"}')  # a reject: its raw copy must be masked too

    def landed() -> bool:
        blob = b"\n".join(_all_values(r, prefix))
        return all(f"{c}-PII".encode() in blob or f"{c}:PII".encode() in blob
                   for c in ("12345", "110")) and b"WG-PII-1" in blob and b"XF-PII-1" in blob \
            and b"SJ-PII-1" in blob and r.xlen(stack.keys.dead) > 0

    wait_until(landed, 40, what="the injected records in Redis")
    blob = b"\n".join(_all_values(r, prefix))
    for secret in (PHONE, ID_NO, NAME):
        assert secret.encode() not in blob, f"raw {secret} found in Redis"
    assert b"139****4321" in blob
    logs = stack.logs()
    for secret in (PHONE, ID_NO, NAME):
        assert secret not in logs


def test_garbage_from_an_upstream_goes_to_dead_letters_and_the_worker_lives(stack: Stack):
    p = stack.start_ingest()
    wait_until(lambda: _states(stack)["wg"] == "ok", 40, what="wg ok")
    for code in ("wg", "110", "12345", "qx", "tf", "xf", "sj"):
        stack.control(f"{code}/fault", {"mode": "garbage"})

    def dead_feeds() -> set[str]:
        return {f[b"feed"].decode() for _, f in stack.r.xrange(stack.keys.dead)}

    # wait for the feeds, not for a count: the 1 s CAD feeds alone reach any count first
    wait_until(lambda: {"wg", "110", "12345"} <= dead_feeds(), 40, what="rejects in the dead-letter stream")
    assert p.poll() is None, "the ingest worker died on garbage"
    dead = stack.r.xrange(stack.keys.dead)
    assert all(re.match(rb"^[\w.\[\]-]+(:| )", f[b"reason"]) for _, f in dead), [f[b"reason"] for _, f in dead]
    for code in ("wg", "110", "12345", "qx", "tf", "xf", "sj"):
        stack.control(f"{code}/fault", {"mode": "ok"})
    wait_until(lambda: set(_states(stack).values()) == {"ok"}, 40, what="all feeds ok again")


def test_two_ingest_processes_share_the_feeds_and_take_over(stack: Stack):
    a = stack.start_ingest()
    b = stack.start_ingest()
    wait_until(lambda: set(_states(stack).values()) == {"ok"}, 60, what="all feeds ok")
    owners = {f["code"]: f["worker"] for f in stack.status()["feeds"]}
    assert len(set(owners.values())) in (1, 2)
    victim = a.pid
    a.send_signal(signal.SIGKILL)
    a.wait()

    def taken_over() -> bool:
        feeds = stack.status()["feeds"]
        return all(f["state"] == "ok" and f":{victim}:" not in (f["worker"] or "") for f in feeds)

    wait_until(taken_over, 30, what="the survivor to take over every feed")
    assert b.poll() is None
    for code in stack.feeds:
        ids = stack.stream_ids(code)
        assert len(ids) == len(set(ids)), code
