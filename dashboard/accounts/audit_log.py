"""The audit log: who did what to what, where, when and with what result — tamper-evident.

Rows are appended to the ``audit`` table one writer at a time (a PostgreSQL advisory lock; SQLite's
write lock taken at BEGIN), numbered without gaps, and each carries the SHA-256 of the row before
it and of itself, over a canonical JSON of its fields. Editing a row breaks its own hash; deleting
one from the middle breaks the next row's link and the numbering. The newest id and hash are also
written outside the database (the ``audit_head_file`` and the log), so deleting the newest rows is
caught too. :func:`verify` names the first bad row.

Times are real time (UTC), never the demo's clock. Details are masked like everything else.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from dashboard.accounts.account_store import migrate
from dashboard.contract.event import BEIJING
from dashboard.contract.privacy import mask_value
from dashboard.contract.settings import Settings
from dashboard.live.archive import UTCDateTime, database_url, make_engine

log = logging.getLogger("pingan.audit")

GENESIS = "0" * 64
WRITE_LOCK_ID = 0x70696E676175  # PostgreSQL advisory lock of the one audit writer
FIELDS = ("id", "at", "subject", "action", "object", "scope", "result", "client", "detail")

metadata = sa.MetaData()
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object", sa.String(256), nullable=False),
    sa.Column("scope", sa.String(12), nullable=False),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


def beijing_day(text: str) -> datetime:
    """A date (YYYY-MM-DD) as the start of that Beijing day (ValueError when it is not one)."""
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=BEIJING)

anchor = sa.Table(
    "audit_anchor", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("through_id", sa.Integer, nullable=False),
    sa.Column("through_hash", sa.String(64), nullable=False),
    sa.Column("through_at", UTCDateTime, nullable=False),
    sa.Column("pruned_at", UTCDateTime, nullable=False),
)
MIN_RETENTION_DAYS = 180  # 等保: audit records are kept at least six months


@dataclass(frozen=True)
class Problem:
    """Where the chain breaks: the row's id (or the head file's) and what is wrong."""

    row: int
    reason: str


def row_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 of the previous hash and the row's fields as canonical JSON (times as UTC ISO)."""
    body = {k: (fields[k].astimezone(UTC).isoformat() if isinstance(fields[k], datetime) else fields[k])
            for k in FIELDS}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, engine: sa.Engine, head_file: Path | None) -> None:
        self.engine, self.head_file = engine, head_file

    @classmethod
    def from_settings(cls, settings: Settings, engine: sa.Engine | None = None) -> AuditLog:
        if engine is None:
            engine = make_engine(database_url(settings))
            migrate(engine)
        return cls(engine, settings.audit_head_file or settings.data_dir / "audit-head")

    def _lock(self, con: sa.Connection) -> None:
        if con.dialect.name == "postgresql":
            con.execute(sa.text("select pg_advisory_xact_lock(:id)"), {"id": WRITE_LOCK_ID})

    def append(self, subject: str, action: str, obj: str, scope: str, result: str, client: str,
               detail: Mapping[str, Any] | None = None, at: datetime | None = None) -> tuple[int, str]:
        """Append one row (one writer at a time); returns its id and hash."""
        with self.engine.begin() as con:
            self._lock(con)
            last = con.execute(sa.select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc()).limit(1)).first()
            prev_id, prev_hash = (last.id, last.hash) if last else self._start(con)
            row_id = prev_id + 1
            fields: dict[str, Any] = {"id": row_id, "at": (at or datetime.now(UTC)).replace(microsecond=0),
                      "subject": subject[:128], "action": action[:64], "object": obj[:256], "scope": scope[:12],
                      "result": result[:16], "client": client[:64],
                      "detail": json.dumps(mask_value(dict(detail or {})), ensure_ascii=False, sort_keys=True)}
            digest = row_hash(prev_hash, fields)
            con.execute(audit.insert().values(**fields, prev_hash=prev_hash, hash=digest))
        self._write_head(row_id, digest)
        return row_id, digest

    def rows(self, start: datetime | None = None, end: datetime | None = None) -> Iterator[sa.Row]:
        query = sa.select(audit).order_by(audit.c.id)
        if start is not None:
            query = query.where(audit.c.at >= start)
        if end is not None:
            query = query.where(audit.c.at < end)
        with self.engine.connect() as con:
            yield from con.execute(query)

    def newest(self, n: int) -> list[sa.Row]:
        """The newest ``n`` rows, newest first (what the auditor's page shows)."""
        with self.engine.connect() as con:
            return list(con.execute(sa.select(audit).order_by(audit.c.id.desc()).limit(n)))

    def prune(self, keep_days: int, subject: str, client: str, now: datetime | None = None) -> int:
        """Delete the rows older than ``keep_days`` (at least 180); the chain then starts at an anchor
        (the last deleted row's id and hash), and the pruning is itself a row. Returns the rows deleted."""
        if keep_days < MIN_RETENTION_DAYS:
            raise ValueError(f"audit rows are kept at least {MIN_RETENTION_DAYS} days, not {keep_days}")
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=keep_days)
        with self.engine.begin() as con:
            self._lock(con)
            last = con.execute(sa.select(audit.c.id, audit.c.hash, audit.c.at).where(audit.c.at < cutoff)
                               .order_by(audit.c.id.desc()).limit(1)).first()
            if last is None:
                return 0
            n = con.execute(audit.delete().where(audit.c.id <= last.id)).rowcount
            con.execute(anchor.delete())
            con.execute(anchor.insert().values(id=1, through_id=last.id, through_hash=last.hash,
                                               through_at=last.at, pruned_at=now.replace(microsecond=0)))
        self.append(subject, "audit.prune", "audit", "-", "ok", client,
                    {"through": last.id, "rows": n, "keep_days": keep_days})
        return int(n)

    def _start(self, con: sa.Connection) -> tuple[int, str]:
        """Where the chain starts: the anchor a pruning left, or the beginning."""
        row = con.execute(sa.select(anchor.c.through_id, anchor.c.through_hash)).first()
        return (row.through_id, row.through_hash) if row else (0, GENESIS)

    def verify(self) -> Problem | None:
        """The first place the chain is broken, or None when every row and the head agree."""
        with self.engine.connect() as con:
            prev_id, prev_hash = self._start(con)
        for row in self.rows():
            fields = dict(row._mapping)
            if row.id != prev_id + 1:
                return Problem(row.id, f"rows {prev_id + 1}–{row.id - 1} are missing")
            if row.prev_hash != prev_hash:
                return Problem(row.id, "its link to the row before does not match (that row was changed)")
            if row_hash(row.prev_hash, fields) != row.hash:
                return Problem(row.id, "its content does not match its hash (the row was changed)")
            prev_id, prev_hash = row.id, row.hash
        head = self._read_head()
        if head is not None:
            head_id, head_hash = head
            if head_id > prev_id:
                return Problem(head_id, f"the newest rows are missing: the head says row {head_id}, the table ends at "
                                        f"row {prev_id}")
            if head_id == prev_id and head_hash != prev_hash:
                return Problem(head_id, "the newest row does not match the head")
        return None

    def export_csv(self, out: IO[str], start: datetime | None = None, end: datetime | None = None) -> int:
        writer = csv.writer(out)
        writer.writerow([*FIELDS, "prev_hash", "hash"])
        n = 0
        for row in self.rows(start, end):
            writer.writerow([row.id, row.at.astimezone(UTC).isoformat(), row.subject, row.action, row.object,
                             row.scope, row.result, row.client, row.detail, row.prev_hash, row.hash])
            n += 1
        return n

    def _write_head(self, row_id: int, digest: str) -> None:
        """Record the newest row outside the database; writers in threads and processes take turns on a file
        lock, and a head never goes back (a writer that commits row 6 may get here before the one of row 5)."""
        log.info("audit head %d %s", row_id, digest)
        if self.head_file is None:
            return
        self.head_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.head_file.with_name(self.head_file.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            head = self._read_head()
            if head is not None and head[0] >= row_id:
                return
            fd, tmp = tempfile.mkstemp(prefix=self.head_file.name + ".", dir=self.head_file.parent)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(f"{row_id} {digest}\n")
            os.replace(tmp, self.head_file)

    def _read_head(self) -> tuple[int, str] | None:
        if self.head_file is None or not self.head_file.exists():
            return None
        row_id, digest = self.head_file.read_text("ascii").split()
        return int(row_id), digest
