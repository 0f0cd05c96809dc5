"""What the browser tests share: Debian's Chromium driven by Playwright, `pingan web` as a real
gunicorn process group, and a page wrapper that records console errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError

from dashboard.accounts.second_factor import RECOVERY_CODES
from dashboard.contract.settings import Settings
from dashboard.demo.embedded_redis import free_port
from tests.conftest import REPO
from tests.e2e import Stack, stop, wait_until
from tests.logins import PASSWORD, add_account, totp_now

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--js-flags=--expose-gc"]

DUTY = "值班员张三"  # the duty officer every browser test logs in as (the city's scope)

sync_api = pytest.importorskip("playwright.sync_api")


class Web:
    """`pingan web` as a real gunicorn process group on a free port."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.port, self.proc = stack, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = open(self.stack.tmp / "web.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "web", "--port", str(self.port),
                                      "--workers", "2"], env=self.stack.env, cwd=REPO, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self.up, 40, what="the web server")

    def up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@contextmanager
def whole_pipeline(stack: Stack, board: str) -> Iterator[dict[str, Any]]:
    """An ingest worker, a live worker and the web server beside ``stack``'s simulator, until the
    city's snapshot named ``board`` exists; everything stopped and the key prefix removed afterwards."""
    require_chromium()
    web, live = Web(stack), None
    # the default lease: a 3 s lease (the takeover tests') is lost whenever a busy machine stalls the
    # ingest process past 2.4 s, and a feed polled every 5 s then skips poll after poll (the Mangkhut
    # replay saw no weather warning at all in two CI runs)
    stack.env["PINGAN_LEASE_TTL_S"] = str(Settings().lease_ttl_s)
    try:
        add_account(stack.settings, DUTY, "duty")
        stack.start_ingest()
        # no archive: the boards never read it (tests/test_history.py, test_archive.py and test_demo.py do),
        # and on a busy 2-core machine its SQL and case facts slowed the replays' live state
        live = stack._spawn("live", "--no-archive", log="live")
        web.start()
        city = stack.settings.city_adcode
        wait_until(lambda: stack.r.exists(stack.keys.snapshot(board, city)), 90, what=f"a {board} snapshot")
        yield {"stack": stack, "web": web, "live": live,
               "artefacts": Path(os.environ.get("PINGAN_ARTEFACTS", stack.tmp))}
    finally:
        web.kill()
        stop(live, grace_s=15)
        stack.close()
        for key in stack.r.scan_iter(match=f"{stack.keys.prefix}:*", count=1000):
            stack.r.delete(key)


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's Chromium at {CHROMIUM} (.ci/run installs it)")


def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """One page in its own browser context (its own cookies), logged in through the real login form
    as ``login`` (name, password) when the server asks for it."""

    def __init__(self, browser: Any, url: str, width: int = 1920, height: int = 1080,
                 login: tuple[str, str] | None = (DUTY, PASSWORD)) -> None:
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e} {e.stack}"))
        self.page.goto(url)
        if login and urlsplit(self.page.url).path == "/login":
            self.log_in(*login)

    def log_in(self, name: str, password: str) -> None:
        """The login form; for an administrator, the enrolment of an authenticator too (its key read off
        the page, as a phone would scan it) and the recovery codes' page."""
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        if urlsplit(self.page.url).path == "/login/enrol":
            self.page.fill("input[name=code]", totp_now(self.page.text_content(".totp-key") or ""))
            with self.page.expect_navigation():
                self.page.click("button[type=submit]")
            assert len(self.page.query_selector_all(".recovery-codes li")) == RECOVERY_CODES
            with self.page.expect_navigation():
                self.page.click("a.button")

    def js(self, expr: str, arg: Any = None) -> Any:
        """The expression's value on the page; asked again once the page has loaded when a navigation
        (a rotation, a logout, a reconnect's second redirect) replaced the document while it was being
        asked, up to three times."""
        tries = 3
        while True:
            try:
                return self.page.evaluate(expr, arg)
            except PlaywrightError as e:
                tries -= 1
                if "context was destroyed" not in str(e) or not tries:
                    raise
                self.page.wait_for_load_state()

    def address(self) -> str:
        """The address the page is at, as Playwright tracks it without asking the page (so a navigation
        under way cannot break the asking). The sync API hears of navigations only while one of its calls
        runs, never during a ``time.sleep``: a short wait lets it hear of them first."""
        self.page.wait_for_timeout(50)
        return str(self.page.url)

    def id(self, name: str) -> str:
        """The element id the page's config gives a name (``as_of``, ``clock`` …)."""
        return str(self.js("n => pingan.page().config.ids[n]", name))

    def text(self, element_id: str) -> str:
        return str(self.js("id => (document.getElementById(id) || {}).textContent || ''", element_id))

    def number(self, element_id: str) -> float | None:
        raw = self.text(element_id).replace(",", "").replace("%", "").strip()
        try:
            return float(raw)
        except ValueError:
            return None

    def snapshots(self) -> int:
        return int(self.js("(() => { const p = window.pingan && pingan.page && pingan.page(); "
                           "return p && p.snap ? p.snapAt : 0; })()"))

    def close(self) -> None:
        self.context.close()


