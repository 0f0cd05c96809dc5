"""`pingan feeds parse` for integrators: events as JSON lines on stdout, rejects with reasons on stderr."""

import subprocess
import sys

import orjson
import pytest

from dashboard import cli
from tests.conftest import REPO


def pingan(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=REPO, capture_output=True, timeout=120)


@pytest.mark.parametrize("adapter, rel, storm, n_min", [
    ("cap", "cap/capparselib/taiwan.cap", None, 1),
    ("open311", "open311/open311status/san_francisco_requests.xml", None, 56),
    ("open311", "open311/open311dashboard_sf_2010/ClosedServiceRequests_Slice.json", None, 327),
    ("csv", "open311/service_requests_csv/boston311-100.csv", None, 100),
    ("typhoon-json", "typhoon/wztf_realtime_json/201822.json", None, 50),
    ("cma-bst", "typhoon/cma_bst/CH2018BST.txt", "1822", 30),
])
def test_parse_prints_events(shared_data, adapter, rel, storm, n_min):
    args = ["feeds", "parse", adapter, str(shared_data / rel), "--source", "tf"] + (["--storm", storm] if storm else [])
    res = pingan(*args)
    assert res.returncode == 0, res.stderr.decode()
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert len(events) >= n_min
    assert all(e["schema"] == 1 and e["event_id"] and e["occurred_at"] for e in events)
    assert b"0 rejects" in res.stderr
    if storm:
        assert {e["case_id"] for e in events} == {"tf:201822"}


def test_parse_reports_rejects_on_stderr(tmp_path):
    f = tmp_path / "bad.json"
    f.write_bytes(orjson.dumps([{"service_request_id": "A1", "status": "open", "description": "13812345678",
                                 "requested_datetime": "2026-11-22T09:00:00+08:00"},
                                {"service_request_id": "A2", "status": "weird",
                                 "requested_datetime": "2026-11-22T09:00:00+08:00"}]))
    res = pingan("feeds", "parse", "open311", str(f), "--source", "12345")
    assert res.returncode == 1
    (event,) = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert event["summary"] == "138****5678"
    assert b"reject: status: unknown value" in res.stderr and b"[12345:A2]" in res.stderr
    assert b"13812345678" not in res.stdout + res.stderr


def test_feeds_list_shows_the_21_systems():
    res = pingan("feeds", "list")
    assert res.returncode == 0
    assert len(res.stdout.decode().splitlines()) == 21


def test_schema_prints_every_snapshot_the_boards_read_and_the_places_and_history_apis(capsys):
    assert cli.main(["schema"]) == 0
    schemas = orjson.loads(capsys.readouterr().out)
    assert set(schemas) == {"wall", "wall-map", "emergency", "place", "case-list", "case-life", "history-counts",
                            "history-kpis", "history-series", "history-cases"}
    assert {"buckets", "series"} <= set(schemas["history-series"]["properties"])
    assert {"steps", "clocks", "linked"} <= set(schemas["case-life"]["properties"])
    assert schemas["wall"]["additionalProperties"] is False and "kpis" in schemas["wall"]["properties"]
    assert "change" in schemas["wall-map"]["description"] and "markers" in schemas["wall-map"]["properties"]
    assert cli.main(["schema", "emergency"]) == 0
    assert "map_layer" in orjson.loads(capsys.readouterr().out)["properties"]
    assert cli.main(["schema", "nope"]) == 2
    assert "registered: wall, wall-map, emergency, place, case-list, case-life" in capsys.readouterr().err
