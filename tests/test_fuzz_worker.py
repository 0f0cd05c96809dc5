"""Fuzzed payloads through the worker's own path (pipeline → sink, real Redis): nothing raises,
every reject is in the dead-letter stream, every event in its stream."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.contract.systems import load_feeds
from feeds.adapters.base import Reject
from feeds.pipeline import Pipeline
from feeds.sink import StreamSink
from tests.conftest import examples

T = "2026-11-22T09:30:00+08:00"
VALID: dict[str, Any] = {
    "open311": [{"service_request_id": "A1", "status": "open", "description": "路灯不亮 13812345678",
                 "requested_datetime": T, "updated_datetime": T, "lat": 22.58, "long": 113.08,
                 "extended_attributes": {"workflow_status": "accepted", "caller_phone": "13812345678"}}],
    "cad": {"incidents": [{"lastUpdateTimeStamp": T, "incidentComponent": {
        "incidentTrackingIdentifier": "110-1", "incidentTypeCommonRegistryText": "Police.Theft",
        "incidentStatusCommonRegistryText": "Dispatched", "incidentPriority": 2},
        "locationComponent": [{"locationByValue": {"type": "Point", "coordinates": [113.08, 22.58]}}]}]},
    "typhoon-json": [{"tfbh": "202299", "name": "测试", "ename": "Test", "land": [], "points": [
        {"time": "2022-07-02T08:00:00", "lng": 113.1, "lat": 21.5, "strong": "台风(TY)", "power": 12,
         "speed": 33, "pressure": 970, "radius7": 300, "radius7_quad": {"ne": 300, "se": 300, "sw": 250, "nw": 250}}]}],
}
CAP = (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>44070041600000_20221122093000'
       b'</identifier><sender>jm</sender><sent>2026-11-22T09:30:00+08:00</sent><status>Actual</status>'
       b'<msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>\xe5\x8f\xb0\xe9\xa3\x8e'
       b'</event><urgency>Expected</urgency><severity>Moderate</severity><certainty>Likely</certainty>'
       b'<headline>\xe9\xbb\x84\xe8\x89\xb2</headline><area><areaDesc>x</areaDesc>'
       b'<polygon>22.5,113.0 22.6,113.1 22.5,113.2 22.5,113.0</polygon></area></info></alert>')
BST = b"66666 2299   02 0099 2299 0 6 TEST                            20230101\n2022070200 4 215 1131  970      33\n"

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                    st.text(max_size=40), st.sampled_from(["", "null", "9999-99-99", "1e309", "13812345678"]))


def _mutate(doc: Any, path: list[Any], value: Any) -> Any:
    if not path or not isinstance(doc, dict | list) or not doc:
        return value
    key = list(doc)[path[0] % len(doc)] if isinstance(doc, dict) else path[0] % len(doc)
    doc = dict(doc) if isinstance(doc, dict) else list(doc)
    doc[key] = _mutate(doc[key], path[1:], value)
    return doc


def _byte_mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(0, len(valid)), st.integers(0, 40), st.binary(max_size=30)).map(
        lambda t: valid[: t[0]] + t[2] + valid[t[0] + t[1]:])


def _payloads(adapter: str) -> st.SearchStrategy[bytes]:
    random_bytes = st.binary(max_size=300)
    if adapter in VALID:
        mutated = st.tuples(st.lists(st.integers(0, 50), max_size=5), scalars).map(
            lambda t: orjson.dumps(_mutate(VALID[adapter], t[0], t[1])))
        return st.one_of(random_bytes, mutated, _byte_mutations(orjson.dumps(VALID[adapter])))
    valid = {"cap": CAP, "cma-bst": BST, "csv": "投诉编号,状态,更新时间\nA1,待分流,2026-11-22 09:30:00\n".encode(),
             "json": orjson.dumps({"data": {"list": [{"reportId": "W1", "status": "10",
                                                       "updateTime": "2026-11-22 09:30:00"}]}})}[adapter]
    return st.one_of(random_bytes, _byte_mutations(valid))


OPTIONS = {"open311": "12345", "cad": "110", "typhoon-json": "tf", "cap": "qx", "cma-bst": "tf", "csv": "sj",
           "json": "wg"}


@pytest.mark.parametrize("adapter", sorted(OPTIONS))
def test_fuzzed_payloads_through_the_worker_path(adapter, r, keys, settings):  # noqa: F811
    feeds = load_feeds(settings)
    opts = feeds[OPTIONS[adapter]].adapter_options()
    sink = StreamSink(r, keys, settings)
    pipeline = Pipeline(settings.city_adcode)
    code = OPTIONS[adapter]

    @settings_(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
    @given(payload=_payloads(adapter))
    def run(payload: bytes) -> None:
        dead0, stream0 = r.xlen(keys.dead), r.xlen(keys.stream(code))
        items = list(pipeline.run(adapter, payload, opts))
        res = sink.write(code, items)
        rejects = sum(isinstance(i, Reject) for i in items)
        assert res.rejected == rejects
        assert r.xlen(keys.dead) - dead0 == rejects
        assert r.xlen(keys.stream(code)) - stream0 == res.added == len(items) - rejects - res.duplicates
        if not items:  # only a payload with no record in it may give nothing at all
            text = payload.replace(b"\x00", b"").decode("utf-8", "replace")
            # lines that could hold a record (as CSV splits them); a storm header alone holds none
            lines = [ln for ln in re.split(r"\r\n|\r|\n", text)
                     if any(c.isalnum() for c in ln) and not (adapter == "cma-bst" and ln.startswith("66666"))]
            assert len(lines) <= (1 if adapter == "csv" else 0) or _empty_xml(payload) or (
                adapter == "csv" and _csv_rows(text) <= 1), payload

    run()


settings_ = settings


def _csv_rows(text: str) -> int:
    """Rows with content as a CSV reader sees them: a quoted field may hold line breaks, so the header
    (or an unterminated quote) can span several lines and leave no data row."""
    import csv
    import io

    try:
        return sum(1 for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row))
    except csv.Error:
        return 2  # unreadable as CSV: the line count above decides


def _empty_xml(payload: bytes) -> bool:
    """An XML document whose root has no child elements holds no record (e.g. ``<service_requests/>``)."""
    import defusedxml.ElementTree as SafeET

    try:
        return len(SafeET.fromstring(payload)) == 0
    except Exception:  # noqa: BLE001 - not XML at all
        return False
