"""An imitation of identity.vismaonline.com: authorization-code and refresh-token grants.

- ``GET /connect/authorize`` auto-approves and redirects to ``redirect_uri?code=..&state=..``.
  Allowed redirects: any ``http://127.0.0.1[:port]/..`` or ``http://localhost[:port]/..``, plus
  ``settings.redirect_uris``.
- ``POST /connect/token`` (form-encoded; client auth by HTTP Basic or ``client_id`` /
  ``client_secret`` in the body). Refresh tokens rotate and are single use: presenting a used
  one gives ``400 {"error": "invalid_grant"}``. A refresh token is issued only with
  ``offline_access`` in the scope.
- Access tokens are opaque, live ``token_ttl_seconds`` of sandbox-clock time.
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from koppel.sandbox.common.clock import SandboxClock
from koppel.sandbox.eaccounting.settings import EAccountingSandboxSettings

KNOWN_SCOPES = frozenset(
    "openid profile email offline_access ea:api ea:sales ea:sales_readonly ea:accounting "
    "ea:accounting_readonly ea:purchase ea:purchase_readonly ea:settings ea:settings_readonly".split()
)
DEFAULT_SCOPE = "ea:api offline_access ea:sales ea:accounting ea:purchase"


@dataclass
class Grant:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    redirect_uri: str | None = None
    used: bool = False


class TokenService:
    def __init__(self, settings: EAccountingSandboxSettings, clock: SandboxClock) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self.codes: dict[str, Grant] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}

    def client_ok(self, client_id: str | None, secret: str | None) -> bool:
        return client_id == self.settings.client_id and secret == self.settings.client_secret

    def redirect_ok(self, uri: str) -> bool:
        if uri in self.settings.redirect_uris:
            return True
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")

    def issue_code(self, client_id: str, scopes: frozenset[str], redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        expires = self.clock.timestamp() + self.settings.authorization_code_ttl_seconds
        with self._lock:
            self.codes[code] = Grant(client_id, scopes, expires, redirect_uri)
        return code

    def issue_tokens(self, client_id: str, scopes: frozenset[str]) -> dict[str, Any]:
        now = self.clock.timestamp()
        token = secrets.token_urlsafe(32)
        ttl = self.settings.token_ttl_seconds
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": ttl,
            "token_type": "Bearer",
            "scope": " ".join(sorted(scopes)),
        }
        with self._lock:
            self.access[token] = Grant(client_id, scopes, now + ttl)
            if "offline_access" in scopes:
                refresh = secrets.token_urlsafe(32)
                self.refresh[refresh] = Grant(client_id, scopes, float("inf"))
                body["refresh_token"] = refresh
        return body

    def redeem_code(self, code: str, client_id: str, redirect_uri: str | None) -> Grant | None:
        with self._lock:
            grant = self.codes.get(code)
            if grant is None or grant.used or grant.client_id != client_id:
                return None
            grant.used = True  # single use even if the rest fails
            if grant.expires_at < self.clock.timestamp() or grant.redirect_uri != redirect_uri:
                return None
            return grant

    def redeem_refresh(self, token: str, client_id: str) -> Grant | None:
        with self._lock:
            grant = self.refresh.get(token)
            if grant is None or grant.used or grant.client_id != client_id:
                return None
            grant.used = True
            return grant

    def lookup(self, token: str) -> tuple[Grant | None, bool]:
        """(grant, expired)."""
        with self._lock:
            grant = self.access.get(token)
        if grant is None:
            return None, False
        return grant, grant.expires_at <= self.clock.timestamp()


def _oauth_error(error: str, status: int = 400, description: str | None = None) -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def parse_scopes(text: str | None) -> frozenset[str] | None:
    scopes = frozenset((text or DEFAULT_SCOPE).split())
    return scopes if scopes <= KNOWN_SCOPES else None


def identity_router(tokens: TokenService) -> APIRouter:
    router = APIRouter(prefix="/connect", tags=["identity"])

    @router.get("/authorize")
    async def authorize(request: Request) -> Response:
        q = request.query_params
        client_id, redirect_uri = q.get("client_id"), q.get("redirect_uri") or ""
        if client_id != tokens.settings.client_id:
            return _oauth_error("unauthorized_client", description="Unknown client_id")
        if not tokens.redirect_ok(redirect_uri):
            return _oauth_error("invalid_request", description="redirect_uri is not allowed")
        params: dict[str, str] = {}
        scopes = parse_scopes(q.get("scope"))
        if q.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif scopes is None:
            params["error"] = "invalid_scope"
        else:
            params["code"] = tokens.issue_code(client_id, scopes, redirect_uri)
            params["scope"] = " ".join(sorted(scopes))
        if q.get("state") is not None:
            params["state"] = q["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)

    @router.post("/token")
    async def token(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return _oauth_error(
                "invalid_request", description="Use application/x-www-form-urlencoded"
            )
        form = await request.form()
        client_id, secret = _client_credentials(request, form)
        if not tokens.client_ok(client_id, secret):
            return _oauth_error("invalid_client", 401)
        assert client_id is not None
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            redirect = form.get("redirect_uri")
            grant = tokens.redeem_code(
                str(form.get("code", "")), client_id, str(redirect) if redirect else None
            )
        elif grant_type == "refresh_token":
            grant = tokens.redeem_refresh(str(form.get("refresh_token", "")), client_id)
        else:
            return _oauth_error("unsupported_grant_type")
        if grant is None:
            return _oauth_error("invalid_grant")
        return JSONResponse(
            tokens.issue_tokens(client_id, grant.scopes), headers={"Cache-Control": "no-store"}
        )

    return router


def _client_credentials(request: Request, form: Any) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return None, None
        user, _, password = decoded.partition(":")
        return unquote(user), unquote(password)
    client_id, secret = form.get("client_id"), form.get("client_secret")
    return (str(client_id) if client_id else None, str(secret) if secret else None)
