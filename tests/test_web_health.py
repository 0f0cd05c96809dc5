"""`/healthz` and `/metrics` of the web app against a real Redis (isolated prefix)."""

from __future__ import annotations

import time

import orjson
import pytest

from dashboard.boards import REGISTRY
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.web.app import create_app
from tests.conftest import REDIS_URL

CITY = "440700"
CHECKS = REGISTRY.health_checks(CITY)  # the (snapshot, scope) pairs the registered boards require


@pytest.fixture
def web_settings(prefix, tmp_path) -> Settings:
    return Settings(redis_url=REDIS_URL, key_prefix=prefix, tile_probe=False, tile_url="", data_dir=tmp_path)


@pytest.fixture
def client(web_settings, r):  # r: the prefix is wiped before and after
    return create_app(web_settings).server.test_client()


def publish_fresh(r, keys: Keys) -> None:
    for name, scope in CHECKS:
        r.xadd(keys.snapshot_log(name, scope), {"s": orjson.dumps({"snapshot": name, "scope": scope})})


def all_feeds_ok(r, keys: Keys, settings: Settings) -> list[str]:
    codes = list(load_feeds(settings))
    for code in codes:
        r.hset(keys.health(code), mapping={"last_ok": int(time.time() * 1000), "failures": 0})
    return codes


def test_healthz_is_ok_with_fresh_snapshots_and_healthy_feeds(client, r, keys, web_settings):
    publish_fresh(r, keys)
    all_feeds_ok(r, keys, web_settings)
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["status"] == "ok" and body["feeds_not_ok"] == [] and body["snapshots"]["stale"] == []
    assert set(body["snapshots"]["age_s"]) == {f"{n}:{s}" for n, s in CHECKS}
    assert {n for n, _ in CHECKS} == {"wall", "emergency"}, "the boards' whole snapshots (not the case map's log)"
    assert all(0 <= age < 5 for age in body["snapshots"]["age_s"].values())
    assert body["redis"]["ok"] is True


def test_healthz_is_degraded_but_200_when_a_feed_fails(client, r, keys, web_settings):
    publish_fresh(r, keys)
    codes = all_feeds_ok(r, keys, web_settings)
    r.hset(keys.health(codes[0]), "failures", web_settings.degraded_after)
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "degraded" and resp.get_json()["feeds_not_ok"] == [codes[0]]


def test_healthz_is_degraded_when_no_poller_reported(client, r, keys):
    publish_fresh(r, keys)
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "degraded"


def test_healthz_is_503_with_a_stale_snapshot(client, r, keys, web_settings):
    publish_fresh(r, keys)
    all_feeds_ok(r, keys, web_settings)
    sec, _ = r.time()
    old = (int(sec) - 4 * int(web_settings.snapshot_heartbeat_s) - 60) * 1000
    stale = keys.snapshot_log("wall", "440703")  # one district's wall figures
    r.delete(stale)
    r.xadd(stale, {"s": b"{}"}, id=f"{old}-0")
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 503
    assert body["status"] == "down" and body["snapshots"]["stale"] == ["wall:440703"]
    assert body["snapshots"]["age_s"]["wall:440703"] > 3 * web_settings.snapshot_heartbeat_s


def test_healthz_is_503_with_a_missing_snapshot(client, r, keys, web_settings):
    publish_fresh(r, keys)
    all_feeds_ok(r, keys, web_settings)
    r.delete(keys.snapshot_log("wall", CITY))
    resp = client.get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["snapshots"]["stale"] == [f"wall:{CITY}"] and body["snapshots"]["age_s"][f"wall:{CITY}"] is None


def test_healthz_is_503_before_anything_was_published(client):
    resp = client.get("/healthz")
    assert resp.status_code == 503 and len(resp.get_json()["snapshots"]["stale"]) == len(CHECKS) == 16


def test_metrics_expose_feeds_snapshot_ages_and_screens(client, r, keys, web_settings):
    publish_fresh(r, keys)
    codes = all_feeds_ok(r, keys, web_settings)
    r.hset(keys.health(codes[0]), "failures", web_settings.down_after)
    now = int(time.time() * 1000)
    r.hset(keys.screens, mapping={
        "a": orjson.dumps({"board": "wall", "scope": CITY, "seen": now}),
        "b": orjson.dumps({"board": "wall", "scope": "440703", "seen": now}),
        "gone": orjson.dumps({"board": "wall", "scope": CITY, "seen": now - 3_600_000}),
    })
    r.delete(keys.snapshot_log("wall", "440785"))
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    lines = resp.get_data(as_text=True).splitlines()
    assert "pingan_redis_up 1.0" in lines
    assert f'pingan_feed_up{{feed="{codes[0]}"}} 0.0' in lines
    assert f'pingan_feed_up{{feed="{codes[1]}"}} 1.0' in lines
    assert 'pingan_connected_screens{board="wall"} 2.0' in lines
    ages = dict(ln.rsplit(" ", 1) for ln in lines if ln.startswith("pingan_snapshot_age_seconds{"))
    assert len(ages) == len(CHECKS)
    assert 0 <= float(ages[f'pingan_snapshot_age_seconds{{scope="{CITY}",snapshot="wall"}}']) < 5
    assert ages['pingan_snapshot_age_seconds{scope="440785",snapshot="wall"}'] == "NaN"
    assert 'pingan_connected_screens{board="emergency"} 0.0' in lines


def test_redis_down_is_503_and_redis_up_zero(tmp_path):
    dead = Settings(redis_url="redis://127.0.0.1:1/0", key_prefix="test-nowhere", tile_probe=False, tile_url="",
                    data_dir=tmp_path)
    client = create_app(dead).server.test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "down" and resp.get_json()["redis"]["ok"] is False
    assert "pingan_redis_up 0.0" in client.get("/metrics").get_data(as_text=True).splitlines()
