"""How the benchmarks' clients log in: an account of their own, the real login form (the guard in
front of every stream is part of what they measure)."""

from __future__ import annotations

import re
import secrets

import httpx

from dashboard.accounts.account_store import AccountStore
from dashboard.contract.settings import Settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def bench_account(settings: Settings, name: str = "bench-duty") -> tuple[str, str]:
    """A duty officer of the city in the settings' database, with a new password."""
    password = f"Bench-{secrets.token_urlsafe(8)}-1a"
    store = AccountStore.from_settings(settings)
    try:
        store.add(name, "duty", password, permanent=True)
    finally:
        store.close()
    return name, password


def log_in(base: str, name: str, password: str) -> httpx.Cookies:
    """The session cookie of a login through the form."""
    with httpx.Client(base_url=base, timeout=30) as client:
        token = CSRF.search(client.get("/login").text)
        if token is None:
            raise RuntimeError("the login page has no CSRF token")
        resp = client.post("/login", data={"username": name, "password": password, "csrf_token": token.group(1)},
                           headers={"Origin": base})
        if resp.status_code != 302:
            raise RuntimeError(f"login as {name} refused: {resp.status_code}")
        return client.cookies
