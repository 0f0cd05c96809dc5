"""A reproducible simulator run (fixed seed) gives the live KPIs a reference computes independently.

The simulator of the 21 systems (fixed seed, 48 h of history) seeds the streams through the
product's own pollers and adapters in this process (the ingest is tested elsewhere), then a real
``pingan live --once --no-archive`` process folds them in and publishes the snapshots. The reference
reads the raw events back from the 21 streams (XRANGE) and recomputes the wall snapshots' figures
with pandas from the definitions alone: it shares no code with dashboard/live/state.py, store.py,
snapshot.py or rebuild.py. Only the SLA clocks come from ``dashboard.live.sla`` (tested on its
own), fed with each case's facts and steps as this file derives them.

Each snapshot is compared with the reference evaluated at that snapshot's own ``as_of``, so the
time-dependent figures (lights, open cases past their deadline, the windows) use the same instant.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
import redis

from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.contract.systems import load_feeds
from dashboard.live.sla import CaseFacts, Policies
from feeds.poller import FeedPoller, IngestContext
from feeds.simulator.engine import Simulator
from feeds.simulator.server import create_app
from feeds.simulator.traffic import DEFAULT_VOLUMES
from tests.conftest import REDIS_URL, REPO

# one group: every test reads the one run (a module fixture), built once on one worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live-reference")]

SEED = 20240917
BACKFILL_H = 48.0  # reaches into yesterday: today / 24h / 7d differ, cases get closed, rated, sent back
# (at 30 h a run had one or two ratings, or none: 12345 cases are resolved in ~33 h, rated a day later)
VOLUME_SCALE = 0.3  # of the simulator's default daily volumes: a few thousand cases, a short run

CITY = "440700"
BJ_S = 8 * 3600
HOUR_S = 3600
DAY_S = 86_400
ORDER = ("reported", "accepted", "dispatched", "in_progress", "resolved", "closed", "rated", "reopened", "cancelled")
RANK = {s: i for i, s in enumerate(ORDER)}
DONE = frozenset({"resolved", "closed", "rated"})
SATISFIED = frozenset({"满意", "基本满意"})
SIGN_STAGES = frozenset({"sign", "accept", "reply"})
CLOSE_STAGES = frozenset({"close", "closed", "handle"})
WINDOWS = ("today", "24h", "7d", "30d")
LIGHTS = ("total", "red", "yellow", "green", "due_1h")
AREA_COUNTS = ("open", "received_today", "closed_today")
# KPI fields that depend on open clocks past their deadline (not kept per town by the product)
OVERDUE_FIELDS = ("sign_overdue_open", "close_overdue_open", "ontime_sign", "response", "ontime_close")


# --- the run ---------------------------------------------------------------------------------


def _wipe(r: redis.Redis, prefix: str) -> None:
    keys = list(r.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        r.delete(*keys)


def _seed(settings: Settings) -> None:
    """The simulator's world (fixed seed, 48 h of history, then still) into the 21 streams through the
    product's own pollers, in this process: the ingest is not what this module tests, so its HTTP
    goes to the simulator's app through httpx's WSGI transport instead of a socket and a process.
    Every feed is polled until a whole round writes nothing new."""
    sim = Simulator(seed=SEED, backfill_h=BACKFILL_H, data_dir=settings.data_dir,
                    volumes={code: n * VOLUME_SCALE for code, n in DEFAULT_VOLUMES.items()})
    ctx = IngestContext.create(settings, "seed")
    ctx.http.close()
    ctx.http = httpx.Client(transport=httpx.WSGITransport(app=create_app(sim)), timeout=30)
    try:
        pollers = [FeedPoller(feed, ctx) for feed in load_feeds(settings).values()]
        for _ in range(20):
            results = [p.run_once() for p in pollers]
            assert not any(r.payload_error for r in results), [p.feed.code for p, r in zip(pollers, results,
                                                                                        strict=True)
                                                            if r.payload_error]
            if all(r.written.added == 0 for r in results):
                return
        raise AssertionError("the feeds still had new events after 20 rounds of polls")
    finally:
        ctx.close()


def _live_once(settings: Settings) -> None:
    env = {**os.environ, "PINGAN_REDIS_URL": settings.redis_url, "PINGAN_KEY_PREFIX": settings.key_prefix,
           "PINGAN_DATA_DIR": str(settings.data_dir)}
    res = subprocess.run([sys.executable, "-m", "dashboard.cli", "live", "--once", "--no-archive"],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


@dataclass
class Run:
    r: redis.Redis
    keys: Keys
    codes: list[str]
    events: pd.DataFrame
    ref: Reference
    snaps: dict[str, dict[str, Any]]  # wall snapshots by scope ("city", district adcodes)
    wall_map: dict[str, Any]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[Run]:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    r = redis.Redis.from_url(REDIS_URL)
    _wipe(r, prefix)
    tmp = tmp_path_factory.mktemp("live-ref")
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, data_dir=tmp / "var", upstream="http://simulator")
    try:
        _seed(settings)
        _live_once(settings)
        keys, codes = Keys.from_settings(settings), list(load_feeds(settings))
        city = _snapshot(r, keys, "wall", CITY)
        snaps = {"city": city, **{a["code"]: _snapshot(r, keys, "wall", a["code"]) for a in city["areas"]}}
        events = read_events(r, keys, codes)
        yield Run(r, keys, codes, events, build_reference(events, Policies.load(Settings().sla_policies)), snaps,
                  _snapshot(r, keys, "wall-map", CITY))
    finally:
        _wipe(r, prefix)
        r.close()


def _snapshot(r: redis.Redis, keys: Keys, board: str, scope: str) -> dict[str, Any]:
    raw = r.get(keys.snapshot(board, scope))
    assert raw is not None, f"no {board} snapshot for {scope}"
    return orjson.loads(raw)


# --- the reference: raw events → cases ----------------------------------------------------------


def _epoch(text: str | None) -> float:
    return math.nan if text is None else datetime.fromisoformat(text).timestamp()


def read_events(r: redis.Redis, keys: Keys, codes: list[str]) -> pd.DataFrame:
    """Every event of every feed stream, one row each (field ``e`` of each entry is the event JSON)."""
    rows = []
    for code in codes:
        for _id, fields in r.xrange(keys.stream(code)):
            e = orjson.loads(fields[b"e"])
            loc, attrs = e.get("location") or {}, e.get("attrs") or {}
            rows.append({
                "event_id": e["event_id"], "case_id": e["case_id"], "source": e["source"], "kind": e["kind"],
                "status": e["status"], "category": e["category"], "priority": e["priority"],
                "t": _epoch(e["occurred_at"]), "reported": _epoch(e.get("reported_at")),
                "adcode": loc.get("adcode"), "town": loc.get("town"), "lat": loc.get("lat"), "lon": loc.get("lon"),
                "service_code": attrs.get("service_code"), "service_name": attrs.get("service_name"),
                "satisfaction": attrs.get("satisfaction"),
            })
    df = pd.DataFrame(rows)
    df["rank"] = df["status"].map(RANK)
    df["rep"] = df["reported"].fillna(df["t"])
    return df


def _done_time(steps: list[dict[str, Any]]) -> float | None:
    """First step with a done status after the last reopened step (steps sorted by time, rank, id)."""
    reopens = [i for i, s in enumerate(steps) if s["status"] == "reopened"]
    after = steps[reopens[-1] + 1:] if reopens else steps
    return next((s["t"] for s in after if s["status"] in DONE), None)


def _case_row(case_id: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    last = steps[-1]
    status = last["status"]
    done = status in DONE
    rated = [s for s in steps if s["status"] == "rated" and isinstance(s["satisfaction"], str)]
    return {
        "case_id": case_id, "source": last["source"], "category": last["category"],
        "priority": int(last["priority"]), "adcode": last["adcode"], "town": last["town"],
        "lat": last["lat"], "lon": last["lon"], "status": status, "rep": min(s["rep"] for s in steps),
        "last_t": last["t"], "done": done, "cancelled": status == "cancelled",
        "open": not done and status != "cancelled", "done_t": _done_time(steps) if done else None,
        "n_reopen": sum(s["status"] == "reopened" for s in steps),
        "rated_t": rated[-1]["t"] if rated else None,
        "satisfied": bool(rated) and rated[-1]["satisfaction"] in SATISFIED,
    }


@dataclass
class Reference:
    cases: pd.DataFrame  # one row per case, indexed by case_id
    clocks: pd.DataFrame  # one row per SLA clock: case_id, policy, stage, deadline, yellow_at, stopped
    reopens: pd.DataFrame  # one row per reopened step: case_id, t


def build_reference(events: pd.DataFrame, policies: Policies) -> Reference:
    ev = events[events["kind"] == "case"].sort_values(["case_id", "t", "rank", "event_id"])
    cases, clocks, reopens = [], [], []
    for case_id, group in groupby(ev.to_dict("records"), key=lambda e: e["case_id"]):
        steps = list(group)
        row = _case_row(case_id, steps)
        cases.append(row)
        reopens += [{"case_id": case_id, "t": s["t"]} for s in steps if s["status"] == "reopened"]
        last = steps[-1]
        facts = CaseFacts(last["source"], last["category"], int(last["priority"]), last["adcode"],
                          last["service_code"], last["service_name"])
        history = sorted({(s["t"], s["status"]) for s in steps})
        clocks += [{"case_id": case_id, "policy": c.policy, "stage": c.stage, "deadline": c.deadline,
                    "yellow_at": c.yellow_at, "stopped": c.stopped} for c in policies.clocks(facts, history)]
    cases_df = pd.DataFrame(cases).set_index("case_id")
    for col in ("done_t", "rated_t", "lat", "lon"):
        cases_df[col] = cases_df[col].astype(float)
    clocks_df = pd.DataFrame(clocks, columns=["case_id", "policy", "stage", "deadline", "yellow_at", "stopped"])
    clocks_df["stopped"] = clocks_df["stopped"].astype(float)
    return Reference(cases_df, clocks_df, pd.DataFrame(reopens, columns=["case_id", "t"]))


def scoped(ref: Reference, column: str | None = None, value: str | None = None) -> Reference:
    """The reference restricted to the cases whose ``column`` is ``value`` (None: all)."""
    if column is None:
        return ref
    cases = ref.cases[ref.cases[column] == value]
    return Reference(cases, ref.clocks[ref.clocks["case_id"].isin(cases.index)],
                     ref.reopens[ref.reopens["case_id"].isin(cases.index)])


# --- the reference: figures at one instant ------------------------------------------------------


def day_start(now: float) -> float:
    return math.floor((now + BJ_S) / DAY_S) * DAY_S - BJ_S


def window(name: str, now: float) -> tuple[float, float]:
    """[from, to) of a window: whole Beijing hours (24h) or days, the current one included."""
    d0, h0 = day_start(now), math.floor(now / HOUR_S) * HOUR_S
    return {"today": (d0, d0 + DAY_S), "24h": (h0 - 23 * HOUR_S, h0 + HOUR_S),
            "7d": (d0 - 6 * DAY_S, d0 + DAY_S), "30d": (d0 - 29 * DAY_S, d0 + DAY_S)}[name]


def _within(s: pd.Series, lo: float, hi: float) -> pd.Series:
    return (s >= lo) & (s < hi)


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else round(100 * num / den, 2)


def _sla_counts(ref: Reference, lo: float, hi: float, now: float) -> dict[str, int]:
    ck = ref.clocks.join(ref.cases[["open"]], on="case_id")
    running_late = ck["stopped"].isna() & ck["open"] & (ck["deadline"] <= now)
    stopped = _within(ck["stopped"], lo, hi)
    on_time = stopped & (ck["stopped"] <= ck["deadline"])
    sign, close = ck["stage"].isin(SIGN_STAGES), ck["stage"].isin(CLOSE_STAGES)
    return {
        "signed": int((sign & stopped).sum()), "signed_on_time": int((sign & on_time).sum()),
        "sign_overdue_open": int((sign & running_late).sum()),
        "closed_stage": int((close & stopped).sum()), "closed_on_time": int((close & on_time).sum()),
        "close_overdue_open": int((close & running_late).sum()),
    }


def kpis(ref: Reference, lo: float, hi: float, now: float) -> dict[str, Any]:
    c = ref.cases
    rec = _within(c["rep"], lo, hi)
    rated = _within(c["rated_t"], lo, hi)
    k: dict[str, Any] = {
        "received": int(rec.sum()),
        "handled": int((c["done"] & _within(c["done_t"], lo, hi)).sum()),
        "handled_of_received": int((rec & c["done"]).sum()),
        "cancelled_of_received": int((rec & c["cancelled"]).sum()),
        **_sla_counts(ref, lo, hi, now),
        "rated": int(rated.sum()), "satisfied": int((rated & c["satisfied"]).sum()),
        "sent_back": int(_within(ref.reopens["t"], lo, hi).sum()),
    }
    k["closure"] = _rate(k["handled_of_received"], k["received"] - k["cancelled_of_received"])
    k["ontime_sign"] = _rate(k["signed_on_time"], k["signed"] + k["sign_overdue_open"])
    k["response"] = _rate(k["signed"], k["signed"] + k["sign_overdue_open"])
    k["ontime_close"] = _rate(k["closed_on_time"], k["closed_stage"] + k["close_overdue_open"])
    k["satisfaction"] = _rate(k["satisfied"], k["rated"])
    k["redo"] = _rate(k["sent_back"], k["handled"])  # the snapshot's kpi_defs: sent back ÷ handled
    return k


def _open_clocks(ref: Reference, now: float) -> pd.DataFrame:
    """Running clocks of open cases, with their light at ``now`` (red from the deadline itself)."""
    ck = ref.clocks.join(ref.cases[["open", "adcode", "town", "source", "category"]], on="case_id")
    ck = ck[ck["stopped"].isna() & ck["open"]].copy()
    ck["red"] = ck["deadline"] <= now
    ck["yellow"] = (ck["yellow_at"] <= now) & ~ck["red"]
    ck["due_1h"] = (ck["deadline"] > now) & (ck["deadline"] <= now + HOUR_S)
    return ck


def sla_rows(ref: Reference, now: float) -> dict[str, dict[str, int]]:
    out = {}
    for (policy, stage), g in _open_clocks(ref, now).groupby(["policy", "stage"]):
        total, red, yellow = len(g), int(g["red"].sum()), int(g["yellow"].sum())
        out[f"{policy}.{stage}"] = {"total": total, "red": red, "yellow": yellow, "green": total - red - yellow,
                                    "due_1h": int(g["due_1h"].sum())}
    return out


def now_block(ref: Reference) -> dict[str, int]:
    c = ref.cases
    return {"open": int(c["open"].sum()), "open_p1": int((c["open"] & (c["priority"] == 1)).sum()),
            "esc": int((c["open"] & (c["n_reopen"] >= 3)).sum())}


def breakdown(ref: Reference, column: str, now: float) -> dict[str, dict[str, int]]:
    """open, received_today, closed_today, red and yellow (running clocks) per value of a case column."""
    c, (lo, hi) = ref.cases, window("today", now)
    ck = _open_clocks(ref, now)
    out: dict[str, dict[str, int]] = {}
    for value, g in c.groupby(column):
        mine = ck[ck[column] == value]
        out[str(value)] = {"open": int(g["open"].sum()), "received_today": int(_within(g["rep"], lo, hi).sum()),
                           "closed_today": int((g["done"] & _within(g["done_t"], lo, hi)).sum()),
                           "red": int(mine["red"].sum()), "yellow": int(mine["yellow"].sum())}
    return out


def trend(ref: Reference, now: float) -> dict[str, list[int]]:
    d0 = day_start(now)
    hour = int((now - d0) // HOUR_S)
    rep = ref.cases["rep"]

    def per_hour(start: float, n: int) -> list[int]:
        return [int(_within(rep, start + h * HOUR_S, start + (h + 1) * HOUR_S).sum()) for h in range(n)]

    return {"today": per_hour(d0, hour + 1), "yesterday": per_hour(d0 - DAY_S, 24)}


def linkable(ref: Reference, window_s: float, distance_m: float) -> pd.Series:
    """Open cases with a report from another system within ``window_s`` and ``distance_m``: the only
    ones incident linking may count as a later report of the same incident."""
    c = ref.cases.sort_values("rep")
    rep, lat, lon, src = (c[x].to_numpy() for x in ("rep", "lat", "lon", "source"))
    hit = np.zeros(len(c), dtype=bool)
    for i in np.flatnonzero(c["open"].to_numpy() & ~np.isnan(lat)):
        lo, hi = np.searchsorted(rep, rep[i] - window_s), np.searchsorted(rep, rep[i] + window_s, side="right")
        j = np.arange(lo, hi)
        j = j[(j != i) & (src[j] != src[i]) & ~np.isnan(lat[j])]
        dy = np.radians(lat[j] - lat[i]) * 6_371_000
        dx = np.radians(lon[j] - lon[i]) * 6_371_000 * math.cos(math.radians(lat[i]))
        hit[i] = bool((np.hypot(dx, dy) <= distance_m * 1.01).any())  # 1 %: the product's own formula may differ
    return pd.Series(hit, index=c.index).reindex(ref.cases.index)


# --- comparing ---------------------------------------------------------------------------------


def _diff(label: str, product: Any, reference: Any) -> list[str]:
    return [] if product == reference else [f"{label}: product {product!r}, reference {reference!r}"]


# the product's names for what the reference computes
PRODUCT_KPI = {"closed": "closed_stage", "on_time_sign_off": "ontime_sign", "on_time_closure": "ontime_close"}
PRODUCT_COUNTS = {"handled_today": "closed_today", "open_incidents": "incidents"}
PRODUCT_NOW = {"urgent_open": "open_p1", "escalated_open": "esc", "open_incidents": "inc"}
PRODUCT_LIGHTS = {"running": "total", "due_within_1h": "due_1h"}


def _product_kpis(k: dict[str, Any]) -> dict[str, Any]:
    """A snapshot's KPIs of one window and area ({parts, rates}), named as the reference names them."""
    out = {PRODUCT_KPI.get(p, p): v for p, v in k["parts"].items()}
    out.update({PRODUCT_KPI.get(r, r): x["value"] for r, x in k["rates"].items() if r != "sent_back"})
    out["redo"] = k["rates"]["sent_back"]["value"]
    return out


def _product_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {PRODUCT_COUNTS.get(k, k): v for k, v in row.items()}
    if "kpis_30d" in out:
        out["kpis_30d"] = _product_kpis(out["kpis_30d"])
    return out


def _kpi_diffs(snap: dict[str, Any], ref: Reference, now: float) -> list[str]:
    out = []
    for w in WINDOWS:
        mine, theirs = kpis(ref, *window(w, now), now), _product_kpis(snap["kpis"][w])
        out += [f"kpis[{w}].{k}: product {theirs.get(k)!r}, reference {v!r}" for k, v in mine.items()
                if theirs.get(k) != v]
    return out


def _sla_diffs(snap: dict[str, Any], ref: Reference, now: float) -> list[str]:
    """The panel's rows: a stage of its own (12345, 117), or a policy summed over its stages."""
    mine, zero = sla_rows(ref, now), dict.fromkeys(LIGHTS, 0)
    out, covered = [], set()
    for row in snap["sla"]:
        theirs = {PRODUCT_LIGHTS.get(k, k): v for k, v in row.items() if PRODUCT_LIGHTS.get(k, k) in LIGHTS}
        stages = [st for st in mine if (st == row["stage"] if row["stage"] else st.split(".")[0] == row["policy"])]
        covered |= set(stages)
        want = {k: sum(mine[st][k] for st in stages) for k in LIGHTS} if stages else zero
        out += _diff(f"sla[{row['row']}]", theirs, want)
    return out + [f"sla: reference clocks of {st} in no row" for st in sorted(set(mine) - covered)
                  if mine[st] != zero]


def _area_diffs(snap: dict[str, Any], ref: Reference, column: str, now: float, fields: tuple[str, ...],
                skip_kpis: tuple[str, ...] = ()) -> list[str]:
    """The areas table (districts in the city scope, towns in a district scope) and its kpis_30d."""
    theirs, mine = {a["code"]: _product_row(a) for a in snap["areas"]}, breakdown(ref, column, now)
    out = [f"areas: cases in {code!r} ({row}) but no row for it" for code, row in mine.items()
           if code not in theirs and any(row.values())]
    lo, hi = window("30d", now)
    for code, row in theirs.items():
        m = mine.get(code, dict.fromkeys(("open", "received_today", "closed_today", "red", "yellow"), 0))
        out += [f"areas[{code}].{f}: product {row[f]}, reference {m[f]}" for f in fields if row[f] != m[f]]
        k = kpis(scoped(ref, column, code), lo, hi, now)
        out += [f"areas[{code}].kpis_30d.{f}: product {row['kpis_30d'].get(f)!r}, reference {v!r}"
                for f, v in k.items() if f not in skip_kpis and row["kpis_30d"].get(f) != v]
        out += _diff(f"areas[{code}].incidents <= open", row["incidents"] <= row["open"], True)
    return out


def _breakdown_diffs(snap: dict[str, Any], ref: Reference, column: str, key: str, now: float) -> list[str]:
    theirs = {row["code"]: {f: _product_row(row)[f] for f in AREA_COUNTS} for row in snap[key]}
    mine = {v: {f: row[f] for f in AREA_COUNTS} for v, row in breakdown(ref, column, now).items()}
    zero = dict.fromkeys(AREA_COUNTS, 0)
    return [f"{key}[{v}]: product {theirs.get(v)}, reference {mine.get(v)}"
            for v in sorted({*theirs, *mine}) if theirs.get(v, zero) != mine.get(v, zero)]


def _now_diffs(snap: dict[str, Any], ref: Reference, settings: Settings) -> list[str]:
    n = {PRODUCT_NOW.get(k, k): v for k, v in snap["cases"].items()}
    mine = now_block(ref)
    out = [f"now.{k}: product {n[k]}, reference {v}" for k, v in mine.items() if n[k] != v]
    floor = mine["open"] - int(linkable(ref, settings.merge_window_s, settings.merge_distance_m).sum())
    out += _diff("now.inc within [open - linkable open cases, open]", floor <= n["inc"] <= mine["open"], True)
    return out


def _trend_diffs(snap: dict[str, Any], ref: Reference, now: float) -> list[str]:
    mine = trend(ref, now)
    return (_diff("trend.today", snap["trend"]["today"], mine["today"])
            + _diff("trend.yesterday", snap["trend"]["yesterday"], mine["yesterday"]))


def _report(diffs: list[str]) -> str:
    return f"{len(diffs)} figures differ from the reference:\n" + "\n".join(diffs[:80])


# --- the tests -----------------------------------------------------------------------------------


def test_the_run_is_rich_enough_to_mean_something(run: Run):
    """Guards the comparison against passing on an empty or trivial run."""
    c = run.ref.cases
    assert all(run.r.xlen(run.keys.stream(code)) > 0 for code in run.codes)
    assert len(c) > 2000 and c["open"].sum() > 500 and c["done"].sum() > 500 and c["cancelled"].sum() > 10
    assert len(run.ref.reopens) > 0 and c["rated_t"].notna().sum() > 0
    now = run.snaps["city"]["as_of"] / 1000
    assert (c["rep"] < day_start(now)).sum() > 0, "no case reported before today: windows all alike"
    ck = _open_clocks(run.ref, now)
    assert ck["red"].sum() > 0 and ck["yellow"].sum() > 0 and ck["due_1h"].sum() > 0
    assert run.events["t"].max() <= now, "events stamped after the snapshot: windows would be ambiguous"


def test_city_wall_snapshot_equals_the_reference(run: Run):
    snap, ref, settings = run.snaps["city"], run.ref, Settings()
    now = snap["as_of"] / 1000
    diffs = (_kpi_diffs(snap, ref, now) + _now_diffs(snap, ref, settings) + _sla_diffs(snap, ref, now)
             + _area_diffs(snap, ref, "adcode", now, ("open", "received_today", "closed_today", "red", "yellow"))
             + _breakdown_diffs(snap, ref, "source", "by_source", now)
             + _breakdown_diffs(snap, ref, "category", "by_category", now) + _trend_diffs(snap, ref, now))
    assert not diffs, _report(diffs)


def test_every_district_wall_snapshot_equals_the_reference(run: Run):
    settings, diffs = Settings(), []
    for scope, snap in run.snaps.items():
        if scope == "city":
            continue
        ref, now = scoped(run.ref, "adcode", scope), snap["as_of"] / 1000
        diffs += [f"[{scope}] {d}" for d in (
            _kpi_diffs(snap, ref, now) + _now_diffs(snap, ref, settings) + _sla_diffs(snap, ref, now)
            + _area_diffs(snap, ref, "town", now, AREA_COUNTS, skip_kpis=OVERDUE_FIELDS)
            + _trend_diffs(snap, ref, now))]
    assert len(run.snaps) == 8, sorted(run.snaps)
    assert not diffs, _report(diffs)


def test_town_rows_count_their_red_and_yellow_lights_and_overdue_cases(run: Run):
    diffs, lights = [], 0
    for scope, snap in run.snaps.items():
        if scope == "city":
            continue
        ref, now = scoped(run.ref, "adcode", scope), snap["as_of"] / 1000
        ck = _open_clocks(ref, now)
        lights += int(ck["red"].sum() + ck["yellow"].sum())
        diffs += [f"[{scope}] {d}" for d in _area_diffs(snap, ref, "town", now, ("red", "yellow"))]
    if lights == 0:
        pytest.skip("no red or yellow light anywhere at this moment: nothing to compare")
    assert not diffs, _report(diffs)


def test_map_markers_are_the_open_cases_with_their_nearest_deadline(run: Run):
    markers = {m["id"]: m["properties"] for m in run.wall_map["markers"]}
    c = run.ref.cases[run.ref.cases["open"]]
    # every open case but the later reports of a linked incident (its first report stands for it)
    later = set(c.index) - set(markers)
    assert set(markers) <= set(c.index) and later <= set(c.index[linkable(run.ref, Settings().merge_window_s,
                                                                            Settings().merge_distance_m)[c.index]])
    assert len(markers) == run.snaps["city"]["cases"]["open_incidents"]
    # equal deadlines (a sign-off and a closure due at one moment): the earlier stage of the workflow
    # stands for the case, i.e. the policy's order, which the clocks are listed in
    ck = _open_clocks(run.ref, run.wall_map["as_of"] / 1000).sort_values(["deadline"], kind="stable")
    nearest = ck.groupby("case_id").first()
    diffs = []
    for cid, m in markers.items():
        want = nearest.loc[cid] if cid in nearest.index else None
        diffs += _diff(f"{cid}.status", m["status"], c.at[cid, "status"])
        diffs += _diff(f"{cid}.reported_at", m["reported_at"], int(c.at[cid, "rep"] * 1000))
        diffs += _diff(f"{cid}.deadline", m["deadline"], None if want is None else int(want["deadline"] * 1000))
        diffs += _diff(f"{cid}.stage", m["stage"], None if want is None else f"{want['policy']}.{want['stage']}")
    assert not diffs, _report(diffs)


def test_feed_counts_and_data_time_equal_the_streams(run: Run):
    snap = run.snaps["city"]
    newest = (run.events.groupby("source")["t"].max() * 1000).round().astype(int).to_dict()
    assert snap["newest_by_source"] == newest
    assert snap["data_as_of"] == max(newest.values())
    assert {f["code"]: f["events"] for f in snap["feeds"]} == {c: run.r.xlen(run.keys.stream(c)) for c in run.codes}

