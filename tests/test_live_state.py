"""Live state: folding is idempotent and order-independent; the incremental state equals a replay."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.bench import synth
from dashboard.live.rebuild import compare, differences, read_live, rebuild, replay
from dashboard.live.sla import Policies
from dashboard.live.state import Deriver, Horizon, fold
from dashboard.live.store import LiveStore
from tests.conftest import examples

NOW = datetime.now(UTC).replace(microsecond=0)  # bucket keys expire in real time
POLICIES = Policies.load()


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(synth.events(3000, NOW, seed=3, span=timedelta(days=3)))


def _by_case(events: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for ev in events:
        out.setdefault(ev["case_id"], []).append(ev)
    return out


def _fold_all(events: list[dict]) -> dict:
    state = None
    for ev in events:
        state = fold(state, ev)
    return state


@given(st.data())
@hsettings(max_examples=examples(60), deadline=None)
def test_fold_is_order_independent_and_idempotent(sample, data):
    cases = [evs for evs in _by_case(sample).values() if len(evs) >= 3]
    evs = data.draw(st.sampled_from(cases))
    shuffled = data.draw(st.permutations(evs))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(evs), max_size=4))
    assert _fold_all(repeated) == _fold_all(evs)


def test_fold_keeps_the_newest_version_and_every_step(sample):
    evs = max(_by_case(sample).values(), key=len)
    state = _fold_all(list(reversed(evs)))
    assert len(state["h"]) == len({e["event_id"] for e in evs})
    newest = max(evs, key=lambda e: (e["occurred_at"], e["event_id"]))
    assert state["cur"]["status"] == newest["status"] or newest["occurred_at"] == state["v"][0]


def test_derive_counts_a_case_once(sample, keys):
    deriver = Deriver(POLICIES, keys)
    evs = next(e for e in _by_case(sample).values() if e[-1]["status"] == "rated")
    c = deriver.derive(_fold_all(evs), Horizon.at(NOW.timestamp()))
    day_all = [k for k in c.counts if k[0].endswith(":all") and ":agg:d:" in k[0]]
    assert sum(c.counts[k] for k in day_all if k[1] == "*|recv") == 1
    assert sum(c.counts[k] for k in day_all if k[1] == "*|rated") == 1


def _apply_in_batches(store: LiveStore, events: list[dict], rng: random.Random, now: float) -> None:
    i = 0
    while i < len(events):
        n = rng.randint(1, 400)
        store.apply(events[i:i + n], now=now)
        i += n


def _stream_all(r, keys, events):
    pipe = r.pipeline(transaction=False)
    for ev in events:
        pipe.xadd(keys.stream(ev["source"]), {"id": ev["event_id"], "e": orjson.dumps(ev)})
    pipe.execute()


def test_incremental_state_equals_replay_whatever_the_order(r, keys, settings, sample):
    now = NOW.timestamp()
    rng = random.Random(7)
    shuffled = sample[:]
    rng.shuffle(shuffled)
    duplicated = shuffled + rng.sample(sample, 500)  # at-least-once: some events twice
    store = LiveStore(r, keys, settings, POLICIES)
    _apply_in_batches(store, duplicated, rng, now)
    _stream_all(r, keys, sample)
    feeds = sorted({e["source"] for e in sample})
    expected = replay(r, keys, feeds, settings, POLICIES, now)
    actual = read_live(r, keys, now)
    report = compare(expected, actual)
    assert differences(report) == 0, report
    assert actual.counts[keys.now("all")]["*|open"] == sum(
        1 for s in expected.states.values() if s["cur"]["status"] not in ("resolved", "closed", "rated", "cancelled"))
    linked = [s for s in expected.states.values() if s["dup"]]
    assert linked, "the sample holds echoed reports: some must be linked"


def test_concurrent_workers_never_count_twice(r, keys, settings, sample):
    now = NOW.timestamp()
    stores = [LiveStore(r, keys, settings, POLICIES) for _ in range(3)]
    chunks = [sample[i::3] + sample[(i + 1) % 3::3][:300] for i in range(3)]  # overlapping work
    errors = []

    def work(store, evs, seed):
        try:
            _apply_in_batches(store, evs, random.Random(seed), now)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(store, chunk, i))
               for i, (store, chunk) in enumerate(zip(stores, chunks, strict=True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _stream_all(r, keys, sample)
    rep = rebuild(r, keys, sorted({e["source"] for e in sample}), settings, POLICIES, now=now)
    assert rep["differences"] == 0, rep["report"]
    assert rep["cases"] == len({e["case_id"] for e in sample})


def test_rebuild_reports_and_repairs_a_difference(r, keys, settings, sample):
    now = NOW.timestamp()
    LiveStore(r, keys, settings, POLICIES).apply(sample, now=now)
    _stream_all(r, keys, sample)
    feeds = sorted({e["source"] for e in sample})
    r.hincrby(keys.now("all"), "*|open", 5)  # a counter drifted (a bug, a manual edit)
    victim = sample[0]["case_id"]
    r.delete(keys.case(victim))
    rep = rebuild(r, keys, feeds, settings, POLICIES, now=now)
    assert rep["report"]["counters"]["different"] >= 1
    assert rep["report"]["cases"]["missing"] == 1
    fixed = rebuild(r, keys, feeds, settings, POLICIES, apply=True, now=now)
    assert fixed["applied"]
    assert rebuild(r, keys, feeds, settings, POLICIES, now=now)["differences"] == 0


def _hotline_event(status: str, at: datetime, n: int) -> dict:
    return {
        "schema": 1, "event_id": f"12345:T1:{n}", "case_id": "12345:T1", "source": "12345", "kind": "case",
        "status": status, "category": "utilities", "priority": 3, "occurred_at": at.isoformat(),
        "reported_at": datetime(2026, 9, 29, 2, tzinfo=UTC).isoformat(), "ingested_at": at.isoformat(),
        "location": {"lat": 22.58, "lon": 113.08, "adcode": "440703"}, "department": None,
        "summary": "停水", "attrs": {"service_code": "JM003", "service_name": "供水"},
    }


def test_a_marker_shows_the_earlier_stage_when_two_clocks_fall_due_at_one_moment():
    """A utilities order (JM003) reported on a Tuesday at 10:00 Beijing: signing off is due in one
    working day and the closure in 24 hours, both Wednesday 10:00. The marker shows the sign-off, the
    earlier stage of the workflow (the policy's order). The live reference test once broke this tie
    by the stages' names ("close" < "sign") and disagreed on the days such orders were open."""
    reported = datetime(2026, 9, 29, 2, tzinfo=UTC)  # Tuesday 10:00 in Beijing, a working day
    state = fold(None, _hotline_event("reported", reported, 0))
    deriver = Deriver(POLICIES, None)
    clocks = {c.stage: c for c in deriver.clocks(state)}
    assert clocks["sign"].deadline == clocks["close"].deadline == (reported + timedelta(days=1)).timestamp()
    marker = deriver.marker(state, clocks.values())
    assert marker is not None and marker["stage"] == "hotline12345.sign"
    assert marker["due"] == clocks["sign"].deadline
    # signed off: the closure is what is due next
    state = fold(state, _hotline_event("accepted", reported + timedelta(hours=1), 1))
    marker = deriver.marker(state, deriver.clocks(state))
    assert marker is not None and marker["stage"] == "hotline12345.close"
