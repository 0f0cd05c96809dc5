"""The non-HTTP upstreams: the petition "front database" (SQLite ``exchange.db``, table
``xf_petition``, one appended row per status change) and the drop folders of 12315 (CSV,
alternately GB18030 and UTF-8 with BOM) and social assistance (XLSX).

Faults: ``down`` hides the database file / drop folder (writes wait), ``http500`` holds an
exclusive lock on the database ("database is locked"; for folders it acts like ``garbage``),
``slow`` delays writes by ``slow_s`` real seconds, ``garbage`` adds malformed rows / files.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from feeds.simulator import files, garbage
from feeds.simulator.formats.tables import XF_COLUMNS

log = logging.getLogger(__name__)
TABLE = "xf_petition"
COLUMNS = tuple(name for name, _ in XF_COLUMNS)


@dataclass(slots=True)
class Written:
    time: datetime  # simulated time of writing
    name: str  # file name, or the row's row_id
    data: bytes
    injected: bool = False


@dataclass(slots=True)
class _Pending:
    queued: float  # time.monotonic() when queued (for the slow fault)
    item: Any
    injected: bool
    garbage: bool


class ExchangeTable:
    """The xf front database. Rows wait in a queue while the database is down or locked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mode = "ok"
        self.slow_s = 30.0
        self.written: list[Written] = []
        self._queue: list[_Pending] = []
        self._lock_conn: sqlite3.Connection | None = None
        self._garbage_n = 0
        self._mutex = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        files.restore(path)
        path.unlink(missing_ok=True)
        with closing(self._connect()) as con, con:
            cols = ", ".join(f"{n} {t}" for n, t in XF_COLUMNS)
            con.execute(f"CREATE TABLE {TABLE} ({cols})")
            con.execute(f"CREATE INDEX ix_{TABLE}_updated_at ON {TABLE} (updated_at, row_id)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def set_mode(self, mode: str) -> None:
        with self._mutex:
            self._release_lock()
            files.restore(self.path)
            if mode == "down":
                files.move_aside(self.path)
                # connections opened before the move still reach the file: locked, they fail too
                self._hold_lock(files.aside(self.path))
            elif mode == "http500":
                self._hold_lock(self.path)
            self.mode = mode

    def _hold_lock(self, path: Path) -> None:
        self._lock_conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock_conn.execute("BEGIN EXCLUSIVE")

    def _release_lock(self) -> None:
        if self._lock_conn is not None:
            self._lock_conn.rollback()
            self._lock_conn.close()
            self._lock_conn = None

    def queue(self, rows: list[dict[str, Any]], injected: bool = False) -> None:
        now = time.monotonic()
        self._queue.extend(_Pending(now, r, injected, False) for r in rows)
        if rows and self.mode == "garbage":
            self._queue.append(_Pending(now, self._garbage_row(rows[-1]), False, True))

    def flush(self, sim_now: datetime) -> None:
        with self._mutex:
            if self.mode in ("down", "http500"):
                return
            ready = _ready(self._queue, self.slow_s if self.mode == "slow" else 0.0)
            if not ready:
                return
            with closing(self._connect()) as con, con:
                for p in ready:
                    row_id = self._insert(con, p.item)
                    if not p.garbage:
                        payload = {"row_id": row_id, **{k: v for k, v in p.item.items() if k != "row_id"}}
                        self.written.append(Written(sim_now, str(row_id), _json(payload), p.injected))
            self._queue = self._queue[len(ready):]

    @staticmethod
    def _insert(con: sqlite3.Connection, row: dict[str, Any]) -> int:
        cols = [c for c in row if c in COLUMNS]
        sql = f"INSERT INTO {TABLE} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        cur = con.execute(sql, [row[c] for c in cols])
        return int(cur.lastrowid or 0)

    def _garbage_row(self, like: dict[str, Any]) -> dict[str, Any]:
        kind = garbage.KINDS[self._garbage_n % len(garbage.KINDS)]
        self._garbage_n += 1
        if kind == "structure":
            return {"updated_at": like["updated_at"]}  # every other column NULL
        bad = garbage.spoil(like)
        if kind == "truncated":
            bad["content"] = str(like.get("content", ""))[:5]
            bad["updated_at"] = str(like["updated_at"])[:13]
        else:
            bad["updated_at"] = like["updated_at"]  # still found by the watermark
        bad["petition_no"] = f"GARBAGE{self._garbage_n:04d}"
        return bad

    def prune_ledger(self, before: datetime) -> None:
        self.written = [w for w in self.written if w.time >= before]


class DropFolder:
    """A drop folder; one file per window of versions, written atomically."""

    def __init__(self, folder: Path, kind: str, prefix: str) -> None:
        self.folder, self.kind, self.prefix = folder, kind, prefix
        self.mode = "ok"
        self.slow_s = 30.0
        self.written: list[Written] = []
        self._queue: list[_Pending] = []
        self._count = 0
        files.restore(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # a new world starts with an empty folder: files an earlier run left unread carry that run's
        # times, days ahead of this run's clock after a fast demo (the exchange table is recreated too)
        for leftover in folder.iterdir():
            if leftover.is_file():
                leftover.unlink()

    def set_mode(self, mode: str) -> None:
        if mode == "down":
            files.move_aside(self.folder)
        else:
            files.restore(self.folder)
            self.folder.mkdir(parents=True, exist_ok=True)
        self.mode = mode

    def queue(self, name_time: datetime, rows: list[dict[str, Any]], injected: bool = False) -> None:
        if not rows:
            return
        self._count += 1
        stem = f"{'inject_' if injected else ''}{self.prefix}_{name_time:%Y%m%d%H%M%S}_{self._count:05d}"
        data = self._encode(rows, name_time)
        now = time.monotonic()
        self._queue.append(_Pending(now, (f"{stem}.{self.kind}", data), injected, False))
        if self.mode in ("garbage", "http500"):
            self._queue.append(_Pending(now, self._garbage_file(stem, rows, name_time), False, True))

    def _encode(self, rows: list[dict[str, Any]], when: datetime) -> bytes:
        if self.kind == "xlsx":
            return files.xlsx_bytes(rows, when)
        return files.csv_bytes(rows, "gb18030" if self._count % 2 else "utf-8-sig")

    def _garbage_file(self, stem: str, rows: list[dict[str, Any]], when: datetime) -> tuple[str, bytes]:
        kind = garbage.KINDS[self._count % len(garbage.KINDS)]
        name = f"garbage_{stem}.{self.kind}"
        if kind == "truncated":
            return name, garbage.truncate(self._encode(rows, when))
        if kind == "structure":
            return name, garbage.WRONG_CSV if self.kind == "csv" else files.xlsx_bytes([{"foo": 1}], when)
        return name, self._encode([garbage.spoil(r) for r in rows], when)

    def flush(self, sim_now: datetime) -> None:
        if self.mode == "down":
            return
        ready = _ready(self._queue, self.slow_s if self.mode == "slow" else 0.0)
        for p in ready:
            name, data = p.item
            files.atomic_write(self.folder, name, data)
            if not p.garbage:
                self.written.append(Written(sim_now, name, data, p.injected))
        self._queue = self._queue[len(ready):]

    def prune_ledger(self, before: datetime) -> None:
        self.written = [w for w in self.written if w.time >= before]


def _ready(queue: list[_Pending], delay_s: float) -> list[_Pending]:
    """The head of the queue that has waited at least ``delay_s`` real seconds (order kept)."""
    now, n = time.monotonic(), 0
    while n < len(queue) and now - queue[n].queued >= delay_s:
        n += 1
    return queue[:n]


def _json(obj: dict[str, Any]) -> bytes:
    """A row as the SQL poller hands it to the json adapter: a one-element JSON list."""
    return orjson.dumps([obj])
