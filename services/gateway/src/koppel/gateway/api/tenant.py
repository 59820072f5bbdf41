"""A tenant's own account: its settings, API keys, webhook secret and audit trail."""

# No ``from __future__ import annotations``: FastAPI must see the route-local aliases.
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, status

from koppel.gateway.api import views
from koppel.gateway.api.deps import Deps
from koppel.gateway.api.problems import AUTH, INVALID, NOT_FOUND
from koppel.gateway.models import AuditRow
from koppel.gateway.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    AuditEntry,
    Page,
    TenantPublic,
    TenantUpdate,
    WebhookSecretRotated,
)
from koppel.gateway.service import tenants
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import Principal

_A = AuditRow.__table__  # type: ignore[attr-defined]


def build(deps: Deps) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["account"], responses={**AUTH, **INVALID})
    Gw = Annotated[Gateway, Depends(deps.gateway)]
    Uow = Annotated[UnitOfWork, Depends(deps.uow)]
    Tenant = Annotated[Principal, Depends(deps.tenant)]
    Limit = Annotated[int, Query(ge=1, le=200)]

    @router.get("/tenant", response_model=TenantPublic, summary="Get my tenant")
    async def get_me(uow: Uow, who: Tenant) -> TenantPublic:
        """The calling tenant's settings."""
        return views.tenant(await tenants.get_tenant(uow, who.tenant))

    @router.patch(
        "/tenant", response_model=TenantPublic, summary="Change my tenant", responses={**INVALID}
    )
    async def patch_me(data: TenantUpdate, gw: Gw, uow: Uow, who: Tenant) -> TenantPublic:
        """Name, personal-data redaction in the activity log, log retention in days."""
        return views.tenant(await tenants.update_tenant(gw, uow, who.tenant, data, who.actor))

    @router.post(
        "/tenant/webhook-secret/rotate",
        response_model=WebhookSecretRotated,
        summary="Rotate my webhook secret",
    )
    async def rotate_secret(gw: Gw, uow: Uow, who: Tenant) -> WebhookSecretRotated:
        """A new webhook secret, shown once; the old one stops working at once."""
        return WebhookSecretRotated(
            webhook_secret=await tenants.rotate_webhook_secret(gw, uow, who.tenant, who.actor)
        )

    @router.get("/api-keys", response_model=Page[ApiKeyPublic], summary="List my API keys")
    async def list_keys(
        uow: Uow, who: Tenant, cursor: str | None = None, limit: Limit = 50
    ) -> Page[ApiKeyPublic]:
        """Every key of the tenant, revoked ones included; only each key's prefix is shown."""
        rows, next_cursor = await tenants.list_api_keys(uow, who.tenant, cursor=cursor, limit=limit)
        return Page[ApiKeyPublic](items=[views.api_key(r) for r in rows], next_cursor=next_cursor)

    @router.post(
        "/api-keys",
        status_code=status.HTTP_201_CREATED,
        response_model=ApiKeyCreated,
        summary="Create an API key",
        responses={**INVALID},
    )
    async def create_key(data: ApiKeyCreate, gw: Gw, uow: Uow, who: Tenant) -> ApiKeyCreated:
        """A new key; the full key is in this answer only."""
        row, key = await tenants.create_api_key(gw, uow, who.tenant, data.name, who.actor)
        return views.api_key_created(row, key)

    @router.delete(
        "/api-keys/{key_id}",
        response_model=ApiKeyPublic,
        summary="Revoke an API key",
        responses={**NOT_FOUND},
    )
    async def revoke_key(key_id: str, gw: Gw, uow: Uow, who: Tenant) -> ApiKeyPublic:
        """The key stops working at once. Revoking twice is harmless."""
        return views.api_key(await tenants.revoke_api_key(gw, uow, who.tenant, key_id, who.actor))

    @router.post(
        "/api-keys/{key_id}/rotate",
        response_model=ApiKeyCreated,
        summary="Rotate an API key",
        responses={**NOT_FOUND},
    )
    async def rotate_key(key_id: str, gw: Gw, uow: Uow, who: Tenant) -> ApiKeyCreated:
        """Revokes the key and answers a new one with the same name (shown once)."""
        row, key = await tenants.rotate_api_key(gw, uow, who.tenant, key_id, who.actor)
        return views.api_key_created(row, key)

    @router.get("/audit", response_model=list[AuditEntry], summary="Who changed what")
    async def audit(uow: Uow, who: Tenant, limit: Limit = 100) -> list[AuditEntry]:
        """The latest configuration changes of the tenant (which section, by which key, when); no values."""
        stmt = (
            sa.select(AuditRow)
            .where(_A.c.tenant_id == who.tenant)
            .order_by(_A.c.at.desc(), _A.c.id.desc())
            .limit(limit)
        )
        return [views.audit(r) for r in (await uow.session.execute(stmt)).scalars()]

    return router
