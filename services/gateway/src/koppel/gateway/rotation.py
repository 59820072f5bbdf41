"""Re-encrypting every stored secret with the newest key (``koppel rotate-key``).

Each value is swapped with a compare-and-set (``WHERE column = <old ciphertext>``): a gateway
that rotates a refresh token at the same moment wins, and its fresh token is never
overwritten by the re-encrypted stale one (that would break an eAccounting connection).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.gateway.crypto import SecretBox
from koppel.gateway.models import ConnectionRow, TenantRow

ENCRYPTED_COLUMNS: dict[type, tuple[str, ...]] = {
    TenantRow: ("webhook_secret_enc",),
    ConnectionRow: ("client_secret_enc", "refresh_token_enc", "access_token_enc"),
}


async def reencrypt_all(session: AsyncSession, box: SecretBox) -> int:
    """Returns how many values were re-encrypted; commits per table."""
    count = 0
    for model, columns in ENCRYPTED_COLUMNS.items():
        table = model.__table__  # type: ignore[attr-defined]
        rows = (await session.execute(sa.select(table.c.id, *(table.c[c] for c in columns)))).all()
        for row in rows:
            for column in columns:
                old = getattr(row, column)
                if old is None or box.is_current(old):
                    continue
                result = await session.execute(
                    sa.update(table)
                    .where(table.c.id == row.id, table.c[column] == old)
                    .values({column: box.rotate(old)})
                )
                count += int(getattr(result, "rowcount", 0) or 0)
        await session.commit()
    return count


async def rotate_encryption_key() -> int:
    """What the CLI calls: re-encrypt the configured gateway database with the newest key."""
    from koppel.common.db import Database
    from koppel.gateway.config import GatewaySettings
    from koppel.gateway.models import TABLES

    settings = GatewaySettings()
    database = Database(settings.database_url_for("gateway"), service="gateway", tables=TABLES)
    try:
        async with database.session() as session:
            return await reencrypt_all(session, settings.secret_box())
    finally:
        await database.dispose()
