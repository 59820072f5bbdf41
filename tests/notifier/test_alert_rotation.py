"""``koppel rotate-key`` re-encrypts the alert channels' secrets too."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from test_alerts import webhook_channel
from test_alerts_support import WEBHOOK_SECRET, alerting

from koppel.notifier.alerts.crypto import SecretBox, SecretBoxError
from koppel.notifier.alerts.rotation import reencrypt_channel_secrets
from koppel.notifier.alerts.store import CHANNELS


async def test_channel_secrets_move_to_the_newest_key(tmp_path: Path) -> None:
    old = Fernet.generate_key().decode()
    async with alerting(tmp_path, encryption_keys=old) as a:
        response = await a.http.post(
            "/internal/notifier/tenants/t-rot/alert-channels",
            json=webhook_channel("https://93.184.216.34/hook"),
        )
        assert response.status_code == 201
        new_box = SecretBox([Fernet.generate_key().decode(), old])
        async with a.ctx.database.session() as session:
            assert await reencrypt_channel_secrets(session, new_box) == 1
            assert await reencrypt_channel_secrets(session, new_box) == 0
            stored = (await session.execute(sa.select(CHANNELS.c.secret_encrypted))).scalar_one()
    assert new_box.is_current(stored)
    assert new_box.decrypt(stored) == WEBHOOK_SECRET
    with pytest.raises(SecretBoxError):
        SecretBox([old]).decrypt(stored)
