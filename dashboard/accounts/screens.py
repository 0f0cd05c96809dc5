"""Wall screens: a revocable credential per unattended screen, instead of a person's login.

`pingan screens add` makes a screen: the boards it shows (in its rotation's order), its scope, how
often it rotates, and a random key shown once. The table keeps only the key's SHA-256 (a 256-bit
random key needs no slow hash: nothing can be guessed from it). The wall PC opens
``/screen?key=…`` once; the web hands the browser a long-lived HttpOnly cookie holding the key, and
every request of that browser is checked against the screen's row — through a Redis copy of it, so
a revocation (the row marked, the copy deleted) stops the screen at its next request, and its open
push stream at the next heartbeat. A screen has no idle timeout and no session: it is as revocable
as a person, not as forgetful.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import orjson
import redis
import sqlalchemy as sa

from dashboard.accounts.account_store import AccountError, checked_scope, metadata, migrate
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.live.archive import UTCDateTime, database_url, make_engine

NAME = re.compile(r"^[\w.\-]{2,64}$")
MIN_ROTATE_S = 3

screens = sa.Table(
    "screens", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("boards", sa.String(256), nullable=False),  # comma-separated, in rotation order
    sa.Column("scope", sa.String(12), nullable=False),
    sa.Column("rotate_s", sa.Integer, nullable=False),  # 0: no rotation
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
)


@dataclass(frozen=True)
class Screen:
    name: str
    boards: tuple[str, ...]
    scope: str
    rotate_s: int
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def cached(self) -> bytes:
        return orjson.dumps({"name": self.name, "boards": self.boards, "scope": self.scope, "rotate_s": self.rotate_s,
                             "created_at": self.created_at.isoformat()})

    @classmethod
    def from_cache(cls, raw: bytes | str) -> Screen:
        d = orjson.loads(raw)
        return cls(d["name"], tuple(d["boards"]), d["scope"], int(d["rotate_s"]),
                   datetime.fromisoformat(d["created_at"]))

    def public(self) -> dict[str, object]:
        d = asdict(self)
        return {k: v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v
                for k, v in d.items()}


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ScreenStore:
    """The screens table, with a Redis copy of each active screen keyed by its key's hash."""

    def __init__(self, engine: sa.Engine, r: redis.Redis, keys: Keys, city: str, boards: tuple[str, ...]) -> None:
        self.engine, self.r, self.keys, self.city, self.known_boards = engine, r, keys, city, boards

    @classmethod
    def from_settings(cls, settings: Settings, r: redis.Redis, boards: tuple[str, ...],
                      engine: sa.Engine | None = None) -> ScreenStore:
        if engine is None:
            engine = make_engine(database_url(settings))
            migrate(engine)
        return cls(engine, r, Keys.from_settings(settings), settings.city_adcode, boards)

    def add(self, name: str, boards: list[str], scope: str | None = None, rotate_s: int = 0) -> tuple[Screen, str]:
        """A new screen and its key (shown this once: only its hash is kept)."""
        if not NAME.match(name):
            raise AccountError(f"a screen's name is 2–64 letters, digits, '.', '-' or '_': {name!r}")
        wanted = [b.strip() for b in boards if b.strip()]
        unknown = [b for b in wanted if b not in self.known_boards]
        if not wanted or unknown:
            raise AccountError(f"boards: one or more of {', '.join(self.known_boards)}"
                               + (f" (not {', '.join(unknown)})" if unknown else ""))
        if rotate_s and rotate_s < MIN_ROTATE_S:
            raise AccountError(f"rotate: 0 (none) or at least {MIN_ROTATE_S} s")
        scope_ = checked_scope(self.city, scope)
        key, now = secrets.token_urlsafe(32), _now()
        with self.engine.begin() as con:
            if con.execute(sa.select(screens.c.id).where(screens.c.name == name)).first():
                raise AccountError(f"a screen named {name!r} exists (revoke it, or choose another name)")
            con.execute(screens.insert().values(name=name, boards=",".join(dict.fromkeys(wanted)), scope=scope_,
                                                rotate_s=int(rotate_s), key_hash=key_hash(key), created_at=now))
        return self.get(name), key

    def get(self, name: str) -> Screen:
        with self.engine.connect() as con:
            row = con.execute(sa.select(screens).where(screens.c.name == name)).first()
        if row is None:
            raise AccountError(f"no screen named {name!r}")
        return _screen(row)

    def list(self) -> list[Screen]:
        with self.engine.connect() as con:
            return [_screen(r) for r in con.execute(sa.select(screens).order_by(screens.c.name))]

    def revoke(self, name: str) -> Screen:
        """The screen stops at its next request; its open stream at the next heartbeat. The row stays
        (the audit log names it); its name may not be reused."""
        with self.engine.begin() as con:
            row = con.execute(sa.select(screens).where(screens.c.name == name)).first()
            if row is None:
                raise AccountError(f"no screen named {name!r}")
            if row.revoked_at is None:
                con.execute(screens.update().where(screens.c.id == row.id).values(revoked_at=_now()))
        self.r.delete(self.keys.screen_credential(row.key_hash))
        return self.get(name)

    def lookup(self, key: str) -> Screen | None:
        """The active screen this key opens (None: unknown or revoked): Redis first, the table on a miss."""
        if not key or len(key) > 128:
            return None
        digest = key_hash(key)
        raw = self.r.get(self.keys.screen_credential(digest))
        if raw is not None:
            return Screen.from_cache(raw)
        with self.engine.connect() as con:
            row = con.execute(sa.select(screens).where(screens.c.key_hash == digest,
                                                       screens.c.revoked_at.is_(None))).first()
        if row is None:
            return None
        screen = _screen(row)
        self.r.set(self.keys.screen_credential(digest), screen.cached())
        return screen

    def standing(self, key: str) -> bool:
        """Whether the key still opens a screen (a push stream asks every heartbeat: one Redis EXISTS)."""
        return bool(self.r.exists(self.keys.screen_credential(key_hash(key)))) or self.lookup(key) is not None

    def used(self, name: str) -> None:
        with self.engine.begin() as con:
            con.execute(screens.update().where(screens.c.name == name).values(last_used_at=_now()))

def _screen(row: sa.Row) -> Screen:
    return Screen(row.name, tuple(row.boards.split(",")), row.scope, row.rotate_s, row.created_at, row.revoked_at,
                  row.last_used_at)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
