"""Who may do what on the web: logins, sessions kept in Redis, and one guard in front of everything.

- **Deny by default.** :func:`install` puts one ``before_request`` guard in front of every Flask
  route — Dash's own (pages, layout, callbacks), the push streams, the APIs and the admin pages. An
  endpoint is either on :data:`PUBLIC` (the login, static files, ``/healthz``, ``/metrics``) or
  named in :data:`NEEDS` with the permission it needs; anything else is refused, logged in or not
  (tests/test_auth.py enumerates every route and callback). A role's permissions are
  :data:`ROLE_PERMS`. Scope is checked on the server: a request for a scope the account does not
  cover gets 403 and no data.
- **Sessions** are Flask-Session's in Redis (``Keys.session``) with Flask-Login on top: a new id
  at login, HttpOnly and SameSite cookies (Secure by setting). A session lives while its
  ``Keys.session_seen`` key does: every request but a push stream renews it for ``session_idle_s``;
  logout, ``pingan users disable`` or a role change delete it, and open push streams check it every
  heartbeat. The session key itself expires ``session_max_s`` after the login.
- **Logins** are throttled per account and per address in Redis (fixed windows of
  ``login_throttle_s``, so a throttled login waits at most that long); ten wrong passwords in a row
  lock the account (AccountStore). Every time here is real time, never the demo's clock.
- **State-changing requests** (login, logout, password, acknowledgements, unlocks) need the
  session's CSRF token (Flask-WTF) and come from the same origin; Dash's callback requests only
  read, and need the same origin.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import textwrap
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import flask
import orjson
import redis
from flask import Response, abort, g, redirect, render_template, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_session import Session
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.accounts.account_store import Account, AccountError, AccountStore
from dashboard.accounts.audit_log import AuditLog, beijing_day
from dashboard.accounts.passwords import PasswordPolicyError
from dashboard.accounts.roles import ROLE_ZH, Role
from dashboard.accounts.screens import Screen, ScreenStore
from dashboard.accounts.second_factor import SecondFactor, new_secret, provisioning_uri, qr_svg
from dashboard.accounts.sessions import Sessions, Throttle
from dashboard.contract.board import Registry, Scope, resolve, scopes
from dashboard.contract.event import BEIJING
from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings
from dashboard.live.places import Places
from layouts.frame import Viewer
from layouts.i18n import lang_of, t

log = logging.getLogger(__name__)

COOKIE = "pingan_session"
SCREEN_COOKIE = "pingan_screen"  # a wall screen's key (dashboard/accounts/screens.py): HttpOnly, kept for a year
SCREEN_COOKIE_MAX_AGE_S = 400 * 86_400  # the longest a browser keeps a cookie (Chromium's cap)
WARMUP = "pingan.warmup"  # a WSGI environ key no HTTP client can set: the app's own first request
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DASH_UPDATE = "/_dash-update-component"


class Perm(StrEnum):
    SESSION = "session"  # any logged-in account: logout, its own password
    BOARDS = "boards"  # the boards, their streams and snapshots
    PLACES = "places"  # any scope down to a grid, its case list and one case's life (not a screen's)
    HISTORY = "history"  # the archive's case facts: counts, KPIs, series and case lists over any window
    EXPORT = "export"  # the cases as CSV or XLSX files, within the account's scope (each export audited)
    ACK = "ack"  # acknowledge alerts
    ACCOUNTS = "accounts"  # see the accounts
    UNLOCK = "unlock"  # free a locked account
    AUDIT = "audit"  # read and export the audit log


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.DUTY: frozenset({Perm.SESSION, Perm.BOARDS, Perm.PLACES, Perm.HISTORY, Perm.ACK}),
    Role.LEADER: frozenset({Perm.SESSION, Perm.BOARDS, Perm.PLACES, Perm.HISTORY, Perm.EXPORT}),
    Role.ANALYST: frozenset({Perm.SESSION, Perm.BOARDS, Perm.PLACES, Perm.HISTORY, Perm.EXPORT}),
    Role.SYSADMIN: frozenset({Perm.SESSION, Perm.ACCOUNTS}),
    Role.SECADMIN: frozenset({Perm.SESSION, Perm.ACCOUNTS, Perm.UNLOCK}),
    Role.AUDITOR: frozenset({Perm.SESSION, Perm.AUDIT}),
    Role.SCREEN: frozenset({Perm.BOARDS}),  # its own boards only (User.boards); no session, nothing to sign
}

# endpoints anyone may reach: the login, static files, health for load balancers, metrics for scrapers
PUBLIC = frozenset({"login", "login_code", "login_enrol", "screen_entry", "login_oidc", "oidc_callback",
                    "login_cas", "cas_callback", "static", "_dash_assets.static",
                    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>", "/_favicon.ico",
                    "healthz", "metrics"})
# every other endpoint, with what it needs; an endpoint named nowhere is refused
NEEDS: dict[str, Perm] = {
    "/": Perm.SESSION, "logout": Perm.SESSION, "password": Perm.SESSION,
    "/<path:path>": Perm.BOARDS, "/_dash-layout": Perm.BOARDS, "/_dash-dependencies": Perm.BOARDS,
    DASH_UPDATE: Perm.BOARDS, "/_reload-hash": Perm.BOARDS,
    "stream": Perm.BOARDS, "snapshot": Perm.BOARDS, "ack": Perm.ACK,
    "board_config": Perm.BOARDS, "board_worker": Perm.BOARDS,  # per board that draws itself: "board_config@<name>"
    "place": Perm.PLACES, "place_wall": Perm.PLACES, "place_cases": Perm.PLACES, "case_life": Perm.PLACES,
    **dict.fromkeys(("history_counts", "history_kpis", "history_series", "history_cases"), Perm.HISTORY),
    "export_cases_csv": Perm.EXPORT, "export_cases_xlsx": Perm.EXPORT,  # the route checks ?district=
    "accounts": Perm.ACCOUNTS, "unlock": Perm.UNLOCK, "audit_page": Perm.AUDIT, "audit_export": Perm.AUDIT,
}
SCOPED = frozenset({"/<path:path>", "stream", "snapshot"})  # their ?scope= is checked by the guard
# their <code> is checked by the guard
PLACE_SCOPED = frozenset({"place", "place_wall", "place_cases", "history_counts", "history_kpis", "history_series",
                          "history_cases"})
PENDING_S = 300  # a first factor waits this long for the second


@dataclass(frozen=True)
class User(UserMixin):
    """The account behind a session, as it was at login (a change of role or scope ends the session), or
    a wall screen (role ``screen``: ``boards`` are the only boards it shows, in its rotation's order)."""

    name: str
    role: Role
    scope: str
    must_change: bool = False
    boards: tuple[str, ...] = ()  # a screen's; empty: every board
    rotate_s: int = 0  # a screen's rotation period

    def get_id(self) -> str:
        return self.name

    def may(self, perm: Perm) -> bool:
        return perm in ROLE_PERMS[self.role]

    def covers(self, scope: str, city: str) -> bool:
        """The account's scope is the city, or ``scope`` is its district or lies inside it."""
        return self.scope == city or scope.startswith(self.scope)

    def covers_place(self, chain: Sequence[Scope], city: str) -> bool:
        """The account's scope is the city, or one of the places from the city down to a scope (its
        chain: a grid's code need not begin with its district's)."""
        return self.scope == city or any(s.code == self.scope for s in chain)

    @classmethod
    def of_screen(cls, screen: Screen) -> User:
        return cls(screen.name, Role.SCREEN, screen.scope, boards=screen.boards, rotate_s=screen.rotate_s)

    def shows(self, board: str) -> bool:
        return not self.boards or board in self.boards

    @property
    def subject(self) -> str:
        """How the audit log names it."""
        return f"screen:{self.name}" if self.role is Role.SCREEN else self.name


def secret_key(settings: Settings) -> str:
    """The setting, or a key made once in data_dir (every worker of one machine reads the same one)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"secret-key.{os.getpid()}.{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_hex(32), "ascii")
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # the first worker's key wins; the others read it
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text("ascii").strip()


def client() -> str:
    return (request.remote_addr or "-")[:64]


def landing(user: User, registry: Registry, city: str) -> str:
    """Where an account goes after login: its boards (at its scope), or its administration page; a
    screen to its first board, in kiosk mode, rotating when it does."""
    if user.role is Role.SCREEN:
        first = registry.board(user.boards[0]) if user.boards else registry.home()
        assert first is not None
        return f"{first.path}?scope={user.scope}&kiosk=1" + (f"&rotate={user.rotate_s}" if user.rotate_s else "")
    if user.may(Perm.BOARDS):
        home = registry.home(user.role.value).path
        return home if user.scope == city else f"{home}?scope={user.scope}"
    if user.may(Perm.ACCOUNTS):
        return "/admin/accounts"
    return "/admin/audit"


def viewer(city: str, raw_scope: str | None, board: str, places: Places) -> tuple[Viewer, Scope]:
    """The logged-in account (or screen) looking at ``board`` at ``raw_scope`` (its own when None), and
    that scope (the city, a district, or a town, village or grid through ``places``); 403 outside its
    scope or boards. A page's layout is built in a Dash callback, so this is the check of the page's
    callback. A screen gets no CSRF token: it signs nothing, and keeps no session."""
    user = current_user
    if not user.is_authenticated:
        abort(401)
    raw = raw_scope or user.scope
    scope = resolve(raw, city) or places.scope(raw)
    if scope is None:
        abort(404)
    if not user.covers_place(places.chain(scope), city) or not user.shows(board):
        abort(403)
    csrf = "" if user.role is Role.SCREEN else generate_csrf()
    return Viewer(user.name, user.role.value, user.scope, user.may(Perm.ACK), csrf, user.boards), scope


def requested_scope(city: str) -> Scope | None:
    """The scope a request names (?scope=), or the account's own when it names none."""
    raw = request.args.get("scope") or (current_user.scope if current_user.is_authenticated else None)
    return resolve(raw, city)


@dataclass
class Auth:
    server: flask.Flask
    settings: Settings
    r: redis.Redis
    keys: Keys
    store: AccountStore
    audit: AuditLog
    registry: Registry
    sessions: Sessions
    throttle: Throttle
    screens: ScreenStore
    second: SecondFactor

    @property
    def city(self) -> str:
        return self.settings.city_adcode

    @cached_property
    def places(self) -> Places:
        return Places(self.r, self.keys, self.city)

    def record(self, subject: str, action: str, obj: str, scope: str, result: str,
               detail: Mapping[str, Any] | None = None) -> None:
        self.audit.append(subject, action, obj, scope, result, client(), detail)

    def standing(self, renew: bool) -> Callable[[], bool]:
        """Whether this request's session still stands: within ``session_max_s`` of its login, neither idle
        nor ended. ``renew``: each call counts as use (a page, a callback); a push stream's does not (it
        checks every heartbeat). A screen's stands while its key does: no idle time, no end but revocation."""
        if current_user.is_authenticated and current_user.role is Role.SCREEN:
            key = request.cookies.get(SCREEN_COOKIE, "")
            return lambda: self.screens.standing(key)
        sid, ends = session.sid, float(session.get("login_at", 0)) + self.sessions.max_s  # type: ignore[attr-defined]
        return lambda: time.time() < ends and self.sessions.alive(sid, renew=renew)


def install(server: flask.Flask, settings: Settings, r: redis.Redis, keys: Keys, registry: Registry) -> Auth:
    """Sessions, the login pages, the admin pages and the guard, on ``server``."""
    server.config.update(
        SECRET_KEY=secret_key(settings), SESSION_TYPE="redis", SESSION_REDIS=r, SESSION_KEY_PREFIX=keys.session(""),
        SESSION_PERMANENT=False, PERMANENT_SESSION_LIFETIME=int(settings.session_max_s),  # a browser-session cookie;
        # Redis keeps the session for session_max_s all the same (Flask-Session sets the TTL from the lifetime)
        SESSION_REFRESH_EACH_REQUEST=False, SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.cookie_secure or bool(settings.web_certfile),
        WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False)  # the guard checks the origin itself (Origin, else Referer), HTTP or HTTPS
    if settings.web_proxies:  # the client's address, scheme and host as the proxies say (audit, origin check)
        n = settings.web_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    Session(server)
    csrf = CSRFProtect(server)
    manager = LoginManager(server)
    manager.session_protection = None  # the id is new at every login and ends server-side

    @manager.user_loader
    def load(name: str) -> User | None:
        if session.get("name") != name:
            return None
        return User(name, Role(session["role"]), session["scope"], bool(session.get("must_change")))

    @manager.request_loader
    def screen(req: flask.Request) -> User | None:  # no logged-in session: a wall screen's cookie, if any
        found = auth.screens.lookup(req.cookies.get(SCREEN_COOKIE, ""))
        return None if found is None else User.of_screen(found)

    store = AccountStore.from_settings(settings)
    auth = Auth(server, settings, r, keys, store, AuditLog.from_settings(settings, store.engine), registry,
                Sessions(r, keys, settings.session_idle_s, settings.session_max_s),
                Throttle(r, keys, settings.login_throttle_s,
                         {"account": settings.login_account_burst, "address": settings.login_address_burst}),
                ScreenStore(store.engine, r, keys, settings.city_adcode, tuple(b.name for b in registry.boards)),
                SecondFactor(store.engine))

    @server.before_request
    def guard() -> Any:
        return _guard(auth, csrf)

    @server.after_request
    def hsts(resp: Response) -> Response:
        if request.is_secure and settings.hsts_max_age_s:
            resp.headers["Strict-Transport-Security"] = f"max-age={settings.hsts_max_age_s}"
        return resp

    @server.errorhandler(CSRFError)
    def bad_csrf(exc: CSRFError) -> Any:
        return _refuse(400, "csrf: " + str(exc.description))

    _pages(server, auth)
    from dashboard.web import sso  # it builds on this module's login

    sso.install(server, auth)
    return auth


def _guard(auth: Auth, csrf: CSRFProtect) -> Any:
    endpoint = request.endpoint or ""
    if request.environ.get(WARMUP):
        return None
    if endpoint in PUBLIC:
        return _public(auth, endpoint, csrf)
    user = current_user
    if not user.is_authenticated:
        return _login_first()  # its session (a login page's CSRF token) stays: a stray /favicon.ico must not end it
    if not auth.standing(renew=endpoint != "stream")():
        logout_user()
        session.clear()
        return _login_first()
    if user.must_change and endpoint not in ("password", "logout"):
        return redirect("/password") if request.method == "GET" else _refuse(401, "change the password first")
    need = NEEDS.get(endpoint.partition("@")[0])
    if need is None or not user.may(need):
        return _refuse(403, "your role may not do this")
    if request.method not in SAFE_METHODS and (refused := _unsafe(endpoint, csrf)):
        return refused
    if endpoint == "/":
        return redirect(landing(user, auth.registry, auth.city))
    if endpoint in PLACE_SCOPED:
        return _place_scoped(auth, user)
    return _scoped(auth, user, endpoint) if endpoint in SCOPED else None


def _unsafe(endpoint: str, csrf: CSRFProtect) -> Any:
    """A request that may change something comes from this site and carries the session's CSRF token
    (Dash's callbacks only read: the same origin is enough)."""
    if not _same_origin():
        return _refuse(403, "origin: requests must come from this site")
    if endpoint != DASH_UPDATE:
        csrf.protect()  # raises CSRFError: 400
    return None


def _public(auth: Auth, endpoint: str, csrf: CSRFProtect) -> Any:
    if request.method not in SAFE_METHODS:
        return _unsafe(endpoint, csrf)
    token = auth.settings.metrics_token
    if endpoint == "metrics" and token and not secrets.compare_digest(request.headers.get("Authorization", ""),
                                                                      f"Bearer {token}"):
        return _refuse(401, "metrics: bearer token required")
    return None


def _scoped(auth: Auth, user: User, endpoint: str) -> Any:
    """The scope a page, stream or snapshot request names must be one the account covers (and a screen's
    board one of its own)."""
    if user.boards and not any(user.shows(b) for b in _boards_of(auth.registry, endpoint)):
        return _refuse(403, f"board: this screen shows {', '.join(user.boards)} only")
    if endpoint == "/<path:path>" and "scope" not in request.args:
        return None  # a page without ?scope= shows the account's own (its layout checks again)
    scope = requested_scope(auth.city)
    if scope is None:
        return _below_district(auth, user, endpoint)
    if not user.covers(scope.code, auth.city):
        return _refuse(403, f"scope: {scope.code} is outside your scope {user.scope}")
    g.scope = scope
    return None


def _below_district(auth: Auth, user: User, endpoint: str) -> Any:
    """A town, village or grid named by ?scope=: only for a board shown at its level."""
    levels = {lv for name in _boards_of(auth.registry, endpoint) if (b := auth.registry.board(name)) for lv in b.levels}
    place = _covered_place(auth, user, request.args.get("scope", ""), levels)
    if isinstance(place, Response):
        return place
    g.scope = place
    return None


def _place_scoped(auth: Auth, user: User) -> Any:
    """A place named in the path (city, district, town, village or grid) must lie in the account's scope."""
    place = _covered_place(auth, user, str((request.view_args or {}).get("code", "")))
    if isinstance(place, Response):
        return place
    g.place = place
    return None


def _covered_place(auth: Auth, user: User, code: str, levels: Collection[str] | None = None) -> Scope | Response:
    """The place ``code`` names (at one of ``levels``, when given), if it lies in the account's scope through
    its chain (a grid's code need not begin with its district's); else the refusal."""
    place = auth.places.scope(code) if code else None
    if place is None or (levels is not None and place.level not in levels):
        shown = " at a level this board is shown at" if levels is not None else ""
        return _refuse(404, f"scope: {code} is no place of the city the cases have named{shown}")
    if not user.covers_place(auth.places.chain(place), auth.city):
        return _refuse(403, f"scope: {code} is outside your scope {user.scope}")
    return place


def _boards_of(registry: Registry, endpoint: str) -> list[str]:
    """The boards a page, stream or snapshot request is for (a snapshot: every board that reads it)."""
    name = (request.view_args or {}).get("name", "")
    if endpoint == "stream":
        return [name]
    if endpoint == "snapshot":
        return [b.name for b in registry.boards if any(s.name == name for s in registry.reads(b))]
    return [b.name for b in registry.boards if b.path == request.path]


def _same_origin() -> bool:
    source = request.headers.get("Origin") or request.headers.get("Referer")
    return bool(source) and urlsplit(source).netloc == request.host


def _wants_page() -> bool:
    return request.method == "GET" and request.endpoint in ("/", "/<path:path>", "password", "accounts",
                                                            "audit_page")


def _login_first() -> Any:
    """A page goes to the login (and comes back after it); a browser's push stream (EventSource, which
    cannot read a 401) gets a `logout` event and nothing else, so the page goes there too — a wall
    whose stream reopens after its session ended or its screen was revoked; anything else gets 401."""
    if request.endpoint == "stream" and "text/event-stream" in request.headers.get("Accept", ""):
        return Response(b"retry: 2000\nevent: logout\ndata: {}\n\n", mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache"})
    if not _wants_page():
        return _refuse(401, "login required")
    lang = f"&lang={request.args['lang']}" if request.args.get("lang") else ""
    return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}{lang}")


def _refuse(status: int, why: str) -> Response:
    if _wants_page() and status == 403:
        lang = lang_of(request.args.get("lang"))
        body = render_template("denied.html", lang=lang, t=t, why=why)
        return Response(body, status=403, mimetype="text/html")
    return Response(orjson.dumps({"error": why}), status=status, mimetype="application/json")


# --- the pages: login, logout, password, accounts, audit ------------------------------------------

def page_lang(auth: Auth) -> str:
    return lang_of(request.values.get("lang"), auth.settings.ui_lang)


def _page(auth: Auth, template: str, status: int = 200, **values: Any) -> Response:
    settings = auth.settings
    body = render_template(template, lang=page_lang(auth), t=t, csrf=generate_csrf(), role_zh=ROLE_ZH,
                           user=current_user, policy=(settings.password_min_length, settings.password_min_classes),
                           scope_names={s.code: s.name for s in scopes(auth.city)}, beijing=_beijing, **values)
    return Response(body, status=status, mimetype="text/html")


def login_page(auth: Auth, status: int, error: str | None, nxt: str | None = None, name: str = "") -> Response:
    """The login form, with a button for each configured single sign-on."""
    from dashboard.web import sso

    return _page(auth, "login.html", status, next=nxt, name=name, error=error, sso=sso.buttons(auth.settings, nxt))


def _with_lang(auth: Auth, path: str) -> str:
    chosen = page_lang(auth)
    return path if chosen == auth.settings.ui_lang else f"{path}?lang={chosen}"


def _pages(server: flask.Flask, auth: Auth) -> None:
    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        nxt = safe_next(request.values.get("next"))
        if request.method == "GET":
            if current_user.is_authenticated:
                return redirect(nxt or landing(current_user, auth.registry, auth.city))
            return login_page(auth, 200, None, nxt)
        return _attempt(server, auth, nxt)

    @server.route("/logout", methods=["POST"])
    def logout() -> Any:
        user = current_user
        auth.sessions.end(session.sid, user.name)  # type: ignore[attr-defined]
        auth.record(user.name, "logout", user.name, user.scope, "ok")
        logout_user()
        session.clear()
        out = redirect(_with_lang(auth, "/login"))
        # what a browser kept for offline use (the tablet's service worker and its cached data) goes too
        out.headers["Clear-Site-Data"] = '"cache", "storage"'
        return out

    @server.route("/password", methods=["GET", "POST"])
    def password() -> Any:
        user = current_user
        if request.method == "GET":
            return _page(auth, "password.html", error=None)
        new, again = request.form.get("new") or "", request.form.get("again") or ""
        if new != again:
            return _page(auth, "password.html", 400, error=t("auth_mismatch", page_lang(auth)))
        try:
            auth.store.change_password(user.name, request.form.get("old") or "", new)
        except (AccountError, PasswordPolicyError) as exc:
            auth.record(user.name, "password.change", user.name, user.scope, "refused", {"reason": str(exc)})
            return _page(auth, "password.html", 400, error=str(exc))
        auth.record(user.name, "password.change", user.name, user.scope, "ok")
        session["must_change"] = False
        return redirect(landing(User(user.name, user.role, user.scope), auth.registry, auth.city))

    _admin_pages(server, auth)
    _screen_pages(server, auth)
    _second_factor_pages(auth)


def _pending(auth: Auth) -> Account | None:
    """The account whose first factor this session passed within PENDING_S, if it may still log in."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_S:
        return None
    try:
        account = auth.store.get(str(pending["name"]))
    except AccountError:
        return None
    return None if account.disabled or account.locked(datetime.now(UTC)) else account


def _second_factor_pages(auth: Auth) -> None:
    server = auth.server

    @server.route("/login/code", methods=["GET", "POST"])
    def login_code() -> Any:
        return _second_factor(auth, enrol=False)

    @server.route("/login/enrol", methods=["GET", "POST"])
    def login_enrol() -> Any:
        return _second_factor(auth, enrol=True)


def _second_factor(auth: Auth, enrol: bool) -> Any:
    """The second step of a login: a code from the enrolled authenticator (or a recovery code), or the
    enrolment of one. Wrong codes count against the account's and the address's login throttles."""
    account, lang = _pending(auth), page_lang(auth)
    if account is None:
        session.pop("pending", None)
        return redirect(_with_lang(auth, "/login"))
    if enrol and account.second_factor:
        return redirect(_with_lang(auth, "/login/code"))  # enrolled meanwhile (another tab): no second secret
    pending = session["pending"]
    if enrol and "secret" not in pending:
        session["pending"] = pending = {**pending, "secret": new_secret()}

    def page(status: int = 200, error: str | None = None) -> Response:
        values: dict[str, Any] = {"enrol": enrol, "error": error, "issuer": auth.settings.second_factor_issuer}
        if enrol:
            uri = provisioning_uri(pending["secret"], account.name, auth.settings.second_factor_issuer)
            values.update(qr=qr_svg(uri), key=" ".join(textwrap.wrap(pending["secret"], 4)))
        return _page(auth, "second_factor.html", status, **values)

    if request.method == "GET":
        return page()
    address = client()
    wait = max(auth.throttle.wait_s("address", address), auth.throttle.wait_s("account", account.name))
    if wait:
        auth.record(account.name, "login.code", account.name, account.scope, "throttled", {"wait_s": wait})
        return page(429, t("auth_wait", lang).format(s=wait))
    code = (request.form.get("code") or "")[:64]
    codes = auth.second.enrol(account.name, pending["secret"], code) if enrol else None
    by = "enrol" if codes else None if enrol else auth.second.check(account.name, code).by
    if by is None:
        auth.throttle.fail("account", account.name)
        auth.throttle.fail("address", address)
        auth.record(account.name, "login.code", account.name, account.scope, "failed",
                    {"reason": "wrong or reused code", "enrol": enrol})
        return page(401, t("auth_code_wrong", lang))
    auth.throttle.clear("account", account.name)
    if by == "recovery":
        auth.record(account.name, "login.recovery", account.name, account.scope, "ok",
                    {"left": auth.second.recovery_left(account.name)})
    if codes:
        auth.record(account.name, "second-factor.enrol", account.name, account.scope, "ok")
    done = _complete(auth, account, pending.get("next"), pending.get("method", "password"), pending.get("detail"),
                     factor=by)
    if codes:  # shown once, then on to where the login was going
        return _page(auth, "recovery.html", codes=codes, then=done.headers["Location"])
    return done


def _screen_pages(server: flask.Flask, auth: Auth) -> None:
    @server.route("/screen")
    def screen_entry() -> Any:
        """A wall PC opens its screen's URL once: the key goes into a long-lived cookie and the browser
        becomes that screen (a person's session in it ends). A wrong or revoked key is throttled like a
        failed login, and audited."""
        address, lang = client(), page_lang(auth)
        if wait := auth.throttle.wait_s("address", address):
            auth.record("-", "screen.use", "-", auth.city, "throttled", {"wait_s": wait})
            return login_page(auth, 429, t("auth_wait", lang).format(s=wait))
        found = auth.screens.lookup(request.args.get("key", ""))
        if found is None:
            auth.throttle.fail("address", address)
            auth.record("-", "screen.use", "-", auth.city, "failed", {"reason": "unknown or revoked key"})
            return login_page(auth, 401, t("auth_screen_bad", lang))
        if current_user.is_authenticated and current_user.role is not Role.SCREEN:
            auth.sessions.end(session.sid, current_user.name)  # type: ignore[attr-defined]
            logout_user()
        session.clear()
        auth.screens.used(found.name)
        auth.record(f"screen:{found.name}", "screen.use", found.name, found.scope, "ok",
                    {"boards": list(found.boards), "rotate_s": found.rotate_s})
        user = User.of_screen(found)
        resp = redirect(landing(user, auth.registry, auth.city))
        resp.set_cookie(SCREEN_COOKIE, request.args["key"], max_age=SCREEN_COOKIE_MAX_AGE_S, httponly=True,
                        samesite="Lax", secure=bool(server.config["SESSION_COOKIE_SECURE"]))
        resp.headers["Referrer-Policy"] = "no-referrer"  # the key must not leave in a Referer
        resp.headers["Cache-Control"] = "no-store"
        return resp


def _attempt(server: flask.Flask, auth: Auth, nxt: str | None) -> Any:
    """One login: throttles first, then the password; a new session id on success."""
    name = (request.form.get("username") or "").strip()[:64]
    address, lang = client(), page_lang(auth)
    wait = max(auth.throttle.wait_s("address", address), auth.throttle.wait_s("account", name))
    if wait:
        auth.record(name or "-", "login", name or "-", auth.city, "throttled", {"wait_s": wait})
        return login_page(auth, 429, t("auth_wait", lang).format(s=wait), nxt, name)
    result = auth.store.authenticate(name, request.form.get("password") or "")
    if not result.ok:
        auth.throttle.fail("address", address)
        if result.reason == "wrong password":
            auth.throttle.fail("account", name)
        scope = result.account.scope if result.account else auth.city
        auth.record(name or "-", "login", name or "-", scope, "failed", {"reason": result.reason})
        if result.locked_now:
            auth.record(name, "account.lock", name, scope, "ok",
                        {"failures": auth.settings.login_max_failures, "lock_s": auth.settings.login_lock_s})
        key = "auth_locked" if result.locked_now or result.reason == "locked" else \
            "auth_disabled" if result.reason == "disabled" else "auth_wrong"
        return login_page(auth, 401, t(key, lang), nxt, name)
    account = result.account
    assert account is not None
    auth.throttle.clear("account", name)
    return first_factor_done(server, auth, account, nxt, "password")


def first_factor_done(server: flask.Flask, auth: Auth, account: Account, nxt: str | None, method: str,
                      detail: Mapping[str, Any] | None = None) -> Any:
    """A password (or a single sign-on) has been checked: the login is done, or waits for the second
    factor — a role that needs one, or an account that enrolled one — in a new session holding only
    who is pending, since when and where to go after."""
    server.session_interface.regenerate(session)  # type: ignore[attr-defined]
    session.clear()
    required = account.role.value in auth.settings.second_factor_roles.split(",")
    if not required and not account.second_factor:
        return _complete(auth, account, nxt, method, detail)
    session["pending"] = {"name": account.name, "at": time.time(), "next": nxt, "method": method,
                          "detail": dict(detail or {})}
    auth.record(account.name, "login", account.name, account.scope, "second-factor",
                {"method": method, "enrolled": account.second_factor, **(detail or {})})
    return redirect(_with_lang(auth, "/login/code" if account.second_factor else "/login/enrol"))


def _complete(auth: Auth, account: Account, nxt: str | None, method: str, detail: Mapping[str, Any] | None,
              factor: str | None = None) -> Any:
    """Log the session in (its id already new) and go on: to the forced password change, or where asked."""
    session.pop("pending", None)
    user = User(account.name, account.role, account.scope, account.must_change)
    login_user(user)
    session.update(name=account.name, role=account.role.value, scope=account.scope,
                   must_change=account.must_change, login_at=time.time())
    auth.sessions.start(session.sid, account.name)  # type: ignore[attr-defined]
    auth.record(account.name, "login", account.name, account.scope, "ok",
                {"role": account.role.value, "method": method, **({"second_factor": factor} if factor else {}),
                 **(detail or {})})
    if account.must_change:
        return redirect(_with_lang(auth, "/password"))
    return redirect(nxt or landing(user, auth.registry, auth.city))


def _admin_pages(server: flask.Flask, auth: Auth) -> None:
    @server.route("/admin/accounts")
    def accounts() -> Any:
        now = time.time()
        rows = auth.store.list()
        locked = [a.name for a in rows if a.locked_until and a.locked_until.timestamp() > now]
        return _page(auth, "accounts.html", rows=rows, locked=locked, may_unlock=current_user.may(Perm.UNLOCK))

    @server.route("/admin/accounts/<name>/unlock", methods=["POST"])
    def unlock(name: str) -> Any:
        user = current_user
        try:
            account = auth.store.unlock(name)
        except AccountError as exc:
            auth.record(user.name, "account.unlock", name, auth.city, "refused", {"reason": str(exc)})
            return _refuse(404, str(exc))
        auth.throttle.clear("account", name)
        auth.record(user.name, "account.unlock", name, account.scope, "ok")
        return redirect("/admin/accounts")

    @server.route("/admin/audit")
    def audit_page() -> Any:
        return _page(auth, "audit.html", rows=auth.audit.newest(200), problem=auth.audit.verify())

    @server.route("/admin/audit/export.csv")
    def audit_export() -> Any:
        try:
            start = beijing_day(request.args["from"]) if request.args.get("from") else None
            end = beijing_day(request.args["to"]) + timedelta(days=1) if request.args.get("to") else None
        except ValueError:
            return _refuse(400, "from, to: dates as YYYY-MM-DD")
        out = io.StringIO()
        n = auth.audit.export_csv(out, start, end)
        user = current_user
        auth.record(user.name, "audit.export", "audit", user.scope, "ok",
                    {"from": request.args.get("from"), "to": request.args.get("to"), "rows": n})
        return Response(out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=audit.csv"})


def _beijing(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may follow a login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ch <= " " or ch == "\x7f" for ch in target):  # browsers drop tabs and newlines: "/\t/evil"
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target
