"""The tenant's language (nl|en, default nl): PATCH /v1/tenant, and the internal settings."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from koppel.common.migrations import migrate
from koppel.gateway.app import spec

from .conftest import Harness


async def settings_language(h: Harness, tenant_id: str) -> str:
    response = await h.client.get(f"/internal/tenants/{tenant_id}/settings", headers=h.service)
    assert response.status_code == 200, response.text
    language: str = response.json()["tenant"]["language"]
    return language


async def test_language_defaults_to_nl_and_can_be_changed(h: Harness) -> None:
    created = await h.create_tenant()
    tenant_id = created["tenant"]["id"]
    key = h.auth(created["api_key"])
    assert created["tenant"]["language"] == "nl"
    assert await settings_language(h, tenant_id) == "nl"

    patched = await h.client.patch("/v1/tenant", json={"language": "en"}, headers=key)
    assert patched.status_code == 200, patched.text
    assert patched.json()["language"] == "en"
    assert (await h.client.get("/v1/tenant", headers=key)).json()["language"] == "en"
    assert await settings_language(h, tenant_id) == "en"
    changed = [m for m in await h.published("tenant_config_changed") if m["section"] == "tenant"]
    assert len(changed) == 2  # created, then the language


async def test_unknown_language_is_422(h: Harness) -> None:
    created = await h.create_tenant()
    key = h.auth(created["api_key"])
    response = await h.client.patch("/v1/tenant", json={"language": "de"}, headers=key)
    assert response.status_code == 422
    assert (await h.client.get("/v1/tenant", headers=key)).json()["language"] == "nl"


async def test_admin_creates_a_tenant_in_english(h: Harness) -> None:
    response = await h.client.post(
        "/v1/tenants", json={"name": "Shop Ltd", "language": "en"}, headers=h.admin
    )
    assert response.status_code == 201, response.text
    assert await settings_language(h, response.json()["tenant"]["id"]) == "en"


async def test_upgrade_gives_existing_tenants_nl(tmp_path: Path) -> None:
    """Revision 0003 adds the column to a database already at 0001 (with tenants in it)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    await migrate(spec, url, revision="0001_gateway_initial")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO gateway_tenants (id, name, redact_personal_data, retention_days,"
                    " webhook_secret_enc, created_at, updated_at)"
                    " VALUES ('ten_old', 'Old', 0, 30, 'x', '2026-01-01', '2026-01-01')"
                )
            )
        await migrate(spec, url)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT id, language FROM gateway_tenants"))).all()
            tables = (
                await conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='table'"))
            ).scalars()
            assert "gateway_run_records" in set(tables)
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [("ten_old", "nl")]
