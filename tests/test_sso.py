"""Single sign-on end to end: OpenID Connect against a real local provider (oidc-provider-mock, run
in-process) and CAS 3.0 against a small local CAS server; the claims land on the right role and
scope, an administrator still needs the second factor, and what cannot be mapped is refused and
audited — through Flask's test client (the browser's side) against the real Redis and database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

import httpx
import orjson
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from dashboard.accounts.audit_log import AuditLog
from dashboard.web.app import create_app
from tests.logins import PASSWORD, add_account, log_in
from tests.test_auth import _frame_config, _pages_callback

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")

CITY, TAISHAN = "440700", "440781"
ROLE_MAP = {"指挥中心值班": "duty", "市领导": "leader", "运维": "sysadmin"}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


class CasServer:
    """A CAS 3.0 server as small as the protocol: /login hands the browser a service ticket for the
    person the test says is at the keyboard; /p3/serviceValidate says whose a ticket is, once."""

    def __init__(self) -> None:
        self.person: tuple[str, dict[str, str]] = ("nobody", {})
        self.tickets: dict[str, tuple[str, str, dict[str, str]]] = {}
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cas/"

    @Request.application
    def app(self, request: Request) -> Response:
        if request.path == "/cas/login":
            ticket = f"ST-{uuid.uuid4().hex}"
            self.tickets[ticket] = (request.args["service"], *self.person)
            service = request.args["service"]
            return Response(status=302, headers={"Location": f"{service}?{urlencode({'ticket': ticket})}"})
        if request.path == "/cas/p3/serviceValidate":
            found = self.tickets.pop(request.args.get("ticket", ""), None)
            if found is None or found[0] != request.args.get("service"):
                body = ('<cas:authenticationFailure code="INVALID_TICKET">not recognised'
                        "</cas:authenticationFailure>")
            else:
                attrs = "".join(f"<cas:{k}>{escape(v)}</cas:{k}>" for k, v in found[2].items())
                body = (f"<cas:authenticationSuccess><cas:user>{escape(found[1])}</cas:user>"
                        f"<cas:attributes>{attrs}</cas:attributes></cas:authenticationSuccess>")
            return Response(f'<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">{body}</cas:serviceResponse>',
                            mimetype="application/xml")
        return Response(status=404)


@pytest.fixture(scope="module")
def cas_server() -> Iterator[CasServer]:
    cas = CasServer()
    thread = threading.Thread(target=cas.server.serve_forever, daemon=True)
    thread.start()
    yield cas
    cas.server.shutdown()


@pytest.fixture
def settings(settings, provider, cas_server):
    return settings.model_copy(update={
        "tile_probe": False, "tile_url": "", "oidc_issuer": provider, "oidc_client_id": "pingan",
        "oidc_client_secret": "not-so-secret", "cas_server_url": cas_server.url, "sso_role_map": ROLE_MAP})


@pytest.fixture
def app(settings, r):
    return create_app(settings)


def _audit(settings) -> list[tuple[str, str, str, dict[str, Any]]]:
    log = AuditLog.from_settings(settings)
    try:
        return [(x.subject, x.action, x.result, orjson.loads(x.detail)) for x in log.rows()]
    finally:
        log.engine.dispose()


def _oidc_login(client, provider: str, sub: str, claims: dict[str, Any], nxt: str = "") -> Any:
    """The person at the provider's login form; the response of our callback."""
    assert httpx.put(f"{provider}/users/{sub}", json=claims).status_code == 204
    start = client.get("/login/oidc" + (f"?next={nxt}" if nxt else ""))
    assert start.status_code == 302 and start.headers["Location"].startswith(provider)
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = httpx.post(start.headers["Location"], data={"sub": sub})
    assert back.status_code == 302, back.text[:300]
    target = urlsplit(back.headers["Location"])
    assert target.path == "/login/oidc/callback"
    return client.get(f"{target.path}?{target.query}")


def _cas_login(client, cas: CasServer, user: str, attributes: dict[str, str]) -> Any:
    cas.person = (user, attributes)
    start = client.get("/login/cas")
    assert start.status_code == 302 and start.headers["Location"].startswith(cas.url + "login?service=")
    back = httpx.get(start.headers["Location"])
    target = urlsplit(back.headers["Location"])
    assert target.path == "/login/cas/callback"
    return client.get(f"{target.path}?{target.query}")


def test_the_login_page_offers_each_configured_sign_on(app):
    page = app.server.test_client().get("/login?next=/board/emergency").get_data(as_text=True)
    assert 'href="/login/oidc?next=%2Fboard%2Femergency"' in page and 'href="/login/cas?next=' in page


def test_an_oidc_login_lands_on_the_role_and_scope_its_claims_say(app, settings, provider):
    client = app.server.test_client()
    resp = _oidc_login(client, provider, "li-ts", {"preferred_username": "li-ts", "role": "指挥中心值班",
                                                   "adcode": TAISHAN}, nxt="/board/emergency")
    assert resp.status_code == 302 and resp.headers["Location"] == "/board/emergency"
    viewer = _frame_config(_pages_callback(client, "").get_json())["viewer"]
    assert viewer["name"] == "li-ts" and viewer["role"] == "duty" and viewer["may_ack"] is True
    assert _frame_config(_pages_callback(client, "").get_json())["scope"] == TAISHAN
    assert client.get(f"/api/snapshot/wall?scope={CITY}").status_code == 403, "only 台山"
    login = [row for row in _audit(settings) if row[1] == "login"][-1]
    assert login[:3] == ("li-ts", "login", "ok") and login[3]["method"] == "oidc"
    # the next login follows the claims as they are then: promoted to the city's leader
    again = app.server.test_client()
    _oidc_login(again, provider, "li-ts", {"preferred_username": "li-ts", "role": ["其他", "市领导"],
                                           "adcode": CITY})
    viewer = _frame_config(_pages_callback(again, "").get_json())["viewer"]
    assert viewer["role"] == "leader" and viewer["may_ack"] is False
    assert log_in(app.server.test_client(), "li-ts", PASSWORD).status_code == 401, "no password here"


def test_an_administrator_from_oidc_still_needs_the_second_factor(app, provider):
    client = app.server.test_client()
    resp = _oidc_login(client, provider, "ops-1", {"preferred_username": "ops-1", "role": "运维", "adcode": CITY})
    assert resp.headers["Location"] == "/login/enrol"
    assert client.get("/admin/accounts").status_code == 302


def test_claims_that_say_no_role_or_scope_here_are_refused_and_audited(app, settings, provider):
    for sub, claims in (("x1", {"role": "游客", "adcode": CITY}), ("x2", {"role": "指挥中心值班"}),
                        ("x3", {"role": "指挥中心值班", "adcode": "110000"}),
                        ("x4", {"role": "screen", "adcode": CITY})):
        client = app.server.test_client()
        resp = _oidc_login(client, provider, sub, {"preferred_username": sub, **claims})
        assert resp.status_code == 401 and "统一身份认证未能登录" in resp.get_data(as_text=True), sub
        assert client.get("/wall").status_code == 302
    failed = [(s, d["reason"]) for s, a, res, d in _audit(settings) if a == "login" and res == "failed"]
    assert [s for s, _ in failed] == ["x1", "x2", "x3", "x4"]
    assert "游客" in failed[0][1] and "adcode" in failed[1][1] and "110000" in failed[2][1]


def test_a_local_account_is_never_taken_over_by_a_sign_on(app, settings, provider):
    add_account(settings, "zhang", "leader")
    resp = _oidc_login(app.server.test_client(), provider, "zhang",
                       {"preferred_username": "zhang", "role": "指挥中心值班", "adcode": CITY})
    assert resp.status_code == 401


def test_a_callback_without_its_state_is_refused(app, settings):
    resp = app.server.test_client().get("/login/oidc/callback?code=stolen&state=forged")
    assert resp.status_code == 401
    assert _audit(settings)[-1][:3] == ("-", "login", "failed")


def test_a_cas_login_lands_on_the_role_and_scope_its_attributes_say(app, settings, cas_server):
    client = app.server.test_client()
    resp = _cas_login(client, cas_server, "wang", {"role": "指挥中心值班", "adcode": TAISHAN, "name": "王"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/wall?scope={TAISHAN}"
    viewer = _frame_config(_pages_callback(client, "").get_json())["viewer"]
    assert viewer["name"] == "wang" and viewer["role"] == "duty"
    assert client.get(f"/api/snapshot/wall?scope={CITY}").status_code == 403
    login = [row for row in _audit(settings) if row[1] == "login"][-1]
    assert login[:3] == ("wang", "login", "ok") and login[3]["method"] == "cas"
    # a ticket works once
    replay = app.server.test_client().get("/login/cas/callback?ticket=ST-used")
    assert replay.status_code == 401 and _audit(settings)[-1][:3] == ("-", "login", "failed")
