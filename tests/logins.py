"""Logging in, as the tests do it: accounts made in the settings' database, the real login form.

Browser tests log in through the form in Chromium (tests/browser.py); web tests through Flask's
test client here. Every request that changes something carries the same-origin header a browser
sends.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyotp

from dashboard.accounts.account_store import AccountStore
from dashboard.bench.login import CSRF
from dashboard.bench.login import log_in as log_in_http
from dashboard.contract.settings import Settings

PASSWORD = "Pingan-test-2026!"
ORIGIN = {"Origin": "http://localhost"}  # the test client's host


def add_account(settings: Settings, name: str, role: str, scope: str | None = None, password: str = PASSWORD,
                permanent: bool = True) -> None:
    store = AccountStore.from_settings(settings)
    try:
        store.add(name, role, password, scope=scope, permanent=permanent)
    finally:
        store.close()


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(client: Any, name: str, password: str = PASSWORD, **extra: str) -> Any:
    """Post the login form as a browser does (its CSRF token, the same origin); the response."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token, **extra},
                       headers=ORIGIN)


def logged_in(app: Any, settings: Settings, name: str, role: str, scope: str | None = None) -> Any:
    """A test client logged in as a new account (an administrator's through its second factor)."""
    add_account(settings, name, role, scope)
    client = app.server.test_client()
    resp = log_in(client, name)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    if resp.headers["Location"].startswith("/login/enrol"):
        enrol(client)
    return client


def enrol(client: Any) -> str:
    """An administrator's first login, after the password: the authenticator enrolled with the key the
    page shows; where the recovery codes' page goes on to."""
    page = client.get("/login/enrol").get_data(as_text=True)
    key = TOTP_KEY.search(page)
    assert key, "the enrolment page shows no key"
    done = client.post("/login/enrol", data={"csrf_token": csrf_of(page), "code": totp_now(key.group(1))},
                       headers=ORIGIN)
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    then = re.search(r'class="button" href="([^"]+)"', done.get_data(as_text=True))
    assert then, "no way on from the recovery codes"
    return then.group(1)


TOTP_KEY = re.compile(r'class="totp-key">([A-Z2-7 ]+)<')


def totp_now(key: str) -> str:
    """The code an authenticator app shows now for the key the enrolment page shows."""
    return str(pyotp.TOTP(key.replace(" ", "")).now())


def http_log_in(base: str, name: str, password: str) -> httpx.Client:
    """An httpx client logged in to a running server (as its benchmarks do)."""
    client = httpx.Client(base_url=base, timeout=10)
    client.cookies = log_in_http(base, name, password)
    return client
