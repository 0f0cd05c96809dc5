"""The Open311 GeoReport v2 adapter, on the real samples in shared/data/open311 and inline records."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.contract.event import Event, make_event_id
from dashboard.contract.geo import to_wgs84
from feeds.adapters import open311, tabular
from feeds.adapters.base import Reject, normalise
from tests.conftest import examples
from tests.contract import FIELD_REASON, check_outputs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OPEN311 = DATA / "open311"
OPTS = {"source": "12345", "datum": "wgs84"}
BEIJING = timezone(timedelta(hours=8))
FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every record of a known sample file: (events, rejects), and the reason of every reject.
EXPECTED: dict[str, tuple[int, int, str | None]] = {
    "open311status/service_requests.json": (2, 0, None),
    "open311status/bloomington_requests.json": (21, 0, None),
    "open311status/san_francisco_requests.xml": (56, 0, None),
    "open311dashboard_sf_2010/ClosedServiceRequests_Slice.json": (327, 0, None),
    # service lists are not requests: each entry is rejected for the missing request id
    "open311status/service_list.json": (0, 3, "service_request_id: missing"),
    "open311status/bloomington_services.json": (0, 46, "service_request_id: missing"),
    "open311status/san_francisco_services.xml": (0, 38, "service_request_id: missing"),
    "service_requests_csv/boston311-100.csv": (100, 0, None),
    "service_requests_csv/NYC311-5.csv": (5, 0, None),
}


def _sample_files() -> list[Path]:
    return sorted(p for p in OPEN311.rglob("*") if p.is_file()) if OPEN311.is_dir() else []


def _need_data() -> None:
    if not OPEN311.is_dir():
        pytest.skip(f"sample data not found at {OPEN311} (shared/data is not checked out)")


def _parse_file(path: Path) -> list[Any]:
    if path.suffix.lower() in (".csv", ".xlsx"):
        return list(tabular.parse(path.read_bytes(), {"source": "x311", "datum": "wgs84"}))
    return list(open311.parse(path.read_bytes(), OPTS))


def _events(parsed: list[Any]) -> list[Event]:
    out = [p if isinstance(p, Reject) else normalise(p) for p in parsed]
    bad = [p for p in out if isinstance(p, Reject)]
    assert not bad, bad[:3]
    return out  # type: ignore[return-value]


def _one(record: dict[str, Any], **options: Any) -> Event:
    parsed = list(open311.parse(json.dumps([record]).encode(), {**OPTS, **options}))
    assert len(parsed) == 1
    return _events(parsed)[0]


def _reject(record: Any, **options: Any) -> Reject:
    parsed = list(open311.parse(json.dumps([record]).encode(), {**OPTS, **options}))
    assert len(parsed) == 1 and isinstance(parsed[0], Reject), parsed
    return parsed[0]



# --- the real samples ----------------------------------------------------------------------


@pytest.mark.parametrize("path", _sample_files() or [None], ids=lambda p: p.name if p else "missing")
def test_every_sample_file_gives_events_or_named_rejects(path: Path | None) -> None:
    _need_data()
    assert path is not None
    parsed = _parse_file(path)
    assert parsed, f"{path.name}: no records at all"
    events, rejects = 0, 0
    for item in parsed:
        if isinstance(item, Reject):
            assert FIELD_REASON.match(item.reason), item.reason
            rejects += 1
            continue
        result = normalise(item)
        assert isinstance(result, Event), f"{path.name}: {result}"
        json.loads(result.to_json())
        events += 1
    rel = path.relative_to(OPEN311).as_posix()
    if rel in EXPECTED:
        want_events, want_rejects, reason = EXPECTED[rel]
        assert (events, rejects) == (want_events, want_rejects)
        if reason:
            assert {r.reason for r in parsed if isinstance(r, Reject)} == {reason}


def test_sample_event_ids_are_unique_per_file() -> None:
    _need_data()
    for path in _sample_files():
        events = [p for p in _parse_file(path) if isinstance(p, dict)]
        assert len({e["event_id"] for e in events}) == len(events), path.name


def test_chicago_first_request() -> None:
    _need_data()
    raw = (OPEN311 / "open311status/service_requests.json").read_bytes()
    events = _events(list(open311.parse(raw, OPTS)))
    first = events[0]
    assert first.case_id == "12345:14-01100669"
    assert first.location is not None
    assert first.location.lat == pytest.approx(41.858724777757864)
    assert first.location.lon == pytest.approx(-87.66475146237676)
    assert first.location.address == "1540 W 17TH ST, CHICAGO, IL, 60608"
    assert first.status == "reported"
    assert first.category == "public_service"
    assert first.summary == "Alley Light Out"  # no description: the service name
    assert first.department == "Division of Electrical Operations CDOT"
    assert first.occurred_at == datetime(2014, 7, 12, 11, 8, 21, tzinfo=timezone(timedelta(hours=-5)))
    assert first.reported_at == datetime(2014, 7, 12, 10, 58, 43, tzinfo=timezone(timedelta(hours=-5)))
    assert first.attrs["service_code"] == "4ffa9cad6018277d4000007b"
    assert events[1].attrs["status_notes"] == "Locked"
    assert first.event_id == make_event_id("12345", "14-01100669", "2014-07-12T11:08:21-05:00", "reported")


def test_san_francisco_xml_zero_coordinates_mean_no_position() -> None:
    _need_data()
    parsed = list(open311.parse((OPEN311 / "open311status/san_francisco_requests.xml").read_bytes(), OPTS))
    events = {e.case_id: e for e in _events(parsed)}
    assert len(events) == 56
    first = events["12345:1129806"]
    assert first.location is not None
    assert (first.location.lat, first.location.lon) == (None, None)
    assert first.location.address == "SAN FRANCISCO , CA"
    assert first.status == "reported"  # "Open", capitalised
    # updated_datetime is xsi:nil: the version time falls back to the naive request time, read as Beijing
    assert first.occurred_at == datetime(2012, 5, 22, 23, 57, 23, 970000, tzinfo=BEIJING)
    assert first.attrs["expected_at"] == "2012-05-31T08:30:00+08:00"
    placed = events["12345:1129792"]
    assert placed.location is not None
    assert (placed.location.lat, placed.location.lon) == (37.77944, -122.404434)
    with_position = [e for e in events.values() if e.location and e.location.lat is not None]
    assert len(with_position) == 47  # the other 9 send 0.0, 0.0
    assert {e.status for e in events.values()} == {"reported", "closed"}


def test_sf_2010_slice_duplicate_keys_and_null_strings() -> None:
    _need_data()
    raw = (OPEN311 / "open311dashboard_sf_2010/ClosedServiceRequests_Slice.json").read_bytes()
    events = _events(list(open311.parse(raw, OPTS)))
    assert len(events) == 327
    first = events[0]
    assert first.case_id == "12345:771923"
    assert first.status == "closed"
    # "updated_datetime" appears twice, the second time as "null": the real value wins
    assert first.occurred_at == datetime(2010, 11, 14, 19, 15, 30, 127000, tzinfo=BEIJING)
    assert first.reported_at == datetime(2010, 11, 14, 19, 9, 29, 80000, tzinfo=BEIJING)
    assert "expected_at" not in first.attrs  # "null" then "true": not a time
    assert first.location is not None and first.location.lon == -122.43329  # "lon", not "long"
    assert first.attrs["zipcode"] == "94115"
    zeros = [e for e in events if e.location is None or e.location.lat is None]
    assert len(zeros) == 12


def test_bloomington_null_and_zero_coordinates() -> None:
    _need_data()
    raw = (OPEN311 / "open311status/bloomington_requests.json").read_bytes()
    events = {e.case_id: e for e in _events(list(open311.parse(raw, OPTS)))}
    null_pos = events["12345:4fbd40b2b1fe2c4b02000001"]
    assert null_pos.location is None  # null lat/long and null address
    zero_pos = events["12345:4fbd2b76b1fe2c195f000000"]
    assert zero_pos.location is not None and zero_pos.location.lat is None
    assert zero_pos.location.address == "612 W Coolidge DR"
    assert null_pos.occurred_at.utcoffset() == timedelta(hours=-4)
    assert null_pos.summary.startswith("I'm not sure if this intersection")


# --- extensions ----------------------------------------------------------------------------

EXTENDED = {
    "workflow_status": "处理中",
    "category": "dispute",
    "priority": 1,
    "district_code": "440703",
    "town_code": "440703002",
    "village": "白沙社区",
    "grid_id": "440703002-05",
    "caller_name": "张三",
    "caller_phone": "13812345678",
    "satisfaction": "满意",
    "redo_count": 2,
    "stages": {"accepted": "2026-11-22T09:40:00+08:00", "replied": "2026-11-22 10:00:00",
               "solution": "2026-11-23T08:00:00Z", "closed": None},
}


def _request(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "service_request_id": "GD-20261122-0001", "status": "open", "service_code": "A01",
        "service_name": "邻里纠纷", "description": "楼上噪音扰民，联系人：李四 13900001111",
        "agency_responsible": "蓬江区白沙街道办", "requested_datetime": "2026-11-22T09:21:00+08:00",
        "updated_datetime": "2026-11-22T09:30:00+08:00", "address": "蓬江区白沙街道某路1号",
        "lat": 22.58, "long": 113.08,
    }
    record.update(overrides)
    return record


def _xml(record: dict[str, Any]) -> bytes:
    root = ET.Element("service_requests")
    request = ET.SubElement(root, "request")

    def fill(parent: ET.Element, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            child = ET.SubElement(parent, key)
            if isinstance(value, dict):
                fill(child, value)
            elif value is not None:
                child.text = str(value)

    fill(request, record)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _check_extended(event: Event) -> None:
    assert event.status == "in_progress"
    assert event.category == "dispute"
    assert event.priority == 1
    assert event.location is not None
    assert (event.location.adcode, event.location.town) == ("440703", "440703002")
    assert (event.location.village, event.location.grid) == ("白沙社区", "440703002-05")
    assert event.attrs["caller_phone"] == "138****5678"
    assert event.attrs["caller_name"] == "张*"
    assert event.attrs["satisfaction"] == "满意"
    assert event.attrs["redo_count"] == 2
    assert event.attrs["workflow_status"] == "处理中"
    assert event.attrs["stages"] == {"accepted": "2026-11-22T09:40:00+08:00",
                                     "replied": "2026-11-22T10:00:00+08:00",
                                     "solution": "2026-11-23T08:00:00+00:00"}
    text = event.to_json().decode()
    assert "13812345678" not in text and "13900001111" not in text
    assert "张三" not in text and "李四" not in text
    assert "139****1111" in event.summary


def test_extended_attributes_json() -> None:
    _check_extended(_one(_request(extended_attributes=EXTENDED)))


def test_extended_attributes_xml() -> None:
    parsed = list(open311.parse(_xml(_request(extended_attributes=EXTENDED)), OPTS))
    assert len(parsed) == 1
    _check_extended(_events(parsed)[0])


def test_xml_single_request_root_and_nil() -> None:
    body = (b'<request xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><service_request_id>7'
            b'</service_request_id><status>closed</status><requested_datetime>2026-01-02T03:04:05Z'
            b'</requested_datetime><updated_datetime xsi:nil="true"/><lat/><long/></request>')
    event = _events(list(open311.parse(body, OPTS)))[0]
    assert event.case_id == "12345:7" and event.status == "closed" and event.location is None
    assert event.occurred_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_utf16_xml_and_inline_duplicate_keys() -> None:
    xml = _xml(_request()).decode().replace("utf-8", "utf-16").encode("utf-16")
    assert _events(list(open311.parse(xml, OPTS)))[0].case_id == "12345:GD-20261122-0001"
    body = (b'[{"service_request_id": "1", "status": "open", "updated_datetime": "2026-01-01T08:00:00+08:00",'
            b' "updated_datetime": "null", "status": null, "lat": 0, "long": 0}]')
    event = _events(list(open311.parse(body, OPTS)))[0]
    assert event.occurred_at == datetime(2026, 1, 1, 8, tzinfo=BEIJING) and event.status == "reported"
    assert event.location is None


def test_envelopes_and_bom() -> None:
    record = _request()
    for body in (json.dumps([record]), json.dumps({"requests": [record]}),
                 json.dumps({"service_requests": [record]}), json.dumps(record)):
        for raw in (body.encode(), b"\xef\xbb\xbf" + body.encode(), b"\n  " + body.encode()):
            assert _events(list(open311.parse(raw, OPTS)))[0].case_id == "12345:GD-20261122-0001"


@pytest.mark.parametrize(("workflow", "status"), [
    ("待签收", "reported"), ("已签收", "accepted"), ("已派遣", "dispatched"), ("处理中", "in_progress"),
    ("已办结", "resolved"), ("已归档", "closed"), ("已回访", "rated"), ("重办", "reopened"),
    ("已撤销", "cancelled"), ("resolved", "resolved"),
])
def test_workflow_status_refines_status(workflow: str, status: str) -> None:
    assert _one(_request(extended_attributes={"workflow_status": workflow})).status == status


def test_status_open_closed_case_insensitive() -> None:
    assert _one(_request(status="OPEN")).status == "reported"
    assert _one(_request(status="Closed")).status == "closed"


def test_category_resolution_order() -> None:
    assert _one(_request()).category == "public_service"
    assert _one(_request(), default_category="enterprise_appeal").category == "enterprise_appeal"
    cats = {"A01": "dispute"}
    assert _one(_request(), categories=cats, default_category="other").category == "dispute"
    ext = {"category": "epidemic"}
    assert _one(_request(extended_attributes=ext), categories=cats).category == "epidemic"
    assert _one(_request(service_code=309), categories={"309": "fire"}).category == "fire"


def test_gcj02_coordinates_convert_to_wgs84() -> None:
    event = _one(_request(lat=22.58, long=113.08), datum="gcj02")
    assert event.location is not None
    assert (event.location.lat, event.location.lon) == to_wgs84(22.58, 113.08, "gcj02")
    assert (event.location.lat, event.location.lon) != (22.58, 113.08)


def test_naive_times_use_tz_option() -> None:
    record = _request(updated_datetime="2026-11-22 09:30:00", requested_datetime="2026-11-22T09:00:00")
    assert _one(record).occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)
    assert _one(record, tz="UTC").occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def test_occurred_at_falls_back_to_requested() -> None:
    event = _one(_request(updated_datetime=None))
    assert event.occurred_at == event.reported_at == datetime(2026, 11, 22, 9, 21, tzinfo=BEIJING)


def test_event_id_changes_with_version_only() -> None:
    a, b = _one(_request()), _one(_request(description="other text"))
    assert a.event_id == b.event_id
    assert _one(_request(updated_datetime="2026-11-22T10:00:00+08:00")).event_id != a.event_id
    assert _one(_request(status="closed")).event_id != a.event_id


def test_long_text_is_clipped_not_rejected() -> None:
    event = _one(_request(description="很" * 900, address="路" * 300, agency_responsible="部" * 150))
    assert len(event.summary) == 500 and event.summary.endswith("…")
    assert event.location is not None and len(event.location.address or "") == 200
    assert len(event.department or "") == 100


@pytest.mark.parametrize(("overrides", "field"), [
    ({"service_request_id": None}, "service_request_id"),
    ({"service_request_id": "null"}, "service_request_id"),
    ({"service_request_id": {"a": 1}}, "service_request_id"),
    ({"status": None}, "status"),
    ({"status": "pending"}, "status"),
    ({"updated_datetime": "yesterday"}, "updated_datetime"),
    ({"updated_datetime": 1700000000}, "updated_datetime"),
    ({"updated_datetime": None, "requested_datetime": None}, "updated_datetime"),
    ({"requested_datetime": "2026-13-01T00:00:00"}, "requested_datetime"),
    ({"updated_datetime": "1900-01-01T00:00:00"}, "updated_datetime"),
    ({"lat": 91.0}, "lat"),
    ({"long": -181}, "long"),
    ({"lat": "north"}, "lat"),
    ({"lat": True}, "lat"),
    ({"extended_attributes": "yes"}, "extended_attributes"),
    ({"extended_attributes": {"workflow_status": "发呆"}}, "extended_attributes.workflow_status"),
    ({"extended_attributes": {"category": "aliens"}}, "extended_attributes.category"),
    ({"extended_attributes": {"priority": 5}}, "extended_attributes.priority"),
    ({"extended_attributes": {"priority": "high"}}, "extended_attributes.priority"),
    ({"extended_attributes": {"district_code": "4407"}}, "extended_attributes.district_code"),
    ({"extended_attributes": {"town_code": "44070300"}}, "extended_attributes.town_code"),
    ({"extended_attributes": {"satisfaction": "还行"}}, "extended_attributes.satisfaction"),
    ({"extended_attributes": {"redo_count": -1}}, "extended_attributes.redo_count"),
    ({"extended_attributes": {"stages": ["2026-01-01"]}}, "extended_attributes.stages"),
    ({"extended_attributes": {"stages": {"replied": "soon"}}}, "extended_attributes.stages.replied"),
])
def test_bad_fields_are_rejected_by_name(overrides: dict[str, Any], field: str) -> None:
    reject = _reject(_request(**overrides))
    assert reject.reason.startswith(f"{field}: "), reject.reason
    assert "13900001111" not in reject.raw  # the raw copy is masked
    if field != "service_request_id":
        assert reject.record_key == "12345:GD-20261122-0001"


@pytest.mark.parametrize(("payload", "reason"), [
    (b"", "payload: "),
    (b"{not json", "payload: "),
    (b'{"status": "ok"}', "payload: "),
    (b"[1, 2", "payload: "),
    (b"<service_requests><request>", "payload: "),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>',
     "payload: "),
    (b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r><request>&e;</request></r>', "payload: "),
])
def test_unreadable_payloads_give_one_reject(payload: bytes, reason: str) -> None:
    parsed = list(open311.parse(payload, OPTS))
    assert len(parsed) == 1 and isinstance(parsed[0], Reject)
    assert parsed[0].reason.startswith(reason)


def test_empty_pages_give_nothing() -> None:
    for body in (b"[]", b'{"requests": []}', b"<service_requests/>", b"<requests>\n</requests>"):
        assert list(open311.parse(body, OPTS)) == []


def test_non_object_records_are_rejected() -> None:
    parsed = list(open311.parse(b'[1, "x", null, {"service_request_id": 1}]', OPTS))
    reasons = [p.reason for p in parsed if isinstance(p, Reject)]
    assert reasons[:3] == ["record: not an object (int)", "record: not an object (str)",
                           "record: not an object (NoneType)"]
    assert reasons[3] == "status: missing"


_HEAD = b'"service_request_id":"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00"'


@pytest.mark.parametrize(("payload", "check"), [
    (b'[{' + _HEAD + b',"service_notice":"","description":"kept","description":"","extended_attributes":'
     b'{"grid_id":"g1","grid_id":"null","stages":{"accepted":"2026-01-01T09:00:00+08:00","accepted":""}}}]',
     lambda e: (e.summary, e.location.grid, e.attrs["stages"]) == ("kept", "g1",
                                                                    {"accepted": "2026-01-01T09:00:00+08:00"})),
    (b'{"requests":[{' + _HEAD + b'}],"requests":""}', lambda e: e.case_id == "12345:1"),
    (b'[{"service_request_id" :"1","status":"open","updated_datetime":"2026-01-01T08:00:00+08:00",'
     b'"description" : "x", "description":""}]', lambda e: e.summary == "x"),
    (b'[{' + _HEAD + b',"updated_datetime":"null"}]',
     lambda e: e.occurred_at == datetime(2026, 1, 1, 8, tzinfo=BEIJING)),
    (b'[{' + _HEAD + b',"status":""}]', lambda e: e.status == "reported"),
    (b'[{' + _HEAD + b',"status":null}]', lambda e: e.status == "reported"),  # JSON null is absent too
    (b'[{' + _HEAD + b',"description":"first","description":"second"}]', lambda e: e.summary == "first"),
    (b'[{' + _HEAD + b',"agency_responsible":"A","agency_responsible":"NULL"}]', lambda e: e.department == "A"),
])
def test_a_repeated_key_keeps_its_first_non_null_value(payload: bytes, check: Any) -> None:
    """As SF's export repeats keys, and whether or not the page holds a null marker anywhere else."""
    (event,) = _events(list(open311.parse(payload, OPTS)))
    assert check(event), event


@pytest.mark.parametrize("payload", [
    b'[{' + _HEAD + b',"extended_attributes":{"stages":{"accepted":"2026-01-01T08:00:00+08:00","x":'
    + b"[" * 70 + b"]" * 70 + b"}}}]",
    b'[{' + _HEAD + b',"x":' + b"[" * 70 + b"]" * 70 + b"}]",  # under a key nobody reads
    b'[{' + _HEAD + b',"x":' + b"[1," * 70 + b"1" + b"]" * 70 + b"}]",  # values between the brackets
    b'{"requests":[],"meta":' + b"[" * 70 + b"]" * 70 + b"}",
])
def test_a_page_nested_deeper_than_64_levels_is_one_reject(payload: bytes) -> None:
    assert [getattr(p, "reason", p) for p in open311.parse(payload, OPTS)] == ["payload: nested deeper than 64 levels"]


@pytest.mark.parametrize(("overrides", "options", "field"), [
    ({"extended_attributes": {"grid_id": "g" * 65}}, {}, "location.grid"),
    ({"extended_attributes": {"village": "v" * 65}}, {}, "location.village"),
    ({"service_request_id": "r" * 130}, {}, "case_id"),
    ({"service_code": "A01"}, {"categories": {"A01": "aliens"}}, "category"),
    ({}, {"default_category": "aliens"}, "category"),
    ({}, {"source": "ABC"}, "source"),
    ({}, {"source": "x"}, "source"),
])
def test_values_the_adapter_leaves_to_the_event_are_rejected_by_validation(
        overrides: dict[str, Any], options: dict[str, Any], field: str) -> None:
    """The adapter passes these on; normalise's validation rejects them, naming the field."""
    parsed = list(open311.parse(json.dumps([_request(**overrides)]).encode(), {**OPTS, **options}))
    assert len(parsed) == 1 and not isinstance(parsed[0], Reject)
    result = normalise(parsed[0])
    assert isinstance(result, Reject) and result.reason.startswith(f"{field}: "), result


def test_page_params() -> None:
    since = datetime(2026, 11, 22, 9, 0, tzinfo=BEIJING)
    params = open311.page_params(since, datetime(2026, 11, 22, 9, 5), 2, 500)
    assert params == {"updated_after": "2026-11-22T09:00:00+08:00",
                      "updated_before": "2026-11-22T09:05:00+08:00",
                      "page": "2", "page_size": "500", "extensions": "true"}
    with pytest.raises(ValueError):
        open311.page_params(since, since, 0, 500)


# --- fuzzing -------------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(["null", "true", "0", "0.0", "-91", "181", "2026-11-22T09:30:00+08:00",
                              "2026-11-22 09:30:00", "open", "closed", "处理中", "440703", "440703002",
                              "13812345678", "满意", "dispute", "1", "5", "Z", " "]))
JSON_VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=6)
FIELDS = [*_request(), "extended_attributes", "lon", "expected_datetime", "zipcode"]
EXT_FIELDS = [*EXTENDED, "stages.accepted", "stages.closed"]


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(payload: bytes) -> None:
    check_outputs(list(open311.parse(payload, OPTS)))


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")  # prcoords, for GCJ-02 abroad
@FUZZ
@given(st.lists(st.tuples(st.sampled_from(FIELDS + [f"ext.{f}" for f in EXT_FIELDS]), JSON_VALUES),
                max_size=4),
       st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_fuzz_mutated_json_records(mutations: list[tuple[str, Any]], datum: str) -> None:
    record = _request(extended_attributes=json.loads(json.dumps(EXTENDED)))
    for key, value in mutations:
        _set(record, key, value)
    parsed = list(open311.parse(json.dumps([record]).encode(), {**OPTS, "datum": datum}))
    assert len(parsed) == 1
    check_outputs(parsed)


NULL_MARKERS = ("", "null", "none", "nil")


def _first_non_null(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The rule the adapter documents, written here independently of it."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        kept = out.get(key)
        if key not in out or kept is None or (isinstance(kept, str) and kept.strip().lower() in NULL_MARKERS):
            out[key] = value
    return out


def _object_text(pairs: list[tuple[str, Any]]) -> str:
    """A JSON object with its keys as given, repeats included (values already JSON text)."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


# values orjson reads too (it checks every page first): integers within 64 bits
REPEATED_VALUES = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
                   | st.floats(allow_nan=False, allow_infinity=False)
                   | st.sampled_from(["", " ", "null", "NULL", "None", "nil", "2026-11-22T10:00:00+08:00", "closed"]))


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")
@FUZZ
@given(st.lists(st.tuples(st.sampled_from(FIELDS + [f"ext.{f}" for f in EXTENDED]), REPEATED_VALUES),
                min_size=1, max_size=4))
def test_fuzz_repeated_keys_read_as_their_first_non_null_value(repeats: list[tuple[str, Any]]) -> None:
    """A page whose records repeat keys parses as the page written with each key once, holding the
    first non-null value it had."""
    record = _request(extended_attributes=json.loads(json.dumps(EXTENDED)))
    ext = list(record.pop(open311.EXT).items())
    top: list[tuple[str, Any]] = [*record.items(), (open311.EXT, dict(ext))]
    for key, value in repeats:
        (ext if key.startswith("ext.") else top).append((key.removeprefix("ext."), value))
    def is_ext(key: str, value: Any) -> bool:  # the extensions object (a repeat of its key is a scalar)
        return key == open311.EXT and isinstance(value, dict)

    texts = [(k, _object_text([(ek, json.dumps(ev)) for ek, ev in ext]) if is_ext(k, v) else json.dumps(v))
             for k, v in top]
    written_once = _first_non_null([(k, _first_non_null(ext) if is_ext(k, v) else v) for k, v in top])
    repeated = list(open311.parse(f"[{_object_text(texts)}]".encode(), OPTS))
    assert repeated == list(open311.parse(json.dumps([written_once]).encode(), OPTS))


XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20) | st.sampled_from(
    ["0.0", "2026-11-22 09:30:00", "Open", "closed", "已办结", "4", "null", "440703"])


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(FIELDS + [f"ext.{f}" for f in EXT_FIELDS]), XML_TEXT | st.none()),
                max_size=4))
def test_fuzz_mutated_xml_records(mutations: list[tuple[str, Any]]) -> None:
    record = _request(extended_attributes=json.loads(json.dumps(EXTENDED)))
    for key, value in mutations:
        _set(record, key, value)
    parsed = list(open311.parse(_xml(record), OPTS))
    assert len(parsed) == 1
    check_outputs(parsed)


def _set(record: dict[str, Any], key: str, value: Any) -> None:
    """Set a (possibly nested) field; `ext.` keys live under extended_attributes."""
    if key.startswith("ext."):
        key = "extended_attributes." + key.removeprefix("ext.")
    *parents, last = key.split(".")
    node: Any = record
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value
