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

from dashboard.contract import event as event_module  # noqa: E402
from dashboard.contract.event import Category, Event, Kind, Status, construct_event  # noqa: E402
from feeds.adapters.base import Exact, normalise  # noqa: E402

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
    from dashboard.contract.event import make_event_id

    assert make_event_id(source, *parts) == _reference_event_id(source, *parts)


# --- the stored JSON: orjson where it writes what pydantic writes ------------------------------

import dataclasses  # noqa: E402
import enum  # noqa: E402
import uuid  # noqa: E402
from datetime import date  # noqa: E402
from datetime import time as dtime  # noqa: E402
from decimal import Decimal  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import pytest  # noqa: E402


class _Text(str):
    def __str__(self) -> str:
        return "other"


class _Colour(enum.Enum):
    red = 1


@dataclasses.dataclass
class _Point:
    x: int = 1


ODD_ZONES = ZONES | st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("America/Chicago"),
                                     timezone(timedelta(hours=8, seconds=30)),
                                     timezone(timedelta(hours=-3, minutes=-7, seconds=-1, microseconds=-5))])
ODD_TIMES = st.builds(lambda d, z: d.replace(tzinfo=z), st.datetimes(datetime(1, 1, 2), datetime(9999, 1, 1)),
                      ODD_ZONES)
ODD_VALUES = (st.none() | st.booleans() | st.integers() | st.integers(2**63, 2**70) | st.floats() | SHORT
              | ODD_TIMES | st.datetimes() | st.dates() | st.times() | st.builds(_Text, SHORT) | st.just(_Colour.red)
              | st.just(Kind.case) | st.just(Status.closed) | st.uuids() | st.decimals(allow_nan=False)
              | st.binary(max_size=4) | st.just(_Point()) | st.just((1, "a")) | st.just(frozenset({1})))
ODD_ATTRS = st.dictionaries(st.text(max_size=8), st.recursive(
    ODD_VALUES, lambda c: st.lists(c, max_size=2) | st.dictionaries(SHORT | st.integers(0, 3), c, max_size=2),
    max_leaves=4), max_size=4)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXACT_VALUES, st.one_of(st.none(), ODD_ATTRS), ODD_TIMES, st.one_of(st.none(), ODD_TIMES), st.booleans())
def test_to_json_is_what_pydantic_writes(values: dict[str, Any], attrs: Any, occurred: datetime,
                                         reported: datetime | None, validate: bool) -> None:
    """Event.to_json writes plain events with orjson: byte for byte what pydantic writes, for any
    event, odd attrs (times, enums, subclasses, dataclasses, big ints, …) and odd zones included."""
    values = dict(values)
    if attrs is not None:
        values["attrs"] = attrs
    if validate:
        values.update(occurred_at=occurred, reported_at=reported)
    try:
        ev = Event.model_validate(values) if validate else construct_event(values)
        expected: Any = ev.model_dump_json(by_alias=True).encode()
    except Exception as exc:  # pydantic cannot write it: to_json fails alike
        expected = type(exc)
    try:
        got: Any = ev.to_json()
    except Exception as exc:
        got = type(exc)
    assert got == expected


def test_the_benchmark_events_are_written_by_orjson() -> None:
    from dashboard.bench.throughput import _records
    from feeds.pipeline import Pipeline

    events = [e for page in _records(600) for e in Pipeline(None).run("open311", page, {"source": "12345"})]
    assert events and all(event_module._orjson(e) == e.model_dump_json(by_alias=True).encode() for e in events)


ODD_ATTR_VALUES = [
    datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8, seconds=30))),
    datetime(1900, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")), datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC),
    date(2026, 1, 1), dtime(1, 2, 3), dtime(1, 2, 3, tzinfo=UTC), _Text("x"), _Colour.red, Kind.case, uuid.UUID(int=5),
    Decimal("1.50"), b"ab", _Point(), (1, "a"), frozenset({1}), 2**64, -(2**63) - 1, float("nan"), float("-inf"), 1e16,
    {1: "int key"}, {"a": [datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=-1)))]}, [[[[[[[[[[1]]]]]]]]]],
    "\ud800", "\x00\u2028",
]


@pytest.mark.parametrize("value", ODD_ATTR_VALUES, ids=repr)
@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(hours=8, seconds=30)), ZoneInfo("Asia/Shanghai")], ids=str)
def test_to_json_is_what_pydantic_writes_for_odd_values(value: Any, zone: Any) -> None:
    ev = construct_event({"event_id": "wg-0123456789", "case_id": "wg:1", "source": "wg", "kind": "case",
                          "status": "reported", "category": "dispute", "occurred_at": datetime(1900, 1, 1, tzinfo=zone),
                          "ingested_at": datetime(2026, 1, 1, tzinfo=UTC), "attrs": {"v": value}})
    try:
        expected: Any = ev.model_dump_json(by_alias=True).encode()
    except Exception as exc:
        expected = type(exc)
    try:
        got: Any = ev.to_json()
    except Exception as exc:
        got = type(exc)
    assert got == expected
