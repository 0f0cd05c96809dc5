"""Deny by default: every route and callback is public on purpose or guarded; roles, scopes, sessions,
throttles, CSRF and origin, and the audit rows each leaves — through Flask's test client against the
real Redis and the settings' SQL database."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.accounts.account_store import AccountStore
from dashboard.accounts.audit_log import AuditLog
from dashboard.accounts.roles import Role
from dashboard.cli import main
from dashboard.web import auth
from dashboard.web.app import create_app
from tests.conftest import examples
from tests.logins import ORIGIN, PASSWORD, add_account, csrf_of, enrol, log_in, logged_in

CITY, TAISHAN, KAIPING = "440700", "440781", "440783"
REQUIRED_PUBLIC = {"login", "healthz", "metrics", "_dash_assets.static"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"tile_probe": False, "tile_url": "", "login_account_burst": 20,
                                       "login_address_burst": 50})


@pytest.fixture
def app(settings, r):
    return create_app(settings)


def _audit(settings) -> list:
    log = AuditLog.from_settings(settings)
    try:
        return list(log.rows())
    finally:
        log.engine.dispose()


def _path(rule) -> str:
    """A concrete path for a rule: its variables filled in."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: {"name": "wall", "path": "wall"}.get(m.group(1), "x"), rule.rule)


def _pages_callback(client, search: str, path: str = "/wall"):
    """Dash's page callback (what renders a page's layout), asked directly."""
    body = {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname"], "state": []}
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


# --- deny by default ---------------------------------------------------------------------------------

def test_every_route_is_public_on_purpose_or_needs_a_permission(app):
    # a board's own routes are named "<kind>@<board>" (dashboard/web/shell.py): the kind is what is listed
    endpoints = {rule.endpoint.partition("@")[0] for rule in app.server.url_map.iter_rules()}
    unlisted = endpoints - auth.PUBLIC - set(auth.NEEDS)
    assert not unlisted, f"routes neither public nor guarded: {sorted(unlisted)}"
    assert REQUIRED_PUBLIC <= endpoints & auth.PUBLIC
    # a name in the lists that no route has is a stale entry, not protection
    assert set(auth.NEEDS) <= endpoints | {"/"}


def test_an_endpoint_named_nowhere_is_refused_even_logged_in(app, settings):
    server = app.server
    server._got_first_request = False  # the app's warm-up request counted; this test adds a route after it
    server.add_url_rule("/api/forgotten", "forgotten", lambda: "secret")  # a route someone forgot to list
    client = logged_in(app, settings, "zhang", "duty")
    resp = client.get("/api/forgotten")
    assert resp.status_code == 403 and b"secret" not in resp.data


def test_anonymous_requests_to_every_guarded_route_get_401_or_the_login(app):
    client = app.server.test_client()
    checked = 0
    for rule in app.server.url_map.iter_rules():
        if rule.endpoint in auth.PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(_path(rule), method=method, headers=ORIGIN, json={} if method == "POST" else None)
            checked += 1
            assert resp.status_code == 401 or (resp.status_code == 302 and
                                               resp.headers["Location"].startswith("/login")), \
                (rule.rule, method, resp.status_code)
            assert b"440781" not in resp.data and b"props" not in resp.data
    assert checked >= 10


def test_anonymous_callbacks_get_401(app):
    client = app.server.test_client()
    assert app.callback_map, "the app has callbacks"
    for output in app.callback_map:
        resp = client.post("/_dash-update-component", json={"output": output, "outputs": [], "inputs": []},
                           headers=ORIGIN)
        assert resp.status_code == 401, output


def test_public_routes_answer_without_a_session(app):
    client = app.server.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/login?lang=en").get_data(as_text=True).count("Sign in") >= 2
    assert "登录" in client.get("/login").get_data(as_text=True)
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 200
    assert client.get("/assets/pingan.css").status_code == 200


def test_metrics_can_require_a_bearer_token(settings, r):
    app = create_app(settings.model_copy(update={"metrics_token": "s3cret-token"}))
    client = app.server.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


# --- roles -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "lands", "allowed", "denied"), [
    ("duty", "/wall", ["/wall", "/board/emergency"], ["/admin/accounts", "/admin/audit"]),
    ("leader", "/tablet", ["/tablet", "/wall", "/board/emergency"], ["/admin/accounts", "/admin/audit"]),
    ("analyst", "/wall", ["/wall"], ["/admin/accounts", "/admin/audit"]),
    ("sysadmin", "/admin/accounts", ["/admin/accounts"], ["/wall", "/board/emergency", "/admin/audit"]),
    ("secadmin", "/admin/accounts", ["/admin/accounts"], ["/wall", "/admin/audit"]),
    ("auditor", "/admin/audit", ["/admin/audit", "/admin/audit/export.csv"], ["/wall", "/admin/accounts"]),
])
def test_each_role_lands_on_its_page_and_sees_only_what_it_may(app, settings, role, lands, allowed, denied):
    add_account(settings, f"a-{role}", role)
    client = app.server.test_client()
    resp = log_in(client, f"a-{role}")
    assert resp.status_code == 302
    if role in settings.second_factor_roles.split(","):  # administrators: the second factor first
        assert resp.headers["Location"] == "/login/enrol"
        assert enrol(client) == lands
    else:
        assert resp.headers["Location"] == lands
    for path in allowed:
        assert client.get(path).status_code == 200, path
    for path in denied:
        assert client.get(path).status_code == 403, path
    stream = client.get("/stream/wall?scope=440700")
    assert (stream.status_code == 200) == (Role(role) in (Role.DUTY, Role.LEADER, Role.ANALYST))
    stream.close()


def test_administrators_see_no_board_data(app, settings, r, keys):
    r.set(keys.snapshot("wall", CITY), b'{"secret": "board data"}')
    for role in ("sysadmin", "secadmin", "auditor"):
        client = logged_in(app, settings, f"x-{role}", role)
        for path in ("/api/snapshot/wall", "/stream/wall", "/_dash-layout"):
            resp = client.get(path)
            assert resp.status_code == 403 and b"board data" not in resp.data, (role, path)
        assert _pages_callback(client, "").status_code == 403


# --- scope -------------------------------------------------------------------------------------------

def test_a_district_account_gets_its_district_and_403_for_the_rest(app, settings, r, keys):
    r.set(keys.snapshot("wall", CITY), b'{"scope": "city"}')
    r.set(keys.snapshot("wall", TAISHAN), b'{"scope": "taishan"}')
    r.set(keys.snapshot("wall", KAIPING), b'{"scope": "kaiping"}')
    client = logged_in(app, settings, "ts-duty", "duty", TAISHAN)
    assert client.get(f"/api/snapshot/wall?scope={TAISHAN}").data == b'{"scope": "taishan"}'
    assert client.get("/api/snapshot/wall").data == b'{"scope": "taishan"}', "no scope: the account's own"
    for scope in (CITY, KAIPING, "city"):
        for path in (f"/api/snapshot/wall?scope={scope}", f"/stream/wall?scope={scope}", f"/wall?scope={scope}",
                     f"/board/emergency?scope={scope}"):
            resp = client.get(path)
            assert resp.status_code == 403, path
            assert b"taishan" not in resp.data and b"kaiping" not in resp.data and b'"city"' not in resp.data
        resp = _pages_callback(client, f"?scope={scope}")
        assert resp.status_code == 403 and b"props" not in resp.data
    own = _pages_callback(client, f"?scope={TAISHAN}")
    assert own.status_code == 200
    config = _frame_config(own.get_json())
    assert config["scope"] == TAISHAN and config["stream"].endswith(f"scope={TAISHAN}")
    assert config["viewer"]["name"] == "ts-duty" and config["viewer"]["may_ack"] is True
    # no query: the account's own district, and a scope select offering nothing else
    page = _pages_callback(client, "")
    assert _frame_config(page.get_json())["scope"] == TAISHAN
    assert [o["value"] for o in _scope_options(page.get_json())] == [TAISHAN]
    # a rotation stays inside the scope
    rotating = _frame_config(_pages_callback(client, f"?scope={TAISHAN}&rotate=30").get_json())
    assert rotating["rotation"] and all(f"scope={TAISHAN}" in v for v in rotating["rotation"])


def test_a_city_account_sees_every_scope(app, settings, r, keys):
    r.set(keys.snapshot("wall", KAIPING), b'{"scope": "kaiping"}')
    client = logged_in(app, settings, "city-leader", "leader")
    assert client.get(f"/api/snapshot/wall?scope={KAIPING}").data == b'{"scope": "kaiping"}'
    page = _pages_callback(client, "")
    assert _frame_config(page.get_json())["scope"] == CITY
    assert len(_scope_options(page.get_json())) == 8
    assert _frame_config(page.get_json())["viewer"]["may_ack"] is False


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _frame_config(resp: dict) -> dict:
    return next(n["props"]["data"] for n in _walk(resp) if isinstance(n.get("props"), dict)
                and isinstance(n["props"].get("id"), dict) and n["props"]["id"].get("type") == "frame-config")


def _scope_options(resp: dict) -> list[dict]:
    return next(n["props"]["options"] for n in _walk(resp) if isinstance(n.get("props"), dict)
                and isinstance(n["props"].get("id"), dict) and n["props"]["id"].get("type") == "frame-scope")


# --- sessions ----------------------------------------------------------------------------------------

def _sid(client) -> str | None:
    cookie = client.get_cookie(auth.COOKIE)
    return cookie.value if cookie else None


def test_a_login_gets_a_new_session_id_and_a_safe_cookie(app, settings, r, keys):
    add_account(settings, "li", "leader")
    client = app.server.test_client()
    client.get("/login")
    before = _sid(client)
    resp = log_in(client, "li")
    after = _sid(client)
    assert before and after and before != after
    assert not r.exists(keys.session(before)) and r.exists(keys.session(after))
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(auth.COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie, "it ends with the browser"
    assert 0 < r.ttl(keys.session_seen(after)) <= settings.session_idle_s
    assert settings.session_idle_s < r.ttl(keys.session(after)) <= settings.session_max_s


def test_use_renews_the_idle_timeout_but_a_push_stream_does_not(app, settings, r, keys):
    client = logged_in(app, settings, "wang", "duty")
    sid = _sid(client)
    r.expire(keys.session_seen(sid), 100)
    client.get("/stream/wall").close()
    assert r.ttl(keys.session_seen(sid)) <= 100, "a stream is not use"
    client.get("/wall")
    assert r.ttl(keys.session_seen(sid)) > 100, "a page is"


def test_an_idle_session_ends(app, settings, r, keys):
    client = logged_in(app, settings, "zhao", "duty")
    r.delete(keys.session_seen(_sid(client)))  # what its TTL does after session_idle_s without use
    assert client.get("/api/snapshot/wall").status_code == 401
    assert client.get("/wall").headers["Location"].startswith("/login")


def test_logout_ends_the_session_and_its_stream(app, settings, r, keys):
    client = logged_in(app, settings, "qian", "duty")
    sid = _sid(client)
    assert client.get("/login").status_code == 302, "logged in: the login page sends to the landing page"
    token = csrf_of(client.get("/password").get_data(as_text=True))
    resp = client.post("/logout", data={"csrf_token": token}, headers=ORIGIN)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert not r.exists(keys.session_seen(sid)) and not r.exists(keys.session(sid))
    assert client.get("/stream/wall").status_code == 401
    assert [(x.subject, x.action, x.result) for x in _audit(settings)][-1] == ("qian", "logout", "ok")


def test_a_stream_ends_with_a_logout_event_when_its_session_is_ended(app, settings, r, keys):
    app.server.config["PINGAN_TEST"] = True
    client = logged_in(app, settings, "sun", "duty")
    resp = client.get("/stream/wall", buffered=False)
    chunks = resp.response
    first = next(chunks)
    assert b"event: hello" in first
    from dashboard.accounts.sessions import end_sessions
    assert end_sessions(r, keys, "sun") == 1  # what `pingan users disable sun` does
    rest = b"".join(chunks)  # the stream ends by itself within one heartbeat
    assert rest.rstrip().endswith(b"event: logout\ndata: {}")
    resp.close()


@pytest.mark.slow  # `pingan users` as processes
def test_disable_and_a_role_change_end_the_sessions_at_once(app, settings, r, keys, monkeypatch):
    monkeypatch.setenv("PINGAN_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("PINGAN_KEY_PREFIX", settings.key_prefix)
    monkeypatch.setenv("PINGAN_DATA_DIR", str(settings.data_dir))
    a = logged_in(app, settings, "zhou", "duty")
    b = app.server.test_client()
    assert log_in(b, "zhou").status_code == 302
    assert main(["users", "set", "zhou", "--role", "leader"]) == 0
    assert a.get("/api/snapshot/wall").status_code == 401 and b.get("/wall").status_code == 302
    assert log_in(b, "zhou").status_code == 302
    ack = _ack(b, ["x"])
    assert ack.status_code == 403, "the new role holds from the next login"
    assert main(["users", "disable", "zhou"]) == 0
    assert b.get("/api/snapshot/wall").status_code == 401
    assert log_in(b, "zhou").status_code == 401
    actions = [(x.action, x.result, orjson.loads(x.detail).get("sessions_ended")) for x in _audit(settings)
               if x.action.startswith("account.")]
    assert actions == [("account.set", "ok", 2), ("account.disable", "ok", 1)]


def test_the_first_login_after_add_or_reset_must_change_the_password(app, settings):
    add_account(settings, "wu", "duty", permanent=False)
    client = app.server.test_client()
    resp = log_in(client, "wu")
    assert resp.headers["Location"] == "/password"
    assert client.get("/wall").headers["Location"] == "/password"
    assert client.get("/api/snapshot/wall").status_code == 302 or client.get("/api/snapshot/wall").status_code == 401
    token = csrf_of(client.get("/password").get_data(as_text=True))
    weak = client.post("/password", data={"old": PASSWORD, "new": "short", "again": "short", "csrf_token": token},
                       headers=ORIGIN)
    assert weak.status_code == 400
    new = "Another-pass-2026#"
    resp = client.post("/password", data={"old": PASSWORD, "new": new, "again": new, "csrf_token": token},
                       headers=ORIGIN)
    assert resp.status_code == 302 and resp.headers["Location"] == "/wall"
    assert client.get("/wall").status_code == 200
    assert log_in(app.server.test_client(), "wu", new).headers["Location"] == "/wall"


# --- logins: CSRF, throttles, lockout ----------------------------------------------------------------

def test_a_login_without_the_csrf_token_or_from_another_site_is_refused(app, settings):
    add_account(settings, "zheng", "duty")
    client = app.server.test_client()
    client.get("/login")
    no_token = client.post("/login", data={"username": "zheng", "password": PASSWORD}, headers=ORIGIN)
    assert no_token.status_code == 400 and _sid(client) is not None
    token = csrf_of(client.get("/login").get_data(as_text=True))
    elsewhere = client.post("/login", data={"username": "zheng", "password": PASSWORD, "csrf_token": token},
                            headers={"Origin": "http://evil.example"})
    assert elsewhere.status_code == 403


def test_a_login_goes_back_to_the_page_asked_for_but_never_off_site(app, settings):
    add_account(settings, "feng", "duty")
    client = app.server.test_client()
    assert client.get("/board/emergency?scope=440781").headers["Location"] == \
        "/login?next=/board/emergency%3Fscope%3D440781"
    assert log_in(client, "feng", next="/board/emergency?scope=440781").headers["Location"] == \
        "/board/emergency?scope=440781"
    other = app.server.test_client()
    assert log_in(other, "feng", next="//evil.example/x").headers["Location"] == "/wall"


def test_ten_wrong_passwords_lock_the_account_and_unlock_frees_it(app, settings, monkeypatch):
    monkeypatch.setenv("PINGAN_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("PINGAN_KEY_PREFIX", settings.key_prefix)
    monkeypatch.setenv("PINGAN_DATA_DIR", str(settings.data_dir))
    add_account(settings, "chen", "duty")
    client = app.server.test_client()
    for _ in range(9):
        assert "用户名或密码错误" in log_in(client, "chen", "wrong-password").get_data(as_text=True)
    tenth = log_in(client, "chen", "wrong-password")
    assert tenth.status_code == 401 and "已锁定" in tenth.get_data(as_text=True)
    locked = log_in(client, "chen")
    assert locked.status_code == 401 and "已锁定" in locked.get_data(as_text=True), "even the right password"
    assert main(["users", "unlock", "chen"]) == 0
    assert log_in(client, "chen").status_code == 302
    rows = [(x.action, x.result, orjson.loads(x.detail).get("reason")) for x in _audit(settings)]
    assert rows[:10] == [("login", "failed", "wrong password")] * 10
    assert rows[10] == ("account.lock", "ok", None)
    assert rows[11] == ("login", "failed", "locked")
    assert rows[12][:2] == ("account.unlock", "ok") and rows[13][:2] == ("login", "ok")
    assert all(x.client == "127.0.0.1" for x in _audit(settings) if x.action == "login")


def test_failed_logins_are_throttled_per_account_and_per_address(settings, r, keys):
    app = create_app(settings.model_copy(update={"login_account_burst": 3, "login_address_burst": 5,
                                                 "login_throttle_s": 30}))
    add_account(settings, "he", "duty")
    add_account(settings, "lv", "duty")
    client = app.server.test_client()
    for _ in range(3):
        assert log_in(client, "he", "wrong-password").status_code == 401
    waiting = log_in(client, "he")
    assert waiting.status_code == 429, "the account waits, even with the right password"
    assert 0 < r.ttl(keys.login_throttle("account", "he")) <= 30
    assert log_in(client, "lv", "wrong-password").status_code == 401
    assert log_in(client, "lv", "wrong-password").status_code == 401  # the address's fifth failure
    assert log_in(client, "lv").status_code == 429, "the address waits"
    # the window runs out (its TTL; real time): a right password goes through
    r.delete(keys.login_throttle("address", "127.0.0.1"))
    assert log_in(client, "lv").status_code == 302
    assert [x.result for x in _audit(settings) if x.action == "login"].count("throttled") == 2


def test_an_unknown_name_and_a_wrong_password_read_the_same(app, settings):
    add_account(settings, "han", "duty")
    client = app.server.test_client()
    unknown = log_in(client, "nobody", "wrong-password").get_data(as_text=True)
    wrong = log_in(client, "han", "wrong-password").get_data(as_text=True)
    assert "用户名或密码错误" in unknown and "用户名或密码错误" in wrong


# --- acknowledgements --------------------------------------------------------------------------------

def _ack(client, keys_, scope: str = CITY, token: str | None = "page", origin: dict | None = None):
    if token == "page":  # the token the board's page hands its script, at the account's own scope
        if not hasattr(client, "board_token"):
            page = _pages_callback(client, "", "/board/emergency")
            client.board_token = _frame_config(page.get_json())["viewer"]["csrf"] if page.status_code == 200 else ""
        token = client.board_token
    headers = {**(ORIGIN if origin is None else origin), **({"X-CSRFToken": token} if token else {})}
    return client.post("/api/alerts/ack", json={"keys": keys_, "scope": scope, "who": "someone else"},
                       headers=headers)


def test_an_acknowledgement_needs_the_csrf_token_the_origin_the_role_and_the_scope(app, settings):
    duty = logged_in(app, settings, "ma", "duty")
    assert _ack(duty, ["x"], token=None).status_code == 400
    assert _ack(duty, ["x"], token="forged").status_code == 400
    assert _ack(duty, ["x"], origin={"Origin": "http://evil.example"}).status_code == 403
    assert _ack(duty, ["x"], origin={}).status_code == 403, "no origin at all"
    leader = logged_in(app, settings, "ling", "leader")
    assert _ack(leader, ["x"]).status_code == 403
    taishan = logged_in(app, settings, "ts", "duty", TAISHAN)
    refused = _ack(taishan, ["x"], scope=CITY)
    assert refused.status_code == 403
    assert ("ts", "alert.ack", "denied") in [(x.subject, x.action, x.result) for x in _audit(settings)]


def test_an_acknowledgement_is_signed_by_the_logged_in_officer(app, settings, r, keys):
    from tests.test_emergency_web import T0, _publish, cap, response

    _publish(r, keys, settings, [cap("R1", T0, "red", TAISHAN), response("E1", T0, "I", "启动")], T0 + 60)
    client = logged_in(app, settings, "zhang-san", "duty")
    resp = _ack(client, ["warn:qx:R1"])
    assert resp.status_code == 200, resp.get_json()
    [done] = resp.get_json()["acknowledged"]
    assert done["who"] == "zhang-san", "not the name in the body"
    assert orjson.loads(r.hget(keys.em_acks, "warn:qx:R1"))["who"] == "zhang-san"
    row = [x for x in _audit(settings) if x.action == "alert.ack"][-1]
    assert (row.subject, row.object, row.scope, row.result, row.client) == \
        ("zhang-san", "warn:qx:R1", CITY, "ok", "127.0.0.1")
    again = _ack(client, ["warn:qx:R1"])
    assert again.status_code == 400 and "already" in again.get_json()["refused"][0]["error"]


# --- the administrators' pages -----------------------------------------------------------------------

def test_the_security_administrator_unlocks_from_the_accounts_page(app, settings):
    add_account(settings, "locked-one", "duty")
    store = AccountStore.from_settings(settings)
    for _ in range(10):
        store.authenticate("locked-one", "wrong-password")
    store.close()
    sys_ = logged_in(app, settings, "sys", "sysadmin")
    page = sys_.get("/admin/accounts").get_data(as_text=True)
    assert "locked-one" in page and "已锁定" in page and "/unlock" not in page, "sysadmin sees, cannot unlock"
    token = csrf_of(page)
    assert sys_.post("/admin/accounts/locked-one/unlock", data={"csrf_token": token},
                     headers=ORIGIN).status_code == 403
    sec = logged_in(app, settings, "sec", "secadmin")
    page = sec.get("/admin/accounts").get_data(as_text=True)
    assert "/admin/accounts/locked-one/unlock" in page
    resp = sec.post("/admin/accounts/locked-one/unlock", data={"csrf_token": csrf_of(page)}, headers=ORIGIN)
    assert resp.status_code == 302
    assert log_in(app.server.test_client(), "locked-one").status_code == 302
    assert ("sec", "account.unlock", "locked-one", "ok") in [(x.subject, x.action, x.object, x.result)
                                                            for x in _audit(settings)]


def test_the_auditor_reads_verifies_and_exports_the_log(app, settings):
    client = logged_in(app, settings, "aud", "auditor")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "审计链完整" in page and "aud" in page
    csv = client.get("/admin/audit/export.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).splitlines()[0].startswith("id,at,subject,action")
    assert client.get("/admin/audit/export.csv?from=nonsense").status_code == 400
    assert [x.action for x in _audit(settings)][-1] == "audit.export"


def test_a_stray_anonymous_request_keeps_the_login_pages_token(app, settings):
    """A browser fetches /favicon.ico (a guarded path) between showing the login form and posting it."""
    add_account(settings, "du", "duty")
    client = app.server.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    assert client.get("/favicon.ico").status_code == 302
    resp = client.post("/login", data={"username": "du", "password": PASSWORD, "csrf_token": token}, headers=ORIGIN)
    assert resp.status_code == 302 and resp.headers["Location"] == "/wall"


@given(st.text(alphabet=st.sampled_from(list("/\\\t\n\r .:@?#%abcé台")), max_size=12) | st.text(max_size=20))
@hsettings(max_examples=examples(300))
def test_the_page_after_a_login_is_always_on_this_site(target):
    """What a browser would make of it (tabs and newlines dropped, \\ read as /) stays a local path."""
    out = auth.safe_next(target)
    if out is None:
        return
    seen = re.sub(r"[\t\n\r]", "", out).replace("\\", "/")
    parts = urlsplit(seen)
    assert seen.startswith("/") and not seen.startswith("//") and not parts.scheme and not parts.netloc


def test_a_district_officer_acknowledges_its_districts_alerts_but_not_the_citys(app, settings, r, keys):
    from dashboard.boards import EMERGENCY_PICTURE, REGISTRY
    from dashboard.contract.board import resolve
    from dashboard.contract.clock import Clock
    from dashboard.live.emergency_board import EmergencyBuilder
    from dashboard.live.publish import LiveContext, Publisher, Round
    from dashboard.live.sla import Policies
    from dashboard.live.store import LiveStore
    from tests.test_emergency_web import T0, cap, response

    LiveStore(r, keys, settings, Policies.load(), Clock()).apply(
        [cap("R1", T0, "red", TAISHAN), response("E1", T0, "I", "启动")], now=T0 + 60)
    ctx = LiveContext(r, keys, settings, Policies.load(), Clock(), {}, REGISTRY)
    taishan = resolve(TAISHAN, CITY)
    snap = EmergencyBuilder(ctx).build(Round(ctx, T0 + 60), [taishan])[TAISHAN]
    Publisher(r, keys).publish(EMERGENCY_PICTURE, TAISHAN, snap)  # the 台山 board: its warning and the city's response
    client = logged_in(app, settings, "ts-officer", "duty", TAISHAN)
    resp = _ack(client, ["warn:qx:R1", "resp:yj:E1:I"], scope=TAISHAN)
    assert resp.status_code == 200, resp.get_json()
    assert [a["key"] for a in resp.get_json()["acknowledged"]] == ["warn:qx:R1"]
    [refused] = resp.get_json()["refused"]
    assert refused["key"] == "resp:yj:E1:I" and "outside your scope" in refused["error"]
    assert not r.hexists(keys.em_acks, "resp:yj:E1:I"), "the city's response waits for a city officer"


# --- behind a reverse proxy, and over TLS ----------------------------------------------------------

PROXIED = {"X-Forwarded-For": "10.20.30.40", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "zhihui.example.gov.cn"}


def test_behind_a_trusted_proxy_the_audit_has_the_clients_address_and_https_gets_hsts(settings, r):
    app = create_app(settings.model_copy(update={"web_proxies": 1}))
    add_account(settings, "px", "duty")
    client = app.server.test_client()
    page = client.get("/login", headers=PROXIED)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    resp = client.post("/login", data={"username": "px", "password": PASSWORD,
                                       "csrf_token": csrf_of(page.get_data(as_text=True))},
                       headers={**PROXIED, "Origin": "https://zhihui.example.gov.cn"})
    assert resp.status_code == 302, "the origin check compares with the host the proxy was asked for"
    assert [(x.action, x.client) for x in _audit(settings)][-1] == ("login", "10.20.30.40")


def test_without_a_proxy_setting_forwarded_headers_are_not_believed(app, settings):
    add_account(settings, "np", "duty")
    client = app.server.test_client()
    page = client.get("/login", headers=PROXIED)
    assert "Strict-Transport-Security" not in page.headers, "plain HTTP: no HSTS"
    log_in(client, "np")
    assert [(x.action, x.client) for x in _audit(settings)][-1] == ("login", "127.0.0.1")


@pytest.mark.slow
def test_pingan_web_serves_https_with_hsts_and_secure_cookies(settings, r, tmp_path):
    import os
    import subprocess
    import sys

    import httpx

    from dashboard.demo.embedded_redis import free_port
    from tests.conftest import REPO
    from tests.e2e import wait_until

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    add_account(settings, "tls", "duty")
    port = free_port()
    env = {**os.environ, "PINGAN_REDIS_URL": settings.redis_url, "PINGAN_KEY_PREFIX": settings.key_prefix,
           "PINGAN_DATA_DIR": str(settings.data_dir), "PINGAN_TILE_URL": "", "PINGAN_TILE_PROBE": "false"}
    web = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "web", "--port", str(port), "--workers", "1",
                            "--certfile", str(cert), "--keyfile", str(key)], env=env, cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, verify=False, timeout=10) as c:  # noqa: S501 - a self-signed test cert
            wait_until(lambda: _answers(c), 40, what="the HTTPS server")
            page = c.get("/login")
            assert page.status_code == 200 and page.headers["Strict-Transport-Security"] == "max-age=31536000"
            resp = c.post("/login", data={"username": "tls", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                          headers={"Origin": base})
            assert resp.status_code == 302
            cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith(auth.COOKIE))
            assert "Secure" in cookie and "HttpOnly" in cookie
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)  # no plain HTTP on that port
        _wall_in_chromium_over_tls(base, cert)
    finally:
        web.terminate()
        web.wait(15)


def _wall_in_chromium_over_tls(base: str, cert) -> None:
    """Chromium, told to trust this one self-signed certificate (by its public key's hash, as an intranet
    PC trusts a certificate it was given), logs in and gets the wall; the session cookie is Secure."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from tests.browser import ARGS, CHROMIUM, require_chromium, sync_api

    require_chromium()
    spki = x509.load_pem_x509_certificate(cert.read_bytes()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    trust = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=[*ARGS, f"--ignore-certificate-errors-spki-list={trust}"])
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{base}/wall")
            assert page.evaluate("location.pathname") == "/login"
            page.fill("input[name=username]", "tls")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.wait_for_selector(".board.wall", timeout=30_000)
            assert page.evaluate("location.protocol + location.pathname") == "https:/wall"
            session = next(c for c in context.cookies() if c["name"] == auth.COOKIE)
            assert session["secure"] and session["httpOnly"]
        finally:
            browser.close()


def _answers(client) -> bool:
    try:
        return client.get("/healthz").status_code in (200, 503)
    except Exception:
        return False
