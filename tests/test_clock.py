"""The run's shared clock: the formula, its inverse, the settings, and the simulator on it."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from dashboard.contract.clock import Clock
from dashboard.contract.event import BEIJING
from dashboard.contract.settings import Settings
from feeds.simulator.engine import Simulator
from feeds.simulator.simtime import SimClock
from feeds.simulator.traffic import DEFAULT_VOLUMES

ORIGIN = 1_790_000_000.0  # 2026-09-22 (epoch seconds)


def test_default_clock_is_the_system_clock():
    before = time.time()
    now = Clock().now()
    assert before <= now <= time.time()
    assert Clock().real and Clock(ORIGIN, 1.0).at(ORIGIN + 5) == ORIGIN + 5


def test_fast_clock_runs_from_its_origin(monkeypatch):
    clock = Clock(ORIGIN, 60)
    monkeypatch.setattr(time, "time", lambda: ORIGIN + 90)
    assert clock.now() == ORIGIN + 90 * 60
    assert clock.at(ORIGIN) == ORIGIN
    assert clock.real_at(ORIGIN + 3600) == ORIGIN + 60  # one clock hour is one real minute
    assert clock.real_at(clock.at(ORIGIN + 1234.5)) == pytest.approx(ORIGIN + 1234.5)
    assert not clock.real and clock.describe() == {"speed": 60, "origin": ORIGIN}


def test_two_processes_with_one_origin_agree_whenever_they_start():
    first = Clock(ORIGIN, 60)
    time.sleep(0.05)
    second = Clock(ORIGIN, 60)
    assert abs(first.now() - second.now()) < 0.05 * 60


@pytest.mark.parametrize(("origin", "speed"), [(None, 60.0), (ORIGIN, 0.0), (ORIGIN, -1.0)])
def test_clock_refuses_what_would_drift(origin, speed):
    with pytest.raises(ValueError):
        Clock(origin, speed)


def test_clock_from_settings_and_environment(monkeypatch):
    monkeypatch.setenv("PINGAN_CLOCK_ORIGIN", repr(ORIGIN + 0.25))
    monkeypatch.setenv("PINGAN_CLOCK_SPEED", "60.0")
    assert Clock.from_settings(Settings(_env_file=None)) == Clock(ORIGIN + 0.25, 60)
    monkeypatch.delenv("PINGAN_CLOCK_ORIGIN")
    monkeypatch.delenv("PINGAN_CLOCK_SPEED")
    assert Clock.from_settings(Settings(_env_file=None)) == Clock()


def test_sim_clock_on_the_shared_clock_agrees_to_the_second_until_paused():
    origin = time.time() - 100
    shared = Clock(origin, 60)
    sim = SimClock(datetime.fromtimestamp(origin, BEIJING), 60, origin=origin)
    before = shared.now()
    assert int(before) <= sim.now().timestamp() <= shared.now()
    sim.pause()
    frozen = sim.now()
    time.sleep(0.5)
    assert sim.now() == frozen and not sim.shared
    sim.resume()  # the simulator goes on from where it stopped; other processes' clocks ran on
    assert shared.now() - sim.now().timestamp() >= 20


def test_simulator_starts_at_the_origin_and_reports_the_shared_clock(tmp_path):
    origin = time.time()
    sim = Simulator(seed=1, speed=60, backfill_h=0, volumes={k: 0.0 for k in DEFAULT_VOLUMES},
                    data_dir=tmp_path, clock_origin=origin)
    assert sim.start == datetime.fromtimestamp(int(origin), BEIJING)
    shared = Clock(origin, 60)
    before = shared.now()
    sim.tick()
    assert int(before) <= sim.now.timestamp() <= shared.now()
    assert sim.status()["shared_clock"] is True
    sim.pause()
    sim.resume()
    assert sim.status()["shared_clock"] is False
