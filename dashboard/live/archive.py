"""The event archive: every normalised event, once, in SQL — history beyond the streams' retention.

An archive consumer group hands :meth:`Archive.write` the stream entries' event JSON in batches.
Each batch is one transaction of ``INSERT … ON CONFLICT (event_id) DO NOTHING … RETURNING
event_id``, so redelivered entries and several workers archiving at once never store an event
twice, and the count of new rows is exact on both SQLite and PostgreSQL (RETURNING names only the
rows really inserted; ``rowcount`` of an executemany is not to be trusted here: SQLAlchemy reports
-1 on psycopg). On PostgreSQL the batch goes as one JSONB parameter unpacked by
``jsonb_to_recordset``: a multi-row VALUES of 500 × 21 parameters spends ~60 ms in psycopg's
Python placeholder parser alone, the JSONB statement takes ~20 ms in all.

Bad input never stops a batch: a payload that is not JSON, not an Event, or that the database
refuses comes back in :attr:`ArchiveResult.bad` with its index and the reason, for the caller to
dead-letter; everything else in the batch is written. Errors of the database itself (down,
locked past the busy timeout) raise, so the caller leaves the entries pending and retries.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.contract.backoff import backoff
from dashboard.contract.event import Event, Location, validation_reason
from dashboard.contract.settings import Settings
from dashboard.history import facts
from dashboard.live.sla import Policies

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30  # a writer waits this long for another process's write lock before failing
WAL_SWITCH_RETRY_S = 0.05  # first pause between attempts to switch a new SQLite file to WAL mode
PG_POOL_SIZE = 2  # connections per Archive: one writer, one for checks
REASON_MAX = 300  # characters of a database error kept as the reason a row was refused
# lock id held while creating the tables, so workers starting together don't race; "pingan" in ASCII
DDL_LOCK_ID = 0x70696E67616E
_NO_LOCATION = Location()
_READ_ONLY = "pingan_read_only"  # execution option: this SQLite transaction only reads
_REFUSED = (sa.exc.DataError, sa.exc.IntegrityError)  # the row is at fault, not the database


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware in and out, stored as UTC (SQLite keeps no offset, so UTC is assumed back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("case_id", sa.String(128), nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("reported_at", UTCDateTime),
    sa.Column("ingested_at", UTCDateTime, nullable=False),
    sa.Column("adcode", sa.String(6)),
    sa.Column("town", sa.String(9)),
    sa.Column("village", sa.String(64)),
    sa.Column("grid", sa.String(64)),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("department", sa.String(100)),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("attrs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the event JSON as received: nothing is lost
    sa.Index("ix_events_source_occurred", "source", "occurred_at"),
    sa.Index("ix_events_case", "case_id"),
    sa.Index("ix_events_adcode_occurred", "adcode", "occurred_at"),
)


@dataclass
class ArchiveResult:
    """What one :meth:`Archive.write` did. ``inserted + duplicates + len(bad)`` is the batch size."""

    inserted: int = 0  # events new to the archive
    duplicates: int = 0  # valid events already archived, or repeated earlier in the same batch
    bad: list[tuple[int, str]] = field(default_factory=list)  # (index in the batch, reason); not written


class BadPayload(ValueError):
    """A payload that cannot be archived; the message is the reason."""


class Archive:
    """The ``events`` table on SQLite (WAL, busy timeout: several processes may write) or PostgreSQL."""

    def __init__(self, url: str, policies: Policies | None = None,
                 merge: tuple[float, float] = (1800.0, 300.0)) -> None:
        self.engine = make_engine(url)
        _create_tables(self.engine)
        self._pg = self.engine.dialect.name == "postgresql"
        self._insert_stmt = _pg_insert() if self._pg else _sqlite_insert()
        self.facts = facts.FactDeriver(policies or Policies.load(), *merge)
        if not self._pg:  # the query planner's statistics (PostgreSQL's autovacuum keeps its own)
            with self.engine.begin() as con:
                con.exec_driver_sql("PRAGMA analysis_limit=1000")
                con.exec_driver_sql("PRAGMA optimize=0x10002")

    @classmethod
    def from_settings(cls, settings: Settings, policies: Policies | None = None) -> Archive:
        return cls(database_url(settings), policies or Policies.load(settings.sla_policies),
                   (settings.merge_window_s, settings.merge_distance_m))

    def write(self, payloads: Sequence[bytes | str]) -> ArchiveResult:
        """Archive a batch of event JSON (``Event.to_json()``) in one transaction; never raises on bad input."""
        result = ArchiveResult()
        rows: dict[str, tuple[int, dict[str, Any]]] = {}
        for i, payload in enumerate(payloads):
            try:
                row = to_row(payload)
            except BadPayload as exc:
                result.bad.append((i, str(exc)))
                continue
            rows.setdefault(row["event_id"], (i, row))
        # in key order, so two transactions inserting the same events lock them in the same order (no deadlock)
        inserted, refused = self._insert([rows[key] for key in sorted(rows)])
        result.inserted = inserted
        result.duplicates = len(payloads) - len(result.bad) - len(refused) - inserted
        result.bad = sorted(result.bad + refused)
        return result

    def count(self, source: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(events)
        if source is not None:
            q = q.where(events.c.source == source)
        with self.engine.connect() as con:
            return int(con.execution_options(**{_READ_ONLY: True}).scalar(q) or 0)

    def event_ids(self, source: str | None = None) -> set[str]:
        q = sa.select(events.c.event_id)
        if source is not None:
            q = q.where(events.c.source == source)
        with self.engine.connect() as con:
            return set(con.execution_options(**{_READ_ONLY: True}).scalars(q))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _insert(self, rows: list[tuple[int, dict[str, Any]]]) -> tuple[int, list[tuple[int, str]]]:
        """Rows new to the table, and (index, reason) of rows the database refused.

        Only when the database refuses the batch are the rows retried one transaction each, to
        find the culprits; the other rows are still written, and idempotence makes that safe.
        """
        if not rows:
            return 0, []
        try:
            with self.engine.begin() as con:
                return self._execute(con, [row for _, row in rows]), []
        except _REFUSED as exc:
            log.warning("archive: batch of %d refused (%s); writing row by row", len(rows), _db_reason(exc))
        return self._insert_one_by_one(rows)

    def _insert_one_by_one(self, rows: list[tuple[int, dict[str, Any]]]) -> tuple[int, list[tuple[int, str]]]:
        inserted, refused = 0, []
        for i, row in rows:
            try:
                with self.engine.begin() as con:
                    inserted += self._execute(con, [row])
            except _REFUSED as exc:
                refused.append((i, f"database refused: {_db_reason(exc)}"))
        return inserted, refused

    def _execute(self, con: sa.Connection, rows: list[dict[str, Any]]) -> int:
        """Insert the rows; the facts of the cases whose events are new are rewritten in the same transaction."""
        result = con.execute(self._insert_stmt, {"rows": rows} if self._pg else rows)
        new = set(result.scalars().all())
        facts.refresh(con, {r["case_id"] for r in rows if r["event_id"] in new and r["kind"] == "case"}, self.facts)
        return len(new)

    def rebuild_facts(self) -> dict[str, int]:
        """Every case's facts again from the archived events (``pingan archive rebuild``)."""
        return facts.rebuild(self.engine, self.facts)


def _sqlite_insert() -> sa.Executable:
    """Executed with the rows as executemany parameters (one multi-row VALUES statement)."""
    return sqlite.insert(events).on_conflict_do_nothing(index_elements=["event_id"]).returning(events.c.event_id)


def _pg_insert() -> sa.Executable:
    """Executed with ``{"rows": [row, …]}``: one JSONB parameter, typed column by column by the server."""
    rows = (
        sa.func.jsonb_to_recordset(sa.bindparam("rows", type_=postgresql.JSONB))
        .table_valued(*(sa.column(c.name, c.type) for c in events.c))
        .render_derived("r", with_types=True)
    )
    return (
        postgresql.insert(events)
        .from_select([c.name for c in events.c], sa.select(*rows.c))
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(events.c.event_id)
    )


def to_row(payload: bytes | str) -> dict[str, Any]:
    """The ``events`` row of one event's JSON, or :class:`BadPayload` saying why there is none."""
    try:
        text = payload if isinstance(payload, str) else payload.decode()
    except UnicodeDecodeError as exc:
        raise BadPayload(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        # PostgreSQL text can't hold U+0000; the columns get U+FFFD, the payload keeps the escape
        doc = facts.sql_json(text)
    except orjson.JSONDecodeError as exc:
        raise BadPayload(f"not JSON: {exc}") from None
    try:
        event = Event.model_validate(doc)
    except ValidationError as err:
        raise BadPayload(f"not an Event: {validation_reason(err)}") from None
    return _event_row(event, text)


def _event_row(event: Event, payload: str) -> dict[str, Any]:
    loc = event.location or _NO_LOCATION
    return {
        "event_id": event.event_id,
        "case_id": event.case_id,
        "source": event.source,
        "kind": event.kind,
        "status": event.status,
        "category": event.category,
        "priority": event.priority,
        "occurred_at": event.occurred_at.astimezone(UTC),
        "reported_at": event.reported_at and event.reported_at.astimezone(UTC),
        "ingested_at": event.ingested_at.astimezone(UTC),
        "adcode": loc.adcode,
        "town": loc.town,
        "village": loc.village,
        "grid": loc.grid,
        "lat": loc.lat,
        "lon": loc.lon,
        "department": event.department,
        "summary": event.summary,
        "attrs": event.attrs,
        "schema_version": event.schema_version,
        "payload": payload,
    }


def _db_reason(exc: sa.exc.DBAPIError) -> str:
    # the first line only: PostgreSQL's DETAIL echoes the whole failing row
    lines = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
    return lines[0][:REASON_MAX]


def _json_dumps(obj: Any) -> str:
    # orjson writes Chinese as UTF-8, not \u escapes, and is several times faster than json
    return orjson.dumps(obj).decode()


def database_url(settings: Settings) -> str:
    """The installation's SQL database: the archive's events, and the accounts beside them."""
    return settings.archive_url or f"sqlite:///{settings.data_dir}/archive.db"


def make_engine(url: str) -> sa.Engine:
    """SQLite (WAL, a busy timeout, the write lock taken at BEGIN) or PostgreSQL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=PG_POOL_SIZE,
                                json_serializer=_json_dumps, json_deserializer=orjson.loads)
    raise ValueError(f"the archive runs on sqlite or postgresql, not {parsed.get_backend_name()}")


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
                              json_serializer=_json_dumps, json_deserializer=orjson.loads)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_con: Any, _record: Any) -> None:
        dbapi_con.isolation_level = None  # the driver emits no BEGIN of its own; _begin does
        _enable_wal(dbapi_con)

    @sa.event.listens_for(engine, "begin")
    def _begin(con: sa.Connection) -> None:
        # a writer takes the write lock up front, waiting out the busy timeout, instead of failing
        # when it finds its read snapshot stale at the first write
        con.exec_driver_sql("BEGIN" if con.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


def _enable_wal(dbapi_con: sqlite3.Connection) -> None:
    """WAL, so readers never block the writer nor it them; several processes write one file.

    The mode is kept in the file, but switching a new file to it ignores the busy timeout: workers
    opening a new archive together get "database is locked" at once, so the switch is retried.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    for attempt in itertools.count(1):
        try:
            dbapi_con.execute("PRAGMA journal_mode=WAL")  # a no-op once the file is in WAL mode
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorname != "SQLITE_BUSY" or time.monotonic() > deadline:
                raise
            time.sleep(backoff(attempt, WAL_SWITCH_RETRY_S, 1.0))


def read_connection(engine: sa.Engine) -> sa.Connection:
    """A connection whose transactions only read (on SQLite: no write lock taken at BEGIN)."""
    return engine.connect().execution_options(**{_READ_ONLY: True})


def ensure_tables(engine: sa.Engine) -> None:
    """The archive's tables (events and the case facts), made if missing: readers may start first."""
    _create_tables(engine)


def _create_tables(engine: sa.Engine) -> None:
    # serialised across processes: BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL
    with engine.begin() as con:
        if con.dialect.name == "postgresql":
            con.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": DDL_LOCK_ID})
        metadata.create_all(con)
        facts.metadata.create_all(con)
