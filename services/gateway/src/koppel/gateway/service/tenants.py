"""Tenants, their API keys and webhook secrets; who is calling (authentication)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col

from koppel.common.events import TenantConfigChanged
from koppel.gateway import domain
from koppel.gateway.errors import NotFound, Unauthorized
from koppel.gateway.models import TABLES, ApiKeyRow, AuditRow, TenantRow
from koppel.gateway.schemas import TenantCreate, TenantUpdate
from koppel.gateway.service.context import Gateway, new_id
from koppel.gateway.service.paging import keyset_page
from koppel.gateway.service.ports import UnitOfWork

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin, or one tenant through one of its keys."""

    tenant_id: str | None
    actor: str  # "admin" or the key's prefix: safe to log and audit

    @property
    def is_admin(self) -> bool:
        return self.tenant_id is None

    @property
    def tenant(self) -> str:
        """The caller's tenant (tenant routes only ever see tenant principals)."""
        if self.tenant_id is None:
            raise ValueError("the admin principal has no tenant")
        return self.tenant_id


async def authenticate(gw: Gateway, uow: UnitOfWork, presented: str) -> Principal:
    admin = gw.settings.admin_api_key
    if admin is not None and domain.constant_time_equal(
        domain.sha256_hex(presented), domain.sha256_hex(admin.get_secret_value())
    ):
        return Principal(tenant_id=None, actor="admin")
    key_hash = domain.sha256_hex(presented)
    row = (
        await uow.session.execute(
            sa.select(ApiKeyRow).where(
                col(ApiKeyRow.key_hash) == key_hash, col(ApiKeyRow.revoked_at).is_(None)
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise Unauthorized("the API key is unknown or revoked")
    now = gw.clock()
    # Record use coarsely: a write on every request would serialise SQLite for nothing.
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        await uow.commit()
    return Principal(tenant_id=row.tenant_id, actor=row.prefix)


def audit(
    uow: UnitOfWork, gw: Gateway, tenant_id: str, actor: str, section: str, action: str
) -> None:
    uow.session.add(
        AuditRow(tenant_id=tenant_id, actor=actor, section=section, action=action, at=gw.clock())
    )


def config_changed(uow: UnitOfWork, tenant_id: str, section: str) -> None:
    uow.publish(TenantConfigChanged(tenant_id=tenant_id, section=section))


async def get_tenant(uow: UnitOfWork, tenant_id: str) -> TenantRow:
    row = await uow.session.get(TenantRow, tenant_id)
    if row is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    return row


async def create_tenant(
    gw: Gateway, uow: UnitOfWork, data: TenantCreate
) -> tuple[TenantRow, str, str]:
    """The new tenant, its first API key and its webhook secret (both shown once)."""
    now = gw.clock()
    webhook_secret = domain.new_webhook_secret()
    tenant = TenantRow(
        id=new_id("ten"),
        name=data.name,
        redact_personal_data=data.redact_personal_data,
        retention_days=data.retention_days,
        language=data.language.value,
        webhook_secret_enc=gw.box.encrypt(webhook_secret),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(tenant)
    key = _add_key(gw, uow, tenant.id, "default")
    audit(uow, gw, tenant.id, "admin", "tenant", "created")
    config_changed(uow, tenant.id, "tenant")
    await uow.commit()
    return tenant, key.plaintext, webhook_secret


async def list_tenants(
    uow: UnitOfWork, *, cursor: str | None, limit: int
) -> tuple[list[TenantRow], str | None]:
    return await keyset_page(
        uow.session,
        sa.select(TenantRow),
        at_column=TenantRow.created_at,
        id_column=TenantRow.id,
        cursor=cursor,
        limit=limit,
        descending=False,
    )


async def update_tenant(
    gw: Gateway, uow: UnitOfWork, tenant_id: str, data: TenantUpdate, actor: str
) -> TenantRow:
    tenant = await get_tenant(uow, tenant_id)
    changes = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    for name, value in changes.items():
        setattr(tenant, name, value)
    if changes:
        tenant.updated_at = gw.clock()
        audit(uow, gw, tenant_id, actor, "tenant", "updated:" + ",".join(sorted(changes))[:30])
        config_changed(uow, tenant_id, "tenant")
        await uow.commit()
    return tenant


async def delete_tenant(uow: UnitOfWork, tenant_id: str) -> None:
    """Removes every row the gateway keeps for the tenant (GDPR: nothing is kept beyond logs)."""
    await get_tenant(uow, tenant_id)
    for table in TABLES:
        if table is TenantRow:
            continue
        column = table.__table__.c.tenant_id  # type: ignore[attr-defined]
        await uow.session.execute(sa.delete(table).where(column == tenant_id))
    await uow.session.execute(sa.delete(TenantRow).where(TenantRow.id == tenant_id))  # type: ignore[arg-type]
    config_changed(uow, tenant_id, "tenant")
    await uow.commit()


async def rotate_webhook_secret(gw: Gateway, uow: UnitOfWork, tenant_id: str, actor: str) -> str:
    tenant = await get_tenant(uow, tenant_id)
    secret = domain.new_webhook_secret()
    tenant.webhook_secret_enc = gw.box.encrypt(secret)
    tenant.updated_at = gw.clock()
    audit(uow, gw, tenant_id, actor, "webhook_secret", "rotated")
    await uow.commit()
    return secret


# --- API keys -------------------------------------------------------------------------------


def _add_key(gw: Gateway, uow: UnitOfWork, tenant_id: str, name: str) -> domain.NewApiKey:
    key = domain.new_api_key()
    uow.session.add(
        ApiKeyRow(
            id=new_id("key"),
            tenant_id=tenant_id,
            name=name,
            prefix=key.prefix,
            key_hash=key.hash,
            created_at=gw.clock(),
        )
    )
    return key


async def create_api_key(
    gw: Gateway, uow: UnitOfWork, tenant_id: str, name: str, actor: str
) -> tuple[ApiKeyRow, str]:
    await get_tenant(uow, tenant_id)
    key = _add_key(gw, uow, tenant_id, name)
    audit(uow, gw, tenant_id, actor, "api_key", "created")
    await uow.commit()
    row = await _key(uow, tenant_id, key_hash=key.hash)
    return row, key.plaintext


async def _key(
    uow: UnitOfWork, tenant_id: str, *, key_id: str | None = None, key_hash: str | None = None
) -> ApiKeyRow:
    stmt = sa.select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id)  # type: ignore[arg-type]
    if key_id is not None:
        stmt = stmt.where(ApiKeyRow.id == key_id)  # type: ignore[arg-type]
    if key_hash is not None:
        stmt = stmt.where(ApiKeyRow.key_hash == key_hash)  # type: ignore[arg-type]
    row = (await uow.session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"API key {key_id} does not exist")
    return row


async def list_api_keys(
    uow: UnitOfWork, tenant_id: str, *, cursor: str | None, limit: int
) -> tuple[list[ApiKeyRow], str | None]:
    stmt = sa.select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id)  # type: ignore[arg-type]
    return await keyset_page(
        uow.session,
        stmt,
        at_column=ApiKeyRow.created_at,
        id_column=ApiKeyRow.id,
        cursor=cursor,
        limit=limit,
        descending=False,
    )


async def revoke_api_key(
    gw: Gateway, uow: UnitOfWork, tenant_id: str, key_id: str, actor: str
) -> ApiKeyRow:
    row = await _key(uow, tenant_id, key_id=key_id)
    if row.revoked_at is None:
        row.revoked_at = gw.clock()
        audit(uow, gw, tenant_id, actor, "api_key", "revoked")
        await uow.commit()
    return row


async def rotate_api_key(
    gw: Gateway, uow: UnitOfWork, tenant_id: str, key_id: str, actor: str
) -> tuple[ApiKeyRow, str]:
    """A new key with the same name; the old one is revoked in the same transaction."""
    old = await _key(uow, tenant_id, key_id=key_id)
    if old.revoked_at is not None:
        raise NotFound(f"API key {key_id} is revoked")
    old.revoked_at = gw.clock()
    key = _add_key(gw, uow, tenant_id, old.name)
    audit(uow, gw, tenant_id, actor, "api_key", "rotated")
    await uow.commit()
    return await _key(uow, tenant_id, key_hash=key.hash), key.plaintext
