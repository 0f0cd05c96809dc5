"""Single sign-on: a provincial identity platform (统一身份认证) vouches for the person, by OpenID
Connect (Authlib) or CAS 3.0 (python-cas); the claims it sends say the role and scope here.

Both end in :func:`dashboard.web.auth.first_factor_done`, as a password does: an administrator's
second factor still applies, the session id is new, the login is audited with its method. The
person's account here is made at the first login (no password here: ``source`` oidc or cas) and its
role and scope follow the claims at every login, so `pingan users disable` works on them as on anyone.
A person whose claims name no role here, or no scope of this city, is refused, and the refusal is
audited with what the claims said.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import flask
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from cas import CASClient
from flask import redirect, request, session, url_for

from dashboard.accounts.account_store import AccountError
from dashboard.accounts.roles import ACCOUNT_ROLES
from dashboard.contract.settings import Settings
from dashboard.web import auth as web_auth
from layouts.i18n import t

log = logging.getLogger(__name__)

ENDPOINTS = frozenset({"login_oidc", "oidc_callback", "login_cas", "cas_callback"})


class ClaimsError(ValueError):
    """The identity's claims do not say who may do what here."""


def buttons(settings: Settings, nxt: str | None) -> list[tuple[str, str]]:
    """(href, words) of each configured single sign-on, for the login page."""
    query = f"?{urlencode({'next': nxt})}" if nxt else ""
    out = []
    if settings.oidc_issuer:
        out.append((f"/login/oidc{query}", settings.sso_label))
    if settings.cas_server_url:
        both = bool(settings.oidc_issuer)
        out.append((f"/login/cas{query}", f"{settings.sso_label} (CAS)" if both else settings.sso_label))
    return out


def role_and_scope(settings: Settings, claims: Mapping[str, Any]) -> tuple[str, str, str]:
    """(name, role, scope) the claims say, or ClaimsError naming what is missing."""
    name = str(claims.get(settings.sso_name_claim) or claims.get("sub") or "").strip()
    if not name:
        raise ClaimsError(f"no {settings.sso_name_claim} or sub claim")
    raw = claims.get(settings.sso_role_claim)
    values = raw if isinstance(raw, list) else [raw] if raw else []
    roles = [settings.sso_role_map.get(str(v), str(v)) for v in values]
    role = next((r for r in roles if r in ACCOUNT_ROLES), None)
    if role is None:
        raise ClaimsError(f"no role here for {settings.sso_role_claim}={values!r}")
    scope = str(claims.get(settings.sso_scope_claim) or "").strip()
    if not scope:
        raise ClaimsError(f"no {settings.sso_scope_claim} claim")
    return name, role, scope


def install(server: flask.Flask, auth: web_auth.Auth) -> None:
    """The single sign-on routes that the settings configure (none when neither is set)."""
    settings = auth.settings
    if settings.oidc_issuer:
        _oidc(server, auth)
    if settings.cas_server_url:
        _cas(server, auth)


def _arrive(server: flask.Flask, auth: web_auth.Auth, method: str, claims: Mapping[str, Any]) -> Any:
    """The identity the platform vouched for: its account here, then the rest of the login."""
    nxt = web_auth.safe_next(session.pop("sso_next", None))
    shown = {k: claims.get(k) for k in (auth.settings.sso_name_claim, "sub", auth.settings.sso_role_claim,
                                        auth.settings.sso_scope_claim) if k in claims}
    try:
        name, role, scope = role_and_scope(auth.settings, claims)
        account = auth.store.from_sso(name, role, scope, method)
    except (ClaimsError, AccountError) as exc:
        subject = str(shown.get(auth.settings.sso_name_claim) or shown.get("sub") or "-")[:64]
        auth.record(subject, "login", subject, auth.city, "failed", {"method": method, "reason": str(exc),
                                                                     "claims": shown})
        return _refused(auth, t("auth_sso_refused", web_auth.page_lang(auth)))
    if account.disabled:
        auth.record(name, "login", name, account.scope, "failed", {"method": method, "reason": "disabled"})
        return _refused(auth, t("auth_disabled", web_auth.page_lang(auth)))
    return web_auth.first_factor_done(server, auth, account, nxt, method, {"claims": shown})


def _refused(auth: web_auth.Auth, error: str) -> Any:
    return web_auth.login_page(auth, 401, error)


def _oidc(server: flask.Flask, auth: web_auth.Auth) -> None:
    settings = auth.settings
    oauth = OAuth(server)
    oauth.register("sso", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
                   server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
                   client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"})
    client = oauth.create_client("sso")

    @server.route("/login/oidc")
    def login_oidc() -> Any:
        session["sso_next"] = web_auth.safe_next(request.args.get("next"))
        return client.authorize_redirect(url_for("oidc_callback", _external=True))

    @server.route("/login/oidc/callback")
    def oidc_callback() -> Any:
        """The provider's answer: the code for a token, whose ID token Authlib checks (signature, issuer,
        audience, nonce, state)."""
        try:
            token = client.authorize_access_token()
        except (OAuthError, ValueError, OSError) as exc:  # the provider's error, a forged state, no answer
            auth.record("-", "login", "-", auth.city, "failed", {"method": "oidc", "reason": str(exc)[:200]})
            return _refused(auth, t("auth_sso_refused", web_auth.page_lang(auth)))
        claims = dict(token.get("userinfo") or {})
        return _arrive(server, auth, "oidc", claims)


def _cas(server: flask.Flask, auth: web_auth.Auth) -> None:
    settings = auth.settings
    base = settings.cas_server_url if settings.cas_server_url.endswith("/") else settings.cas_server_url + "/"

    def cas_client() -> CASClient:
        return CASClient(version=3, server_url=base, service_url=url_for("cas_callback", _external=True))

    @server.route("/login/cas")
    def login_cas() -> Any:
        session["sso_next"] = web_auth.safe_next(request.args.get("next"))
        return redirect(cas_client().get_login_url())

    @server.route("/login/cas/callback")
    def cas_callback() -> Any:
        """CAS sends a service ticket; the CAS server says whose it is (serviceValidate, CAS 3.0)."""
        ticket = request.args.get("ticket", "")
        try:
            user, attributes, _ = cas_client().verify_ticket(ticket) if ticket else (None, {}, None)
        except Exception as exc:  # noqa: BLE001 - python-cas raises what its XML parser and requests raise
            log.warning("CAS validation failed: %s", exc)
            user, attributes = None, {}
        if not user:
            auth.record("-", "login", "-", auth.city, "failed", {"method": "cas", "reason": "ticket not valid"})
            return _refused(auth, t("auth_sso_refused", web_auth.page_lang(auth)))
        return _arrive(server, auth, "cas", {"sub": user, **(attributes or {})})
