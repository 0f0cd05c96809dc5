"""Two factors for administrators: TOTP enrolment at the first login, codes at every later one,
recovery codes, replays refused, wrong codes audited and throttled, `pingan users reset-2fa` —
through Flask's test client against the real Redis and the settings' SQL database."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from dashboard.accounts.account_store import AccountStore
from dashboard.accounts.audit_log import AuditLog
from dashboard.accounts.second_factor import RECOVERY_CODES, SecondFactor, new_secret
from dashboard.cli import main
from dashboard.web import auth
from dashboard.web.app import create_app
from tests.logins import ORIGIN, TOTP_KEY, add_account, csrf_of, log_in


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"tile_probe": False, "tile_url": "", "login_address_burst": 50})


@pytest.fixture
def app(settings, r):
    return create_app(settings)


@pytest.fixture
def second(settings):
    store = AccountStore.from_settings(settings)
    yield SecondFactor(store.engine)
    store.close()


def _audit(settings) -> list[tuple[str, str, str]]:
    log = AuditLog.from_settings(settings)
    try:
        return [(x.subject, x.action, x.result) for x in log.rows()]
    finally:
        log.engine.dispose()


def _post(client, path: str, **form: str):
    token = csrf_of(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **form}, headers=ORIGIN)


def _enrol(client) -> tuple[str, list[str]]:
    """Read the key off the enrolment page, answer with a code it makes; the key and recovery codes."""
    page = client.get("/login/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page, "the QR code, drawn on the server"
    key = TOTP_KEY.search(page).group(1).replace(" ", "")
    resp = _post(client, "/login/enrol", code=pyotp.TOTP(key).now())
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    codes = re.findall(r"<li><code>([0-9a-f-]+)</code></li>", resp.get_data(as_text=True))
    return key, codes


def test_a_code_is_accepted_once_in_its_window_and_a_recovery_code_once(settings, second):
    add_account(settings, "admin", "sysadmin")
    secret, now = new_secret(), time.time()
    totp = pyotp.TOTP(secret)
    assert second.enrol("admin", secret, "000000" if totp.at(now) != "000000" else "111111", now) is None
    assert not second.enrolled("admin")
    codes = second.enrol("admin", secret, totp.at(now), now)
    assert codes and len(set(codes)) == RECOVERY_CODES and second.enrolled("admin")
    assert not second.check("admin", totp.at(now), now).ok, "the enrolment's code is used"
    assert second.check("admin", totp.at(now + 30), now).by == "totp", "the next step, within the window"
    assert not second.check("admin", totp.at(now + 30), now + 1).ok, "a replay"
    assert not second.check("admin", totp.at(now + 120), now).ok, "outside the window"
    assert second.check("admin", codes[0].upper().replace("-", " "), now).by == "recovery"
    assert not second.check("admin", codes[0], now).ok, "a recovery code works once"
    assert second.recovery_left("admin") == RECOVERY_CODES - 1
    second.reset("admin")
    assert not second.enrolled("admin") and not second.check("admin", codes[1], now).ok


def test_an_administrator_enrols_at_first_login_and_needs_a_code_every_time(app, settings, r, keys):
    add_account(settings, "admin", "sysadmin")
    client = app.server.test_client()
    resp = log_in(client, "admin")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/enrol"
    assert client.get("/admin/accounts").headers["Location"].startswith("/login"), "a password alone is no login"
    assert not list(r.scan_iter(match=keys.user_sessions("*")))
    wrong = _post(client, "/login/enrol", code="123456")
    assert wrong.status_code == 401 and "验证码错误" in wrong.get_data(as_text=True)
    key, codes = _enrol(client)
    assert len(codes) == RECOVERY_CODES
    assert client.get("/admin/accounts").status_code == 200, "logged in after the enrolment"
    # the next login asks for a code (not the one the enrolment used)
    again = app.server.test_client()
    assert log_in(again, "admin").headers["Location"] == "/login/code"
    assert _post(again, "/login/code", code=pyotp.TOTP(key).now()).status_code == 401, "that step is used"
    assert again.get("/admin/accounts").status_code == 302
    done = _post(again, "/login/code", code=pyotp.TOTP(key).at(time.time() + 30))
    assert done.status_code == 302 and done.headers["Location"] == "/admin/accounts"
    # a lost phone: a recovery code, once
    third = app.server.test_client()
    log_in(third, "admin")
    assert _post(third, "/login/code", code=codes[3]).headers["Location"] == "/admin/accounts"
    rows = _audit(settings)
    assert ("admin", "login", "second-factor") in rows and ("admin", "second-factor.enrol", "ok") in rows
    assert rows.count(("admin", "login.code", "failed")) == 2, "each wrong code is audited"
    assert ("admin", "login.recovery", "ok") in rows and rows.count(("admin", "login", "ok")) == 3


@pytest.mark.parametrize("role", ["secadmin", "auditor"])
def test_every_administrator_role_needs_the_second_factor(app, settings, role):
    add_account(settings, f"a-{role}", role)
    assert log_in(app.server.test_client(), f"a-{role}").headers["Location"] == "/login/enrol"


def test_other_roles_need_it_only_when_the_setting_says_so_or_they_enrolled(settings, r, second):
    add_account(settings, "zhang", "duty")
    app = create_app(settings)
    assert log_in(app.server.test_client(), "zhang").headers["Location"] == "/wall"
    strict = create_app(settings.model_copy(update={"second_factor_roles": "duty,sysadmin,secadmin,auditor"}))
    assert log_in(strict.server.test_client(), "zhang").headers["Location"] == "/login/enrol"
    secret = new_secret()
    second.enrol("zhang", secret, pyotp.TOTP(secret).now())
    assert log_in(app.server.test_client(), "zhang").headers["Location"] == "/login/code", "enrolled: asked"


def test_wrong_codes_are_throttled_and_a_slow_second_step_starts_again(app, settings, monkeypatch):
    add_account(settings, "admin", "sysadmin")
    client = app.server.test_client()
    log_in(client, "admin")
    for _ in range(settings.login_account_burst):
        assert _post(client, "/login/enrol", code="000001").status_code in (401, 429)
    assert _post(client, "/login/enrol", code="000001").status_code == 429
    monkeypatch.setattr(auth, "PENDING_S", 0)
    assert client.get("/login/code").headers["Location"] == "/login", "the pending login ran out"


def test_reset_2fa_ends_the_sessions_and_the_next_login_enrols_again(app, settings, monkeypatch):
    for name, value in (("REDIS_URL", settings.redis_url), ("KEY_PREFIX", settings.key_prefix),
                        ("DATA_DIR", str(settings.data_dir))):
        monkeypatch.setenv(f"PINGAN_{name}", value)
    add_account(settings, "admin", "sysadmin")
    client = app.server.test_client()
    log_in(client, "admin")
    _enrol(client)
    assert client.get("/admin/accounts").status_code == 200
    assert main(["users", "reset-2fa", "admin"]) == 0
    assert client.get("/admin/accounts").status_code == 302, "its sessions ended"
    assert log_in(app.server.test_client(), "admin").headers["Location"] == "/login/enrol"
    assert any(s.startswith("cli:") and a == "account.reset-2fa" and res == "ok" for s, a, res in _audit(settings))
