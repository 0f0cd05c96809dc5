"""SLA clocks against the real official calendar (chinese_calendar), the shipped policies and bad files."""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.contract.event import BEIJING, Category, Status
from dashboard.contract.systems import load_raw
from dashboard.live import sla
from dashboard.live.sla import RANK, CaseFacts, Policies, PolicyError, SlaClock, add_working_days, parse_span
from tests.conftest import examples

MIN, HOUR, DAY = 60, 3600, 86_400


def bj(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> float:
    return datetime(y, m, d, hh, mm, tzinfo=BEIJING).timestamp()


@pytest.fixture(scope="module")
def policies() -> Policies:
    return Policies.load()


def facts(source: str = "12345", category: str = "public_service", priority: int = 3, adcode: str | None = "440703",
          code: str | None = None, name: str | None = None) -> CaseFacts:
    return CaseFacts(source, category, priority, adcode, code, name)


def by_stage(clocks: list[SlaClock]) -> dict[str, SlaClock]:
    return {c.stage: c for c in clocks}


# --- the shipped policies ----------------------------------------------------------------------


def test_117_has_reply_solution_and_close_clocks(policies: Policies):
    t0 = bj(2026, 3, 2, 9)
    h = [(t0, "reported"), (t0 + 50 * MIN, "in_progress"), (t0 + 20 * HOUR, "resolved"), (t0 + 8 * DAY, "closed")]
    c = by_stage(policies.clocks(facts("qy117", "enterprise_appeal"), h))
    assert list(c) == ["reply", "solution", "close"]
    assert {s: (k.deadline - k.start) for s, k in c.items()} == {"reply": HOUR, "solution": DAY, "close": 7 * DAY}
    assert c["reply"].stopped == t0 + 50 * MIN and c["reply"].on_time
    assert c["solution"].stopped == t0 + 20 * HOUR and c["solution"].on_time
    assert c["close"].stopped == t0 + 8 * DAY and not c["close"].on_time
    assert all(k.policy == "enterprise117" for k in c.values())


def test_117_reply_stops_at_any_later_status(policies: Policies):
    t0 = bj(2026, 3, 2, 9)
    c = by_stage(policies.clocks(facts("qy117", "enterprise_appeal"), [(t0, "reported"), (t0 + 600, "resolved")]))
    assert c["reply"].stopped == c["solution"].stopped == t0 + 600
    assert c["close"].open


def sign_deadline(policies: Policies, reported: float) -> float:
    return by_stage(policies.clocks(facts(), [(reported, "reported")]))["sign"].deadline


def test_12345_sign_across_a_weekend(policies: Policies):
    assert sign_deadline(policies, bj(2026, 6, 5, 15)) == bj(2026, 6, 8, 15)  # Friday → Monday, same time
    # reported on Saturday: counting starts Monday 00:00, one working day later is Tuesday 00:00
    assert sign_deadline(policies, bj(2026, 6, 6, 10)) == bj(2026, 6, 9)


def test_12345_sign_across_national_day(policies: Policies):
    assert all(not chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert sign_deadline(policies, bj(2026, 9, 30, 16)) == bj(2026, 10, 8, 16)
    assert sign_deadline(policies, bj(2026, 10, 3, 11)) == bj(2026, 10, 9)


def test_12345_make_up_workdays_count(policies: Policies):
    # the 2026 National Day holiday is paid back on Sunday 20 September and Saturday 10 October
    assert date(2026, 9, 20).weekday() == 6 and chinese_calendar.is_workday(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5 and chinese_calendar.is_workday(date(2026, 10, 10))
    assert sign_deadline(policies, bj(2026, 10, 9, 9)) == bj(2026, 10, 10, 9)  # Friday → the make-up Saturday
    assert sign_deadline(policies, bj(2026, 9, 19, 10)) == bj(2026, 9, 21)  # Saturday → counts from Sunday 00:00
    assert sign_deadline(policies, bj(2026, 10, 10, 14)) == bj(2026, 10, 12, 14)


def test_12345_close_counts_seven_working_days_over_the_holiday(policies: Policies):
    c = by_stage(policies.clocks(facts(), [(bj(2026, 9, 30, 16), "reported")]))["close"]
    # 8, 9, 10 (make-up Saturday), 12, 13, 14, 15 October
    assert c.deadline == bj(2026, 10, 15, 16)


@pytest.mark.parametrize(("f", "allowance"), [
    (facts(priority=1), 2 * HOUR),
    (facts(priority=1, code="JM003", name="供水供电"), 2 * HOUR),  # first match wins: urgent before utilities
    (facts(code="JM003", name="供水供电"), 24 * HOUR),
    (facts(name="停电报修"), 24 * HOUR),
])
def test_12345_close_overrides_in_hours(policies: Policies, f: CaseFacts, allowance: float):
    t0 = bj(2026, 6, 5, 15)
    assert by_stage(policies.clocks(f, [(t0, "reported")]))["close"].deadline == t0 + allowance


@pytest.mark.parametrize(("f", "deadline"), [
    (facts(code="JM010", name="政策咨询"), bj(2026, 6, 9, 15)),
    (facts(name="社保咨询"), bj(2026, 6, 9, 15)),
    (facts(name="困难求助"), bj(2026, 6, 12, 15)),
    (facts(name="疑难复杂件"), bj(2026, 6, 29, 15)),  # 19 June is the Dragon Boat Festival
    (facts(code="JM007", name="市容环境"), bj(2026, 6, 16, 15)),
    (facts(), bj(2026, 6, 16, 15)),
])
def test_12345_close_overrides_in_working_days(policies: Policies, f: CaseFacts, deadline: float):
    assert by_stage(policies.clocks(f, [(bj(2026, 6, 5, 15), "reported")]))["close"].deadline == deadline


@pytest.mark.parametrize(("source", "adcode", "dispatch", "arrive"), [
    ("110", "440703", 3 * MIN, 15 * MIN),
    ("110", "440781", 3 * MIN, 30 * MIN),
    ("110", None, 3 * MIN, 15 * MIN),  # no district known: the stricter target
    ("119", "440705", 1 * MIN, 15 * MIN),
    ("119", "440785", 1 * MIN, 30 * MIN),
    ("120", "440784", 3 * MIN, 30 * MIN),
])
def test_emergency_dispatch_and_arrival_urban_and_rural(policies, source, adcode, dispatch, arrive):
    t0 = bj(2026, 2, 17, 3)
    h = [(t0, "reported"), (t0 + 120, "accepted"), (t0 + 150, "dispatched"), (t0 + 20 * MIN, "in_progress")]
    c = by_stage(policies.clocks(facts(source, "fire", adcode=adcode), h))
    assert c["dispatch"].allowance_s == dispatch and c["arrive"].allowance_s == arrive
    assert c["dispatch"].stopped == t0 + 150 and c["arrive"].stopped == t0 + 20 * MIN
    assert c["arrive"].on_time is (arrive == 30 * MIN)


def test_grid_report_accepted_on_the_spot(policies: Policies):
    t0 = bj(2026, 5, 1, 8)
    c = policies.clocks(facts("wg", "public_order"), [(t0, "reported"), (t0 + 40 * MIN, "resolved")])
    assert [(k.stage, k.stopped, k.on_time) for k in c] == [("accept", t0 + 40 * MIN, True)]


def test_petition_handling_clock_starts_at_acceptance(policies: Policies):
    t0 = bj(2026, 4, 1, 10)
    f = facts("xf", "petition")
    assert [k.stage for k in policies.clocks(f, [(t0, "reported")])] == ["accept"]
    c = by_stage(policies.clocks(f, [(t0, "reported"), (t0 + 10 * DAY, "accepted")]))
    assert c["accept"].on_time and c["handle"].start == t0 + 10 * DAY
    assert c["handle"].deadline == t0 + 70 * DAY


def test_unknown_source_has_no_clocks(policies: Policies):
    assert policies.clocks(facts("qx", "weather_warning"), [(bj(2026, 1, 5), "reported")]) == []
    assert policies.policy_for(facts("qx")) is None and policies.policy_for(facts("12345")) == "hotline12345"


def test_policy_names_agree_with_the_registry(policies: Policies):
    feeds = load_raw()
    for name, stage, _, _ in policies.stages():
        codes = [code for code, raw in feeds.items() if raw.get("sla") == name]
        assert codes, f"no feed in systems.toml names sla = {name!r}"
        for code in codes:
            assert policies.policy_for(facts(code)) == name, (code, stage)


def test_stages_and_describe_follow_the_file(policies: Policies):
    stages = policies.stages()
    assert stages[:2] == [("hotline12345", "sign", "签收", "sign-off"), ("hotline12345", "close", "办结", "closure")]
    rows = policies.describe()
    assert [(r["policy"], r["stage"]) for r in rows if r["when"] is None] == [s[:2] for s in stages]
    texts = [r["text_zh"] for r in rows]
    assert "12345热线 签收：1 个工作日" in texts
    assert "12345热线 办结（紧急）：2 小时" in texts
    assert "110警情 到场：城区 15 分钟，农村 30 分钟" in texts
    utilities = [r for r in rows if r["when"] == "utilities"]
    assert len(utilities) == 1 and "JM003" in utilities[0]["match"] and "供水" in utilities[0]["match"]


def test_every_event_status_has_a_rank():
    assert set(RANK) == {s.value for s in Status}


# --- lifecycle semantics ------------------------------------------------------------------------


def test_close_restarts_after_reopen_and_sign_does_not(policies: Policies):
    t0 = bj(2026, 3, 2, 9)
    h = [(t0, "reported"), (t0 + HOUR, "accepted"), (t0 + DAY, "resolved"), (t0 + 2 * DAY, "rated"),
         (t0 + 3 * DAY, "reopened")]
    c = by_stage(policies.clocks(facts(), h))
    assert c["sign"].start == t0 and c["sign"].stopped == t0 + HOUR
    assert c["close"].start == t0 + 3 * DAY and c["close"].open
    assert c["close"].deadline == bj(2026, 3, 16, 9)  # 7 working days from Thursday 5 March 09:00
    c = by_stage(policies.clocks(facts(), [*h, (t0 + 4 * DAY, "resolved"), (t0 + 5 * DAY, "closed")]))
    assert c["close"].stopped == t0 + 4 * DAY and c["close"].on_time


def test_restart_counts_from_the_last_reopen(policies: Policies):
    t0 = bj(2026, 3, 2, 9)
    h = [(t0, "reported"), (t0 + HOUR, "in_progress"), (t0 + 2 * HOUR, "resolved"), (t0 + 3 * HOUR, "reopened"),
         (t0 + 4 * HOUR, "resolved"), (t0 + 5 * HOUR, "reopened")]
    c = by_stage(policies.clocks(facts("qy117", "enterprise_appeal"), h))
    assert c["reply"].stopped == t0 + HOUR  # the reply clock is not marked restart_on_reopen
    assert c["solution"].start == t0 + 5 * HOUR and c["solution"].open


def test_cancelled_case_has_no_clocks(policies: Policies):
    t0 = bj(2026, 3, 2, 9)
    assert policies.clocks(facts(), [(t0, "reported"), (t0 + 10 * DAY, "cancelled")]) == []
    assert policies.clocks(facts("xf", "petition"), [(t0, "reported"), (t0 + DAY, "cancelled")]) == []


def test_start_falls_back_to_the_earliest_step(policies: Policies):
    t0 = bj(2026, 3, 2, 9)
    c = by_stage(policies.clocks(facts(), [(t0 + HOUR, "accepted"), (t0 + 2 * HOUR, "in_progress")]))
    assert c["sign"].start == t0 + HOUR and c["sign"].stopped == t0 + HOUR


def test_stop_stamped_before_the_report_counts_at_the_start(policies: Policies):
    # two upstream clocks disagree by a minute: the step was done, the clock must not run on
    t0 = bj(2026, 3, 2, 9)
    c = by_stage(policies.clocks(facts(), [(t0, "reported"), (t0 - MIN, "accepted")]))
    assert c["sign"].start == t0 and c["sign"].stopped == t0 and c["sign"].on_time


def test_unknown_statuses_and_empty_history_are_ignored(policies: Policies):
    assert policies.clocks(facts(), []) == []
    t0 = bj(2026, 3, 2, 9)
    assert policies.clocks(facts(), [(t0, "reported"), (t0 + 1, "replied")]) == policies.clocks(
        facts(), [(t0, "reported")])


def test_duplicates_and_order_do_not_matter(policies: Policies):
    t0 = bj(2026, 9, 28, 17)
    h = [(t0, "reported"), (t0 + HOUR, "accepted"), (t0 + DAY, "dispatched"), (t0 + 2 * DAY, "resolved"),
         (t0 + 3 * DAY, "rated"), (t0 + 4 * DAY, "reopened"), (t0 + 9 * DAY, "resolved")]
    expected = policies.clocks(facts(), h)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = h + rng.sample(h, 3)
        rng.shuffle(shuffled)
        assert policies.clocks(facts(), shuffled) == expected


# --- lights ---------------------------------------------------------------------------------------


def test_light_boundaries(policies: Policies):
    t0 = bj(2026, 3, 2, 9)
    c = by_stage(policies.clocks(facts("qy117", "enterprise_appeal"), [(t0, "reported")]))["reply"]
    assert c.deadline == t0 + HOUR and c.yellow_at == t0 + 48 * MIN  # 20 % of an hour left
    assert c.light(t0) == "green"
    assert c.light(c.yellow_at - 0.001) == "green"
    assert c.light(c.yellow_at) == "yellow"
    assert c.light(c.deadline) == "yellow"  # stopping at the deadline is still on time
    assert c.light(c.deadline + 0.001) == "red"
    assert not c.overdue(c.deadline) and c.overdue(c.deadline + 1)


def test_yellow_is_wall_time_for_working_day_clocks(policies: Policies):
    start = bj(2026, 6, 5, 15)  # Friday; the deadline is Monday 15:00, 72 hours later
    c = by_stage(policies.clocks(facts(), [(start, "reported")]))["sign"]
    assert c.yellow_at == c.deadline - 0.2 * 72 * HOUR


def test_stopped_clock_is_done_and_on_time_at_the_deadline():
    c = SlaClock("p", "s", "签收", "sign-off", 0.0, 100.0, 80.0, 100.0)
    assert c.light(1e9) == "done" and c.on_time and not c.open and not c.overdue(1e9)
    late = SlaClock("p", "s", "签收", "sign-off", 0.0, 100.0, 80.0, 100.5)
    assert not late.on_time and late.overdue(0.0)


def test_per_policy_yellow_fraction(tmp_path: Path):
    p = Policies.load(write(tmp_path, POLICY + 'yellow_fraction = 0.5\n' + STAGE))
    c = p.clocks(facts("zz"), [(1000.0, "reported")])[0]
    assert c.yellow_at == 1000.0 + 1800


# --- working days beyond the package's calendar ------------------------------------------------


def test_years_without_an_official_calendar_count_monday_to_friday(caplog):
    sla.is_working_day.cache_clear()
    sla._working_day_after.cache_clear()
    sla._warn_uncovered.cache_clear()
    friday = datetime(2090, 1, 6, 10, tzinfo=BEIJING)
    assert friday.weekday() == 4
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(friday.date())
    with caplog.at_level(logging.WARNING, logger="dashboard.live.sla"):
        assert add_working_days(friday.timestamp(), 1) == (friday + timedelta(days=3)).timestamp()
        assert add_working_days(friday.timestamp(), 6) == (friday + timedelta(days=10)).timestamp()
    assert len([r for r in caplog.records if "2090" in r.getMessage()]) == 1


def test_milliseconds_passed_as_seconds_do_not_crash(policies: Policies):
    t = bj(2026, 3, 2, 9) * 1000
    assert [c.stage for c in policies.clocks(facts(), [(t, "reported")])] == ["sign", "close"]


# --- the file -----------------------------------------------------------------------------------

POLICY = '[policies.zz]\nsources = ["zz"]\n'
STAGE = '[[policies.zz.stages]]\nstage = "reply"\nlabel_zh = "答复"\nstop_at = "accepted"\nwithin = "1 hour"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sla.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(("text", "key", "words"), [
    (POLICY + STAGE.replace('"1 hour"', '"1 hourz"'), "policies.zz.stages[0].within", "unknown unit"),
    (POLICY + STAGE.replace('"1 hour"', '"an hour"'), "policies.zz.stages[0].within", "not 'N unit'"),
    (POLICY + STAGE.replace('"1 hour"', '"0 hours"'), "policies.zz.stages[0].within", "more than zero"),
    (POLICY + STAGE.replace('"1 hour"', '"1.5 working_days"'), "policies.zz.stages[0].within", "whole days"),
    (POLICY + STAGE.replace('"1 hour"', '"400 working_days"'), "policies.zz.stages[0].within", "longer than"),
    (POLICY + STAGE.replace('"1 hour"', '{ urban = "1 hour" }'), "policies.zz.stages[0].within.rural", "missing"),
    (POLICY + STAGE.replace('stop_at = "accepted"\n', ''), "policies.zz.stages[0].stop_at", "missing"),
    (POLICY + STAGE.replace('"accepted"', '"done"'), "policies.zz.stages[0].stop_at", "not a lifecycle status"),
    (POLICY + STAGE.replace("stop_at", "stop_on"), "policies.zz.stages[0].stop_on", "unknown key"),
    (POLICY + STAGE + 'restart_on_reopen = "yes"\n', "policies.zz.stages[0].restart_on_reopen", "true or false"),
    (POLICY + STAGE + 'override = [{ when = "x", when_zh = "x", within = "1 day" }]\n',
     "policies.zz.stages[0].override[0]", "at least one of"),
    (POLICY + STAGE + 'override = [{ when = "x", when_zh = "x", within = "1 day", priority = 7 }]\n',
     "policies.zz.stages[0].override[0].priority", "1-4"),
    (POLICY + STAGE + 'override = [{ when = "x", when_zh = "x", within = "1 day", category = "fires" }]\n',
     "policies.zz.stages[0].override[0].category", "unknown category"),
    (POLICY + STAGE + STAGE, "policies.zz.stages", "repeat"),
    (POLICY.replace('["zz"]', '[]') + STAGE, "policies.zz.sources", "non-empty list"),
    (POLICY, "policies.zz.stages", "missing"),
    ('yellow_fraction = 1.5\n' + POLICY + STAGE, "yellow_fraction", "below 1"),
    ('yellow_fraction = true\n' + POLICY + STAGE, "yellow_fraction", "a number"),
    ('urban_adcodes = ["4407"]\n' + POLICY + STAGE, "urban_adcodes", "6-digit"),
    ('[policies."Bad.Name"]\nsources = ["zz"]\n', "policies.Bad.Name", "lower-case"),
    ('yellow_fraction = 0.2\n', "policies", "missing"),
])
def test_bad_file_names_the_file_and_the_key(tmp_path: Path, text: str, key: str, words: str):
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        Policies.load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message, message


def test_unreadable_file_names_the_file(tmp_path: Path):
    with pytest.raises(PolicyError, match="sla.toml"):
        Policies.load(write(tmp_path, "[policies.zz\n"))
    with pytest.raises(PolicyError, match="missing.toml"):
        Policies.load(tmp_path / "missing.toml")


@pytest.mark.parametrize(("text", "seconds"), [
    ("1 day", DAY), ("2 hours", 2 * HOUR), ("30 minutes", 30 * MIN), ("1 minute", MIN), ("1.5 hours", 5400),
    ("45 seconds", 45),
])
def test_spans(text: str, seconds: float):
    assert parse_span(text).seconds == seconds


def test_categories_select_the_policy(tmp_path: Path):
    text = ('[policies.fast]\nsources = ["zz"]\ncategories = ["fire"]\n' + STAGE.replace("zz", "fast")
            + POLICY + STAGE.replace('"1 hour"', '"1 day"'))
    p = Policies.load(write(tmp_path, text))
    assert p.clocks(facts("zz", "fire"), [(0.0, "reported")])[0].policy == "fast"
    assert p.clocks(facts("zz", "dispute"), [(0.0, "reported")])[0].policy == "zz"


# --- properties and speed -----------------------------------------------------------------------

SOURCES = ["12345", "qy117", "110", "119", "120", "122", "wg", "cg", "xf", "qx"]
T0 = bj(2026, 9, 1)
steps = st.tuples(st.floats(T0 - 30 * DAY, T0 + 200 * DAY, allow_nan=False), st.sampled_from(sorted(RANK)))
case_facts = st.builds(
    CaseFacts, st.sampled_from(SOURCES), st.sampled_from([c.value for c in Category]), st.integers(1, 4),
    st.sampled_from([None, "440703", "440781"]), st.sampled_from([None, "JM003", "JM010", "JM007"]),
    st.sampled_from([None, "政策咨询", "困难求助", "市容环境"]),
)


@settings(max_examples=examples(300), deadline=None)
@given(case_facts, st.lists(steps, max_size=12), st.randoms(use_true_random=False))
def test_clocks_are_deterministic_and_well_formed(f: CaseFacts, history, rnd):
    policies = Policies.load()
    clocks = policies.clocks(f, history)
    again = history + history[: len(history) // 2]
    rnd.shuffle(again)
    assert policies.clocks(f, again) == clocks
    if any(s == "cancelled" for _, s in history):
        assert clocks == []
    for c in clocks:
        assert c.start <= c.yellow_at <= c.deadline
        assert c.stopped is None or c.stopped >= c.start
    order = [(p, s) for p, s, _, _ in policies.stages()]
    assert [(c.policy, c.stage) for c in clocks] == [x for x in order if x in {(c.policy, c.stage) for c in clocks}]


def test_a_typical_case_is_answered_from_the_calendar_caches(policies: Policies):
    """Working-day arithmetic is cached: a repeat of a case asks the holiday calendar nothing new.
    (What a call costs is `pingan bench live`'s `sla_clocks_us`, against the same call with cold caches.)"""
    t0 = bj(2026, 9, 30, 16)
    h = [(t0, "reported"), (t0 + HOUR, "accepted"), (t0 + 2 * HOUR, "dispatched"), (t0 + 3 * DAY, "in_progress")]
    f = facts(code="JM007", name="市容环境")
    first = policies.clocks(f, h)
    misses = (sla._working_day_after.cache_info().misses, sla.is_working_day.cache_info().misses)
    hits = sla._working_day_after.cache_info().hits
    for _ in range(50):
        assert policies.clocks(f, h) == first
    assert (sla._working_day_after.cache_info().misses, sla.is_working_day.cache_info().misses) == misses
    assert sla._working_day_after.cache_info().hits > hits
