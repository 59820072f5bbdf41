from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)])
async def isolated_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Database]:
    """A database whose sessions are really isolated, for handlers that run at once.

    The in-memory SQLite above shares one connection between all sessions (a rollback in one
    undoes another's uncommitted write), so races cannot be tested on it: a SQLite file, and
    (connected) a PostgreSQL schema with a random name, dropped afterwards.
    """
    if request.param == "sqlite":
        url, schema = f"sqlite+aiosqlite:///{tmp_path}/orders.db", None
    else:
        url, schema = request.getfixturevalue("database_url"), f"t_{uuid4().hex[:12]}"
    db = Database(url, service="orders", tables=[*TABLES, *MESSAGING_TABLES], schema=schema)
    await db.create_all()
    yield db
    await db.drop_schema()
    await db.dispose()
