"""The simulator over HTTP (Flask test client): every endpoint in its format, Open311 paging and
the since/updated_after windows, the control API (faults, inject, pause, status, ledger)."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from flask.testing import FlaskClient

from dashboard.contract.event import BEIJING
from feeds.simulator.engine import Simulator
from feeds.simulator.server import create_app
from feeds.simulator.simtime import iso
from feeds.simulator.traffic import DEFAULT_VOLUMES

START = datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING)
CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
WZTF_SAMPLE = Path(__file__).resolve().parents[2] / "shared/data/typhoon/wztf_realtime_json/201822.json"
JSON_FEEDS = {"wg": "reports", "tj": "cases", "sw": "readings", "yj": "reports", "aj": "hazards",
              "hb": "complaints", "wj": "events", "sp": "alarms", "hs": "vessels"}
RECORDS = {"wg": "data.list", "tj": "result.records", "aj": "data.rows", "hb": "rows", "wj": "body.events",
           "sp": "data.list", "sw": "items", "yj": "data", "hs": ""}
CURSOR = {"wg": "updateTime", "tj": "modifyTime", "aj": "updateTime", "hb": "updateTime",
          "wj": "lastModified", "sp": "updateTime", "sw": "TM", "yj": "updateTime", "hs": "gpsTime"}


def make_sim(tmp: Path, **kw: object) -> Simulator:
    opts: dict = {"seed": 11, "start": START, "backfill_h": 3, "data_dir": tmp, "slow_s": 0.2,
                  "volumes": {k: v * 0.3 for k, v in DEFAULT_VOLUMES.items()}}
    return Simulator(**{**opts, **kw})


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    return make_sim(tmp_path_factory.mktemp("http"))


@pytest.fixture(scope="module")
def client(sim: Simulator) -> FlaskClient:
    return create_app(sim).test_client()


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Simulator, FlaskClient]:
    s = make_sim(tmp_path, backfill_h=1)
    return s, create_app(s).test_client()


def records_at(doc: object, path: str) -> list:
    for part in [p for p in path.split(".") if p]:
        doc = doc[part]  # type: ignore[index]
    assert isinstance(doc, list)
    return doc


def when(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=BEIJING)


# -- Open311 -------------------------------------------------------------------------------------
def test_open311_pages_cover_every_request_once_in_order(client: FlaskClient) -> None:
    whole = client.get("/open311/12345/v2/requests.json?page_size=5000").get_json()
    pages, page = [], 1
    while True:
        got = client.get(f"/open311/12345/v2/requests.json?page_size=40&page={page}").get_json()
        pages += got
        if len(got) < 40:
            break
        page += 1
    assert [r["service_request_id"] for r in pages] == [r["service_request_id"] for r in whole]
    assert len({r["service_request_id"] for r in whole}) == len(whole) > 100
    stamps = [when(r["updated_datetime"]) for r in whole]
    assert stamps == sorted(stamps)
    assert len(client.get("/open311/12345/v2/requests.json").get_json()) == min(500, len(whole))


def test_open311_updated_windows_and_extensions(client: FlaskClient, sim: Simulator) -> None:
    after, before = sim.now - timedelta(hours=1), sim.now - timedelta(minutes=20)
    got = client.get("/open311/12345/v2/requests.json",
                     query_string={"updated_after": iso(after), "updated_before": iso(before)}).get_json()
    assert got and all(after <= when(r["updated_datetime"]) <= before for r in got)
    assert len(got) < len(client.get("/open311/12345/v2/requests.json").get_json())
    ext = client.get("/open311/qy117/v2/requests.json").get_json()[-1]["extended_attributes"]
    assert {"workflow_status", "category", "district_code", "town_code", "caller_phone", "stages"} <= set(ext)
    assert set(ext["stages"]) <= {"accepted", "replied", "solution", "closed"}
    plain = client.get("/open311/qy117/v2/requests.json?extensions=false").get_json()
    assert "extended_attributes" not in plain[0]
    services = client.get("/open311/qy117/v2/services.json").get_json()
    assert {"service_code", "service_name"} <= set(services[0])


def test_open311_xml(client: FlaskClient) -> None:
    resp = client.get("/open311/cg/v2/requests.xml?page_size=20")
    assert resp.status_code == 200 and "xml" in resp.content_type
    root = ET.fromstring(resp.data)
    assert root.tag == "service_requests" and len(root) == 20
    req = root[0]
    assert req.tag == "request" and req.find("extended_attributes/workflow_status") is not None
    assert req.findtext("status") in ("open", "closed")


# -- CAD and JSON windows ------------------------------------------------------------------------
def test_cad_serves_every_version_since_inclusive(client: FlaskClient, sim: Simulator) -> None:
    everything = client.get("/cad/110/incidents?limit=5000").get_json()["incidents"]
    stamps = [when(i["lastUpdateTimeStamp"]) for i in everything]
    assert stamps == sorted(stamps)
    by_case: dict[str, list[str]] = {}
    for i in everything:
        comp = i["incidentComponent"]
        by_case.setdefault(comp["incidentTrackingIdentifier"], []).append(comp["incidentStatusCommonRegistryText"])
    assert any(v[:5] == ["Created", "Acknowledged", "Dispatched", "Enroute", "OnScene"] for v in by_case.values())
    pivot = everything[len(everything) // 2]["lastUpdateTimeStamp"]
    window = client.get("/cad/110/incidents", query_string={"since": pivot, "limit": 7}).get_json()["incidents"]
    assert len(window) == 7 and window[0]["lastUpdateTimeStamp"] == pivot
    assert when(window[0]["lastUpdateTimeStamp"]) == min(s for s in stamps if s >= when(pivot))
    assert client.get("/cad/12345/incidents").status_code == 404


@pytest.mark.parametrize("feed", sorted(JSON_FEEDS))
def test_json_feeds_envelope_order_and_since(client: FlaskClient, feed: str) -> None:
    url = f"/json/{feed}/{JSON_FEEDS[feed]}"
    rows = records_at(client.get(url, query_string={"limit": 5000}).get_json(), RECORDS[feed])
    assert rows
    stamps = [r[CURSOR[feed]] for r in rows]
    parsed = [when(s) for s in stamps]
    assert parsed == sorted(parsed)
    pivot = stamps[len(stamps) // 2]
    window = records_at(client.get(url, query_string={"since": iso(when(pivot)), "limit": 3}).get_json(),
                        RECORDS[feed])
    assert len(window) == 3 and window[0][CURSOR[feed]] == pivot
    assert client.get(f"/json/{feed}/nothing").status_code == 404


# -- CAP -----------------------------------------------------------------------------------------
def test_cap_rss_links_to_cap_documents(client: FlaskClient, sim: Simulator) -> None:
    rss = ET.fromstring(client.get("/cap/qx/rss.xml").data)
    items = rss.findall("channel/item")
    assert items
    updates = 0
    for item in items[:30]:
        link = item.findtext("link")
        assert link and item.findtext("guid") and item.findtext("pubDate").endswith("+0800")
        alert = ET.fromstring(client.get(link.replace("http://localhost", "")).data)
        ident = alert.findtext("cap:identifier", namespaces=CAP_NS)
        assert ident == item.findtext("guid")
        assert ident[:6] in {d.adcode for d in sim.city.districts}
        assert alert.findtext("cap:sent", namespaces=CAP_NS).endswith("+08:00")
        info = alert.find("cap:info", CAP_NS)
        assert info.findtext("cap:parameter/cap:valueName", namespaces=CAP_NS) == "预警级别"
        lat, lon = map(float, info.findtext("cap:area/cap:polygon", namespaces=CAP_NS).split()[0].split(","))
        assert 20 < lat < 25 and 110 < lon < 115  # "lat,lon", latitude first
        if alert.findtext("cap:msgType", namespaces=CAP_NS) != "Alert":
            updates += 1
            assert alert.findtext("cap:references", namespaces=CAP_NS).count(",") == 2
    assert updates
    assert client.get("/cap/qx/alerts/nope.xml").status_code == 404


# -- typhoon -------------------------------------------------------------------------------------
def test_typhoon_active_has_the_realtime_shape(client: FlaskClient) -> None:
    storms = client.get("/typhoon/tf/active.json").get_json()
    assert len(storms) == 1
    storm, sample = storms[0], json.loads(WZTF_SAMPLE.read_text(encoding="utf-8-sig"))[0]
    assert set(sample) <= set(storm)
    assert set(sample["points"][0]) <= set(storm["points"][0])
    fixes = [datetime.fromisoformat(p["time"]) for p in storm["points"]]
    assert all(b - a == timedelta(minutes=30) for a, b in zip(fixes, fixes[1:], strict=False))
    assert storm["points"][-1]["forecast"][0]["sets"] == "中国"
    assert set(storm["points"][-1]["radius7_quad"]) == {"ne", "se", "sw", "nw"}


# -- faults --------------------------------------------------------------------------------------
def set_mode(c: FlaskClient, feed: str, mode: str) -> None:
    assert c.post(f"/_control/{feed}/fault", json={"mode": mode}).status_code == 200


def test_fault_modes_on_http_feeds(fresh: tuple[Simulator, FlaskClient]) -> None:
    sim, c = fresh
    url = "/json/wg/reports"
    set_mode(c, "wg", "down")
    assert c.get(url).status_code == 503
    assert c.get("/cad/110/incidents").status_code == 200  # other feeds unaffected
    set_mode(c, "wg", "http500")
    resp = c.get(url)
    assert resp.status_code == 500 and b"<html" in resp.data.lower()
    set_mode(c, "wg", "slow")
    started = time.monotonic()
    assert c.get(url).status_code == 200
    assert time.monotonic() - started >= sim.slow_s
    set_mode(c, "wg", "garbage")
    bodies = [c.get(url).data for _ in range(3)]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(bodies[0])  # truncated
    assert "data" not in orjson.loads(bodies[1]) or not isinstance(orjson.loads(bodies[1])["data"], dict)
    assert any(r["latitude"] == 999.0 for r in orjson.loads(bodies[2])["data"]["list"])  # invalid values
    set_mode(c, "wg", "ok")
    assert orjson.loads(c.get(url).data)["data"]["list"]
    assert c.post("/_control/wg/fault", json={"mode": "sideways"}).status_code == 400
    assert c.post("/_control/nope/fault", json={"mode": "ok"}).status_code == 404


def test_garbage_is_not_in_the_ledger(fresh: tuple[Simulator, FlaskClient]) -> None:
    sim, c = fresh
    set_mode(c, "110", "garbage")
    for _ in range(3):
        c.get("/cad/110/incidents")
    assert c.get("/_control/110/ledger").get_json()["payloads"] == []
    set_mode(c, "110", "ok")
    served = c.get("/cad/110/incidents?limit=10").get_json()["incidents"]
    ledger = c.get("/_control/110/ledger").get_json()
    assert ledger["adapter"] == "cad" and len(ledger["payloads"]) == len(served) == 10
    assert orjson.loads(ledger["payloads"][0])["incidents"][0] == served[0]


# -- inject --------------------------------------------------------------------------------------
def test_injected_records_are_served_exactly_on_the_next_poll(fresh: tuple[Simulator, FlaskClient]) -> None:
    sim, c = fresh
    bad = b'{"service_request_id": "X-1", "status": "sideways", "lat": 999, "updated_datetime": "never"}'
    assert c.post("/_control/12345/inject", data=bad).status_code == 200
    assert bad in c.get("/open311/12345/v2/requests.json?page_size=1").data
    eido = b'{"eidoMessageIdentifier":"m-x","incidentComponent":{"incidentTrackingIdentifier":"110-X"}}'
    c.post("/_control/110/inject", data=eido)
    assert eido in c.get("/cad/110/incidents?limit=1").data
    record = '{"reportId":"WG-X","status":"??","updateTime":"不是时间"}'.encode()
    c.post("/_control/wg/inject", data=record)
    body = c.get("/json/wg/reports?limit=1").data
    assert record in body and orjson.loads(body)["data"]["list"][-1]["reportId"] == "WG-X"
    storm = b'{"tfbh": "209999", "name": "\xe6\xb5\x8b\xe8\xaf\x95", "points": []}'
    c.post("/_control/tf/inject", data=storm)
    assert storm in c.get("/typhoon/tf/active.json").data
    xml_req = b"<request><service_request_id>CG-X</service_request_id><status>open</status></request>"
    c.post("/_control/cg/inject", data=xml_req)
    assert xml_req in c.get("/open311/cg/v2/requests.xml?page_size=1").data
    ledger = c.get("/_control/12345/ledger").get_json()
    assert [ledger["payloads"][i] for i in ledger["injected"]] == [f"[{bad.decode()}]"]


def test_injected_cap_document(fresh: tuple[Simulator, FlaskClient]) -> None:
    sim, c = fresh
    doc = (b'<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
           b"<identifier>44078100000000_20991231000000</identifier><msgType>Ack</msgType></alert>")
    assert c.post("/_control/qx/inject", data=doc).get_json()["key"] == "44078100000000_20991231000000"
    rss = c.get("/cap/qx/rss.xml").data
    assert b"44078100000000_20991231000000" in rss
    assert c.get("/cap/qx/alerts/44078100000000_20991231000000.xml").data == doc


def test_inject_rejects_what_cannot_be_stored(fresh: tuple[Simulator, FlaskClient]) -> None:
    sim, c = fresh
    assert c.post("/_control/wg/inject", data=b"  ").status_code == 400
    assert c.post("/_control/xf/inject", data=b"not json").status_code == 400
    assert c.post("/_control/xf/inject", json={"no_such_column": 1}).status_code == 400
    assert c.post("/_control/sj/inject", json=[1, 2]).status_code == 400
    assert c.post("/_control/wg/inject", data=b"{broken").status_code == 200  # stored, served as is


# -- control -------------------------------------------------------------------------------------
def test_pause_resume_step_and_status(fresh: tuple[Simulator, FlaskClient]) -> None:
    sim, c = fresh
    status = c.get("/_control/status").get_json()
    assert status["seed"] == 11 and status["sim_time"] == iso(START)
    assert set(status["feeds"]) == set(sim.feeds) and status["feeds"]["wg"]["mode"] == "ok"
    assert status["feeds"]["wg"]["records"] > 0
    before = status["feeds"]["wg"]["total"]
    assert c.post("/_control/pause").get_json()["paused"] is True
    sim.step(3600)
    sim.tick()
    assert c.get("/_control/status").get_json()["feeds"]["wg"]["total"] == before
    assert c.get("/json/wg/reports").status_code == 200  # serving goes on
    c.post("/_control/resume")
    stepped = c.post("/_control/step", json={"seconds": 1800}).get_json()
    assert stepped["sim_time"] == iso(START + timedelta(minutes=30))
    assert stepped["feeds"]["wg"]["total"] > before
    assert c.post("/_control/step", json={"seconds": -1}).status_code == 400


def test_ledger_of_every_http_feed_matches_what_was_served(fresh: tuple[Simulator, FlaskClient]) -> None:
    sim, c = fresh
    served = len(c.get("/json/sw/readings?limit=5000").get_json()["items"])
    ledger = c.get("/_control/sw/ledger").get_json()
    assert ledger["feed"] == "sw" and len(ledger["payloads"]) == served
    rss = c.get("/cap/qx/rss.xml").data
    link = re.search(rb"<link>http://localhost(/cap/qx/alerts/[^<]+)</link>", rss).group(1).decode()
    alert = c.get(link).data
    assert c.get("/_control/qx/ledger").get_json()["payloads"] == [alert.decode()]
