"""The demo's accounts: one per role (and a duty officer of one district), with fresh passwords each
start, printed in the banner. They skip the forced change, and each start re-enables and unlocks
them, so the README's first command always shows every board after logging in. And a wall screen:
a new one each start (the last start's revoked), its link in the banner."""

from __future__ import annotations

import getpass
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime

import redis

from dashboard.accounts.account_store import AccountError, AccountStore
from dashboard.accounts.audit_log import AuditLog
from dashboard.accounts.roles import ROLE_ZH, Role
from dashboard.accounts.screens import ScreenStore
from dashboard.boards import REGISTRY
from dashboard.contract.event import BEIJING
from dashboard.contract.settings import Settings

TAISHAN = "440781"


@dataclass(frozen=True)
class DemoAccount:
    name: str
    role: Role
    scope: str | None  # None: the city
    password: str


def demo_accounts(settings: Settings) -> list[DemoAccount]:
    """Make (or refresh) the demo's accounts in the settings' database; their new passwords."""
    taishan = TAISHAN if settings.city_adcode == "440700" else None
    plan = [("duty", Role.DUTY, None), ("duty-taishan", Role.DUTY, taishan),
            ("leader", Role.LEADER, None), ("leader-taishan", Role.LEADER, taishan),
            ("analyst", Role.ANALYST, None), ("sysadmin", Role.SYSADMIN, None),
            ("secadmin", Role.SECADMIN, None), ("auditor", Role.AUDITOR, None)]
    store = AccountStore.from_settings(settings)
    audit = AuditLog.from_settings(settings, store.engine)
    subject, client = f"demo:{getpass.getuser()}", f"cli@{socket.gethostname()}"[:64]
    out = []
    try:
        for name, role, scope in plan:
            password = f"Demo-{secrets.token_urlsafe(6)}-{secrets.randbelow(90) + 10}"
            try:
                store.get(name)
            except AccountError:
                acc = store.add(name, role.value, password, scope=scope, permanent=True)
                verb = "add"
            else:
                store.change(name, role=role.value, scope=scope or settings.city_adcode)
                store.set_disabled(name, False)
                acc = store.reset(name, password, permanent=True)
                verb = "reset"
            audit.append(subject, f"account.{verb}", name, acc.scope, "ok", client, {"role": role.value, "demo": True})
            out.append(DemoAccount(name, role, scope, password))
    finally:
        store.close()
    return out


def demo_screen(settings: Settings, rotate_s: int = 30) -> tuple[str, str]:
    """A new wall screen rotating through the rotating boards (the demo's earlier ones revoked): its
    name and key."""
    store = AccountStore.from_settings(settings)
    r = redis.Redis.from_url(settings.redis_url)
    screens = ScreenStore.from_settings(settings, r, tuple(b.name for b in REGISTRY.boards), store.engine)
    audit = AuditLog.from_settings(settings, store.engine)
    subject, client = f"demo:{getpass.getuser()}", f"cli@{socket.gethostname()}"[:64]
    try:
        for old in screens.list():
            if old.name.startswith("demo-wall-") and old.active:
                screens.revoke(old.name)
                audit.append(subject, "screen.revoke", old.name, old.scope, "ok", client, {"demo": True})
        name = f"demo-wall-{datetime.now(BEIJING):%Y%m%d-%H%M%S}"
        screen, key = screens.add(name, [b.name for b in REGISTRY.rotation()], rotate_s=rotate_s)
        audit.append(subject, "screen.add", name, screen.scope, "ok", client,
                     {"boards": list(screen.boards), "rotate_s": rotate_s, "demo": True})
        return name, key
    finally:
        r.close()
        store.close()


def banner_lines(accounts: list[DemoAccount]) -> str:
    lines = ["  log in as   (name / password / role; new passwords every start; sysadmin, secadmin and auditor\n"
             "              enrol an authenticator app at their first login: a TOTP code after the password)\n"]
    for a in accounts:
        where = f", scope {a.scope} 台山" if a.scope == TAISHAN else f", scope {a.scope}" if a.scope else ""
        lines.append(f"              {a.name:<14} {a.password:<18} {a.role.value} {ROLE_ZH[a.role]}{where}\n")
    return "".join(lines)
