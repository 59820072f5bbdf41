from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from koppel.common.db import Database
from koppel.common.runtime import MESSAGING_TABLES
from koppel.orders.models import TABLES


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    db = Database(
        "sqlite+aiosqlite:///:memory:", service="orders", tables=[*TABLES, *MESSAGING_TABLES]
    )
    await db.create_all()
    yield db
    await db.dispose()
