"""The Open311 fast path against the exact one.

The fast path (feeds/adapters/open311.py, "the fast path") reads plain pages and records in fewer
steps and marks its candidates Exact, so normalise builds their Events without validating them a
second time. These tests hold it to the exact path it shortcuts: the same candidates and the same
rejects for any record or page, and Events identical to pydantic's for every Exact candidate.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.bench.throughput import _records
from dashboard.contract.event import Event, now_utc
from feeds.adapters import open311
from feeds.adapters.base import Exact, Reject, normalise
from feeds.adapters.mapping import FieldError, load_json, payload_snippet
from tests.test_adapter_open311 import EXTENDED, _request, _set

EXT = open311.EXT

OPTS = {"source": "12345", "datum": "wgs84"}
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXTS = st.sampled_from([
    "", " ", "null", "NULL", "None", "nil", "Nil ", " open", "open", "OPEN", "closed", "pending", "处理中", "已办结",
    "发呆", "dispute", "aliens", "满意", "还行", "440703", "44070", "４４０７０３", "440703002", "4407030021",
    "x" * 64, "y" * 65, "z" * 130, 'a"b', "a\\b", "联系人：张三 13812345678", "报警人李四称",
    "2026-11-22T09:30:00+08:00",
    "2026-11-22T09:30:00-00:00", "2026-11-22T09:30:00+08:60", "2026-11-22 09:30:00", "2026-11-22T09:30:00Z",
    "2026-11-22T09:30:00.123456+05:30", "2026-11-22T09:30:00.000000+08:00", "2026-W47-7T08:00:00+08:00",
    "20261122T093000+0800", "1900-01-01T00:00:00", "2026-11-22T09:30:00+08:05:43", "true", "0", "22.5",
])
NUMBERS = st.sampled_from([0, 0.0, -0.0, 1, 2, 4, 5, -1, 22.58, 113.08, 90.0, 90.5, -180.0, 181, 2**53 + 1, 2**63,
                           1e308, True, False])
SCALARS = st.none() | TEXTS | NUMBERS | st.text(max_size=12) | st.floats(allow_nan=False, allow_infinity=False)
VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=2) | st.dictionaries(st.text(max_size=6), c, max_size=2),
                      max_leaves=4)
RECORD_KEYS = [*_request(), "extended_attributes", "lon", "expected_datetime", "zipcode", "media_url", "status_notes",
               "service_notice", "address_id", "unknown"]
EXT_KEYS = [*(f"ext.{k}" for k in EXTENDED), "ext.stages.accepted", "ext.stages.closed", "ext.stages.reported",
            "ext.village_name"]
# mostly one or two changes to a plain record, so that many records stay on the fast path
MUTATIONS = st.lists(st.tuples(st.sampled_from(RECORD_KEYS + EXT_KEYS), VALUES), max_size=3)
OPTIONS = st.fixed_dictionaries({
    "source": st.sampled_from(["12345"] * 6 + ["qy117", "x", "ABC"]),
    "datum": st.sampled_from(["wgs84"] * 4 + ["gcj02", "bd09", "cgcs2000"]),
    "tz": st.sampled_from(["Asia/Shanghai", "UTC", "America/Chicago"]),
    "categories": st.sampled_from([{}, {"A01": "dispute"}, {"A01": "aliens"}]),
    "default_category": st.sampled_from(["public_service", "other", "aliens"]),
})


def _canon(value: Any) -> Any:
    """A value with every detail that an output could differ in: types, key order, time zones."""
    if isinstance(value, dict):
        return ("dict", [(k, _canon(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_canon(v) for v in value])
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), type(value.tzinfo).__name__, value.utcoffset())
    if isinstance(value, Reject):
        return ("reject", value.reason, value.raw, value.record_key)
    return (type(value).__name__, value)


def _first_non_null(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key not in out or out[key] is None or (isinstance(out[key], str) and out[key].strip().lower() in (
                "", "null", "none", "nil")):
            out[key] = value
    return out


def _json_records(payload: bytes) -> list[Any]:
    doc = load_json(payload, object_pairs_hook=_first_non_null, hook_when=open311._has_null_strings)
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("requests", "service_requests"):
            if isinstance(doc.get(key), list):
                return doc[key]  # type: ignore[no-any-return]
        if "service_request_id" in doc:
            return [doc]
    raise FieldError("payload", "expected a list of service requests")


def _exact_page(payload: bytes, options: dict[str, Any]) -> list[Any]:
    """What open311.parse gives without the fast path: every record the exact way."""
    ctx = open311._Context.from_options(options)
    try:
        xml = open311._looks_like_xml(payload)
        records = open311._xml_records(payload) if xml else _json_records(payload)
    except FieldError as err:
        return [Reject(str(err), raw=payload_snippet(payload))]
    return [open311._exact_record(r, ctx) for r in records]


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return _canon(fn(*args))
    except Exception as exc:  # both ways must fail alike (an unknown time zone, say)
        return ("raised", type(exc).__name__)


def _mutated(mutations: list[tuple[str, Any]]) -> dict[str, Any]:
    record = _request(extended_attributes=json.loads(json.dumps(EXTENDED)), service_code="A01")
    for key, value in mutations:
        _set(record, key, value)
    return record


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")
@FUZZ
@given(MUTATIONS, OPTIONS)
def test_fast_candidate_is_the_exact_candidate(mutations: list[tuple[str, Any]], options: dict[str, Any]) -> None:
    record = json.loads(json.dumps(_mutated(mutations)))  # as a JSON page carries it
    ctx = open311._Context.from_options(options)
    try:
        fast = open311._fast_candidate(record, ctx)
    except open311._Slow:
        return
    assert isinstance(fast, Exact)
    assert _canon(fast) == _canon(open311._exact_record(record, ctx))
    _check_exact(fast)


INTERESTING: list[Any] = [
    None, *TEXTS.elements, *NUMBERS.elements, -91, 0.5, -0.5, 179.9, 2**64 - 1, [], {}, ["2026-01-01"], {"a": 1},
    {"accepted": "2026-11-22T09:40:00+08:00"}, {"replied": "soon"}, {"closed": {"x": 1}}, [[["deep"]]],
]
PLAIN_OPTIONS = [OPTS, {**OPTS, "tz": "America/Chicago", "datum": "gcj02"},
                 {**OPTS, "categories": {"A01": "aliens"}, "default_category": "other"}]


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")
@pytest.mark.parametrize("key", RECORD_KEYS + EXT_KEYS)
def test_every_field_with_every_odd_value(key: str) -> None:
    """One field at a time set to each value that tests a rule of the exact path."""
    for value in INTERESTING:
        for options in PLAIN_OPTIONS:
            record = json.loads(json.dumps(_mutated([(key, value)])))
            if key == "lat":  # a position needs both; test the other half alike
                record["long"] = value
            ctx = open311._Context.from_options(options)
            try:
                fast = open311._fast_candidate(record, ctx)
            except open311._Slow:
                continue
            assert _canon(fast) == _canon(open311._exact_record(record, ctx)), (key, value, options)
            _check_exact(fast)


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")
@pytest.mark.parametrize(("lat", "lon"), [(0, 0), (0.0, 113.1), (22.5, 0), (0, None), (None, 0.0), (22, 113),
                                          (90, 180), (-90.0, -180.0), (90.5, 0), (0, 180.5), (True, 1.0)])
def test_positions(lat: Any, lon: Any) -> None:
    for key in ("long", "lon"):
        record = _request(lat=lat)
        record.pop("long")
        record[key] = lon
        ctx = open311._Context.from_options(OPTS)
        try:
            fast = open311._fast_candidate(record, ctx)
        except open311._Slow:
            continue
        assert _canon(fast) == _canon(open311._exact_record(record, ctx))


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")
@FUZZ
@given(st.lists(MUTATIONS, min_size=1, max_size=4), OPTIONS,
       st.sampled_from(["list", "requests", "service_requests", "single", "indent", "bom"]))
def test_pages_parse_as_the_exact_path_parses_them(records: list[Any], options: dict[str, Any], shape: str) -> None:
    page: Any = [_mutated(m) for m in records]
    if shape in ("requests", "service_requests"):
        page = {shape: page}
    elif shape == "single":
        page = page[0]
    payload = json.dumps(page, indent=2 if shape == "indent" else None, ensure_ascii=False).encode()
    if shape == "bom":
        payload = b"\xef\xbb\xbf" + payload
    assert _outcome(lambda: list(open311.parse(payload, options))) == _outcome(_exact_page, payload, options)


class Pairs(list):  # type: ignore[type-arg]
    """An object written with its keys as given, repeats included."""


def _object(pairs: list[tuple[str, Any]], sep: str) -> str:
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}{sep}{_text(v, sep)}" for k, v in pairs) + "}"


def _text(value: Any, sep: str) -> str:
    if isinstance(value, Pairs):
        return _object(value, sep)
    if isinstance(value, dict):
        return _object(list(value.items()), sep)
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")
@FUZZ
@given(st.lists(st.tuples(MUTATIONS, st.lists(st.tuples(st.sampled_from(RECORD_KEYS + ["extended_attributes.stages"]),
                                                         VALUES), max_size=2)), min_size=1, max_size=3),
       st.sampled_from([":", ": ", " :", ":\n "]), st.booleans())
def test_pages_with_repeated_keys_parse_as_the_exact_path_parses_them(
        records: list[Any], sep: str, empty_strings: bool) -> None:
    """Written as servers do (SF's export repeats keys, the simulator sends ""): a repeated key's
    first non-null value wins, whichever way the page is read."""
    texts = []
    for mutations, repeats in records:
        record = _mutated(mutations)
        if empty_strings:
            record.update(service_notice="", media_url="")
        pairs = list(record.items())
        for key, value in repeats:
            ext = record.get(EXT)
            if key == "extended_attributes.stages" and isinstance(ext, dict):
                stages = ext.get("stages")
                stage_pairs = [*(stages.items() if isinstance(stages, dict) else []), ("accepted", value)]
                new_ext = Pairs([*ext.items(), ("stages", Pairs(stage_pairs))])
                pairs = [(k, new_ext if k == EXT else v) for k, v in pairs]
            else:
                pairs.append((key, value))
        texts.append(_object(pairs, sep))
    payload = ("[" + ",".join(texts) + "]").encode()
    assert _outcome(lambda: list(open311.parse(payload, OPTS))) == _outcome(_exact_page, payload, OPTS)


@pytest.mark.parametrize("envelope", [None, "requests", "single"])
def test_pages_with_empty_strings_take_the_fast_path(envelope: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's requests carry "" (service_notice, media_url): no key is repeated, so orjson's
    reading stands and the page is not parsed a second time with the stdlib."""
    records = json.loads(_records(500)[0])[:50]
    for record in records:
        record.update(service_notice="", media_url="")
        record[EXT].update(stages={"accepted": "2026-11-22T09:40:00+08:00", "reported": ""}, village_name="")
    page: Any = {"requests": records, "total": 50} if envelope == "requests" else records
    page = records[0] if envelope == "single" else page
    payload = json.dumps(page, ensure_ascii=False).encode()
    with monkeypatch.context() as m:
        m.setattr(open311, "_json_records", None)  # the page is read once, by the fast path
        parsed = list(open311.parse(payload, OPTS))
    assert parsed and all(isinstance(c, Exact) for c in parsed)
    assert _outcome(lambda: parsed) == _outcome(_exact_page, payload, OPTS)


@pytest.mark.parametrize("payload", [
    # duplicate keys: the first non-null value wins (the stdlib parser with a hook), not the last
    b'[{"service_request_id":"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00",'
    b'"service_notice":"","description":"kept","description":"","extended_attributes":{"grid_id":"g1",'
    b'"grid_id":"null","stages":{"accepted":"2026-01-01T08:00:00+08:00","accepted":""}}}]',
    b'{"requests":[{"service_request_id":"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00"}],'
    b'"requests":""}',
    b'[{"service_request_id":"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00",'
    b'"description":"a \\":\" b","media_url":""}]',
    b'[{"service_request_id" :"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00",'
    b'"description" : "x", "description":"","media_url":""}]',
    # one key spaced from its colon and one repeated: the count of '":' alone would match
    b'[{"service_request_id":"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00",'
    b'"description" :"kept","description":"","media_url":""}]',
    b'[{"service_request_id": "1", "status": "open", "updated_datetime": "2026-01-01T08:00:00+08:00",'
    b' "updated_datetime": "null", "lat": 22.5, "long": 113.1}]',
    b'[{"service_request_id":"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00","status":""}]',
    b'[{"service_request_id":"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00",'
    b'"description":"the real text","description":"","agency_responsible":"A","agency_responsible":"NULL"}]',
    b'[{"service_request_id": "1", "status": "open", "updated_datetime": "2026-01-01T08:00:00+08:00",'
    b' "extended_attributes": {"stages": {"accepted": "2026-01-01T08:00:00+08:00", "x": '
    + b"[" * 70 + b"]" * 70 + b"}}}]",
    # a value nested deeper than 64 levels rejects the payload, even under a key nobody reads
    b'[{"service_request_id": "1", "status": "open", "updated_datetime": "2026-01-01T08:00:00+08:00", "x": '
    + b"[" * 70 + b"]" * 70 + b"}]",
    b'{"requests": [], "meta": ' + b"[" * 70 + b"]" * 70 + b"}",
    b'[1, {"service_request_id": 7}]', b"[]", b"{}", b"not json", b'[{"service_request_id": "1"}',
])
def test_odd_pages_parse_as_the_exact_path_parses_them(payload: bytes) -> None:
    assert _outcome(lambda: list(open311.parse(payload, OPTS))) == _outcome(_exact_page, payload, OPTS)


def _check_exact(candidate: Exact) -> None:
    """An Exact candidate's Event is the one pydantic validates from the same values."""
    ts = now_utc()
    built, validated = normalise(candidate, ts), normalise(dict(candidate), ts)
    assert isinstance(validated, Event), validated
    assert isinstance(built, Event)
    assert built == validated and built.to_json() == validated.to_json()
    assert built.model_dump() == validated.model_dump()
    assert built.model_fields_set == validated.model_fields_set
    if validated.location is not None:
        assert built.location is not None and built.location.model_fields_set == validated.location.model_fields_set
    assert _canon(built.__dict__) == _canon(validated.__dict__) or _same_but_nested(built, validated)


def _same_but_nested(a: Event, b: Event) -> bool:
    da, db = dict(a.__dict__), dict(b.__dict__)
    la, lb = da.pop("location"), db.pop("location")
    return _canon(da) == _canon(db) and _canon(la.__dict__) == _canon(lb.__dict__)


def test_the_benchmark_records_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pingan bench ingest` measures the path plain pages take in the worker."""
    monkeypatch.setattr(open311, "_json_records", None)
    for page in _records(1000):
        candidates = list(open311.parse(page, OPTS))
        assert len(candidates) == 500 and all(isinstance(c, Exact) for c in candidates)
        for c in candidates[:20]:
            _check_exact(c)


@pytest.mark.parametrize(("overrides", "options", "field"), [
    ({"extended_attributes": {"grid_id": "g" * 65}}, {}, "location.grid"),
    ({"extended_attributes": {"village": "v" * 65}}, {}, "location.village"),
    ({"service_request_id": "r" * 130}, {}, "case_id"),
    ({"service_code": "A01"}, {"categories": {"A01": "aliens"}}, "category"),
    ({}, {"default_category": "aliens"}, "category"),
    ({}, {"source": "ABC"}, "source"),
    ({}, {"source": "x"}, "source"),
])
def test_plain_records_with_a_bad_value_are_still_rejected_naming_the_field(
        overrides: dict[str, Any], options: dict[str, Any], field: str) -> None:
    """Values the adapter does not check itself are not Exact: pydantic validates and rejects them."""
    record = _request(**overrides)
    parsed = list(open311.parse(json.dumps([record]).encode(), {**OPTS, **options}))
    assert len(parsed) == 1 and not isinstance(parsed[0], Exact | Reject)
    result = normalise(parsed[0])
    assert isinstance(result, Reject) and result.reason.startswith(f"{field}: "), result


def test_null_variants_are_what_t_reads_as_absent() -> None:
    """The fast path's written-out _t takes a stripped str outside _NULL_VARIANTS as plain text."""
    import sys

    for text in open311._NULL_VARIANTS:
        assert open311._t(text) is None
    assert all(open311._t(w) == w for w in ("nulls", "nul", "n", "NULL1", "nihil", "无", "0302", "张三"))
    # no character but the ASCII letters lower-cases into a null marker's letters
    letters = set("nulloei")
    assert all(chr(c) in "nulloeiNULLOEI" for c in range(sys.maxunicode + 1)
               if chr(c).lower() and set(chr(c).lower()) <= letters)
