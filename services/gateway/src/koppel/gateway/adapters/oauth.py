"""A small OAuth 2 token client for both systems' token endpoints.

The gateway is the only place that talks to these endpoints (DESIGN.md section 5), so this is
deliberately not in the connectors: they only ever see access tokens.

eAccounting: ``<identity>/connect/token``, client auth by HTTP Basic. AccountView:
``<api>/token``, client credentials in the form body (its server ignores the auth header).
Both answer ``access_token``, ``refresh_token`` and (eAccounting) ``expires_in``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import httpx

from koppel.common.errors import PermanentError, TransientError

DEFAULT_EXPIRES_IN = 3600
EACCOUNTING_SCOPES = "ea:api offline_access ea:sales ea:accounting"
ACCOUNTVIEW_SCOPES = "readaccountviewdata updateaccountviewdata"


class System(StrEnum):
    eaccounting = "eaccounting"
    accountview = "accountview"


@dataclass(frozen=True)
class OAuthEndpoints:
    system: System
    authorize_url: str
    token_url: str
    scope: str


def endpoints_for(system: System, *, api_base_url: str, auth_base_url: str) -> OAuthEndpoints:
    """``auth_base_url`` is the identity server (eAccounting) or the authorize page (AccountView)."""
    if system is System.eaccounting:
        identity = auth_base_url.rstrip("/")
        return OAuthEndpoints(
            system, identity + "/connect/authorize", identity + "/connect/token", EACCOUNTING_SCOPES
        )
    return OAuthEndpoints(
        system, auth_base_url, api_base_url.rstrip("/") + "/token", ACCOUNTVIEW_SCOPES
    )


def authorize_url(
    endpoints: OAuthEndpoints, *, client_id: str, redirect_uri: str, state: str
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": endpoints.scope,
        "state": state,
    }
    if endpoints.system is System.eaccounting:
        # Multi-company users must pick the company the token is bound to.
        params["prompt"] = "select_account"
    separator = "&" if "?" in endpoints.authorize_url else "?"
    return endpoints.authorize_url + separator + urlencode(params)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime


class ConsentRefused(PermanentError):
    """The token endpoint refused the grant (``invalid_grant``): the user must consent again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, reason_code="needs_consent")


class TokenEndpointError(TransientError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, reason_code="token_endpoint_unavailable")


class OAuthClient:
    """Exchanges codes and refresh tokens. Never logs or raises with a secret in the text."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def exchange_code(
        self,
        endpoints: OAuthEndpoints,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        now: datetime,
    ) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return await self._token_request(endpoints, client_id, client_secret, form, now)

    async def refresh(
        self,
        endpoints: OAuthEndpoints,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        now: datetime,
    ) -> TokenSet:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._token_request(endpoints, client_id, client_secret, form, now)

    async def _token_request(
        self,
        endpoints: OAuthEndpoints,
        client_id: str,
        client_secret: str,
        form: dict[str, str],
        now: datetime,
    ) -> TokenSet:
        auth: httpx.Auth | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
        if endpoints.system is System.eaccounting:
            auth = httpx.BasicAuth(client_id, client_secret)
        else:
            form = {**form, "client_id": client_id, "client_secret": client_secret}
        try:
            response = await self._http.post(
                endpoints.token_url, data=form, auth=auth, timeout=20.0
            )
        except httpx.HTTPError as exc:
            raise TokenEndpointError(
                f"the {endpoints.system.value} token endpoint could not be reached ({type(exc).__name__})"
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TokenEndpointError(
                f"the {endpoints.system.value} token endpoint answered {response.status_code}"
            )
        body = _json_object(response)
        if response.status_code >= 400:
            error = str(body.get("error", "")) or f"http_{response.status_code}"
            if error == "invalid_grant":
                raise ConsentRefused(
                    f"the {endpoints.system.value} token endpoint refused the grant ({error})"
                )
            if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
                raise PermanentError(
                    f"the {endpoints.system.value} token endpoint refused the client id or secret ({error})",
                    reason_code="invalid_client",
                )
            raise PermanentError(
                f"the {endpoints.system.value} token endpoint rejected the request ({error})",
                reason_code="token_request_rejected",
            )
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise TokenEndpointError(
                f"the {endpoints.system.value} token endpoint answered without an access token"
            )
        refresh = body.get("refresh_token")
        expires_in = body.get("expires_in", DEFAULT_EXPIRES_IN)
        try:
            seconds = int(expires_in)
        except (TypeError, ValueError):
            seconds = DEFAULT_EXPIRES_IN
        return TokenSet(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=now + timedelta(seconds=seconds),
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
