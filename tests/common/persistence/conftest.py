"""A ``Database`` per test: a SQLite file always, and (connected) a PostgreSQL schema with a
random name, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from koppel.common.db import Database
from koppel.common.inbox import InboxEntry
from koppel.common.outbox import OutboxMessage

from .fakes import RecordingBus, Widget

TABLES = [Widget, OutboxMessage, InboxEntry]


def open_database(url: str, schema: str | None) -> Database:
    return Database(url, service="svc", tables=TABLES, schema=schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(url, schema) of this test's database; open it as often as a test needs."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/svc.db", None
    return request.getfixturevalue("database_url"), f"t_{uuid4().hex[:12]}"


@pytest.fixture
async def database(db_target: tuple[str, str | None]) -> AsyncIterator[Database]:
    db = open_database(*db_target)
    await db.create_all()
    yield db
    await db.drop_schema()
    await db.dispose()


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()
