"""Admin routes: tenants and what only an operator may do for them."""

# No ``from __future__ import annotations``: FastAPI must see the route-local aliases.
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from koppel.gateway.api import views
from koppel.gateway.api.deps import Deps
from koppel.gateway.api.problems import AUTH, INVALID, NOT_FOUND
from koppel.gateway.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    Page,
    TenantCreate,
    TenantCreated,
    TenantPublic,
    TenantUpdate,
    WebhookSecretRotated,
)
from koppel.gateway.service import tenants
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import Principal


def build(deps: Deps) -> APIRouter:
    router = APIRouter(
        prefix="/v1/tenants", tags=["tenants (admin)"], responses={**AUTH, **INVALID}
    )
    Gw = Annotated[Gateway, Depends(deps.gateway)]
    Uow = Annotated[UnitOfWork, Depends(deps.uow)]
    Admin = Annotated[Principal, Depends(deps.admin)]

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=TenantCreated,
        summary="Create a tenant",
        responses={**INVALID},
    )
    async def create_tenant(data: TenantCreate, gw: Gw, uow: Uow, _admin: Admin) -> TenantCreated:
        """Creates a tenant with its first API key and webhook secret, both shown only in this answer."""
        row, key, secret = await tenants.create_tenant(gw, uow, data)
        return TenantCreated(tenant=views.tenant(row), api_key=key, webhook_secret=secret)

    @router.get("", response_model=Page[TenantPublic], summary="List tenants")
    async def list_tenants(
        uow: Uow,
        _admin: Admin,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Page[TenantPublic]:
        """All tenants, oldest first, a page at a time (pass ``next_cursor`` back as ``cursor``)."""
        rows, next_cursor = await tenants.list_tenants(uow, cursor=cursor, limit=limit)
        return Page[TenantPublic](items=[views.tenant(r) for r in rows], next_cursor=next_cursor)

    @router.get(
        "/{tenant_id}", response_model=TenantPublic, summary="Get a tenant", responses={**NOT_FOUND}
    )
    async def get_tenant(tenant_id: str, uow: Uow, _admin: Admin) -> TenantPublic:
        """One tenant's settings: name, personal-data redaction, log retention."""
        return views.tenant(await tenants.get_tenant(uow, tenant_id))

    @router.patch(
        "/{tenant_id}",
        response_model=TenantPublic,
        summary="Change a tenant",
        responses={**NOT_FOUND, **INVALID},
    )
    async def patch_tenant(
        tenant_id: str, data: TenantUpdate, gw: Gw, uow: Uow, who: Admin
    ) -> TenantPublic:
        """Changes only the fields sent."""
        return views.tenant(await tenants.update_tenant(gw, uow, tenant_id, data, who.actor))

    @router.delete(
        "/{tenant_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete a tenant",
        responses={**NOT_FOUND},
    )
    async def delete_tenant(tenant_id: str, uow: Uow, _admin: Admin) -> Response:
        """Deletes the tenant and everything the gateway keeps for it (keys, connections, flows, runs)."""
        await tenants.delete_tenant(uow, tenant_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/{tenant_id}/api-keys",
        status_code=status.HTTP_201_CREATED,
        response_model=ApiKeyCreated,
        summary="Create an API key for a tenant",
        responses={**NOT_FOUND, **INVALID},
    )
    async def create_key(
        tenant_id: str, data: ApiKeyCreate, gw: Gw, uow: Uow, who: Admin
    ) -> ApiKeyCreated:
        """A new key for the tenant (e.g. when it lost its last one). Shown once."""
        row, key = await tenants.create_api_key(gw, uow, tenant_id, data.name, who.actor)
        return views.api_key_created(row, key)

    @router.post(
        "/{tenant_id}/webhook-secret/rotate",
        response_model=WebhookSecretRotated,
        summary="Rotate a tenant's webhook secret",
        responses={**NOT_FOUND},
    )
    async def rotate_secret(tenant_id: str, gw: Gw, uow: Uow, who: Admin) -> WebhookSecretRotated:
        """A new webhook secret, shown once; the old one stops working at once."""
        return WebhookSecretRotated(
            webhook_secret=await tenants.rotate_webhook_secret(gw, uow, tenant_id, who.actor)
        )

    return router
