"""The SQL exchange table (前置库) polled by its watermark, on real PostgreSQL and on SQLite."""

import os
import sqlite3
import uuid

import pytest
import sqlalchemy as sa

from dashboard.contract.systems import load_feeds
from feeds.ingest import IngestWorker

PG_URL = os.environ.get("PINGAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

MAPPING = """
[feeds.xf]
endpoint = "{url}"
[feeds.xf.options]
table = "{table}"
watermark = "updated_at"
key = "row_id"
[feeds.xf.mapping]
records = ""
case_id = "petition_no"
kind = {{ const = "case" }}
status = {{ path = "status", map = {{ "登记" = "reported", "受理" = "accepted", "办结" = "closed" }} }}
category = {{ const = "petition" }}
occurred_at = "updated_at"
summary = "content"
adcode = "district_code"
attrs = {{ petitioner = "petitioner_name", phone = "petitioner_phone" }}
"""

DDL = ("create table {t} (row_id integer primary key, petition_no text, status text, content text, "
       "district_code text, petitioner_name text, petitioner_phone text, updated_at text)")
ROW = ("insert into {t} values (:id, :no, :st, :content, '440703', '王五', '13912345678', :ts)")


def _rows(con, t, start, n, status="登记"):
    for i in range(start, start + n):
        con.execute(sa.text(ROW.format(t=t)), {"id": i, "no": f"XF{i:05d}", "st": status,
                                                "content": f"信访事项{i} 身份证440703199001011234",
                                                "ts": f"2026-11-22T09:{i // 60:02d}:{i % 60:02d}+08:00"})


def _run(settings, tmp_path, url, engine, table):
    (tmp_path / "reg.toml").write_text(MAPPING.format(url=url, table=table), encoding="utf-8")
    settings.registry = tmp_path / "reg.toml"
    settings.batch_size = 40
    feeds = {"xf": load_feeds(settings)["xf"]}
    with engine.begin() as con:
        con.execute(sa.text(DDL.format(t=table)))
        _rows(con, table, 1, 100)
    worker = IngestWorker(settings, feeds)
    try:
        worker.run_once()
        with engine.begin() as con:
            _rows(con, table, 101, 30)
            _rows(con, table, 131, 1, status="办结")
        worker.run_once()
        worker.run_once()  # nothing new: nothing written twice
    finally:
        worker.close()
    return worker


def _check(r, keys):
    entries = r.xrange(keys.stream("xf"))
    ids = [f[b"id"] for _, f in entries]
    assert len(ids) == 131 == len(set(ids))
    assert r.hgetall(keys.cursor("xf"))[b"key"] == b"131"
    blob = b"".join(f[b"e"] for _, f in entries)
    assert b"13912345678" not in blob and b"440703199001011234" not in blob and "王五".encode() not in blob


def test_postgres_exchange_table(r, keys, settings, tmp_path):
    engine = sa.create_engine(PG_URL)
    try:
        engine.connect().close()
    except sa.exc.OperationalError as exc:
        pytest.fail(f"tests need PostgreSQL at {PG_URL}: {exc}")
    table = f"xf_{uuid.uuid4().hex[:8]}"
    try:
        _run(settings, tmp_path, PG_URL, engine, table)
        _check(r, keys)
    finally:
        with engine.begin() as con:
            con.execute(sa.text(f"drop table if exists {table}"))
        engine.dispose()


def test_sqlite_exchange_table_and_missing_file(r, keys, settings, tmp_path):
    db = tmp_path / "exchange.db"
    sqlite3.connect(db).close()
    _run(settings, tmp_path, f"sqlite:///{db}", sa.create_engine(f"sqlite:///{db}"), "xf_petition")
    _check(r, keys)
    # the file vanishes (upstream down): an error is recorded, no empty database is created
    db.rename(tmp_path / "aside.db")
    worker = IngestWorker(settings, {"xf": load_feeds(settings)["xf"]})
    try:
        worker.run_once()
    finally:
        worker.close()
    assert not db.exists()
    assert int(r.hget(keys.health("xf"), "failures")) == 1
