"""`pingan demo` as a user runs it: embedded real Redis, simulator, ingest; all 21 feeds ok; the
boards' clock is the simulator's; Ctrl-C stops everything and leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from dashboard.contract.event import BEIJING
from dashboard.contract.feed_health import collect
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.demo.embedded_redis import free_port
from feeds.simulator.engine import Simulator
from tests.conftest import REPO
from tests.e2e import wait_until
from tests.logins import CSRF, http_log_in

pytestmark = pytest.mark.slow


def test_demo_comes_up_with_embedded_redis_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN_")}
    out = tmp_path / "demo.log"
    sim_port = free_port()
    # what an earlier, faster demo leaves in the data folder: drop files and exchange rows three days
    # ahead of this run's clock, which the new run must not read
    earlier = Simulator(seed=9, start=datetime.now(BEIJING) + timedelta(days=3), backfill_h=1,
                        data_dir=tmp_path / "var")
    earlier.step(3600)
    assert any((tmp_path / "var" / "drop" / "sj").glob("*.csv")) and (tmp_path / "var" / "exchange.db").exists()
    web_port = free_port()
    with open(out, "wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "demo", "--redis-port", "0", "--sim-port", str(sim_port),
             "--port", str(web_port), "--data-dir", str(tmp_path / "var"), "--history-days", "0.05"], cwd=REPO,
            env=env, stdout=log,
            stderr=subprocess.STDOUT)
    try:
        url = wait_until(lambda: (m := re.search(r"Redis\s+(redis://\S+)", out.read_text("utf-8", "replace")))
                         and m.group(1), 30, what="the demo banner")
        settings = Settings(redis_url=url)
        r = redis.Redis.from_url(url)
        feeds = load_feeds(settings)

        def report():
            return collect(r, Keys.from_settings(settings), feeds, settings)

        first = wait_until(lambda: (rep := report())["summary"]["ok"] == 21 and rep, 60, what="21 feeds ok")
        lens = {f["code"]: f["stream_len"] for f in first["feeds"]}
        # every feed polled again and the streams growing (that every one of the 21 grows is
        # tests/test_e2e_ingest.py's: at night the rarest feeds see a record an hour, a real minute here)
        wait_until(lambda: (rep := report())["summary"]["ok"] == 21 and all(f["lag_s"] < 10 for f in rep["feeds"])
                   and sum(f["stream_len"] for f in rep["feeds"]) > sum(lens.values()) + 20, 60,
                   what="the feeds polled and the streams growing")
        # 60x: after a minute a board on the wall clock would be an hour behind the data
        snapshot = Keys.from_settings(settings).snapshot("wall", settings.city_adcode)
        wall = orjson.loads(wait_until(lambda: r.get(snapshot), 30, what="a wall snapshot"))
        sim_time = datetime.fromisoformat(httpx.get(f"http://127.0.0.1:{sim_port}/_control/status").json()["sim_time"])
        assert wall["clock"]["speed"] == 60
        assert abs(sim_time.timestamp() - wall["as_of"] / 1000) < 10 * 60
        newest_key = Keys.from_settings(settings).newest
        newest = {m.decode(): t / 1000 for m, t in r.zrange(newest_key, 0, -1, withscores=True)}
        assert {"xf", "sj", "mz"} <= set(newest), newest
        ahead = {code: round((t - sim_time.timestamp()) / 3600, 1) for code, t in newest.items()
                 if t > sim_time.timestamp() + 10 * 60}
        assert not ahead, f"hours ahead of the run's clock (an earlier run's records read): {ahead}"
        # history: written into the archive in the background, the boards saying so meanwhile
        told = wait_until(lambda: orjson.loads(r.get(snapshot) or b"{}").get("history"), 60,
                          what="the boards told of the history backfill")
        assert told["days"] == 0.05 and told["state"] in ("loading", "done")
        _accounts_work(out.read_text("utf-8"), f"http://127.0.0.1:{web_port}", tmp_path)
        load_key = Keys.from_settings(settings).history_load
        wait_until(lambda: r.hget(load_key, "state") == b"done", 180, every=2, what="the history written")
        day = datetime.fromtimestamp(wall["as_of"] / 1000, BEIJING) - timedelta(days=2)
        analyst = http_log_in(f"http://127.0.0.1:{web_port}", "analyst", _passwords(out.read_text("utf-8"))["analyst"])
        counts = analyst.get(f"/api/history/440700/counts?start={day:%Y-%m-%d}&end={day + timedelta(days=2):%Y-%m-%d}"
                             "&by=district")
        assert counts.status_code == 200 and sum(c["n"] for c in counts.json()) > 20, counts.text[:300]
        server = r.info("server")
        assert server["redis_mode"] == "standalone" and server["tcp_port"] != 6379
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(30)
    assert demo.returncode == 0
    time.sleep(0.5)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()


def _passwords(banner: str) -> dict[str, str]:
    names = "duty|duty-taishan|leader|leader-taishan|analyst|sysadmin|secadmin|auditor"
    return dict(re.findall(rf"^\s{{4,}}({names})\s+(\S+)\s",
                           banner, re.M))


def _accounts_work(banner: str, base: str, cwd: Path) -> None:
    """The banner's accounts log in (the 台山 officer only to 台山), and `pingan users` with the
    banner's variables acts on the running demo's accounts."""
    accounts = _passwords(banner)
    assert set(accounts) == {"duty", "duty-taishan", "leader", "leader-taishan", "analyst", "sysadmin", "secadmin",
                             "auditor"}
    wait_until(lambda: httpx.get(f"{base}/healthz", timeout=5).status_code in (200, 503), 60, what="the web")
    with httpx.Client(base_url=base, timeout=10) as anyone:  # a wrong password, against the demo's Redis 6.2
        token = CSRF.search(anyone.get("/login").text)
        assert token
        wrong = anyone.post("/login", data={"username": "duty", "password": "not-it", "csrf_token": token.group(1)},
                            headers={"Origin": base})
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    duty = http_log_in(base, "duty", accounts["duty"])
    assert duty.get("/wall").status_code == 200
    taishan = http_log_in(base, "duty-taishan", accounts["duty-taishan"])
    assert taishan.get("/api/snapshot/wall?scope=440781").status_code in (200, 404)  # 404: none published yet
    assert taishan.get("/api/snapshot/wall?scope=440700").status_code == 403
    users = re.search(r"accounts\s+(.*?) pingan users list", banner)
    assert users, banner
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PINGAN_")},
           **dict(kv.split("=", 1) for kv in users.group(1).split())}
    listed = subprocess.run([sys.executable, "-m", "dashboard.cli", "users", "list", "--json"], env=env, cwd=cwd,
                            capture_output=True, text=True, check=True)
    names = {a["name"]: a for a in orjson.loads(listed.stdout)["accounts"]}
    assert names["duty-taishan"]["scope"] == "440781" and names["auditor"]["role"] == "auditor"
    subprocess.run([sys.executable, "-m", "dashboard.cli", "users", "disable", "duty"], env=env, cwd=cwd, check=True)
    assert duty.get("/wall").status_code == 302, "disabling the account ended its session"
    # the wall screen's link: a browser opening it becomes the screen, no login, until it is revoked
    link = re.search(r"wall screen\s+(\S+/screen\?key=\S+)", banner)
    revoke = re.search(r"pingan screens revoke (demo-wall-\S+)\)", banner)
    assert link and revoke, banner
    with httpx.Client(timeout=10) as wall:
        opened = wall.get(link.group(1))
        assert opened.status_code == 302 and opened.headers["location"].startswith("/wall?")
        assert "kiosk=1" in opened.headers["location"] and "rotate=30" in opened.headers["location"]
        assert wall.get(f"{base}/wall").status_code == 200
        subprocess.run([sys.executable, "-m", "dashboard.cli", "screens", "revoke", revoke.group(1)], env=env,
                       cwd=cwd, check=True)
        assert wall.get(f"{base}/wall").status_code == 302, "revoked: the login page"
