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


# --- Events built from Exact candidates -------------------------------------------------------

from datetime import UTC, datetime, timedelta, timezone  # noqa: E402
from typing import Any  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from feeds import event as event_module  # noqa: E402
from feeds.adapters.base import Exact, normalise  # noqa: E402
from feeds.event import Category, Event, Kind, Status, construct_event  # noqa: E402

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=8), "Asia/Shanghai"),
                         timezone(timedelta(hours=-5, minutes=-30)), timezone(timedelta(0))])
TIMES = st.builds(lambda d, z: d.replace(tzinfo=z), st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1)), ZONES)
SHORT = st.text(max_size=20)
LOCATIONS = st.fixed_dictionaries({}, optional={
    "lat": st.floats(-90, 90), "lon": st.floats(-180, 180), "adcode": st.from_regex(r"\A[0-9]{6}\Z"),
    "town": st.from_regex(r"\A[0-9]{9}\Z"), "village": st.text(max_size=64), "grid": st.text(max_size=64),
    "address": st.text(max_size=200)})
ATTRS = st.dictionaries(st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.floats() | SHORT
                        | st.lists(SHORT, max_size=2) | st.dictionaries(SHORT, SHORT, max_size=2), max_size=4)
EXACT_VALUES = st.fixed_dictionaries({
    "event_id": st.text(min_size=8, max_size=64), "case_id": st.text(min_size=1, max_size=128),
    "source": st.from_regex(r"\A[a-z0-9]{2,8}\Z"), "kind": st.sampled_from([k.value for k in Kind]),
    "status": st.sampled_from([s.value for s in Status]), "category": st.sampled_from([c.value for c in Category]),
    "occurred_at": TIMES, "ingested_at": TIMES,
}, optional={"priority": st.integers(1, 4), "reported_at": TIMES | st.none(), "location": LOCATIONS | st.none(),
             "department": st.text(max_size=100) | st.none(), "summary": st.text(max_size=500), "attrs": ATTRS})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXACT_VALUES)
def test_construct_event_builds_what_pydantic_validates(values: dict[str, Any]) -> None:
    built, validated = construct_event(dict(values)), Event.model_validate(dict(values))
    assert built == validated
    assert built.to_json() == validated.to_json() == validated.model_dump_json(by_alias=True).encode()
    assert list(built.__dict__) == list(validated.__dict__)
    assert [type(v) for v in built.__dict__.values()] == [type(v) for v in validated.__dict__.values()]
    assert built.model_dump() == validated.model_dump()
    assert built.model_fields_set == validated.model_fields_set
    assert repr(built) == repr(validated)
    if validated.location is not None:
        assert built.location is not None and list(built.location.__dict__.items()) == list(
            validated.location.__dict__.items())
        assert built.location.model_fields_set == validated.location.model_fields_set


def test_the_exact_path_knows_the_models() -> None:
    """construct_event and the adapters' Exact checks are written for these fields and constraints.
    A change to Event or Location switches them off (everything goes through pydantic again) until
    the adapters' fast paths are checked against it and event._SHAPE updated to the new shape."""
    assert event_module.EXACT_SUPPORTED, "Event/Location changed: review Exact candidates, then event._SHAPE"


def test_a_changed_model_switches_the_exact_path_off(monkeypatch) -> None:
    monkeypatch.setitem(event_module._SHAPE, "Event.summary", ("str", ("MaxLen(max_length=400)",)))
    assert not event_module._exact_supported()


def test_an_exact_candidate_and_a_plain_one_normalise_alike() -> None:
    candidate = {"event_id": "wg-0123456789", "case_id": "wg:1", "source": "wg", "kind": "case",
                 "status": "reported", "category": "dispute", "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
                 "summary": "报警人张三称 13812345678 " + "长" * 600, "department": "部" * 120,
                 "location": {"address": "路" * 300, "lat": 22.5, "lon": 113.1},
                 "attrs": {"caller_name": "李四", "caller_phone": "13912345678"}}
    ts = datetime(2026, 1, 2, tzinfo=UTC)
    built, validated = normalise(Exact(candidate), ts), normalise(candidate, ts)
    assert isinstance(built, Event) and built == validated and built.to_json() == validated.to_json()
    assert "13812345678" not in built.summary and built.attrs["caller_name"] == "李*"
    assert len(built.summary) == 500 and len(built.department or "") == 100


def _reference_event_id(source: str, *parts: object) -> str:
    import hashlib

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
    from feeds.event import make_event_id

    assert make_event_id(source, *parts) == _reference_event_id(source, *parts)
