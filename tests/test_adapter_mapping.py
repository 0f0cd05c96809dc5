"""The declarative mapping engine and the CSV/XLSX drop-file adapter built on it."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.contract.event import Event, make_event_id
from dashboard.contract.geo import to_wgs84
from feeds.adapters import mapping as m
from feeds.adapters import tabular
from feeds.adapters.base import Reject, normalise
from tests.conftest import examples
from tests.contract import check_outputs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BEIJING = timezone(timedelta(hours=8))
OPTS: dict[str, Any] = {"source": "wg", "datum": "wgs84"}
FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE: dict[str, Any] = {
    "kind": {"const": "case"},
    "case_id": "id",
    "status": {"path": "state", "map": {"0": "reported", "1": "in_progress", "2": "closed"}},
    "occurred_at": "updated",
}
RECORD: dict[str, Any] = {"id": "R-1", "state": "1", "updated": "2026-11-22 09:30:00"}


def _apply(record: Any, extra: dict[str, Any] | None = None, **options: Any) -> dict[str, Any] | Reject:
    spec = {**BASE, **(extra or {})}
    return m.apply_mapping(record, m.compile_mapping(spec), {**OPTS, **options})


def _event(record: Any, extra: dict[str, Any] | None = None, **options: Any) -> Event:
    cand = _apply(record, extra, **options)
    assert isinstance(cand, dict), cand
    event = normalise(cand)
    assert isinstance(event, Event), event
    return event


def _reject(record: Any, extra: dict[str, Any] | None = None, **options: Any) -> Reject:
    result = _apply(record, extra, **options)
    assert isinstance(result, Reject), result
    return result



# --- compiling specs -----------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"colour": "x"}, "unknown keys ['colour']"),
    ({"case_id": None}, "no spec for required fields ['case_id']"),
    ({"kind": 3}, "kind: a spec is a path"),
    ({"kind": []}, "kind: a spec is a path"),
    ({"kind": ""}, "kind: a spec is a path"),
    ({"kind": ["a", 1]}, "kind: a spec is a path"),
    ({"summary": {"path": "a", "paths": ["b"]}}, "summary: give `path` or `paths`"),
    ({"summary": {"const": "a", "default": "b"}}, "summary: `const` stands alone"),
    ({"summary": {"map": {"a": "b"}}}, "summary: needs `path`, `paths`, `const` or `default`"),
    ({"summary": {"path": "a", "colour": 1}}, "summary: unknown spec keys ['colour']"),
    ({"summary": {"path": 1}}, "summary: `path` must be a non-empty string"),
    ({"summary": {"paths": "a"}}, "summary: `paths` must be a non-empty list"),
    ({"summary": {"path": "a", "map": ["x"]}}, "summary: `map` must be a table"),
    ({"priority": {"path": "a", "type": "decimal"}}, "priority: `type` must be one of"),
    ({"occurred_at": {"path": "a", "time": "ISO"}}, "occurred_at: `time` must be"),
    ({"occurred_at": {"path": "a", "time": []}}, "occurred_at: `time` must be"),
    ({"occurred_at": {"path": "a", "tz": "Mars/Olympus"}}, "occurred_at: unknown time zone"),
    ({"datum": "osgb36"}, "datum: 'osgb36' is not one of"),
    ({"id": []}, "id: expected a path"),
    ({"id": ["a", ""]}, "id: expected a path"),
    ({"records": ["data"]}, "records: expected a dotted path"),
    ({"cursor": 5}, "cursor: expected a dotted path"),
    ({"attrs": ["a"]}, "attrs: expected a table"),
    ({"attrs": {"x": 5}}, "attrs.x: a spec is a path"),
])
def test_bad_specs_raise_value_error(change: dict[str, Any], message: str) -> None:
    spec = {**BASE, **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(ValueError, match=re.escape(message)):
        m.compile_mapping(spec)


def test_compile_is_idempotent_and_accepts_every_form() -> None:
    compiled = m.compile_mapping({**BASE, "records": "data.items", "cursor": "updated", "id": "id",
                                  "datum": "gcj02", "summary": ["a", "b"], "attrs": {"x": "y"}})
    assert m.compile_mapping(compiled) is compiled
    assert (compiled["records"], compiled["cursor"], compiled["id"], compiled["datum"]) == (
        "data.items", "updated", ("id",), "gcj02")
    assert compiled["fields"]["summary"].paths == ("a", "b")
    assert compiled["attrs"]["x"].name == "attrs.x"
    with pytest.raises(ValueError):
        m.compile_mapping("not a table")  # type: ignore[arg-type]


# --- spec forms ----------------------------------------------------------------------------


def test_plain_dotted_and_indexed_paths() -> None:
    record = {**RECORD, "who": {"dept": "城管"}, "items": [{"x": "first"}, {"x": "second"}],
              "a.b": "whole key"}
    event = _event(record, {"department": "who.dept", "summary": "items.1.x", "village": "a.b"})
    assert event.department == "城管" and event.summary == "second"
    assert event.location is not None and event.location.village == "whole key"
    assert _event(record, {"summary": "items.7.x"}).summary == ""
    assert _event(record, {"summary": "who.dept.deeper"}).summary == ""
    assert _event(record, {"summary": "items.x"}).summary == ""


def test_candidate_list_takes_first_present_and_not_empty() -> None:
    record = {**RECORD, "a": "", "b": None, "c": "  ", "d": [], "e": "found", "f": "later"}
    assert _event(record, {"summary": ["a", "b", "c", "d", "missing", "e", "f"]}).summary == "found"
    assert _event(record, {"summary": {"paths": ["a", "f"]}}).summary == "later"


def test_const_map_and_default() -> None:
    assert _event(RECORD, {"category": {"const": "dispute"}}).category == "dispute"
    spec = {"category": {"path": "cat", "map": {"A": "dispute", "B": "epidemic"}, "default": "other"}}
    assert _event({**RECORD, "cat": "B"}, spec).category == "epidemic"
    assert _event({**RECORD, "cat": " A "}, spec).category == "dispute"  # stripped
    assert _event({**RECORD, "cat": "Z"}, spec).category == "other"  # a miss uses default
    assert _event(RECORD, spec).category == "other"  # missing uses default
    # map compares text: 1, "1" and 1.0 (a spreadsheet number) all hit "1"
    for state in (1, "1", 1.0):
        assert _event({**RECORD, "state": state}).status == "in_progress"


def test_map_miss_without_default_rejects_with_value() -> None:
    reject = _reject({**RECORD, "state": "9"})
    assert reject.reason == "status: unmapped value '9'"
    assert reject.record_key == "R-1"


@pytest.mark.parametrize(("spec", "value", "expected"), [
    ({"type": "int"}, "2", 2), ({"type": "int"}, 2.0, 2), ({"type": "int"}, " 3 ", 3),
    ({"type": "float"}, "1.5", 1.5), ({"type": "str"}, 12, "12"), ({"type": "str"}, 12.0, "12"),
    ({"type": "str"}, True, "true"), ({}, {"nested": [1]}, {"nested": [1]}),
    ({"map": {"高": 1, "低": 4}}, "高", 1), ({"map": {"1": "yes"}, "type": "str"}, 1, "yes"),
])
def test_type_coercion_in_attrs(spec: dict[str, Any], value: Any, expected: Any) -> None:
    event = _event({**RECORD, "v": value}, {"attrs": {"v": {"path": "v", **spec}}})
    assert event.attrs["v"] == expected


@pytest.mark.parametrize(("spec", "value"), [
    ({"type": "int"}, "two"), ({"type": "int"}, 2.5), ({"type": "int"}, True),
    ({"type": "float"}, "x"), ({"type": "float"}, "nan"), ({"type": "str"}, {"a": 1}),
    ({"type": "str"}, [1]), ({"map": {"a": 1}}, "b"), ({"time": "iso"}, "not a time"),
])
def test_bad_attr_values_reject_naming_the_attr(spec: dict[str, Any], value: Any) -> None:
    reject = _reject({**RECORD, "v": value}, {"attrs": {"v": {"path": "v", **spec}}})
    assert reject.reason.startswith("attrs.v: "), reject.reason


def test_implicit_conversions() -> None:
    record = {**RECORD, "prio": "2", "code": 440703, "town": 440703002.0, "lat": "22.58", "lon": 113.08}
    event = _event(record, {"priority": "prio", "adcode": "code", "town": "town", "lat": "lat", "lon": "lon"})
    assert event.priority == 2
    assert event.location is not None
    assert (event.location.adcode, event.location.town) == ("440703", "440703002")
    assert (event.location.lat, event.location.lon) == (22.58, 113.08)
    assert _reject({**RECORD, "prio": "high"}, {"priority": "prio"}).reason.startswith("priority: ")
    assert _reject({**RECORD, "id": {"x": 1}}).reason.startswith("case_id: ")


@pytest.mark.parametrize(("value", "spec", "expected"), [
    ("2026-11-22 09:30:00", {}, datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)),
    ("2026-11-22T09:30:00", {}, datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)),
    ("2026-11-22T09:30:00.250+08:00", {}, datetime(2026, 11, 22, 9, 30, 0, 250000, tzinfo=BEIJING)),
    ("2026-11-22T01:30:00Z", {}, datetime(2026, 11, 22, 1, 30, tzinfo=UTC)),
    ("2026-11-22T09:30:00-05:00", {"time": "iso"}, datetime(2026, 11, 22, 14, 30, tzinfo=UTC)),
    ("2026-11-22 09:30:00", {"tz": "UTC"}, datetime(2026, 11, 22, 9, 30, tzinfo=UTC)),
    (1795311000, {"time": "epoch_s"}, datetime(2026, 11, 22, 1, 30, tzinfo=UTC)),
    ("1795311000", {"time": "epoch_s"}, datetime(2026, 11, 22, 1, 30, tzinfo=UTC)),
    (1795311000500, {"time": "epoch_ms"}, datetime(2026, 11, 22, 1, 30, 0, 500000, tzinfo=UTC)),
    ("2026/11/22 09:30", {"time": "%Y/%m/%d %H:%M"}, datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)),
    (20261122, {"time": "%Y%m%d"}, datetime(2026, 11, 22, tzinfo=BEIJING)),
    ("22/11/2026", {"time": ["iso", "%d/%m/%Y"]}, datetime(2026, 11, 22, tzinfo=BEIJING)),
    (datetime(2026, 11, 22, 9, 30), {}, datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)),
    (date(2026, 11, 22), {}, datetime(2026, 11, 22, tzinfo=BEIJING)),
])
def test_time_specs(value: Any, spec: dict[str, Any], expected: datetime) -> None:
    event = _event({**RECORD, "t": value}, {"occurred_at": {"path": "t", **spec}})
    assert event.occurred_at == expected


@pytest.mark.parametrize(("value", "spec"), [
    ("yesterday", {}), ("2026-11-22 25:00:00", {}), (1795311000, {}), ("x", {"time": "epoch_s"}),
    (10**30, {"time": "epoch_ms"}), ("2026-11-22", {"time": "%d/%m/%Y"}), (True, {"time": "epoch_s"}),
    ("1900-01-01T00:00:00", {}), ("2150-01-01T00:00:00", {}), ({"a": 1}, {}),
])
def test_bad_times_reject_naming_the_field(value: Any, spec: dict[str, Any]) -> None:
    reject = _reject({**RECORD, "t": value}, {"occurred_at": {"path": "t", **spec}})
    assert reject.reason.startswith("occurred_at: "), reject.reason


@pytest.mark.parametrize("field", ["case_id", "occurred_at", "status", "kind"])
def test_missing_required_field_rejects_naming_it(field: str) -> None:
    record = {**RECORD, "kind": "case"}
    extra = {"kind": "kind"}
    path = {"case_id": "id", "occurred_at": "updated", "status": "state", "kind": "kind"}[field]
    for empty in (None, "", "   "):
        reject = _reject({**record, path: empty}, extra)
        assert reject.reason == f"{field}: missing"
    assert _reject({k: v for k, v in record.items() if k != path}, extra).reason == f"{field}: missing"


def test_status_const_or_default_needs_no_value() -> None:
    record = {k: v for k, v in RECORD.items() if k != "state"}
    assert _event(record, {"status": {"const": "reported"}}).status == "reported"
    assert _event(record, {"status": {"path": "state", "default": "accepted"}}).status == "accepted"


def test_category_falls_back_to_options_then_other() -> None:
    assert _event(RECORD).category == "other"
    assert _event(RECORD, default_category="petition").category == "petition"
    assert _event(RECORD, {"category": "cat"}, default_category="petition").category == "petition"


def test_invalid_enum_values_are_rejected_by_normalise_naming_the_field() -> None:
    cand = _apply(RECORD, {"category": {"const": "aliens"}})
    assert isinstance(cand, dict)
    result = normalise(cand)
    assert isinstance(result, Reject) and result.reason.startswith("category: ")


def test_event_ids() -> None:
    event = _event(RECORD)
    assert event.event_id == make_event_id("wg", "R-1", "in_progress", "2026-11-22T09:30:00+08:00")
    assert event.case_id == "wg:R-1"
    custom = _event({**RECORD, "ver": 7}, {"id": ["id", "ver"]})
    assert custom.event_id == make_event_id("wg", "R-1", "7")
    assert _event({**RECORD, "ver": 8}, {"id": ["id", "ver"]}).event_id != custom.event_id
    assert _event({**RECORD, "ver": [1, "a"]}, {"id": "ver"}).event_id == make_event_id("wg", '[1,"a"]')
    # a missing part would merge versions, so it is a reject
    assert _reject(RECORD, {"id": ["id", "ver"]}).reason == "id: no value at 'ver'"


def test_location_only_when_a_location_field_is_present() -> None:
    spec = {"lat": "y", "lon": "x", "address": "addr", "grid": "g"}
    assert _event(RECORD, spec).location is None
    only_address = _event({**RECORD, "addr": "某路1号"}, spec)
    assert only_address.location is not None and only_address.location.address == "某路1号"
    assert only_address.location.lat is None
    zeros = _event({**RECORD, "y": 0, "x": "0", "g": "G-1"}, spec)
    assert zeros.location is not None and zeros.location.lat is None and zeros.location.grid == "G-1"
    half = _event({**RECORD, "y": 22.5}, spec)  # a latitude without a longitude is no position
    assert half.location is None


def test_coordinates_convert_with_mapping_datum_over_options() -> None:
    record = {**RECORD, "y": 22.58, "x": 113.08}
    spec = {"lat": "y", "lon": "x"}
    by_options = _event(record, spec, datum="gcj02")
    assert by_options.location is not None
    assert (by_options.location.lat, by_options.location.lon) == to_wgs84(22.58, 113.08, "gcj02")
    by_mapping = _event(record, {**spec, "datum": "bd09"}, datum="gcj02")
    assert by_mapping.location is not None
    assert (by_mapping.location.lat, by_mapping.location.lon) == to_wgs84(22.58, 113.08, "bd09")
    assert _event(record, spec).location.lat == 22.58  # type: ignore[union-attr]


@pytest.mark.parametrize(("lat", "lon", "field"), [
    (91, 113, "lat"), (-90.5, 113, "lat"), (22, 181, "lon"), ("north", 113, "lat"), (22, [1], "lon"),
    (True, 113, "lat"),
])
def test_bad_coordinates_reject_naming_the_field(lat: Any, lon: Any, field: str) -> None:
    reject = _reject({**RECORD, "y": lat, "x": lon}, {"lat": "y", "lon": "x"})
    assert reject.reason.startswith(f"{field}: "), reject.reason


def test_attrs_sub_specs_and_masking() -> None:
    record = {**RECORD, "caller": {"name": "王五", "tel": "13812345678"}, "due": 1795311000}
    spec = {"attrs": {"caller_name": "caller.name", "caller_phone": "caller.tel",
                      "due_at": {"path": "due", "time": "epoch_s"}, "absent": "nope",
                      "level": {"path": "nope", "default": "一般"}}}
    event = _event(record, spec)
    assert event.attrs == {"caller_name": "王*", "caller_phone": "138****5678",
                           "due_at": "2026-11-22T01:30:00+00:00", "level": "一般"}
    assert "13812345678" not in event.to_json().decode()


def test_long_free_text_is_clipped() -> None:
    record = {**RECORD, "s": "长" * 600, "a": "址" * 250, "d": "部" * 120}
    event = _event(record, {"summary": "s", "address": "a", "department": "d"})
    assert len(event.summary) == 500 and event.location is not None
    assert len(event.location.address or "") == 200 and len(event.department or "") == 100


def test_non_object_record_is_rejected() -> None:
    for record in (["a"], "text", 5, None):
        assert _reject(record).reason.startswith("record: not an object")


# --- parse_json, cursor, profiles -----------------------------------------------------------


def test_parse_json_records_path() -> None:
    spec = {**BASE, "records": "data.items", "cursor": "updated"}
    body = json.dumps({"data": {"items": [RECORD, {**RECORD, "id": "R-2"}, "junk"]}}).encode()
    parsed = list(m.parse_json(body, {**OPTS, "mapping": spec}))
    assert [p["case_id"] for p in parsed[:2]] == ["wg:R-1", "wg:R-2"]
    assert isinstance(parsed[2], Reject) and parsed[2].reason == "record: not an object (str)"
    assert m.cursor_value(RECORD, spec) == "2026-11-22 09:30:00"
    assert m.cursor_value(RECORD, m.compile_mapping(spec)) == "2026-11-22 09:30:00"
    assert m.cursor_value({}, spec) is None and m.cursor_value(RECORD, BASE) is None
    top = list(m.parse_json(json.dumps([RECORD]).encode(), {**OPTS, "mapping": BASE}))
    assert len(top) == 1 and isinstance(top[0], dict)


@pytest.mark.parametrize(("body", "reason"), [
    (b"{oops", "payload: "), (b"\xef\xbb\xbf{oops", "payload: "), (b'{"data": 1}', "records: "),
    (b'{"data": {"items": {"id": 1}}}', "records: "), (b"[]", None), (b"\xef\xbb\xbf[]", None),
])
def test_parse_json_document_errors(body: bytes, reason: str | None) -> None:
    parsed = list(m.parse_json(body, {**OPTS, "mapping": {**BASE, "records": "data.items"}}))
    if reason is None:
        assert parsed == [] or isinstance(parsed[0], Reject)
    else:
        assert len(parsed) == 1 and isinstance(parsed[0], Reject) and parsed[0].reason.startswith(reason)


def test_profiles() -> None:
    profile = m.load_profile("csv311")
    assert profile["kind"] == {"const": "case"}
    m.compile_mapping(profile)
    assert m.resolve_mapping("csv311") == profile
    assert m.resolve_mapping(BASE) == BASE
    overlaid = m.resolve_mapping({"profile": "csv311", "category": {"const": "market"},
                                  "attrs": {"extra": "x"}})
    assert overlaid["category"] == {"const": "market"} and "profile" not in overlaid
    assert overlaid["attrs"]["extra"] == "x" and overlaid["attrs"]["type"] == profile["attrs"]["type"]
    compiled = m.compile_mapping(BASE)
    assert m.resolve_mapping(compiled) is compiled
    for bad in ("../systems", "no_such_profile", "", 5):
        with pytest.raises(ValueError):
            m.resolve_mapping(bad)  # type: ignore[arg-type]


# --- tabular: CSV and XLSX -----------------------------------------------------------------

SHEET_SPEC: dict[str, Any] = {
    "kind": {"const": "case"}, "case_id": "编号",
    "status": {"path": "状态", "map": {"待办": "reported", "办结": "closed"}},
    "category": {"const": "market"}, "occurred_at": "时间", "summary": "内容", "priority": "级别",
    "adcode": "区划", "attrs": {"caller_phone": "电话"},
}
SHEET = [["编号", "状态", "时间", "内容", "级别", "区划", "电话"],
         ["SJ-1", "待办", "2026-11-22 09:30:00", "缺斤少两", 2, 440703, "13812345678"],
         [None, None, None, None, None, None, None],
         ["SJ-2", "办结", datetime(2026, 11, 22, 10, 0), "过期食品", "3", "440704", None],
         ["SJ-3", "挂起", "2026-11-22 11:00:00", "x", 1, "440705", None]]


def _csv(rows: list[list[Any]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _check_sheet(parsed: list[Any]) -> None:
    assert len(parsed) == 3, parsed  # the blank row is skipped
    first, second = normalise(parsed[0]), normalise(parsed[1])
    assert isinstance(first, Event) and isinstance(second, Event)
    assert (first.case_id, first.status, first.priority) == ("sj:SJ-1", "reported", 2)
    assert first.summary == "缺斤少两"
    assert first.occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=BEIJING)
    assert first.location is not None and first.location.adcode == "440703"
    assert first.attrs["caller_phone"] == "138****5678"
    assert (second.status, second.priority) == ("closed", 3)
    assert second.occurred_at == datetime(2026, 11, 22, 10, 0, tzinfo=BEIJING)
    third = parsed[2]
    assert isinstance(third, Reject)
    assert third.reason == "status: unmapped value '挂起'" and third.record_key == "row 5"


def test_xlsx_workbook(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in SHEET:
        sheet.append(row)
    book.create_sheet("ignored").append(["编号"])
    path = tmp_path / "drop.xlsx"
    book.save(path)
    _check_sheet(list(tabular.parse(path.read_bytes(), {"source": "sj", "mapping": SHEET_SPEC})))


def test_gb18030_csv() -> None:
    body = _csv([[str(c) if c is not None else "" for c in r] for r in SHEET]).encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    _check_sheet(list(tabular.parse(body, {"source": "sj", "mapping": SHEET_SPEC})))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_csv_delimiters_and_bom(delimiter: str, bom: bytes) -> None:
    rows = [[str(c) if c is not None else "" for c in r] for r in SHEET]
    rows[3][2] = "2026-11-22 10:00:00"
    body = bom + _csv(rows, delimiter).encode("utf-8")
    _check_sheet(list(tabular.parse(body, {"source": "sj", "mapping": SHEET_SPEC})))


def test_mapping_by_profile_name_and_default_profile() -> None:
    body = _csv([["case_enquiry_id", "open_dt", "case_status", "case_title", "latitude", "longitude"],
                 ["1", "2022-01-21 13:47:00", "Open", "Pothole", "42.3594", "-71.0587"]]).encode()
    by_default = list(tabular.parse(body, {"source": "x311"}))
    by_name = list(tabular.parse(body, {"source": "x311", "mapping": "csv311"}))
    assert by_default == by_name and len(by_default) == 1
    event = normalise(by_default[0])
    assert isinstance(event, Event) and event.summary == "Pothole" and event.status == "reported"


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "file: empty"), (b"  \r\n", "file: empty"), (b"\x81\x30\xff\xff\xfe", "file: neither UTF-8"),
    (b"PK\x03\x04not really a zip", "file: unreadable XLSX"), (b",,,\r\n1,2,3\r\n", "file: no header"),
    (b'id,x\r\n"unterminated\x00', None),
])
def test_unreadable_files_give_one_reject(body: bytes, reason: str | None) -> None:
    parsed = list(tabular.parse(body, {"source": "sj", "mapping": SHEET_SPEC}))
    if reason is not None:
        assert len(parsed) == 1 and isinstance(parsed[0], Reject) and parsed[0].reason.startswith(reason)
    check_outputs(parsed)


def test_header_only_and_ragged_rows() -> None:
    assert list(tabular.parse("编号,状态\r\n".encode(), {"source": "sj", "mapping": SHEET_SPEC})) == []
    body = _csv([SHEET[0], ["SJ-9", "待办", "2026-11-22 09:30:00"], ["SJ-8", "待办"] + [""] * 8]).encode()
    parsed = list(tabular.parse(body, {"source": "sj", "mapping": SHEET_SPEC}))
    assert isinstance(parsed[0], dict) and parsed[0]["case_id"] == "sj:SJ-9"
    assert isinstance(parsed[1], Reject) and parsed[1].reason == "occurred_at: missing"
    assert parsed[1].record_key == "row 3"


OPTS_311 = {"source": "x311"}


def test_real_311_csv_first_rows() -> None:
    root = DATA / "open311" / "service_requests_csv"
    if not root.is_dir():
        pytest.skip(f"sample data not found at {root}")
    boston = [normalise(p) for p in tabular.parse((root / "boston311-100.csv").read_bytes(), OPTS_311)]
    first = boston[1]
    assert isinstance(first, Event)
    assert (first.case_id, first.status, first.summary, first.department) == (
        "x311:101004130437", "closed", "Needle Pickup", "GEN_")
    assert first.occurred_at == datetime(2022, 1, 19, 11, 42, 16, tzinfo=BEIJING)  # closed_dt
    assert first.reported_at == datetime(2022, 1, 19, 11, 18, tzinfo=BEIJING)  # open_dt
    assert first.location is not None and (first.location.lat, first.location.lon) == (42.3634, -71.0566)
    assert first.location.address == "42 Cross St  Boston  MA  02113"
    nyc = [normalise(p) for p in tabular.parse((root / "NYC311-5.csv").read_bytes(), OPTS_311)]
    open_case = nyc[2]
    assert isinstance(open_case, Event)
    assert (open_case.case_id, open_case.status) == ("x311:20520945", "reported")
    # still open: the version time is NYC's last resolution update, not the creation time
    assert open_case.occurred_at == datetime(2011, 6, 15, 0, 0, tzinfo=BEIJING)
    assert open_case.reported_at == datetime(2011, 5, 27, 0, 0, tzinfo=BEIJING)
    assert open_case.location is not None and open_case.location.lat is None
    assert open_case.location.address == "1700 BEDFORD AVENUE"
    closed = nyc[0]
    assert isinstance(closed, Event)
    assert closed.occurred_at == datetime(2016, 10, 31, 23, 25, 37, tzinfo=BEIJING)


# --- fuzzing -------------------------------------------------------------------------------

FUZZ_SPEC: dict[str, Any] = {
    **BASE, "records": "items", "category": {"path": "cat", "map": {"a": "dispute"}, "default": "other"},
    "priority": "prio", "reported_at": {"path": "created", "time": ["epoch_ms", "iso"]},
    "summary": ["text", "title"], "department": "dept", "lat": "pos.lat", "lon": "pos.lon", "adcode": "code",
    "town": "town", "village": "village", "grid": "grid", "address": "addr",
    "attrs": {"phone": "tel", "n": {"path": "n", "type": "int"}, "f": {"path": "f", "type": "float"},
              "when": {"path": "when", "time": "%Y%m%d"}},
}
FUZZ_KEYS = ["id", "state", "updated", "cat", "prio", "created", "text", "title", "dept", "pos", "pos.lat",
             "pos.lon", "code", "town", "village", "grid", "addr", "tel", "n", "f", "when"]
SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(["0", "1", "2", "2026-11-22 09:30:00", "1795311000000", "440703", "440703002",
                              "22.5", "113.1", "-91", "20261122", "13812345678", " ", "a"]))
JSON_VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=6)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_parse_json_random_bytes(payload: bytes) -> None:
    check_outputs(list(m.parse_json(payload, {**OPTS, "mapping": FUZZ_SPEC})))


@pytest.mark.filterwarnings("ignore:Non-Chinese coords:UserWarning")  # prcoords, for GCJ-02 abroad
@FUZZ
@given(st.dictionaries(st.sampled_from(FUZZ_KEYS), JSON_VALUES, max_size=10),
       st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_fuzz_mutated_records(changes: dict[str, Any], datum: str) -> None:
    record: dict[str, Any] = {**RECORD, "pos": {"lat": 22.58, "lon": 113.08}, "code": "440703"}
    record.update(changes)
    body = json.dumps({"items": [record]}).encode()
    parsed = list(m.parse_json(body, {**OPTS, "datum": datum, "mapping": FUZZ_SPEC}))
    assert len(parsed) == 1
    check_outputs(parsed)


@FUZZ
@given(st.binary(max_size=300) | st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b))
def test_fuzz_tabular_random_bytes(payload: bytes) -> None:
    check_outputs(list(tabular.parse(payload, {"source": "sj", "mapping": SHEET_SPEC})))
    check_outputs(list(tabular.parse(payload, {"source": "x311"})))


CELL = st.text(st.characters(blacklist_categories=("Cs",)), max_size=15) | st.sampled_from(
    ["待办", "办结", "2026-11-22 09:30:00", "1", "5", "440703", "", ",", '"', "\n", ";"])


@FUZZ
@given(st.lists(st.lists(CELL, max_size=8), max_size=5), st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       st.sampled_from([",", ";", "\t", "|"]))
def test_fuzz_csv_cells(rows: list[list[str]], encoding: str, delimiter: str) -> None:
    text = _csv([SHEET[0], *rows], delimiter)
    try:
        body = text.encode(encoding)
    except UnicodeEncodeError:
        body = text.encode("utf-8")
    check_outputs(list(tabular.parse(body, {"source": "sj", "mapping": SHEET_SPEC})))


XLSX_CELL = (st.none() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False)
             | st.booleans() | st.datetimes(datetime(1960, 1, 1), datetime(2200, 1, 1))
             | st.text(st.characters(whitelist_categories=("L", "N", "P", "Zs")), max_size=15)
             | st.sampled_from(["待办", "办结", "2026-11-22 09:30:00", "440703"]))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(XLSX_CELL, min_size=7, max_size=7), max_size=4))
def test_fuzz_xlsx_cells(rows: list[list[Any]]) -> None:
    book = openpyxl.Workbook()
    for row in [SHEET[0], *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    check_outputs(list(tabular.parse(out.getvalue(), {"source": "sj", "mapping": SHEET_SPEC})))
