"""The internal API other services call (``X-Koppel-Service-Token``): tokens and settings.

Services never refresh tokens themselves (DESIGN.md section 5): they ask here, and after a
401 from the API they report the refused token so the gateway refreshes it (once, however
many report it).
"""

# No ``from __future__ import annotations``: FastAPI must see the route-local aliases.
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from koppel.gateway.adapters.oauth import System
from koppel.gateway.api.deps import Deps
from koppel.gateway.api.problems import INVALID, NOT_FOUND, Responses, problem
from koppel.gateway.schemas import InternalToken, TokenRefreshRequest
from koppel.gateway.service import flows, tokens
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork

ERRORS: Responses = {
    401: problem(401, "Unauthorized", "a valid service token is required"),
    409: problem(409, "Conflict", "the eaccounting connection has no consent yet"),
    503: problem(503, "Service Unavailable", "the token endpoint could not be reached"),
    **NOT_FOUND,
    **INVALID,
}


def _view(token: tokens.IssuedToken) -> InternalToken:
    return InternalToken(
        system=token.system,
        access_token=token.access_token,
        expires_at=token.expires_at,
        api_base_url=token.api_base_url,
        company=token.company,
    )


def build(deps: Deps) -> APIRouter:
    router = APIRouter(
        prefix="/internal/tenants",
        tags=["internal"],
        dependencies=[Depends(deps.service)],
        responses=ERRORS,
    )
    Gw = Annotated[Gateway, Depends(deps.gateway)]
    Uow = Annotated[UnitOfWork, Depends(deps.uow)]

    @router.get(
        "/{tenant_id}/connections/{system}/token",
        response_model=InternalToken,
        summary="Current access token",
    )
    async def get_token(tenant_id: str, system: System, gw: Gw) -> InternalToken:
        """A token the API accepts, refreshed first (single-flight) if it is about to expire."""
        return _view(await tokens.current_token(gw, tenant_id, system))

    @router.post(
        "/{tenant_id}/connections/{system}/token/refresh",
        response_model=InternalToken,
        summary="Report a refused token",
    )
    async def refresh_token(
        tenant_id: str, system: System, data: TokenRefreshRequest, gw: Gw
    ) -> InternalToken:
        """After a 401: refreshes unless another caller already did, and answers the current token."""
        return _view(
            await tokens.current_token(
                gw, tenant_id, system, rejected=data.rejected_access_token or ""
            )
        )

    @router.get("/{tenant_id}/settings", summary="Tenant and flow settings")
    async def settings(tenant_id: str, uow: Uow) -> dict[str, Any]:
        """The tenant, every flow's switch/schedule/settings and each connection's status. No secrets."""
        return await flows.tenant_settings(uow, tenant_id)

    return router
