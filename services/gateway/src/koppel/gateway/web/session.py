"""The browser session: an encrypted, authenticated cookie holding the API key and a CSRF token.

Why a cookie and not a server-side table: gateways run as several replicas; a Fernet token
(the gateway's ``SecretBox``) is readable by every replica, cannot be read or forged by the
browser, and carries its own expiry. The API key inside is checked on every API call, so a
revoked key ends the session at once. CSRF: a synchronizer token stored in the same cookie
and required as the ``csrf`` field of every form POST (also on the sign-in form, whose
anonymous session is replaced by a fresh one after sign-in).
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from fastapi import Request, Response

from koppel.gateway.crypto import SecretBox, SecretBoxError

COOKIE = "koppel_session"
LANG_COOKIE = "koppel_lang"


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    api_key: str | None = None
    tenant_id: str | None = None
    tenant_name: str | None = None
    expires: float = 0.0
    fresh: bool = True  # not yet in a cookie: set it on the response

    @property
    def signed_in(self) -> bool:
        return self.api_key is not None and self.expires > time.time()

    def encode(self, box: SecretBox) -> str:
        payload = {
            "c": self.csrf,
            "k": self.api_key,
            "t": self.tenant_id,
            "n": self.tenant_name,
            "e": self.expires,
        }
        return box.encrypt(json.dumps(payload, separators=(",", ":")))

    @classmethod
    def decode(cls, box: SecretBox, raw: str | None) -> Session | None:
        if not raw or len(raw) > 4000:
            return None
        try:
            data = json.loads(box.decrypt(raw))
        except (SecretBoxError, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        session = cls(
            csrf=data["c"],
            api_key=data.get("k"),
            tenant_id=data.get("t"),
            tenant_name=data.get("n"),
            expires=float(data.get("e") or 0),
            fresh=False,
        )
        if session.api_key is not None and session.expires <= time.time():
            return None  # expired: start over anonymously
        return session

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf.encode(), str(presented).encode())


def load(request: Request, box: SecretBox) -> Session:
    return Session.decode(box, request.cookies.get(COOKIE)) or Session()


def is_https(request: Request, public_url: str) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https" or public_url.startswith("https:")


def store(response: Response, session: Session, box: SecretBox, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        session.encode(box),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/app",
    )


def clear(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/app", httponly=True, samesite="lax", secure=secure)
