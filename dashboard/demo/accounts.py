"""The demo's accounts: one per role (and a duty officer of one district), with fresh passwords each
start, printed in the banner. They skip the forced change, and each start re-enables and unlocks
them, so the README's first command always shows every board after logging in."""

from __future__ import annotations

import getpass
import secrets
import socket
from dataclasses import dataclass

from dashboard.accounts.account_store import AccountError, AccountStore
from dashboard.accounts.audit_log import AuditLog
from dashboard.accounts.roles import ROLE_ZH, Role
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
    plan = [("duty", Role.DUTY, None), ("duty-taishan", Role.DUTY, TAISHAN if settings.city_adcode == "440700"
                                                                   else None),
            ("leader", Role.LEADER, None), ("analyst", Role.ANALYST, None), ("sysadmin", Role.SYSADMIN, None),
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


def banner_lines(accounts: list[DemoAccount]) -> str:
    lines = ["  log in as   (name / password / role; new passwords every start)\n"]
    for a in accounts:
        where = f", scope {a.scope} 台山" if a.scope == TAISHAN else f", scope {a.scope}" if a.scope else ""
        lines.append(f"              {a.name:<13} {a.password:<18} {a.role.value} {ROLE_ZH[a.role]}{where}\n")
    return "".join(lines)
