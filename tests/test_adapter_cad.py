"""The CAD (NENA EIDO-style) incident adapter of the 110/119/120/122 dispatch centres."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.contract.event import Event, make_event_id
from dashboard.contract.geo import to_wgs84
from feeds.adapters import cad
from feeds.adapters.base import Reject, normalise
from tests.conftest import examples
from tests.contract import check_outputs

OPTS = {"source": "110", "datum": "gcj02", "agency": "police"}
BEIJING = timezone(timedelta(hours=8))
FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

EIDO: dict[str, Any] = {
    "eidoMessageIdentifier": "m-0001",
    "lastUpdateTimeStamp": "2026-11-22T09:30:00+08:00",
    "incidentComponent": {
        "incidentTrackingIdentifier": "110-20261122-000123",
        "incidentTypeCommonRegistryText": "Police.Theft",
        "incidentStatusCommonRegistryText": "Dispatched",
        "incidentPriority": 2,
        "incidentCreationTimeStamp": "2026-11-22T09:21:00+08:00",
    },
    "locationComponent": [{
        "locationByValue": {"type": "Point", "coordinates": [113.08, 22.58]},
        "civicAddressText": "蓬江区白沙街道某路1号", "districtCode": "440703", "townCode": "440703002",
    }],
    "callComponent": [{"callerName": "张三", "callbackNumber": "13812345678"}],
    "emergencyResourceComponent": [
        {"unitIdentifier": "PJ-01", "unitType": "巡逻车", "unitStatus": "OnScene"},
        {"unitIdentifier": "PJ-07", "unitType": "摩托", "unitStatus": "Enroute"},
    ],
    "notesComponent": [{"noteText": "电动车被盗，回拨13812345678"}, {"noteText": "second"}],
    "agencyComponent": {"agencyName": "江门市公安局蓬江分局"},
}


def _eido(**changes: Any) -> dict[str, Any]:
    """A copy of EIDO; `a__b=v` sets record["a"]["b"] (None deletes the key)."""
    record = copy.deepcopy(EIDO)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = record
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return record


def _parse(payload: Any, **options: Any) -> list[Any]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return list(cad.parse(body, {**OPTS, **options}))


def _one(record: dict[str, Any], **options: Any) -> Event:
    parsed = _parse({"incidents": [record]}, **options)
    assert len(parsed) == 1 and isinstance(parsed[0], dict), parsed
    event = normalise(parsed[0])
    assert isinstance(event, Event), event
    return event


def _reject(record: Any, **options: Any) -> Reject:
    parsed = _parse([record], **options)
    assert len(parsed) == 1 and isinstance(parsed[0], Reject), parsed
    return parsed[0]



def test_formats_md_example_maps_every_field() -> None:
    event = _one(EIDO)
    assert event.case_id == "110:110-20261122-000123"
    assert event.source == "110" and event.kind == "case"
    assert event.status == "dispatched"
    assert event.category == "police_criminal"
    assert event.priority == 2
    assert event.occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)
    assert event.reported_at == datetime(2026, 11, 22, 9, 21, tzinfo=BEIJING)
    assert event.department == "江门市公安局蓬江分局"
    assert event.summary == "电动车被盗，回拨138****5678"
    assert event.location is not None
    assert (event.location.lat, event.location.lon) == to_wgs84(22.58, 113.08, "gcj02")
    assert (event.location.adcode, event.location.town) == ("440703", "440703002")
    assert event.location.address == "蓬江区白沙街道某路1号"
    assert event.attrs["units"] == [{"id": "PJ-01", "type": "巡逻车", "status": "OnScene"},
                                    {"id": "PJ-07", "type": "摩托", "status": "Enroute"}]
    assert event.attrs["caller_name"] == "张*"
    assert event.attrs["caller_phone"] == "138****5678"
    assert event.attrs["incident_type"] == "Police.Theft"
    assert event.attrs["message_id"] == "m-0001"
    assert event.event_id == make_event_id("110", "110-20261122-000123", "2026-11-22T09:30:00+08:00",
                                           "dispatched")
    text = event.to_json().decode()
    assert "13812345678" not in text and "张三" not in text


def test_wgs84_feed_keeps_coordinates() -> None:
    event = _one(EIDO, datum="wgs84")
    assert event.location is not None and (event.location.lat, event.location.lon) == (22.58, 113.08)


def test_envelopes() -> None:
    expected = _one(EIDO).event_id
    for payload in ({"incidents": [EIDO]}, [EIDO], EIDO):
        parsed = _parse(payload)
        assert [p["event_id"] for p in parsed] == [expected]
    assert _parse({"incidents": []}) == []
    assert _parse([]) == []


@pytest.mark.parametrize(("text", "status"), [*cad.STATUSES.items(), ("onscene", "in_progress"),
                                              ("CLOSED", "closed")])
def test_status_table(text: str, status: str) -> None:
    event = _one(_eido(incidentComponent__incidentStatusCommonRegistryText=text))
    assert event.status == status


@pytest.mark.parametrize(("text", "category"), [
    ("Police.Theft", "police_criminal"), ("Police.Robbery.Armed", "police_criminal"),
    ("Police.Assault", "police_criminal"), ("Police.Fraud.Telecom", "police_criminal"),
    ("Police.Disturbance", "police_public_order"), ("Police.Fight", "police_public_order"),
    ("Police.Noise", "police_public_order"), ("Police.Lost", "police_public_order"),
    ("Police.AssistCitizen", "police_assist"), ("Police.Assist", "police_assist"),
    ("Police.TrafficViolation", "traffic_accident"),
    ("Fire.Building", "fire"), ("Fire.RescueWater", "rescue"), ("Rescue.Flood", "rescue"),
    ("Medical.Cardiac", "medical"), ("EMS.Transfer", "medical"), ("Traffic.Collision", "traffic_accident"),
    ("police.theft", "police_criminal"),
])
def test_type_table(text: str, category: str) -> None:
    event = _one(_eido(incidentComponent__incidentTypeCommonRegistryText=text))
    assert event.category == category
    assert event.attrs["incident_type"] == text


def test_tables_are_overridable_by_options() -> None:
    record = _eido(incidentComponent__incidentStatusCommonRegistryText="Parked")
    assert _one(record, statuses={"Parked": "accepted"}).status == "accepted"
    assert _one(EIDO, statuses={"Dispatched": "in_progress"}).status == "in_progress"
    assert _one(EIDO, types={"Police.Theft": "police_assist"}).category == "police_assist"
    other = _eido(incidentComponent__incidentTypeCommonRegistryText="Hazmat.Leak")
    assert _one(other, types={"Hazmat.*": "work_safety"}).category == "work_safety"


def test_summary_falls_back_to_type_and_address() -> None:
    event = _one(_eido(notesComponent=None))
    assert event.summary == "Police.Theft 蓬江区白沙街道某路1号"
    event = _one(_eido(notesComponent=[{"noteText": "  "}], locationComponent=None))
    assert event.summary == "Police.Theft"
    assert event.location is None


def test_optional_parts_may_be_missing() -> None:
    bare = {"lastUpdateTimeStamp": "2026-11-22T09:30:00Z", "incidentComponent": {
        "incidentTrackingIdentifier": 123, "incidentTypeCommonRegistryText": "Medical.Fall",
        "incidentStatusCommonRegistryText": "Created"}}
    event = _one(bare)
    assert event.case_id == "110:123" and event.priority == 3 and event.location is None
    assert event.reported_at is None and event.department is None and event.attrs == {
        "incident_type": "Medical.Fall"}
    assert event.occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def test_zero_coordinates_mean_no_position() -> None:
    loc = [{"locationByValue": {"type": "Point", "coordinates": [0, 0]}, "civicAddressText": "某路"}]
    event = _one(_eido(locationComponent=loc))
    assert event.location is not None and event.location.lat is None and event.location.address == "某路"


def test_non_point_geometry_has_no_position() -> None:
    loc = {"locationByValue": {"type": "Polygon", "coordinates": [[[113.0, 22.5], [113.1, 22.5]]]},
           "districtCode": "440703"}
    event = _one(_eido(locationComponent=loc))
    assert event.location is not None and event.location.lat is None and event.location.adcode == "440703"


def test_naive_times_are_beijing_and_tz_option() -> None:
    record = _eido(lastUpdateTimeStamp="2026-11-22 09:30:00")
    assert _one(record).occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)
    assert _one(record, tz="UTC").occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def test_event_id_follows_the_version() -> None:
    base = _one(EIDO).event_id
    assert _one(_eido(notesComponent=None)).event_id == base
    assert _one(_eido(lastUpdateTimeStamp="2026-11-22T09:31:00+08:00")).event_id != base
    assert _one(_eido(incidentComponent__incidentStatusCommonRegistryText="OnScene")).event_id != base


@pytest.mark.parametrize(("changes", "field"), [
    ({"incidentComponent": None}, "incidentComponent"),
    ({"incidentComponent": "x"}, "incidentComponent"),
    ({"incidentComponent__incidentTrackingIdentifier": None}, "incidentTrackingIdentifier"),
    ({"incidentComponent__incidentTrackingIdentifier": ["a"]}, "incidentTrackingIdentifier"),
    ({"incidentComponent__incidentStatusCommonRegistryText": None}, "incidentStatusCommonRegistryText"),
    ({"incidentComponent__incidentStatusCommonRegistryText": "Parked"}, "incidentStatusCommonRegistryText"),
    ({"incidentComponent__incidentTypeCommonRegistryText": None}, "incidentTypeCommonRegistryText"),
    ({"incidentComponent__incidentTypeCommonRegistryText": "Alien.Landing"},
     "incidentTypeCommonRegistryText"),
    ({"incidentComponent__incidentPriority": 0}, "incidentPriority"),
    ({"incidentComponent__incidentPriority": 5}, "incidentPriority"),
    ({"incidentComponent__incidentPriority": "urgent"}, "incidentPriority"),
    ({"incidentComponent__incidentPriority": 1.5}, "incidentPriority"),
    ({"incidentComponent__incidentCreationTimeStamp": "09:21"}, "incidentCreationTimeStamp"),
    ({"lastUpdateTimeStamp": None}, "lastUpdateTimeStamp"),
    ({"lastUpdateTimeStamp": "2026-11-32T09:30:00+08:00"}, "lastUpdateTimeStamp"),
    ({"locationComponent": [{"locationByValue": {"type": "Point", "coordinates": [113.08]}}]},
     "coordinates"),
    ({"locationComponent": [{"locationByValue": {"type": "Point", "coordinates": "113,22"}}]},
     "coordinates"),
    ({"locationComponent": [{"locationByValue": {"type": "Point", "coordinates": [113.08, 95]}}]},
     "coordinates"),
    ({"locationComponent": [{"locationByValue": {"type": "Point", "coordinates": [200, 22]}}]},
     "coordinates"),
    ({"locationComponent": [{"locationByValue": "POINT(113 22)"}]}, "locationByValue"),
    ({"locationComponent": [{"districtCode": "4407"}]}, "districtCode"),
    ({"locationComponent": [{"townCode": "440703"}]}, "townCode"),
    ({"locationComponent": 5}, "locationComponent"),
])
def test_bad_fields_are_rejected_by_name(changes: dict[str, Any], field: str) -> None:
    reject = _reject(_eido(**changes))
    assert reject.reason.startswith(f"{field}: "), reject.reason
    assert "13812345678" not in reject.raw and "张三" not in reject.raw


def test_reject_carries_the_case_key() -> None:
    reject = _reject(_eido(incidentComponent__incidentPriority=9))
    assert reject.record_key == "110:110-20261122-000123"


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe", b"{", b"[1,", b'{"incidents": {"a": 1}}',
                                     b"[" * 100 + b"]" * 100, b'{"a": NaN}'])
def test_unreadable_payloads_give_one_reject(payload: bytes) -> None:
    parsed = list(cad.parse(payload, OPTS))
    assert len(parsed) == 1 and isinstance(parsed[0], Reject)
    assert re.match(r"^(payload|incidents): ", parsed[0].reason), parsed[0].reason


def test_non_object_records_are_rejected() -> None:
    parsed = _parse([1, None, "x", EIDO])
    assert [p.reason for p in parsed[:3]] == ["record: not an object (int)",
                                              "record: not an object (NoneType)",
                                              "record: not an object (str)"]
    assert isinstance(parsed[3], dict)


# --- fuzzing -------------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(["Dispatched", "OnScene", "Police.Fight", "Fire.X", "2026-11-22T09:30:00Z",
                              "2026-11-22 09:30", "440703", "440703002", "13812345678", "0", " "]))
JSON_VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=6)
PATHS = [
    "eidoMessageIdentifier", "lastUpdateTimeStamp", "incidentComponent", "locationComponent",
    "callComponent", "emergencyResourceComponent", "notesComponent", "agencyComponent",
    *(f"incidentComponent.{k}" for k in EIDO["incidentComponent"]),
    *(f"locationComponent.0.{k}" for k in EIDO["locationComponent"][0]),
    "locationComponent.0.locationByValue.coordinates", "locationComponent.0.locationByValue.type",
    "locationComponent.0.locationByValue.coordinates.0", "locationComponent.0.locationByValue.coordinates.1",
    "callComponent.0.callbackNumber", "emergencyResourceComponent.0.unitStatus", "notesComponent.0.noteText",
    "agencyComponent.agencyName",
]


def _set(record: Any, path: str, value: Any) -> None:
    """Set a nested value; a no-op when an earlier mutation replaced a parent."""
    parts = path.split(".")
    node = record
    for depth, part in enumerate(parts, start=1):
        if isinstance(node, list) and not (part.isdigit() and int(part) < len(node)):
            return
        if not isinstance(node, dict | list):
            return
        key: Any = int(part) if isinstance(node, list) else part
        if depth == len(parts):
            node[key] = value
            return
        node = node[key] if isinstance(node, list) else node.get(key)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(payload: bytes) -> None:
    check_outputs(list(cad.parse(payload, OPTS)))


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")  # prcoords, for GCJ-02 abroad
@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES), max_size=4),
       st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_fuzz_mutated_records(mutations: list[tuple[str, Any]], datum: str) -> None:
    record = copy.deepcopy(EIDO)
    for path, value in mutations:
        _set(record, path, value)
    parsed = _parse({"incidents": [record]}, datum=datum)
    assert len(parsed) == 1
    check_outputs(parsed)
