"""OAuth2 of AccountView's AMS: authorization codes, access tokens, rotating refresh tokens.

Client credentials come in the form body (notes section 1). Refresh tokens are single use:
each refresh returns a new one and the old one is refused from then on [I].
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from koppel.sandbox.common import SandboxClock

SCOPES = "readaccountviewdata updateaccountviewdata deleteaccountviewdata"


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code


@dataclass
class _Grant:
    client_id: str
    scope: str
    expires_at: float
    redirect_uri: str = ""


class TokenStore:
    def __init__(
        self,
        clock: SandboxClock,
        client_id: str,
        client_secret: str,
        access_ttl: int,
        refresh_ttl: int,
        code_ttl: int,
    ) -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.code_ttl = code_ttl
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._used_refresh: set[str] = set()

    def check_client(self, client_id: str | None, client_secret: str | None = None) -> None:
        if client_id != self.client_id or (
            client_secret is not None and client_secret != self.client_secret
        ):
            raise OAuthError("invalid_client", "Unknown client or wrong client secret", 401)

    def issue_code(self, client_id: str, redirect_uri: str, scope: str) -> str:
        self.check_client(client_id)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(
                client_id, scope or SCOPES, self.clock.timestamp() + self.code_ttl, redirect_uri
            )
        return code

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, str | int]:
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at <= self.clock.timestamp():
            raise OAuthError("invalid_grant", "Authorization code is invalid, used or expired")
        if redirect_uri and grant.redirect_uri and redirect_uri != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorize request")
        return self.mint(grant.client_id, grant.scope)

    def refresh(self, token: str) -> dict[str, str | int]:
        with self._lock:
            if token in self._used_refresh:
                raise OAuthError("invalid_grant", "Refresh token was already used")
            grant = self._refresh.pop(token, None)
            if grant is not None:
                self._used_refresh.add(token)
        if grant is None or grant.expires_at <= self.clock.timestamp():
            raise OAuthError("invalid_grant", "Refresh token is invalid or expired")
        return self.mint(grant.client_id, grant.scope)

    def mint(self, client_id: str | None = None, scope: str | None = None) -> dict[str, str | int]:
        client = client_id or self.client_id
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.timestamp()
        with self._lock:
            self._access[access] = _Grant(client, scope or SCOPES, now + self.access_ttl)
            self._refresh[refresh] = _Grant(client, scope or SCOPES, now + self.refresh_ttl)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": scope or SCOPES,
        }

    def client_of(self, access_token: str) -> str | None:
        """The client the token belongs to, or None when unknown or expired."""
        with self._lock:
            grant = self._access.get(access_token)
        if grant is None or grant.expires_at <= self.clock.timestamp():
            return None
        return grant.client_id

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "access_tokens": len(self._access),
                "refresh_tokens": len(self._refresh),
                "used_refresh_tokens": len(self._used_refresh),
                "codes": len(self._codes),
            }
