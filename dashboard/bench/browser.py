"""`pingan bench browser`: the wall in real Chromium against `pingan demo` — how fast a new record
reaches the screen, and whether the page's JS heap stays flat.

A whole demo (embedded Redis, the simulator, ingest, live, gunicorn) starts on free ports in a
temporary folder, and Debian's Chromium (through Playwright) opens ``/wall`` at 1920×1080.

- **inject**: a 110 incident with a unique tag is posted to the simulator's inject endpoint
  ``injects`` times; each time the bench watches, every 20 ms, both the city's wall snapshot in
  Redis (the baseline: poll + ingest + live) and the page's ticker (the same plus push and render),
  and reports both delays and their difference.
- **heap**: after a warm-up, the page's JS heap after a forced GC (CDP ``Performance.getMetrics``)
  every ``every`` seconds for ``duration`` seconds: growth over the window and the slope of the
  second half (a leak keeps its slope; warm-up does not).

The targets are the wall issue's: inject → wall ≤ 3 s; heap growth over 48 s below
max(3 MB, 15 % of the start). Needs Playwright (the ``test`` extra) and ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis

from dashboard.boards import CASE_MAP, WALL, WALL_FIGURES
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.demo.embedded_redis import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
INJECT_TARGET_S = 3.0
HEAP_WINDOW_S = 48.0
HEAP_TARGET_MB = 3.0
HEAP_TARGET_SHARE = 0.15
POLL_S = 0.02


def run(settings: Settings, injects: int = 5, duration_s: float = 48.0, every_s: float = 8.0,
        warmup_s: float = 10.0, speed: float = 60.0, chromium: str = CHROMIUM) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise SystemExit("pingan bench browser needs Playwright: pip install -e '.[test]'") from exc
    if not Path(chromium).exists():
        raise SystemExit(f"pingan bench browser needs Chromium at {chromium} (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="pingan-bench-browser-") as tmp, _demo(Path(tmp), speed) as demo, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=[*ARGS, "--js-flags=--expose-gc"])
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"{demo['web']}{WALL.path}")  # to the login form: the demo's duty officer logs in
            page.fill("input[name=username]", "duty")
            page.fill("input[name=password]", demo["duty_password"])
            with page.expect_navigation():
                page.click("button[type=submit]")
            _wait(lambda: page.evaluate("Number((document.getElementById('wall-now-open') || {}).textContent"
                                        "?.replace(/,/g, '')) > 0"), 120, "live numbers on the wall")
            out: dict[str, Any] = {"speed": speed, "inject": _injects(page, demo, injects)}
            out["heap"] = _heap(page, duration_s, every_s, warmup_s)
        finally:
            browser.close()
    wall = out["inject"]["to_wall_s"]["median"]
    heap = out["heap"]
    out["targets"] = {"inject_to_wall_s": INJECT_TARGET_S,
                      "heap_growth_mb": round(max(HEAP_TARGET_MB, HEAP_TARGET_SHARE * heap["start_mb"]), 2),
                      "heap_window_s": HEAP_WINDOW_S}
    per_window = heap["growth_mb"] * HEAP_WINDOW_S / max(heap["window_s"], 1e-9)
    out["meets_target"] = bool(wall is not None and wall <= INJECT_TARGET_S
                               and per_window < out["targets"]["heap_growth_mb"])
    return out


@contextmanager
def _demo(tmp: Path, speed: float) -> Iterator[dict[str, Any]]:
    """`pingan demo` on free ports in ``tmp``, in its own process group; Ctrl-C'd afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN_")}
    web, sim = free_port(), free_port()
    log_path = tmp / "demo.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "demo", "--redis-port", "0",
                                 "--port", str(web), "--sim-port", str(sim), "--speed", f"{speed:g}",
                                 "--data-dir", str(tmp / "var")], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = _wait(lambda: (m := re.search(r"Redis\s+(redis://\S+)", log_path.read_text("utf-8", "replace")))
                    and m.group(1), 60, "the demo banner", proc)
        _wait(lambda: _get(f"http://127.0.0.1:{web}/healthz") == 200, 120, "/healthz to answer 200", proc)
        banner = log_path.read_text("utf-8", "replace")
        password = re.search(r"^\s+duty\s+(\S+)\s+duty\b", banner, re.M)
        if password is None:
            raise RuntimeError("bench browser: the demo banner names no duty account")
        settings = Settings(redis_url=url)
        r = redis.Redis.from_url(url)
        try:
            yield {"web": f"http://127.0.0.1:{web}", "sim": f"http://127.0.0.1:{sim}", "r": r,
                   "duty_password": password.group(1),
                   "snapshot": Keys.from_settings(settings).snapshot(WALL_FIGURES.name, settings.city_adcode)}
        finally:
            r.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _injects(page: Any, demo: dict[str, Any], n: int) -> dict[str, Any]:
    server, wall = [], []
    for _ in range(n):
        tag = f"BENCH-{uuid.uuid4().hex[:6]}"
        sim_time = httpx.get(f"{demo['sim']}/_control/status", timeout=5).json()["sim_time"]
        t0 = time.monotonic()
        resp = httpx.post(f"{demo['sim']}/_control/110/inject", content=orjson.dumps(incident_110(tag, sim_time)),
                          timeout=5)
        resp.raise_for_status()
        seen: dict[str, float] = {}
        while len(seen) < 2 and time.monotonic() - t0 < 30:
            if "server" not in seen and tag.encode() in (demo["r"].get(demo["snapshot"]) or b""):
                seen["server"] = time.monotonic() - t0
            if "page" not in seen and tag in page.evaluate(
                    "(document.getElementById('wall-ticker') || {}).textContent || ''"):
                seen["page"] = time.monotonic() - t0
            time.sleep(POLL_S)
        server.append(seen.get("server"))
        wall.append(seen.get("page"))
        time.sleep(2)
    diffs = [w - s for s, w in zip(server, wall, strict=True) if s is not None and w is not None]
    return {"to_snapshot_s": _summary(server), "to_wall_s": _summary(wall),
            "push_and_render_s": _summary(diffs), "lost": sum(w is None for w in wall)}


def _heap(page: Any, duration_s: float, every_s: float, warmup_s: float) -> dict[str, Any]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def heap_mb() -> float:
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return float(metrics["JSHeapUsedSize"]) / 2**20

    time.sleep(warmup_s)
    start = heap_mb()
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < duration_s:
        time.sleep(every_s)
        samples.append((time.monotonic() - t0, heap_mb()))
    late = samples[len(samples) // 2:]
    slope = statistics.linear_regression([t for t, _ in late], [v for _, v in late]).slope * 60 \
        if len(late) >= 2 else None
    markers = page.evaluate("(name) => { const p = pingan.page(); "
                            "return p && p.logs[name] ? p.logs[name].size : null; }", CASE_MAP.name)
    return {"start_mb": round(start, 2), "samples_mb": [round(v, 2) for _, v in samples],
            "growth_mb": round(samples[-1][1] - start, 2) if samples else 0.0,
            "window_s": round(samples[-1][0], 1) if samples else 0.0,
            "late_slope_mb_per_min": None if slope is None else round(slope, 2), "markers_held": markers}


def incident_110(tag: str, sim_time: str, note: str = "群众报警") -> dict[str, Any]:
    """A 110 incident in the EIDO JSON the CAD adapter reads, tagged so it can be found on the page
    (the wall's browser test injects the same record with hostile markup in its note)."""
    return {
        "eidoMessageIdentifier": f"m-{tag}", "lastUpdateTimeStamp": sim_time,
        "incidentComponent": {"incidentTrackingIdentifier": tag, "incidentTypeCommonRegistryText": "Police.Fight",
                              "incidentStatusCommonRegistryText": "Created", "incidentPriority": 1,
                              "incidentCreationTimeStamp": sim_time},
        "locationComponent": [{"locationByValue": {"type": "Point", "coordinates": [113.08, 22.58]},
                               "civicAddressText": "蓬江区白沙街道建设路8号"}],
        "notesComponent": [{"noteText": f"{tag} {note}"}],
    }


def _summary(values: Sequence[float | None]) -> dict[str, Any]:
    got = [v for v in values if v is not None]
    return {"median": round(statistics.median(got), 3) if got else None,
            "max": round(max(got), 3) if got else None, "samples": [None if v is None else round(v, 3) for v in values]}


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _wait(check: Callable[[], Any], timeout_s: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the demo exited ({proc.returncode}) while waiting for {what}")
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise TimeoutError(f"no {what} within {timeout_s:g} s")
