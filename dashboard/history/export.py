"""Exports of the archive's case facts as CSV or XLSX (issue 19): the same filters and scope as the
history API (dashboard/history/query.py), every row read in batches from one query (constant memory
whatever the count), every file marked with who exported it and when, and no cell a spreadsheet
would run as a formula.

Spreadsheets run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or a
carriage return) as a formula — ``=HYPERLINK(…)`` in a case's summary would become a live link. Such
text is written with a leading apostrophe (OWASP's advice for CSV injection), in both formats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from dashboard.contract.board import Level
from dashboard.contract.event import BEIJING
from dashboard.history.facts import case_facts
from dashboard.history.query import DAY_MS, Filter, Reader, parse_time
from dashboard.live.archive import read_connection

Format = Literal["csv", "xlsx"]
BATCH = 5000  # rows fetched from the database at a time
RISKY = ("=", "+", "-", "@", "\t", "\r")  # a cell beginning with one of these is run as a formula
TIMES = frozenset({"received_at", "signed_at", "handled_at", "rated_at"})
# (column, 中文 heading, English heading), in the order written
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("case_id", "工单编号", "case"), ("source", "来源系统", "source"), ("category", "类别", "category"),
    ("priority", "优先级", "priority"), ("status", "状态", "status"), ("phase", "阶段", "phase"),
    ("sla", "时限结果", "SLA outcome"), ("district", "区（市）", "district"), ("town", "镇（街）", "town"),
    ("village", "村（居）", "village"), ("grid", "网格", "grid"), ("department", "承办部门", "department"),
    ("summary", "摘要（已脱敏）", "summary (masked)"), ("received_at", "受理时间", "received"),
    ("signed_at", "签收时间", "signed"), ("handled_at", "办结时间", "handled"), ("rated_at", "回访时间", "rated"),
    ("rating", "评价", "rating"), ("sent_back", "发回重办次数", "sent back"), ("linked", "关联工单", "linked to"),
)
F = case_facts.c


def window(start: str, end: str) -> tuple[int, int]:
    """``from`` and ``to`` as the window's epoch ms (history API's forms); a date ``to`` includes its day."""
    last = parse_time(end)
    return parse_time(start), last + DAY_MS if len(end.strip()) == 10 and not end.strip().isdigit() else last


def safe(value: Any) -> Any:
    """A cell as written: text that a spreadsheet would run begins with an apostrophe instead."""
    if isinstance(value, str) and value.startswith(RISKY):
        return "'" + value
    return value


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name in TIMES:
        return datetime.fromtimestamp(value / 1000, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    return safe(value)


def count(engine: sa.Engine, level: Level, code: str, f: Filter) -> int:
    """How many cases the export of (``level``, ``code``, ``f``) holds: one SQL count."""
    with read_connection(engine) as con:
        stmt = sa.select(sa.func.count()).select_from(case_facts).where(*Reader(engine).where(level, code, f))
        return int(con.scalar(stmt) or 0)


def rows(engine: sa.Engine, level: Level, code: str, f: Filter) -> Iterator[tuple[Any, ...]]:
    """The cases of the window in the scope, oldest received first, as written (times in Beijing time),
    fetched BATCH at a time."""
    where = Reader(engine).where(level, code, f)
    stmt = sa.select(*(F[name] for name, _, _ in COLUMNS)).where(*where).order_by(F.received_at, F.case_id)
    with read_connection(engine) as con:
        result = con.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
        for row in result:
            yield tuple(_cell(name, v) for (name, _, _), v in zip(COLUMNS, row, strict=True))


def mark(who: str, at: float, scope: str, f: Filter, filters: Mapping[str, Any], lang: str = "zh") -> str:
    """The line that says who exported what and when."""
    when = datetime.fromtimestamp(at, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    window = "–".join(datetime.fromtimestamp(t / 1000, BEIJING).strftime("%Y-%m-%d %H:%M") for t in (f.start, f.end))
    given = "; ".join(f"{k}={v}" for k, v in filters.items() if v)
    if lang == "en":
        return f"Exported by {who} at {when} (Beijing time); scope {scope}; received {window}; {given or 'no filter'}"
    return f"导出人 {who} · 导出时间 {when}（北京时间）· 范围 {scope} · 受理时间 {window} · 筛选 {given or '无'}"


def headings(lang: str = "zh") -> list[str]:
    return [en if lang == "en" else zh for _, zh, en in COLUMNS]


def csv_chunks(note: str, lines: Iterator[tuple[Any, ...]], counter: list[int], lang: str = "zh") -> Iterator[bytes]:
    """The CSV as it is written (UTF-8 with a BOM, so Excel reads Chinese): the mark as a first line
    beginning with #, the headings, then the rows (``counter[0]`` counts them as they go)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff# " + note.replace("\r", " ").replace("\n", " ") + "\r\n")
    out.writerow(headings(lang))
    for row in lines:
        out.writerow(row)
        counter[0] += 1
        if buf.tell() > 1 << 16:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def write_xlsx(target: IO[bytes] | Path, note: str, lines: Iterator[tuple[Any, ...]], who: str,
               lang: str = "zh") -> int:
    """The XLSX (openpyxl's write-only mode: rows go to disk as they come): a sheet of the cases under
    the mark and the headings, the exporter as the workbook's creator. Returns the rows written."""
    wb = Workbook(write_only=True)
    wb.properties.creator = who
    ws = wb.create_sheet("工单" if lang == "zh" else "cases")
    bold = Font(bold=True)
    ws.append([note])
    head = []
    for h in headings(lang):
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        head.append(c)
    ws.append(head)
    n = 0
    for row in lines:
        ws.append(list(row))
        n += 1
    wb.save(target)
    return n
