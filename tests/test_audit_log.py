"""The audit log is tamper-evident: an edited row, a row deleted from the middle and deleted newest
rows are each caught and named; one writer at a time keeps the numbering whole (SQLite and
PostgreSQL); `pingan users` writes to it and `pingan audit` verifies and exports it."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import sqlalchemy as sa

from dashboard.accounts.account_store import migrate
from dashboard.accounts.audit_log import GENESIS, AuditLog, audit, row_hash
from dashboard.live.archive import make_engine
from tests.conftest import REPO
from tests.test_archive import _pg_schema_url

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path):
    url = f"sqlite:///{tmp_path}/db/archive.db" if request.param == "sqlite" else _pg_schema_url(request)
    engine = make_engine(url)
    migrate(engine)
    yield AuditLog(engine, tmp_path / "audit-head")
    engine.dispose()


def _fill(log: AuditLog, n: int = 5) -> None:
    for i in range(n):
        log.append("zhangsan", "login", "zhangsan", "440781", "ok" if i % 2 else "failed", "10.0.0.7",
                   {"try": i, "note": "回电13812345678"}, at=T0 + timedelta(hours=i))


def test_an_intact_log_verifies_and_links_every_row_to_the_one_before(log, tmp_path):
    _fill(log)
    rows = list(log.rows())
    assert [r.id for r in rows] == [1, 2, 3, 4, 5] and rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert all(row_hash(r.prev_hash, dict(r._mapping)) == r.hash for r in rows)
    assert "138****5678" in rows[0].detail and "13812345678" not in rows[0].detail, "details are masked"
    assert (tmp_path / "audit-head").read_text().split() == ["5", rows[-1].hash]
    assert log.verify() is None


def _execute(log: AuditLog, stmt: sa.Executable) -> None:
    with log.engine.begin() as con:
        con.execute(stmt)


def test_an_edited_row_is_named(log):
    _fill(log)
    _execute(log, audit.update().where(audit.c.id == 3).values(result="ok"))
    problem = log.verify()
    assert problem is not None and problem.row == 3 and "content" in problem.reason


def test_an_edited_row_with_its_hash_recomputed_breaks_the_next_link(log):
    _fill(log)
    row = next(r for r in log.rows() if r.id == 3)
    forged = {**row._mapping, "subject": "someone-else"}
    _execute(log, audit.update().where(audit.c.id == 3).values(subject="someone-else",
                                                                hash=row_hash(row.prev_hash, forged)))
    problem = log.verify()
    assert problem is not None and problem.row == 4 and "link" in problem.reason


def test_a_row_deleted_from_the_middle_is_named(log):
    _fill(log)
    _execute(log, audit.delete().where(audit.c.id == 3))
    problem = log.verify()
    assert problem is not None and problem.row == 4 and "rows 3–3 are missing" in problem.reason


def test_deleting_the_newest_rows_is_caught_by_the_head(log):
    _fill(log)
    _execute(log, audit.delete().where(audit.c.id >= 4))
    problem = log.verify()
    assert problem is not None and problem.row == 5 and "newest rows are missing" in problem.reason


def test_writers_at_once_never_share_or_skip_a_number(log):
    def write(k: int) -> None:
        for i in range(5):
            log.append(f"w{k}", "ack", f"alert-{i}", "440700", "ok", "10.0.0.1")

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = list(log.rows())
    assert [r.id for r in rows] == list(range(1, 21))
    assert log.verify() is None
    # the head never goes back, whichever writer gets to it last
    assert log.head_file.read_text().split() == ["20", rows[-1].hash]


def test_export_writes_the_rows_of_the_days_asked_for(log):
    _fill(log)
    out = io.StringIO()
    # T0 is 09:00 Beijing; rows at 09:00 … 13:00; ask from 10:00 to 12:00 (exclusive)
    n = log.export_csv(out, T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == 2 and [r["id"] for r in rows] == ["2", "3"]
    assert set(rows[0]) >= {"at", "subject", "action", "object", "scope", "result", "client", "hash", "prev_hash"}


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], env=env, cwd=REPO, text=True, input=stdin,
                          capture_output=True, timeout=60)


@pytest.mark.slow  # `pingan users` and `pingan audit` as processes
def test_pingan_users_is_audited_and_pingan_audit_verifies_and_exports(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PINGAN_")},
           "PINGAN_DATA_DIR": str(tmp_path / "var")}
    assert _cli(env, "users", "add", "zhangsan", "--role", "duty", "--scope", "440781", "--password-stdin",
                stdin="Typhoon-2026!x\n").returncode == 0
    assert _cli(env, "users", "add", "lisi", "--role", "leader", "--password-stdin", stdin="short\n").returncode == 2
    assert _cli(env, "users", "unlock", "zhangsan").returncode == 0
    res = _cli(env, "audit", "verify")
    assert res.returncode == 0 and "3 rows" in res.stdout, res.stderr
    res = _cli(env, "audit", "export")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["action"], r["object"], r["result"]) for r in rows] == [
        ("account.add", "zhangsan", "ok"), ("account.add", "lisi", "refused"), ("account.unlock", "zhangsan", "ok")]
    assert "at least 12 characters" in rows[1]["detail"] and all(r["subject"].startswith("cli:") for r in rows)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/var/archive.db")
    with engine.begin() as con:
        con.execute(sa.text("update audit set result = 'ok' where id = 2"))
    engine.dispose()
    res = _cli(env, "audit", "verify")
    assert res.returncode == 1 and "row 2" in res.stderr


def _aged(log: AuditLog, days: list[int]) -> None:
    """Rows written ``days`` ago (oldest first)."""
    now = datetime.now(UTC)
    for i, d in enumerate(days):
        log.append("li", "login", "li", "440700", "ok", "10.0.0.1", {"i": i}, at=now - timedelta(days=d))


def test_pruning_keeps_at_least_180_days_and_the_chain_verifies_after_it(log):
    _aged(log, [400, 300, 200, 100, 1])
    with pytest.raises(ValueError, match="at least 180"):
        log.prune(90, "cli:root", "cli@host")
    assert log.prune(250, "cli:root", "cli@host") == 2
    rows = list(log.rows())
    assert [r.id for r in rows] == [3, 4, 5, 6] and rows[-1].action == "audit.prune"
    assert orjson.loads(rows[-1].detail) == {"through": 2, "rows": 2, "keep_days": 250}
    assert log.verify() is None, "the chain starts at the anchor the pruning left"
    assert log.prune(250, "cli:root", "cli@host") == 0, "nothing more is old enough"


def test_rows_deleted_before_the_anchor_without_a_pruning_are_still_caught(log):
    _aged(log, [400, 300, 200, 100, 1])
    log.prune(250, "cli:root", "cli@host")
    _execute(log, audit.delete().where(audit.c.id == 3))  # the oldest row kept, deleted by hand
    problem = log.verify()
    assert problem is not None and problem.row == 4 and "rows 3–3 are missing" in problem.reason
