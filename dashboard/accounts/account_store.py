"""The accounts table and what `pingan users` does to it.

An account has a name, a role (:class:`~dashboard.accounts.roles.Role`), a scope (the city's adcode
or one of its districts': it sees that scope and what lies inside it), an Argon2 hash of its
password, and whether that password must be changed at the next login (after `add` or `reset`
unless the password is its owner's own, ``permanent``). The last few hashes are kept so a new
password cannot repeat one of them. Failed logins and a lock time are kept for the login to use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher

from dashboard.accounts import passwords
from dashboard.accounts.roles import ACCOUNT_ROLES, Role
from dashboard.contract.geo import districts
from dashboard.contract.settings import Settings
from dashboard.live.archive import UTCDateTime, database_url, make_engine

MIGRATIONS = Path(__file__).with_name("migrations")
NAME = re.compile(r"^[\w.\-]{2,64}$")  # letters (Chinese too), digits, dot, dash, underscore
NO_PASSWORD = "!"  # the hash of an account that logs in by single sign-on: no password ever matches it  # noqa: S105
MIGRATE_LOCK_ID = 0x70696E67616F  # PostgreSQL advisory lock while migrating ("pingao")

metadata = sa.MetaData()
accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("scope", sa.String(12), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("must_change", sa.Boolean, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("password_changed_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("totp_secret", sa.String(64), nullable=True),  # dashboard/accounts/second_factor.py
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("source", sa.String(8), nullable=False, server_default="local"),  # or a single sign-on: oidc, cas
)
password_history = sa.Table(
    "password_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


class AccountError(ValueError):
    """A request `pingan users` refuses; the message says why."""


@dataclass(frozen=True)
class Login:
    """What a login attempt came to: ``ok``, or why not (``unknown``, ``disabled``, ``locked``,
    ``wrong password``); ``locked_now`` when this failure locked the account."""

    ok: bool
    reason: str
    account: Account | None = None
    locked_now: bool = False


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    scope: str
    must_change: bool
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    password_changed_at: datetime
    created_at: datetime
    second_factor: bool = False  # a TOTP authenticator is enrolled
    source: str = "local"  # local (a password here) or the single sign-on it logs in through (oidc, cas)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def migrate(engine: sa.Engine) -> None:
    """Bring the database's schema to the newest migration (one process at a time)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as con:
        if con.dialect.name == "postgresql":
            con.execute(sa.text("select pg_advisory_xact_lock(:id)"), {"id": MIGRATE_LOCK_ID})
        cfg.attributes["connection"] = con
        command.upgrade(cfg, "head")


class AccountStore:
    def __init__(self, engine: sa.Engine, city_adcode: str, min_length: int = 12, min_classes: int = 3,
                 history: int = 5, max_failures: int = 10, lock_s: float = 900,
                 hasher: PasswordHasher | None = None) -> None:
        self.engine, self.city = engine, city_adcode
        self.hasher = hasher or PasswordHasher()
        self.min_length, self.min_classes, self.history = min_length, min_classes, history
        self.max_failures, self.lock_s = max_failures, lock_s

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountStore:
        engine = make_engine(database_url(settings))
        migrate(engine)
        return cls(engine, settings.city_adcode, settings.password_min_length, settings.password_min_classes,
                   settings.password_history, settings.login_max_failures, settings.login_lock_s,
                   passwords.hasher(settings.password_hash_memory_kib, settings.password_hash_time_cost,
                                    settings.password_hash_parallelism))

    def close(self) -> None:
        self.engine.dispose()

    # --- what `pingan users` does ------------------------------------------------------------

    def add(self, name: str, role: str, password: str, scope: str | None = None, permanent: bool = False) -> Account:
        if not NAME.match(name):
            raise AccountError(f"a name is 2–64 letters, digits, '.', '-' or '_': {name!r}")
        role_ = self._role(role)
        scope_ = self._scope(scope)
        passwords.check_policy(password, name, self.min_length, self.min_classes)
        digest, now = passwords.hash_password(password, self.hasher), _now()
        with self.engine.begin() as con:
            if con.execute(sa.select(accounts.c.id).where(accounts.c.name == name)).first():
                raise AccountError(f"an account named {name!r} exists")
            account_id = con.execute(accounts.insert().values(
                name=name, role=role_.value, scope=scope_, password_hash=digest, must_change=not permanent,
                disabled=False, failed_logins=0, locked_until=None, password_changed_at=now, created_at=now,
                updated_at=now).returning(accounts.c.id)).scalar_one()
            con.execute(password_history.insert().values(account_id=account_id, password_hash=digest, created_at=now))
        return self.get(name)

    def from_sso(self, name: str, role: str, scope: str, source: str) -> Account:
        """The account a single sign-on vouches for, with the role and scope its claims map to this time:
        made at its first login (no password here), updated at each later one. A local account of that
        name is never taken over; a disabled one stays disabled."""
        if not NAME.match(name):
            raise AccountError(f"the identity's name is not usable here: {name!r}")
        role_, scope_, now = self._role(role).value, self._scope(scope), _now()
        with self.engine.begin() as con:
            row = con.execute(sa.select(accounts).where(accounts.c.name == name)).first()
            if row is not None and row.source != source:
                raise AccountError(f"an account named {name!r} exists here ({row.source}): not taken over by {source}")
            if row is None:
                con.execute(accounts.insert().values(
                    name=name, role=role_, scope=scope_, password_hash=NO_PASSWORD, must_change=False, disabled=False,
                    failed_logins=0, locked_until=None, password_changed_at=now, created_at=now, updated_at=now,
                    source=source))
            elif (row.role, row.scope) != (role_, scope_):
                con.execute(accounts.update().where(accounts.c.id == row.id).values(role=role_, scope=scope_,
                                                                                   updated_at=now))
        return self.get(name)

    def get(self, name: str) -> Account:
        with self.engine.connect() as con:
            row = con.execute(sa.select(accounts).where(accounts.c.name == name)).first()
        if row is None:
            raise AccountError(f"no account named {name!r}")
        return _account(row)

    def list(self) -> list[Account]:
        with self.engine.connect() as con:
            return [_account(r) for r in con.execute(sa.select(accounts).order_by(accounts.c.name))]

    def set_disabled(self, name: str, disabled: bool) -> Account:
        self._update(name, disabled=disabled)
        return self.get(name)

    def change(self, name: str, role: str | None = None, scope: str | None = None) -> Account:
        """A new role or scope (the caller ends the account's sessions: they carry the old ones)."""
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = self._role(role).value
        if scope is not None:
            values["scope"] = self._scope(scope)
        if not values:
            raise AccountError("give --role or --scope")
        self._update(name, **values)
        return self.get(name)

    def unlock(self, name: str) -> Account:
        """Free a locked account and forget its failed logins."""
        self._update(name, failed_logins=0, locked_until=None)
        return self.get(name)

    def reset(self, name: str, password: str, permanent: bool = False) -> Account:
        """A new password (not one of the last ``history``), unlocked; changed at next login unless
        ``permanent``."""
        now = _now()
        with self.engine.begin() as con:
            row = con.execute(sa.select(accounts.c.id).where(accounts.c.name == name)).first()
            if row is None:
                raise AccountError(f"no account named {name!r}")
            recent = [r.password_hash for r in con.execute(
                sa.select(password_history.c.password_hash).where(password_history.c.account_id == row.id)
                .order_by(password_history.c.id.desc()).limit(self.history))]
            passwords.check_policy(password, name, self.min_length, self.min_classes, recent)
            digest = passwords.hash_password(password, self.hasher)
            con.execute(accounts.update().where(accounts.c.id == row.id).values(
                password_hash=digest, must_change=not permanent, failed_logins=0, locked_until=None,
                password_changed_at=now, updated_at=now))
            con.execute(password_history.insert().values(account_id=row.id, password_hash=digest, created_at=now))
            keep = sa.select(password_history.c.id).where(password_history.c.account_id == row.id) \
                .order_by(password_history.c.id.desc()).limit(self.history)
            con.execute(password_history.delete().where(password_history.c.account_id == row.id,
                                                        password_history.c.id.not_in(keep)))
        return self.get(name)

    # --- what the login does -----------------------------------------------------------------

    def authenticate(self, name: str, password: str, now: datetime | None = None) -> Login:
        """Check a password. A wrong one counts against the account, and ``max_failures`` in a row
        lock it for ``lock_s`` (real time); a right one clears the count. A disabled or locked
        account is refused whatever the password. An unknown name costs the same hash work."""
        now = now or _now()
        with self.engine.begin() as con:
            row = con.execute(sa.select(accounts).where(accounts.c.name == name)).first()
            if row is None:
                passwords.verify(_dummy_hash(self.hasher), password)
                return Login(False, "unknown")
            account = _account(row)
            if account.source != "local":
                passwords.verify(_dummy_hash(self.hasher), password)
                return Login(False, "single sign-on only", account)
            if account.disabled:
                return Login(False, "disabled", account)
            if account.locked(now):
                return Login(False, "locked", account)
            if not passwords.verify(row.password_hash, password):
                expired = row.locked_until is not None  # not locked now, so any lock has run out: count anew
                failures = (0 if expired else row.failed_logins) + 1
                lock = failures >= self.max_failures
                until = now + timedelta(seconds=self.lock_s) if lock else None
                con.execute(accounts.update().where(accounts.c.id == row.id).values(
                    failed_logins=failures, locked_until=until, updated_at=now))
                return Login(False, "wrong password", account, locked_now=lock)
            values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
            if passwords.needs_rehash(row.password_hash, self.hasher):
                values["password_hash"] = passwords.hash_password(password, self.hasher)
            con.execute(accounts.update().where(accounts.c.id == row.id).values(**values))
        return Login(True, "ok", self.get(name))

    def change_password(self, name: str, old: str, new: str) -> Account:
        """The owner's own change (the forced one at first login too): the old password, then the
        policy and the history; afterwards no change is due."""
        with self.engine.connect() as con:
            row = con.execute(sa.select(accounts.c.password_hash).where(accounts.c.name == name)).first()
        if row is None or not passwords.verify(row.password_hash, old):
            raise AccountError("the current password is not right")
        return self.reset(name, new, permanent=True)

    # --- helpers -----------------------------------------------------------------------------

    def _update(self, name: str, **values: object) -> None:
        with self.engine.begin() as con:
            res = con.execute(accounts.update().where(accounts.c.name == name).values(**values, updated_at=_now()))
            if res.rowcount == 0:
                raise AccountError(f"no account named {name!r}")

    def _role(self, role: str) -> Role:
        if role in ACCOUNT_ROLES:
            return Role(role)
        raise AccountError(f"no role {role!r}: one of {', '.join(ACCOUNT_ROLES)}"
                           + ("; a wall screen gets a credential of its own: pingan screens add" if role == "screen"
                              else ""))

    def _scope(self, scope: str | None) -> str:
        return checked_scope(self.city, scope)


def checked_scope(city: str, scope: str | None) -> str:
    """An account's or a screen's scope: the city (also when none is given) or one of its districts."""
    if scope is None or scope == city:
        return city
    codes = {d.adcode for d in districts(city)}
    if scope not in codes:
        raise AccountError(f"scope {scope!r} is neither the city {city} nor one of its districts "
                           f"({', '.join(sorted(codes))})")
    return scope


def _account(row: sa.Row) -> Account:
    return Account(name=row.name, role=Role(row.role), scope=row.scope, must_change=bool(row.must_change),
                   disabled=bool(row.disabled), failed_logins=row.failed_logins, locked_until=row.locked_until,
                   password_changed_at=row.password_changed_at, created_at=row.created_at,
                   second_factor=row.totp_secret is not None, source=row.source)


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to check an unknown name's password against, at the store's costs (made at first need)."""
    return _dummy_hash_at(hasher.memory_cost, hasher.time_cost, hasher.parallelism)


@cache
def _dummy_hash_at(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return passwords.hash_password("an unknown account costs the same hash work",
                                   passwords.hasher(memory_kib, time_cost, parallelism))


def _now() -> datetime:
    """Real time: account times never run on the demo's clock."""
    return datetime.now(UTC).replace(microsecond=0)
