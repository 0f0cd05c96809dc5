"""Case facts: one row per case, derived from its archived events by the live state's own fold and
clocks, kept current in the transaction that archives the events.

``case_facts`` holds what a case is now (its place, category, source, department, priority, status,
masked summary, linked incident) and when each step of its life happened; ``case_stages`` holds each
SLA clock (start, deadline, yellow, stop, outcome) and ``case_reopens`` each time it was sent back.
Times are epoch milliseconds (BIGINT): bucket arithmetic is integer division on both SQLite and
PostgreSQL, and the Beijing day of a time is ``(t + 8 h) / 1 d``.

The derivation is :func:`dashboard.live.state.fold` over the case's events and
:meth:`dashboard.live.state.Deriver.clocks`, the functions the live workers and the rebuild use, so a
count or rate over the archive means what the same figure on the wall means. A case's facts are
rewritten whole (delete, insert) whenever one of its events is archived; on PostgreSQL each case is
locked (a transaction-scoped advisory lock, taken in key order) before its events are read, so two
archive workers writing events of one case cannot each store facts that miss the other's event.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from dashboard.live.sla import Policies, SlaClock
from dashboard.live.state import (
    DONE,
    SIGN_STAGES,
    Deriver,
    _done_time,
    cell_of,
    cell_size,
    fold,
    link,
    linkable,
    order_key_of,
)

metadata = sa.MetaData()
Ms = sa.BigInteger

case_facts = sa.Table(
    "case_facts",
    metadata,
    sa.Column("case_id", sa.String(128), primary_key=True),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("phase", sa.String(10), nullable=False),  # open, done (办结) or cancelled
    sa.Column("sla", sa.String(8), nullable=False),  # late, running, on_time or none (no clock)
    sa.Column("district", sa.String(6)),
    sa.Column("town", sa.String(9)),
    sa.Column("village", sa.String(64)),
    sa.Column("grid", sa.String(64)),
    sa.Column("department", sa.String(100)),
    sa.Column("service_code", sa.String(32)),
    sa.Column("summary", sa.Text, nullable=False),  # masked at ingest, as every stored text
    sa.Column("received_at", Ms, nullable=False),
    sa.Column("accepted_at", Ms),
    sa.Column("signed_at", Ms),  # the first response clock (签收/受理/答复) stopped
    sa.Column("dispatched_at", Ms),
    sa.Column("handled_at", Ms),  # 办结: the first done step after the last reopen
    sa.Column("closed_at", Ms),
    sa.Column("rated_at", Ms),
    sa.Column("cancelled_at", Ms),
    sa.Column("updated_at", Ms, nullable=False),  # the current version's time
    sa.Column("rating", sa.String(16)),
    sa.Column("sent_back", sa.Integer, nullable=False),
    sa.Column("linked", sa.String(128)),  # the earliest report of the same incident from another system
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("cell", sa.String(24)),  # "i:j", the merge cell of a case that can be linked (else NULL)
    # covering: a filter + series or count over a window reads this index alone (no row lookups), for any
    # dimension but the village and the grid, which have their own indexes
    sa.Index("ix_facts_received_dims", "received_at", "district", "town", "category", "source", "phase", "sla",
             "priority", "department"),
    sa.Index("ix_facts_district_received", "district", "received_at"),
    sa.Index("ix_facts_town_received", "town", "received_at"),
    sa.Index("ix_facts_village", "village"),
    sa.Index("ix_facts_grid", "grid"),
    sa.Index("ix_facts_category_received", "category", "received_at"),
    sa.Index("ix_facts_source_received", "source", "received_at"),
    sa.Index("ix_facts_department_received", "department", "received_at"),
    sa.Index("ix_facts_handled", "handled_at"),
    sa.Index("ix_facts_rated", "rated_at"),
    sa.Index("ix_facts_cell_received", "cell", "received_at"),
)

# what a question can filter or group by; the two child tables carry their case's values too, so a
# window's clocks and reopens are counted from one table's rows, without a join (decision 033)
DIMS = ("district", "town", "village", "grid", "source", "category", "department", "priority", "phase", "sla")


def _dims() -> list[sa.Column[Any]]:
    return [sa.Column(c.name, c.type, nullable=c.nullable) for c in case_facts.c if c.name in DIMS]


case_stages = sa.Table(
    "case_stages",
    metadata,
    sa.Column("case_id", sa.String(128), primary_key=True),
    sa.Column("stage", sa.String(64), primary_key=True),  # policy.stage, e.g. "hotline.sign"
    sa.Column("started", Ms, nullable=False),
    sa.Column("deadline", Ms, nullable=False),
    sa.Column("yellow_at", Ms, nullable=False),
    sa.Column("stopped", Ms),
    # on_time or late (stopped), open (running), skipped (the case finished without this stage)
    sa.Column("outcome", sa.String(8), nullable=False),
    *_dims(),
    sa.Index("ix_stages_stopped", "stopped"),
    sa.Index("ix_stages_outcome_deadline", "outcome", "deadline"),
    sa.Index("ix_stages_district_stopped", "district", "stopped"),
)

case_reopens = sa.Table(
    "case_reopens",
    metadata,
    sa.Column("case_id", sa.String(128), primary_key=True),
    sa.Column("n", sa.Integer, primary_key=True),
    sa.Column("at", Ms, nullable=False),
    *_dims(),
    sa.Index("ix_reopens_at", "at"),
)

# the archive's events, as much of them as the facts read (the table is defined in dashboard.live.archive)
_events = sa.table("events", sa.column("case_id", sa.String), sa.column("payload", sa.Text),
                   sa.column("kind", sa.String))
# a JSON escape of U+0000 that is not itself an escaped backslash (an odd run of backslashes)
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
CHUNK = 500  # cases per statement when their events are read and their facts rewritten


def sql_json(text: str) -> Any:
    """An event's JSON as SQL columns may hold it: PostgreSQL text can't hold U+0000, so the columns
    get U+FFFD (the stored payload keeps the escape). Raises orjson.JSONDecodeError."""
    return orjson.loads(_NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text)


def ms(t: float | None) -> int | None:
    return None if t is None else int(t * 1000)


class FactDeriver:
    """A case's rows in the three tables, from its events."""

    def __init__(self, policies: Policies, merge_window_s: float = 1800.0, merge_distance_m: float = 300.0) -> None:
        self.deriver = Deriver(policies, None)
        self.window, self.distance = merge_window_s, merge_distance_m
        self.cell_deg = cell_size(merge_distance_m)

    def rows(self, events: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                                 list[dict[str, Any]]] | None:
        """(fact, stages, reopens) of one case's events; None when it is not a case (warnings, readings)."""
        state: dict[str, Any] | None = None
        for ev in events:
            state = fold(state, ev)
        if state is None or state["cur"].get("kind", "case") != "case":
            return None
        return self.of_state(state)

    def of_state(self, state: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                          list[dict[str, Any]]]:
        cur, h, case_id = state["cur"], state["h"], state["id"]
        status = cur["status"]
        phase = "done" if status in DONE else "cancelled" if status == "cancelled" else "open"
        clocks = self.deriver.clocks(state)
        stages = [_stage(case_id, c, phase) for c in clocks]
        signed = [c.stopped for c in clocks if c.stage in SIGN_STAGES and c.stopped is not None]
        rated = [s for s in h if s[1] == "rated" and s[3]]
        reopens = [s[0] for s in h if s[1] == "reopened"]
        fact = {
            "case_id": case_id, "source": state["src"], "category": cur.get("category") or "other",
            "priority": cur.get("priority") or 3, "status": status, "phase": phase,
            "sla": _sla(stages), "district": cur.get("adcode"), "town": cur.get("town"),
            "village": cur.get("village"), "grid": cur.get("grid"), "department": cur.get("department"),
            "service_code": cur.get("service_code"), "summary": cur.get("summary") or "",
            "received_at": ms(state["rep"]), "accepted_at": ms(_first(h, "accepted")),
            "signed_at": ms(min(signed)) if signed else None, "dispatched_at": ms(_first(h, "dispatched")),
            "handled_at": ms(_done_time(h)) if phase == "done" else None, "closed_at": ms(_first(h, "closed")),
            "rated_at": ms(rated[-1][0]) if rated else None, "rating": rated[-1][3] if rated else None,
            "cancelled_at": ms(_first(h, "cancelled")) if phase == "cancelled" else None,
            "updated_at": ms(state["v"][0]), "sent_back": len(reopens),
            "linked": None, "lat": cur.get("lat"), "lon": cur.get("lon"),
            "cell": ":".join(map(str, cell_of(cur["lat"], cur["lon"], self.cell_deg))) if linkable(state) else None,
        }
        dims = {d: fact[d] for d in DIMS}
        return (fact, [{**st, **dims} for st in stages],
                [{"case_id": case_id, "n": i, "at": ms(t), **dims} for i, t in enumerate(reopens)])

    def link(self, con: sa.Connection, facts: list[dict[str, Any]], rewritten: Sequence[str]) -> None:
        """Each fact's ``linked``: the earliest report of the same incident from another system, by the
        rule the live workers apply (:func:`dashboard.live.state.link`), among the stored facts of the
        neighbouring merge cells and these.

        The stored facts are read for each run of these facts whose windows overlap, not for one span
        from the oldest to the newest: a batch holds updates of cases received days ago, and one span
        read every case of those cells in between (a 90-day backfill slowed from 2,300 to 970 events/s
        as its cases aged)."""
        mine = sorted((f for f in facts if f["cell"]), key=lambda f: f["received_at"])
        if not mine:
            return
        span, skip = int(self.window * 1000), set(rewritten)
        c = case_facts.c
        by_cell: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for run in _overlapping(mine, span):
            cells = sorted({n for f in run for n in _neighbours(f["cell"])})
            stored = con.execute(sa.select(c.case_id, c.source, c.category, c.received_at, c.lat, c.lon, c.cell)
                                 .where(c.cell.in_(cells), c.received_at.between(run[0]["received_at"] - span,
                                                                                 run[-1]["received_at"] + span)))
            for row in stored:
                if row.case_id not in skip:
                    by_cell[row.cell].append(_linkable_state(row._asdict()))
        for f in mine:
            by_cell[f["cell"]].append(_linkable_state(f))
        for f in mine:
            me = _linkable_state(f)
            earlier = [o for n in _neighbours(f["cell"]) for o in by_cell.get(n, ())
                       if order_key_of(o) < order_key_of(me) and link(o, me, self.window, self.distance)]
            f["linked"] = min(earlier, key=order_key_of)["id"] if earlier else None


def _overlapping(facts: Sequence[dict[str, Any]], span: int) -> Iterator[Sequence[dict[str, Any]]]:
    """Runs of facts (sorted by received time) whose ±span windows overlap; the runs' windows do not."""
    start = 0
    for i in range(1, len(facts) + 1):
        if i == len(facts) or facts[i]["received_at"] - facts[i - 1]["received_at"] > 2 * span:
            yield facts[start:i]
            start = i


def _neighbours(cell: str) -> list[str]:
    i, j = (int(x) for x in cell.split(":"))
    return [f"{i + di}:{j + dj}" for di in (-1, 0, 1) for dj in (-1, 0, 1)]


def _linkable_state(row: Mapping[str, Any]) -> dict[str, Any]:
    """What :func:`dashboard.live.state.link` reads of a case, from its facts."""
    return {"id": row["case_id"], "src": row["source"], "rep": row["received_at"] / 1000,
            "cur": {"category": row["category"], "lat": row["lat"], "lon": row["lon"]}}


def _first(h: Sequence[Sequence[Any]], status: str) -> float | None:
    return next((s[0] for s in h if s[1] == status), None)


def _stage(case_id: str, c: SlaClock, phase: str) -> dict[str, Any]:
    if c.stopped is not None:
        outcome = "on_time" if c.stopped <= c.deadline else "late"
    else:
        outcome = "open" if phase == "open" else "skipped"
    return {"case_id": case_id, "stage": f"{c.policy}.{c.stage}", "started": ms(c.start),
            "deadline": ms(c.deadline), "yellow_at": ms(c.yellow_at), "stopped": ms(c.stopped), "outcome": outcome}


def _sla(stages: list[dict[str, Any]]) -> str:
    outcomes = {s["outcome"] for s in stages}
    if "late" in outcomes:
        return "late"
    if "open" in outcomes:
        return "running"
    return "on_time" if "on_time" in outcomes else "none"



def refresh(con: sa.Connection, case_ids: Iterable[str], deriver: FactDeriver) -> int:
    """Rewrite the facts of these cases from their archived events, in ``con``'s transaction; returns
    how many cases have facts now."""
    written = 0
    for chunk in _chunks(sorted(set(case_ids)), CHUNK):
        if con.dialect.name == "postgresql":
            _lock(con, chunk)
        by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for case_id, payload in con.execute(sa.select(_events.c.case_id, _events.c.payload)
                                            .where(_events.c.case_id.in_(chunk))):
            by_case[case_id].append(sql_json(payload))
        facts, stages, reopens = [], [], []
        for events in by_case.values():
            rows = deriver.rows(events)
            if rows is not None:
                facts.append(rows[0])
                stages += rows[1]
                reopens += rows[2]
        deriver.link(con, facts, chunk)
        for table in (case_stages, case_reopens, case_facts):
            con.execute(table.delete().where(table.c.case_id.in_(chunk)))
        for table, rows_ in ((case_facts, facts), (case_stages, stages), (case_reopens, reopens)):
            if rows_:
                con.execute(table.insert(), rows_)
        written += len(facts)
    return written


def _lock(con: sa.Connection, case_ids: Sequence[str]) -> None:
    """Transaction-scoped advisory locks on these cases, in key order (two workers cannot deadlock)."""
    keys = sorted({int.from_bytes(hashlib.blake2b(c.encode(), digest_size=8).digest(), "big", signed=True)
                   for c in case_ids})
    con.execute(sa.text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY "
                        "AS t(k, i) ORDER BY i"), {"keys": keys})


def _chunks(items: Sequence[str], n: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def rebuild(engine: sa.Engine, deriver: FactDeriver, chunk: int = 2_000) -> dict[str, int]:
    """Every case's facts again from the events (``pingan archive rebuild``): the three tables emptied,
    then the cases in key order, one transaction per ``chunk`` of them."""
    with engine.begin() as con:
        for table in (case_stages, case_reopens, case_facts):
            con.execute(table.delete())
    with engine.connect() as con:
        ids = list(con.scalars(sa.select(_events.c.case_id).where(_events.c.kind == "case").distinct()
                               .order_by(_events.c.case_id)))
    cases = 0
    for part in _chunks(ids, chunk):
        with engine.begin() as con:
            cases += refresh(con, part, deriver)
    return {"cases": cases, "case_ids": len(ids)}
