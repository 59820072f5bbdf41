"""Connections to eAccounting and AccountView: settings, consent, status, test."""

# No ``from __future__ import annotations``: FastAPI must see the route-local aliases.
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from koppel.gateway.adapters.oauth import System
from koppel.gateway.api.deps import Deps
from koppel.gateway.api.problems import AUTH, INVALID, NOT_FOUND, problem
from koppel.gateway.errors import InvalidInput
from koppel.gateway.schemas import (
    AuthorizeResponse,
    ConnectionPublic,
    ConnectionPut,
    ConnectionTestResult,
    OAuthCallbackResult,
)
from koppel.gateway.service import connections, probing
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import Principal


def build(deps: Deps) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["connections"])
    Gw = Annotated[Gateway, Depends(deps.gateway)]
    Uow = Annotated[UnitOfWork, Depends(deps.uow)]
    Tenant = Annotated[Principal, Depends(deps.tenant)]

    @router.get(
        "/connections",
        response_model=list[ConnectionPublic],
        summary="List my connections",
        responses={**AUTH},
    )
    async def list_connections(gw: Gw, uow: Uow, who: Tenant) -> list[ConnectionPublic]:
        """Both systems' connection status (never a secret or token)."""
        return [
            connections.public_view(
                gw, system, await connections.find_connection(uow, who.tenant, system)
            )
            for system in System
        ]

    @router.get(
        "/connections/{system}",
        response_model=ConnectionPublic,
        summary="Get a connection",
        responses={**AUTH, **INVALID},
    )
    async def get_connection(system: System, gw: Gw, uow: Uow, who: Tenant) -> ConnectionPublic:
        """Status (connected, needs_consent, failing), last error, base URLs, client id, company."""
        return connections.public_view(
            gw, system, await connections.find_connection(uow, who.tenant, system)
        )

    @router.put(
        "/connections/{system}",
        response_model=ConnectionPublic,
        summary="Configure a connection",
        responses={**AUTH, **INVALID},
    )
    async def put_connection(
        system: System, data: ConnectionPut, gw: Gw, uow: Uow, who: Tenant
    ) -> ConnectionPublic:
        """Base URLs (default production), client id and secret, company, optionally a refresh token.

        Secrets are write-only: an omitted ``client_secret`` or ``refresh_token`` keeps its
        stored value, ``null`` clears it.
        """
        row = await connections.put_connection(gw, uow, who.tenant, system, data, who.actor)
        return connections.public_view(gw, system, row)

    @router.post(
        "/connections/{system}/test",
        response_model=ConnectionTestResult,
        summary="Test a connection",
        responses={**AUTH, **NOT_FOUND, **INVALID},
    )
    async def test_connection(system: System, gw: Gw, who: Tenant) -> ConnectionTestResult:
        """Gets an access token (refreshing it if needed) and tries a few reads; reports each check."""
        return await probing.test_connection(gw, who.tenant, system)

    @router.get(
        "/connections/{system}/authorize",
        response_model=AuthorizeResponse,
        summary="Start OAuth consent",
        responses={**AUTH, **NOT_FOUND, **INVALID},
    )
    async def authorize(system: System, gw: Gw, uow: Uow, who: Tenant) -> AuthorizeResponse:
        """The URL to send the user to; the system redirects back to ``/v1/oauth/callback``."""
        url, expires_at = await connections.start_authorization(gw, uow, who.tenant, system)
        return AuthorizeResponse(authorize_url=url, expires_at=expires_at)

    @router.get(
        "/oauth/callback",
        response_model=OAuthCallbackResult,
        summary="OAuth redirect target",
        responses={
            **INVALID,
            502: problem(502, "Bad Gateway", "the token endpoint refused the code"),
        },
    )
    async def callback(
        gw: Gw,
        uow: Uow,
        state: Annotated[str | None, Query(max_length=200)] = None,
        code: Annotated[str | None, Query(max_length=4000)] = None,
        error: Annotated[str | None, Query(max_length=200)] = None,
    ) -> OAuthCallbackResult:
        """Where the system sends the user back: checks the state, exchanges the code, stores the tokens."""
        if error is not None:
            raise InvalidInput(f"the authorization was not granted ({error})", field="error")
        if not state:
            raise InvalidInput("state is missing", field="state")
        if not code:
            raise InvalidInput("code is missing", field="code")
        row = await connections.complete_authorization(gw, uow, state=state, code=code)
        return OAuthCallbackResult(system=row.system, status=row.status)

    return router
