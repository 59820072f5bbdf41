from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from koppel.common.db import Database
from koppel.common.runtime import MESSAGING_TABLES
from koppel.customers.models import TABLES


@pytest.fixture
async def database(tmp_path: object) -> AsyncIterator[Database]:
    # A file, not :memory:, so concurrent sessions are real separate connections.
    db = Database(
        f"sqlite+aiosqlite:///{tmp_path}/customers.db",
        service="customers",
        tables=[*TABLES, *MESSAGING_TABLES],
    )
    await db.create_all()
    yield db
    await db.dispose()
