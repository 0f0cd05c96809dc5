"""Helpers for end-to-end tests: real processes (simulator, ingest workers) on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis

from dashboard.contract.feed_health import collect
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.demo.embedded_redis import free_port
from tests.conftest import REDIS_URL, REPO


def wait_until(cond: Callable[[], Any], timeout: float, every: float = 0.5, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def stop(*procs: subprocess.Popen[bytes] | None, grace_s: float = 10) -> None:
    """SIGTERM to each, then SIGKILL to any still there after ``grace_s``: never raises, never leaves one
    running (a test's leftover workers would slow every test after it)."""
    running = [p for p in procs if p is not None and p.poll() is None]
    for p in running:
        p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in running:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Stack:
    """A simulator process plus any number of ingest processes sharing one key prefix."""

    def __init__(self, tmp: Path, prefix: str, speed: float = 60, seed: int = 5, backfill_h: float = 0.5,
                 sim_args: tuple[str, ...] = (), **env: str) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.data_dir = tmp / "var"
        self.env = {
            **os.environ, "PINGAN_REDIS_URL": REDIS_URL, "PINGAN_KEY_PREFIX": prefix,
            "PINGAN_UPSTREAM": f"http://127.0.0.1:{self.port}", "PINGAN_DATA_DIR": str(self.data_dir),
            "PINGAN_LEASE_TTL_S": "3", "PINGAN_BACKOFF_MAX_S": "6", "PINGAN_HEALTH_TTL_S": "60", **env,
        }
        self.settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, upstream=self.env["PINGAN_UPSTREAM"],
                                 data_dir=self.data_dir, lease_ttl_s=3, backoff_max_s=6, health_ttl_s=60)
        self.keys = Keys(prefix)
        self.r = redis.Redis.from_url(REDIS_URL)
        self.feeds = load_feeds(self.settings)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        self.sim = self._spawn("simulate", "--port", str(self.port), "--speed", str(speed), "--seed", str(seed),
                               "--backfill-h", str(backfill_h), "--data-dir", str(self.data_dir), *sim_args,
                               log="sim")
        wait_until(self._sim_up, 30, what="simulator")
        self.ingests: list[subprocess.Popen[bytes]] = []

    def _spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = open(self.tmp / f"{log}.log", "ab")  # noqa: SIM115 - owned by the process
        return subprocess.Popen([sys.executable, "-m", "dashboard.cli", *args], env=self.env, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)

    def _sim_up(self) -> bool:
        try:
            return self.http.get("/_control/status").status_code == 200
        except httpx.HTTPError:
            return False

    def start_ingest(self) -> subprocess.Popen[bytes]:
        p = self._spawn("ingest", log=f"ingest-{len(self.ingests)}")
        self.ingests.append(p)
        return p

    def control(self, path: str, body: Any = None) -> dict[str, Any]:
        resp = self.http.post(f"/_control/{path}", json=body) if body is not None else self.http.post(
            f"/_control/{path}")
        resp.raise_for_status()
        return resp.json()

    def inject(self, feed: str, raw: bytes | str) -> None:
        resp = self.http.post(f"/_control/{feed}/inject", content=raw)
        assert resp.status_code == 200, resp.text

    def sim_status(self) -> dict[str, Any]:
        return self.http.get("/_control/status").json()

    def status(self) -> dict[str, Any]:
        return collect(self.r, self.keys, self.feeds, self.settings)

    def lengths(self) -> dict[str, int]:
        return {f["code"]: f["stream_len"] for f in self.status()["feeds"]}

    def stream_ids(self, code: str) -> list[bytes]:
        return [f[b"id"] for _, f in self.r.xrange(self.keys.stream(code))]

    def logs(self) -> str:
        return "".join(p.read_text("utf-8", "replace") for p in self.tmp.glob("*.log"))

    def close(self) -> None:
        stop(*self.ingests, self.sim)
        self.http.close()
        self.r.close()
