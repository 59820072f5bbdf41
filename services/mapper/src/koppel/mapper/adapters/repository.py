"""Reads and writes of the mapper's tables. Every function takes the tenant and filters on it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from koppel.common.messages import utcnow
from koppel.mapper.models import MappingRow, MappingVersionRow, ValueMapRow, ValueMapVersionRow


async def current_mapping(session: AsyncSession, tenant_id: str, flow: str) -> MappingRow | None:
    result = await session.execute(
        select(MappingRow).where(MappingRow.tenant_id == tenant_id, MappingRow.flow == flow)
    )
    return result.scalars().first()


async def mapping_version(
    session: AsyncSession, tenant_id: str, flow: str, version: int
) -> MappingVersionRow | None:
    result = await session.execute(
        select(MappingVersionRow).where(
            MappingVersionRow.tenant_id == tenant_id,
            MappingVersionRow.flow == flow,
            MappingVersionRow.version == version,
        )
    )
    return result.scalars().first()


async def mapping_history(
    session: AsyncSession, tenant_id: str, flow: str
) -> list[MappingVersionRow]:
    result = await session.execute(
        select(MappingVersionRow)
        .where(MappingVersionRow.tenant_id == tenant_id, MappingVersionRow.flow == flow)
        .order_by(col(MappingVersionRow.version).desc())
    )
    return list(result.scalars().all())


async def store_mapping(
    session: AsyncSession,
    tenant_id: str,
    flow: str,
    document: dict[str, Any],
    *,
    actor: str,
    action: str,
) -> MappingRow:
    """New current version (previous + 1) and its history row; the caller commits. The
    unique (tenant, flow, version) constraint turns a concurrent save into a conflict."""
    current = await current_mapping(session, tenant_id, flow)
    now = utcnow()
    version = (current.version if current else 0) + 1
    if current is None:
        current = MappingRow(
            tenant_id=tenant_id,
            flow=flow,
            version=version,
            document=document,
            saved_by=actor,
            saved_at=now,
        )
    else:
        current.version, current.document, current.saved_by, current.saved_at = (
            version,
            document,
            actor,
            now,
        )
    session.add(current)
    session.add(
        MappingVersionRow(
            tenant_id=tenant_id,
            flow=flow,
            version=version,
            document=document,
            saved_by=actor,
            saved_at=now,
            action=action,
        )
    )
    return current


async def value_maps(session: AsyncSession, tenant_id: str) -> list[ValueMapRow]:
    result = await session.execute(select(ValueMapRow).where(ValueMapRow.tenant_id == tenant_id))
    return list(result.scalars().all())


async def value_map(session: AsyncSession, tenant_id: str, name: str) -> ValueMapRow | None:
    result = await session.execute(
        select(ValueMapRow).where(ValueMapRow.tenant_id == tenant_id, ValueMapRow.name == name)
    )
    return result.scalars().first()


async def store_value_map(
    session: AsyncSession, tenant_id: str, name: str, document: dict[str, Any], *, actor: str
) -> ValueMapRow:
    current = await value_map(session, tenant_id, name)
    now = utcnow()
    version = (current.version if current else 0) + 1
    if current is None:
        current = ValueMapRow(
            tenant_id=tenant_id,
            name=name,
            version=version,
            document=document,
            saved_by=actor,
            saved_at=now,
        )
    else:
        current.version, current.document, current.saved_by, current.saved_at = (
            version,
            document,
            actor,
            now,
        )
    session.add(current)
    session.add(
        ValueMapVersionRow(
            tenant_id=tenant_id,
            name=name,
            version=version,
            document=document,
            saved_by=actor,
            saved_at=now,
        )
    )
    return current
