"""Encryption at rest with key rotation; the Alembic migration matches the models."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from koppel.common.db import Database
from koppel.common.migrations import migrate
from koppel.gateway.app import spec
from koppel.gateway.crypto import SecretBox, SecretBoxError, generate_encryption_key
from koppel.gateway.models import ConnectionRow, TenantRow
from koppel.gateway.rotation import reencrypt_all

from .conftest import Harness
from .test_connections import EA, put


class TestSecretBox:
    def test_first_key_encrypts_all_decrypt(self) -> None:
        old, new = generate_encryption_key(), generate_encryption_key()
        sealed = SecretBox([old]).encrypt("s3cret")
        both = SecretBox([new, old])
        assert both.decrypt(sealed) == "s3cret"
        assert not both.is_current(sealed)
        assert both.is_current(both.rotate(sealed))
        with pytest.raises(SecretBoxError):
            SecretBox([new]).decrypt(sealed)

    def test_bad_keys_are_refused_without_echoing_them(self) -> None:
        with pytest.raises(SecretBoxError) as info:
            SecretBox.from_env_value("not-a-fernet-key")
        assert "not-a-fernet-key" not in str(info.value)
        with pytest.raises(SecretBoxError):
            SecretBox.from_env_value(" , ")


async def test_rotate_key_reencrypts_every_secret(h: Harness) -> None:
    key = h.auth((await h.create_tenant())["api_key"])
    await put(h, key, "eaccounting", {**EA, "refresh_token": h.tokens.issue_refresh_token()})
    await h.client.get(
        f"/internal/tenants/{(await h.client.get('/v1/tenant', headers=key)).json()['id']}/connections/eaccounting/token",
        headers=h.service,
    )
    old = h.settings.encryption_keys.get_secret_value()  # type: ignore[union-attr]
    new_box = SecretBox.from_env_value(f"{generate_encryption_key()},{old}")
    async with h.runtime.database.session() as session:
        count = await reencrypt_all(session, new_box)
        assert count == 4  # webhook secret, client secret, refresh token, access token
        assert await reencrypt_all(session, new_box) == 0
        connection = (await session.execute(sa.select(ConnectionRow))).scalar_one()
        tenant = (await session.execute(sa.select(TenantRow))).scalar_one()
    for value in (
        connection.client_secret_enc,
        connection.refresh_token_enc,
        connection.access_token_enc,
        tenant.webhook_secret_enc,
    ):
        assert value is not None
        assert new_box.is_current(value)
        with pytest.raises(SecretBoxError):
            SecretBox([old]).decrypt(value)
    assert new_box.decrypt(connection.client_secret_enc or "") == "csecret"


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)]
)
async def test_migration_creates_what_the_models_describe(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import secrets

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    url = (
        f"sqlite+aiosqlite:///{tmp_path}/m.db"
        if backend == "sqlite"
        else request.getfixturevalue("database_url")
    )
    schema = "gw_mig_" + secrets.token_hex(4)
    await migrate(spec, url, schema=schema)
    database = Database(url, service="gateway", tables=spec.all_tables, schema=schema)
    names = {t.__tablename__ for t in spec.all_tables}  # type: ignore[attr-defined]

    def diff(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": lambda o, n, t, *_: t != "table" or n in names,
                "compare_type": False,
            },
        )
        return [d for d in compare_metadata(context, SQLModel.metadata) if _ours(d, names)]

    try:
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(diff)
        assert differences == []
    finally:
        if backend == "postgresql":
            await database.drop_schema()
        await database.dispose()


def _ours(difference: object, names: set[str]) -> bool:
    text = repr(difference)
    return any(f"'{name}'" in text or f"{name}." in text for name in names)
