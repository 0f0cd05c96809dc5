"""`pingan bench analyst`: the archive's read side on a million case facts, SQLite and PostgreSQL.

The facts are derived by the archive's own derivation (:class:`dashboard.history.facts.FactDeriver`)
from synthetic case events (:mod:`dashboard.bench.synth`: the simulator's case types, places and
lifecycles) spread over 90 days, and written straight into the facts tables — no events table, no
Redis. That is done once per database and reused (the tables are kept; a run finding the same
number of facts there starts querying at once).

Then the workbench's questions are timed through :class:`dashboard.history.query.Reader`, with
random scopes (the city, a district, a town), windows (7 to 90 days ending now) and filters
(categories, a source): the filter + series query (cases per day, by category or district), KPIs by
district, counts by category, and the first page of the newest cases. The baseline, in the same
run, is one full pass over the facts table (``count(*)``).

Last, `pingan export cases` writes every case of the 90 days as CSV in a process of its own: its rows,
time and peak RSS (target ≤ 300 MB), against a one-day export in the same run.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dashboard.bench import synth
from dashboard.contract.event import BEIJING
from dashboard.contract.settings import Settings
from dashboard.history import facts
from dashboard.history.query import Filter, Reader
from dashboard.live.archive import Archive, read_connection
from dashboard.live.sla import Policies

P95_TARGET_MS = 300.0
EXPORT_RSS_TARGET_MB = 300.0  # a CSV export of every case, whatever the count (issue 19)
SPAN = timedelta(days=90)
EVENTS_PER_CASE = 5.0  # what synth emits on average
WRITE_CHUNK = 5_000
CATEGORIES = ("public_order", "dispute", "environment", "traffic_safety", "public_service", "law_enforcement",
              "illegal_construction", "police_assist", "medical", "work_safety")
SOURCES = ("12345", "110", "wg", "cg", "qy117")


def run(settings: Settings, facts_n: int = 1_000_000, pg_url: str | None = None, queries: int = 40,
        seed: int = 7) -> dict[str, Any]:
    sqlite_url = f"sqlite:///{settings.data_dir}/bench-analyst.db"
    out: dict[str, Any] = {"benchmark": "analyst", "facts": facts_n, "queries_per_kind": queries,
                           "target_p95_ms": P95_TARGET_MS, "backends": {}}
    for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
        if url is None:
            out["backends"][name] = {"skipped": "no PostgreSQL URL (--pg-url or PINGAN_BENCH_PG_URL)"}
            continue
        out["backends"][name] = _one(url, facts_n, queries, seed)
    ran = [b for b in out["backends"].values() if "skipped" not in b]
    out["pass"] = bool(ran) and all(b["filter_series"]["p95_ms"] <= P95_TARGET_MS for b in ran)
    return out


def _one(url: str, n: int, queries: int, seed: int) -> dict[str, Any]:
    arch = Archive(url, Policies.load())
    try:
        loaded = _count(arch.engine)
        written_s = None
        if loaded != n:
            written_s = _fill(arch, n, seed)
            loaded = _count(arch.engine)
        reader = Reader(arch.engine)
        places = _places(arch.engine)
        rng = random.Random(seed)
        now = datetime.now(UTC)
        kinds: dict[str, Callable[[], Any]] = {
            "filter_series": lambda: _series(reader, rng, places, now),
            "kpis_by_district": lambda: _kpis(reader, rng, places, now),
            "counts_by_category": lambda: _counts(reader, rng, places, now),
            "cases_first_page": lambda: _cases(reader, rng, places, now),
        }
        for fn in kinds.values():  # warm the page cache once
            fn()
        timed = {name: _timed(fn, queries) for name, fn in kinds.items()}
        full = _timed(lambda: _count(arch.engine), 3)
        exported = {"export_csv": _export(url, SPAN), "export_csv_one_day": _export(url, timedelta(days=1))}
        return {"url": arch.engine.url.render_as_string(hide_password=True), "facts": loaded,
                "write_s": written_s, **timed, "baseline_full_count": full, **exported,
                "meets_target": timed["filter_series"]["p95_ms"] <= P95_TARGET_MS,
                "export_meets_target": exported["export_csv"]["peak_rss_mb"] <= EXPORT_RSS_TARGET_MB}
    finally:
        arch.close()


def _export(url: str, span: timedelta) -> dict[str, Any]:
    """`pingan export cases` of every case received in ``span`` (to today) as CSV, in a process of its own:
    its rows, time and peak RSS (a one-day export, in the same run, is the baseline: the interpreter and
    the app's imports)."""
    today = datetime.now(BEIJING).date()
    with tempfile.TemporaryDirectory(prefix="pingan-bench-export-") as tmp:
        out = Path(tmp) / "cases.csv"
        env = {**os.environ, "PINGAN_ARCHIVE_URL": url, "PINGAN_DATA_DIR": tmp}
        first = today - span + timedelta(days=1)
        args = [sys.executable, "-m", "dashboard.cli", "export", "cases", "--from", str(first), "--to", str(today),
                "--format", "csv", "--out", str(out)]
        began = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        text = proc.stdout.read().decode() if proc.stdout else ""
        if status != 0:
            raise RuntimeError(f"pingan export failed: {text[-500:]}")
        with out.open("rb") as fh:
            rows = sum(1 for _ in fh) - 2  # the mark and the headings
        size = out.stat().st_size
    return {"rows": rows, "seconds": round(seconds, 1), "rows_per_s": round(rows / seconds), "bytes": size,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "target_peak_rss_mb": EXPORT_RSS_TARGET_MB}


def _count(engine: sa.Engine) -> int:
    with read_connection(engine) as con:
        return int(con.scalar(sa.select(sa.func.count()).select_from(facts.case_facts)) or 0)


def _fill(arch: Archive, n: int, seed: int) -> float:
    """``n`` cases' facts over the 90 days before now, written straight into the three tables."""
    began = time.monotonic()
    with arch.engine.begin() as con:
        for table in (facts.case_stages, facts.case_reopens, facts.case_facts):
            con.execute(table.delete())
    rows: dict[str, list[dict[str, Any]]] = {"f": [], "s": [], "r": []}
    for fact, stages, reopens in itertools.islice(_derived(n, seed), n):
        rows["f"].append(fact)
        rows["s"] += stages
        rows["r"] += reopens
        if len(rows["f"]) >= WRITE_CHUNK:
            _write(arch.engine, rows)
    _write(arch.engine, rows)
    # statistics and PostgreSQL's visibility map, as autovacuum or SQLite's PRAGMA optimize keep them
    if arch.engine.dialect.name == "postgresql":
        with arch.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            con.execute(sa.text("VACUUM ANALYZE"))  # outside a transaction
    else:
        with arch.engine.begin() as con:
            con.execute(sa.text("ANALYZE"))
    return round(time.monotonic() - began, 1)


def _derived(n: int, seed: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    deriver = facts.FactDeriver(Policies.load())
    events = synth.events(int(n * EVENTS_PER_CASE * 1.3), datetime.now(UTC), seed=seed, span=SPAN)
    for _case, evs in itertools.groupby(events, key=lambda e: e["case_id"]):
        rows = deriver.rows(list(evs))
        if rows is not None:
            yield rows


def _write(engine: sa.Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    with engine.begin() as con:
        for key, table in (("f", facts.case_facts), ("s", facts.case_stages), ("r", facts.case_reopens)):
            if rows[key]:
                con.execute(sa.insert(table), rows[key])
            rows[key] = []


def _places(engine: sa.Engine) -> dict[str, list[str]]:
    with read_connection(engine) as con:
        districts = [d for (d,) in con.execute(sa.select(facts.case_facts.c.district).distinct()) if d]
        towns = [t for (t,) in con.execute(sa.select(facts.case_facts.c.town).distinct().limit(200)) if t]
    return {"district": sorted(districts), "town": sorted(towns)}


def _scope(rng: random.Random, places: dict[str, list[str]]) -> tuple[Any, str]:
    level = rng.choice(("city", "district", "district", "town"))
    if level == "city" or not places[level]:
        return "city", "440700"
    return level, rng.choice(places[level])


def _filter(rng: random.Random, now: datetime) -> Filter:
    days = rng.choice((7, 30, 30, 90))
    values: dict[str, Any] = {}
    if rng.random() < 0.6:
        values["category"] = rng.sample(CATEGORIES, rng.randint(1, 3))
    if rng.random() < 0.3:
        values["source"] = [rng.choice(SOURCES)]
    return Filter(start=int((now - timedelta(days=days)).timestamp() * 1000), end=int(now.timestamp() * 1000),
                  **values)


def _series(reader: Reader, rng: random.Random, places: dict[str, list[str]], now: datetime) -> Any:
    level, code = _scope(rng, places)
    return reader.series(level, code, _filter(rng, now), "day", rng.choice(("category", "district", None)))


def _kpis(reader: Reader, rng: random.Random, places: dict[str, list[str]], now: datetime) -> Any:
    level, code = _scope(rng, places)
    return reader.kpis(level, code, _filter(rng, now), "district")


def _counts(reader: Reader, rng: random.Random, places: dict[str, list[str]], now: datetime) -> Any:
    level, code = _scope(rng, places)
    return reader.counts(level, code, _filter(rng, now), "category")


def _cases(reader: Reader, rng: random.Random, places: dict[str, list[str]], now: datetime) -> Any:
    level, code = _scope(rng, places)
    return reader.cases(level, code, _filter(rng, now), "newest", 0, 50)


def _timed(fn: Callable[[], Any], times: int) -> dict[str, float]:
    took = []
    for _ in range(times):
        t = time.perf_counter()
        fn()
        took.append((time.perf_counter() - t) * 1000)
    took.sort()
    p95 = took[min(len(took) - 1, int(round(0.95 * (len(took) - 1))))]
    return {"p50_ms": round(statistics.median(took), 1), "p95_ms": round(p95, 1), "max_ms": round(took[-1], 1)}
