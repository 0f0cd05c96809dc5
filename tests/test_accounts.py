"""Accounts in the installation's SQL database (SQLite and PostgreSQL): Argon2 hashes, the password
policy, roles and scopes, and `pingan users` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.accounts import passwords
from dashboard.accounts.account_store import (
    MIGRATIONS,
    AccountError,
    AccountStore,
    accounts,
    migrate,
    password_history,
)
from dashboard.accounts.passwords import PasswordPolicyError, check_policy
from dashboard.accounts.roles import Role
from dashboard.live.archive import make_engine
from tests.conftest import REPO, examples
from tests.test_archive import _pg_schema_url

CITY = "440700"
GOOD = "Typhoon-2026!x"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path):
    url = f"sqlite:///{tmp_path}/db/archive.db" if request.param == "sqlite" else _pg_schema_url(request)
    engine = make_engine(url)
    migrate(engine)
    s = AccountStore(engine, CITY, min_length=12, min_classes=3, history=3, hasher=CHEAP)
    yield s
    s.close()


CHEAP = passwords.hasher(19456, 2, 1)  # OWASP's floor: what the tests' accounts use (tests/conftest.py)


def test_a_login_rehashes_a_password_made_at_other_costs(store):
    store.add("zhaoliu", "duty", "Rehash-me-2026!", permanent=True)
    stronger = AccountStore(store.engine, CITY, hasher=passwords.hasher(24576, 3, 2))
    assert stronger.authenticate("zhaoliu", "Rehash-me-2026!").ok
    with store.engine.connect() as con:
        digest = con.execute(sa.text("select password_hash from accounts where name = 'zhaoliu'")).scalar_one()
    assert "m=24576,t=3,p=2" in digest and stronger.authenticate("zhaoliu", "Rehash-me-2026!").ok


def test_the_migration_is_applied_once_and_again_changes_nothing(store):
    migrate(store.engine)  # a second process starting later
    with store.engine.connect() as con:
        newest = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert con.execute(sa.text("select version_num from alembic_version")).scalars().all() == [newest]
        assert {c["name"] for c in sa.inspect(con).get_columns("accounts")} >= {
            "name", "role", "scope", "password_hash", "must_change", "disabled", "failed_logins", "locked_until"}


def test_an_added_account_has_an_argon2_hash_a_role_a_scope_and_must_change_its_password(store):
    acc = store.add("zhangsan", "duty", GOOD, scope="440781")
    assert (acc.role, acc.scope, acc.must_change, acc.disabled) == (Role.DUTY, "440781", True, False)
    assert store.add("lisi", "leader", GOOD).scope == CITY, "the city is the default scope"
    assert store.add("wangwu", "auditor", GOOD, permanent=True).must_change is False
    with store.engine.connect() as con:
        stored = con.execute(sa.select(accounts.c.password_hash).where(accounts.c.name == "zhangsan")).scalar_one()
        dump = " ".join(str(v) for t in (accounts, password_history) for row in con.execute(sa.select(t)) for v in row)
    assert stored.startswith("$argon2id$") and passwords.verify(stored, GOOD) and not passwords.verify(stored, "x")
    assert GOOD not in dump, "no password is stored as given"
    assert [a.name for a in store.list()] == ["lisi", "wangwu", "zhangsan"]


@pytest.mark.parametrize(("name", "role", "scope", "says"), [
    ("zhangsan", "duty", None, "exists"),
    ("x", "duty", None, "2–64"),
    ("bad name", "duty", None, "2–64"),
    ("zhaoliu", "admin", None, "no role 'admin'"),
    ("zhaoliu", "duty", "440799", "neither the city"),
    ("zhaoliu", "duty", "110101", "neither the city"),
])
def test_what_add_refuses_is_said(store, name, role, scope, says):
    store.add("zhangsan", "duty", GOOD)
    with pytest.raises(AccountError, match=says):
        store.add(name, role, GOOD, scope=scope)
    assert [a.name for a in store.list()] == ["zhangsan"]


@pytest.mark.parametrize(("password", "says"), [
    ("Ab1!", "at least 12 characters"),
    ("alllowercaseletters", "missing: upper-case letters, digits, other characters"),
    ("Zhangsan-2026!", "must not contain the account's name"),
    ("Typhoon-2026\x00x", "control characters"),
])
def test_the_policy_says_what_is_wrong(password, says):
    with pytest.raises(PasswordPolicyError, match=says):
        check_policy(password, "zhangsan", min_length=12, min_classes=3)


def test_a_reset_refuses_the_recent_passwords_and_accepts_an_older_one(store):
    store.add("zhangsan", "duty", "First-Pass-001")
    with pytest.raises(PasswordPolicyError, match="recent"):
        store.reset("zhangsan", "First-Pass-001")
    for n in (2, 3, 4):
        assert store.reset("zhangsan", f"Next-Pass-00{n}").must_change
    with pytest.raises(PasswordPolicyError, match="recent"):
        store.reset("zhangsan", "Next-Pass-002")  # one of the last three
    assert store.reset("zhangsan", "First-Pass-001", permanent=True).must_change is False  # four ago: allowed
    with store.engine.connect() as con:
        assert con.execute(sa.select(sa.func.count()).select_from(password_history)).scalar_one() == 3


def test_disable_enable_and_unlock(store):
    store.add("zhangsan", "duty", GOOD)
    assert store.set_disabled("zhangsan", True).disabled and not store.set_disabled("zhangsan", False).disabled
    later = datetime.now(UTC) + timedelta(minutes=15)
    with store.engine.begin() as con:  # what the login will do after repeated failures
        con.execute(accounts.update().values(failed_logins=10, locked_until=later))
    acc = store.get("zhangsan")
    assert acc.locked(datetime.now(UTC)) and acc.failed_logins == 10
    acc = store.unlock("zhangsan")
    assert not acc.locked(datetime.now(UTC)) and acc.failed_logins == 0
    for verb in (store.unlock, lambda n: store.set_disabled(n, True)):
        with pytest.raises(AccountError, match="no account named 'nobody'"):
            verb("nobody")


@given(st.text(max_size=40), st.text(max_size=10))
@hsettings(max_examples=examples(200))
def test_the_policy_only_ever_refuses_with_a_reason(password, name):
    try:
        check_policy(password, name, min_length=12, min_classes=3)
    except PasswordPolicyError as exc:
        assert str(exc)


def _users(env: dict[str, str], *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", "users", *args], env=env, cwd=REPO, text=True,
                          input=None if password is None else password + "\n", capture_output=True, timeout=60)


@pytest.mark.slow  # `pingan users` as processes
def test_pingan_users_as_a_process(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PINGAN_")},
           "PINGAN_DATA_DIR": str(tmp_path / "var")}
    res = _users(env, "add", "zhangsan", "--role", "duty", "--scope", "440781", "--password-stdin", password=GOOD)
    assert res.returncode == 0 and "must be changed at the next login" in res.stdout, res.stderr
    res = _users(env, "add", "lisi", "--role", "leader", "--password-stdin", password="short")
    assert res.returncode == 2 and "at least 12 characters" in res.stderr
    res = _users(env, "add", "lisi", "--role", "leader", password=GOOD)
    assert res.returncode == 2 and "--password-stdin" in res.stderr
    assert _users(env, "disable", "zhangsan").returncode == 0
    listed = orjson.loads(_users(env, "list", "--json").stdout)["accounts"]
    assert [(a["name"], a["role"], a["role_zh"], a["scope"], a["disabled"]) for a in listed] == [
        ("zhangsan", "duty", "值班员", "440781", True)]
    files = list((tmp_path / "var").glob("archive.db*"))  # the database and its write-ahead log
    assert files and all(GOOD.encode() not in f.read_bytes() for f in files)


def test_ten_wrong_passwords_lock_the_account_until_unlock_or_the_lock_time_has_passed(store):
    store.add("zhangsan", "duty", GOOD)
    now = datetime.now(UTC)
    results = [store.authenticate("zhangsan", f"wrong-{i}", now=now) for i in range(10)]
    assert [r.reason for r in results] == ["wrong password"] * 10
    assert [r.locked_now for r in results] == [False] * 9 + [True]
    acc = store.get("zhangsan")
    assert acc.failed_logins == 10 and acc.locked(now)
    assert store.authenticate("zhangsan", GOOD, now=now).reason == "locked", "locked even with the right password"
    later = now + timedelta(seconds=store.lock_s + 1)
    assert store.authenticate("zhangsan", "wrong-again", now=later).reason == "wrong password"
    assert store.get("zhangsan").failed_logins == 1, "after the lock ran out the count starts anew"
    store.unlock("zhangsan")
    ok = store.authenticate("zhangsan", GOOD)
    assert ok.ok and ok.account is not None and ok.account.must_change and ok.account.failed_logins == 0


def test_a_right_password_clears_the_count_and_disabled_or_unknown_accounts_are_refused(store):
    store.add("zhangsan", "duty", GOOD)
    for _ in range(3):
        store.authenticate("zhangsan", "wrong")
    assert store.get("zhangsan").failed_logins == 3
    assert store.authenticate("zhangsan", GOOD).ok and store.get("zhangsan").failed_logins == 0
    store.set_disabled("zhangsan", True)
    assert store.authenticate("zhangsan", GOOD).reason == "disabled"
    assert store.authenticate("nobody", GOOD).reason == "unknown"


def test_the_owner_changes_a_forced_password_once_and_not_to_a_recent_one(store):
    store.add("zhangsan", "duty", GOOD)
    with pytest.raises(AccountError, match="current password"):
        store.change_password("zhangsan", "not-it", "Brand-New-Pass-1")
    with pytest.raises(PasswordPolicyError, match="recent"):
        store.change_password("zhangsan", GOOD, GOOD)
    acc = store.change_password("zhangsan", GOOD, "Brand-New-Pass-1")
    assert acc.must_change is False and store.authenticate("zhangsan", "Brand-New-Pass-1").ok
