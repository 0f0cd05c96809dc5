"""What the simulator serves is what the adapters read: a simulated day of all 21 feeds, polled
like the pollers do (windows that overlap), then every ledger payload parsed by the feed's own
adapter and normalised — zero rejects; positions, statuses and categories survive the trip."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient

from dashboard.contract.event import BEIJING, Event
from feeds.adapters import cad, cap, mapping, open311, tabular, typhoon
from feeds.adapters.base import Reject, normalise
from feeds.simulator.engine import Simulator
from feeds.simulator.server import create_app
from feeds.simulator.simtime import iso
from feeds.simulator.traffic import DEFAULT_VOLUMES

# one group: the module's tests share module fixtures (simulated runs) built once on one worker;
# slow: whole simulated days and storms, left out of the quick local tier
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("simulator-roundtrip")]

START = datetime(2026, 11, 23, 6, 0, tzinfo=BEIJING)
REPO = Path(__file__).resolve().parents[1]
PARSERS = {"open311": open311.parse, "cad": cad.parse, "cap": cap.parse, "typhoon-json": typhoon.parse_json,
           "json": mapping.parse_json, "sql": mapping.parse_json, "csv": tabular.parse}


def options(sim: Simulator, code: str) -> dict[str, Any]:
    info = sim.feeds[code]
    opts: dict[str, Any] = {**info.options, "source": code, "datum": info.datum}
    if info.mapping:
        opts["mapping"] = mapping.resolve_mapping(info.mapping)
    return opts


def poll_everything(sim: Simulator, c: FlaskClient, since: datetime, fetched: set[str]) -> None:
    """One round of polls of every HTTP feed, windows starting at ``since``."""
    for code, info in sim.feeds.items():
        if info.transport != "http":
            continue
        path = info.endpoint.replace("{upstream}", "")
        if info.adapter == "open311":
            url = f"{path}/requests.{info.options.get('format', 'json')}"
            resp = c.get(url, query_string={"updated_after": iso(since), "page_size": 5000})
        elif info.adapter == "cap":
            resp = c.get(path)
            for link in cap_links(resp.data):
                if link not in fetched:
                    fetched.add(link)
                    assert c.get(link).status_code == 200
        elif info.adapter == "typhoon-json":
            resp = c.get(path)
        else:
            resp = c.get(path, query_string={"since": iso(since), "limit": 5000})
        assert resp.status_code == 200, code


def cap_links(rss: bytes) -> list[str]:
    import re

    return [m.decode().replace("http://localhost", "") for m in re.findall(rb"<link>([^<]+/alerts/[^<]+)</link>", rss)]


def parsed(sim: Simulator, code: str, payloads: list[bytes]) -> Iterator[Event | Reject]:
    parse, opts = PARSERS[sim.feeds[code].adapter], options(sim, code)
    for body in payloads:
        for item in parse(body, opts):
            yield item if isinstance(item, Reject) else normalise(item)


def ledger_bodies(sim: Simulator, code: str) -> list[bytes]:
    led = sim.ledger(code)
    return [base64.b64decode(p) if led.get("encoding") == "base64" else p.encode() for p in led["payloads"]]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    sim = Simulator(seed=21, start=START, backfill_h=2, data_dir=tmp_path_factory.mktemp("rt"),
                    volumes={k: v * 0.2 for k, v in DEFAULT_VOLUMES.items()})
    client, fetched = create_app(sim).test_client(), set()
    for _ in range(24 * 6):
        sim.step(600)
        poll_everything(sim, client, sim.now - timedelta(minutes=12), fetched)
    return sim


@pytest.fixture(scope="module")
def results(day: Simulator) -> dict[str, list[Event | Reject]]:
    """Every ledger payload of the day through its feed's adapter and the normalising step."""
    return {code: list(parsed(day, code, ledger_bodies(day, code))) for code in day.feeds}


def test_all_21_feeds_parse_with_zero_rejects(day: Simulator, results: dict[str, list[Event | Reject]]) -> None:
    assert len(day.feeds) == 21
    for code, items in results.items():
        rejects = [i.reason for i in items if isinstance(i, Reject)]
        events = [i for i in items if isinstance(i, Event)]
        assert not rejects, f"{code}: {rejects[:3]}"
        assert len(events) >= len(ledger_bodies(day, code)) > 0, code
        assert all(e.source == code and e.case_id.startswith(f"{code}:") for e in events)


@pytest.mark.parametrize("code", ["12345", "qy117", "cg", "110", "119", "120", "122", "wg", "xf", "tj", "aj",
                                  "hb", "sj", "mz", "wj", "sp"])
def test_case_versions_survive_the_trip(day: Simulator, results: dict[str, list[Event | Reject]],
                                       code: str) -> None:
    cases = {c.no: c for c in day.cases(code)}
    checked = 0
    for ev in results[code]:
        assert isinstance(ev, Event)
        case = cases.get(ev.case_id.split(":", 1)[1])
        if case is None:  # created before the oldest retained version
            continue
        step = next(s for s in case.steps if s.at == ev.occurred_at)
        assert ev.status == step.status
        assert ev.category == case.ctype.category
        assert ev.location is not None and ev.location.town == case.place.town
        # positions come back in WGS-84 whatever the feed's datum (GCJ-02 for wg, tj, the CADs …)
        assert abs(ev.location.lat - case.place.lat) < 2e-5 and abs(ev.location.lon - case.place.lon) < 2e-5
        checked += 1
    assert checked > 5


def test_personal_data_is_masked_after_normalising(day: Simulator,
                                                   results: dict[str, list[Event | Reject]]) -> None:
    events = [e for e in results["12345"][:300] if isinstance(e, Event)]
    blob = "\n".join(e.to_json().decode() for e in events)
    people = [c.person for c in day.cases("12345")]
    assert events and not any(p.phone in blob or p.id_number in blob for p in people)


def test_garbage_mode_gives_rejects_not_crashes(tmp_path: Path) -> None:
    sim = Simulator(seed=2, start=START, backfill_h=1, data_dir=tmp_path,
                    volumes={k: v * 0.1 for k, v in DEFAULT_VOLUMES.items()})
    c = create_app(sim).test_client()
    for code in ("12345", "cg", "110", "wg", "hs", "tf"):
        sim.set_fault(code, "garbage")
        path = sim.feeds[code].endpoint.replace("{upstream}", "")
        if sim.feeds[code].adapter == "open311":
            path += f"/requests.{sim.feeds[code].options.get('format', 'json')}"
        bodies = [c.get(path).data for _ in range(3)]
        items = list(parsed(sim, code, bodies))
        assert any(isinstance(i, Reject) for i in items), code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_ticks_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "feeds.simulator", "--port", str(port), "--speed", "600",
                             "--backfill-h", "0.5", "--data-dir", str(tmp_path)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        status = wait_for_status(port, 30)
        first = status["feeds"]["hs"]["total"]
        deadline = time.monotonic() + 10
        while wait_for_status(port, 5)["feeds"]["hs"]["total"] == first:
            assert time.monotonic() < deadline, "the model does not tick"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for_status(port: int, timeout: float) -> Mapping[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/_control/status", timeout=2).json()
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
