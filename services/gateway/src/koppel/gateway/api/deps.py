"""Request dependencies: the gateway context, a unit of work, and who is calling.

Built per service context (``Deps(ctx)``) rather than as module globals, so two gateways in
one process (tests, the embedded runner) never share state.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Depends, Request

from koppel.gateway.errors import Forbidden, Unauthorized
from koppel.gateway.service import tenants
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import Principal

SERVICE_TOKEN_HEADER = "x-koppel-service-token"


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <API key>")
    return token.strip()


class Deps:
    def __init__(self, gateway: Callable[[], Gateway]) -> None:
        self.gateway = gateway

        async def uow(gw: Gateway = Depends(gateway)) -> AsyncIterator[UnitOfWork]:
            async with gw.uow() as unit:
                yield unit

        async def principal(request: Request, gw: Gateway = Depends(gateway)) -> Principal:
            presented = bearer(request)
            async with gw.uow() as unit:
                return await tenants.authenticate(gw, unit, presented)

        async def admin(who: Principal = Depends(principal)) -> Principal:
            if not who.is_admin:
                raise Forbidden("this route needs the admin API key")
            return who

        async def tenant(who: Principal = Depends(principal)) -> Principal:
            if who.is_admin:
                raise Forbidden("this route needs a tenant API key")
            return who

        async def service(request: Request, gw: Gateway = Depends(gateway)) -> None:
            """Internal routes: ``X-Koppel-Service-Token`` (or ``Authorization: Bearer``)."""
            expected = gw.settings.service_token.get_secret_value().encode()
            given = request.headers.get(SERVICE_TOKEN_HEADER)
            if given is None:
                scheme, _, token = request.headers.get("authorization", "").partition(" ")
                given = token if scheme.lower() == "bearer" else ""
            if not hmac.compare_digest(given.encode(), expected):
                raise Unauthorized("a valid service token is required")

        self.uow: Callable[..., Any] = uow
        self.principal: Callable[..., Any] = principal
        self.admin: Callable[..., Any] = admin
        self.tenant: Callable[..., Any] = tenant
        self.service: Callable[..., Any] = service
