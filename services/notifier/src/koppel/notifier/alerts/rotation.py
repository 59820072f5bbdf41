"""Re-encrypting the alert channels' secrets with the newest key (part of ``koppel rotate-key``).

Like the gateway's rotation, each value is swapped with a compare-and-set on the old
ciphertext, so a tenant who changes a channel's secret at the same moment keeps the new one.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.notifier.alerts.crypto import SecretBox, secret_box
from koppel.notifier.alerts.store import CHANNELS


async def reencrypt_channel_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Returns how many secrets were re-encrypted."""
    column = CHANNELS.c.secret_encrypted
    rows = (
        await session.execute(sa.select(CHANNELS.c.id, column).where(column.is_not(None)))
    ).all()
    count = 0
    for row_id, old in rows:
        if box.is_current(old):
            continue
        result = await session.execute(
            sa.update(CHANNELS)
            .where(CHANNELS.c.id == row_id, column == old)
            .values(secret_encrypted=box.rotate(old))
        )
        count += int(getattr(result, "rowcount", 0) or 0)
    await session.commit()
    return count


async def rotate_channel_secrets() -> int:
    """What the CLI calls: re-encrypt the configured notifier database with the newest key."""
    from koppel.common.db import Database
    from koppel.notifier.app import SPEC
    from koppel.notifier.config import NotifierSettings

    settings = NotifierSettings()
    database = Database(
        settings.database_url_for("notifier"), service="notifier", tables=SPEC.all_tables
    )
    try:
        async with database.session() as session:
            return await reencrypt_channel_secrets(session, secret_box(settings))
    finally:
        await database.dispose()
