"""The non-HTTP upstreams: the xf exchange table (SQLite change log) and the sj/mz drop folders,
with their fault modes and injected rows."""

from __future__ import annotations

import base64
import io
import sqlite3
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from dashboard.contract.event import BEIJING
from feeds.simulator.engine import Simulator
from feeds.simulator.simtime import iso
from feeds.simulator.traffic import DEFAULT_VOLUMES

START = datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING)


@pytest.fixture
def sim(tmp_path: Path) -> Simulator:
    volumes = {k: v * 0.5 for k, v in DEFAULT_VOLUMES.items()} | {"xf": 300, "mz": 200}
    return Simulator(seed=3, start=START, backfill_h=2, data_dir=tmp_path, volumes=volumes)


def rows(db: Path) -> list[dict]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM xf_petition ORDER BY row_id")]
    finally:
        con.close()


def test_exchange_table_is_a_change_log(sim: Simulator) -> None:
    sim.step(3600)
    got = rows(sim.data_dir / "exchange.db")
    versions = [e for e in sim.store.logs["xf"].entries if e.raw is None]
    assert len(got) == len(versions) > 20
    assert [r["row_id"] for r in got] == list(range(1, len(got) + 1))
    stamps = [r["updated_at"] for r in got]
    assert stamps == sorted(stamps) and all(s.endswith("+08:00") for s in stamps)
    per_case: dict[str, list[str]] = {}
    for r in got:
        per_case.setdefault(r["petition_no"], []).append(r["status_code"])
    assert any(len(v) >= 2 for v in per_case.values())
    ledger = sim.ledger("xf")
    assert len(ledger["payloads"]) == len(got) and '"row_id":1' in ledger["payloads"][0]


def test_exchange_down_hides_the_file_and_ok_brings_it_back(sim: Simulator) -> None:
    db = sim.data_dir / "exchange.db"
    before = len(rows(db))
    sim.set_fault("xf", "down")
    assert not db.exists() and (sim.data_dir / ".exchange.db.down").exists()
    with pytest.raises(sqlite3.OperationalError):
        rows(db)
    sim.step(3600)
    sim.set_fault("xf", "ok")
    assert len(rows(db)) > before  # the rows written meanwhile were kept and appended


def test_exchange_http500_locks_the_database(sim: Simulator) -> None:
    sim.set_fault("xf", "http500")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        rows(sim.data_dir / "exchange.db")
    sim.set_fault("xf", "ok")
    assert rows(sim.data_dir / "exchange.db")


def test_exchange_garbage_rows_are_written_but_not_in_the_ledger(sim: Simulator) -> None:
    sim.set_fault("xf", "garbage")
    sim.step(3600)
    got = rows(sim.data_dir / "exchange.db")
    junk = [r for r in got if not (r["petition_no"] or "").startswith("XF")]
    assert junk
    assert len(sim.ledger("xf")["payloads"]) == len(got) - len(junk)


def test_inject_a_row(sim: Simulator) -> None:
    sim.inject_row("xf", {"petition_no": "XF-INJ", "status_code": "ZZ", "lat": 999})
    last = rows(sim.data_dir / "exchange.db")[-1]
    assert last["petition_no"] == "XF-INJ" and last["updated_at"] == iso(sim.now) and last["lat"] == 999
    ledger = sim.ledger("xf")
    assert ledger["injected"] == [len(ledger["payloads"]) - 1]


def test_drop_folders_get_atomic_files_in_alternating_encodings(sim: Simulator) -> None:
    sim.step(3600)
    sj = sim.data_dir / "drop" / "sj"
    names = sorted(p.name for p in sj.iterdir())
    assert names and not [n for n in names if n.startswith(".")]
    blobs = [(sj / n).read_bytes() for n in names]
    bom = [b for b in blobs if b.startswith(b"\xef\xbb\xbf")]
    gb = [b for b in blobs if not b.startswith(b"\xef\xbb\xbf")]
    assert bom and gb
    assert bom[0].decode("utf-8-sig").startswith("投诉编号,登记时间,更新时间,状态")
    assert gb[0].decode("gb18030").startswith("投诉编号")
    ledger = sim.ledger("sj")
    assert ledger["encoding"] == "base64"
    assert {base64.b64decode(p) for p in ledger["payloads"]} == set(blobs)
    mz = sim.data_dir / "drop" / "mz"
    book = openpyxl.load_workbook(io.BytesIO(next(mz.glob("*.xlsx")).read_bytes()))
    header = [c.value for c in next(book.active.iter_rows(max_row=1))]
    assert header[:3] == ["申请编号", "救助类型", "申请人"]


def test_drop_folder_down_renames_it_and_garbage_adds_bad_files(sim: Simulator) -> None:
    sj = sim.data_dir / "drop" / "sj"
    sim.set_fault("sj", "down")
    assert not sj.exists() and (sim.data_dir / "drop" / ".sj.down").is_dir()
    sim.step(1800)
    sim.set_fault("sj", "ok")
    assert sj.is_dir() and any(sj.glob("*.csv"))
    sim.set_fault("mz", "garbage")
    sim.step(3600)
    assert any((sim.data_dir / "drop" / "mz").glob("garbage_*.xlsx"))
    assert not any(n.startswith("garbage_") for n in sim.ledger("mz")["names"])


def test_inject_a_one_row_file(sim: Simulator) -> None:
    sim.inject_row("sj", {"投诉编号": "SJ-INJ", "状态": "???"})
    ledger = sim.ledger("sj")
    name = ledger["names"][ledger["injected"][0]]
    text = (sim.data_dir / "drop" / "sj" / name).read_bytes()
    assert b"SJ-INJ" in text.replace(b"\xef\xbb\xbf", b"") or "SJ-INJ" in text.decode("gb18030")
