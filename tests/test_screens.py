"""Wall screens: `pingan screens add/list/revoke`, the link a wall PC opens once, what a screen may see,
and its revocation ending its stream — through Flask's test client against the real Redis and the
settings' SQL database (the unattended wall in Chromium is in tests/test_emergency_browser.py)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from dashboard.accounts.account_store import AccountError
from dashboard.accounts.audit_log import AuditLog
from dashboard.accounts.screens import ScreenStore, key_hash
from dashboard.boards import REGISTRY
from dashboard.cli import main
from dashboard.web import auth
from dashboard.web.app import create_app
from tests.logins import ORIGIN, add_account, log_in
from tests.test_auth import _frame_config, _pages_callback

CITY, TAISHAN = "440700", "440781"
BOARDS = tuple(b.name for b in REGISTRY.boards)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"tile_probe": False, "tile_url": "", "login_address_burst": 5,
                                       "session_idle_s": 60})


@pytest.fixture
def app(settings, r):
    return create_app(settings)


@pytest.fixture
def store(settings, r):
    s = ScreenStore.from_settings(settings, r, BOARDS)
    yield s
    s.engine.dispose()


def _audit(settings) -> list:
    log = AuditLog.from_settings(settings)
    try:
        return [(x.subject, x.action, x.object, x.result) for x in log.rows()]
    finally:
        log.engine.dispose()


def _open(app, key: str):
    """A wall PC's browser opening its screen link: a client holding the screen cookie."""
    client = app.server.test_client()
    resp = client.get(f"/screen?key={key}")
    return client, resp


def test_a_screen_is_stored_hashed_and_its_key_opens_it_until_revoked(store, r, keys):
    screen, key = store.add("hall-1", ["wall", "emergency"], rotate_s=30)
    assert screen.boards == ("wall", "emergency") and screen.scope == CITY and screen.rotate_s == 30
    with store.engine.connect() as con:
        stored = con.exec_driver_sql("select key_hash from screens where name = 'hall-1'").scalar_one()
    assert stored == key_hash(key) and key not in stored
    assert store.lookup(key) == screen.__class__(*[getattr(screen, f) for f in ("name", "boards", "scope",
                                                                                 "rotate_s", "created_at")])
    assert r.exists(keys.screen_credential(key_hash(key))), "cached for the next request"
    assert store.lookup(key + "x") is None and store.lookup("") is None
    r.delete(keys.screen_credential(key_hash(key)))  # a Redis that lost its copy: the table answers and refills it
    assert store.lookup(key) is not None and r.exists(keys.screen_credential(key_hash(key)))
    assert store.revoke("hall-1").revoked_at is not None
    assert store.lookup(key) is None and not store.standing(key) and not r.exists(keys.screen_credential(key_hash(key)))


@pytest.mark.parametrize(("name", "boards", "scope", "rotate", "why"), [
    ("hall 1", ["wall"], None, 0, "name"),
    ("hall-2", ["wall", "nosuch"], None, 0, "nosuch"),
    ("hall-3", [], None, 0, "boards"),
    ("hall-4", ["wall"], "110000", 0, "scope"),
    ("hall-5", ["wall"], None, 2, "rotate"),
])
def test_a_bad_screen_is_refused_with_the_reason(store, name, boards, scope, rotate, why):
    with pytest.raises(AccountError, match=why):
        store.add(name, boards, scope, rotate)


def test_a_screen_name_is_never_reused(store):
    store.add("hall-1", ["wall"])
    store.revoke("hall-1")
    with pytest.raises(AccountError, match="exists"):
        store.add("hall-1", ["wall"])


def test_the_screen_link_makes_the_browser_that_screen(app, settings, store, r, keys):
    _, key = store.add("hall-1", ["wall", "emergency"], rotate_s=30)
    client, resp = _open(app, key)
    assert resp.status_code == 302
    target = urlsplit(resp.headers["Location"])
    assert target.path == "/wall" and parse_qs(target.query) == {"scope": [CITY], "kiosk": ["1"], "rotate": ["30"]}
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(auth.SCREEN_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and f"Max-Age={auth.SCREEN_COOKIE_MAX_AGE_S}" in cookie
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    r.set(keys.snapshot("wall", CITY), b'{"scope": "city"}')
    assert client.get("/api/snapshot/wall").data == b'{"scope": "city"}'
    config = _frame_config(_pages_callback(client, "?kiosk=1&rotate=30").get_json())
    assert config["viewer"] == {"name": "hall-1", "role": "screen", "may_ack": False, "csrf": ""}
    assert [urlsplit(v).path for v in config["rotation"]] == ["/wall", "/board/emergency"]
    assert not list(r.scan_iter(match=keys.session("*"))), "a screen keeps no session"
    assert ("screen:hall-1", "screen.use", "hall-1", "ok") in _audit(settings)


def test_a_screen_sees_only_its_boards_and_scope_and_signs_nothing(app, settings, store, r, keys):
    _, key = store.add("ts-hall", ["wall"], scope=TAISHAN)
    client, resp = _open(app, key)
    assert resp.headers["Location"] == f"/wall?scope={TAISHAN}&kiosk=1"
    r.set(keys.snapshot("wall", TAISHAN), b'{"scope": "taishan"}')
    assert client.get("/api/snapshot/wall").data == b'{"scope": "taishan"}'
    assert client.get(f"/api/snapshot/wall?scope={CITY}").status_code == 403
    for path in ("/board/emergency", f"/stream/emergency?scope={TAISHAN}", f"/api/snapshot/emergency?scope={TAISHAN}"):
        assert client.get(path).status_code == 403, path
    assert _pages_callback(client, "", "/board/emergency").status_code == 403
    rotating = _frame_config(_pages_callback(client, "?rotate=30").get_json())
    assert rotating["rotation"] and all(urlsplit(v).path == "/wall" and f"scope={TAISHAN}" in v
                                        for v in rotating["rotation"])
    ack = client.post("/api/alerts/ack", json={"keys": ["x"]}, headers=ORIGIN)
    assert ack.status_code == 403
    for path in ("/password", "/admin/accounts", "/admin/audit"):
        assert client.get(path).status_code == 403, path
    assert client.post("/logout", headers=ORIGIN).status_code == 403


def test_a_screen_has_no_idle_timeout(app, settings, store, r, keys):
    _, key = store.add("hall-1", ["wall"])
    client, _ = _open(app, key)
    person = app.server.test_client()
    add_account(settings, "zhang", "duty")
    assert log_in(person, "zhang").status_code == 302
    for s in r.scan_iter(match=keys.session_seen("*")):  # what session_idle_s does to every idle session
        r.delete(s)
    assert person.get("/api/snapshot/wall").status_code == 401
    assert client.get("/api/snapshot/wall").status_code in (200, 404), "the screen carries on"


def test_a_wrong_or_revoked_key_shows_the_login_and_is_audited_and_throttled(app, settings, store):
    _, key = store.add("hall-1", ["wall"])
    client, resp = _open(app, "not-a-key")
    assert resp.status_code == 401 and "无效或已撤销" in resp.get_data(as_text=True)
    assert client.get_cookie(auth.SCREEN_COOKIE) is None
    store.revoke("hall-1")
    assert _open(app, key)[1].status_code == 401
    assert [row for row in _audit(settings) if row[1] == "screen.use"] == [("-", "screen.use", "-", "failed")] * 2
    for _ in range(3):
        _open(app, "guess")
    assert _open(app, key)[1].status_code == 429, "five failures from one address: throttled"


def test_opening_a_screen_link_ends_a_persons_session_in_that_browser(app, settings, store, r, keys):
    _, key = store.add("hall-1", ["wall"])
    add_account(settings, "zhang", "duty")
    client = app.server.test_client()
    assert log_in(client, "zhang").status_code == 302
    sid = client.get_cookie(auth.COOKIE).value
    client.get(f"/screen?key={key}")
    assert not r.exists(keys.session_seen(sid))
    config = _frame_config(_pages_callback(client, "").get_json())
    assert config["viewer"]["role"] == "screen" and config["viewer"]["may_ack"] is False


def test_revoking_a_screen_ends_its_stream_within_a_heartbeat(app, settings, store, r, keys, monkeypatch):
    for name, value in (("REDIS_URL", settings.redis_url), ("KEY_PREFIX", settings.key_prefix),
                        ("DATA_DIR", str(settings.data_dir))):
        monkeypatch.setenv(f"PINGAN_{name}", value)
    _, key = store.add("hall-1", ["wall"])
    client, _ = _open(app, key)
    resp = client.get("/stream/wall", buffered=False)
    chunks = resp.response
    assert b"event: hello" in next(chunks)
    assert main(["screens", "revoke", "hall-1"]) == 0
    rest = b"".join(chunks)  # the stream ends by itself at its next heartbeat
    assert rest.rstrip().endswith(b"event: logout\ndata: {}")
    resp.close()
    assert client.get("/wall?kiosk=1").headers["Location"].startswith("/login")
    # a stream the wall reopens after the revocation (a rotation, a reconnect): the logout event, no data
    reopened = client.get("/stream/wall", headers={"Accept": "text/event-stream"})
    assert reopened.status_code == 200 and reopened.data == b"retry: 2000\nevent: logout\ndata: {}\n\n"
    assert client.get("/stream/wall").status_code == 401, "anything but a browser's EventSource: 401"
    assert any(s.startswith("cli:") and a == "screen.revoke" and o == "hall-1" and res == "ok"
               for s, a, o, res in _audit(settings))


def test_pingan_screens_add_list_revoke(settings, r, monkeypatch, capsys):
    for name, value in (("REDIS_URL", settings.redis_url), ("KEY_PREFIX", settings.key_prefix),
                        ("DATA_DIR", str(settings.data_dir)), ("PUBLIC_URL", "https://pingan.example.gov.cn/")):
        monkeypatch.setenv(f"PINGAN_{name}", value)
    assert main(["screens", "add", "hall-1", "--boards", "wall,emergency", "--rotate", "30"]) == 0
    out = capsys.readouterr().out
    link = re.search(r"https://pingan\.example\.gov\.cn/screen\?key=(\S+)", out)
    assert link, out
    assert main(["screens", "add", "hall-2", "--boards", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert main(["screens", "list", "--json"]) == 0
    listed = orjson.loads(capsys.readouterr().out)["screens"]
    assert [(x["name"], x["boards"], x["rotate_s"], x["revoked_at"]) for x in listed] == \
        [("hall-1", ["wall", "emergency"], 30, None)]
    assert link.group(1) not in orjson.dumps(listed).decode(), "the key is shown once, never listed"
    assert main(["screens", "revoke", "hall-1"]) == 0
    assert main(["screens", "revoke", "nosuch"]) == 2
    capsys.readouterr()
    assert main(["screens", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    actions = [(a, res) for _, a, _, res in _audit(settings)]
    assert actions == [("screen.add", "ok"), ("screen.add", "refused"), ("screen.revoke", "ok"),
                       ("screen.revoke", "refused")]


def test_an_account_can_never_be_given_the_screen_role(settings):
    with pytest.raises(AccountError, match="pingan screens add"):
        add_account(settings, "hall", "screen")
