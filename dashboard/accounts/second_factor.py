"""The second factor: TOTP (RFC 6238, pyotp) with recovery codes.

An account enrols at a login: the web makes a secret, shows it as a QR code (segno, drawn on the
server: no CDN), and stores it only once the account has typed a code it made. Ten recovery codes are
shown then, once; only their SHA-256 is kept and each works once. A code is accepted in the current
30-second step or the one either side, and never twice: the last step accepted is kept, so a code
seen over a shoulder is no use afterwards. Which roles must have a second factor is a setting
(``second_factor_roles``: the three administrators by default); an account of another role that has
enrolled is asked too.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
import sqlalchemy as sa

from dashboard.accounts.account_store import AccountError, accounts, metadata

RECOVERY_CODES = 10
STEP_S = 30

recovery_codes = sa.Table(
    "recovery_codes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True)
class Check:
    """What a code came to: ``totp``, ``recovery`` or None (wrong, reused or not enrolled)."""
    by: str | None

    @property
    def ok(self) -> bool:
        return self.by is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, name: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as an SVG data URI for an <img> (dark modules on white: any authenticator
    reads it; drawn here, no CDN)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff"))


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normal(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum()).lower()


class SecondFactor:
    """Enrolment and checks against the accounts table (the same database as AccountStore)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def enrolled(self, name: str) -> bool:
        with self.engine.connect() as con:
            return con.execute(sa.select(accounts.c.totp_secret).where(accounts.c.name == name)).scalar() is not None

    def enrol(self, name: str, secret: str, code: str, now: float | None = None) -> list[str] | None:
        """Store ``secret`` if ``code`` is one it makes now; the new recovery codes (None: wrong code)."""
        step = self._step_of(secret, code, now)
        if step is None:
            return None
        codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(RECOVERY_CODES)]
        with self.engine.begin() as con:
            account_id = self._id(con, name)
            con.execute(accounts.update().where(accounts.c.id == account_id).values(
                totp_secret=secret, totp_last_step=step))
            con.execute(recovery_codes.delete().where(recovery_codes.c.account_id == account_id))
            con.execute(recovery_codes.insert(), [{"account_id": account_id, "code_hash": _digest(_normal(c))}
                                                  for c in codes])
        return codes

    def check(self, name: str, code: str, now: float | None = None) -> Check:
        """A TOTP code (not a step already used) or an unused recovery code."""
        with self.engine.begin() as con:
            row = con.execute(sa.select(accounts.c.id, accounts.c.totp_secret, accounts.c.totp_last_step)
                              .where(accounts.c.name == name).with_for_update()).first()
            if row is None or row.totp_secret is None:
                return Check(None)
            step = self._step_of(row.totp_secret, code, now)
            if step is not None:
                if row.totp_last_step is not None and step <= row.totp_last_step:
                    return Check(None)  # replayed: that step's code was used already
                con.execute(accounts.update().where(accounts.c.id == row.id).values(totp_last_step=step))
                return Check("totp")
            used = con.execute(recovery_codes.update().where(
                recovery_codes.c.account_id == row.id, recovery_codes.c.code_hash == _digest(_normal(code)),
                recovery_codes.c.used_at.is_(None)).values(used_at=datetime.now(UTC)))
            return Check("recovery" if used.rowcount == 1 else None)

    def recovery_left(self, name: str) -> int:
        with self.engine.connect() as con:
            return int(con.execute(sa.select(sa.func.count()).select_from(recovery_codes).join(accounts).where(
                accounts.c.name == name, recovery_codes.c.used_at.is_(None))).scalar_one())

    def reset(self, name: str) -> None:
        """Forget the account's authenticator and codes: it enrols again at its next login."""
        with self.engine.begin() as con:
            account_id = self._id(con, name)
            con.execute(accounts.update().where(accounts.c.id == account_id).values(totp_secret=None,
                                                                                     totp_last_step=None))
            con.execute(recovery_codes.delete().where(recovery_codes.c.account_id == account_id))

    @staticmethod
    def _step_of(secret: str, code: str, now: float | None) -> int | None:
        """The time step (current or one either side) whose code ``code`` is; None when none is."""
        code = code.strip().replace(" ", "")
        if not (len(code) == 6 and code.isdigit()):
            return None
        totp, at = pyotp.TOTP(secret), time.time() if now is None else now
        for offset in (0, -1, 1):
            t = at + offset * STEP_S
            if secrets.compare_digest(totp.at(t), code):
                return int(t // STEP_S)
        return None

    @staticmethod
    def _id(con: sa.Connection, name: str) -> int:
        found = con.execute(sa.select(accounts.c.id).where(accounts.c.name == name)).scalar()
        if found is None:
            raise AccountError(f"no account named {name!r}")
        return int(found)
